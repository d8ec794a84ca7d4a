// BLEU (Papineni et al., 2002, https://aclanthology.org/P02-1040) exactly as sacreBLEU 2.6.0
// computes it (Post, 2018, https://aclanthology.org/W18-6319).

/// The smoothing of zero n-gram precisions (Chen & Cherry, 2014,
/// https://aclanthology.org/W14-3346), as sacreBLEU names them.
public enum BLEUSmoothing: String, CaseIterable, Sendable, Codable {
    /// mteval-v13a (method 3): the k-th order with no match gets precision 1 / (2^k · total).
    case exp
    /// Method 1: a zero count becomes `smoothValue` (default 0.1).
    case floor
    /// Method 2: `smoothValue` (default 1) is added to matches and totals of orders n ≥ 2.
    case addK = "add-k"
    /// No smoothing: a zero precision makes BLEU 0.
    case none

    /// sacreBLEU's default value for the method (nil when it takes none).
    public var defaultValue: Double? {
        switch self {
        case .floor: return 0.1
        case .addK: return 1
        case .exp, .none: return nil
        }
    }
}

/// BLEU's sufficient statistics for one segment or a whole corpus (they add up).
///
/// sacreBLEU's list `[sys_len, ref_len, matches 1…4, totals 1…4]`.
public struct BLEUStatistics: Equatable, Sendable {
    /// The hypothesis length in tokens (`sys_len`).
    public var hypothesisLength: Int
    /// The closest reference length (`ref_len`; the shorter on a tie).
    public var referenceLength: Int
    /// Clipped n-gram matches, n = 1…4.
    public var matches: SIMD4<Int>
    /// Hypothesis n-gram counts, n = 1…4.
    public var totals: SIMD4<Int>

    public init(hypothesisLength: Int = 0, referenceLength: Int = 0,
                matches: SIMD4<Int> = .zero, totals: SIMD4<Int> = .zero) {
        self.hypothesisLength = hypothesisLength
        self.referenceLength = referenceLength
        self.matches = matches
        self.totals = totals
    }

    /// sacreBLEU's flat list: `[sys_len, ref_len, m1, m2, m3, m4, t1, t2, t3, t4]`.
    public var flat: [Int] {
        [hypothesisLength, referenceLength, matches[0], matches[1], matches[2], matches[3],
         totals[0], totals[1], totals[2], totals[3]]
    }

    /// Sum of two statistics (corpus BLEU sums segment statistics).
    public static func + (a: BLEUStatistics, b: BLEUStatistics) -> BLEUStatistics {
        BLEUStatistics(hypothesisLength: a.hypothesisLength + b.hypothesisLength,
                       referenceLength: a.referenceLength + b.referenceLength,
                       matches: a.matches &+ b.matches, totals: a.totals &+ b.totals)
    }

    public static func += (a: inout BLEUStatistics, b: BLEUStatistics) { a = a + b }
}

/// A BLEU score with sacreBLEU's fields (`BLEUScore`): score 0–100, precisions in percent.
///
/// The per-order figures are stored as `SIMD4<Double>` (no heap allocation per score, which
/// matters for sentence BLEU on millions of segments) and offered as arrays too.
public struct BLEUScore: Equatable, Sendable {
    /// BLEU on 0–100.
    public var score: Double
    /// Matches per order, as sacreBLEU reports them (add-k adds its value for n ≥ 2).
    public var countsVector: SIMD4<Double>
    /// Totals per order, as sacreBLEU reports them (add-k adds its value for n ≥ 2).
    public var totalsVector: SIMD4<Double>
    /// Precisions per order in percent (0 for orders that were not reached).
    public var precisionsVector: SIMD4<Double>
    /// Brevity penalty `exp(1 − ref_len / sys_len)` when `sys_len < ref_len`, else 1.
    public var bp: Double
    /// `sys_len`.
    public var sysLen: Int
    /// `ref_len`.
    public var refLen: Int

    public init(score: Double, counts: SIMD4<Double>, totals: SIMD4<Double>, precisions: SIMD4<Double>,
                bp: Double, sysLen: Int, refLen: Int) {
        self.score = score
        countsVector = counts; totalsVector = totals; precisionsVector = precisions
        self.bp = bp; self.sysLen = sysLen; self.refLen = refLen
    }

