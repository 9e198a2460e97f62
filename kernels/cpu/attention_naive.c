/* Unfused attention: for each (batch, head) materialise the Sq x Sk score matrix, apply the
 * mask and a row softmax, then multiply by V. The baseline the fused kernel must beat. */
#include <math.h>
#include <stdlib.h>

void orac_attention_naive(const float *Q, const float *K, const float *V, float *O, long B,
                          long H, long Sq, long Sk, long D, int causal, float scale) {
    float *S = malloc((size_t)Sq * (size_t)Sk * sizeof(float));
    if (!S) return; /* output stays poisoned: verification reports the failure */
    for (long bh = 0; bh < B * H; bh++) {
        const float *q = Q + bh * Sq * D, *k = K + bh * Sk * D, *v = V + bh * Sk * D;
        float *o = O + bh * Sq * D;
        for (long i = 0; i < Sq; i++) {
            long last = causal ? i + (Sk - Sq) : Sk - 1; /* last visible key */
            float *s = S + i * Sk;
            float max = -INFINITY;
            for (long j = 0; j < Sk; j++) {
                if (j > last) { s[j] = -INFINITY; continue; }
                float dot = 0.0f;
                for (long d = 0; d < D; d++) dot += q[i * D + d] * k[j * D + d];
                s[j] = dot * scale;
                if (s[j] > max) max = s[j];
            }
            float sum = 0.0f;
            for (long j = 0; j < Sk; j++) {
                s[j] = (j > last) ? 0.0f : expf(s[j] - max);
                sum += s[j];
            }
            float inv = sum > 0.0f ? 1.0f / sum : 0.0f; /* fully masked row -> zeros */
            for (long d = 0; d < D; d++) {
                float acc = 0.0f;
                for (long j = 0; j < Sk; j++) acc += s[j] * v[j * D + d];
                o[i * D + d] = acc * inv;
            }
        }
    }
    free(S);
}
