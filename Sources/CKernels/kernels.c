// mixer's numeric kernels (see include/ckernels.h): GEMM on packed 32-column panels (general, and
// on weights packed once), GEMV, softmax / log-softmax, the LSTM cell, tanh and argmax, each in
// AVX-512, AVX2+FMA and portable C, chosen from the CPU at run time.
#include "ckernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>


#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define MK_X86 1
#include <immintrin.h>
#endif

size_t mk_packed_count(int n, int k) {
    size_t panels = ((size_t)n + MK_PANEL - 1) / MK_PANEL;
    return panels * (size_t)k * MK_PANEL;
}

// Writes a tile held in tmp [mr, 32] into C (ncols ≤ 32 columns): C = alpha·tmp + beta·C.
static void store_tile(int mr, int ncols, const float *tmp, float alpha, float beta, float *c, int ldc) {
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        const float *t = tmp + r * MK_PANEL;
        if (beta == 0) {
            for (int j = 0; j < ncols; j++) cr[j] = alpha * t[j];
        } else {
            for (int j = 0; j < ncols; j++) cr[j] = alpha * t[j] + beta * cr[j];
        }
    }
}

// Element (r, kk) of the A operand of a tile: A stored [m, k] (row variant, "_r") or stored
// [k, m] and read transposed (column variant, "_c": the 12 values of one kk are adjacent).
#define MK_A_R(r, kk) a[(size_t)(r) * lda + (kk)]
#define MK_A_C(r, kk) a[(size_t)(kk) * lda + (r)]

// Portable C: rows four at a time, 32 accumulators each (the compiler vectorises the jj loop).
static void tile_generic(int ta, int mr, int k, const float *a, int lda, const float *bp, int ldb, float alpha,
                         float beta, float *c, int ldc, int ncols) {
    float tmp[MK_PANEL * 4];
    for (int r0 = 0; r0 < mr; r0 += 4) {
        int rows = mr - r0 < 4 ? mr - r0 : 4;
        memset(tmp, 0, sizeof tmp);
        for (int kk = 0; kk < k; kk++) {
            const float *b = bp + (size_t)kk * ldb;
            for (int r = 0; r < rows; r++) {
                float x = ta ? MK_A_C(r0 + r, kk) : MK_A_R(r0 + r, kk);
                float *t = tmp + r * MK_PANEL;
                for (int jj = 0; jj < MK_PANEL; jj++) t[jj] += x * b[jj];
            }
        }
        store_tile(rows, ncols, tmp, alpha, beta, c + (size_t)r0 * ldc, ldc);
    }
}

typedef void (*tile_fn)(int, const float *, int, const float *, int, float, float, float *, int, int);

#ifdef MK_X86
// AVX-512: MR rows × 32 columns in 2·MR zmm accumulators; per k two loads of the B panel and MR
// broadcasts of A feed 2·MR FMAs. Every row is summed in the same order whatever MR is, so a
// row's result never depends on the rows beside it.
#define MK_AVX512_TILE(MR, V, AX)                                                                   \
    __attribute__((target("avx512f"))) static void tile512_##V##MR(                                 \
        int k, const float *a, int lda, const float *bp, int ldb, float alpha, float beta, float *c, int ldc, \
        int ncols) {                                                                                \
        __m512 acc0[MR], acc1[MR];                                                                  \
        for (int r = 0; r < MR; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); } \
        if (beta != 0) /* C is read at the end: fetch it while the tile computes */                 \
            for (int r = 0; r < MR; r++) {                                                          \
                _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);                     \
                _mm_prefetch((const char *)(c + (size_t)r * ldc + 16), _MM_HINT_T0);                \
            }                                                                                       \
        for (int kk = 0; kk < k; kk++) {                                                            \
            __m512 b0 = _mm512_loadu_ps(bp + (size_t)kk * ldb);                                     \
            __m512 b1 = _mm512_loadu_ps(bp + (size_t)kk * ldb + 16);                                \
            for (int r = 0; r < MR; r++) {                                                          \
                __m512 x = _mm512_set1_ps(AX(r, kk));                                               \
                acc0[r] = _mm512_fmadd_ps(x, b0, acc0[r]);                                          \
                acc1[r] = _mm512_fmadd_ps(x, b1, acc1[r]);                                          \
            }                                                                                       \
        }                                                                                           \
        if (alpha != 1) {                                                                           \
            __m512 av = _mm512_set1_ps(alpha);                                                      \
            for (int r = 0; r < MR; r++) { acc0[r] = _mm512_mul_ps(av, acc0[r]); acc1[r] = _mm512_mul_ps(av, acc1[r]); } \
        }                                                                                           \
        if (ncols == 32) {                                                                          \
            for (int r = 0; r < MR; r++) {                                                          \
                float *cr = c + (size_t)r * ldc;                                                    \
                if (beta != 0) {                                                                    \
                    __m512 bv = _mm512_set1_ps(beta);                                               \
                    acc0[r] = _mm512_fmadd_ps(bv, _mm512_loadu_ps(cr), acc0[r]);                    \
                    acc1[r] = _mm512_fmadd_ps(bv, _mm512_loadu_ps(cr + 16), acc1[r]);               \
                }                                                                                   \
                _mm512_storeu_ps(cr, acc0[r]);                                                      \
                _mm512_storeu_ps(cr + 16, acc1[r]);                                                 \
            }                                                                                       \
        } else {                                                                                    \
            float tmp[MR * 32];                                                                     \
            for (int r = 0; r < MR; r++) {                                                          \
                _mm512_storeu_ps(tmp + r * 32, acc0[r]);                                            \
                _mm512_storeu_ps(tmp + r * 32 + 16, acc1[r]);                                       \
            }                                                                                       \
            store_tile(MR, ncols, tmp, 1, beta, c, ldc);                                            \
        }                                                                                           \
    }

#define MK_AVX512_TILES(V, AX)                                                                      \
    MK_AVX512_TILE(1, V, AX) MK_AVX512_TILE(2, V, AX) MK_AVX512_TILE(3, V, AX) MK_AVX512_TILE(4, V, AX) \
    MK_AVX512_TILE(5, V, AX) MK_AVX512_TILE(6, V, AX) MK_AVX512_TILE(7, V, AX) MK_AVX512_TILE(8, V, AX) \
    MK_AVX512_TILE(9, V, AX) MK_AVX512_TILE(10, V, AX) MK_AVX512_TILE(11, V, AX) MK_AVX512_TILE(12, V, AX)
MK_AVX512_TILES(r, MK_A_R)
MK_AVX512_TILES(c, MK_A_C)

