// Bootstrap resampling (Koehn, 2004, https://aclanthology.org/W04-3250) as sacreBLEU 2.6.0's
// `--confidence` and `--paired-bs` compute it, with a seeded SplitMix64 in place of numpy's
// generator: the statistics are the same, the resamples (and so the last digits) differ.

/// The result of sacreBLEU's paired bootstrap test of a system against a baseline.
public struct PairedBootstrapResult: Equatable, Sendable {
    /// The baseline's and the system's actual scores.
    public var baselineScore: Double
    public var systemScore: Double
    /// The system's bootstrap mean and 95% half-width.
    public var system: ConfidenceInterval
    /// `p = (#{d_i − mean(d) > |s − b|} + 1) / (N + 1)` with `d_i = |s_i − b_i|` on resample i.
    public var pValue: Double
}

/// Seeded bootstrap resampling over per-segment statistics.
public enum Bootstrap {
    /// sacreBLEU's `estimate_ci`: the mean of `scores` and half the distance between the sorted
    /// scores at ranks ⌊n/40⌋ and n − ⌊n/40⌋ − 1 (the central 95%).
    public static func estimate(_ scores: [Double], seed: UInt64) -> ConfidenceInterval {
        let s = scores.sorted()
        let n = s.count
        guard n > 0 else { return ConfidenceInterval(mean: 0, halfWidth: 0, samples: 0, seed: seed) }
        let lo = n / 40, hi = n - lo - 1
        return ConfidenceInterval(mean: s.reduce(0, +) / Double(n), halfWidth: 0.5 * (s[hi] - s[lo]),
                                  samples: n, seed: seed)
    }

    /// Calls `body` once per resample with the indices drawn (n draws with replacement of 0..<n).
    /// - Complexity: O(samples · n).
    public static func forEachResample(count n: Int, samples: Int, seed: UInt64, _ body: ([Int]) -> Void) {
        var rng = SplitMix64(seed: seed)
        var idx = [Int](repeating: 0, count: n)
        for _ in 0..<samples {
            for i in 0..<n { idx[i] = rng.next(below: n) }
            body(idx)
        }
    }

    /// The confidence interval of corpus BLEU over `samples` resamples of the segments.
    public static func bleu(_ stats: [BLEUStatistics], config: BLEU, samples: Int = 1000, seed: UInt64 = 12345) -> ConfidenceInterval {
        var scores: [Double] = []
        forEachResample(count: stats.count, samples: samples, seed: seed) { idx in
            var sum = BLEUStatistics()
            for i in idx { sum += stats[i] }
            scores.append(config.score(sum).score)
        }
        return estimate(scores, seed: seed)
    }

    /// The confidence interval of a mean of per-segment values (ROUGE: the mean F).
    public static func mean(_ values: [Double], samples: Int = 1000, seed: UInt64 = 12345) -> ConfidenceInterval {
        var scores: [Double] = []
        forEachResample(count: values.count, samples: samples, seed: seed) { idx in
            var s = 0.0
            for i in idx { s += values[i] }
            scores.append(values.isEmpty ? 0 : s / Double(values.count))
        }
        return estimate(scores, seed: seed)
    }

    /// sacreBLEU's paired bootstrap test for any corpus score computed from per-segment data:
    /// both systems are scored on the same resamples.
    public static func paired(count n: Int, samples: Int = 1000, seed: UInt64 = 12345,
                              baseline: ([Int]?) -> Double, system: ([Int]?) -> Double) -> PairedBootstrapResult {
        let b0 = baseline(nil), s0 = system(nil)
        var bs: [Double] = [], ss: [Double] = []
        forEachResample(count: n, samples: samples, seed: seed) { idx in
            bs.append(baseline(idx)); ss.append(system(idx))
        }
        let diffs = zip(ss, bs).map { abs($0 - $1) }
        let meanDiff = diffs.isEmpty ? 0 : diffs.reduce(0, +) / Double(diffs.count)
        let real = abs(b0 - s0)
        let c = diffs.filter { $0 - meanDiff > real }.count
        return PairedBootstrapResult(baselineScore: b0, systemScore: s0, system: estimate(ss, seed: seed),
                                     pValue: Double(c + 1) / Double(samples + 1))
    }

