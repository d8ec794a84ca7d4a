import XCTest
@testable import Seq2Seq

/// The vectorised exp/tanh/sigmoid against Double libm over a dense sweep, and the vectorised
/// softmax/log-softmax against a Double reference (including ragged tails).
final class FastMathTests: XCTestCase {
    func testExpTanhSigmoidRelativeError() {
        var worst = (exp: 0.0, tanh: 0.0, sigmoid: 0.0)
        var x: Float = -90
        while x < 90 {
            let v = FastMath.V((0..<8).map { x + Float($0) * 0.0013 })
            let e = FastMath.exp(v), t = FastMath.tanh(v), s = FastMath.sigmoid(v)
            for l in 0..<8 {
                let d = Double(v[l])
                if d > -86.6 && d < 88.7 { worst.exp = max(worst.exp, abs(Double(e[l]) - Foundation.exp(d)) / Foundation.exp(d)) }
                let td = Foundation.tanh(d)
                if td != 0 { worst.tanh = max(worst.tanh, abs(Double(t[l]) - td) / abs(td)) }
                let sd = 1 / (1 + Foundation.exp(-d))
                if sd > 1e-37 { worst.sigmoid = max(worst.sigmoid, abs(Double(s[l]) - sd) / sd) }
                XCTAssertTrue(e[l].isFinite && t[l].isFinite && s[l].isFinite)
            }
            x += 0.0173
        }
        XCTAssertLessThan(worst.exp, 1e-6)
        XCTAssertLessThan(worst.tanh, 1e-6)
        XCTAssertLessThan(worst.sigmoid, 1e-6)
        XCTAssertEqual(FastMath.exp(FastMath.V(repeating: -200))[0], 0)
        XCTAssertEqual(FastMath.tanh(FastMath.V(repeating: 1e-20))[0], 1e-20)
        XCTAssertEqual(FastMath.tanh(FastMath.V(repeating: -50))[0], -1)
        XCTAssertEqual(FastMath.sigmoid(FastMath.V(repeating: 0))[0], 0.5)
    }

    func testSoftmaxRowsMatchesDouble() {
        var rng = RandomGenerator(seed: 3)
        for cols in [1, 3, 8, 13, 50, 1001] {
            let x = (0..<(2 * cols)).map { _ in (rng.nextUniform() - 0.5) * 40 }
            let p = FloatBuffer(x), xs = FloatBuffer(x), lz = FloatBuffer(count: 2), ls = FloatBuffer(count: 2 * cols)
            Kernels.softmaxRows(p.pointer, rows: 2, cols: cols, logZ: lz.pointer)
            Kernels.logSoftmaxRows(xs.pointer, ls.pointer, rows: 2, cols: cols)
            withExtendedLifetime(xs) {}
            for r in 0..<2 {
                let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
                let m = row.max()!
                let z = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                XCTAssertEqual(Double(lz[r]), z, accuracy: 1e-5 * max(1, abs(z)))
                for j in 0..<cols {
                    XCTAssertEqual(Double(p[r * cols + j]), Foundation.exp(row[j] - z), accuracy: 1e-6)
                    XCTAssertEqual(Double(ls[r * cols + j]), row[j] - z, accuracy: 1e-5 * max(1, abs(row[j] - z)))
                }
            }
        }
    }
}
