import Foundation
import XCTest
@testable import Metrics

/// The paired approximate randomization test (`ApproximateRandomization`).
final class ApproximateRandomizationTests: XCTestCase {
    private func resource(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Resources/paired-ar")!.path
    }

    private func scores(_ system: String) throws -> CorpusScores {
        let options = FileScoringOptions(bleu: BLEU(), rouge: nil, chrf: [CHRF()], ter: TER(), keepSegments: true)
        return try FileScorer.score(hypotheses: resource(system), references: [resource("ref")], options: options)
    }

    /// sacreBLEU 2.6.0's p-values on the same files (Resources/paired-ar/README.md). Both are
    /// estimates from 10,000 random trials (numpy's coins there, SplitMix64's here): they agree
    /// within 0.02 (≈ 3 standard errors at p = 0.5); the scores agree to 1e-9.
    func testPValuesAgreeWithSacreBLEU() throws {
        let base = try scores("base")
        let expected: [(String, [Double], [Double])] = [
            ("sys1", [39.13216404831295, 62.769068448012874, 35.11525257479157], [0.27617238276172384, 0.692030796920308, 0.46425357464253575]),
            ("sys2", [42.86414003802089, 66.20986990151387, 31.38793526238352], [0.7338266173382662, 0.09819018098190181, 0.0665933406659334]),
        ]
        for (name, score, p) in expected {
            let sys = try scores(name)
            let results = [
                ApproximateRandomization.pairedBLEU(baseline: base.segmentBLEU, system: sys.segmentBLEU, config: BLEU()),
                ApproximateRandomization.pairedCHRF(baseline: base.segmentCHRF[0], system: sys.segmentCHRF[0], config: CHRF()),
                ApproximateRandomization.pairedTER(baseline: base.segmentTER, system: sys.segmentTER, config: TER()),
            ]
            assertClose(results[0].baselineScore, 42.00481950291407, "base BLEU")
            assertClose(results[1].baselineScore, 63.40992927350537, "base chrF")
            assertClose(results[2].baselineScore, 34.085335948994604, "base TER")
            for (k, r) in results.enumerated() {
                assertClose(r.systemScore, score[k], "\(name) metric \(k)")
                XCTAssertEqual(r.trials, 10_000)
                XCTAssertEqual(r.pValue, p[k], accuracy: 0.02, "\(name) metric \(k)")
            }
        }
    }

    /// The fast path (sums of the heads' differences, 64 coins a draw) equals the definition
    /// computed naively with the same coins: each trial builds both pseudo-systems segment by
    /// segment and scores them.
    func testEqualsTheDefinitionWithTheSameCoins() throws {
        let base = try scores("base"), sys = try scores("sys1")
        let config = BLEU(), trials = 300, seed: UInt64 = 99
        let fast = ApproximateRandomization.pairedBLEU(baseline: base.segmentBLEU, system: sys.segmentBLEU,
                                                       config: config, trials: trials, seed: seed)
        func total(_ s: [BLEUStatistics]) -> BLEUStatistics { s.reduce(into: BLEUStatistics()) { $0 += $1 } }
        let real = abs(config.score(total(sys.segmentBLEU)).score - config.score(total(base.segmentBLEU)).score)
        var rng = SplitMix64(seed: seed)
        var count = 0
        let n = sys.segmentBLEU.count
        for _ in 0..<trials {
            var a = BLEUStatistics(), b = BLEUStatistics()
            var bits: UInt64 = 0
            for i in 0..<n {
                if i % 64 == 0 { bits = rng.next() }
                let heads = (bits >> UInt64(i % 64)) & 1 == 1
                a += heads ? base.segmentBLEU[i] : sys.segmentBLEU[i]
                b += heads ? sys.segmentBLEU[i] : base.segmentBLEU[i]
            }
            if abs(config.score(a).score - config.score(b).score) > real { count += 1 }
        }
        XCTAssertEqual(fast.pValue, Double(count + 1) / Double(trials + 1))
        XCTAssertGreaterThan(count, 0)
        XCTAssertLessThan(count, trials)
    }

    /// A system compared with itself: every trial's difference is 0, none is *greater* than the
    /// real difference 0, so p = 1/(N + 1) — sacreBLEU 2.6.0's (and MultEval's) strict rule, which
    /// this test pins (sacreBLEU printed 0.004975124378109453 for chrF2 of sys2 against itself
    /// with 200 trials).
    func testASystemAgainstItselfFollowsSacreBLEUsStrictRule() throws {
        let s = try scores("sys2")
        let r = ApproximateRandomization.pairedCHRF(baseline: s.segmentCHRF[0], system: s.segmentCHRF[0], config: CHRF(), trials: 200)
        XCTAssertEqual(r.pValue, 0.004975124378109453)
        let m = ApproximateRandomization.pairedMean(baseline: [0.1, 0.5, 0.9], system: [0.1, 0.5, 0.9], trials: 50)
        XCTAssertEqual(m.pValue, 1.0 / 51)
    }

    /// Means (ROUGE F): a system that is better on every segment by a margin gets the smallest
    /// possible p when there are many segments, and the scores are the means.
    func testMeansOfSegmentValues() {
        var rng = SplitMix64(seed: 3)
        let base = (0..<400).map { _ in Double(rng.next(below: 1000)) / 2000 }
        let better = base.map { $0 + 0.3 }
        let r = ApproximateRandomization.pairedMean(baseline: base, system: better, trials: 1000)
        XCTAssertEqual(r.systemScore - r.baselineScore, 0.3, accuracy: 1e-12)
        XCTAssertEqual(r.pValue, 1.0 / 1001)
    }
}