static const tile_fn tiles512[2][13] = {
    {0, tile512_r1, tile512_r2, tile512_r3, tile512_r4, tile512_r5, tile512_r6, tile512_r7, tile512_r8,
     tile512_r9, tile512_r10, tile512_r11, tile512_r12},
    {0, tile512_c1, tile512_c2, tile512_c3, tile512_c4, tile512_c5, tile512_c6, tile512_c7, tile512_c8,
     tile512_c9, tile512_c10, tile512_c11, tile512_c12}};

// One row of A against four whole panels at once (128 columns in 8 accumulators). With the
// 1-row tile a product with m = 1 (batch-1 decoding) waits on one FMA chain per 16 columns and
// cannot stream the weight at the cache's rate; four panels keep eight chains in flight. Each
// column is summed in the same order as by the tiles (so results do not depend on m).
__attribute__((target("avx512f"))) static void row512_x4(int k, const float *a, const float *bp, size_t pstride,
                                                       float beta, float *c) {
    __m512 acc[8];
    for (int q = 0; q < 8; q++) acc[q] = _mm512_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m512 x = _mm512_set1_ps(a[kk]);
        for (int q = 0; q < 4; q++) {
            const float *b = bp + q * pstride + (size_t)kk * 32;
            acc[2 * q] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b), acc[2 * q]);
            acc[2 * q + 1] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 16), acc[2 * q + 1]);
        }
    }
    for (int q = 0; q < 8; q++) {
        if (beta != 0) acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(c + 16 * q), acc[q]);
        _mm512_storeu_ps(c + 16 * q, acc[q]);
    }
}

// AVX2+FMA: MR rows × 32 columns in 4·MR ymm accumulators (MR ≤ 3 keeps 16 registers busy).
#define MK_AVX2_TILE(MR, V, AX)                                                                     \
    __attribute__((target("avx2,fma"))) static void tile256_##V##MR(                                \
        int k, const float *a, int lda, const float *bp, int ldb, float alpha, float beta, float *c, int ldc, \
        int ncols) {                                                                                \
        __m256 acc[MR][4];                                                                          \
        for (int r = 0; r < MR; r++)                                                                \
            for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_ps();                           \
        for (int kk = 0; kk < k; kk++) {                                                            \
            const float *b = bp + (size_t)kk * ldb;                                                 \
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);                            \
            __m256 b2 = _mm256_loadu_ps(b + 16), b3 = _mm256_loadu_ps(b + 24);                      \
            for (int r = 0; r < MR; r++) {                                                          \
                __m256 x = _mm256_set1_ps(AX(r, kk));                                               \
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);                                      \
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);                                      \
                acc[r][2] = _mm256_fmadd_ps(x, b2, acc[r][2]);                                      \
                acc[r][3] = _mm256_fmadd_ps(x, b3, acc[r][3]);                                      \
            }                                                                                       \
        }                                                                                           \
        float tmp[MR * 32];                                                                         \
        for (int r = 0; r < MR; r++)                                                                \
            for (int q = 0; q < 4; q++) _mm256_storeu_ps(tmp + r * 32 + q * 8, acc[r][q]);         \
        store_tile(MR, ncols, tmp, alpha, beta, c, ldc);                                            \
    }

MK_AVX2_TILE(1, r, MK_A_R) MK_AVX2_TILE(2, r, MK_A_R) MK_AVX2_TILE(3, r, MK_A_R)
MK_AVX2_TILE(1, c, MK_A_C) MK_AVX2_TILE(2, c, MK_A_C) MK_AVX2_TILE(3, c, MK_A_C)
static const tile_fn tiles256[2][4] = {{0, tile256_r1, tile256_r2, tile256_r3}, {0, tile256_c1, tile256_c2, tile256_c3}};

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

// All rows of C against one packed panel bp [k, 32] (columns j0 ..< j0 + ncols of C). A is read
// by rows (ta = 0: A [m, k], leading dimension lda) or from mk_pack_a's tiles (ta = 1: tile t of
// 12 rows at a + t·tile_stride, element (r, kk) at [kk·12 + r]).
static void panel_rows(int isa, int ta, int m, int k, const float *a, int lda, size_t tile_stride,
                       const float *bp, int ldb, float alpha, float beta, float *c, int ldc, int ncols) {
    for (int r0 = 0; r0 < m; r0 += MK_TILE_ROWS) {
        int rows = m - r0 < MK_TILE_ROWS ? m - r0 : MK_TILE_ROWS;
        // ta = 1 with tile_stride 0: A [k, m] read in place (element (r, kk) at a[kk·lda + r]).
        const float *at = ta ? (tile_stride ? a + (size_t)(r0 / MK_TILE_ROWS) * tile_stride : a + r0)
                             : a + (size_t)r0 * lda;
        int la = ta && tile_stride ? MK_TILE_ROWS : lda;
        float *ct = c + (size_t)r0 * ldc;
#ifdef MK_X86
        if (isa == 2) {
            tiles512[ta][rows](k, at, la, bp, ldb, alpha, beta, ct, ldc, ncols);
            continue;
        }
        if (isa == 1) {
            for (int r = 0; r < rows; r += 3) {
                int mr = rows - r < 3 ? rows - r : 3;
                tiles256[ta][mr](k, ta ? at + r : at + (size_t)r * la, la, bp, ldb, alpha, beta, ct + (size_t)r * ldc, ldc, ncols);
            }
            continue;
        }
#endif
        (void)isa;
        tile_generic(ta, rows, k, at, la, bp, ldb, alpha, beta, ct, ldc, ncols);
    }
}

#ifdef MK_X86
// Whole tiles t0 ..< t1 (12 columns of A each) for rows kk of k in fours, row block by row block:
// four rows of A are read across (contiguous, unlike a tile's column of 12-float pieces 4·lda
// bytes apart, which a power-of-two lda maps onto a few cache sets), and each tile gets 48 floats,
// three whole vectors put together by two-source permutes (no masked stores). Returns the rows
// of k done (a multiple of 4).
__attribute__((target("avx512f"))) static int pack_a_tiles512(const float *a, int lda, int k, float *dst, int t0,
                                                              int t1) {
    const __m512i i0 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19);
    const __m512i i1 = _mm512_setr_epi32(4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i i2 = _mm512_setr_epi32(8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27);
    const __mmask16 twelve = 0x0FFF;
    int kk = 0;
    for (; kk + 4 <= k; kk += 4) {
        const float *src = a + (size_t)kk * lda;
        for (int t = t0; t < t1; t++) {
            const float *s = src + t * MK_TILE_ROWS;
            __m512 r0 = _mm512_maskz_loadu_ps(twelve, s), r1 = _mm512_maskz_loadu_ps(twelve, s + lda);
            __m512 r2 = _mm512_maskz_loadu_ps(twelve, s + 2 * (size_t)lda);
            __m512 r3 = _mm512_maskz_loadu_ps(twelve, s + 3 * (size_t)lda);
            float *dk = dst + (size_t)t * k * MK_TILE_ROWS + (size_t)kk * MK_TILE_ROWS;
            _mm512_storeu_ps(dk, _mm512_permutex2var_ps(r0, i0, r1));
            _mm512_storeu_ps(dk + 16, _mm512_permutex2var_ps(r1, i1, r2));
            _mm512_storeu_ps(dk + 32, _mm512_permutex2var_ps(r2, i2, r3));
        }
    }
    return kk;
}
#endif

