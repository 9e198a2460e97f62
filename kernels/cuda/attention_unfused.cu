// Unfused attention, tier 1: the baseline the fused kernels are measured against. Three
// launches over a materialised score matrix in device scratch (B*H*Sq*Sk f32):
//   1. scores:  S = Q·Kᵀ·scale, masked entries -inf      (32 x 32 score tiles per block)
//   2. softmax: P = softmax(S) row by row, in place       (one block per query row)
//   3. output:  O = P·V                                   (32 x 32 output tiles per block)
// Both products use shared-memory tiles on the CUDA cores (bf16 inputs converted to f32,
// f32 accumulation). The scores make the round trip through memory that a fused kernel
// avoids: 4·Sq·Sk bytes written, then read twice, per (batch, head).
//
// Layout [B, H, S, D] row-major; under `causal`, query i sees key j iff j <= i + (Sk - Sq)
// (aligned bottom-right); a query that sees no key outputs zeros. Any Sq, Sk, D.
// Every stage takes the attention op's arguments plus the scratch (see manifest.toml).
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

#include <cuda_bf16.h>

#define T 32       // tile edge: scores and outputs
#define TK 32      // depth of one shared-memory step
#define THREADS 256
#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void __launch_bounds__(THREADS)
orac_attention_unfused_scores(const __nv_bfloat16 *__restrict__ Q,
                              const __nv_bfloat16 *__restrict__ K,
                              const __nv_bfloat16 *__restrict__ V, float *__restrict__ O, int B,
                              int H, int Sq, int Sk, int D, int causal, float scale,
                              float *__restrict__ S) {
    __shared__ float qs[T][TK + 1], ks[T][TK + 1];
    const int bh = blockIdx.z, i0 = blockIdx.y * T, j0 = blockIdx.x * T;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const __nv_bfloat16 *q = Q + (size_t)bh * Sq * D, *k = K + (size_t)bh * Sk * D;
    float acc[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}};
    for (int d0 = 0; d0 < D; d0 += TK) {
        for (int e = threadIdx.x; e < T * TK; e += THREADS) {
            const int r = e / TK, c = e % TK;
            const bool in_d = d0 + c < D;
            qs[r][c] = i0 + r < Sq && in_d ? __bfloat162float(q[(size_t)(i0 + r) * D + d0 + c]) : 0.0f;
            ks[r][c] = j0 + r < Sk && in_d ? __bfloat162float(k[(size_t)(j0 + r) * D + d0 + c]) : 0.0f;
        }
        __syncthreads();
#pragma unroll 8
        for (int c = 0; c < TK; ++c) {
            const float a0 = qs[ty][c], a1 = qs[ty + 16][c];
            const float b0 = ks[tx][c], b1 = ks[tx + 16][c];
            acc[0][0] = fmaf(a0, b0, acc[0][0]);
            acc[0][1] = fmaf(a0, b1, acc[0][1]);
            acc[1][0] = fmaf(a1, b0, acc[1][0]);
            acc[1][1] = fmaf(a1, b1, acc[1][1]);
        }
        __syncthreads();
    }
    float *s = S + (size_t)bh * Sq * Sk;
#pragma unroll
    for (int a = 0; a < 2; ++a)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
            const int i = i0 + ty + 16 * a, j = j0 + tx + 16 * b;
            if (i < Sq && j < Sk)
                s[(size_t)i * Sk + j] = causal && j > i + (Sk - Sq) ? NEG_INF : acc[a][b] * scale;
        }
}

__device__ __forceinline__ float block_reduce(float v, bool is_max, float *red) {
    for (int o = 16; o > 0; o >>= 1) {
        const float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    __syncthreads(); // red may still be read from the previous reduction
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
    __syncthreads();
    float r = red[0];
    for (int w = 1; w < THREADS / 32; ++w) r = is_max ? fmaxf(r, red[w]) : r + red[w];
    return r;
}

extern "C" __global__ void __launch_bounds__(THREADS)
orac_attention_unfused_softmax(const __nv_bfloat16 *__restrict__ Q,
                               const __nv_bfloat16 *__restrict__ K,
                               const __nv_bfloat16 *__restrict__ V, float *__restrict__ O, int B,
                               int H, int Sq, int Sk, int D, int causal, float scale,
                               float *__restrict__ S) {
    __shared__ float red[THREADS / 32];
    float *row = S + ((size_t)blockIdx.y * Sq + blockIdx.x) * Sk;
    float mx = NEG_INF;
    for (int j = threadIdx.x; j < Sk; j += THREADS) mx = fmaxf(mx, row[j]);
    mx = block_reduce(mx, true, red);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < Sk; j += THREADS) {
        const float p = mx == NEG_INF ? 0.0f : __expf(row[j] - mx);
        row[j] = p;
        sum += p;
    }
    sum = block_reduce(sum, false, red);
    // A query that sees no key: all zeros, so its output is zero.
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int j = threadIdx.x; j < Sk; j += THREADS) row[j] *= inv;
}

extern "C" __global__ void __launch_bounds__(THREADS)
orac_attention_unfused_output(const __nv_bfloat16 *__restrict__ Q,
                              const __nv_bfloat16 *__restrict__ K,
                              const __nv_bfloat16 *__restrict__ V, float *__restrict__ O, int B,
                              int H, int Sq, int Sk, int D, int causal, float scale,
                              float *__restrict__ S) {
    __shared__ float ps[T][TK + 1], vs[TK][T + 1];
    const int bh = blockIdx.z, i0 = blockIdx.y * T, d0 = blockIdx.x * T;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const float *p = S + (size_t)bh * Sq * Sk;
    const __nv_bfloat16 *v = V + (size_t)bh * Sk * D;
    float acc[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}};
    for (int j0 = 0; j0 < Sk; j0 += TK) {
        for (int e = threadIdx.x; e < T * TK; e += THREADS) {
            const int r = e / TK, c = e % TK;
            ps[r][c] = i0 + r < Sq && j0 + c < Sk ? p[(size_t)(i0 + r) * Sk + j0 + c] : 0.0f;
            // V's tile: key j0 + r, dims d0 .. d0 + T.
            const int vr = e / T, vc = e % T;
            vs[vr][vc] = j0 + vr < Sk && d0 + vc < D
                             ? __bfloat162float(v[(size_t)(j0 + vr) * D + d0 + vc])
                             : 0.0f;
        }
        __syncthreads();
#pragma unroll 8
        for (int c = 0; c < TK; ++c) {
            const float a0 = ps[ty][c], a1 = ps[ty + 16][c];
            const float b0 = vs[c][tx], b1 = vs[c][tx + 16];
            acc[0][0] = fmaf(a0, b0, acc[0][0]);
            acc[0][1] = fmaf(a0, b1, acc[0][1]);
            acc[1][0] = fmaf(a1, b0, acc[1][0]);
            acc[1][1] = fmaf(a1, b1, acc[1][1]);
        }
        __syncthreads();
    }
    float *o = O + (size_t)bh * Sq * D;
#pragma unroll
    for (int a = 0; a < 2; ++a)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
            const int i = i0 + ty + 16 * a, d = d0 + tx + 16 * b;
            if (i < Sq && d < D) o[(size_t)i * D + d] = acc[a][b];
        }
}
