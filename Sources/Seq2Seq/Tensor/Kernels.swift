import CKernels
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Elementwise and row-wise kernels over raw Float32 buffers: softmax, log-softmax and tanh call
/// the C kernels (`CKernels`: AVX-512 / AVX2 / portable, chosen at run time); the rest are plain
/// loops the compiler vectorises. All are numerically stable for any finite input.
public enum Kernels {
    /// In place y = tanh(x) over `n` elements (vectorised in C, `mk_tanh`; relative error ≈ 3e-7).
    public static func tanhInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        mk_tanh(x, x, Int32(n))
    }

    /// Row-wise softmax in place over `rows` rows of `cols`: p_j = e^(x_j − max) / Σ e^(x_i − max).
    /// Writes the log-partition log Σ e^(x_i) of each row to `logZ` if given.
    /// (Vectorised in C, `mk_softmax_rows`: AVX-512 / AVX2 / portable; rows split over two
    /// threads when BLAS runs two.)
    /// - Complexity: O(rows·cols).
    public static func softmaxRows(
        _ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, logZ: UnsafeMutablePointer<Float>? = nil
    ) {
        splitWork(rows, costPerItem: cols) { lo, hi in
            mk_softmax_rows(x + lo * cols, Int32(hi - lo), Int32(cols), logZ.map { $0 + lo })
        }
    }

    /// x[0..<n] *= a.
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float) {
        for j in 0..<n { x[j] *= a }
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

    /// Adds the bias b [cols] to every row of x [rows, cols].
    public static func addBiasRows(_ x: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols
            for j in 0..<cols { xr[j] += b[j] }
        }
    }

    /// db [cols] += Σ_rows dy [rows, cols].
    public static func sumRowsInto(_ dy: UnsafePointer<Float>, _ db: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let d = dy + r * cols
            for j in 0..<cols { db[j] += d[j] }
        }
    }

    /// y [n] += x [n].
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += x[i] }
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
    /// One Adam update over n floats, vectorised, with exactly the scalar arithmetic
    /// (same operations in the same order, so the same bits):
    /// m = b1·m + c1·g;  v = b2·v + (c2·g)·g;  p −= (stepSize·m) / (√v / sqrtBc2 + eps).
    /// With `zeroGradient` each g is set to 0 once read (saving the separate zeroing pass).
    /// - Complexity: O(n), one pass over four arrays.
    public static func adamUpdate(
        _ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, count n: Int, stepSize: Float, b1: Float, b2: Float,
        c1: Float, c2: Float, sqrtBc2: Float, eps: Float, zeroGradient: Bool = false
    ) {
        typealias V = SIMD8<Float>
        let vb1 = V(repeating: b1), vb2 = V(repeating: b2), vc1 = V(repeating: c1), vc2 = V(repeating: c2)
        let vs = V(repeating: stepSize), vq = V(repeating: sqrtBc2), ve = V(repeating: eps)
        var i = 0
        while i + 8 <= n {
            let gi = FastMath.load(g + i, 8)
            if zeroGradient { FastMath.store(V(repeating: 0), g + i, 8) }
            let mi = vb1 * FastMath.load(m + i, 8) + vc1 * gi
            let vi = vb2 * FastMath.load(v + i, 8) + vc2 * gi * gi
            FastMath.store(mi, m + i, 8)
            FastMath.store(vi, v + i, 8)
            let pi = FastMath.load(p + i, 8) - vs * mi / (vi.squareRoot() / vq + ve)
            FastMath.store(pi, p + i, 8)
            i += 8
        }
        while i < n {
            let gi = g[i]
            if zeroGradient { g[i] = 0 }
            let mi = b1 * m[i] + c1 * gi
            let vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] -= stepSize * mi / (vi.squareRoot() / sqrtBc2 + eps)
            i += 1
        }
    }
}