size_t mk_packed_a_count(int m, int k) {
    return ((size_t)m + MK_TILE_ROWS - 1) / MK_TILE_ROWS * MK_TILE_ROWS * (size_t)k;
}

void mk_pack_a(const float *a, int lda, int m, int k, float *dst, int tile_begin, int tile_end) {
    int tiles = (m + MK_TILE_ROWS - 1) / MK_TILE_ROWS;
    if (tile_end > tiles) tile_end = tiles;
    int whole_end = m / MK_TILE_ROWS < tile_end ? m / MK_TILE_ROWS : tile_end;  // tiles of 12 real rows
    int k_done = 0;
#ifdef MK_X86
    if (mk_isa() == 2 && tile_begin < whole_end) k_done = pack_a_tiles512(a, lda, k, dst, tile_begin, whole_end);
#endif
    // The rest one element at a time, tile by tile: rows of k the vector path left, and a last
    // partial tile (zero past m).
    for (int t = tile_begin; t < tile_end; t++) {
        int i0 = t * MK_TILE_ROWS, rows = m - i0 < MK_TILE_ROWS ? m - i0 : MK_TILE_ROWS;
        float *d = dst + (size_t)t * k * MK_TILE_ROWS;
        for (int kk = t < whole_end ? k_done : 0; kk < k; kk++) {
            const float *src = a + (size_t)kk * lda + i0;
            float *dk = d + (size_t)kk * MK_TILE_ROWS;
            for (int r = 0; r < MK_TILE_ROWS; r++) dk[r] = r < rows ? src[r] : 0;
        }
    }
}

// C *= beta over the columns of panels panel_begin ..< panel_end (the product with k = 0).
static void scale_panels(int m, int n, float beta, float *c, int ldc, int panel_begin, int panel_end) {
    for (int p = panel_begin; p < panel_end; p++) {
        int j0 = p * MK_PANEL, ncols = n - j0 < MK_PANEL ? n - j0 : MK_PANEL;
        for (int r = 0; r < m; r++)
            for (int j = 0; j < ncols; j++) c[(size_t)r * ldc + j0 + j] = beta == 0 ? 0 : c[(size_t)r * ldc + j0 + j] * beta;
    }
}

void mk_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed, float beta,
                    float *c, int ldc, int panel_begin, int panel_end) {
    if (m <= 0 || n <= 0) return;
    int panels = (n + MK_PANEL - 1) / MK_PANEL;
    if (panel_end > panels) panel_end = panels;
    if (k <= 0) { scale_panels(m, n, beta, c, ldc, panel_begin, panel_end); return; }
    int isa = mk_isa();
    // k in chunks of MK_KC added into C in order, exactly as mk_gemm sums: the same product
    // gives the same bits through either.
    for (int k0 = 0; k0 < k; k0 += MK_KC) {
        int kc = k - k0 < MK_KC ? k - k0 : MK_KC;
        float bk = k0 == 0 ? beta : 1;
        const float *ak = a + k0;
        int p = panel_begin;
#ifdef MK_X86
        if (isa == 2 && m == 1) {
            for (; p + 4 <= panel_end && (p + 4) * MK_PANEL <= n; p += 4)
                row512_x4(kc, ak, packed + ((size_t)p * k + k0) * MK_PANEL, (size_t)k * MK_PANEL, bk, c + p * MK_PANEL);
        }
#endif
        for (; p < panel_end; p++) {
            int j0 = p * MK_PANEL, ncols = n - j0 < MK_PANEL ? n - j0 : MK_PANEL;
            panel_rows(isa, 0, m, kc, ak, lda, 0, packed + ((size_t)p * k + k0) * MK_PANEL, MK_PANEL, 1, bk, c + j0, ldc,
                       ncols);
        }
    }
}

#ifdef MK_X86
// r[q] becomes column q of the 16 × 16 block held in r (unpack, shuffle within 128-bit lanes,
// then two rounds of lane shuffles).
__attribute__((target("avx512f"))) static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
}

// A whole panel of a transposed B: src holds 32 rows (stride ldb) of kc floats; dst [kc, 32].
// 16 × 16 blocks are transposed in registers (the scalar copy would cost a load and a store
// per element); the last kc mod 16 rows of k are copied one by one.
__attribute__((target("avx512f"))) static void pack_transposed512(const float *src, int ldb, int kc, float *dst) {
    int kk = 0;
    for (; kk + 16 <= kc; kk += 16) {
        for (int half = 0; half < 2; half++) {
            __m512 r[16];
            for (int q = 0; q < 16; q++) r[q] = _mm512_loadu_ps(src + (size_t)(16 * half + q) * ldb + kk);
            transpose16(r);
            for (int q = 0; q < 16; q++) _mm512_storeu_ps(dst + (size_t)(kk + q) * MK_PANEL + 16 * half, r[q]);
        }
    }
    for (; kk < kc; kk++)
        for (int jj = 0; jj < MK_PANEL; jj++) dst[(size_t)kk * MK_PANEL + jj] = src[(size_t)jj * ldb + kk];
}
#endif

// Packs rows k0 ..< k0 + kc of panel p of op(B) [k, n] into dst [kc, 32] (zero past column n):
// B stored [n, k] when trans_b (op(B) = Bᵀ: a gather of 32 rows), else [k, n] (32-float copies).
static void pack_panel(int trans_b, const float *b, int ldb, int n, int p, int k0, int kc, float *dst) {
    int j0 = p * MK_PANEL, cols = n - j0 < MK_PANEL ? n - j0 : MK_PANEL;
#ifdef MK_X86
    if (trans_b && cols == MK_PANEL && mk_isa() == 2) {
        pack_transposed512(b + (size_t)j0 * ldb + k0, ldb, kc, dst);
        return;
    }
#endif
    if (trans_b) {
        if (cols < MK_PANEL) memset(dst, 0, sizeof(float) * (size_t)kc * MK_PANEL);
        for (int jj = 0; jj < cols; jj++) {
            const float *src = b + (size_t)(j0 + jj) * ldb + k0;
            for (int kk = 0; kk < kc; kk++) dst[(size_t)kk * MK_PANEL + jj] = src[kk];
        }
    } else {
        for (int kk = 0; kk < kc; kk++) {
            float *d = dst + (size_t)kk * MK_PANEL;
            memcpy(d, b + (size_t)(k0 + kk) * ldb + j0, sizeof(float) * (size_t)cols);
            if (cols < MK_PANEL) memset(d + cols, 0, sizeof(float) * (size_t)(MK_PANEL - cols));
        }
    }
}

