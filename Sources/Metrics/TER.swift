// TER, the translation edit rate (Snover et al., 2006, https://aclanthology.org/2006.amta-papers.25),
// exactly as sacreBLEU 2.6.0 computes it (tercom tokenization, Tercom's shift heuristics).

/// TER's sufficient statistics for one segment or a whole corpus (they add up).
///
/// sacreBLEU's list `[edits, reference length]`: the fewest edits over the references and the
/// average reference length (a fraction when references differ in length).
public struct TERStatistics: Equatable, Sendable {
    /// The minimum number of edits over the references.
    public var edits: Int
    /// The mean reference length in words (summed over segments for a corpus).
    public var referenceLength: Double

    public init(edits: Int = 0, referenceLength: Double = 0) {
        self.edits = edits; self.referenceLength = referenceLength
    }

    /// Sum of two statistics (corpus TER sums segment statistics, in order).
    public static func + (a: TERStatistics, b: TERStatistics) -> TERStatistics {
        TERStatistics(edits: a.edits + b.edits, referenceLength: a.referenceLength + b.referenceLength)
    }

    public static func += (a: inout TERStatistics, b: TERStatistics) { a = a + b }
}

/// A TER score as sacreBLEU reports it (`TERScore`): 100 · edits / reference length.
public struct TERScore: Equatable, Sendable {
    /// TER on 0–100 (it can exceed 100).
    public var score: Double
    /// The number of edits.
    public var edits: Int
    /// The (summed mean) reference length.
    public var referenceLength: Double

    public init(score: Double, edits: Int, referenceLength: Double) {
        self.score = score; self.edits = edits; self.referenceLength = referenceLength
    }

    /// sacreBLEU's name, `TER`.
    public var name: String { "TER" }

    /// sacreBLEU's text line, `TER = 60.94`, with `width` decimals (and the bootstrap mean and
    /// half-width when given).
    public func formatted(width: Int = 2, confidence: ConfidenceInterval? = nil) -> String {
        "TER = \(formatScore(score, width: width, confidence: confidence))"
    }
}

/// TER's configuration, with sacreBLEU 2.6.0's options and defaults (`TER()`: lowercased,
/// tercom tokenization without normalization).
///
///     TER = 100 · Σ edits / Σ mean reference length
///
/// per segment, edits are the fewest over the references of ``translationEditRate(hypothesis:reference:)``
/// (insertions, deletions, substitutions and block shifts); an empty reference with a non-empty
/// hypothesis gives 100, both empty 0. References are tokenized twice, hypotheses once, as
/// sacreBLEU does (its reference cache applies the tokenizer again).
///
/// ```swift
/// let ter = TER()
/// print(ter.sentenceScore(hypothesis: "the cat sat", references: ["the cat sat down"]).formatted())
/// ```
public struct TER: Sendable, Equatable, SegmentMetric {
    /// The tokenizer (its options are TER's options).
    public var tokenizer: TERTokenizer

    /// sacreBLEU's `TER(normalized:no_punct:asian_support:case_sensitive:)`, all off by default.
    public init(normalized: Bool = false, noPunct: Bool = false, asianSupport: Bool = false, caseSensitive: Bool = false) {
        tokenizer = TERTokenizer(normalized: normalized, noPunct: noPunct, asianSupport: asianSupport, caseSensitive: caseSensitive)
    }

    /// Tercom's normalization (see ``TERTokenizer/normalized``).
    public var normalized: Bool { tokenizer.normalized }
    /// Punctuation removed (see ``TERTokenizer/noPunct``).
    public var noPunct: Bool { tokenizer.noPunct }
    /// CJK handling (see ``TERTokenizer/asianSupport``).
    public var asianSupport: Bool { tokenizer.asianSupport }
    /// Case kept (default: lowercased).
    public var caseSensitive: Bool { tokenizer.caseSensitive }

