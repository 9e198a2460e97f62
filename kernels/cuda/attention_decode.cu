// Decode attention (flash-decoding) over a bf16 KV cache, f32 accumulate and output: one query
// token per (batch, query head) attends to all S keys of its KV head. Grouped-query heads: the
// H query heads share Hkv KV heads, G = H / Hkv query heads per KV head (G = 1 is plain
// multi-head attention). Memory-bound: the work is reading K and V once.
//
// grid (splits, B * Hkv), 128 threads, three blocks per SM. A block owns one contiguous
// split of the keys of one (batch, KV head) and the query heads of its group, so each K/V
// byte is read once for up to 8 heads (G = 16 takes two passes); the group's query rows sit
// in shared memory as f32, pre-scaled. D/8 lanes share a key, each loading 16 bytes (8 bf16) of
// its row; a warp covers 32/(D/8) keys per step, and each lane has 2–4 keys' loads in
// flight. Each lane group ("slot") runs its own online softmax (running max m, sum l,
// unnormalised output acc, in base 2) over its keys; the block merges its slots through
// shared memory, then
//   - with one split, writes O directly;
//   - else writes its partial per query head to the workspace, and the last block to finish
//     for a (batch, KV head), found with an atomic ticket, merges all the splits into O (the
//     per-split weights in shared memory, then one pass over the partial outputs) and resets
//     the ticket to zero for the next launch.
// So split and combine are one launch (no second kernel, no host round trip).
//
// Layout: Q and O [B, H, D]; K and V [B, Hkv, S, D], row-major. D a power of two, 16..256;
// H a multiple of Hkv; at most 4096 splits (else O stays poisoned and verification says so).
// Workspace (the decode op's contract): B*H*splits*(D+2) floats, then B*Hkv u32 tickets that
// start at zero, splits = gridDim.x. This kernel lays the floats out as partial outputs
// [B*H][splits][D], then (m, l) pairs [B*H][splits][2].
//
// Status: compiled by NVRTC and checked by ptxas in CI; reviewed, not yet verified on a GPU.

#include <cuda_bf16.h>

#define WARPS 4
#define THREADS (32 * WARPS)
#define MAX_GC 8                 // query heads per pass over the keys
#define MAX_SLOTS (THREADS / 2)  // D = 16: 2 lanes per key
#define SLOT_FLOATS (THREADS * 8) // slots x D: always 1024
#define MAX_SPLITS 4096
#define NEG_INF __int_as_float(0xff800000)
#define LOG2E 1.4426950408889634f

struct Smem {
    float4 q[MAX_GC * 64];           // the pass's query rows, f32 and pre-scaled (D <= 256)
    float acc[MAX_GC * SLOT_FLOATS]; // per-slot outputs of one pass; the combine's weights
    float m[MAX_GC * MAX_SLOTS];
    float l[MAX_GC * MAX_SLOTS];
    float red[WARPS];
    int last;
};

__device__ __forceinline__ void unpack8(uint4 raw, float *out) {
    const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 f = __bfloat1622float2(h[i]);
        out[2 * i] = f.x;
        out[2 * i + 1] = f.y;
    }
}

// 2^x with the hardware's approximation, denormals flushed: exp2f's range fix-ups cost
// instructions this kernel, bound by issue rate as much as by memory, cannot spare.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Weight of a partial with max m when the merged max is M (0 for an empty partial).
__device__ __forceinline__ float rescale(float m, float M) {
    return m == NEG_INF ? 0.0f : fast_exp2(m - M);
}

// Block-wide max and sum; every thread calls them and gets the result.
__device__ float block_max(float v, Smem &sm) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (threadIdx.x % 32 == 0) sm.red[threadIdx.x / 32] = v;
    __syncthreads();
    float r = sm.red[0];
    for (int w = 1; w < WARPS; ++w) r = fmaxf(r, sm.red[w]);
    return r;
}

__device__ float block_sum(float v, Smem &sm) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (threadIdx.x % 32 == 0) sm.red[threadIdx.x / 32] = v;
    __syncthreads();
    float r = 0.0f;
    for (int w = 0; w < WARPS; ++w) r += sm.red[w];
    return r;
}