// The weight packings of PackedMatrix are mk_gemm's panel packing applied to every panel (the
// whole k at once): one copy routine, with the AVX-512 transposes for W.
void mk_pack(const float *w, int n, int k, int ldw, float *packed) {
    int panels = (n + MK_PANEL - 1) / MK_PANEL;
    for (int p = 0; p < panels; p++) pack_panel(1, w, ldw, n, p, 0, k, packed + (size_t)p * k * MK_PANEL);
}

void mk_pack_transposed(const float *m, int n, int k, int ldm, float *packed) {
    int panels = (n + MK_PANEL - 1) / MK_PANEL;
    for (int p = 0; p < panels; p++) pack_panel(0, m, ldm, n, p, 0, k, packed + (size_t)p * k * MK_PANEL);
}

// The calling thread's panel buffer (MK_KC × 32 floats), allocated on its first product and freed
// when the thread exits: a product then never allocates (a 64 KiB malloc and free per call can
// make glibc trim and regrow its heap, a system call and page faults each time).
static pthread_key_t panel_key;
static pthread_once_t panel_key_once = PTHREAD_ONCE_INIT;
static void make_panel_key(void) { pthread_key_create(&panel_key, free); }

static float *thread_panel_buffer(void) {
    pthread_once(&panel_key_once, make_panel_key);
    float *p = pthread_getspecific(panel_key);
    if (!p) {
        p = malloc(sizeof(float) * MK_KC * MK_PANEL);
        if (p) pthread_setspecific(panel_key, p);
    }
    return p;
}

void mk_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc, int panel_begin, int panel_end,
             float *panel_buffer) {
    if (m <= 0 || n <= 0) return;
    if (!panel_buffer) panel_buffer = thread_panel_buffer();
    if (!panel_buffer) abort();  // out of memory for 64 KiB
    int panels = (n + MK_PANEL - 1) / MK_PANEL;
    if (panel_end > panels) panel_end = panels;
    if (k <= 0) { scale_panels(m, n, beta, c, ldc, panel_begin, panel_end); return; }
    int isa = mk_isa(), ta = trans_a ? 1 : 0, in_place_a = trans_a == 2;
    // Blocks: k in chunks of MK_KC (a panel chunk, ≤ 64 KiB, stays in L1/L2 while every tile of
    // rows runs over it), rows in blocks of about 1 MiB of A per chunk (kept in L2 while the
    // thread's panels go by), 128 KiB for a transposed A (measured on Zen 5: a weight gradient
    // dW = dYᵀ·X with k = 160 runs at 166 instead of 140 GFLOP/s, with k = 480 at 203 instead of
    // 176; row-major A is slower with the small blocks). The chunks are added into C in order,
    // so every element is summed in an order that depends on k alone.
    int kc_max = k < MK_KC ? k : MK_KC;
    int mc = ((ta ? 32768 : 262144) / kc_max) / MK_TILE_ROWS * MK_TILE_ROWS;
    if (mc < MK_TILE_ROWS) mc = MK_TILE_ROWS;
    for (int k0 = 0; k0 < k; k0 += MK_KC) {
        int kc = k - k0 < MK_KC ? k - k0 : MK_KC;
        for (int m0 = 0; m0 < m; m0 += mc) {
            int mb = m - m0 < mc ? m - m0 : mc;
            const float *ab = in_place_a ? a + (size_t)k0 * lda + m0
                              : ta ? a + (size_t)(m0 / MK_TILE_ROWS) * k * MK_TILE_ROWS + (size_t)k0 * MK_TILE_ROWS
                                   : a + (size_t)m0 * lda + k0;
            for (int p = panel_begin; p < panel_end; p++) {
                int j0 = p * MK_PANEL, ncols = n - j0 < MK_PANEL ? n - j0 : MK_PANEL;
                // A whole panel of an untransposed B is read in place (32 adjacent floats per row of k);
                // otherwise it is copied into the packed layout first.
                const float *bp = b + (size_t)k0 * ldb + j0;
                int lb = ldb;
                if (trans_b || ncols < MK_PANEL) {
                    pack_panel(trans_b, b, ldb, n, p, k0, kc, panel_buffer);
                    bp = panel_buffer;
                    lb = MK_PANEL;
                }
                panel_rows(isa, ta, mb, kc, ab, lda, in_place_a ? 0 : (size_t)k * MK_TILE_ROWS, bp, lb, alpha, k0 == 0 ? beta : 1,
                           c + (size_t)m0 * ldc + j0, ldc, ncols);
            }
        }
    }
}

// ---- Matrix-vector products (the attention's scores and contexts) ---------------------------
// y = A·x: one dot product per row, in 16 (AVX-512), 8 (AVX2) or 8 (portable) lanes summed at the
// end; y = Aᵀ·x: y += x_i · row i for each row in turn (no reduction). Each output's order of
// summation depends only on the row length and the instruction set, never on m.

static float dot_generic(const float *a, const float *x, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) acc[q] += a[j + q] * x[j + q];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++) s += a[j] * x[j];
    return s;
}

static void axpy_generic(float alpha, const float *a, float *y, int n) {
    for (int j = 0; j < n; j++) y[j] += alpha * a[j];
}

#ifdef MK_X86
__attribute__((target("avx512f"))) static float dot512(const float *a, const float *x, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(x + j), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(x + j + 16), s1);
    }
    if (j + 16 <= n) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(x + j), s0);
        j += 16;
    }
    if (j < n) {
        __mmask16 mask = (__mmask16)((1u << (n - j)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, x + j), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) static void axpy512(float alpha, const float *a, float *y, int n) {
    __m512 av = _mm512_set1_ps(alpha);
    int j = 0;
    for (; j + 16 <= n; j += 16) _mm512_storeu_ps(y + j, _mm512_fmadd_ps(av, _mm512_loadu_ps(a + j), _mm512_loadu_ps(y + j)));
    if (j < n) {
        __mmask16 mask = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(y + j, mask, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, a + j), _mm512_maskz_loadu_ps(mask, y + j)));
    }
}

__attribute__((target("avx2,fma"))) static float dot256(const float *a, const float *x, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(x + j), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(x + j + 8), s1);
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(s0, s1));
    float s = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
    for (; j < n; j++) s += a[j] * x[j];
    return s;
}

