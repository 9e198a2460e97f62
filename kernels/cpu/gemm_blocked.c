/* Cache-blocked GEMM. Rows of C are split into blocks of BM rows, one block per OpenMP
 * iteration; inside a block, a BK x BN panel of B stays in cache while the i-k-j loop
 * streams contiguous rows of B and C, which the compiler vectorises. */

#define BM 32
#define BN 256
#define BK 128

static long min_l(long a, long b) { return a < b ? a : b; }

void orac_gemm_blocked(const float *restrict A, const float *restrict B, float *restrict C,
                       long M, long N, long K) {
#pragma omp parallel for schedule(dynamic, 1)
    for (long i0 = 0; i0 < M; i0 += BM) {
        long i1 = min_l(i0 + BM, M);
        for (long i = i0; i < i1; i++) {
            for (long j = 0; j < N; j++) C[i * N + j] = 0.0f;
        }
        for (long k0 = 0; k0 < K; k0 += BK) {
            long k1 = min_l(k0 + BK, K);
            for (long j0 = 0; j0 < N; j0 += BN) {
                long j1 = min_l(j0 + BN, N);
                for (long i = i0; i < i1; i++) {
                    float *restrict c = C + i * N;
                    for (long k = k0; k < k1; k++) {
                        const float a = A[i * K + k];
                        const float *restrict b = B + k * N;
                        for (long j = j0; j < j1; j++) c[j] += a * b[j];
                    }
                }
            }
        }
    }
}
