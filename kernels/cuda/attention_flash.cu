// Fused attention forward on tensor cores (bf16 Q, K, V; f32 accumulate and output), tier 2:
// the FlashAttention recurrence. A block owns 64 query rows of one (batch, head); 4 warps own
// 16 rows each. K and V stream through shared memory in tiles of 64 keys; per tile each warp
// computes its 16x64 scores S = Q·Kᵀ with WMMA, applies scale, causal mask and the online
// softmax (running max m and denominator l per row, rescaling its output rows), writes the
// probabilities P as bf16, and accumulates O += P·V with WMMA. Scores never leave the chip.
// The output accumulator lives in shared memory (WMMA fragments are opaque, so rescaling a
// row needs them there), which costs bandwidth a register-resident mma.sync kernel would not.
//
// Layout [B, H, S, D] row-major; under `causal`, query i sees key j iff j <= i + (Sk - Sq)
// (aligned bottom-right); a query that sees no key outputs zeros. D must be a multiple of 16,
// at most 128 (else the output stays poisoned and verification says so). Any Sq, Sk.
// 110.5 KiB of dynamic shared memory.
//
// Status: compiled by NVRTC and checked by ptxas (HMMA in the SASS) in CI; not yet verified
// on a GPU.

#include <cuda_bf16.h>
#include <mma.h>

using namespace nvcuda;

#define BQ 64
#define BKV 64
#define MAX_D 128
// NVRTC has no <math.h>: -infinity by its bits.
#define NEG_INF __int_as_float(0xff800000)
#define WARPS 4
#define LD_IN (MAX_D + 8) // bf16 per row of Q, K, V tiles
#define LD_S (BKV + 4)    // f32 per row of S
#define LD_P (BKV + 8)    // bf16 per row of P
#define LD_O (MAX_D + 4)  // f32 per row of the O accumulator

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

