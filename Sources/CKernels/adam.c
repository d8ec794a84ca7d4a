// Adam (mk_adam): one rounded IEEE operation per step, the same bits on every instruction set.
#include "mk_internal.h"

// Adam. Every step is one IEEE operation in a fixed order (no fused multiply-add), so the AVX-512,
// AVX2 and scalar paths give the same bits for every element, whatever the split.

static void adam_scalar(float *p, float *g, float *m, float *v, long lo, long n, float s, float b1, float b2,
                        float c1, float c2, float q, float e, int zero_g) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) {
        float gi = g[i];
        if (zero_g) g[i] = 0;
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - s * mi / (__builtin_sqrtf(vi) / q + e);
    }
}

#ifdef MK_X86
// Sixteen elements of Adam (whole: all sixteen; else the lanes of k).
__attribute__((target("avx512f"))) static inline void adam512_16(float *p, float *g, float *m, float *v, __m512 vb1,
                                                                 __m512 vb2, __m512 vc1, __m512 vc2, __m512 vs,
                                                                 __m512 vq, __m512 ve, int zero_g, __mmask16 k,
                                                                 int whole) {
    __m512 gi = ld512(k, whole, g);
    if (zero_g) st512(k, whole, g, _mm512_setzero_ps());
    __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, ld512(k, whole, m)), _mm512_mul_ps(vc1, gi));
    __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, ld512(k, whole, v)), _mm512_mul_ps(_mm512_mul_ps(vc2, gi), gi));
    st512(k, whole, m, mi);
    st512(k, whole, v, vi);
    __m512 d = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), vq), ve);
    st512(k, whole, p, _mm512_sub_ps(ld512(k, whole, p), _mm512_div_ps(_mm512_mul_ps(vs, mi), d)));
}

__attribute__((target("avx512f"))) static void adam512(float *p, float *g, float *m, float *v, long n, float s,
                                                       float b1, float b2, float c1, float c2, float q, float e,
                                                       int zero_g) {
    __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2), vc1 = _mm512_set1_ps(c1), vc2 = _mm512_set1_ps(c2);
    __m512 vs = _mm512_set1_ps(s), vq = _mm512_set1_ps(q), ve = _mm512_set1_ps(e);
    long full = n & ~15L;
    for (long i = 0; i < full; i += 16)
        adam512_16(p + i, g + i, m + i, v + i, vb1, vb2, vc1, vc2, vs, vq, ve, zero_g, 0xFFFF, 1);
    if (full < n)
        adam512_16(p + full, g + full, m + full, v + full, vb1, vb2, vc1, vc2, vs, vq, ve, zero_g,
                   (__mmask16)((1u << (n - full)) - 1u), 0);
}

__attribute__((target("avx2,fma"))) static void adam256(float *p, float *g, float *m, float *v, long n, float s,
                                                        float b1, float b2, float c1, float c2, float q, float e,
                                                        int zero_g) {
    __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
    __m256 vs = _mm256_set1_ps(s), vq = _mm256_set1_ps(q), ve = _mm256_set1_ps(e), z = _mm256_setzero_ps();
    long full = n & ~7L;
    for (long i = 0; i < full; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        if (zero_g) _mm256_storeu_ps(g + i, z);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vc1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(vc2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 d = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vq), ve);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(vs, mi), d)));
    }
    adam_scalar(p, g, m, v, full, n, s, b1, b2, c1, c2, q, e, zero_g);
}
#endif

void mk_adam(float *p, float *g, float *m, float *v, long n, float step_size, float b1, float b2, float c1,
             float c2, float sqrt_bc2, float eps, int zero_g) {
    if (n <= 0) return;
#ifdef MK_X86
    if (mk_isa() == 2) { adam512(p, g, m, v, n, step_size, b1, b2, c1, c2, sqrt_bc2, eps, zero_g); return; }
    if (mk_isa() == 1) { adam256(p, g, m, v, n, step_size, b1, b2, c1, c2, sqrt_bc2, eps, zero_g); return; }
#endif
    adam_scalar(p, g, m, v, 0, n, step_size, b1, b2, c1, c2, sqrt_bc2, eps, zero_g);
}
