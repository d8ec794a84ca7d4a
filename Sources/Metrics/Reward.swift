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
/// - Complexity: building O(Σ|ref| · N) plus, for BLEU and ROUGE-N, the direct-addressed tables
///   of `NGramIndex.prepareForManyHypotheses` (O(Σ_n D_{n−1} · V), small for sentences);
///   `reward` O(|hyp| · N) table reads (N = 4 for BLEU, n for ROUGE-N) after |hyp| small
///   hash probes, plus, for ROUGE-L, O(|hyp| · ⌈|ref|/64⌉) word operations; no allocation
///   once the buffers have grown. For 20-token sequences (bench/metrics.sh): about 0.2 µs per
///   BLEU reward while a minibatch's tables are in cache, about 1.3 µs when every call
///   touches another cold table (memory latency), about 2 µs including building the table.
/// - Note: not thread-safe (it keeps scratch buffers); give each thread its own tables.
public final class ReferenceTable {
    public let metric: RewardMetric
    public let tokens: RewardTokens
    private var indexes: [NGramIndex] = []   // BLEU: one index of all refs; ROUGE: one per ref
    private var bleuIndex: NGramIndex? = nil // indexes[0] for BLEU (no array access per call)
    private var refLengths: [Int] = []
    private var lcsMasks: [LCSMasks] = []
    // Cleaned ids of the last sequence read (raw buffer: no allocation or uniqueness check per call).
    private var scratch: UnsafeMutablePointer<UInt32>
    private var scratchCapacity = 64
    private var scratchCount = 0
    // `tokens` as plain integers (Int64.max: absent), read once per id.
    private let eosID: Int64, padID: Int64, unknownID: Int64

    /// Builds the tables of `references` (each a token-id sequence, read as `tokens` says).
    /// - Precondition: for `.rougeN(n, _)`, 1 ≤ n ≤ 8.
    public init(references: [[Int32]], metric: RewardMetric, tokens: RewardTokens = RewardTokens()) {
        self.metric = metric
        self.tokens = tokens
        eosID = tokens.eos.map { Int64($0) } ?? .max
        padID = tokens.pad.map { Int64($0) } ?? .max
        unknownID = tokens.unknown.map { Int64($0) } ?? .max
        scratch = .allocate(capacity: scratchCapacity)
        var cleaned: [[UInt32]] = []
        for r in references {
            r.withUnsafeBufferPointer { clean($0, isReference: true) }
            cleaned.append(Array(UnsafeBufferPointer(start: scratch, count: scratchCount)))
        }
        refLengths = cleaned.map(\.count)
        switch metric {
        case .bleu, .bleuPlusOne:
            let index = NGramIndex(maxOrder: 4)
            index.keepsReferences = true
            for r in cleaned { index.addReference(r) }
            index.prepareForManyHypotheses()
            indexes = [index]
            bleuIndex = index
        case .rougeN(let n, _):
            precondition(n >= 1 && n <= 8, "ROUGE-N rewards need 1 <= n <= 8")
            for r in cleaned {
                let i = NGramIndex(maxOrder: n)
                i.keepsReferences = true
                i.addReference(r)
                i.prepareForManyHypotheses()
                indexes.append(i)
            }
        case .rougeL:
            for r in cleaned {
                let i = NGramIndex(maxOrder: 1)
                i.addReference(r)
                indexes.append(i)
                lcsMasks.append(r.withUnsafeBufferPointer { LCSMasks(ref: $0, index: i) })
            }
        }
    }

    deinit { scratch.deallocate() }

