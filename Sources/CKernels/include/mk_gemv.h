#ifndef MIXER_MK_GEMV_H
#define MIXER_MK_GEMV_H

#include <stddef.h>

/// y = A·x + beta·y for A [m, n] (row-major, leading dimension lda), or y = Aᵀ·x + beta·y when
/// trans (then x has m entries and y n). A·x takes one vectorised dot product per row (its order
/// fixed by n and the instruction set); Aᵀ·x adds x_i·row_i into y row after row. beta = 0 never
/// reads y. Cost: 2·m·n flops, one pass over A.
void mk_gemv(int trans, int m, int n, const float *a, int lda, const float *x, float beta, float *y);

/// y += alpha·x over n floats, as mk_gemv's transposed product adds each row (fused multiply-adds
/// on AVX-512 and AVX2). Cost: one pass.
void mk_axpy(float alpha, const float *x, float *y, int n);

#endif
