/* STREAM's triad a = b + s*c over f32 arrays, one contiguous chunk per OpenMP thread; the
 * compiler vectorises the loop. */
#include <stddef.h>

void orac_triad(const float *b, const float *c, float *a, float s, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}