    /// sacreBLEU's `_compute_score_from_stats`. - Complexity: O(1).
    public func score(_ stats: TERStatistics) -> TERScore {
        let s: Double
        if stats.referenceLength > 0 { s = Double(stats.edits) / stats.referenceLength }
        else if stats.edits > 0 { s = 1 }           // empty reference(s), non-empty hypothesis
        else { s = 0 }                              // both empty
        return TERScore(score: 100 * s, edits: stats.edits, referenceLength: stats.referenceLength)
    }

    /// A segment scorer with these options (``SegmentMetric``: `statistics`, `sentenceScore`,
    /// `corpusStatistics`, `corpusScore`).
    public func makeSegmentScorer() -> TERSegmentScorer { TERSegmentScorer(self) }

    /// The statistics of no segment.
    public var zeroStatistics: TERStatistics { TERStatistics() }

    /// sacreBLEU's signature for these options, long (`nrefs:1|case:lc|tok:tercom|norm:no|
    /// punct:yes|asian:no|version:…`) or short (`#:1|c:lc|t:tercom|nr:no|pn:yes|as:no|v:…`).
    ///
    /// - Parameters:
    ///   - version: the version named last (see ``BLEU/signature(references:bootstrap:version:short:)``).
    ///   - bootstrap: the number of resamples and the seed, when confidence intervals were asked.
    public func signature(references: ReferenceCount, bootstrap: (samples: Int, seed: UInt64)? = nil,
                          version: String = "mixer-\(mixerVersion)", short: Bool = false) -> String {
        metricSignature(references: references, bootstrap: bootstrap, short: short, fields: [
            ("case", "c", caseSensitive ? "mixed" : "lc"), ("tok", "t", "tercom"),
            ("norm", "nr", normalized ? "yes" : "no"), ("punct", "pn", noPunct ? "no" : "yes"),
            ("asian", "as", asianSupport ? "yes" : "no"), ("version", "v", version)])
    }
}

/// Computes TER statistics segment by segment: references are added one at a time (tokenized
/// at once), then the hypothesis closes the segment. This is the streaming path of
/// `mixer-cli score`.
/// - Note: not thread-safe; use one per thread.
public final class TERSegmentScorer: SegmentScorer {
    /// The configuration.
    public let ter: TER
    private var ids: [[UInt32]: Int32] = [:]
    private var references: [[Int32]] = []
    // The byte path (no normalization, no punctuation removal): words interned as UTF-8 bytes.
    private let words = ByteInterner()
    private var lowered: [UInt8] = []
    private var byteTokens: [Int32] = []
    private var bytePath: Bool { !ter.normalized && !ter.noPunct }
    private let search = TERShiftSearch()

    public init(_ ter: TER) { self.ter = ter }

    /// Starts a new segment (forgets the previous references).
    public func beginSegment() {
        ids.removeAll(keepingCapacity: true)
        references.removeAll(keepingCapacity: true)
        words.reset()
    }

    /// The byte path of the tokenizer without normalization or punctuation removal:
    /// `rstrip()`, `lower()` unless case-sensitive, `split()`; the word ids (interned as UTF-8
    /// bytes, which compare as the scalars do) into `byteTokens`.
    ///
    /// sacreBLEU tokenizes references twice (the words joined by single spaces go through
    /// `rstrip()`, `lower()`, `split()` again); on this path the second pass gives the same
    /// words, so it is not run: the joined words end in a non-space, Python's `lower()` is
    /// idempotent per code point (checked over all of Unicode 14 with CPython 3.11) and maps
    /// no code point to whitespace, and its one context rule (final Σ) has no Σ left to act on.
    /// `TERTokenizeOnceTests` checks this against the tokenizer run twice.
    /// - Complexity: O(n) expected.
    private func byteWordIDs(_ line: UnsafeBufferPointer<UInt8>) {
        byteTokens.removeAll(keepingCapacity: true)
        guard let base = line.baseAddress, !line.isEmpty else { return }
        let kept = UnsafeBufferPointer(rebasing: line[pythonStripRange(base, line.count, leading: false)])
        lowered.removeAll(keepingCapacity: true)
        if ter.caseSensitive {
            lowered.append(contentsOf: kept)
        } else if isASCII(kept) {
            // Python's lower() of ASCII, in place.
            lowered.append(contentsOf: kept)
            lowered.withUnsafeMutableBufferPointer { l in
                for i in l.indices { let b = l[i]; l[i] = b &- 0x41 < 26 ? b | 0x20 : b }
            }
        } else {
            pythonLower(kept, into: &lowered)
        }
        // 8 readable bytes past every word: the interner hashes a word's tail in one load.
        let n = lowered.count
        lowered.append(contentsOf: Self.padding)
        lowered.withUnsafeBufferPointer { l in
            guard let b = l.baseAddress else { return }
            pythonSplit(b, n) { s, e in
                byteTokens.append(Int32(words.intern(UnsafeBufferPointer(start: b + s, count: e - s), readableTail: true)))
            }
        }
    }