    /// The paired bootstrap test for corpus BLEU.
    public static func pairedBLEU(baseline: [BLEUStatistics], system: [BLEUStatistics], config: BLEU,
                                  samples: Int = 1000, seed: UInt64 = 12345) -> PairedBootstrapResult {
        precondition(baseline.count == system.count, "Both systems need the same number of segments")
        func score(_ st: [BLEUStatistics], _ idx: [Int]?) -> Double {
            var sum = BLEUStatistics()
            if let idx { for i in idx { sum += st[i] } } else { for s in st { sum += s } }
            return config.score(sum).score
        }
        return paired(count: system.count, samples: samples, seed: seed,
                      baseline: { score(baseline, $0) }, system: { score(system, $0) })
    }

    /// The confidence interval of any corpus score computed from summed per-segment statistics
    /// (chrF, TER): `zero` is the empty sum, `score` the corpus score of a sum.
    /// - Complexity: O(samples · n) additions of statistics.
    public static func corpus<S>(_ stats: [S], zero: S, add: (inout S, S) -> Void, score: (S) -> Double,
                                 samples: Int = 1000, seed: UInt64 = 12345) -> ConfidenceInterval {
        var scores: [Double] = []
        forEachResample(count: stats.count, samples: samples, seed: seed) { idx in
            var sum = zero
            for i in idx { add(&sum, stats[i]) }
            scores.append(score(sum))
        }
        return estimate(scores, seed: seed)
    }

    /// The paired bootstrap test for any corpus score computed from summed per-segment statistics.
    /// - Precondition: both systems have the same number of segments.
    public static func pairedCorpus<S>(baseline: [S], system: [S], zero: S, add: (inout S, S) -> Void,
                                       score: (S) -> Double, samples: Int = 1000,
                                       seed: UInt64 = 12345) -> PairedBootstrapResult {
        precondition(baseline.count == system.count, "Both systems need the same number of segments")
        func corpus(_ st: [S], _ idx: [Int]?) -> Double {
            var sum = zero
            if let idx { for i in idx { add(&sum, st[i]) } } else { for s in st { add(&sum, s) } }
            return score(sum)
        }
        return paired(count: system.count, samples: samples, seed: seed,
                      baseline: { corpus(baseline, $0) }, system: { corpus(system, $0) })
    }

    /// The confidence interval of corpus chrF.
    public static func chrf(_ stats: [CHRFStatistics], config: CHRF, samples: Int = 1000, seed: UInt64 = 12345) -> ConfidenceInterval {
        corpus(stats, zero: CHRFStatistics(orders: config.order), add: { $0 += $1 }, score: { config.fScore($0) },
               samples: samples, seed: seed)
    }

    /// The paired bootstrap test for corpus chrF.
    public static func pairedCHRF(baseline: [CHRFStatistics], system: [CHRFStatistics], config: CHRF,
                                  samples: Int = 1000, seed: UInt64 = 12345) -> PairedBootstrapResult {
        pairedCorpus(baseline: baseline, system: system, zero: CHRFStatistics(orders: config.order), add: { $0 += $1 },
                     score: { config.fScore($0) }, samples: samples, seed: seed)
    }

    /// The confidence interval of corpus TER.
    public static func ter(_ stats: [TERStatistics], config: TER, samples: Int = 1000, seed: UInt64 = 12345) -> ConfidenceInterval {
        corpus(stats, zero: TERStatistics(), add: { $0 += $1 }, score: { config.score($0).score }, samples: samples, seed: seed)
    }

    /// The paired bootstrap test for corpus TER.
    public static func pairedTER(baseline: [TERStatistics], system: [TERStatistics], config: TER,
                                 samples: Int = 1000, seed: UInt64 = 12345) -> PairedBootstrapResult {
        pairedCorpus(baseline: baseline, system: system, zero: TERStatistics(), add: { $0 += $1 },
                     score: { config.score($0).score }, samples: samples, seed: seed)
    }

