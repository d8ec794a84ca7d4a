// The paired approximate randomization test (Riezler & Maxwell, 2005,
// https://aclanthology.org/W05-0908; Clark et al.'s MultEval) as sacreBLEU 2.6.0's `--paired-ar`
// computes it, with a seeded SplitMix64 in place of numpy's generator: the test statistic and
// the p-value rule are the same, the coin flips (and so the last digits of p) differ.

/// The result of a paired approximate randomization test of a system against a baseline.
public struct PairedRandomizationResult: Equatable, Sendable {
    /// The baseline's and the system's actual corpus scores.
    public var baselineScore: Double
    public var systemScore: Double
    /// `p = (#{t : |A_t − B_t| > |s − b|} + 1) / (N + 1)` over N trials, where trial t swaps
    /// each segment's two outputs with probability ½ and scores the two pseudo-systems A_t, B_t.
    public var pValue: Double
    /// The number of trials N.
    public var trials: Int
}

/// Paired approximate randomization over per-segment sufficient statistics.
///
/// Under the null hypothesis the two systems are exchangeable segment by segment, so each trial
/// flips a fair coin per segment i: pseudo-system A takes the baseline's statistics b_i where the
/// coin shows heads and the system's s_i where it shows tails, B the opposite; both are scored
/// with the corpus metric. With D_t = Σ_{i ∈ heads} (b_i − s_i), A_t = S + D_t and B_t = Bs − D_t
/// (S, Bs the two systems' sums), so a trial costs one pass over the heads' differences.
/// The p-value counts trials whose |score(A_t) − score(B_t)| is strictly greater than the real
/// |score(s) − score(b)|, plus one, over N + 1 (sacreBLEU's `_compute_p_value`, after MultEval).
/// Being strict, it gives a system compared with itself p = 1/(N + 1), as sacreBLEU does: read
/// p together with the difference of the scores.
public enum ApproximateRandomization {
    /// The test for any corpus score computed from summed per-segment statistics, each given as a
    /// vector of `dimensions` numbers (`vector`), the score computed from a summed vector
    /// (`score`). Integer statistics are exact in Double (below 2⁵³).
    /// - Precondition: both systems have the same number of segments.
    /// - Complexity: O(trials · n · dimensions / 2) additions; O(n · dimensions) memory.
    public static func pairedCorpus<S>(baseline: [S], system: [S], dimensions: Int, vector: (S) -> [Double],
                                       score: ([Double]) -> Double, trials: Int = 10_000,
                                       seed: UInt64 = 12345) -> PairedRandomizationResult {
        precondition(baseline.count == system.count, "Both systems need the same number of segments")
        let n = system.count, d = dimensions
        var diff = [Double](repeating: 0, count: n * d)
        var sumB = [Double](repeating: 0, count: d), sumS = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let b = vector(baseline[i]), s = vector(system[i])
            precondition(b.count == d && s.count == d, "Statistics must have \(d) dimensions")
            for k in 0..<d {
                sumB[k] += b[k]; sumS[k] += s[k]
                diff[i * d + k] = b[k] - s[k]
            }
        }
        let b0 = score(sumB), s0 = score(sumS)
        let real = abs(s0 - b0)
        var rng = SplitMix64(seed: seed)
        var delta = [Double](repeating: 0, count: d)
        var a = [Double](repeating: 0, count: d), bb = [Double](repeating: 0, count: d)
        var count = 0
        for _ in 0..<trials {
            for k in 0..<d { delta[k] = 0 }
            var i = 0
            while i < n {
                var bits = rng.next()
                let end = min(n, i + 64)
                diff.withUnsafeBufferPointer { dp in
                    for j in i..<end {
                        if bits & 1 == 1 { for k in 0..<d { delta[k] += dp[j * d + k] } }
                        bits >>= 1
                    }
                }
                i = end
            }
            for k in 0..<d { a[k] = sumS[k] + delta[k]; bb[k] = sumB[k] - delta[k] }
            if abs(score(a) - score(bb)) > real { count += 1 }
        }
        return PairedRandomizationResult(baselineScore: b0, systemScore: s0,
                                         pValue: Double(count + 1) / Double(trials + 1), trials: trials)
    }

    /// The test for corpus BLEU (statistics: hypothesis and reference lengths, 4 matches, 4 totals).
    public static func pairedBLEU(baseline: [BLEUStatistics], system: [BLEUStatistics], config: BLEU,
                                  trials: Int = 10_000, seed: UInt64 = 12345) -> PairedRandomizationResult {
        pairedCorpus(baseline: baseline, system: system, dimensions: 10, vector: { s in
            [Double(s.hypothesisLength), Double(s.referenceLength)]
                + (0..<4).map { Double(s.matches[$0]) } + (0..<4).map { Double(s.totals[$0]) }
        }, score: { v in
            var s = BLEUStatistics()
            s.hypothesisLength = Int(v[0]); s.referenceLength = Int(v[1])
            for k in 0..<4 { s.matches[k] = Int(v[2 + k]); s.totals[k] = Int(v[6 + k]) }
            return config.score(s).score
        }, trials: trials, seed: seed)
    }

    /// The test for corpus chrF (or chrF++): its 3 statistics per order.
    public static func pairedCHRF(baseline: [CHRFStatistics], system: [CHRFStatistics], config: CHRF,
                                  trials: Int = 10_000, seed: UInt64 = 12345) -> PairedRandomizationResult {
        let d = CHRFStatistics(orders: config.order).values.count
        return pairedCorpus(baseline: baseline, system: system, dimensions: d, vector: { $0.values.map(Double.init) },
                            score: { config.fScore(CHRFStatistics(values: $0.map { Int($0) })) }, trials: trials, seed: seed)
    }

    /// The test for corpus TER (edits, reference length).
    public static func pairedTER(baseline: [TERStatistics], system: [TERStatistics], config: TER,
                                 trials: Int = 10_000, seed: UInt64 = 12345) -> PairedRandomizationResult {
        pairedCorpus(baseline: baseline, system: system, dimensions: 2,
                     vector: { [Double($0.edits), $0.referenceLength] },
                     score: { config.score(TERStatistics(edits: Int($0[0]), referenceLength: $0[1])).score },
                     trials: trials, seed: seed)
    }

    /// The test for a mean of per-segment values (ROUGE F): A_t and B_t are means over segments.
    public static func pairedMean(baseline: [Double], system: [Double], trials: Int = 10_000,
                                  seed: UInt64 = 12345) -> PairedRandomizationResult {
        let n = Double(max(system.count, 1))
        return pairedCorpus(baseline: baseline, system: system, dimensions: 1, vector: { [$0] },
                            score: { $0[0] / n }, trials: trials, seed: seed)
    }
}
