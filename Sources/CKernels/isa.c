// Which instruction set the kernels use: AVX-512, AVX2+FMA or portable C, read from the CPU once
// (mk_isa, mk_set_max_isa in include/ckernels.h).
#include "mk_internal.h"

#ifdef MK_X86
static int cpu_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}
#else
static int cpu_isa(void) { return 0; }
#endif

static int isa_level = -1;

int mk_isa(void) {
    if (isa_level < 0) isa_level = cpu_isa();
    return isa_level;
}

int mk_set_max_isa(int isa) {
    int cpu = cpu_isa();
    isa_level = isa < cpu ? (isa < 0 ? 0 : isa) : cpu;
    return isa_level;
}
