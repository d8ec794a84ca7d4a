// The row argmax of the decoders (mk_argmax): lowest index on ties, NaN never chosen.
#include "mk_internal.h"

static int first_equal(const float *x, int n, float m) {
    for (int j = 0; j < n; j++) if (x[j] == m) return j;
    return 0;
}

#ifdef MK_X86
__attribute__((target("avx512f"))) static float max512(const float *x, int n) {
    __m512 mv = _mm512_set1_ps(-__builtin_inff());
    int full = n & ~15;
    // max(mv, x) returns x when either is NaN: take max(x, mv) so a NaN never enters mv.
    for (int j = 0; j < full; j += 16) mv = _mm512_max_ps(_mm512_loadu_ps(x + j), mv);
    float m = _mm512_reduce_max_ps(mv);
    for (int j = full; j < n; j++) if (x[j] > m) m = x[j];
    return m;
}
#endif

int mk_argmax(const float *x, int n) {
    if (n <= 0) return 0;
    float m = -__builtin_inff();
#ifdef MK_X86
    if (mk_isa() == 2) {
        m = max512(x, n);
    } else
#endif
    {
        for (int j = 0; j < n; j++) if (x[j] > m) m = x[j];
    }
    if (!(m > -__builtin_inff())) return 0;
    return first_equal(x, n, m);
}
