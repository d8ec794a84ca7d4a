// The LSTM cell: its pointwise forward step (mk_lstm_cell_forward), tanh (mk_tanh) and its backward
// pass (mk_lstm_cell_backward), on the vectorised e^x of mk_internal.h.
#include "mk_internal.h"

#define MK_T0 (-5.70498872745e-3f)
#define MK_T1 2.06390887954e-2f
#define MK_T2 (-5.37397155531e-2f)
#define MK_T3 1.33314422036e-1f
#define MK_T4 (-3.33332819422e-1f)

// The scalar σ and tanh are sigmoid512/tanh512 one lane at a time, operation for operation
// (fmaf where the vectors fuse, nothing else fused), so the vector tails and the portable path give
// the vector bodies' bits.
static float sigmoid_scalar(float x) {
#pragma clang fp contract(off)
    return 1.0f / (1.0f + exp_scalar(0.0f - x));
}

static float tanh_scalar(float x) {
#pragma clang fp contract(off)
    float ax = __builtin_fabsf(x);
    if (ax < 0.625f) {
        float z = x * x;
        float p = MK_T0;
        p = __builtin_fmaf(p, z, MK_T1); p = __builtin_fmaf(p, z, MK_T2); p = __builtin_fmaf(p, z, MK_T3);
        p = __builtin_fmaf(p, z, MK_T4);
        return __builtin_fmaf(p * z, x, x);
    }
    float big = 1.0f - 2.0f / (exp_scalar(ax + ax) + 1.0f);
    return __builtin_copysignf(big, x);
}

// Units lo..<H of the cell, by the scalar formulas (the portable path, and the AVX2 tail).
static void cell_generic(float *g, const float *cp, float *c, float *h, float *tc, int lo, int H) {
#pragma clang fp contract(off)
    for (int j = lo; j < H; j++) {
        float i = sigmoid_scalar(g[j]), f = sigmoid_scalar(g[H + j]);
        float gg = tanh_scalar(g[2 * H + j]), o = sigmoid_scalar(g[3 * H + j]);
        g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o;
        float cv = __builtin_fmaf(f, cp[j], i * gg);
        float t = tanh_scalar(cv);
        c[j] = cv; tc[j] = t; h[j] = o * t;
    }
}

static void tanh_generic(const float *x, float *y, int n) { for (int j = 0; j < n; j++) y[j] = tanh_scalar(x[j]); }

#ifdef MK_X86
__attribute__((target("avx512f"))) static inline __m512 sigmoid512(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

__attribute__((target("avx512f"))) static inline __m512 tanh512(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(exp512(_mm512_add_ps(ax, ax)), one)));
    // sign(x)·big: copy x's sign bit onto big (big ≥ 0).
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u));
    big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big), sign));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(MK_T0);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T1));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T2));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T3));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T4));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    __mmask16 is_big = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_GE_OQ);
    return _mm512_mask_blend_ps(is_big, small, big);
}

// Sixteen units of the cell (whole: all sixteen; else the lanes of k).
__attribute__((target("avx512f"))) static inline void cell512_16(float *g, const float *cp, float *c, float *h,
                                                                 float *tc, int H, int j, __mmask16 k, int whole) {
    __m512 i = sigmoid512(ld512(k, whole, g + j));
    __m512 f = sigmoid512(ld512(k, whole, g + H + j));
    __m512 gg = tanh512(ld512(k, whole, g + 2 * H + j));
    __m512 o = sigmoid512(ld512(k, whole, g + 3 * H + j));
    st512(k, whole, g + j, i);
    st512(k, whole, g + H + j, f);
    st512(k, whole, g + 2 * H + j, gg);
    st512(k, whole, g + 3 * H + j, o);
    __m512 cv = _mm512_fmadd_ps(f, ld512(k, whole, cp + j), _mm512_mul_ps(i, gg));
    __m512 t = tanh512(cv);
    st512(k, whole, c + j, cv);
    st512(k, whole, tc + j, t);
    st512(k, whole, h + j, _mm512_mul_ps(o, t));
}

