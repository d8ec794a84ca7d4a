#ifndef MIXER_CKERNELS_H
#define MIXER_CKERNELS_H

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
/// Register-blocked micro-kernels (AVX-512: 12 rows × 32 columns; AVX2+FMA: 3 × 32; portable C
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

/// y = A·x + beta·y for A [m, n] (row-major, leading dimension lda), or y = Aᵀ·x + beta·y when
/// trans (then x has m entries and y n). A·x takes one vectorised dot product per row (its order
/// fixed by n and the instruction set); Aᵀ·x adds x_i·row_i into y row after row. beta = 0 never
/// reads y. Cost: 2·m·n flops, one pass over A.
void mk_gemv(int trans, int m, int n, const float *a, int lda, const float *x, float beta, float *y);

/// y += alpha·x over n floats, as mk_gemv's transposed product adds each row (fused multiply-adds
/// on AVX-512 and AVX2). Cost: one pass.
void mk_axpy(float alpha, const float *x, float *y, int n);

/// Row-wise softmax in place over x [rows, cols]: p_j = e^(x_j − m) / Σ_i e^(x_i − m), m the
/// row maximum; writes log Σ_i e^(x_i) to logZ[r] when logZ is not NULL. Vectorised e^x:
/// Cody–Waite reduction and Cephes' degree-6 polynomial (relative error ≤ 2 ulp; 0 below
/// −86.6). Cost: 3 passes over each row.
void mk_softmax_rows(float *x, int rows, int cols, float *logz);

/// Row-wise log-softmax from x into y [rows, cols] (may alias): y_j = (x_j − m) − log Σ e^(x_i − m).
/// Cost: 3 passes over each row (max, Σ e, write).
void mk_log_softmax_rows(const float *x, float *y, int rows, int cols);

/// The pointwise part of an LSTM step for `rows` rows (PyTorch's gate order i, f, g, o):
/// gates [rows, 4H] pre-activations become activations in place (σ, σ, tanh, σ);
/// c = f⊙cprev + i⊙g, tanhc = tanh(c), h = o⊙tanhc [rows, H]. A row whose mask is 0 copies
/// cprev and hprev and zeroes its gates and tanhc (mask may be NULL: all rows real).
/// σ(x) = 1/(1 + e^−x); tanh(x) = x + x³·P(x²) for |x| < 0.625 (Cephes), else
/// sign(x)·(1 − 2/(e^2|x| + 1)); relative error ≈ 3e-7.
void mk_lstm_cell_forward(float *gates, const float *cprev, const float *hprev, float *c, float *h, float *tanhc,
                          int rows, int hidden, const float *mask);

/// y = tanh(x) over n elements (x and y may alias), as in mk_lstm_cell_forward.
void mk_tanh(const float *x, float *y, int n);

/// The index of the largest of x[0..<n] (the lowest such index on ties); NaN entries are never
/// chosen; 0 when n ≤ 0 or no entry exceeds −∞. Cost: one pass, plus a scan to the first maximum.
int mk_argmax(const float *x, int n);

/// One Adam update (Kingma & Ba, 2015) over n floats, in PyTorch's order of operations:
/// m = b1·m + c1·g;  v = b2·v + (c2·g)·g;  p = p − (step_size·m) / (√v / sqrt_bc2 + eps),
/// with c1 = 1 − b1, c2 = 1 − b2, step_size = lr / (1 − b1^t), sqrt_bc2 = √(1 − b2^t). Each step
/// is one rounded IEEE operation (never fused), so every instruction set and every split gives the
/// same bits. zero_g: set each g to 0 once read. Cost: one pass over four arrays (memory-bound).
void mk_adam(float *p, float *g, float *m, float *v, long n, float step_size, float b1, float b2, float c1,
             float c2, float sqrt_bc2, float eps, int zero_g);

/// Elementwise kernels (AVX-512 / AVX2 bodies, scalar tails; each element is the same rounded
/// operations on every path, so the instruction set never changes a bit). Cost: one pass.
/// y[i] += x[i].
void mk_add(const float *x, float *y, long n);
/// y[i] *= x[i].
void mk_mul(const float *x, float *y, long n);
/// x[i] *= a.
void mk_scale(float *x, long n, float a);
/// x[r, j] += b[j] for x [rows, cols].
void mk_add_bias_rows(float *x, const float *b, int rows, int cols);
/// db[j] += Σ_r dy[r, j] for dy [rows, cols], the rows added in order (db read and written once).
void mk_sum_rows(const float *dy, float *db, int rows, int cols);

/// The LSTM cell's backward pass over rows × hidden units, from the activated gates [rows, 4H]
/// (i, f, g, o as mk_lstm_cell_forward leaves them), c_{t−1} and tanh(c_t) [rows, H]:
///   dc̃ = dc + dh·o·(1 − tanh²c);  di = dc̃·g·i(1 − i);  df = dc̃·c_{t−1}·f(1 − f);
///   dg = dc̃·i·(1 − g²);  do = dh·tanh c·o(1 − o);  then dc ← dc̃·f, dh ← 0,
/// each product rounded left to right as written. Rows whose mask is 0 get zero gate gradients
/// and leave dh, dc unchanged. Cost: one pass.
void mk_lstm_cell_backward(const float *gates, const float *cprev, const float *tanhc, float *dh, float *dc,
                           float *dgates, int rows, int hidden, const float *mask);

/// A part of a parallel loop: fn(ctx, part) for part in 0 ..< parts.
typedef void (*mk_part_fn)(void *ctx, int part);

/// Runs fn(ctx, 0) … fn(ctx, parts − 1), the parts independent of each other, on the calling
/// thread and up to threads − 1 workers of a process-wide pool (started on first use; an idle
/// worker spins for 2 ms before it blocks, so that the many short loops of a training step start
/// without waking a thread through the kernel; 20 µs when there are more threads than
/// processors). Returns when every part is done. Serially on the
/// calling thread when parts or threads ≤ 1, or when called from inside a part (nested loops);
/// returns 1 when the pool ran the loop, 0 when it ran serially.
int mk_parallel(int parts, int threads, mk_part_fn fn, void *ctx);

/// Whether the calling thread is running a part of an mk_parallel loop.
int mk_parallel_inside_part(void);

/// The instruction set mk_gemm_packed uses: 0 portable C, 1 AVX2+FMA, 2 AVX-512.
int mk_isa(void);

/// Caps the instruction set at `isa` (for tests: every path must agree); returns the level in
/// effect. A level the CPU lacks is never used.
int mk_set_max_isa(int isa);

#endif
