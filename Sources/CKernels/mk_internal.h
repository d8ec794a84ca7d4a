// The kernels' shared private part (not installed with the module): the x86 switch, the
// instruction-set query (mk_isa, in isa.c), the vectorised e^x that softmax.c and lstm.c share, and
// the AVX-512 load/store helpers of lstm.c and adam.c.
#ifndef MIXER_MK_INTERNAL_H
#define MIXER_MK_INTERNAL_H

#include "ckernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define MK_X86 1
#include <immintrin.h>
#endif

// ---- Row softmax / log-softmax with a vectorised exp ------------------------------------------
// e^x (softmax arguments are x − max ≤ 0; σ and tanh pass any sign): Cody–Waite x = n·ln2 + r, Cephes expf's polynomial for
// e^r, then 2^n; 0 below −86.6 (e^x < 2.4e-38), capped at e^88.7 (no infinity).
#define MK_EXP_LO (-86.6f)
#define MK_EXP_HI 88.72283f
#define MK_LOG2E 1.44269504f
#define MK_LN2_HI 0.693359375f
#define MK_LN2_LO (-2.12194440e-4f)
#define MK_P0 1.9875691500e-4f
#define MK_P1 1.3981999507e-3f
#define MK_P2 8.3334519073e-3f
#define MK_P3 4.1665795894e-2f
#define MK_P4 1.6666665459e-1f
#define MK_P5 5.0000001201e-1f

// exp_scalar is exp512/exp256 one lane at a time, operation for operation (the same fused
// multiply-adds through fmaf, round-half-to-even through rintf, 2^n exact through ldexpf), so a
// vector tail done in scalar code, and the portable path, give the vector body's bits. Contraction
// is off in it: only the written fmaf calls fuse. (Without FMA hardware, fmaf is libm's correctly
// rounded one: slower, the same bits.)
static inline float exp_scalar(float x) {
#pragma clang fp contract(off)
    if (x != x) return x;  // NaN propagates (a diverged model must show as one)
    if (x < MK_EXP_LO) return 0.0f;
    if (x > MK_EXP_HI) x = MK_EXP_HI;
    float n = __builtin_rintf(x * MK_LOG2E);
    float r = __builtin_fmaf(-n, MK_LN2_HI, x);
    r = __builtin_fmaf(-n, MK_LN2_LO, r);
    float p = MK_P0;
    p = __builtin_fmaf(p, r, MK_P1); p = __builtin_fmaf(p, r, MK_P2); p = __builtin_fmaf(p, r, MK_P3);
    p = __builtin_fmaf(p, r, MK_P4); p = __builtin_fmaf(p, r, MK_P5);
    p = __builtin_fmaf(p, r * r, r + 1.0f);
    return __builtin_ldexpf(p, (int)n);
}

// ---- The one order of a 16-lane sum --------------------------------------------------------------
// Every sum that a vector path splits over lanes (softmax's Σe^x, gemv's dot products) is defined
// over 16 lanes — lane l holds the terms l, l + 16, l + 32, … in order — and the lanes are added
// by one tree: t8[i] = l[i] + l[i+8], t4[i] = t8[i] + t8[i+4], t2[i] = t4[i] + t4[i+2],
// s = t2[0] + t2[1] (the order of _mm512_reduce_add_ps as LLVM lowers it). AVX-512 holds the 16
// lanes in one register, AVX2 in two, the portable path in an array: the same bits on each.
static inline float mk_sum16(const float l[16]) {
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++) t8[i] = l[i] + l[i + 8];
    for (int i = 0; i < 4; i++) t4[i] = t8[i] + t8[i + 4];
    return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}

#ifdef MK_X86
__attribute__((target("avx512f"))) static inline __m512 exp512(__m512 x) {
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(MK_EXP_LO), _CMP_LT_OQ);
    x = _mm512_max_ps(_mm512_set1_ps(MK_EXP_LO), x);  // NaN in x stays NaN (max returns its 2nd operand)
    x = _mm512_min_ps(_mm512_set1_ps(MK_EXP_HI), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(MK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MK_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MK_LN2_LO), r);
    __m512 p = _mm512_set1_ps(MK_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps(~under, _mm512_scalef_ps(p, n));
}

__attribute__((target("avx2,fma"))) static inline __m256 exp256(__m256 x) {
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(MK_EXP_LO), _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_set1_ps(MK_EXP_LO), x);  // NaN in x stays NaN
    x = _mm256_min_ps(_mm256_set1_ps(MK_EXP_HI), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(MK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(MK_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(MK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(MK_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n = 2·2^(n−1) in the exponent bits (n − 1 ∈ [−126, 127] after the clamps: always normal).
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), _mm256_set1_ps(2.0f));
    return _mm256_andnot_ps(under, y);
}


// Masked loads and stores only where a mask is needed: on this generation of AMD cores a masked
// store costs several times a plain one even when every lane is set (Adam ran at half speed).
__attribute__((target("avx512f"))) static inline __m512 ld512(__mmask16 k, int whole, const float *p) {
    return whole ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(k, p);
}

__attribute__((target("avx512f"))) static inline void st512(__mmask16 k, int whole, float *p, __m512 x) {
    if (whole) _mm512_storeu_ps(p, x); else _mm512_mask_storeu_ps(p, k, x);
}

#endif

#endif
