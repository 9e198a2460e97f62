// Register-blocked GEMM (f32), tier 3. A 128x128 block tile of C per 256 threads; each thread
// owns an 8x8 sub-tile in registers, so every value read from shared memory feeds 8 FMAs
// instead of one. A is staged transposed (As[k][m]) so a thread's 8 rows are contiguous and
// read as two float4; B likewise (Bs[k][n]). Two shared buffers: the next K-slice is loaded
// into registers while the current one is computed. Edges are zero-padded: any M, N, K.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define THREADS 256

extern "C" __global__ void __launch_bounds__(THREADS)
orac_gemm_regblock(const float *__restrict__ A, const float *__restrict__ B, float *__restrict__ C,
                   int M, int N, int K) {
    __shared__ __align__(16) float As[2][BK][BM];
    __shared__ __align__(16) float Bs[2][BK][BN];

    const int tid = threadIdx.x;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int tr = tid / (BN / TN), tc = tid % (BN / TN); // 16 x 16 threads

    // Each thread stages 4 elements of the A tile (128 x 8) and 4 of the B tile (8 x 128).
    float a_stage[4], b_stage[4];
    auto fetch = [&](int k0) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int e = tid * 4 + i;
            const int ar = e / BK, ac = e % BK;           // A tile: row, k
            const int gm = m0 + ar, gk = k0 + ac;
            a_stage[i] = (gm < M && gk < K) ? A[(long long)gm * K + gk] : 0.0f;
            const int br = e / BN, bc = e % BN;           // B tile: k, col
            const int hk = k0 + br, gn = n0 + bc;
            b_stage[i] = (hk < K && gn < N) ? B[(long long)hk * N + gn] : 0.0f;
        }
    };
    auto stash = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int e = tid * 4 + i;
            As[buf][e % BK][e / BK] = a_stage[i];
            Bs[buf][e / BN][e % BN] = b_stage[i];
        }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    fetch(0);
    stash(0);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
        const bool more = k0 + BK < K;
        if (more) fetch(k0 + BK); // global loads in flight during the FMAs below
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            float a[TM], b[TN];
            const float4 a0 = *reinterpret_cast<const float4 *>(&As[buf][kk][tr * TM]);
            const float4 a1 = *reinterpret_cast<const float4 *>(&As[buf][kk][tr * TM + 4]);
            const float4 b0 = *reinterpret_cast<const float4 *>(&Bs[buf][kk][tc * TN]);
            const float4 b1 = *reinterpret_cast<const float4 *>(&Bs[buf][kk][tc * TN + 4]);
            a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
            a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
            b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w;
            b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) {
            // The other buffer was last read before the previous barrier: safe to fill.
            stash(buf ^ 1);
            __syncthreads();
            buf ^= 1;
        }
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int gm = m0 + tr * TM + i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int gn = n0 + tc * TN + j;
            if (gn < N) C[(long long)gm * N + gn] = acc[i][j];
        }
    }
}
