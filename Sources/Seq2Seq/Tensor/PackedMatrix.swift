import CKernels

/// A weight W [n, k] (row-major, a `Linear`'s or an LSTM's layout) repacked once for many
/// products y = x·Wᵀ with few rows of x: decoder steps at inference, recurrent steps.
///
/// A general product (`gemm`, or a BLAS's sgemm) repacks both operands at every call; for x with 1–160 rows against a large W
/// (the 10,000 × 256 output layer, the 1,024 × 256 recurrent weights) that copy of W costs about
/// as much as the product itself. Here W is copied once into panels of 32 columns of Wᵀ
/// (k-major within a panel, `mk_pack`), and `multiply` runs register-blocked micro-kernels over
/// them (AVX-512: 12 rows × 32 columns; AVX2+FMA: 3 × 32; portable C elsewhere; chosen from the
/// CPU at run time, `CKernels/gemm.c`).
///
/// A packed matrix is a snapshot: it does not see later changes to W (call `repack(from:)`).
/// Results equal `gemm`'s bit for bit (the same kernels summing k in the same chunks).
/// - Complexity: packing O(n·k); a product 2·m·n·k flops, W read once per 12 rows of x.
public final class PackedMatrix {
    /// n, the rows of W (the columns of the product).
    public let rows: Int
    /// k, the columns of W (the inner dimension).
    public let cols: Int
    private let storage: UnsafeMutablePointer<Float>
    private let capacity: Int
    private let panels: Int

    /// Room for W [rows, cols], not yet packed.
    private init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "A matrix cannot have negative size")
        self.rows = rows
        self.cols = cols
        panels = (rows + Int(MK_PANEL) - 1) / Int(MK_PANEL)
        capacity = max(1, mk_packed_count(Int32(rows), Int32(cols)))
        storage = .allocate(capacity: capacity)
    }

    /// Packs W [rows, cols] with leading dimension `ld` (default `cols`).
    public convenience init(_ w: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        self.init(rows: rows, cols: cols)
        repack(from: w, ld: ld)
    }

    /// Packs W = Mᵀ for M [k, n] (leading dimension `ld`, default n), so that `multiply`
    /// computes x·M: the products by an untransposed weight (dx = dy·W in backward passes).
    public convenience init(transposeOf m: UnsafePointer<Float>, k: Int, n: Int, ld: Int? = nil) {
        self.init(rows: n, cols: k)
        mk_pack_transposed(m, Int32(n), Int32(k), Int32(ld ?? n), storage)
    }

    deinit { storage.deallocate() }

    /// Copies W again (same shape) after it changed.
    public func repack(from w: UnsafePointer<Float>, ld: Int? = nil) {
        mk_pack(w, Int32(rows), Int32(cols), Int32(ld ?? cols), storage)
    }

    /// y [m, n] = x [m, k] · Wᵀ + beta·y (x with leading dimension `ldx`, y with `ldy`).
    /// Splits the panels (32 columns each) over the threads in effect (`setComputeThreads`) when the
    /// product is large (m·n·k ≥ 2²¹); each thread owns whole panels, so the result does not
    /// depend on the split.
    public func multiply(m: Int, _ x: UnsafePointer<Float>, ldx: Int? = nil, beta: Float = 0,
                         _ y: UnsafeMutablePointer<Float>, ldy: Int? = nil) {
        if m == 0 || rows == 0 { return }
        let lx = Int32(ldx ?? cols), ly = Int32(ldy ?? rows)
        let packed = UnsafePointer(storage)
        // Whole panels per thread (`splitWork`), so the result does not depend on the split.
        splitWork(panels, costPerItem: m * cols * Int(MK_PANEL) / 8) { lo, hi in
            mk_gemm_packed(Int32(m), Int32(rows), Int32(cols), x, lx, packed, beta, y, ly, Int32(lo), Int32(hi))
        }
    }

    /// The micro-kernel in use: "avx512", "avx2" or "portable".
    public static var kernelName: String { ["portable", "avx2", "avx512"][Int(mk_isa())] }

    /// Caps the micro-kernel (0 portable, 1 AVX2, 2 AVX-512) for tests that compare every path;
    /// returns the level in effect (never one the CPU lacks).
    @discardableResult
    public static func limitKernel(_ level: Int) -> Int { Int(mk_set_max_isa(Int32(level))) }
}
