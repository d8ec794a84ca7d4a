// Matrix-vector products (mk_gemv, mk_axpy): the attention's scores and contexts.
#include "mk_internal.h"

// y = A·x: one dot product per row, summed in the order of dot512 on every path: terms j ≡ l
// (mod 32) of each whole block of 32 into lane l of two 16-lane accumulators s0 (l < 16) and s1,
// a last whole block of 16 into s0, the rest (< 16 terms) into s1's first lanes, every term
// fused (a·x + s rounded once); then s0 + s1 lane by lane, and mk_sum16. y = Aᵀ·x: y += x_i ·
// row i for each row in turn, fused (no reduction). Each output's bits depend only on the row's
// values, never on m or the instruction set.

static float dot_generic(const float *a, const float *x, int n) {
#pragma clang fp contract(off)
    float s0[16] = {0}, s1[16] = {0};
    int j = 0;
    for (; j + 32 <= n; j += 32)
        for (int q = 0; q < 16; q++) {
            s0[q] = __builtin_fmaf(a[j + q], x[j + q], s0[q]);
            s1[q] = __builtin_fmaf(a[j + 16 + q], x[j + 16 + q], s1[q]);
        }
    if (j + 16 <= n) {
        for (int q = 0; q < 16; q++) s0[q] = __builtin_fmaf(a[j + q], x[j + q], s0[q]);
        j += 16;
    }
    for (int q = 0; j + q < n; q++) s1[q] = __builtin_fmaf(a[j + q], x[j + q], s1[q]);
    for (int q = 0; q < 16; q++) s0[q] = s0[q] + s1[q];
    return mk_sum16(s0);
}

static void axpy_generic(float alpha, const float *a, float *y, int n) {
    for (int j = 0; j < n; j++) y[j] = __builtin_fmaf(alpha, a[j], y[j]);
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
    float lanes[16];
    _mm512_storeu_ps(lanes, _mm512_add_ps(s0, s1));
    return mk_sum16(lanes);
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

// dot512's order (see above) with each 16-lane accumulator in two registers.
__attribute__((target("avx2,fma"))) static float dot256(const float *a, const float *x, int n) {
    __m256 s0a = _mm256_setzero_ps(), s0b = _mm256_setzero_ps(), s1a = _mm256_setzero_ps(), s1b = _mm256_setzero_ps();
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        s0a = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(x + j), s0a);
        s0b = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(x + j + 8), s0b);
        s1a = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 16), _mm256_loadu_ps(x + j + 16), s1a);
        s1b = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 24), _mm256_loadu_ps(x + j + 24), s1b);
    }
    if (j + 16 <= n) {
        s0a = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(x + j), s0a);
        s0b = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(x + j + 8), s0b);
        j += 16;
    }
    float lanes[16], s1[16];
    _mm256_storeu_ps(lanes, _mm256_add_ps(s0a, s1a));
    _mm256_storeu_ps(lanes + 8, _mm256_add_ps(s0b, s1b));
    if (j < n) {  // the last < 16 terms go to s1's first lanes, before s0 + s1
        _mm256_storeu_ps(s1, s1a);
        _mm256_storeu_ps(s1 + 8, s1b);
        float s0[16];
        _mm256_storeu_ps(s0, s0a);
        _mm256_storeu_ps(s0 + 8, s0b);
        for (int q = 0; j + q < n; q++) s1[q] = __builtin_fmaf(a[j + q], x[j + q], s1[q]);
        for (int q = 0; q < 16; q++) lanes[q] = s0[q] + s1[q];
    }
    return mk_sum16(lanes);
}

__attribute__((target("avx2,fma"))) static void axpy256(float alpha, const float *a, float *y, int n) {
    __m256 av = _mm256_set1_ps(alpha);
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(a + j), _mm256_loadu_ps(y + j)));
    for (; j < n; j++) y[j] = __builtin_fmaf(alpha, a[j], y[j]);
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
