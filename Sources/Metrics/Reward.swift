// Sequence-level rewards on token ids for REINFORCE / MIXER (Ranzato et al., ICLR 2016,
// https://arxiv.org/abs/1511.06732): the same n-gram index and LCS code as BLEU and ROUGE.

/// What a reward measures.
public enum RewardMetric: Sendable, Equatable {
    /// Sentence BLEU on 0–1 with the given smoothing (effective order on, as sacreBLEU's
    /// `sentence_bleu`): `reward = sacreBLEU score / 100`.
    case bleu(BLEUSmoothing, value: Double? = nil)
    /// Sentence BLEU-4 on 0–1 with MIXER's reference smoothing: every precision is
    /// `(m_n + 1) / (t_n + 1)`, n = 1…4, times the brevity penalty.
    case bleuPlusOne
    /// ROUGE-N (1 ≤ n ≤ 8) F1, or recall when `recall` (MIXER's reference "ROUGE" is ROUGE-4 recall).
    case rougeN(Int, recall: Bool = false)
    /// ROUGE-L F1, or recall when `recall`.
    case rougeL(recall: Bool = false)
}

/// How token ids are read before scoring.
///
/// - Everything from the first `eos` on is ignored (the `eos` itself is not a token).
/// - `pad` ids are dropped wherever they appear.
/// - `unknown` ids in the hypothesis never match, so an n-gram containing `<unk>` never counts
///   as a match (MIXER's reference code); they still count in the hypothesis length and totals.
public struct RewardTokens: Sendable, Equatable {
    public var eos: Int32?
    public var pad: Int32?
    public var unknown: Int32?
    public init(eos: Int32? = nil, pad: Int32? = nil, unknown: Int32? = nil) {
        self.eos = eos; self.pad = pad; self.unknown = unknown
    }
}

/// Precomputed n-gram tables of one segment's references, reused for every sampled hypothesis.
///
/// ```swift
/// let table = ReferenceTable(references: [[12, 7, 99, 3]], metric: .bleuPlusOne,
///                            tokens: RewardTokens(eos: 3, pad: 0))
/// let r = table.reward([12, 7, 41, 3, 0, 0])   // reads 12 7 41
/// ```
///
/// - Complexity: building O(Σ|ref| · N); `reward` O(|hyp| · N) hash probes (N = 4 for BLEU,
///   n for ROUGE-N) plus, for ROUGE-L, O(|hyp| · ⌈|ref|/64⌉) word operations; no allocation
///   once the buffers have grown. About 0.2–0.4 µs for 20-token sequences (bench/metrics.sh).
/// - Note: not thread-safe (it keeps scratch buffers); give each thread its own tables.
public final class ReferenceTable {
    public let metric: RewardMetric
    public let tokens: RewardTokens
    private var indexes: [NGramIndex] = []   // BLEU: one index of all refs; ROUGE: one per ref
    private var refLengths: [Int] = []
    private var lcsMasks: [LCSMasks] = []
    private var scratch: [UInt32] = []

    /// Builds the tables of `references` (each a token-id sequence, read as `tokens` says).
    /// - Precondition: for `.rougeN(n, _)`, 1 ≤ n ≤ 8.
    public init(references: [[Int32]], metric: RewardMetric, tokens: RewardTokens = RewardTokens()) {
        self.metric = metric
        self.tokens = tokens
        var cleaned: [[UInt32]] = []
        for r in references {
            r.withUnsafeBufferPointer { clean($0, isReference: true) }
            cleaned.append(scratch)
        }
        refLengths = cleaned.map(\.count)
        switch metric {
        case .bleu, .bleuPlusOne:
            let index = NGramIndex(maxOrder: 4)
            for r in cleaned { index.addReference(r) }
            indexes = [index]
        case .rougeN(let n, _):
            precondition(n >= 1 && n <= 8, "ROUGE-N rewards need 1 <= n <= 8")
            for r in cleaned { let i = NGramIndex(maxOrder: n); i.addReference(r); indexes.append(i) }
        case .rougeL:
            for r in cleaned {
                let i = NGramIndex(maxOrder: 1)
                i.addReference(r)
                indexes.append(i)
                lcsMasks.append(r.withUnsafeBufferPointer { LCSMasks(ref: $0, index: i) })
            }
        }
    }

