import CKernels
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Elementwise and row-wise kernels over raw Float32 buffers: softmax, log-softmax and tanh call
/// the C kernels (`CKernels`: AVX-512 / AVX2 / portable, chosen at run time), and so do the
/// elementwise passes of the training step (Swift compiles for baseline x86-64, i.e. SSE2).
/// All are numerically stable for any finite input.
public enum Kernels {
    /// In place y = tanh(x) over `n` elements (vectorised in C, `mk_tanh`; relative error ≈ 3e-7).
    public static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        mk_tanh(x, x, Int32(n))
    }

    /// Row-wise softmax in place over `rows` rows of `cols`: p_j = e^(x_j − max) / Σ e^(x_i − max).
    /// Writes the log-partition log Σ e^(x_i) of each row to `logZ` if given.
    /// (Vectorised in C, `mk_softmax_rows`: AVX-512 / AVX2 / portable; rows split over two
    /// threads when two are in effect.)
    /// - Complexity: O(rows·cols).
    public static func softmaxRows(
        _ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, logZ: UnsafeMutablePointer<Float>? = nil
    ) {
        splitWork(rows, costPerItem: cols) { lo, hi in
            mk_softmax_rows(x + lo * cols, Int32(hi - lo), Int32(cols), logZ.map { $0 + lo })
        }
    }

    /// x[0..<n] *= a (`mk_scale`).
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float) {
        mk_scale(x, n, a)
    }

    /// Row-wise log-softmax from `x` into `y` (may alias): y_j = (x_j − max) − log Σ e^(x_i − max)
    /// (shifted first, so no cancellation; vectorised in C, `mk_log_softmax_rows`).
    /// - Complexity: O(rows·cols).
    public static func logSoftmaxRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int
    ) {
        splitWork(rows, costPerItem: cols) { lo, hi in
            mk_log_softmax_rows(x + lo * cols, y + lo * cols, Int32(hi - lo), Int32(cols))
        }
    }

    /// Adds the bias b [cols] to every row of x [rows, cols] (`mk_add_bias_rows`).
    public static func addBiasRows(_ x: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, cols: Int) {
        mk_add_bias_rows(x, b, Int32(rows), Int32(cols))
    }

    /// db [cols] += Σ_rows dy [rows, cols], the rows added in order (`mk_sum_rows`: 128 columns
    /// at a time held in registers, so db is read and written once).
    public static func sumRowsInto(_ dy: UnsafePointer<Float>, _ db: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        mk_sum_rows(dy, db, Int32(rows), Int32(cols))
    }

    /// y [n] += x [n] (`mk_add`).
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        mk_add(x, y, n)
    }

    /// y [n] *= x [n] (`mk_mul`).
    @inline(__always)
    public static func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        mk_mul(x, y, n)
    }

    /// Copies `cols` columns of every row: dst[r, dOff + j] = src[r, sOff + j].
    public static func copyColumns(
        _ src: UnsafePointer<Float>, srcStride: Int, srcOffset: Int = 0,
        _ dst: UnsafeMutablePointer<Float>, dstStride: Int, dstOffset: Int = 0, rows: Int, cols: Int
    ) {
        for r in 0..<rows {
            (dst + r * dstStride + dstOffset).update(from: src + r * srcStride + srcOffset, count: cols)
        }
    }
}

extension Kernels {
    /// One Adam update over n floats (`mk_adam`: AVX-512 / AVX2 / portable C, chosen from the CPU):
    /// m = b1·m + c1·g;  v = b2·v + (c2·g)·g;  p −= (stepSize·m) / (√v / sqrtBc2 + eps),
    /// each step one rounded operation in this order, so every instruction set and split gives
    /// the same bits. With `zeroGradient` each g is set to 0 once read (saving the separate
    /// zeroing pass).
    /// - Complexity: O(n), one pass over four arrays (memory-bound: 28 bytes moved per element
    ///   with `zeroGradient`, ≈ 6 ms for 10 M parameters on one Zen 5 core).
    public static func adamUpdate(
        _ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, count n: Int, stepSize: Float, b1: Float, b2: Float,
        c1: Float, c2: Float, sqrtBc2: Float, eps: Float, zeroGradient: Bool = false
    ) {
        mk_adam(p, g, m, v, n, stepSize, b1, b2, c1, c2, sqrtBc2, eps, zeroGradient ? 1 : 0)
    }
}
