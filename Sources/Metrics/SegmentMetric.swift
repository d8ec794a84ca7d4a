/// A corpus metric computed from per-segment statistics that add up (BLEU, chrF, TER): a segment
/// scorer counts one segment's references and hypothesis, and the score of a corpus is the
/// score of the summed statistics (sacreBLEU's `corpus_score`).
///
/// Conforming types give the scorer, the zero statistics and the score; this extension gives
/// the sentence and corpus entry points once for all of them.
public protocol SegmentMetric {
    associatedtype Statistics: SegmentStatistics
    associatedtype Score
    associatedtype Scorer: SegmentScorer where Scorer.Statistics == Statistics
    /// A scorer with reusable buffers (one per thread).
    func makeSegmentScorer() -> Scorer
    /// The statistics that sum to those of a corpus (no segment).
    var zeroStatistics: Statistics { get }
    /// The score of (summed) statistics.
    func score(_ stats: Statistics) -> Score
}

/// Per-segment statistics that add up to a corpus's.
public protocol SegmentStatistics {
    static func + (a: Self, b: Self) -> Self
}

extension BLEUStatistics: SegmentStatistics {}
extension CHRFStatistics: SegmentStatistics {}
extension TERStatistics: SegmentStatistics {}

/// Counts one segment at a time: `beginSegment`, `addReference` per reference, then
/// `finishSegment` with the hypothesis.
public protocol SegmentScorer {
    associatedtype Statistics
    func beginSegment()
    func addReference(_ line: String)
    func finishSegment(hypothesis: String) -> Statistics
}

extension SegmentMetric {
    /// The statistics of one segment; nil references are skipped (sacreBLEU's `None`).
    /// - Complexity: that of the scorer, once per reference and for the hypothesis.
    public func statistics(hypothesis: String, references: [String?]) -> Statistics {
        let s = makeSegmentScorer()
        s.beginSegment()
        for r in references { if let r { s.addReference(r) } }
        return s.finishSegment(hypothesis: hypothesis)
    }

    /// sacreBLEU's `sentence_score`.
    public func sentenceScore(hypothesis: String, references: [String?]) -> Score {
        score(statistics(hypothesis: hypothesis, references: references))
    }

    /// Per-segment statistics of a corpus: `references` holds one stream per reference set, each
    /// as long as `hypotheses` (nil entries mark missing references).
    /// - Precondition: every stream has `hypotheses.count` entries.
    public func corpusStatistics(hypotheses: [String], references: [[String?]]) -> [Statistics] {
        for r in references {
            precondition(r.count == hypotheses.count, "Each reference stream needs one entry per hypothesis")
        }
        let s = makeSegmentScorer()
        return hypotheses.indices.map { i in
            s.beginSegment()
            for r in references { if let line = r[i] { s.addReference(line) } }
            return s.finishSegment(hypothesis: hypotheses[i])
        }
    }

    /// sacreBLEU's `corpus_score`: the score of the summed segment statistics.
    public func corpusScore(hypotheses: [String], references: [[String?]]) -> Score {
        score(corpusStatistics(hypotheses: hypotheses, references: references).reduce(zeroStatistics, +))
    }
}

/// sacreBLEU's signature string: `nrefs` (and `bs`/`seed` with a bootstrap) first, then the
/// metric's own fields, each as `long:value` or `short:value`, joined by `|`.
func metricSignature(references: ReferenceCount, bootstrap: (samples: Int, seed: UInt64)?, short: Bool,
                     fields own: [(long: String, short: String, value: String)]) -> String {
    var fields: [(long: String, short: String, value: String)] = [("nrefs", "#", references.description)]
    if let bs = bootstrap {
        fields.append(("bs", "bs", String(bs.samples)))
        fields.append(("seed", "rs", String(bs.seed)))
    }
    fields += own
    return fields.map { "\(short ? $0.short : $0.long):\($0.value)" }.joined(separator: "|")
}
