// Elementwise kernels: mk_add, mk_mul, mk_scale, mk_add_bias_rows, mk_sum_rows.
#include "mk_internal.h"

// Elementwise kernels. Each result is the same sequence of rounded IEEE operations on every path
// (never fused), so the instruction set never changes a bit; vector bodies are unmasked, tails
// scalar.

static void add_scalar(const float *x, float *y, long lo, long n) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) y[i] = y[i] + x[i];
}
static void mul_scalar(const float *x, float *y, long lo, long n) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) y[i] = y[i] * x[i];
}
static void scale_scalar(float *x, long lo, long n, float a) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) x[i] = x[i] * a;
}

#ifdef MK_X86
// y = OP(y, x) over the whole vectors of n; returns how many elements were done.
#define MK_ZIP(NAME, TARGET, LANES, LD, ST, OP)                                                        \
    __attribute__((target(TARGET))) static long NAME(const float *x, float *y, long n) {               \
        long full = n & ~(long)(LANES - 1);                                                            \
        for (long i = 0; i < full; i += LANES) ST(y + i, OP(LD(y + i), LD(x + i)));                    \
        return full;                                                                                   \
    }
MK_ZIP(add512, "avx512f", 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps)
MK_ZIP(add256, "avx2", 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps)
MK_ZIP(mul512, "avx512f", 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_mul_ps)
MK_ZIP(mul256, "avx2", 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_mul_ps)
__attribute__((target("avx512f"))) static long scale512(float *x, long n, float a) {
    __m512 av = _mm512_set1_ps(a);
    long full = n & ~15L;
    for (long i = 0; i < full; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), av));
    return full;
}
__attribute__((target("avx2"))) static long scale256(float *x, long n, float a) {
    __m256 av = _mm256_set1_ps(a);
    long full = n & ~7L;
    for (long i = 0; i < full; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), av));
    return full;
}
#endif

#ifdef MK_X86
#define MK_ZIP_VECTOR(V512, V256) (mk_isa() == 2 ? V512(x, y, n) : mk_isa() == 1 ? V256(x, y, n) : 0)
#else
#define MK_ZIP_VECTOR(V512, V256) 0
#endif

void mk_add(const float *x, float *y, long n) { add_scalar(x, y, MK_ZIP_VECTOR(add512, add256), n); }

void mk_mul(const float *x, float *y, long n) { mul_scalar(x, y, MK_ZIP_VECTOR(mul512, mul256), n); }

void mk_scale(float *x, long n, float a) {
    long done = 0;
#ifdef MK_X86
    if (mk_isa() == 2) done = scale512(x, n, a); else if (mk_isa() == 1) done = scale256(x, n, a);
#endif
    scale_scalar(x, done, n, a);
}

void mk_add_bias_rows(float *x, const float *b, int rows, int cols) {
    for (int r = 0; r < rows; r++) mk_add(b, x + (size_t)r * cols, cols);
}

// db[j] += Σ_r dy[r, j], the rows added one after another (the order of the plain loop), with
// 128 (AVX2: 64) columns held in registers over all the rows so that db is read and written once.
#ifdef MK_X86
#define MK_SUM_ROWS(NAME, TARGET, VT, LANES, LD, ST, ADD)                                              \
    __attribute__((target(TARGET))) static int NAME(const float *dy, float *db, int rows, int cols) {  \
        int j = 0;                                                                                     \
        for (; j + 8 * LANES <= cols; j += 8 * LANES) {                                                \
            VT acc[8];                                                                                 \
            for (int q = 0; q < 8; q++) acc[q] = LD(db + j + LANES * q);                               \
            for (int r = 0; r < rows; r++) {                                                           \
                const float *d = dy + (size_t)r * cols + j;                                            \
                for (int q = 0; q < 8; q++) acc[q] = ADD(acc[q], LD(d + LANES * q));                   \
            }                                                                                          \
            for (int q = 0; q < 8; q++) ST(db + j + LANES * q, acc[q]);                                \
        }                                                                                              \
        for (; j + LANES <= cols; j += LANES) {                                                        \
            VT acc = LD(db + j);                                                                       \
            for (int r = 0; r < rows; r++) acc = ADD(acc, LD(dy + (size_t)r * cols + j));             \
            ST(db + j, acc);                                                                           \
        }                                                                                              \
        return j;                                                                                      \
    }
MK_SUM_ROWS(sum_rows512, "avx512f", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps)
MK_SUM_ROWS(sum_rows256, "avx2", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps)
#endif

void mk_sum_rows(const float *dy, float *db, int rows, int cols) {
    int j = 0;
#ifdef MK_X86
    if (mk_isa() == 2) j = sum_rows512(dy, db, rows, cols); else if (mk_isa() == 1) j = sum_rows256(dy, db, rows, cols);
#endif
    for (; j < cols; j++) {
#pragma clang fp contract(off)
        float s = db[j];
        for (int r = 0; r < rows; r++) s = s + dy[(size_t)r * cols + j];
        db[j] = s;
    }
}
