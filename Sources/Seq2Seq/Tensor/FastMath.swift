/// Vectorised exp, tanh and sigmoid over SIMD8<Float> lanes (branch-free, no libm calls), for
/// the elementwise loops of the LSTM cells, the attention and the softmax.
///
/// exp: Cody–Waite range reduction x = n·ln2 + r (|r| ≤ ln2/2, ln2 split in two parts), a
/// degree-6 minimax polynomial for e^r (Cephes `expf`'s coefficients) and 2^n built in the
/// exponent bits; relative error ≤ 2 ulp (≈ 2.4e-7) for x in [−86.6, 88.7], 0 below (where
/// e^x < 2.4e-38), e^88.7 above (no infinity). tanh: for |x| < 0.625 the odd polynomial
/// x + x³·P(x²) (Cephes `tanhf`), else sign(x)·(1 − 2/(e^{2|x|} + 1)); relative error ≈ 3e-7.
/// sigmoid: 1/(1 + e^{−x}), which never cancels; relative error ≈ 3e-7.
enum FastMath {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func exp(_ x: V) -> V {
        let lo = V(repeating: -86.6)
        let hi = V(repeating: 88.72283)
        let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        // n = round(x / ln2) by the 1.5·2^23 trick: t's low mantissa bits hold n exactly.
        let magic = V(repeating: 12_582_912)
        let t = xc * V(repeating: 1.442_695_04) + magic
        let n = t - magic
        var r = xc - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_6e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_1e-1)
        p = p * (r * r) + r + V(repeating: 1)
        // 2^n = 2·2^(n−1) with n − 1 ∈ [−126, 127] in the exponent field (always normal).
        let ti: SIMD8<Int32> = unsafeBitCast(t, to: SIMD8<Int32>.self)
        let bits = (ti &- SIMD8<Int32>(repeating: 0x4B40_0000 - 126)) &<< SIMD8<Int32>(repeating: 23)
        let y = p * unsafeBitCast(bits, to: V.self) * V(repeating: 2)
        return y.replacing(with: 0, where: x .< lo)
    }

    @inline(__always)
    static func sigmoid(_ x: V) -> V { V(repeating: 1) / (V(repeating: 1) + exp(-x)) }

    @inline(__always)
    static func tanh(_ x: V) -> V {
        let ax = x.replacing(with: -x, where: x .< 0)
        let e = exp(ax + ax)
        var big = V(repeating: 1) - V(repeating: 2) / (e + V(repeating: 1))
        big.replace(with: -big, where: x .< 0)
        let z = x * x
        var p = V(repeating: -5.704_988_727_45e-3)
        p = p * z + V(repeating: 2.063_908_879_54e-2)
        p = p * z + V(repeating: -5.373_971_555_31e-2)
        p = p * z + V(repeating: 1.333_144_220_36e-1)
        p = p * z + V(repeating: -3.333_328_194_22e-1)
        let small = p * z * x + x
        return small.replacing(with: big, where: ax .>= 0.625)
    }

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

    /// y[i] = f(x[i]) for n elements (x and y may alias).
    @inline(__always)
    static func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V) -> V) {
        var i = 0
        while i < n {
            let k = min(8, n - i)
            store(f(load(x + i, k)), y + i, k)
            i += 8
        }
    }

    /// Scalar exp through the vector path (for code that needs one value with the same rounding).
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }
}
