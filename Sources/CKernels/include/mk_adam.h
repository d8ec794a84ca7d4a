#ifndef MIXER_MK_ADAM_H
#define MIXER_MK_ADAM_H

#include <stddef.h>

/// One Adam update (Kingma & Ba, 2015) over n floats, in PyTorch's order of operations:
/// m = b1·m + c1·g;  v = b2·v + (c2·g)·g;  p = p − (step_size·m) / (√v / sqrt_bc2 + eps),
/// with c1 = 1 − b1, c2 = 1 − b2, step_size = lr / (1 − b1^t), sqrt_bc2 = √(1 − b2^t). Each step
/// is one rounded IEEE operation (never fused), so every instruction set and every split gives the
/// same bits. zero_g: set each g to 0 once read. Cost: one pass over four arrays (memory-bound).
void mk_adam(float *p, float *g, float *m, float *v, long n, float step_size, float b1, float b2, float c1,
             float c2, float sqrt_bc2, float eps, int zero_g);

#endif