__attribute__((target("avx2,fma"))) static void axpy256(float alpha, const float *a, float *y, int n) {
    __m256 av = _mm256_set1_ps(alpha);
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(a + j), _mm256_loadu_ps(y + j)));
    for (; j < n; j++) y[j] += alpha * a[j];
}
#endif

void mk_gemv(int trans, int m, int n, const float *a, int lda, const float *x, float beta, float *y) {
    if (m <= 0 || n <= 0) return;
    int isa = mk_isa();
    float (*dot)(const float *, const float *, int) = dot_generic;
    void (*axpy)(float, const float *, float *, int) = axpy_generic;
#ifdef MK_X86
    if (isa == 2) { dot = dot512; axpy = axpy512; }
    else if (isa == 1) { dot = dot256; axpy = axpy256; }
#endif
    (void)isa;
    if (!trans) {
        for (int i = 0; i < m; i++) {
            float d = dot(a + (size_t)i * lda, x, n);
            y[i] = beta == 0 ? d : d + beta * y[i];
        }
    } else {
        if (beta == 0) memset(y, 0, sizeof(float) * (size_t)n);
        else if (beta != 1) for (int j = 0; j < n; j++) y[j] *= beta;
        for (int i = 0; i < m; i++) axpy(x[i], a + (size_t)i * lda, y, n);
    }
}

void mk_axpy(float alpha, const float *x, float *y, int n) {
    if (n <= 0) return;
#ifdef MK_X86
    if (mk_isa() == 2) { axpy512(alpha, x, y, n); return; }
    if (mk_isa() == 1) { axpy256(alpha, x, y, n); return; }
#endif
    axpy_generic(alpha, x, y, n);
}

// ---- Row softmax / log-softmax with a vectorised exp ------------------------------------------
// e^x (softmax arguments are x − max ≤ 0; σ and tanh pass any sign): Cody–Waite x = n·ln2 + r, Cephes expf's polynomial for
// e^r, then 2^n; 0 below −86.6 (e^x < 2.4e-38), capped at e^88.7 (no infinity).
#define MK_EXP_LO (-86.6f)
#define MK_EXP_HI 88.72283f
#define MK_LOG2E 1.44269504f
#define MK_LN2_HI 0.693359375f
#define MK_LN2_LO (-2.12194440e-4f)
#define MK_P0 1.9875691500e-4f
#define MK_P1 1.3981999507e-3f
#define MK_P2 8.3334519073e-3f
#define MK_P3 4.1665795894e-2f
#define MK_P4 1.6666665459e-1f
#define MK_P5 5.0000001201e-1f

static float exp_scalar(float x) {
    if (x != x) return x;  // NaN propagates (a diverged model must show as one)
    if (x < MK_EXP_LO) return 0.0f;
    if (x > MK_EXP_HI) x = MK_EXP_HI;
    float n = __builtin_roundf(x * MK_LOG2E);
    float r = x - n * MK_LN2_HI;
    r = r - n * MK_LN2_LO;
    float p = MK_P0;
    p = p * r + MK_P1; p = p * r + MK_P2; p = p * r + MK_P3; p = p * r + MK_P4; p = p * r + MK_P5;
    p = p * (r * r) + r + 1.0f;
    return __builtin_ldexpf(p, (int)n);
}

static void softmax_generic(const float *x, float *y, int rows, int cols, float *logz, int log_form) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        float m = -__builtin_inff();
        for (int j = 0; j < cols; j++) if (xr[j] > m) m = xr[j];
        float s = 0;
        for (int j = 0; j < cols; j++) {
            float e = exp_scalar(xr[j] - m);
            if (!log_form) yr[j] = e;
            s += e;
        }
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
__attribute__((target("avx512f"))) static inline __m512 exp512(__m512 x) {
    __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(MK_EXP_LO), _CMP_LT_OQ);
    x = _mm512_max_ps(_mm512_set1_ps(MK_EXP_LO), x);  // NaN in x stays NaN (max returns its 2nd operand)
    x = _mm512_min_ps(_mm512_set1_ps(MK_EXP_HI), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(MK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MK_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(MK_LN2_LO), r);
    __m512 p = _mm512_set1_ps(MK_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(MK_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_mov_ps(~under, _mm512_scalef_ps(p, n));
}

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
        float s = _mm512_reduce_add_ps(acc);
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

__attribute__((target("avx2,fma"))) static inline __m256 exp256(__m256 x) {
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(MK_EXP_LO), _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_set1_ps(MK_EXP_LO), x);  // NaN in x stays NaN
    x = _mm256_min_ps(_mm256_set1_ps(MK_EXP_HI), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(MK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(MK_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(MK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(MK_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(MK_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n = 2·2^(n−1) in the exponent bits (n − 1 ∈ [−126, 127] after the clamps: always normal).
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), _mm256_set1_ps(2.0f));
    return _mm256_andnot_ps(under, y);
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
        __m256 acc = _mm256_setzero_ps();
        for (int j = 0; j < full; j += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(xr + j), mb));
            if (!log_form) _mm256_storeu_ps(yr + j, e);
            acc = _mm256_add_ps(acc, e);
        }
        _mm256_storeu_ps(lanes, acc);
        float s = 0;
        for (int l = 0; l < 8; l++) s += lanes[l];
        for (int j = full; j < cols; j++) {
            float e = exp_scalar(xr[j] - m);
            if (!log_form) yr[j] = e;
            s += e;
        }
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

// ---- LSTM cell and tanh -----------------------------------------------------------------------
#define MK_T0 (-5.70498872745e-3f)
#define MK_T1 2.06390887954e-2f
#define MK_T2 (-5.37397155531e-2f)
#define MK_T3 1.33314422036e-1f
#define MK_T4 (-3.33332819422e-1f)

static float sigmoid_scalar(float x) { return 1.0f / (1.0f + exp_scalar(-x)); }

static float tanh_scalar(float x) {
    float ax = x < 0 ? -x : x;
    if (ax < 0.625f) {
        float z = x * x;
        float p = MK_T0;
        p = p * z + MK_T1; p = p * z + MK_T2; p = p * z + MK_T3; p = p * z + MK_T4;
        return p * z * x + x;
    }
    float big = 1.0f - 2.0f / (exp_scalar(ax + ax) + 1.0f);
    return x < 0 ? -big : big;
}

static void cell_generic(float *g, const float *cp, float *c, float *h, float *tc, int H) {
    for (int j = 0; j < H; j++) {
        float i = sigmoid_scalar(g[j]), f = sigmoid_scalar(g[H + j]);
        float gg = tanh_scalar(g[2 * H + j]), o = sigmoid_scalar(g[3 * H + j]);
        g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o;
        float cv = f * cp[j] + i * gg;
        float t = tanh_scalar(cv);
        c[j] = cv; tc[j] = t; h[j] = o * t;
    }
}

static void tanh_generic(const float *x, float *y, int n) { for (int j = 0; j < n; j++) y[j] = tanh_scalar(x[j]); }

#ifdef MK_X86
__attribute__((target("avx512f"))) static inline __m512 sigmoid512(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

__attribute__((target("avx512f"))) static inline __m512 tanh512(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(exp512(_mm512_add_ps(ax, ax)), one)));
    // sign(x)·big: copy x's sign bit onto big (big ≥ 0).
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u));
    big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big), sign));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(MK_T0);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T1));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T2));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T3));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(MK_T4));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    __mmask16 is_big = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_GE_OQ);
    return _mm512_mask_blend_ps(is_big, small, big);
}