    /// `countsVector` as an array of 4. - Precondition: a new value has 4 elements.
    public var counts: [Double] {
        get { [countsVector[0], countsVector[1], countsVector[2], countsVector[3]] }
        set { countsVector = SIMD4(newValue) }
    }
    /// `totalsVector` as an array of 4. - Precondition: a new value has 4 elements.
    public var totals: [Double] {
        get { [totalsVector[0], totalsVector[1], totalsVector[2], totalsVector[3]] }
        set { totalsVector = SIMD4(newValue) }
    }
    /// `precisionsVector` as an array of 4. - Precondition: a new value has 4 elements.
    public var precisions: [Double] {
        get { [precisionsVector[0], precisionsVector[1], precisionsVector[2], precisionsVector[3]] }
        set { precisionsVector = SIMD4(newValue) }
    }

    /// `sys_len / ref_len`, or 0 when `ref_len` is 0.
    public var ratio: Double { refLen != 0 ? Double(sysLen) / Double(refLen) : 0 }

    /// sacreBLEU's text line: `BLEU = 32.01 63.5/38.2/25.0/16.8 (BP = 1.000 ratio = 1.000
    /// hyp_len = 7 ref_len = 7)`, with `width` decimals for the score.
    public func formatted(width: Int = 2, confidence: ConfidenceInterval? = nil) -> String {
        var sc = formatFixed(score, width)
        if let ci = confidence, ci.mean > 0 {
            sc += " (μ = \(formatFixed(ci.mean, width)) ± \(formatFixed(ci.halfWidth, width)))"
        }
        let prec = precisions.map { formatFixed($0, 1) }.joined(separator: "/")
        return "BLEU = \(sc) \(prec) (BP = \(formatFixed(bp, 3)) ratio = \(formatFixed(ratio, 3)) "
            + "hyp_len = \(sysLen) ref_len = \(refLen))"
    }
}

/// The number of references in a signature: a count, or `var` when it differs per segment.
public enum ReferenceCount: Equatable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case variable
    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .variable: return "var"
        }
    }
}

/// BLEU's configuration, with sacreBLEU 2.6.0's options and defaults.
///
/// ```swift
/// let bleu = BLEU(effectiveOrder: true)
/// let s = bleu.sentenceScore(hypothesis: "the cat sat", references: ["the cat sat down"])
/// print(s.formatted())
/// ```
public struct BLEU: Sendable, Equatable, SegmentMetric {
    /// The tokenizer (default `13a`).
    public var tokenizer: BLEUTokenizer
    /// Lowercase hypothesis and references first (Python's `str.lower()`).
    public var lowercase: Bool
    /// The smoothing method (default `exp`).
    public var smoothing: BLEUSmoothing
    /// The smoothing value for `floor` and `add-k`; nil takes the method's default.
    public var smoothValue: Double?
    /// Average only over orders up to the highest with a non-zero total (sentence BLEU's default
    /// in sacreBLEU; off for corpus BLEU).
    public var effectiveOrder: Bool
    /// The highest n-gram order (4).
    public static let maxOrder = 4

    public init(tokenizer: BLEUTokenizer = .thirteenA, lowercase: Bool = false,
                smoothing: BLEUSmoothing = .exp, smoothValue: Double? = nil,
                effectiveOrder: Bool = false) {
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.smoothing = smoothing
        self.smoothValue = smoothValue
        self.effectiveOrder = effectiveOrder
    }

    /// sacreBLEU's `_preprocess_segment`: lowercase (optionally), `rstrip()`, tokenize.
    public func preprocess(_ line: String) -> String {
        var s = lowercase ? pythonLower(line) : line
        s = s.withUTF8 { p -> String in
            guard let b = p.baseAddress else { return "" }
            return String(decoding: UnsafeBufferPointer(rebasing: p[pythonStripRange(b, p.count, leading: false)]), as: UTF8.self)
        }
        return tokenizer.tokenize(s)
    }

