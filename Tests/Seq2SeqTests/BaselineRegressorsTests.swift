import XCTest
@testable import Seq2Seq

final class BaselineRegressorsTests: XCTestCase {
    func testReferenceInitialisation() {
        let b = BaselineRegressors(steps: 3, inputSize: 4)
        XCTAssertEqual(b.params.values("baseline.weight"), [Float](repeating: 0, count: 12))
        XCTAssertEqual(b.params.values("baseline.bias"), [0.01, 0.01, 0.01])
    }

    /// Central finite differences of the masked squared error, in Float on tiny shapes:
    /// the loss is quadratic, so the central difference is exact up to rounding (~1e-3 rel).
    func testGradientMatchesFiniteDifferences() {
        for seed in 0..<5 {
            var rng = RandomGenerator(seed: UInt64(seed))
            let T = 3, H = 5, R = 4
            let b = BaselineRegressors(steps: T, inputSize: H)
            for i in 0..<b.params.count { b.params.storage[i] = rng.nextNormal() * 0.3 }
            let x = (0..<R * H).map { _ in rng.nextNormal() }
            let reward = (0..<R).map { _ in rng.nextUniform() }
            let mask: [Float] = [1, 0, 1, 1]
            let t = seed % T
            func loss() -> Double {
                var p = [Float](repeating: 0, count: R)
                b.predict(step: t, x: x, rows: R, out: &p)
                var total = 0.0
                for r in 0..<R {
                    let e = Double(p[r] - reward[r])
                    total += Double(mask[r]) * e * e
                }
                return total
            }
            var p = [Float](repeating: 0, count: R)
            b.predict(step: t, x: x, rows: R, out: &p)
            b.grads.zero()
            b.accumulateGradient(step: t, x: x, rows: R, prediction: p, reward: reward, mask: mask, scale: 1)
            for i in 0..<b.params.count {
                let old = b.params.storage[i], h: Float = 1e-2
                b.params.storage[i] = old + h; let lp = loss()
                b.params.storage[i] = old - h; let lm = loss()
                b.params.storage[i] = old
                let fd = (lp - lm) / (2 * Double(h))
                XCTAssertEqual(Double(b.grads.storage[i]), fd, accuracy: 1e-3 * max(1, abs(fd)), "seed \(seed) param \(i)")
            }
        }
    }
}
