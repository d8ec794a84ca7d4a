// Row softmax and log-softmax (mk_softmax_rows, mk_log_softmax_rows) on the vectorised e^x of
// mk_internal.h.
#include "mk_internal.h"

static void softmax_generic(const float *x, float *y, int rows, int cols, float *logz, int log_form) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        float m = -__builtin_inff();
        for (int j = 0; j < cols; j++) if (xr[j] > m) m = xr[j];
        float lanes[16] = {0};
        for (int j = 0; j < cols; j++) {
            float e = exp_scalar(xr[j] - m);
            if (!log_form) yr[j] = e;
            lanes[j & 15] += e;
        }
        float s = mk_sum16(lanes);
        float ls = __builtin_logf(s);
        if (log_form) {
            for (int j = 0; j < cols; j++) yr[j] = (xr[j] - m) - ls;
        } else {
            float inv = 1.0f / s;
            for (int j = 0; j < cols; j++) yr[j] *= inv;
            if (logz) logz[r] = m + ls;
        }
    }
}

#ifdef MK_X86
__attribute__((target("avx512f"))) static void softmax512(const float *x, float *y, int rows, int cols, float *logz, int log_form) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        int full = cols & ~15;
        __mmask16 tail = (__mmask16)((1u << (cols - full)) - 1u);
        __m512 mv = _mm512_set1_ps(-__builtin_inff());
        for (int j = 0; j < full; j += 16) mv = _mm512_max_ps(mv, _mm512_loadu_ps(xr + j));
        if (tail) mv = _mm512_mask_max_ps(mv, tail, mv, _mm512_maskz_loadu_ps(tail, xr + full));
        float m = _mm512_reduce_max_ps(mv);
        __m512 mb = _mm512_set1_ps(m);
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < full; j += 16) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(xr + j), mb));
            if (!log_form) _mm512_storeu_ps(yr + j, e);
            acc = _mm512_add_ps(acc, e);
        }
        if (tail) {
            __m512 e = _mm512_maskz_mov_ps(tail, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, xr + full), mb)));
            if (!log_form) _mm512_mask_storeu_ps(yr + full, tail, e);
            acc = _mm512_add_ps(acc, e);
        }
        float lanes[16];
        _mm512_storeu_ps(lanes, acc);
        float s = mk_sum16(lanes);
        float ls = __builtin_logf(s);
        if (log_form) {
            __m512 sh = _mm512_set1_ps(ls);
            for (int j = 0; j < full; j += 16)
                _mm512_storeu_ps(yr + j, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + j), mb), sh));
            if (tail)
                _mm512_mask_storeu_ps(yr + full, tail, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, xr + full), mb), sh));
        } else {
            __m512 inv = _mm512_set1_ps(1.0f / s);
            for (int j = 0; j < full; j += 16) _mm512_storeu_ps(yr + j, _mm512_mul_ps(_mm512_loadu_ps(yr + j), inv));
            if (tail) _mm512_mask_storeu_ps(yr + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, yr + full), inv));
            if (logz) logz[r] = m + ls;
        }
    }
}

__attribute__((target("avx2,fma"))) static void softmax256(const float *x, float *y, int rows, int cols, float *logz, int log_form) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        int full = cols & ~7;
        __m256 mv = _mm256_set1_ps(-__builtin_inff());
        for (int j = 0; j < full; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(xr + j));
        float lanes[8];
        _mm256_storeu_ps(lanes, mv);
        float m = lanes[0];
        for (int l = 1; l < 8; l++) if (lanes[l] > m) m = lanes[l];
        for (int j = full; j < cols; j++) if (xr[j] > m) m = xr[j];
        __m256 mb = _mm256_set1_ps(m);
        // The 16 lanes of the sum (mk_sum16) in two registers: lanes 0–7 and 8–15.
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int j = 0; j < full; j += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(xr + j), mb));
            if (!log_form) _mm256_storeu_ps(yr + j, e);
            acc[(j >> 3) & 1] = _mm256_add_ps(acc[(j >> 3) & 1], e);
        }
        float sum_lanes[16];
        _mm256_storeu_ps(sum_lanes, acc[0]);
        _mm256_storeu_ps(sum_lanes + 8, acc[1]);
        for (int j = full; j < cols; j++) {
            float e = exp_scalar(xr[j] - m);
            if (!log_form) yr[j] = e;
            sum_lanes[j & 15] += e;
        }
        float s = mk_sum16(sum_lanes);
        float ls = __builtin_logf(s);
        if (log_form) {
            __m256 sh = _mm256_set1_ps(ls);
            for (int j = 0; j < full; j += 8)
                _mm256_storeu_ps(yr + j, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), mb), sh));
            for (int j = full; j < cols; j++) yr[j] = (xr[j] - m) - ls;
        } else {
            float inv = 1.0f / s;
            __m256 iv = _mm256_set1_ps(inv);
            for (int j = 0; j < full; j += 8) _mm256_storeu_ps(yr + j, _mm256_mul_ps(_mm256_loadu_ps(yr + j), iv));
            for (int j = full; j < cols; j++) yr[j] *= inv;
            if (logz) logz[r] = m + ls;
        }
    }
}
#endif

static void softmax_dispatch(const float *x, float *y, int rows, int cols, float *logz, int log_form) {
    if (rows <= 0 || cols <= 0) return;
#ifdef MK_X86
    int isa = mk_isa();
    if (isa == 2) { softmax512(x, y, rows, cols, logz, log_form); return; }
    if (isa == 1) { softmax256(x, y, rows, cols, logz, log_form); return; }
#endif
    softmax_generic(x, y, rows, cols, logz, log_form);
}

void mk_softmax_rows(float *x, int rows, int cols, float *logz) { softmax_dispatch(x, x, rows, cols, logz, 0); }

void mk_log_softmax_rows(const float *x, float *y, int rows, int cols) { softmax_dispatch(x, y, rows, cols, 0, 1); }