    /// BLEU from sufficient statistics: sacreBLEU's `compute_bleu`.
    ///
    /// `BLEU = BP · exp((1/N) Σ_{n≤N} log p_n)`, `BP = min(1, exp(1 − r/c))`, with p_n smoothed
    /// as ``BLEUSmoothing`` says and N = 4, or the highest order with a non-zero total when
    /// ``effectiveOrder`` is set. A zero precision counts as log = −9999999999 (sacreBLEU's
    /// `my_log`). No match at any order gives 0.
    /// - Complexity: O(1).
    public func score(_ stats: BLEUStatistics) -> BLEUScore {
        BLEU.computeBLEU(matches: stats.matches, totals: stats.totals,
                         sysLen: stats.hypothesisLength, refLen: stats.referenceLength,
                         smoothing: smoothing, smoothValue: smoothValue, effectiveOrder: effectiveOrder)
    }

    /// sacreBLEU's `BLEU.compute_bleu` on explicit statistics.
    public static func computeBLEU(matches: SIMD4<Int>, totals: SIMD4<Int>, sysLen: Int, refLen: Int,
                                   smoothing: BLEUSmoothing, smoothValue: Double?,
                                   effectiveOrder: Bool) -> BLEUScore {
        let value = smoothValue ?? smoothing.defaultValue ?? 0
        var bp = 1.0
        if sysLen < refLen { bp = sysLen > 0 ? exp(1 - Double(refLen) / Double(sysLen)) : 0 }
        var correct = SIMD4<Double>(Double(matches[0]), Double(matches[1]), Double(matches[2]), Double(matches[3]))
        var total = SIMD4<Double>(Double(totals[0]), Double(totals[1]), Double(totals[2]), Double(totals[3]))
        var precisions = SIMD4<Double>.zero
        if matches == .zero {
            return BLEUScore(score: 0, counts: correct, totals: total, precisions: precisions,
                             bp: bp, sysLen: sysLen, refLen: refLen)
        }
        var smoothMteval = 1.0
        var effOrder = 4
        for n in 1...4 {
            if smoothing == .addK && n > 1 {
                correct[n - 1] += value
                total[n - 1] += value
            }
            if total[n - 1] == 0 { break }
            if effectiveOrder { effOrder = n }
            if correct[n - 1] == 0 {
                if smoothing == .exp {
                    smoothMteval *= 2
                    precisions[n - 1] = 100 / (smoothMteval * total[n - 1])
                } else if smoothing == .floor {
                    precisions[n - 1] = 100 * value / total[n - 1]
                }
            } else {
                precisions[n - 1] = 100 * correct[n - 1] / total[n - 1]
            }
        }
        var logSum = 0.0
        for k in 0..<effOrder {
            let p = precisions[k]
            logSum += p == 0 ? -9_999_999_999 : log(p)
        }
        let score = bp * exp(logSum / Double(effOrder))
        return BLEUScore(score: score, counts: correct, totals: total, precisions: precisions,
                         bp: bp, sysLen: sysLen, refLen: refLen)
    }

    /// A segment scorer with these options (``SegmentMetric`` gives `statistics`,
    /// `sentenceScore` — sacreBLEU's `sentence_score`, use `effectiveOrder: true` as
    /// `sentence_bleu` does — `corpusStatistics` and `corpusScore`, corpus BLEU of the summed
    /// statistics). - Complexity: O(total length · 4) per segment.
    public func makeSegmentScorer() -> BLEUSegmentScorer { BLEUSegmentScorer(self) }

    /// The statistics of no segment.
    public var zeroStatistics: BLEUStatistics { BLEUStatistics() }

    /// sacreBLEU's signature for these options, long (`nrefs:1|case:mixed|eff:no|tok:13a|
    /// smooth:exp|version:…`) or short (`#:1|c:mixed|e:no|tok:13a|s:exp|v:…`).
    ///
    /// - Parameters:
    ///   - version: the version named last. sacreBLEU writes its own; `mixer-cli` writes
    ///     `mixer-<mixerVersion>` so that nobody mistakes its numbers for sacreBLEU's run, and
    ///     the tests pass `"2.6.0"` to reproduce sacreBLEU's strings exactly.
    ///   - bootstrap: the number of resamples and the seed, when confidence intervals were asked.
    public func signature(references: ReferenceCount, bootstrap: (samples: Int, seed: UInt64)? = nil,
                          version: String = "mixer-\(mixerVersion)", short: Bool = false) -> String {
        var smooth = smoothing.rawValue
        if let def = smoothing.defaultValue { smooth += "[\(formatFixed(smoothValue ?? def, 2))]" }
        var fields: [(String, String, String)] = [("nrefs", "#", references.description)]
        if let bs = bootstrap {
            fields.append(("bs", "bs", String(bs.samples)))
            fields.append(("seed", "rs", String(bs.seed)))
        }
        fields += [("case", "c", lowercase ? "lc" : "mixed"), ("eff", "e", effectiveOrder ? "yes" : "no"),
                   ("tok", "tok", tokenizer.signatureName), ("smooth", "s", smooth),
                   ("version", "v", version)]
        return fields.map { "\(short ? $0.1 : $0.0):\($0.2)" }.joined(separator: "|")
    }
}

