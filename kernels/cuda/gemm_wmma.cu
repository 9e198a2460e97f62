// Tensor-core GEMM with WMMA (bf16 inputs, f32 accumulate), tier 4. A 64x64 block tile of C
// per 4 warps; each warp computes a 32x32 quarter as 2x2 fragments of 16x16x16. A and B
// K-slices of 32 are staged in shared memory as bf16, rows padded by 8 elements so the
// fragment loads do not all hit the same banks. Edges are zero-padded and the result goes
// through a per-warp shared scratch so partial tiles are written element by element: any
// M, N, K works.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

#include <cuda_bf16.h>
#include <mma.h>

using namespace nvcuda;

#define BM 64
#define BN 64
#define BK 32
#define PAD 8
#define THREADS 128

extern "C" __global__ void __launch_bounds__(THREADS)
orac_gemm_wmma(const __nv_bfloat16 *__restrict__ A, const __nv_bfloat16 *__restrict__ B,
               float *__restrict__ C, int M, int N, int K) {
    __shared__ __align__(32) __nv_bfloat16 As[BM][BK + PAD];
    __shared__ __align__(32) __nv_bfloat16 Bs[BK][BN + PAD];
    __shared__ __align__(32) float scratch[THREADS / 32][16 * 16];

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int wm = (warp / 2) * 32, wn = (warp % 2) * 32; // the warp's quarter
    const __nv_bfloat16 zero = __float2bfloat16(0.0f);

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < K; k0 += BK) {
        // 64x32 of A and 32x64 of B: 2048 elements each, 16 per thread.
        for (int e = tid; e < BM * BK; e += THREADS) {
            const int r = e / BK, c = e % BK;
            const int gm = m0 + r, gk = k0 + c;
            As[r][c] = (gm < M && gk < K) ? A[(long long)gm * K + gk] : zero;
        }
        for (int e = tid; e < BK * BN; e += THREADS) {
            const int r = e / BN, c = e % BN;
            const int gk = k0 + r, gn = n0 + c;
            Bs[r][c] = (gk < K && gn < N) ? B[(long long)gk * N + gn] : zero;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
                wmma::load_matrix_sync(a[i], &As[wm + i * 16][kk], BK + PAD);
#pragma unroll
            for (int j = 0; j < 2; ++j)
                wmma::load_matrix_sync(b[j], &Bs[kk][wn + j * 16], BN + PAD);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            wmma::store_matrix_sync(scratch[warp], acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
            for (int e = lane; e < 256; e += 32) {
                const int gm = m0 + wm + i * 16 + e / 16, gn = n0 + wn + j * 16 + e % 16;
                if (gm < M && gn < N) C[(long long)gm * N + gn] = scratch[warp][e];
            }
            __syncwarp();
        }
    }
}
