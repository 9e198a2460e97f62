// Shared-memory tiled GEMM (f32): each 32x32 block stages a 32x32 tile of A and of B in
// shared memory per step of K, so every global element is read once per tile instead of
// once per output. Edges are zero-padded, so any M, N, K works.

#define TILE 32

// 1024 threads per block: without the bound, more than 64 registers per thread would make
// the launch fail with "too many resources requested".
extern "C" __global__ void __launch_bounds__(TILE * TILE) orac_gemm_tiled(const float *__restrict__ A,
                                           const float *__restrict__ B,
                                           float *__restrict__ C, int M, int N, int K) {
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE];
    const int row = blockIdx.y * TILE + threadIdx.y;
    const int col = blockIdx.x * TILE + threadIdx.x;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        const int ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
        As[threadIdx.y][threadIdx.x] = (row < M && ka < K) ? A[(long long)row * K + ka] : 0.0f;
        Bs[threadIdx.y][threadIdx.x] = (kb < K && col < N) ? B[(long long)kb * N + col] : 0.0f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; ++k) {
            acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        }
        __syncthreads();
    }
    if (row < M && col < N) C[(long long)row * N + col] = acc;
}