/// Computes BLEU statistics segment by segment with reusable buffers: references are added one
/// at a time (each is tokenized and indexed at once, so the caller need not keep it), then the
/// hypothesis closes the segment. This is the streaming path of `mixer-cli score`.
///
/// Two paths give identical statistics. Ordinary segments intern tokens (``ByteInterner``)
/// and count n-grams in a hash table (``NGramIndex``), about 50 bytes per distinct token and
/// 30 per distinct reference n-gram. Once a segment's text (references plus hypothesis, in
/// bytes) exceeds ``leanThreshold``, that path runs on budgets of distinct tokens and n-grams
/// (see `isHuge`); past one, the segment switches to ``LeanSegment``, which sorts instead: a
/// few UInt32 per token whatever the tokens, so that `score`'s memory stays a small multiple
/// of the longest line even on a line of distinct tokens (the references already indexed are
/// carried over from the index's kept token ids and the interner's bytes).
///
/// ```swift
/// let s = BLEUSegmentScorer(BLEU())
/// s.beginSegment(); s.addReference("the cat sat"); let st = s.finishSegment(hypothesis: "the cat")
/// ```
/// - Note: not thread-safe; use one per thread.
public final class BLEUSegmentScorer: SegmentScorer {
    public let bleu: BLEU
    private var index = BLEUSegmentScorer.makeIndex()
    private var interner = ByteInterner()
    private let ws = TokenizerWorkspace()
    private var lowered: [UInt8] = []
    private var ids: UnsafeMutablePointer<UInt32>
    private var idCapacity = 256
    /// Segments whose text (references plus hypothesis, in bytes) is larger than this run the
    /// fast path on budgets and take the lean path (``LeanSegment``) past them; the statistics
    /// are the same. Default
    /// ``LeanSegment/defaultThreshold`` (1 MiB); tests set it low to compare both paths.
    var leanThreshold = LeanSegment.defaultThreshold
    /// How many segments were finished on the lean path (for tests).
    private(set) var leanSegments = 0
    private var segmentBytes = 0
    private var isLean = false
    private let lean = LeanSegment()

    public init(_ bleu: BLEU) {
        self.bleu = bleu
        ids = .allocate(capacity: idCapacity)
    }

    private static func makeIndex() -> NGramIndex {
        let index = NGramIndex(maxOrder: BLEU.maxOrder)
        index.denseUnigrams = true        // ids come from the per-segment interner: 0, 1, 2, …
        index.reserveTable(1024)          // one table reused for every segment: keep it sparse
        index.keepsReferences = true      // for a switch to the lean path mid-segment
        return index
    }
    deinit { ids.deallocate() }

    /// Starts a new segment (forgets the previous references).
    public func beginSegment() {
        index.reset()
        index.distinctBudget = .max
        interner.reset()
        segmentBytes = 0
        if isLean { lean.reset(); isLean = false }
    }

    /// Switches the segment to the lean path: the references indexed so far move over (their
    /// ids kept by the index, their bytes by the interner), then the index and the interner are
    /// replaced by fresh ones, which gives their memory back.
    private func switchToLean() {
        isLean = true
        lean.reset()
        index.withKeptReferences { tokens, lengths in
            var start = 0
            for len in lengths {
                lean.beginSide()
                for k in start ..< start + len { lean.append(interner.bytes(tokens[k])) }
                start += len
            }
        }
        index = Self.makeIndex()
        interner = ByteInterner()
    }

    /// Whether the segment is past ``leanThreshold`` bytes: then the fast path runs on budgets
    /// (distinct tokens ≤ bytes / 32, about 1.6 bytes of interner per byte of text; distinct
    /// n-grams ≤ bytes / 24, about 1.5 bytes of index per byte) and switches to the lean path
    /// when one is exceeded. Repetitive text stays on the fast path (faster, and on such text
    /// smaller); a line of distinct tokens or of distinct n-grams goes lean.
    private var isHuge: Bool { segmentBytes > leanThreshold }