__attribute__((target("avx512f"))) static void cell512(float *g, const float *cp, float *c, float *h, float *tc, int H) {
    int full = H & ~15;
    for (int j = 0; j < full; j += 16) cell512_16(g, cp, c, h, tc, H, j, 0xFFFF, 1);
    if (full < H) cell512_16(g, cp, c, h, tc, H, full, (__mmask16)((1u << (H - full)) - 1u), 0);
}

__attribute__((target("avx512f"))) static void tanh_512(const float *x, float *y, int n) {
    int full = n & ~15;
    for (int j = 0; j < full; j += 16) _mm512_storeu_ps(y + j, tanh512(_mm512_loadu_ps(x + j)));
    if (full < n) {
        __mmask16 k = (__mmask16)((1u << (n - full)) - 1u);
        _mm512_mask_storeu_ps(y + full, k, tanh512(_mm512_maskz_loadu_ps(k, x + full)));
    }
}

__attribute__((target("avx2,fma"))) static inline __m256 sigmoid256(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

__attribute__((target("avx2,fma"))) static inline __m256 tanh256(__m256 x) {
    __m256 signbit = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(signbit, x);
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp256(_mm256_add_ps(ax, ax)), one)));
    big = _mm256_or_ps(big, _mm256_and_ps(signbit, x));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(MK_T0);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T4));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    return _mm256_blendv_ps(small, big, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_GE_OQ));
}

__attribute__((target("avx2,fma"))) static void cell256(float *g, const float *cp, float *c, float *h, float *tc, int H) {
    int full = H & ~7;
    for (int j = 0; j < full; j += 8) {
        __m256 i = sigmoid256(_mm256_loadu_ps(g + j));
        __m256 f = sigmoid256(_mm256_loadu_ps(g + H + j));
        __m256 gg = tanh256(_mm256_loadu_ps(g + 2 * H + j));
        __m256 o = sigmoid256(_mm256_loadu_ps(g + 3 * H + j));
        _mm256_storeu_ps(g + j, i);
        _mm256_storeu_ps(g + H + j, f);
        _mm256_storeu_ps(g + 2 * H + j, gg);
        _mm256_storeu_ps(g + 3 * H + j, o);
        __m256 cv = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp + j), _mm256_mul_ps(i, gg));
        __m256 t = tanh256(cv);
        _mm256_storeu_ps(c + j, cv);
        _mm256_storeu_ps(tc + j, t);
        _mm256_storeu_ps(h + j, _mm256_mul_ps(o, t));
    }
    cell_generic(g, cp, c, h, tc, full, H);  // the tail, by the scalar formulas (the same bits)
}

__attribute__((target("avx2,fma"))) static void tanh_256(const float *x, float *y, int n) {
    int full = n & ~7;
    for (int j = 0; j < full; j += 8) _mm256_storeu_ps(y + j, tanh256(_mm256_loadu_ps(x + j)));
    for (int j = full; j < n; j++) y[j] = tanh_scalar(x[j]);
}
#endif

void mk_lstm_cell_forward(float *gates, const float *cprev, const float *hprev, float *c, float *h, float *tanhc,
                          int rows, int hidden, const float *mask) {
    int H = hidden;
#ifdef MK_X86
    int isa = mk_isa();
#endif
    for (int b = 0; b < rows; b++) {
        float *g = gates + (size_t)b * 4 * H;
        const float *cp = cprev + (size_t)b * H;
        float *cr = c + (size_t)b * H, *hr = h + (size_t)b * H, *tr = tanhc + (size_t)b * H;
        if (mask && mask[b] == 0) {
            memcpy(cr, cp, sizeof(float) * (size_t)H);
            memcpy(hr, hprev + (size_t)b * H, sizeof(float) * (size_t)H);
            memset(tr, 0, sizeof(float) * (size_t)H);
            memset(g, 0, sizeof(float) * 4 * (size_t)H);
            continue;
        }
#ifdef MK_X86
        if (isa == 2) { cell512(g, cp, cr, hr, tr, H); continue; }
        if (isa == 1) { cell256(g, cp, cr, hr, tr, H); continue; }
#endif
        cell_generic(g, cp, cr, hr, tr, 0, H);
    }
}

