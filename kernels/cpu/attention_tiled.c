/* Fused attention with online softmax (the FlashAttention recurrence on a CPU). A block of
 * BQ query rows walks the keys in tiles of BKV; per row it keeps the running max m, the
 * running denominator l and an unnormalised output accumulator, rescaling them whenever the
 * max grows. Scores are never materialised beyond one tile. (batch, head, query block)
 * triples are spread over OpenMP threads. Supports head_dim <= MAX_D. */
#include <math.h>

#define BQ 16
#define BKV 64
#define MAX_D 256

void orac_attention_tiled(const float *Q, const float *K, const float *V, float *O, long B,
                          long H, long Sq, long Sk, long D, int causal, float scale) {
    if (D > MAX_D) return; /* output stays poisoned: verification reports it */
    long qblocks = (Sq + BQ - 1) / BQ;
#pragma omp parallel for schedule(dynamic, 1)
    for (long task = 0; task < B * H * qblocks; task++) {
        long bh = task / qblocks, i0 = (task % qblocks) * BQ;
        long i1 = i0 + BQ < Sq ? i0 + BQ : Sq;
        const float *q = Q + bh * Sq * D, *k = K + bh * Sk * D, *v = V + bh * Sk * D;
        float *o = O + bh * Sq * D;
        float m[BQ], l[BQ], acc[BQ][MAX_D], s[BKV];
        for (long r = 0; r < i1 - i0; r++) {
            m[r] = -INFINITY;
            l[r] = 0.0f;
            for (long d = 0; d < D; d++) acc[r][d] = 0.0f;
        }
        for (long j0 = 0; j0 < Sk; j0 += BKV) {
            long j1 = j0 + BKV < Sk ? j0 + BKV : Sk;
            for (long i = i0; i < i1; i++) {
                long r = i - i0;
                long last = causal ? i + (Sk - Sq) : Sk - 1;
                long jend = last + 1 < j1 ? last + 1 : j1; /* keys past the mask are skipped */
                if (jend <= j0) continue;
                float tile_max = -INFINITY;
                for (long j = j0; j < jend; j++) {
                    float dot = 0.0f;
                    for (long d = 0; d < D; d++) dot += q[i * D + d] * k[j * D + d];
                    s[j - j0] = dot * scale;
                    if (s[j - j0] > tile_max) tile_max = s[j - j0];
                }
                float m_new = m[r] > tile_max ? m[r] : tile_max;
                float correction = expf(m[r] - m_new); /* exp(-inf) = 0 on the first tile */
                l[r] *= correction;
                for (long d = 0; d < D; d++) acc[r][d] *= correction;
                for (long j = j0; j < jend; j++) {
                    float p = expf(s[j - j0] - m_new);
                    l[r] += p;
                    for (long d = 0; d < D; d++) acc[r][d] += p * v[j * D + d];
                }
                m[r] = m_new;
            }
        }
        for (long i = i0; i < i1; i++) {
            long r = i - i0;
            float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f; /* fully masked row -> zeros */
            for (long d = 0; d < D; d++) o[i * D + d] = acc[r][d] * inv;
        }
    }
}
