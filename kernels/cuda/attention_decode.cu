// Decode attention (flash-decoding) over a bf16 KV cache, f32 accumulate and output: one query
// token per (batch, query head) attends to all S keys of its KV head. Grouped-query heads: the
// H query heads share Hkv KV heads, G = H / Hkv query heads per KV head (G = 1 is plain
// multi-head attention). Memory-bound: the work is reading K and V once.
//
// grid (splits, B * Hkv), 128 threads. A block owns one contiguous split of the keys of one
// (batch, KV head) and every query head of its group, so each K/V byte is read once for the
// whole group, not G times. D/8 lanes share a key, each loading 16 bytes (8 bf16) of its row;
// a warp covers 32/(D/8) keys per step and every lane keeps 4 keys' loads in flight. Each
// lane group ("slot") runs its own online softmax (running max m, sum l, unnormalised output
// acc, in base 2) over its keys; the block merges its slots through shared memory, then
//   - with one split, writes O directly;
//   - else writes its partial (acc[D], m, l) per query head to the workspace, and the last
//     block to finish for a (batch, KV head), found with an atomic ticket, merges all the
//     splits into O and resets the ticket to zero for the next launch.
// So split and combine are one launch (no second kernel, no host round trip).
//
// Layout: Q and O [B, H, D]; K and V [B, Hkv, S, D], row-major. D a power of two, 16..256;
// H a multiple of Hkv (else O stays poisoned and verification says so).
// Workspace (the decode op's contract): B*H*splits*(D+2) floats, then B*Hkv u32 tickets that
// start at zero, splits = gridDim.x.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

#include <cuda_bf16.h>

#define WARPS 4
#define THREADS (32 * WARPS)
#define GCHUNK 4  // query heads per pass over the keys (G = 8 takes two passes)
#define UNROLL 4  // keys per slot with loads in flight at once
#define MAX_SLOTS (THREADS / 2) // D = 16: 2 lanes per key
#define NEG_INF __int_as_float(0xff800000)
#define LOG2E 1.4426950408889634f

__device__ __forceinline__ void unpack8(uint4 raw, float *out) {
    const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 f = __bfloat1622float2(h[i]);
        out[2 * i] = f.x;
        out[2 * i + 1] = f.y;
    }
}

// Weight of a partial with max m when the merged max is M (0 for an empty partial).
__device__ __forceinline__ float rescale(float m, float M) {
    return m == NEG_INF ? 0.0f : exp2f(m - M);
}

