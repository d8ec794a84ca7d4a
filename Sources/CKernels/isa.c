// Which instruction set the kernels use: AVX-512, AVX2+FMA or portable C, read from the CPU once
// (mk_isa, mk_set_max_isa in include/ckernels.h), capped by the environment's MIXER_KERNEL.
#include "mk_internal.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

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

/// The cap that the environment's MIXER_KERNEL sets ("portable", "avx2", "avx512"; any other
/// value or none: no cap, and any other non-empty value is warned about on standard error, once
/// per process, so that a typo such as "avx" is not mistaken for a cap). For benchmarks that
/// measure a narrower path on a wider CPU; the results are the same bits on every path.
static int env_cap(void) {
    const char *v = getenv("MIXER_KERNEL");
    if (!v) return 2;
    if (strcmp(v, "portable") == 0) return 0;
    if (strcmp(v, "avx2") == 0) return 1;
    if (v[0] != 0 && strcmp(v, "avx512") != 0)
        fprintf(stderr, "warning: MIXER_KERNEL=%s is not portable, avx2 or avx512; no cap applied\n", v);
    return 2;
}

int mk_isa(void) {
    if (isa_level < 0) {
        int cpu = cpu_isa(), cap = env_cap();
        isa_level = cap < cpu ? cap : cpu;
    }
    return isa_level;
}

int mk_set_max_isa(int isa) {
    int cpu = cpu_isa();
    isa_level = isa < cpu ? (isa < 0 ? 0 : isa) : cpu;
    return isa_level;
}
