import XCTest
@testable import Metrics

/// Exact pins of the bootstrap figures (issue 22): sacreBLEU's interval rule and paired p-value
/// on fixed inputs, computed here from the definitions, so a change of rank, rounding or
/// counting rule fails.
final class BootstrapPinTests: XCTestCase {
    /// estimate_ci: the mean, and half the distance between the sorted scores at ranks ⌊n/40⌋
    /// and n − ⌊n/40⌋ − 1.
    func testIntervalOnAFixedSet() {
        var scores = (1...80).map(Double.init)
        scores.reverse()
        let ci = Bootstrap.estimate(scores, seed: 9)
        XCTAssertEqual(ci.mean, 40.5)
        XCTAssertEqual(ci.halfWidth, 0.5 * (78 - 3))  // ranks 2 and 77
        XCTAssertEqual(ci.samples, 80)
        let small = Bootstrap.estimate((0..<39).map { Double($0 * $0) }, seed: 1)
        XCTAssertEqual(small.halfWidth, 0.5 * Double(38 * 38))  // ⌊39/40⌋ = 0: the whole range
        XCTAssertEqual(Bootstrap.estimate([], seed: 1), ConfidenceInterval(mean: 0, halfWidth: 0, samples: 0, seed: 1))
    }

    /// The paired test on the resamples of a fixed seed: p = (#{d_i − mean(d) > |s − b|} + 1)
    /// / (N + 1), d_i = |s_i − b_i| — counted here by hand on the same resamples.
    func testPairedPValueOnFixedResamples() {
        let system: [Double] = [1, 0, 1, 1, 0, 1, 1, 0, 1, 1]
        let baseline: [Double] = [0, 0, 1, 0, 0, 1, 0, 0, 1, 0]
        func mean(_ v: [Double], _ idx: [Int]?) -> Double {
            let i = idx ?? Array(v.indices)
            return i.map { v[$0] }.reduce(0, +) / Double(i.count)
        }
        let samples = 200, seed: UInt64 = 77
        let r = Bootstrap.paired(count: system.count, samples: samples, seed: seed,
                                 baseline: { mean(baseline, $0) }, system: { mean(system, $0) })
        var d: [Double] = [], ss: [Double] = []
        Bootstrap.forEachResample(count: system.count, samples: samples, seed: seed) { idx in
            d.append(abs(mean(system, idx) - mean(baseline, idx)))
            ss.append(mean(system, idx))
        }
        let real = abs(0.7 - 0.3)
        let m = d.reduce(0, +) / Double(d.count)
        let expected = Double(d.filter { $0 - m > real }.count + 1) / Double(samples + 1)
        XCTAssertEqual(r.baselineScore, 0.3, accuracy: 1e-15)
        XCTAssertEqual(r.systemScore, 0.7, accuracy: 1e-15)
        XCTAssertEqual(r.pValue, expected)
        XCTAssertEqual(r.system, Bootstrap.estimate(ss, seed: seed))
        // Identical systems: every d_i = 0 and none exceeds the real difference 0, so p = 1/(N+1).
        let same = Bootstrap.paired(count: 10, samples: samples, seed: seed,
                                    baseline: { mean(system, $0) }, system: { mean(system, $0) })
        XCTAssertEqual(same.pValue, 1 / Double(samples + 1))
        // The resamples themselves are pinned by the seed: the first three draws of seed 77.
        var first: [[Int]] = []
        Bootstrap.forEachResample(count: 4, samples: 3, seed: 77) { first.append($0) }
        var again: [[Int]] = []
        Bootstrap.forEachResample(count: 4, samples: 3, seed: 77) { again.append($0) }
        XCTAssertEqual(first, again)
        XCTAssertTrue(first.allSatisfy { $0.count == 4 && $0.allSatisfy { (0..<4).contains($0) } })
    }
}