    /// The paired bootstrap test for a mean of per-segment values (ROUGE F).
    public static func pairedMean(baseline: [Double], system: [Double], samples: Int = 1000,
                                  seed: UInt64 = 12345) -> PairedBootstrapResult {
        precondition(baseline.count == system.count, "Both systems need the same number of segments")
        func score(_ v: [Double], _ idx: [Int]?) -> Double {
            guard !v.isEmpty else { return 0 }
            if let idx { return idx.reduce(0.0) { $0 + v[$1] } / Double(v.count) }
            return v.reduce(0, +) / Double(v.count)
        }
        return paired(count: system.count, samples: samples, seed: seed,
                      baseline: { score(baseline, $0) }, system: { score(system, $0) })
    }
}

/// rouge-score's `AggregateScore`: the low, mid and high percentiles of the bootstrap means
/// of precision, recall and F, each measure on its own (so `low.f` is not the F of `low`'s P
/// and R), on 0–1.
public struct ROUGEAggregate: Equatable, Sendable {
    public var low: ROUGEScore
    public var mid: ROUGEScore
    public var high: ROUGEScore
}

extension Bootstrap {
    /// numpy's `np.percentile(v, q)` with its default linear method on `sorted` (ascending):
    /// the value at position p = q/100 · (n − 1), interpolated between its neighbours as
    /// numpy's `_lerp` does (a + (b − a)·t, or b − (b − a)·(1 − t) when t ≥ ½).
    /// - Precondition: `sorted` is not empty and `q` is in 0...100.
    /// - Complexity: O(1).
    public static func percentile(sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty, "Cannot take a percentile of no values")
        precondition((0...100).contains(q), "A percentile is between 0 and 100")
        let position = q / 100 * Double(sorted.count - 1)
        let i = Int(position.rounded(.down))
        let t = position - Double(i)
        guard i + 1 < sorted.count else { return sorted[sorted.count - 1] }
        let a = sorted[i], b = sorted[i + 1], d = b - a
        return t >= 0.5 ? b - d * (1 - t) : a + d * t
    }

    /// rouge-score's `BootstrapAggregator.aggregate()` for one ROUGE type: `samples` resamples
    /// of the n segments (n draws with replacement, seeded SplitMix64 where rouge-score uses
    /// numpy's unseeded generator), the mean P, R and F of each resample, then per measure the
    /// (1 − level)/2, 50th and (1 + level)/2 percentiles (``percentile(sorted:_:)``): with
    /// level 0.95, the 2.5th, 50th and 97.5th. `mid` is the median of the resampled means, not
    /// the mean (rouge-score's docstring says mean; its code takes the 50th percentile).
    ///
    /// The resamples are the draws of ``mean(_:samples:seed:)`` with the same seed, so `mid.f`
    /// and that interval come from the same resampled means. No segments give zeros.
    /// - Complexity: O(samples · n + samples · log samples).
    public static func rougeAggregate(_ scores: [ROUGEScore], samples: Int = 1000, seed: UInt64 = 12345,
                                      level: Double = 0.95) -> ROUGEAggregate {
        precondition(samples > 0, "Bootstrap needs at least one resample")
        precondition((0...1).contains(level), "The confidence level is between 0 and 1")
        guard !scores.isEmpty else { return ROUGEAggregate(low: .zero, mid: .zero, high: .zero) }
        let n = Double(scores.count)
        var p: [Double] = [], r: [Double] = [], f: [Double] = []
        p.reserveCapacity(samples); r.reserveCapacity(samples); f.reserveCapacity(samples)
        forEachResample(count: scores.count, samples: samples, seed: seed) { idx in
            var sp = 0.0, sr = 0.0, sf = 0.0
            for i in idx { sp += scores[i].precision; sr += scores[i].recall; sf += scores[i].f }
            p.append(sp / n); r.append(sr / n); f.append(sf / n)
        }
        p.sort(); r.sort(); f.sort()
        let delta = (1 - level) / 2
        func at(_ q: Double) -> ROUGEScore {
            var s = ROUGEScore(precision: percentile(sorted: p, q), recall: percentile(sorted: r, q))
            s.f = percentile(sorted: f, q)
            return s
        }
        return ROUGEAggregate(low: at(100 * delta), mid: at(50), high: at(100 * (1 - delta)))
    }
}