void mk_tanh(const float *x, float *y, int n) {
    if (n <= 0) return;
#ifdef MK_X86
    if (mk_isa() == 2) { tanh_512(x, y, n); return; }
    if (mk_isa() == 1) { tanh_256(x, y, n); return; }
#endif
    tanh_generic(x, y, n);
}

// The LSTM cell's backward pass for one row of H units; see mk_lstm_cell_backward.
static void cell_backward_scalar(const float *gr, const float *cp, const float *tr, float *dhr, float *dcr, float *dg,
                                 int lo, int H) {
#pragma clang fp contract(off)
    for (int j = lo; j < H; j++) {
        float i = gr[j], f = gr[H + j], g = gr[2 * H + j], o = gr[3 * H + j], tc = tr[j], dh = dhr[j];
        float dct = dcr[j] + dh * o * (1 - tc * tc);
        dg[j] = dct * g * i * (1 - i);
        dg[H + j] = dct * cp[j] * f * (1 - f);
        dg[2 * H + j] = dct * i * (1 - g * g);
        dg[3 * H + j] = dh * tc * o * (1 - o);
        dcr[j] = dct * f;
        dhr[j] = 0;
    }
}

#ifdef MK_X86
// The vector bodies: one definition over the instruction set's vector type and operations.
#define MK_CELL_BACKWARD(NAME, TARGET, VT, LANES, LD, ST, ADD, SUB, MUL, SET1, ZERO)                   \
    __attribute__((target(TARGET))) static int NAME(const float *gr, const float *cp, const float *tr, \
                                                    float *dhr, float *dcr, float *dg, int H) {        \
        VT one = SET1(1.0f), zero = ZERO();                                                            \
        int full = H & ~(LANES - 1);                                                                   \
        for (int j = 0; j < full; j += LANES) {                                                        \
            VT i = LD(gr + j), f = LD(gr + H + j), g = LD(gr + 2 * H + j), o = LD(gr + 3 * H + j);     \
            VT tc = LD(tr + j), dh = LD(dhr + j);                                                      \
            VT dct = ADD(LD(dcr + j), MUL(MUL(dh, o), SUB(one, MUL(tc, tc))));                         \
            ST(dg + j, MUL(MUL(MUL(dct, g), i), SUB(one, i)));                                         \
            ST(dg + H + j, MUL(MUL(MUL(dct, LD(cp + j)), f), SUB(one, f)));                            \
            ST(dg + 2 * H + j, MUL(MUL(dct, i), SUB(one, MUL(g, g))));                                 \
            ST(dg + 3 * H + j, MUL(MUL(MUL(dh, tc), o), SUB(one, o)));                                 \
            ST(dcr + j, MUL(dct, f));                                                                  \
            ST(dhr + j, zero);                                                                         \
        }                                                                                              \
        return full;                                                                                   \
    }
MK_CELL_BACKWARD(cell_backward512, "avx512f", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps,
                 _mm512_sub_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps)
MK_CELL_BACKWARD(cell_backward256, "avx2", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps,
                 _mm256_sub_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps)
#endif

void mk_lstm_cell_backward(const float *gates, const float *cprev, const float *tanhc, float *dh, float *dc,
                           float *dgates, int rows, int hidden, const float *mask) {
    int H = hidden;
    for (int b = 0; b < rows; b++) {
        const float *gr = gates + (size_t)b * 4 * H, *cp = cprev + (size_t)b * H, *tr = tanhc + (size_t)b * H;
        float *dhr = dh + (size_t)b * H, *dcr = dc + (size_t)b * H, *dg = dgates + (size_t)b * 4 * H;
        if (mask && mask[b] == 0) {
            memset(dg, 0, sizeof(float) * 4 * (size_t)H);  // dh and dc flow to step t−1 unchanged
            continue;
        }
        int done = 0;
#ifdef MK_X86
        if (mk_isa() == 2) done = cell_backward512(gr, cp, tr, dhr, dcr, dg, H);
        else if (mk_isa() == 1) done = cell_backward256(gr, cp, tr, dhr, dcr, dg, H);
#endif
        cell_backward_scalar(gr, cp, tr, dhr, dcr, dg, done, H);
    }
}
