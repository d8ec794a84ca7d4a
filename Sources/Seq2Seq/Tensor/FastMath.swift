/// SIMD8<Float> loads and stores with ragged tails, for the vectorised loops written in Swift
/// (the optimizer). The transcendental kernels (exp in softmax, σ and tanh in the LSTM cell) are
/// in C, `CKernels` (AVX-512 / AVX2 / portable, chosen at run time).
enum FastMath {
    typealias V = SIMD8<Float>

    /// Loads up to 8 floats (zeros past `n`).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ n: Int) -> V {
        if n >= 8 { return UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var v = V(repeating: 0)
        for i in 0..<n { v[i] = p[i] }
        return v
    }

    /// Stores the first min(n, 8) lanes.
    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        if n >= 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self); return }
        for i in 0..<n { p[i] = v[i] }
    }
}
