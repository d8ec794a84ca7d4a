import XCTest
@testable import Seq2Seq

/// Central-difference gradient checking for Float32 code.
///
/// numeric = (L(θ + ε) − L(θ − ε)) / 2ε with the loss summed in Double. A coordinate passes
/// when |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|). Float32 forward passes
/// round each output to ~6e-8 relative; on these tiny shapes the loss (~1–10) carries an
/// absolute rounding noise of about 1e-6, which the difference quotient amplifies by 1/2ε
/// (ε = 1e-2: ~5e-5), while the truncation error is ε²/6·|L'''| ≈ 2e-5 for the smooth
/// tanh/sigmoid/softmax compositions here. atol = 1e-3 leaves a 10–20× margin over both,
/// and rtol = 1e-2 covers the rare larger third derivative (measured: the worst coordinate of the
/// whole-model checks uses ~2% of its tolerance); a wrong gradient (a missing term,
/// a transposed weight) is off by O(|g|) and fails by orders of magnitude.
enum GradCheck {
    static let eps: Float = 1e-2
    static let atol = 1e-3
    static let rtol = 1e-2
    /// The largest |a − n| / (atol + rtol·max) seen by `checkStore` so far (≤ 1 passes).
    nonisolated(unsafe) static var worstRatio = 0.0

    struct Worst: CustomStringConvertible {
        var name = ""
        var index = -1
        var analytic = 0.0
        var numeric = 0.0
        var ratio = 0.0  // |a − n| / (atol + rtol·max)
        var description: String {
            "\(name)[\(index)]: analytic \(analytic), numeric \(numeric), diff \(abs(analytic - numeric))"
        }
    }

    /// Perturbs `x[i]` by ±eps and returns the central difference of `loss`.
    static func numeric(_ x: UnsafeMutablePointer<Float>, _ i: Int, eps: Float = eps, _ loss: () -> Double) -> Double {
        let old = x[i]
        x[i] = old + eps
        let lp = loss()
        x[i] = old - eps
        let lm = loss()
        x[i] = old
        return (lp - lm) / (2 * Double(eps))
    }

    /// Checks coordinates `indices` (all when nil) of a buffer of `count` floats against
    /// `analytic`; returns the worst coordinate.
    static func check(name: String, _ x: UnsafeMutablePointer<Float>, count: Int, analytic: UnsafePointer<Float>,
                      indices: [Int]? = nil, atol: Double = atol, rtol: Double = rtol, _ loss: () -> Double) -> Worst {
        var worst = Worst(name: name)
        for i in indices ?? Array(0..<count) {
            let n = numeric(x, i, loss)
            let a = Double(analytic[i])
            let r = abs(a - n) / (atol + rtol * max(abs(a), abs(n)))
            if r > worst.ratio || worst.index < 0 { worst = Worst(name: name, index: i, analytic: a, numeric: n, ratio: r) }
        }
        return worst
    }

    /// Checks every tensor of `params` (or a random sample of `sample` coordinates per tensor)
    /// against `grads`; fails naming the tensor and its largest difference.
    @discardableResult
    static func checkStore(_ params: ParameterStore, _ grads: ParameterStore, label: String, sample: Int? = nil,
                           rng: inout RandomGenerator, atol: Double = atol, rtol: Double = rtol,
                           file: StaticString = #filePath, line: UInt = #line, _ loss: () -> Double) -> Int {
        var checked = 0
        for e in params.entries {
            var idx: [Int]? = nil
            if let sample, e.count > sample { idx = (0..<sample).map { _ in Int(rng.next() % UInt64(e.count)) } }
            let w = check(name: e.name, params.view(e), count: e.count, analytic: grads.view(e), indices: idx,
                          atol: atol, rtol: rtol, loss)
            checked += idx?.count ?? e.count
            worstRatio = max(worstRatio, w.ratio)
            if w.ratio > 1 { XCTFail("\(label): gradient mismatch in \(w)", file: file, line: line) }
        }
        return checked
    }

    /// Fills a buffer with uniform values in [−s, s].
    static func fill(_ x: UnsafeMutablePointer<Float>, _ n: Int, scale s: Float = 1, rng: inout RandomGenerator) {
        for i in 0..<n { x[i] = (2 * rng.nextUniform() - 1) * s }
    }

    /// Σ r_i·y_i in Double.
    static func dot(_ r: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(r[i]) * Double(y[i]) }
        return s
    }
}

/// Runs `body(level)` once for each kernel level this CPU has (0 portable C, 1 AVX2+FMA,
/// 2 AVX-512) with `CKernels` capped at that level, then restores the highest level.
func forEachKernelLevel(_ body: (Int) throws -> Void) rethrows {
    defer { PackedMatrix.limitKernel(2) }
    for level in availableKernelLevels() {
        PackedMatrix.limitKernel(level)
        try body(level)
    }
}

/// The kernel levels this CPU has (0 is always there).
func availableKernelLevels() -> [Int] {
    defer { PackedMatrix.limitKernel(2) }
    return (0...2).filter { PackedMatrix.limitKernel($0) == $0 }
}