    /// Reads ids into `scratch`: stop at eos, drop pad, unknown → never-matching (hypotheses).
    @inline(__always)
    private func clean(_ ids: UnsafeBufferPointer<Int32>, isReference: Bool) {
        scratch.removeAll(keepingCapacity: true)
        for id in ids {
            if let e = tokens.eos, id == e { break }
            if let p = tokens.pad, id == p { continue }
            if !isReference, let u = tokens.unknown, id == u { scratch.append(.max); continue }
            scratch.append(UInt32(bitPattern: id))
        }
    }

    /// The reward of one hypothesis, on 0–1.
    public func reward(_ hypothesis: UnsafeBufferPointer<Int32>) -> Double {
        clean(hypothesis, isReference: false)
        return scratch.withUnsafeBufferPointer { h -> Double in
            switch metric {
            case .bleu(let smoothing, let value):
                return BLEU.computeBLEU(matches: bleuMatches(h), totals: totals(h.count), sysLen: h.count,
                                        refLen: closestReferenceLength(h.count, refLengths),
                                        smoothing: smoothing, smoothValue: value, effectiveOrder: true).score / 100
            case .bleuPlusOne:
                let m = bleuMatches(h)
                let len = h.count
                let refLen = closestReferenceLength(len, refLengths)
                var logSum = 0.0
                for n in 0..<4 { logSum += log(Double(m[n] + 1) / Double(max(0, len - n) + 1)) }
                let bp = len >= refLen ? 1.0 : (len > 0 ? exp(1 - Double(refLen) / Double(len)) : 0)
                return bp * exp(logSum / 4)
            case .rougeN(let n, let recall):
                var best = 0.0
                for (r, index) in indexes.enumerated() {
                    let overlap = Double(index.matches(h)[n - 1])
                    let s = ROUGEScore(precision: overlap / Double(max(h.count - n + 1, 1)),
                                       recall: overlap / Double(max(refLengths[r] - n + 1, 1)))
                    best = max(best, recall ? s.recall : s.f)
                }
                return best
            case .rougeL(let recall):
                var best = 0.0
                for (r, index) in indexes.enumerated() where refLengths[r] > 0 && h.count > 0 {
                    let l = Double(lcsMasks[r].lcs(h, index: index))
                    let s = ROUGEScore(precision: l / Double(h.count), recall: l / Double(refLengths[r]))
                    best = max(best, recall ? s.recall : s.f)
                }
                return best
            }
        }
    }

    /// The reward of one hypothesis, on 0–1.
    public func reward(_ hypothesis: [Int32]) -> Double {
        hypothesis.withUnsafeBufferPointer { reward($0) }
    }

    /// The BLEU statistics of a hypothesis (after eos/pad handling), for tests and logging.
    public func bleuStatistics(_ hypothesis: [Int32]) -> BLEUStatistics {
        hypothesis.withUnsafeBufferPointer { clean($0, isReference: false) }
        return scratch.withUnsafeBufferPointer { h in
            BLEUStatistics(hypothesisLength: h.count, referenceLength: closestReferenceLength(h.count, refLengths),
                           matches: bleuMatches(h), totals: totals(h.count))
        }
    }

    @inline(__always) private func bleuMatches(_ h: UnsafeBufferPointer<UInt32>) -> SIMD4<Int> {
        let m = indexes[0].matches(h)
        return SIMD4(Int(m[0]), Int(m[1]), Int(m[2]), Int(m[3]))
    }

    @inline(__always) private func totals(_ len: Int) -> SIMD4<Int> {
        SIMD4(max(0, len), max(0, len - 1), max(0, len - 2), max(0, len - 3))
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