// One pass over this block's keys for query heads row0 .. row0 + gn - 1 (gn <= GC), then the
// merge of the slots, written to O (one split) or to the workspace.
template <int GC, int UNROLL>
__device__ __forceinline__ void attend_pass(const __nv_bfloat16 *__restrict__ Q,
                                            const __nv_bfloat16 *__restrict__ Kh,
                                            const __nv_bfloat16 *__restrict__ Vh,
                                            float *__restrict__ O, float *__restrict__ part_acc,
                                            float *__restrict__ part_ml, int row0, int gn, int D,
                                            int k_begin, int k_end, int split, int splits,
                                            float qscale, Smem &sm) {
    const int lanes_per_key = D / 8;
    const int slots = THREADS / lanes_per_key;
    const int lane = threadIdx.x % 32;
    const int slot = (threadIdx.x / 32) * (32 / lanes_per_key) + lane / lanes_per_key;
    const int d0 = (lane % lanes_per_key) * 8;

    // The query rows live in shared memory as f32, pre-scaled by scale·log2(e), read back per
    // key (a broadcast across slots): registers are what limit this kernel, and reading f32
    // saves the unpacking a bf16 copy would cost per key.
    const int q_words = D / 4;
    for (int i = threadIdx.x; i < GC * q_words; i += THREADS) {
        const int g = i / q_words, e = (i % q_words) * 4;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (g < gn) {
            const __nv_bfloat16 *src = Q + (size_t)(row0 + g) * D + e;
            v = make_float4(__bfloat162float(src[0]) * qscale, __bfloat162float(src[1]) * qscale,
                            __bfloat162float(src[2]) * qscale, __bfloat162float(src[3]) * qscale);
        }
        sm.q[i] = v;
    }
    __syncthreads();
    float acc[GC][8], m[GC], l[GC];
#pragma unroll
    for (int g = 0; g < GC; ++g) {
        m[g] = NEG_INF;
        l[g] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] = 0.0f;
    }

    // Every slot takes the same number of steps (the loop bound is the block's, not the
    // slot's): the shuffles below need all 32 lanes, and `valid` masks the tail.
    for (int t0 = k_begin; t0 < k_end; t0 += slots * UNROLL) {
        uint4 kraw[UNROLL], vraw[UNROLL];
        bool valid[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int j = t0 + u * slots + slot;
            valid[u] = j < k_end;
            kraw[u] = valid[u] ? *reinterpret_cast<const uint4 *>(Kh + (size_t)j * D + d0)
                               : make_uint4(0, 0, 0, 0);
            vraw[u] = valid[u] ? *reinterpret_cast<const uint4 *>(Vh + (size_t)j * D + d0)
                               : make_uint4(0, 0, 0, 0);
        }
        float s[UNROLL][GC];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            float k8[8];
            unpack8(kraw[u], k8);
#pragma unroll
            for (int g = 0; g < GC; ++g) {
                const float4 qa = sm.q[g * q_words + d0 / 4];
                const float4 qb = sm.q[g * q_words + d0 / 4 + 1];
                float dot = qa.x * k8[0];
                dot = fmaf(qa.y, k8[1], dot);
                dot = fmaf(qa.z, k8[2], dot);
                dot = fmaf(qa.w, k8[3], dot);
                dot = fmaf(qb.x, k8[4], dot);
                dot = fmaf(qb.y, k8[5], dot);
                dot = fmaf(qb.z, k8[6], dot);
                dot = fmaf(qb.w, k8[7], dot);
                // Sum over the lanes of this key: xor offsets below lanes_per_key stay inside
                // the aligned lane group.
                for (int o = lanes_per_key / 2; o > 0; o >>= 1)
                    dot += __shfl_xor_sync(0xffffffffu, dot, o);
                s[u][g] = valid[u] ? dot : NEG_INF;
            }
        }
#pragma unroll
        for (int g = 0; g < GC; ++g) {
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
    for (int g = 0; g < GC; ++g) {
        if (d0 == 0) {
            sm.m[g * MAX_SLOTS + slot] = m[g];
            sm.l[g * MAX_SLOTS + slot] = l[g];
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) sm.acc[g * SLOT_FLOATS + slot * D + d0 + i] = acc[g][i];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < gn * D; idx += THREADS) {
        const int g = idx / D, d = idx % D;
        float M = NEG_INF;
        for (int s2 = 0; s2 < slots; ++s2) M = fmaxf(M, sm.m[g * MAX_SLOTS + s2]);
        float L = 0.0f, A = 0.0f;
        for (int s2 = 0; s2 < slots; ++s2) {
            const float w = rescale(sm.m[g * MAX_SLOTS + s2], M);
            L += w * sm.l[g * MAX_SLOTS + s2];
            A += w * sm.acc[g * SLOT_FLOATS + s2 * D + d];
        }
        const size_t row = (size_t)row0 + g;
        if (splits == 1) {
            O[row * D + d] = L > 0.0f ? A / L : 0.0f;
        } else {
            part_acc[(row * splits + split) * D + d] = A;
            if (d == 0) {
                part_ml[(row * splits + split) * 2] = M;
                part_ml[(row * splits + split) * 2 + 1] = L;
            }
        }
    }
    __syncthreads(); // shared memory is reused by the next pass
}