    /// Adds the tokens of `ws.a` (split pending) to the lean segment as a new side.
    private func addLeanSide() {
        lean.beginSide()
        let p = ws.a
        lean.reserve(bytes: ws.aCount, tokens: 0)
        pythonSplit(p, ws.aCount) { s, e in lean.append(UnsafeBufferPointer(start: p + s, count: e - s)) }
    }

    /// Lowercases (optionally), rstrips and tokenizes into `ws.a` (split pending).
    private func tokenize(_ line: UnsafeBufferPointer<UInt8>) {
        if bleu.lowercase {
            lowered.removeAll(keepingCapacity: true)
            pythonLower(line, into: &lowered)
            lowered.withUnsafeBufferPointer { tokenizeStripped($0) }
        } else {
            tokenizeStripped(line)
        }
    }

    private func tokenizeStripped(_ src: UnsafeBufferPointer<UInt8>) {
        guard let base = src.baseAddress, src.count > 0 else { ws.aCount = 0; return }
        let body = UnsafeBufferPointer(rebasing: src[pythonStripRange(base, src.count, leading: false)])
        bleu.tokenizer.preSplit(body, workspace: ws)
    }

    /// Splits `ws.a` and maps each token to an id (interning reference tokens); returns the count.
    @inline(__always) private func splitIDs(intern: Bool) -> Int {
        var n = 0
        ws.reserve(ws.aCount + 8)                 // 8 readable bytes past every token
        let p = ws.a
        if idCapacity < ws.aCount / 2 + 2 {
            // The tokens might not fit: count them (a split pass without interning) rather than
            // allocate for the worst case aCount / 2 + 1, twice the tokens of ordinary text.
            var count = 0
            pythonSplit(p, ws.aCount) { _, _ in count += 1 }
            if count > idCapacity {
                ids.deallocate()
                idCapacity = max(count, min(2 * idCapacity, ws.aCount / 2 + 2))
                ids = .allocate(capacity: idCapacity)
            }
        }
        let ids = self.ids
        pythonSplit(p, ws.aCount) { s, e in
            let tok = UnsafeBufferPointer(start: p + s, count: e - s)
            ids[n] = intern ? interner.intern(tok, readableTail: true) : interner.find(tok, readableTail: true)
            n += 1
        }
        return n
    }

    /// Adds a reference given as UTF-8 bytes (checked well-formed by the caller).
    public func addReference(_ line: UnsafeBufferPointer<UInt8>) {
        segmentBytes += line.count
        tokenize(line)
        if !isLean && isHuge {
            // Within budget, the fast path; past it, the lean path (this reference from `ws.a`).
            if let n = splitIDs(internBudget: segmentBytes / 32) {
                index.distinctBudget = segmentBytes / 24
                index.addReference(UnsafeBufferPointer(start: ids, count: n))
                if index.overBudget { switchToLean() }       // the kept tokens include this one
                releaseScratchIfLarge()
                return
            }
            switchToLean()
        }
        if isLean { addLeanSide(); releaseScratchIfLarge(); return }
        let n = splitIDs(intern: true)
        index.addReference(UnsafeBufferPointer(start: ids, count: n))
        releaseScratchIfLarge()
    }

    /// `splitIDs(intern: true)` that gives up (nil) once the interner holds more than `budget`
    /// tokens (for huge segments only: the ordinary loop has no such check).
    private func splitIDs(internBudget budget: Int) -> Int? {
        var n = 0
        ws.reserve(ws.aCount + 8)
        let p = ws.a
        var count = 0
        pythonSplit(p, ws.aCount) { _, _ in count += 1 }
        if count > idCapacity {
            ids.deallocate()
            idCapacity = count
            ids = .allocate(capacity: idCapacity)
        }
        let ids = self.ids
        var over = false
        pythonSplit(p, ws.aCount) { s, e in
            if over { return }
            ids[n] = interner.intern(UnsafeBufferPointer(start: p + s, count: e - s), readableTail: true)
            n += 1
            if interner.count > budget { over = true }
        }
        return over ? nil : n
    }