// Masked loads and stores only where a mask is needed: on this generation of AMD cores a masked
// store costs several times a plain one even when every lane is set (Adam ran at half speed).
__attribute__((target("avx512f"))) static inline __m512 ld512(__mmask16 k, int whole, const float *p) {
    return whole ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(k, p);
}

__attribute__((target("avx512f"))) static inline void st512(__mmask16 k, int whole, float *p, __m512 x) {
    if (whole) _mm512_storeu_ps(p, x); else _mm512_mask_storeu_ps(p, k, x);
}

// Sixteen units of the cell (whole: all sixteen; else the lanes of k).
__attribute__((target("avx512f"))) static inline void cell512_16(float *g, const float *cp, float *c, float *h,
                                                                 float *tc, int H, int j, __mmask16 k, int whole) {
    __m512 i = sigmoid512(ld512(k, whole, g + j));
    __m512 f = sigmoid512(ld512(k, whole, g + H + j));
    __m512 gg = tanh512(ld512(k, whole, g + 2 * H + j));
    __m512 o = sigmoid512(ld512(k, whole, g + 3 * H + j));
    st512(k, whole, g + j, i);
    st512(k, whole, g + H + j, f);
    st512(k, whole, g + 2 * H + j, gg);
    st512(k, whole, g + 3 * H + j, o);
    __m512 cv = _mm512_fmadd_ps(f, ld512(k, whole, cp + j), _mm512_mul_ps(i, gg));
    __m512 t = tanh512(cv);
    st512(k, whole, c + j, cv);
    st512(k, whole, tc + j, t);
    st512(k, whole, h + j, _mm512_mul_ps(o, t));
}

__attribute__((target("avx512f"))) static void cell512(float *g, const float *cp, float *c, float *h, float *tc, int H) {
    int full = H & ~15;
    for (int j = 0; j < full; j += 16) cell512_16(g, cp, c, h, tc, H, j, 0xFFFF, 1);
    if (full < H) cell512_16(g, cp, c, h, tc, H, full, (__mmask16)((1u << (H - full)) - 1u), 0);
}

__attribute__((target("avx512f"))) static void tanh_512(const float *x, float *y, int n) {
    int full = n & ~15;
    for (int j = 0; j < full; j += 16) _mm512_storeu_ps(y + j, tanh512(_mm512_loadu_ps(x + j)));
    if (full < n) {
        __mmask16 k = (__mmask16)((1u << (n - full)) - 1u);
        _mm512_mask_storeu_ps(y + full, k, tanh512(_mm512_maskz_loadu_ps(k, x + full)));
    }
}

__attribute__((target("avx2,fma"))) static inline __m256 sigmoid256(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

__attribute__((target("avx2,fma"))) static inline __m256 tanh256(__m256 x) {
    __m256 signbit = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(signbit, x);
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp256(_mm256_add_ps(ax, ax)), one)));
    big = _mm256_or_ps(big, _mm256_and_ps(signbit, x));
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(MK_T0);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(MK_T4));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    return _mm256_blendv_ps(small, big, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_GE_OQ));
}

__attribute__((target("avx2,fma"))) static void cell256(float *g, const float *cp, float *c, float *h, float *tc, int H) {
    int full = H & ~7;
    for (int j = 0; j < full; j += 8) {
        __m256 i = sigmoid256(_mm256_loadu_ps(g + j));
        __m256 f = sigmoid256(_mm256_loadu_ps(g + H + j));
        __m256 gg = tanh256(_mm256_loadu_ps(g + 2 * H + j));
        __m256 o = sigmoid256(_mm256_loadu_ps(g + 3 * H + j));
        _mm256_storeu_ps(g + j, i);
        _mm256_storeu_ps(g + H + j, f);
        _mm256_storeu_ps(g + 2 * H + j, gg);
        _mm256_storeu_ps(g + 3 * H + j, o);
        __m256 cv = _mm256_fmadd_ps(f, _mm256_loadu_ps(cp + j), _mm256_mul_ps(i, gg));
        __m256 t = tanh256(cv);
        _mm256_storeu_ps(c + j, cv);
        _mm256_storeu_ps(tc + j, t);
        _mm256_storeu_ps(h + j, _mm256_mul_ps(o, t));
    }
    if (full < H) {
        // The tail, by the scalar formulas on the same gate layout.
        for (int j = full; j < H; j++) {
            float i = sigmoid_scalar(g[j]), f = sigmoid_scalar(g[H + j]);
            float gg = tanh_scalar(g[2 * H + j]), o = sigmoid_scalar(g[3 * H + j]);
            g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o;
            float cv = f * cp[j] + i * gg;
            float t = tanh_scalar(cv);
            c[j] = cv; tc[j] = t; h[j] = o * t;
        }
    }
}

__attribute__((target("avx2,fma"))) static void tanh_256(const float *x, float *y, int n) {
    int full = n & ~7;
    for (int j = 0; j < full; j += 8) _mm256_storeu_ps(y + j, tanh256(_mm256_loadu_ps(x + j)));
    for (int j = full; j < n; j++) y[j] = tanh_scalar(x[j]);
}
#endif

void mk_lstm_cell_forward(float *gates, const float *cprev, const float *hprev, float *c, float *h, float *tanhc,
                          int rows, int hidden, const float *mask) {
    int H = hidden;
#ifdef MK_X86
    int isa = mk_isa();
#endif
    for (int b = 0; b < rows; b++) {
        float *g = gates + (size_t)b * 4 * H;
        const float *cp = cprev + (size_t)b * H;
        float *cr = c + (size_t)b * H, *hr = h + (size_t)b * H, *tr = tanhc + (size_t)b * H;
        if (mask && mask[b] == 0) {
            memcpy(cr, cp, sizeof(float) * (size_t)H);
            memcpy(hr, hprev + (size_t)b * H, sizeof(float) * (size_t)H);
            memset(tr, 0, sizeof(float) * (size_t)H);
            memset(g, 0, sizeof(float) * 4 * (size_t)H);
            continue;
        }
#ifdef MK_X86
        if (isa == 2) { cell512(g, cp, cr, hr, tr, H); continue; }
        if (isa == 1) { cell256(g, cp, cr, hr, tr, H); continue; }
#endif
        cell_generic(g, cp, cr, hr, tr, H);
    }
}

