#ifndef MIXER_MK_GEMM_H
#define MIXER_MK_GEMM_H

#include <stddef.h>

/// Columns of W per packed panel (see mk_pack).
#define MK_PANEL 32

/// Floats needed to pack a weight W [n, k]: ceil(n / 32) panels of k·32 floats.
size_t mk_packed_count(int n, int k);

/// Packs W [n, k] (row-major, leading dimension ldw ≥ k) into panels for mk_gemm_packed:
/// panel p holds columns j = 32p … 32p+31 of Wᵀ, k-major: packed[p·k·32 + kk·32 + jj] =
/// W[32p + jj, kk] (zero past row n). Cost: one pass over W.
void mk_pack(const float *w, int n, int k, int ldw, float *packed);

/// Packs W = Mᵀ for a matrix M [k, n] (row-major, leading dimension ldm ≥ n), so that
/// mk_gemm_packed computes A·M: packed[p·k·32 + kk·32 + jj] = M[kk, 32p + jj] (zero past n).
void mk_pack_transposed(const float *m, int n, int k, int ldm, float *packed);

/// C [m, n] = A [m, k] · Wᵀ + beta·C for the panels panel_begin ..< panel_end of a packed W
/// (columns 32·panel_begin ..< min(n, 32·panel_end) of C; the rest of C is untouched).
/// A has leading dimension lda, C ldc. beta = 0 never reads C.
/// Register-blocked micro-kernels (AVX-512: 12 rows × 32 columns; AVX2+FMA: 6 × 16, twice per panel; portable C
/// otherwise), chosen once from the CPU. k is summed in chunks of MK_KC exactly as in mk_gemm, so
/// the same product gives the same bits through either. Cost: 2·m·n·k flops, W read once per 12
/// (3) rows of A.
void mk_gemm_packed(int m, int n, int k, const float *a, int lda, const float *packed, float beta,
                    float *c, int ldc, int panel_begin, int panel_end);

/// Rows of A per micro-kernel tile (AVX-512; the AVX2 and portable kernels cover a tile in parts).
#define MK_TILE_ROWS 12

/// Floats needed by mk_pack_a for op(A) [m, k]: ceil(m / 12) tiles of k·12 floats.
size_t mk_packed_a_count(int m, int k);

/// Packs op(A) = Aᵀ [m, k] for a matrix A stored [k, m] (leading dimension lda ≥ m) into tiles of
/// 12 rows of op(A): dst[t·k·12 + kk·12 + r] = A[kk, 12t + r] (zero past m), so that a
/// micro-kernel reads the 12 values of each kk from one place instead of k rows 4·lda bytes
/// apart. Packs the tiles tile_begin ..< tile_end (threads can share dst by tile ranges).
/// Cost: one pass over A.
void mk_pack_a(const float *a, int lda, int m, int k, float *dst, int tile_begin, int tile_end);

/// Rows of k per packed chunk of a panel in mk_gemm (a chunk is MK_KC × 32 floats, 64 KiB).
#define MK_KC 512

/// The general product C [m, n] = alpha · op(A) · op(B) + beta · C, row-major, for the panels
/// panel_begin ..< panel_end of op(B)'s columns (columns 32·panel_begin ..< min(n, 32·panel_end)
/// of C; the rest is untouched, so threads can share C by panel ranges). op(A) is [m, k]: A
/// stored [m, k] (lda ≥ k), or, when trans_a = 1, op(A) = Aᵀ for A [k, m] given packed by
/// mk_pack_a (lda is then unused), or, when trans_a = 2, Aᵀ read in place from A [k, m] (lda ≥ m;
/// the same bits as packed, better when k is small). op(B) is [k, n]:
/// B stored [k, n] (ldb ≥ n), or [n, k] read transposed when trans_b (ldb ≥ k). beta = 0 never
/// reads C. panel_buffer: room for MK_KC × 32 floats (the caller's, one per thread), or NULL for
/// the calling thread's own (allocated once per thread).
/// Each panel of a transposed B (and the last, partial panel of any B) is copied in chunks of
/// MK_KC rows of k into panel_buffer; a whole panel of an untransposed B is read in place (32
/// adjacent floats per row of k). The micro-kernels of mk_gemm_packed run over it, reading A in
/// place (or from its packed tiles). Every element of C is summed in an order that depends on k alone, never on
/// m, n, the panel range or the tile height, so a row's result does not depend
/// on the rows beside it (decoding is independent of the batch). Cost: 2·m·n·k flops, op(B) read
/// once, A once per panel.
void mk_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc, int panel_begin, int panel_end,
             float *panel_buffer);

#endif