    /// After a huge line (over 1 MiB), gives the line-sized scratch buffers back, so that they
    /// are not held while the next file's line is read and the other metrics run: `score`'s
    /// memory stays a small multiple of the longest line. Ordinary lines never get here.
    private func releaseScratchIfLarge() {
        let large = ws.releaseIfLarge()
        if idCapacity > 1 << 18 {
            ids.deallocate()
            idCapacity = 256
            ids = .allocate(capacity: idCapacity)
        }
        if large { releaseFreedHeapMemory() }
    }

    /// Adds a reference.
    public func addReference(_ line: String) {
        var line = line
        line.withUTF8 { addReference($0) }
    }

    /// Closes the segment with its hypothesis (UTF-8 bytes) and returns its statistics.
    public func finishSegment(hypothesis line: UnsafeBufferPointer<UInt8>) -> BLEUStatistics {
        // A huge hypothesis alone needs no lean path: it is looked up (`find`), never interned.
        segmentBytes += line.count
        if isHuge && !isLean { index.dropKeptReferences() }    // no switch after the references
        tokenize(line)
        if isLean { return finishLean() }
        let len = splitIDs(intern: false)
        let m = index.matches(UnsafeBufferPointer(start: ids, count: len))
        releaseScratchIfLarge()
        if isHuge {
            // A huge segment on the fast path: give its tables (and the kept reference tokens)
            // back now, before the next metric scores the line.
            let lengths = index.referenceLengths
            index = Self.makeIndex()
            interner = ByteInterner()
            releaseFreedHeapMemory()
            var totals = SIMD4<Int>.zero
            for n in 0..<4 { totals[n] = max(0, len - n) }
            return BLEUStatistics(hypothesisLength: len, referenceLength: closestReferenceLength(len, lengths),
                                  matches: SIMD4(Int(m[0]), Int(m[1]), Int(m[2]), Int(m[3])), totals: totals)
        }
        var totals = SIMD4<Int>.zero
        for n in 0..<4 { totals[n] = max(0, len - n) }
        return BLEUStatistics(hypothesisLength: len,
                              referenceLength: closestReferenceLength(len, index.referenceLengths),
                              matches: SIMD4(Int(m[0]), Int(m[1]), Int(m[2]), Int(m[3])), totals: totals)
    }

    /// The lean path's statistics (the hypothesis is in `ws.a`); frees the segment's memory.
    private func finishLean() -> BLEUStatistics {
        leanSegments += 1
        // The references' tokens get ids; the hypothesis' are looked up, not stored.
        let h = lean.sideCounts.count
        ws.dropSpareIfLarge()
        lean.assignIDs(extraTokens: ws.aCount / 2 + 1)
        lean.beginSide()
        let p = ws.a
        pythonSplit(p, ws.aCount) { s, e in lean.appendLookedUp(UnsafeBufferPointer(start: p + s, count: e - s)) }
        releaseScratchIfLarge()
        lean.finishIDs()
        lean.sortPositions(order: BLEU.maxOrder)
        let m = lean.clippedMatches(hyp: h, refs: 0 ..< h, maxOrder: BLEU.maxOrder)
        let len = lean.sideCounts[h]
        let refLengths = Array(lean.sideCounts[0 ..< h])
        lean.reset()
        isLean = false
        var totals = SIMD4<Int>.zero
        for n in 0..<4 { totals[n] = max(0, len - n) }
        return BLEUStatistics(hypothesisLength: len,
                              referenceLength: closestReferenceLength(len, refLengths),
                              matches: SIMD4(Int(m[0]), Int(m[1]), Int(m[2]), Int(m[3])), totals: totals)
    }

    /// Closes the segment with its hypothesis.
    public func finishSegment(hypothesis: String) -> BLEUStatistics {
        var h = hypothesis
        return h.withUTF8 { finishSegment(hypothesis: $0) }
    }
}

/// sacreBLEU's `_get_closest_ref_len`: the reference length closest to `hypLength`, the shorter
/// on a tie; -1 when there is no reference (as sacreBLEU).
@inline(__always)
func closestReferenceLength(_ hypLength: Int, _ refLengths: [Int]) -> Int {
    var bestDiff = -1, best = -1
    for r in refLengths {
        let d = abs(hypLength - r)
        if bestDiff == -1 || d < bestDiff { bestDiff = d; best = r }
        else if d == bestDiff && r < best { best = r }
    }
    return best
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
