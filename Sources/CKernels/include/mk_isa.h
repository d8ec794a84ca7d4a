#ifndef MIXER_MK_ISA_H
#define MIXER_MK_ISA_H

#include <stddef.h>

/// The instruction set mk_gemm_packed uses: 0 portable C, 1 AVX2+FMA, 2 AVX-512: the best the
/// CPU has, capped by the environment variable MIXER_KERNEL (portable, avx2 or avx512) when set.
int mk_isa(void);

/// Caps the instruction set at `isa` (for tests: every path must agree); returns the level in
/// effect. A level the CPU lacks is never used.
int mk_set_max_isa(int isa);

#endif