extern "C" __global__ void __launch_bounds__(THREADS)
orac_attention_decode(const __nv_bfloat16 *__restrict__ Q, const __nv_bfloat16 *__restrict__ K,
                      const __nv_bfloat16 *__restrict__ V, float *__restrict__ O, int B, int H,
                      int Hkv, int S, int D, float scale, float *__restrict__ work) {
    if (D < 16 || D > 256 || (D & (D - 1)) != 0 || Hkv <= 0 || H % Hkv != 0) return;
    __shared__ float sm_acc[GCHUNK * THREADS * 8]; // GCHUNK x slots x D = GCHUNK x 1024
    __shared__ float sm_m[GCHUNK * MAX_SLOTS];
    __shared__ float sm_l[GCHUNK * MAX_SLOTS];
    __shared__ int sm_last;

    const int G = H / Hkv;
    const int lanes_per_key = D / 8;
    const int keys_per_warp = 32 / lanes_per_key;
    const int slots = WARPS * keys_per_warp;
    const int lane = threadIdx.x % 32;
    const int slot = (threadIdx.x / 32) * keys_per_warp + lane / lanes_per_key;
    const int d0 = (lane % lanes_per_key) * 8;

    const int split = blockIdx.x, splits = gridDim.x;
    const int bkv = blockIdx.y; // b * Hkv + kv head
    const int b = bkv / Hkv, hk = bkv % Hkv;
    const int per = (S + splits - 1) / splits;
    const int k_begin = min(S, split * per), k_end = min(S, k_begin + per);
    const __nv_bfloat16 *Kh = K + (size_t)bkv * S * D;
    const __nv_bfloat16 *Vh = V + (size_t)bkv * S * D;
    float *partials = work;
    unsigned int *tickets =
        reinterpret_cast<unsigned int *>(work + (size_t)B * H * splits * (D + 2));
    const float qscale = scale * LOG2E;

    for (int g0 = 0; g0 < G; g0 += GCHUNK) {
        const int gn = min(GCHUNK, G - g0);
        // q stays packed bf16 (4 registers per head, not 8): registers, not ALU, are what
        // limits this kernel; the scale is applied to the reduced dot product.
        uint4 q[GCHUNK];
        float acc[GCHUNK][8], m[GCHUNK], l[GCHUNK];
#pragma unroll
        for (int g = 0; g < GCHUNK; ++g) {
            m[g] = NEG_INF;
            l[g] = 0.0f;
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[g][i] = 0.0f;
            const size_t row = (size_t)b * H + hk * G + g0 + g;
            q[g] = g < gn ? *reinterpret_cast<const uint4 *>(Q + row * D + d0)
                          : make_uint4(0, 0, 0, 0);
        }

        for (int base = k_begin + slot; base < k_end; base += slots * UNROLL) {
            uint4 kraw[UNROLL], vraw[UNROLL];
            bool valid[UNROLL];
#pragma unroll
            for (int u = 0; u < UNROLL; ++u) {
                const int j = base + u * slots;
                valid[u] = j < k_end;
                kraw[u] = valid[u] ? *reinterpret_cast<const uint4 *>(Kh + (size_t)j * D + d0)
                                   : make_uint4(0, 0, 0, 0);
                vraw[u] = valid[u] ? *reinterpret_cast<const uint4 *>(Vh + (size_t)j * D + d0)
                                   : make_uint4(0, 0, 0, 0);
            }
            float s[UNROLL][GCHUNK];
#pragma unroll
            for (int u = 0; u < UNROLL; ++u) {
                float k8[8];
                unpack8(kraw[u], k8);
#pragma unroll
                for (int g = 0; g < GCHUNK; ++g) {
                    float q8[8];
                    unpack8(q[g], q8);
                    float dot = 0.0f;
#pragma unroll
                    for (int i = 0; i < 8; ++i) dot = fmaf(q8[i], k8[i], dot);
                    // Sum over the lanes of this key: xor offsets below lanes_per_key stay
                    // inside the aligned lane group. Every lane shuffles, valid or not.
                    for (int o = lanes_per_key / 2; o > 0; o >>= 1)
                        dot += __shfl_xor_sync(0xffffffffu, dot, o);
                    s[u][g] = valid[u] ? dot * qscale : NEG_INF;
                }
            }
#pragma unroll
            for (int g = 0; g < GCHUNK; ++g) {
                float mx = m[g];
#pragma unroll
                for (int u = 0; u < UNROLL; ++u) mx = fmaxf(mx, s[u][g]);
                if (mx == NEG_INF) continue; // no valid key in this step for this slot
                const float corr = rescale(m[g], mx);
                l[g] *= corr;
#pragma unroll
                for (int i = 0; i < 8; ++i) acc[g][i] *= corr;
#pragma unroll
                for (int u = 0; u < UNROLL; ++u) {
                    const float p = rescale(s[u][g], mx);
                    l[g] += p;
                    float v8[8];
                    unpack8(vraw[u], v8);
#pragma unroll
                    for (int i = 0; i < 8; ++i) acc[g][i] = fmaf(p, v8[i], acc[g][i]);
                }
                m[g] = mx;
            }
        }

        // Merge the slots of this block.
#pragma unroll
        for (int g = 0; g < GCHUNK; ++g) {
            if (d0 == 0) {
                sm_m[g * MAX_SLOTS + slot] = m[g];
                sm_l[g * MAX_SLOTS + slot] = l[g];
            }
#pragma unroll
            for (int i = 0; i < 8; ++i) sm_acc[g * 1024 + slot * D + d0 + i] = acc[g][i];
        }
        __syncthreads();
        for (int idx = threadIdx.x; idx < gn * D; idx += THREADS) {
            const int g = idx / D, d = idx % D;
            float M = NEG_INF;
            for (int s2 = 0; s2 < slots; ++s2) M = fmaxf(M, sm_m[g * MAX_SLOTS + s2]);
            float L = 0.0f, A = 0.0f;
            for (int s2 = 0; s2 < slots; ++s2) {
                const float w = rescale(sm_m[g * MAX_SLOTS + s2], M);
                L += w * sm_l[g * MAX_SLOTS + s2];
                A += w * sm_acc[g * 1024 + s2 * D + d];
            }
            const size_t row = (size_t)b * H + hk * G + g0 + g;
            if (splits == 1) {
                O[row * D + d] = L > 0.0f ? A / L : 0.0f;
            } else {
                float *p = partials + (row * splits + split) * (D + 2);
                p[d] = A;
                if (d == 0) {
                    p[D] = M;
                    p[D + 1] = L;
                }
            }
        }
        __syncthreads(); // shared memory is reused by the next pass
    }
    if (splits == 1) return;

    // Publish this block's partials (every writer fences, then all meet), then take a
    // ticket; the last block combines.
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        const unsigned int ticket = atomicAdd(&tickets[bkv], 1u);
        sm_last = ticket == (unsigned int)(splits - 1);
    }
    __syncthreads();
    if (!sm_last) return;
    __threadfence();
    for (int idx = threadIdx.x; idx < G * D; idx += THREADS) {
        const int g = idx / D, d = idx % D;
        const size_t row = (size_t)b * H + hk * G + g;
        const float *p = partials + row * splits * (D + 2);
        // Other blocks wrote these: read through L2 (__ldcg), never a stale L1 line.
        float M = NEG_INF;
        for (int s2 = 0; s2 < splits; ++s2) M = fmaxf(M, __ldcg(p + s2 * (D + 2) + D));
        float L = 0.0f, A = 0.0f;
        for (int s2 = 0; s2 < splits; ++s2) {
            const float *ps = p + s2 * (D + 2);
            const float w = rescale(__ldcg(ps + D), M);
            L += w * __ldcg(ps + D + 1);
            A += w * __ldcg(ps + d);
        }
        O[row * D + d] = L > 0.0f ? A / L : 0.0f;
    }
    if (threadIdx.x == 0) tickets[bkv] = 0u;
}