    private static let padding = [UInt8](repeating: 0, count: 8)

    /// Whether every byte is below 0x80 (8 bytes at a time).
    private func isASCII(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0, acc: UInt64 = 0
        while i + 8 <= p.count { acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self); i += 8 }
        while i < p.count { acc |= UInt64(p[i]); i += 1 }
        return acc & 0x8080_8080_8080_8080 == 0
    }

    /// sacreBLEU's `_preprocess_segment`: `rstrip()`, then the tokenizer.
    private func preprocess(_ line: UnsafeBufferPointer<UInt8>) -> [[UInt32]] {
        guard let base = line.baseAddress, !line.isEmpty else { return [] }
        return ter.tokenizer.tokens(UnsafeBufferPointer(rebasing: line[pythonStripRange(base, line.count, leading: false)]))
    }

    private func wordIDs(_ tokens: [[UInt32]]) -> [Int32] {
        tokens.map { t in
            if let id = ids[t] { return id }
            let id = Int32(ids.count)
            ids[t] = id
            return id
        }
    }

    /// Adds a reference given as UTF-8 bytes (checked well-formed by the caller).
    public func addReference(_ line: UnsafeBufferPointer<UInt8>) {
        if bytePath {
            byteWordIDs(line)
            references.append(byteTokens)
            return
        }
        // sacreBLEU preprocesses references when caching them and again when extracting their
        // words: tokenize the tokenizer's output (joined by spaces) a second time.
        let once = preprocess(line)
        var joined: [UInt8] = []
        for (k, t) in once.enumerated() {
            if k > 0 { joined.append(0x20) }
            for s in t { joined.append(contentsOf: String(Unicode.Scalar(s)!).utf8) }
        }
        let twice = joined.withUnsafeBufferPointer { preprocess($0) }
        references.append(wordIDs(twice))
    }

    /// Adds a reference.
    public func addReference(_ line: String) {
        var line = line
        line.withUTF8 { addReference($0) }
    }

    /// Closes the segment with its hypothesis (UTF-8 bytes) and returns its statistics.
    /// With no reference the statistics are (hypothesis length, 0).
    public func finishSegment(hypothesis line: UnsafeBufferPointer<UInt8>) -> TERStatistics {
        let hyp: [Int32]
        if bytePath {
            byteWordIDs(line)
            hyp = byteTokens
        } else {
            hyp = wordIDs(preprocess(line))
        }
        guard !references.isEmpty else { return TERStatistics(edits: hyp.count, referenceLength: 0) }
        var best = Int.max
        var lengths = 0
        for r in references {
            let (edits, length) = translationEditRate(hypothesis: hyp, reference: r, search: search)
            lengths += length
            if edits < best { best = edits }
        }
        return TERStatistics(edits: best, referenceLength: Double(lengths) / Double(references.count))
    }

    /// Closes the segment with its hypothesis.
    public func finishSegment(hypothesis: String) -> TERStatistics {
        var h = hypothesis
        return h.withUTF8 { finishSegment(hypothesis: $0) }
    }
}