// Three blocks per SM (at most 170 registers): the grid rule sizes one wave for that.
extern "C" __global__ void __launch_bounds__(THREADS, 3)
orac_attention_decode(const __nv_bfloat16 *__restrict__ Q, const __nv_bfloat16 *__restrict__ K,
                      const __nv_bfloat16 *__restrict__ V, float *__restrict__ O, int B, int H,
                      int Hkv, int S, int D, float scale, float *__restrict__ work) {
    if (D < 16 || D > 256 || (D & (D - 1)) != 0 || Hkv <= 0 || H % Hkv != 0 ||
        gridDim.x > MAX_SPLITS)
        return;
    __shared__ Smem sm;

    const int G = H / Hkv;
    const int split = blockIdx.x, splits = gridDim.x;
    const int bkv = blockIdx.y; // b * Hkv + kv head
    const int row0 = (bkv / Hkv) * H + (bkv % Hkv) * G; // first query row of the group
    const int per = (S + splits - 1) / splits;
    const int k_begin = min(S, split * per), k_end = min(S, k_begin + per);
    const __nv_bfloat16 *Kh = K + (size_t)bkv * S * D;
    const __nv_bfloat16 *Vh = V + (size_t)bkv * S * D;
    float *part_acc = work;
    float *part_ml = work + (size_t)B * H * splits * D;
    unsigned int *tickets =
        reinterpret_cast<unsigned int *>(work + (size_t)B * H * splits * (D + 2));
    const float qscale = scale * LOG2E;

    // Heads per pass: one for plain MHA (no wasted lanes), 8 when the group allows, else 4.
    const int gc = G == 1 ? 1 : (G % 8 == 0 ? 8 : 4);
    for (int g0 = 0; g0 < G; g0 += gc) {
        const int gn = min(gc, G - g0);
        if (gc == 1)
            attend_pass<1, 4>(Q, Kh, Vh, O, part_acc, part_ml, row0 + g0, gn, D, k_begin,
                              k_end, split, splits, qscale, sm);
        else if (gc == 8)
            attend_pass<8, 2>(Q, Kh, Vh, O, part_acc, part_ml, row0 + g0, gn, D, k_begin,
                              k_end, split, splits, qscale, sm);
        else
            attend_pass<4, 4>(Q, Kh, Vh, O, part_acc, part_ml, row0 + g0, gn, D, k_begin,
                              k_end, split, splits, qscale, sm);
    }
    if (splits == 1) return;

    // Publish this block's partials (every writer fences, then all meet), then take a
    // ticket; the last block combines.
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) sm.last = atomicAdd(&tickets[bkv], 1u) == (unsigned int)(splits - 1);
    __syncthreads();
    if (!sm.last) return;
    __threadfence();

    // Combine, in chunks of query heads whose weights fit in shared memory. Other blocks
    // wrote the partials: read them through L2 (__ldcg), never a stale L1 line.
    float *weights = sm.acc;
    const int chunk = min(G, (MAX_GC * SLOT_FLOATS) / splits);
    for (int c0 = 0; c0 < G; c0 += chunk) {
        const int cn = min(chunk, G - c0);
        for (int g = 0; g < cn; ++g) {
            const float *ml = part_ml + (size_t)(row0 + c0 + g) * splits * 2;
            float mx = NEG_INF;
            for (int s2 = threadIdx.x; s2 < splits; s2 += THREADS) mx = fmaxf(mx, __ldcg(ml + 2 * s2));
            const float M = block_max(mx, sm);
            float sum = 0.0f;
            for (int s2 = threadIdx.x; s2 < splits; s2 += THREADS)
                sum += rescale(__ldcg(ml + 2 * s2), M) * __ldcg(ml + 2 * s2 + 1);
            const float L = block_sum(sum, sm);
            for (int s2 = threadIdx.x; s2 < splits; s2 += THREADS)
                weights[g * splits + s2] = L > 0.0f ? rescale(__ldcg(ml + 2 * s2), M) / L : 0.0f;
        }
        __syncthreads();
        // Four outputs per thread at once, so four loads are in flight per split.
        for (int base = threadIdx.x; base < cn * D; base += 4 * THREADS) {
            float out[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            const float *src[4];
            int gs[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int idx = min(base + i * THREADS, cn * D - 1);
                gs[i] = idx / D;
                src[i] = part_acc + (size_t)(row0 + c0 + gs[i]) * splits * D + idx % D;
            }
#pragma unroll 4
            for (int s2 = 0; s2 < splits; ++s2) {
#pragma unroll
                for (int i = 0; i < 4; ++i)
                    out[i] = fmaf(weights[gs[i] * splits + s2], __ldcg(src[i] + (size_t)s2 * D),
                                  out[i]);
            }
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int idx = base + i * THREADS;
                if (idx < cn * D) O[(size_t)(row0 + c0) * D + idx] = out[i];
            }
        }
        __syncthreads(); // the weights are rewritten by the next chunk
    }
    if (threadIdx.x == 0) tickets[bkv] = 0u;
}
