#ifndef MIXER_MK_LSTM_H
#define MIXER_MK_LSTM_H

#include <stddef.h>

/// The pointwise part of an LSTM step for `rows` rows (PyTorch's gate order i, f, g, o):
/// gates [rows, 4H] pre-activations become activations in place (σ, σ, tanh, σ);
/// c = f⊙cprev + i⊙g, tanhc = tanh(c), h = o⊙tanhc [rows, H]. A row whose mask is 0 copies
/// cprev and hprev and zeroes its gates and tanhc (mask may be NULL: all rows real).
/// σ(x) = 1/(1 + e^−x); tanh(x) = x + x³·P(x²) for |x| < 0.625 (Cephes), else
/// sign(x)·(1 − 2/(e^2|x| + 1)); relative error ≈ 3e-7.
void mk_lstm_cell_forward(float *gates, const float *cprev, const float *hprev, float *c, float *h, float *tanhc,
                          int rows, int hidden, const float *mask);

/// y = tanh(x) over n elements (x and y may alias), as in mk_lstm_cell_forward.
void mk_tanh(const float *x, float *y, int n);

/// The LSTM cell's backward pass over rows × hidden units, from the activated gates [rows, 4H]
/// (i, f, g, o as mk_lstm_cell_forward leaves them), c_{t−1} and tanh(c_t) [rows, H]:
///   dc̃ = dc + dh·o·(1 − tanh²c);  di = dc̃·g·i(1 − i);  df = dc̃·c_{t−1}·f(1 − f);
///   dg = dc̃·i·(1 − g²);  do = dh·tanh c·o(1 − o);  then dc ← dc̃·f, dh ← 0,
/// each product rounded left to right as written. Rows whose mask is 0 get zero gate gradients
/// and leave dh, dc unchanged. Cost: one pass.
void mk_lstm_cell_backward(const float *gates, const float *cprev, const float *tanhc, float *dh, float *dc,
                           float *dgates, int rows, int hidden, const float *mask);

#endif