void mk_tanh(const float *x, float *y, int n) {
    if (n <= 0) return;
#ifdef MK_X86
    if (mk_isa() == 2) { tanh_512(x, y, n); return; }
    if (mk_isa() == 1) { tanh_256(x, y, n); return; }
#endif
    tanh_generic(x, y, n);
}

// ---- argmax -----------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Adam. Every step is one IEEE operation in a fixed order (no fused multiply-add), so the AVX-512,
// AVX2 and scalar paths give the same bits for every element, whatever the split.

static void adam_scalar(float *p, float *g, float *m, float *v, long lo, long n, float s, float b1, float b2,
                        float c1, float c2, float q, float e, int zero_g) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) {
        float gi = g[i];
        if (zero_g) g[i] = 0;
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - s * mi / (__builtin_sqrtf(vi) / q + e);
    }
}

#ifdef MK_X86
// Sixteen elements of Adam (whole: all sixteen; else the lanes of k).
__attribute__((target("avx512f"))) static inline void adam512_16(float *p, float *g, float *m, float *v, __m512 vb1,
                                                                 __m512 vb2, __m512 vc1, __m512 vc2, __m512 vs,
                                                                 __m512 vq, __m512 ve, int zero_g, __mmask16 k,
                                                                 int whole) {
    __m512 gi = ld512(k, whole, g);
    if (zero_g) st512(k, whole, g, _mm512_setzero_ps());
    __m512 mi = _mm512_add_ps(_mm512_mul_ps(vb1, ld512(k, whole, m)), _mm512_mul_ps(vc1, gi));
    __m512 vi = _mm512_add_ps(_mm512_mul_ps(vb2, ld512(k, whole, v)), _mm512_mul_ps(_mm512_mul_ps(vc2, gi), gi));
    st512(k, whole, m, mi);
    st512(k, whole, v, vi);
    __m512 d = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), vq), ve);
    st512(k, whole, p, _mm512_sub_ps(ld512(k, whole, p), _mm512_div_ps(_mm512_mul_ps(vs, mi), d)));
}

__attribute__((target("avx512f"))) static void adam512(float *p, float *g, float *m, float *v, long n, float s,
                                                       float b1, float b2, float c1, float c2, float q, float e,
                                                       int zero_g) {
    __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2), vc1 = _mm512_set1_ps(c1), vc2 = _mm512_set1_ps(c2);
    __m512 vs = _mm512_set1_ps(s), vq = _mm512_set1_ps(q), ve = _mm512_set1_ps(e);
    long full = n & ~15L;
    for (long i = 0; i < full; i += 16)
        adam512_16(p + i, g + i, m + i, v + i, vb1, vb2, vc1, vc2, vs, vq, ve, zero_g, 0xFFFF, 1);
    if (full < n)
        adam512_16(p + full, g + full, m + full, v + full, vb1, vb2, vc1, vc2, vs, vq, ve, zero_g,
                   (__mmask16)((1u << (n - full)) - 1u), 0);
}

__attribute__((target("avx2,fma"))) static void adam256(float *p, float *g, float *m, float *v, long n, float s,
                                                        float b1, float b2, float c1, float c2, float q, float e,
                                                        int zero_g) {
    __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
    __m256 vs = _mm256_set1_ps(s), vq = _mm256_set1_ps(q), ve = _mm256_set1_ps(e), z = _mm256_setzero_ps();
    long full = n & ~7L;
    for (long i = 0; i < full; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        if (zero_g) _mm256_storeu_ps(g + i, z);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vc1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(vc2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 d = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vq), ve);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(vs, mi), d)));
    }
    adam_scalar(p, g, m, v, full, n, s, b1, b2, c1, c2, q, e, zero_g);
}
#endif

void mk_adam(float *p, float *g, float *m, float *v, long n, float step_size, float b1, float b2, float c1,
             float c2, float sqrt_bc2, float eps, int zero_g) {
    if (n <= 0) return;
#ifdef MK_X86
    if (mk_isa() == 2) { adam512(p, g, m, v, n, step_size, b1, b2, c1, c2, sqrt_bc2, eps, zero_g); return; }
    if (mk_isa() == 1) { adam256(p, g, m, v, n, step_size, b1, b2, c1, c2, sqrt_bc2, eps, zero_g); return; }
#endif
    adam_scalar(p, g, m, v, 0, n, step_size, b1, b2, c1, c2, sqrt_bc2, eps, zero_g);
}

// ---------------------------------------------------------------------------------------------
// Elementwise kernels. Each result is the same sequence of rounded IEEE operations on every path
// (never fused), so the instruction set never changes a bit; vector bodies are unmasked, tails
// scalar.

static void add_scalar(const float *x, float *y, long lo, long n) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) y[i] = y[i] + x[i];
}
static void mul_scalar(const float *x, float *y, long lo, long n) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) y[i] = y[i] * x[i];
}
static void scale_scalar(float *x, long lo, long n, float a) {
#pragma clang fp contract(off)
    for (long i = lo; i < n; i++) x[i] = x[i] * a;
}

#ifdef MK_X86
// y = OP(y, x) over the whole vectors of n; returns how many elements were done.
#define MK_ZIP(NAME, TARGET, LANES, LD, ST, OP)                                                        \
    __attribute__((target(TARGET))) static long NAME(const float *x, float *y, long n) {               \
        long full = n & ~(long)(LANES - 1);                                                            \
        for (long i = 0; i < full; i += LANES) ST(y + i, OP(LD(y + i), LD(x + i)));                    \
        return full;                                                                                   \
    }
MK_ZIP(add512, "avx512f", 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps)
MK_ZIP(add256, "avx2", 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps)
MK_ZIP(mul512, "avx512f", 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_mul_ps)
MK_ZIP(mul256, "avx2", 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_mul_ps)
__attribute__((target("avx512f"))) static long scale512(float *x, long n, float a) {
    __m512 av = _mm512_set1_ps(a);
    long full = n & ~15L;
    for (long i = 0; i < full; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), av));
    return full;
}
__attribute__((target("avx2"))) static long scale256(float *x, long n, float a) {
    __m256 av = _mm256_set1_ps(a);
    long full = n & ~7L;
    for (long i = 0; i < full; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), av));
    return full;
}
#endif

#ifdef MK_X86
#define MK_ZIP_VECTOR(V512, V256) (mk_isa() == 2 ? V512(x, y, n) : mk_isa() == 1 ? V256(x, y, n) : 0)
#else
#define MK_ZIP_VECTOR(V512, V256) 0
#endif

