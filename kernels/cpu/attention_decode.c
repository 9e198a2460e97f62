/* Decode attention: one query token per (batch, query head) over a KV cache of S keys, with
 * grouped-query heads (H query heads share Hkv KV heads; head h reads KV head h / (H / Hkv)).
 * One task per (batch, KV head), spread over OpenMP threads: the task reads its K rows once
 * for all G query heads of the group (scores of the group in a G x S scratch), then its V
 * rows once, so the cache is streamed once however large the group. Two passes over the
 * scores (max, then exponentials) instead of an online softmax: the scratch is small.
 * Layout: Q and O [B, H, D]; K and V [B, Hkv, S, D]. */
#include <math.h>
#include <stdlib.h>

void orac_attention_decode(const float *Q, const float *K, const float *V, float *O, long B,
                           long H, long Hkv, long S, long D, float scale) {
    if (Hkv <= 0 || H % Hkv != 0) return; /* output stays poisoned: verification reports it */
    long G = H / Hkv;
#pragma omp parallel for schedule(dynamic, 1)
    for (long task = 0; task < B * Hkv; task++) {
        long b = task / Hkv, hk = task % Hkv;
        const float *k = K + task * S * D, *v = V + task * S * D;
        const float *q = Q + (b * H + hk * G) * D;
        float *o = O + (b * H + hk * G) * D;
        float *s = malloc(sizeof(float) * (size_t)(G * S));
        if (!s) continue;
        for (long j = 0; j < S; j++)
            for (long g = 0; g < G; g++) {
                float dot = 0.0f;
                for (long d = 0; d < D; d++) dot += q[g * D + d] * k[j * D + d];
                s[g * S + j] = dot * scale;
            }
        for (long g = 0; g < G * D; g++) o[g] = 0.0f;
        for (long g = 0; g < G; g++) {
            float max = -INFINITY, sum = 0.0f;
            for (long j = 0; j < S; j++) max = s[g * S + j] > max ? s[g * S + j] : max;
            for (long j = 0; j < S; j++) {
                s[g * S + j] = expf(s[g * S + j] - max);
                sum += s[g * S + j];
            }
            for (long j = 0; j < S; j++) s[g * S + j] /= sum;
        }
        for (long j = 0; j < S; j++)
            for (long g = 0; g < G; g++) {
                float p = s[g * S + j];
                for (long d = 0; d < D; d++) o[g * D + d] += p * v[j * D + d];
            }
        free(s);
    }
}
