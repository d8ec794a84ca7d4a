#ifndef MIXER_MK_ELEMENTWISE_H
#define MIXER_MK_ELEMENTWISE_H

#include <stddef.h>

/// Elementwise kernels (AVX-512 / AVX2 bodies, scalar tails; each element is the same rounded
/// operations on every path, so the instruction set never changes a bit). Cost: one pass.
/// y[i] += x[i].
void mk_add(const float *x, float *y, long n);
/// y[i] *= x[i].
void mk_mul(const float *x, float *y, long n);
/// x[i] *= a.
void mk_scale(float *x, long n, float a);
/// x[r, j] += b[j] for x [rows, cols].
void mk_add_bias_rows(float *x, const float *b, int rows, int cols);
/// db[j] += Σ_r dy[r, j] for dy [rows, cols], the rows added in order (db read and written once).
void mk_sum_rows(const float *dy, float *db, int rows, int cols);

#endif
