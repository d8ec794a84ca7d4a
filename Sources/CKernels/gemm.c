// GEMM on packed 32-column panels: the general product (mk_gemm), products with weights packed
// once (mk_pack, mk_gemm_packed), and the packing of a transposed A (mk_pack_a); register-blocked
// micro-kernels in AVX-512 (12 × 32), AVX2+FMA (6 × 16, twice per 32-column panel) and portable C.
#include "mk_internal.h"

size_t mk_packed_count(int n, int k) {
    size_t panels = ((size_t)n + MK_PANEL - 1) / MK_PANEL;
    return panels * (size_t)k * MK_PANEL;
}

// Writes a tile held in tmp [mr, 32] into C (ncols ≤ 32 columns): C = beta·C + alpha·tmp, as the
// AVX-512 tile stores it: alpha·tmp rounded, then one fused beta·C + that (fmaf), so every path
// gives the same bits (contraction off: only the written fmaf fuses).
static void store_tile(int mr, int ncols, const float *tmp, float alpha, float beta, float *c, int ldc) {
#pragma clang fp contract(off)
    for (int r = 0; r < mr; r++) {
        float *cr = c + (size_t)r * ldc;
        const float *t = tmp + r * MK_PANEL;
        if (beta == 0) {
            for (int j = 0; j < ncols; j++) cr[j] = alpha * t[j];
        } else {
            for (int j = 0; j < ncols; j++) cr[j] = __builtin_fmaf(beta, cr[j], alpha * t[j]);
        }
    }
}

// Element (r, kk) of the A operand of a tile: A stored [m, k] (row variant, "_r") or stored
// [k, m] and read transposed (column variant, "_c": the 12 values of one kk are adjacent).
#define MK_A_R(r, kk) a[(size_t)(r) * lda + (kk)]
#define MK_A_C(r, kk) a[(size_t)(kk) * lda + (r)]

// Portable C: rows four at a time, 32 accumulators each, every term fused as the vector tiles
// fuse it (fmaf: the same bits; without FMA hardware libm's fmaf, slow but exact).
static void tile_generic(int ta, int mr, int k, const float *a, int lda, const float *bp, int ldb, float alpha,
                         float beta, float *c, int ldc, int ncols) {
#pragma clang fp contract(off)
    float tmp[MK_PANEL * 4];
    for (int r0 = 0; r0 < mr; r0 += 4) {
        int rows = mr - r0 < 4 ? mr - r0 : 4;
        memset(tmp, 0, sizeof tmp);
        for (int kk = 0; kk < k; kk++) {
            const float *b = bp + (size_t)kk * ldb;
            for (int r = 0; r < rows; r++) {
                float x = ta ? MK_A_C(r0 + r, kk) : MK_A_R(r0 + r, kk);
                float *t = tmp + r * MK_PANEL;
                for (int jj = 0; jj < MK_PANEL; jj++) t[jj] = __builtin_fmaf(x, b[jj], t[jj]);
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

// AVX2+FMA: MR ≤ 6 rows × 32 columns as two passes of 16 columns, each over all of k in 2·MR
// ymm accumulators: 12 accumulators, 2 B vectors and a broadcast fit the 16 registers (a 3 × 32
// tile needs 17 and spilled: the AVX2 step ran at 0.6× PyTorch on Emerald Rapids). Every element
// of C is still summed over k in order by one FMA chain, so the bits are those of every path.
#define MK_AVX2_TILE(MR, V, AX)                                                                     \
    __attribute__((target("avx2,fma"))) static void tile256_##V##MR(                                \
        int k, const float *a, int lda, const float *bp, int ldb, float alpha, float beta, float *c, int ldc, \
        int ncols) {                                                                                \
        float tmp[MR * 32];                                                                         \
        for (int h = 0; h < 2 && 16 * h < ncols; h++) {                                             \
            __m256 acc[MR][2];                                                                      \
            for (int r = 0; r < MR; r++) { acc[r][0] = _mm256_setzero_ps(); acc[r][1] = _mm256_setzero_ps(); } \
            const float *bh = bp + 16 * h;                                                          \
            for (int kk = 0; kk < k; kk++) {                                                        \
                const float *b = bh + (size_t)kk * ldb;                                             \
                __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);                        \
                for (int r = 0; r < MR; r++) {                                                      \
                    __m256 x = _mm256_set1_ps(AX(r, kk));                                           \
                    acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);                                  \
                    acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);                                  \
                }                                                                                   \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                _mm256_storeu_ps(tmp + r * 32 + 16 * h, acc[r][0]);                                 \
                _mm256_storeu_ps(tmp + r * 32 + 16 * h + 8, acc[r][1]);                             \
            }                                                                                       \
        }                                                                                           \
        store_tile(MR, ncols, tmp, alpha, beta, c, ldc);                                            \
    }

#define MK_AVX2_TILES(V, AX)                                                                        \
    MK_AVX2_TILE(1, V, AX) MK_AVX2_TILE(2, V, AX) MK_AVX2_TILE(3, V, AX)                            \
    MK_AVX2_TILE(4, V, AX) MK_AVX2_TILE(5, V, AX) MK_AVX2_TILE(6, V, AX)
MK_AVX2_TILES(r, MK_A_R)
MK_AVX2_TILES(c, MK_A_C)
static const tile_fn tiles256[2][7] = {
    {0, tile256_r1, tile256_r2, tile256_r3, tile256_r4, tile256_r5, tile256_r6},
    {0, tile256_c1, tile256_c2, tile256_c3, tile256_c4, tile256_c5, tile256_c6}};
#endif

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
            for (int r = 0; r < rows; r += 6) {
                int mr = rows - r < 6 ? rows - r : 6;
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
