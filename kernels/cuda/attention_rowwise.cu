// Attention forward, tier 1 (f32): one warp per query row, no shared memory, no tensor
// cores. Two passes over the keys the row may see: the max of the scores, then the softmax
// denominator and the weighted sum of V together (lane l owns output columns l, l+32, …).
// Each score is a warp-wide dot product (a shuffle reduction): simple and obviously right,
// the baseline the fused kernels are measured against.
//
// Layout [B, H, S, D] row-major; under `causal`, query i sees key j iff j <= i + (Sk - Sq)
// (aligned bottom-right); a query that sees no key outputs zeros. D <= 128.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

#define MAX_D 128
// NVRTC has no <math.h>: -infinity by its bits.
#define NEG_INF __int_as_float(0xff800000)
#define ROWS_PER_BLOCK 4

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

extern "C" __global__ void __launch_bounds__(32 * ROWS_PER_BLOCK)
orac_attention_rowwise(const float *__restrict__ Q, const float *__restrict__ K,
                       const float *__restrict__ V, float *__restrict__ O, int B, int H, int Sq,
                       int Sk, int D, int causal, float scale) {
    if (D > MAX_D) return; // the output stays poisoned: verification says so
    const int lane = threadIdx.x % 32;
    const int i = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / 32;
    const long long bh = blockIdx.y;
    if (i >= Sq || bh >= (long long)B * H) return;
    const float *q = Q + (bh * Sq + i) * D;
    const float *k = K + bh * Sk * D;
    const float *v = V + bh * Sk * D;
    float *o = O + (bh * Sq + i) * D;

    // The keys this row sees: 0 ..= last.
    const long long last = causal ? (long long)i + Sk - Sq : (long long)Sk - 1;
    const int keys = last < 0 ? 0 : (int)min(last + 1, (long long)Sk);

    float qr[MAX_D / 32];
#pragma unroll
    for (int c = 0; c < MAX_D / 32; ++c) {
        const int d = lane + 32 * c;
        qr[c] = d < D ? q[d] : 0.0f;
    }
    auto score = [&](int j) {
        float part = 0.0f;
#pragma unroll
        for (int c = 0; c < MAX_D / 32; ++c) {
            const int d = lane + 32 * c;
            if (d < D) part += qr[c] * k[(long long)j * D + d];
        }
        return warp_sum(part) * scale;
    };

    float m = NEG_INF;
    for (int j = 0; j < keys; ++j) m = fmaxf(m, score(j));
    float l = 0.0f, acc[MAX_D / 32];
#pragma unroll
    for (int c = 0; c < MAX_D / 32; ++c) acc[c] = 0.0f;
    for (int j = 0; j < keys; ++j) {
        const float p = expf(score(j) - m);
        l += p;
#pragma unroll
        for (int c = 0; c < MAX_D / 32; ++c) {
            const int d = lane + 32 * c;
            if (d < D) acc[c] += p * v[(long long)j * D + d];
        }
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int c = 0; c < MAX_D / 32; ++c) {
        const int d = lane + 32 * c;
        if (d < D) o[d] = acc[c] * inv;
    }
}
