#ifndef MIXER_MK_ARGMAX_H
#define MIXER_MK_ARGMAX_H

#include <stddef.h>

/// The index of the largest of x[0..<n] (the lowest such index on ties); NaN entries are never
/// chosen; 0 when n ≤ 0 or no entry exceeds −∞. Cost: one pass, plus a scan to the first maximum.
int mk_argmax(const float *x, int n);

#endif
