// Naive GEMM: one thread per element of C = A * B (row-major, f32), K loop in registers.

extern "C" __global__ void orac_gemm_naive(const float *__restrict__ A,
                                           const float *__restrict__ B,
                                           float *__restrict__ C, int M, int N, int K) {
    const int row = blockIdx.y * blockDim.y + threadIdx.y;
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= M || col >= N) return;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) {
        acc += A[(long long)row * K + k] * B[(long long)k * N + col];
    }
    C[(long long)row * N + col] = acc;
}
