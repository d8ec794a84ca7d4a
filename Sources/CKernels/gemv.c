// Matrix-vector products (mk_gemv, mk_axpy): the attention's scores and contexts.
#include "mk_internal.h"

// y = A·x: one dot product per row, in 16 (AVX-512), 8 (AVX2) or 8 (portable) lanes summed at the
// end; y = Aᵀ·x: y += x_i · row i for each row in turn (no reduction). Each output's order of
// summation depends only on the row length and the instruction set, never on m.

static float dot_generic(const float *a, const float *x, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) acc[q] += a[j + q] * x[j + q];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++) s += a[j] * x[j];
    return s;
}

static void axpy_generic(float alpha, const float *a, float *y, int n) {
    for (int j = 0; j < n; j++) y[j] += alpha * a[j];
}

#ifdef MK_X86
__attribute__((target("avx512f"))) static float dot512(const float *a, const float *x, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(x + j), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(x + j + 16), s1);
    }
    if (j + 16 <= n) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(x + j), s0);
        j += 16;
    }
    if (j < n) {
        __mmask16 mask = (__mmask16)((1u << (n - j)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, x + j), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) static void axpy512(float alpha, const float *a, float *y, int n) {
    __m512 av = _mm512_set1_ps(alpha);
    int j = 0;
    for (; j + 16 <= n; j += 16) _mm512_storeu_ps(y + j, _mm512_fmadd_ps(av, _mm512_loadu_ps(a + j), _mm512_loadu_ps(y + j)));
    if (j < n) {
        __mmask16 mask = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(y + j, mask, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, y + j)));
    }
}

__attribute__((target("avx2,fma"))) static float dot256(const float *a, const float *x, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(x + j), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(x + j + 8), s1);
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(s0, s1));
    float s = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
    for (; j < n; j++) s += a[j] * x[j];
    return s;
}

__attribute__((target("avx2,fma"))) static void axpy256(float alpha, const float *a, float *y, int n) {
    __m256 av = _mm256_set1_ps(alpha);
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(a + j), _mm256_loadu_ps(y + j)));
    for (; j < n; j++) y[j] += alpha * a[j];
}
#endif

void mk_gemv(int trans, int m, int n, const float *a, int lda, const float *x, float beta, float *y) {
    if (m <= 0 || n <= 0) return;
    int isa = mk_isa();
    float (*dot)(const float *, const float *, int) = dot_generic;
    void (*axpy)(float, const float *, float *, int) = axpy_generic;
#ifdef MK_X86
    if (isa == 2) { dot = dot512; axpy = axpy512; }
    else if (isa == 1) { dot = dot256; axpy = axpy256; }
#endif
    (void)isa;
    if (!trans) {
        for (int i = 0; i < m; i++) {
            float d = dot(a + (size_t)i * lda, x, n);
            y[i] = beta == 0 ? d : d + beta * y[i];
        }
    } else {
        if (beta == 0) memset(y, 0, sizeof(float) * (size_t)n);
        else if (beta != 1) for (int j = 0; j < n; j++) y[j] *= beta;
        for (int i = 0; i < m; i++) axpy(x[i], a + (size_t)i * lda, y, n);
    }
}

void mk_axpy(float alpha, const float *x, float *y, int n) {
    if (n <= 0) return;
#ifdef MK_X86
    if (mk_isa() == 2) { axpy512(alpha, x, y, n); return; }
    if (mk_isa() == 1) { axpy256(alpha, x, y, n); return; }
#endif
    axpy_generic(alpha, x, y, n);
}