void mk_add(const float *x, float *y, long n) { add_scalar(x, y, MK_ZIP_VECTOR(add512, add256), n); }

void mk_mul(const float *x, float *y, long n) { mul_scalar(x, y, MK_ZIP_VECTOR(mul512, mul256), n); }

void mk_scale(float *x, long n, float a) {
    long done = 0;
#ifdef MK_X86
    if (mk_isa() == 2) done = scale512(x, n, a); else if (mk_isa() == 1) done = scale256(x, n, a);
#endif
    scale_scalar(x, done, n, a);
}

void mk_add_bias_rows(float *x, const float *b, int rows, int cols) {
    for (int r = 0; r < rows; r++) mk_add(b, x + (size_t)r * cols, cols);
}

// db[j] += Σ_r dy[r, j], the rows added one after another (the order of the plain loop), with
// 128 (AVX2: 64) columns held in registers over all the rows so that db is read and written once.
#ifdef MK_X86
#define MK_SUM_ROWS(NAME, TARGET, VT, LANES, LD, ST, ADD)                                              \
    __attribute__((target(TARGET))) static int NAME(const float *dy, float *db, int rows, int cols) {  \
        int j = 0;                                                                                     \
        for (; j + 8 * LANES <= cols; j += 8 * LANES) {                                                \
            VT acc[8];                                                                                 \
            for (int q = 0; q < 8; q++) acc[q] = LD(db + j + LANES * q);                               \
            for (int r = 0; r < rows; r++) {                                                           \
                const float *d = dy + (size_t)r * cols + j;                                            \
                for (int q = 0; q < 8; q++) acc[q] = ADD(acc[q], LD(d + LANES * q));                   \
            }                                                                                          \
            for (int q = 0; q < 8; q++) ST(db + j + LANES * q, acc[q]);                                \
        }                                                                                              \
        for (; j + LANES <= cols; j += LANES) {                                                        \
            VT acc = LD(db + j);                                                                       \
            for (int r = 0; r < rows; r++) acc = ADD(acc, LD(dy + (size_t)r * cols + j));             \
            ST(db + j, acc);                                                                           \
        }                                                                                              \
        return j;                                                                                      \
    }
MK_SUM_ROWS(sum_rows512, "avx512f", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps)
MK_SUM_ROWS(sum_rows256, "avx2", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps)
#endif

void mk_sum_rows(const float *dy, float *db, int rows, int cols) {
    int j = 0;
#ifdef MK_X86
    if (mk_isa() == 2) j = sum_rows512(dy, db, rows, cols); else if (mk_isa() == 1) j = sum_rows256(dy, db, rows, cols);
#endif
    for (; j < cols; j++) {
#pragma clang fp contract(off)
        float s = db[j];
        for (int r = 0; r < rows; r++) s = s + dy[(size_t)r * cols + j];
        db[j] = s;
    }
}

// The LSTM cell's backward pass for one row of H units; see mk_lstm_cell_backward.
static void cell_backward_scalar(const float *gr, const float *cp, const float *tr, float *dhr, float *dcr, float *dg,
                                 int lo, int H) {
#pragma clang fp contract(off)
    for (int j = lo; j < H; j++) {
        float i = gr[j], f = gr[H + j], g = gr[2 * H + j], o = gr[3 * H + j], tc = tr[j], dh = dhr[j];
        float dct = dcr[j] + dh * o * (1 - tc * tc);
        dg[j] = dct * g * i * (1 - i);
        dg[H + j] = dct * cp[j] * f * (1 - f);
        dg[2 * H + j] = dct * i * (1 - g * g);
        dg[3 * H + j] = dh * tc * o * (1 - o);
        dcr[j] = dct * f;
        dhr[j] = 0;
    }
}

#ifdef MK_X86
// The vector bodies: one definition over the instruction set's vector type and operations.
#define MK_CELL_BACKWARD(NAME, TARGET, VT, LANES, LD, ST, ADD, SUB, MUL, SET1, ZERO)                   \
    __attribute__((target(TARGET))) static int NAME(const float *gr, const float *cp, const float *tr, \
                                                    float *dhr, float *dcr, float *dg, int H) {        \
        VT one = SET1(1.0f), zero = ZERO();                                                            \
        int full = H & ~(LANES - 1);                                                                   \
        for (int j = 0; j < full; j += LANES) {                                                        \
            VT i = LD(gr + j), f = LD(gr + H + j), g = LD(gr + 2 * H + j), o = LD(gr + 3 * H + j);     \
            VT tc = LD(tr + j), dh = LD(dhr + j);                                                      \
            VT dct = ADD(LD(dcr + j), MUL(MUL(dh, o), SUB(one, MUL(tc, tc))));                         \
            ST(dg + j, MUL(MUL(MUL(dct, g), i), SUB(one, i)));                                         \
            ST(dg + H + j, MUL(MUL(MUL(dct, LD(cp + j)), f), SUB(one, f)));                            \
            ST(dg + 2 * H + j, MUL(MUL(dct, i), SUB(one, MUL(g, g))));                                 \
            ST(dg + 3 * H + j, MUL(MUL(MUL(dh, tc), o), SUB(one, o)));                                 \
            ST(dcr + j, MUL(dct, f));                                                                  \
            ST(dhr + j, zero);                                                                         \
        }                                                                                              \
        return full;                                                                                   \
    }
MK_CELL_BACKWARD(cell_backward512, "avx512f", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps,
                 _mm512_sub_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps)
MK_CELL_BACKWARD(cell_backward256, "avx2", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps,
                 _mm256_sub_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps)
#endif

void mk_lstm_cell_backward(const float *gates, const float *cprev, const float *tanhc, float *dh, float *dc,
                           float *dgates, int rows, int hidden, const float *mask) {
    int H = hidden;
    for (int b = 0; b < rows; b++) {
        const float *gr = gates + (size_t)b * 4 * H, *cp = cprev + (size_t)b * H, *tr = tanhc + (size_t)b * H;
        float *dhr = dh + (size_t)b * H, *dcr = dc + (size_t)b * H, *dg = dgates + (size_t)b * 4 * H;
        if (mask && mask[b] == 0) {
            memset(dg, 0, sizeof(float) * 4 * (size_t)H);  // dh and dc flow to step t−1 unchanged
            continue;
        }
        int done = 0;
#ifdef MK_X86
        if (mk_isa() == 2) done = cell_backward512(gr, cp, tr, dhr, dcr, dg, H);
        else if (mk_isa() == 1) done = cell_backward256(gr, cp, tr, dhr, dcr, dg, H);
#endif
        cell_backward_scalar(gr, cp, tr, dhr, dcr, dg, done, H);
    }
}