    /// Makes this the table of the one reference `reference` (read as ``tokens`` says), reusing
    /// its memory: for callers that score one or a few hypotheses per reference (MIXER's one
    /// sample per source, with pieces merged into words). BLEU and ROUGE-N go straight to the
    /// direct-addressed tables (`NGramIndex.resetToDense`), with no hash table and no
    /// allocation once the buffers have grown; ROUGE-L refills its index and rebuilds its bit
    /// masks. Rewards are identical to those of `ReferenceTable(references: [reference],
    /// metric:, tokens:)`.
    /// - Complexity: O(|reference| · N + Σ_n D_{n−1} · D_1) (D_n: distinct n-grams).
    public func reset(reference: UnsafeBufferPointer<Int32>) {
        clean(reference, isReference: true)
        let r = cleaned
        refLengths.removeAll(keepingCapacity: true)
        refLengths.append(r.count)
        if indexes.count > 1 { indexes.removeSubrange(1...) }
        let index = indexes[0]
        if case .rougeL = metric {
            index.reset()
            index.addReference(r)
            lcsMasks.removeAll(keepingCapacity: true)
            lcsMasks.append(LCSMasks(ref: r, index: index))
        } else {
            index.resetToDense(reference: r)
        }
    }

    /// `reset(reference:)` with an array.
    public func reset(reference: [Int32]) {
        reference.withUnsafeBufferPointer { reset(reference: $0) }
    }

    /// Reads ids into `scratch`: stop at eos, drop pad, unknown → never-matching (hypotheses).
    @inline(__always)
    private func clean(_ ids: UnsafeBufferPointer<Int32>, isReference: Bool) {
        if scratchCapacity < ids.count {
            scratch.deallocate()
            scratchCapacity = max(ids.count, 2 * scratchCapacity)
            scratch = .allocate(capacity: scratchCapacity)
        }
        let eos = eosID, pad = padID, unk = isReference ? Int64.max : unknownID
        let out = scratch
        var n = 0
        for id in ids {
            let v = Int64(id)
            if v == eos { break }
            if v == pad { continue }
            out[n] = v == unk ? .max : UInt32(bitPattern: id)
            n += 1
        }
        scratchCount = n
    }

    private var cleaned: UnsafeBufferPointer<UInt32> { UnsafeBufferPointer(start: scratch, count: scratchCount) }

    /// The reward of one hypothesis, on 0–1.
    public func reward(_ hypothesis: UnsafeBufferPointer<Int32>) -> Double {
        clean(hypothesis, isReference: false)
        let h = cleaned
        switch metric {
            case .bleu(let smoothing, let value):
                return BLEU.computeBLEU(matches: bleuMatches(h), totals: totals(h.count), sysLen: h.count,
                                        refLen: closestReferenceLength(h.count, refLengths),
                                        smoothing: smoothing, smoothValue: value, effectiveOrder: true).score / 100
            case .bleuPlusOne:
                let m = bleuMatches(h)
                let len = h.count
                let refLen = closestReferenceLength(len, refLengths)
                // (Π_n (m_n + 1) / (t_n + 1))^(1/4): one root instead of four logarithms.
                var num = 1.0, den = 1.0
                for n in 0..<4 { num *= Double(m[n] + 1); den *= Double(max(0, len - n) + 1) }
                let bp = len >= refLen ? 1.0 : (len > 0 ? exp(1 - Double(refLen) / Double(len)) : 0)
                return bp * (num / den).squareRoot().squareRoot()
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

    /// The reward of one hypothesis, on 0–1.
    public func reward(_ hypothesis: [Int32]) -> Double {
        hypothesis.withUnsafeBufferPointer { reward($0) }
    }

    /// The BLEU statistics of a hypothesis (after eos/pad handling), for tests and logging.
    public func bleuStatistics(_ hypothesis: [Int32]) -> BLEUStatistics {
        hypothesis.withUnsafeBufferPointer { clean($0, isReference: false) }
        let h = cleaned
        return BLEUStatistics(hypothesisLength: h.count, referenceLength: closestReferenceLength(h.count, refLengths),
                              matches: bleuMatches(h), totals: totals(h.count))
    }

    @inline(__always) private func bleuMatches(_ h: UnsafeBufferPointer<UInt32>) -> SIMD4<Int> {
        let m = bleuIndex.unsafelyUnwrapped.matches(h)
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
