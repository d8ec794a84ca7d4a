#ifndef MIXER_MK_SOFTMAX_H
#define MIXER_MK_SOFTMAX_H

#include <stddef.h>

/// Row-wise softmax in place over x [rows, cols]: p_j = e^(x_j − m) / Σ_i e^(x_i − m), m the
/// row maximum; writes log Σ_i e^(x_i) to logZ[r] when logZ is not NULL. Vectorised e^x:
/// Cody–Waite reduction and Cephes' degree-6 polynomial (relative error ≤ 2 ulp; 0 below
/// −86.6). Cost: 3 passes over each row.
void mk_softmax_rows(float *x, int rows, int cols, float *logz);

/// Row-wise log-softmax from x into y [rows, cols] (may alias): y_j = (x_j − m) − log Σ e^(x_i − m).
/// Cost: 3 passes over each row (max, Σ e, write).
void mk_log_softmax_rows(const float *x, float *y, int rows, int cols);

#endif
