/* Naive GEMM: one dot product per output element, B read with a stride of N. */

void orac_gemm_naive(const float *A, const float *B, float *C, long M, long N, long K) {
    for (long i = 0; i < M; i++) {
        for (long j = 0; j < N; j++) {
            float acc = 0.0f;
            for (long k = 0; k < K; k++) {
                acc += A[i * K + k] * B[k * N + j];
            }
            C[i * N + j] = acc;
        }
    }
}