extern "C" __global__ void __launch_bounds__(32 * WARPS)
orac_attention_flash(const __nv_bfloat16 *__restrict__ Q, const __nv_bfloat16 *__restrict__ K,
                     const __nv_bfloat16 *__restrict__ V, float *__restrict__ O, int B, int H,
                     int Sq, int Sk, int D, int causal, float scale) {
    if (D > MAX_D || D % 16 != 0) return;
    extern __shared__ __align__(32) unsigned char smem[];
    __nv_bfloat16 *Qs = reinterpret_cast<__nv_bfloat16 *>(smem);
    __nv_bfloat16 *Ks = Qs + BQ * LD_IN;
    __nv_bfloat16 *Vs = Ks + BKV * LD_IN;
    float *Ss = reinterpret_cast<float *>(Vs + BKV * LD_IN);
    __nv_bfloat16 *Ps = reinterpret_cast<__nv_bfloat16 *>(Ss + BQ * LD_S);
    float *Os = reinterpret_cast<float *>(Ps + BQ * LD_P);
    float *row_m = Os + BQ * LD_O;
    float *row_l = row_m + BQ;

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int i0 = blockIdx.x * BQ;
    const long long bh = blockIdx.y;
    const __nv_bfloat16 *q = Q + bh * Sq * D;
    const __nv_bfloat16 *k = K + bh * Sk * D;
    const __nv_bfloat16 *v = V + bh * Sk * D;
    float *o = O + bh * Sq * D;
    const __nv_bfloat16 zero = __float2bfloat16(0.0f);
    const long long shift = (long long)Sk - Sq; // causal: row i sees keys j <= i + shift

    for (int e = tid; e < BQ * D; e += blockDim.x) {
        const int r = e / D, d = e % D;
        Qs[r * LD_IN + d] = i0 + r < Sq ? q[(long long)(i0 + r) * D + d] : zero;
    }
    for (int e = tid; e < BQ * D; e += blockDim.x) Os[(e / D) * LD_O + e % D] = 0.0f;
    for (int r = tid; r < BQ; r += blockDim.x) {
        row_m[r] = NEG_INF;
        row_l[r] = 0.0f;
    }
    // Keys any row of this block may see.
    long long end = Sk;
    if (causal) end = min(end, (long long)min(i0 + BQ, Sq) - 1 + shift + 1);
    const int key_end = end < 0 ? 0 : (int)end;

    const int r0 = warp * 16; // this warp's first row in the tile
    for (int j0 = 0; j0 < key_end; j0 += BKV) {
        __syncthreads(); // the previous tile's K and V are no longer read
        for (int e = tid; e < BKV * D; e += blockDim.x) {
            const int r = e / D, d = e % D;
            const bool in = j0 + r < Sk;
            Ks[r * LD_IN + d] = in ? k[(long long)(j0 + r) * D + d] : zero;
            Vs[r * LD_IN + d] = in ? v[(long long)(j0 + r) * D + d] : zero;
        }
        __syncthreads();

        // S (16 x 64 per warp) = Q rows · K tileᵀ.
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> s[BKV / 16];
#pragma unroll
        for (int c = 0; c < BKV / 16; ++c) wmma::fill_fragment(s[c], 0.0f);
        for (int kk = 0; kk < D; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
            wmma::load_matrix_sync(a, Qs + r0 * LD_IN + kk, LD_IN);
#pragma unroll
            for (int c = 0; c < BKV / 16; ++c) {
                // Kᵀ as a column-major matrix_b: element (kk+x, 16c+y) is K[16c+y][kk+x].
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b;
                wmma::load_matrix_sync(b, Ks + (c * 16) * LD_IN + kk, LD_IN);
                wmma::mma_sync(s[c], a, b, s[c]);
            }
        }
#pragma unroll
        for (int c = 0; c < BKV / 16; ++c)
            wmma::store_matrix_sync(Ss + r0 * LD_S + c * 16, s[c], LD_S, wmma::mem_row_major);
        __syncwarp();

        // Online softmax over this warp's 16 rows; lane owns columns lane and lane + 32.
        for (int rr = 0; rr < 16; ++rr) {
            const int r = r0 + rr, i = i0 + r;
            const float m_old = row_m[r];
            float x[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int c = lane + 32 * h, j = j0 + c;
                const bool visible = i < Sq && j < Sk && (!causal || (long long)j <= i + shift);
                x[h] = visible ? Ss[r * LD_S + c] * scale : NEG_INF;
            }
            const float m_new = fmaxf(m_old, warp_max(fmaxf(x[0], x[1])));
            // A row that has seen nothing yet keeps m = -inf: no NaN from (-inf) - (-inf).
            const bool none = m_new == NEG_INF;
            const float correction = none ? 1.0f : __expf(m_old - m_new);
            float sum = 0.0f;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                // The denominator sums the same bf16 values that P·V multiplies.
                const __nv_bfloat16 p = __float2bfloat16(none ? 0.0f : __expf(x[h] - m_new));
                Ps[r * LD_P + lane + 32 * h] = p;
                sum += __bfloat162float(p);
            }
            sum = warp_sum(sum);
            for (int d = lane; d < D; d += 32) Os[r * LD_O + d] *= correction;
            __syncwarp(); // every lane has read m_old before it changes
            if (lane == 0) {
                row_m[r] = m_new;
                row_l[r] = row_l[r] * correction + sum;
            }
        }
        __syncwarp();

        // O rows += P (16 x 64) · V tile (64 x D).
        for (int n = 0; n < D; n += 16) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::load_matrix_sync(acc, Os + r0 * LD_O + n, LD_O, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < BKV; kk += 16) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> p;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vb;
                wmma::load_matrix_sync(p, Ps + r0 * LD_P + kk, LD_P);
                wmma::load_matrix_sync(vb, Vs + kk * LD_IN + n, LD_IN);
                wmma::mma_sync(acc, p, vb, acc);
            }
            wmma::store_matrix_sync(Os + r0 * LD_O + n, acc, LD_O, wmma::mem_row_major);
        }
        __syncwarp();
    }
    __syncthreads();

    for (int e = tid; e < BQ * D; e += blockDim.x) {
        const int r = e / D, d = e % D;
        if (i0 + r >= Sq) continue;
        const float l = row_l[r];
        o[(long long)(i0 + r) * D + d] = l > 0.0f ? Os[r * LD_O + d] / l : 0.0f;
    }
}
