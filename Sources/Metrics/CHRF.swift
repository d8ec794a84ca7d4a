// chrF (Popović, 2015, https://aclanthology.org/W15-3049) and chrF++ (Popović, 2017,
// https://aclanthology.org/W17-4770) exactly as sacreBLEU 2.6.0 computes them.

/// chrF's sufficient statistics for one segment or a whole corpus (they add up).
///
/// sacreBLEU's flat list: for each character order 1…`charOrder`, then each word order
/// 1…`wordOrder`, the triple `[hypothesis n-grams, reference n-grams, matches]`.
public struct CHRFStatistics: Equatable, Sendable {
    /// `3 · (charOrder + wordOrder)` counts.
    public var values: [Int]

    public init(values: [Int]) { self.values = values }

    /// All-zero statistics for `orders` orders (the identity of `+`).
    public init(orders: Int) { values = [Int](repeating: 0, count: 3 * orders) }

    /// Element-wise sum (corpus chrF sums segment statistics).
    /// - Precondition: both have the same number of orders.
    public static func + (a: CHRFStatistics, b: CHRFStatistics) -> CHRFStatistics {
        var s = a
        s += b
        return s
    }

    public static func += (a: inout CHRFStatistics, b: CHRFStatistics) {
        precondition(a.values.count == b.values.count, "chrF statistics of different orders cannot be added")
        for i in a.values.indices { a.values[i] += b.values[i] }
    }
}

/// A chrF score as sacreBLEU reports it (`CHRFScore`): the name says β and the word order
/// (`chrF2`, `chrF2++`), the score is on 0–100.
public struct CHRFScore: Equatable, Sendable {
    /// chrF on 0–100.
    public var score: Double
    /// The configuration's character order, word order and β (they make the name).
    public var charOrder: Int
    public var wordOrder: Int
    public var beta: Int

    public init(score: Double, charOrder: Int, wordOrder: Int, beta: Int) {
        self.score = score; self.charOrder = charOrder; self.wordOrder = wordOrder; self.beta = beta
    }

    /// sacreBLEU's name: `chrF<β>` followed by one `+` per word order.
    public var name: String { "chrF\(beta)" + String(repeating: "+", count: wordOrder) }

    /// sacreBLEU's text line, `chrF2++ = 80.40`, with `width` decimals (and the bootstrap mean
    /// and half-width when given, as sacreBLEU prints them).
    public func formatted(width: Int = 2, confidence: ConfidenceInterval? = nil) -> String {
        "\(name) = \(formatScore(score, width: width, confidence: confidence))"
    }
}

/// `score` with `width` decimals, followed by ` (μ = mean ± half-width)` when a confidence
/// interval with a positive mean is given (sacreBLEU's `Score.format`).
public func formatScore(_ score: Double, width: Int, confidence: ConfidenceInterval?) -> String {
    var sc = formatFixed(score, width)
    if let ci = confidence, ci.mean > 0 {
        sc += " (μ = \(formatFixed(ci.mean, width)) ± \(formatFixed(ci.halfWidth, width)))"
    }
    return sc
}

/// chrF's configuration, with sacreBLEU 2.6.0's options and defaults (`CHRF()`).
///
/// For each order n, character n-grams (of the line without whitespace unless ``whitespace``)
/// and, for chrF++, word n-grams (words split off one leading or trailing ASCII punctuation
/// mark) give precision `P_n = matches / hyp n-grams` and recall `R_n = matches / ref n-grams`
/// (counts clipped per n-gram). With `P`, `R` the averages over the orders where both the
/// hypothesis and the reference have n-grams (the "effective order"):
///
///     chrF_β = 100 · (1 + β²) · P · R / (β² · P + R)
///
/// Several references: the reference with the best sentence chrF gives the segment's
/// statistics (the first on a tie); corpus chrF is chrF of the summed statistics.
///
/// ```swift
/// let chrf = CHRF(wordOrder: 2)          // chrF++
/// print(chrf.sentenceScore(hypothesis: "the cat sat", references: ["the cat sat down"]).formatted())
/// ```
public struct CHRF: Sendable, Equatable, SegmentMetric {
    /// The highest character n-gram order (6).
    public var charOrder: Int
    /// The highest word n-gram order (0 for chrF, 2 for chrF++).
    public var wordOrder: Int
    /// Recall's weight relative to precision (2).
    public var beta: Int
    /// Lowercase hypothesis and references first (Python's `str.lower()`).
    public var lowercase: Bool
    /// Keep whitespace in character n-grams (default: every Python whitespace is removed).
    public var whitespace: Bool
    /// chrF++.py's ε smoothing (average over all orders) instead of the effective order.
    public var epsSmoothing: Bool

    /// - Precondition: `charOrder ≥ 0`, `wordOrder ≥ 0`, at least one of them positive, `beta ≥ 0`.
    public init(charOrder: Int = 6, wordOrder: Int = 0, beta: Int = 2, lowercase: Bool = false,
                whitespace: Bool = false, epsSmoothing: Bool = false) {
        precondition(charOrder >= 0 && wordOrder >= 0 && charOrder + wordOrder > 0, "chrF needs a positive character or word order")
        precondition(beta >= 0, "chrF's beta cannot be negative")
        self.charOrder = charOrder; self.wordOrder = wordOrder; self.beta = beta
        self.lowercase = lowercase; self.whitespace = whitespace; self.epsSmoothing = epsSmoothing
    }

    /// `charOrder + wordOrder`.
    public var order: Int { charOrder + wordOrder }

    /// sacreBLEU's `_compute_f_score`: chrF from statistics (see the type's formula). With
    /// ``epsSmoothing`` it is the mean over all orders of the per-order F_β, where a zero count
    /// gives ε = 1e-16 in place of the precision, recall or F.
    /// - Precondition: `stats.values.count == 3 · order`.
    /// - Complexity: O(order).
    public func fScore(_ stats: CHRFStatistics) -> Double {
        precondition(stats.values.count == 3 * order, "chrF statistics need 3 counts per order")
        let eps = 1e-16
        let factor = Double(beta * beta)
        var score = 0.0, avgPrec = 0.0, avgRec = 0.0
        var effectiveOrder = 0
        for i in 0..<order {
            let nHyp = stats.values[3 * i], nRef = stats.values[3 * i + 1], nMatch = stats.values[3 * i + 2]
            let prec = nHyp > 0 ? Double(nMatch) / Double(nHyp) : eps
            let rec = nRef > 0 ? Double(nMatch) / Double(nRef) : eps
            let denom = factor * prec + rec
            score += denom > 0 ? (1 + factor) * prec * rec / denom : eps
            if nHyp > 0 && nRef > 0 {
                avgPrec += prec
                avgRec += rec
                effectiveOrder += 1
            }
        }
        if epsSmoothing { return 100 * score / Double(order) }
        if effectiveOrder == 0 {
            avgPrec = 0; avgRec = 0
        } else {
            avgPrec /= Double(effectiveOrder)
            avgRec /= Double(effectiveOrder)
        }
        guard avgPrec + avgRec != 0 else { return 0 }
        var f = (1 + factor) * avgPrec * avgRec
        f /= factor * avgPrec + avgRec
        return 100 * f
    }

    /// The score of (summed) statistics. - Complexity: O(order).
    public func score(_ stats: CHRFStatistics) -> CHRFScore {
        CHRFScore(score: fScore(stats), charOrder: charOrder, wordOrder: wordOrder, beta: beta)
    }

    /// A segment scorer with these options (``SegmentMetric``: `statistics`, `sentenceScore`,
    /// `corpusStatistics`, `corpusScore`).
    public func makeSegmentScorer() -> CHRFSegmentScorer { CHRFSegmentScorer(self) }

    /// The statistics of no segment.
    public var zeroStatistics: CHRFStatistics { CHRFStatistics(orders: order) }

    /// sacreBLEU's signature for these options, long (`nrefs:1|case:mixed|eff:yes|nc:6|nw:0|
    /// space:no|version:…`) or short (`#:1|c:mixed|e:yes|nc:6|nw:0|s:no|v:…`).
    ///
    /// - Parameters:
    ///   - version: the version named last (see ``BLEU/signature(references:bootstrap:version:short:)``).
    ///   - bootstrap: the number of resamples and the seed, when confidence intervals were asked.
    public func signature(references: ReferenceCount, bootstrap: (samples: Int, seed: UInt64)? = nil,
                          version: String = "mixer-\(mixerVersion)", short: Bool = false) -> String {
        metricSignature(references: references, bootstrap: bootstrap, short: short, fields: [
            ("case", "c", lowercase ? "lc" : "mixed"), ("eff", "e", epsSmoothing ? "no" : "yes"),
            ("nc", "nc", String(charOrder)), ("nw", "nw", String(wordOrder)),
            ("space", "s", whitespace ? "yes" : "no"), ("version", "v", version)])
    }
}

/// Computes chrF statistics segment by segment with reusable buffers: references are added one
/// at a time (their n-grams are counted at once, so the caller need not keep them), then the
/// hypothesis closes the segment. This is the streaming path of `mixer-cli score`.
///
/// Every n-gram gets a dense per-segment id: a character (or word) n-gram is the pair (id of its
/// first n − 1 items, last item), so n-grams of any order are compared exactly, by code points
/// (Python's string equality), never by `String`'s canonical equivalence.
/// - Note: not thread-safe; use one per thread.
public final class CHRFSegmentScorer: SegmentScorer {
    /// The configuration.
    public let chrf: CHRF
    private let pairIDs = PairTable()
    private var idOrder: [UInt8] = []               // per id: its order index (chars, then words)
    private var refCounts: [[Int32]] = []           // per reference: count per id
    private var refTotals: [[Int]] = []             // per reference: n-grams per order
    private var hypCounts: [Int32] = []
    private var hypDistinct: [UInt32] = []
    private let words = ByteInterner()
    private var lowered: [UInt8] = []
    private var scalars: [UInt32] = []
    private var tokens: [UInt32] = []               // word ids after punctuation splitting
    private var previous: [UInt32] = []             // ids of the previous order's n-grams
    private var segmentIDs: [UInt32] = []           // ids of the current text's n-grams, all orders

    public init(_ chrf: CHRF) { self.chrf = chrf }

    // The single-reference fast path: references are kept as bytes until the hypothesis comes.
    private var pendingBytes: [UInt8] = []
    private var pendingEnds: [Int] = []
    private let fast = CHRFPackedCounter()

    /// Starts a new segment (forgets the previous references).
    public func beginSegment() {
        pendingBytes.removeAll(keepingCapacity: true)
        pendingEnds.removeAll(keepingCapacity: true)
        pairIDs.reset()
        idOrder.removeAll(keepingCapacity: true)
        refCounts.removeAll(keepingCapacity: true)
        refTotals.removeAll(keepingCapacity: true)
        words.reset()
    }

    private static let firstChar: UInt64 = 0xFFFF_FFFF << 32
    private static let firstWord: UInt64 = 0xFFFF_FFFE << 32

    @inline(__always) private func pairID(_ key: UInt64, order: Int) -> UInt32 {
        let id = pairIDs.id(key, next: UInt32(idOrder.count))
        if id == idOrder.count { idOrder.append(UInt8(order)) }
        return id
    }

    /// The n-gram ids of one text, all orders, into `segmentIDs`; returns the n-grams per order.
    private func extract(_ line: UnsafeBufferPointer<UInt8>) -> [Int] {
        guard chrf.lowercase else { return extractPreprocessed(line) }
        lowered.removeAll(keepingCapacity: true)
        pythonLower(line, into: &lowered)
        return lowered.withUnsafeBufferPointer { extractPreprocessed($0) }
    }

    private func extractPreprocessed(_ text: UnsafeBufferPointer<UInt8>) -> [Int] {
        var totals = [Int](repeating: 0, count: chrf.order)
        segmentIDs.removeAll(keepingCapacity: true)
        // Characters: Unicode scalars, without Python whitespace unless asked.
        scalars.removeAll(keepingCapacity: true)
        decodeScalars(text, keepWhitespace: chrf.whitespace, into: &scalars)
        ngrams(of: scalars, orders: chrf.charOrder, orderBase: 0, first: Self.firstChar, totals: &totals)
        // Words (chrF++): Python's split(), then one leading or trailing punctuation mark apart.
        if chrf.wordOrder > 0 {
            wordIDs(text, into: &tokens)
            ngrams(of: tokens, orders: chrf.wordOrder, orderBase: chrf.charOrder, first: Self.firstWord, totals: &totals)
        }
        return totals
    }

    /// The word ids of `text` (interned in `words`): Python's split(), then one leading or
    /// trailing punctuation mark split off. - Complexity: O(n) expected.
    /// `readableTail`: 8 bytes past the end of `text` may be read (the interner then hashes a
    /// word's last bytes in one load).
    fileprivate func wordIDs(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt32], readableTail: Bool = false) {
        out.removeAll(keepingCapacity: true)
        guard let base = text.baseAddress else { return }
        let words = words
        pythonSplit(base, text.count) { s, e in
            let w = UnsafeBufferPointer(start: base + s, count: e - s)
            if isSingleScalar(w) {
                out.append(words.intern(w, readableTail: readableTail))
            } else if isCHRFPunctuation(w[w.count - 1]) {
                out.append(words.intern(UnsafeBufferPointer(rebasing: w[0..<(w.count - 1)]), readableTail: readableTail))
                out.append(words.intern(UnsafeBufferPointer(rebasing: w[(w.count - 1)...]), readableTail: readableTail))
            } else if isCHRFPunctuation(w[0]) {
                out.append(words.intern(UnsafeBufferPointer(rebasing: w[0..<1]), readableTail: readableTail))
                out.append(words.intern(UnsafeBufferPointer(rebasing: w[1...]), readableTail: readableTail))
            } else {
                out.append(words.intern(w, readableTail: readableTail))
            }
        }
    }

    /// Appends the ids of the n-grams of `items` for n = 1…`orders` to `segmentIDs`: the id of
    /// `items[i..<i+n]` is the pair (id of `items[i..<i+n-1]`, `items[i+n-1]`).
    /// - Complexity: O(items · orders) expected.
    private func ngrams(of items: [UInt32], orders: Int, orderBase: Int, first: UInt64, totals: inout [Int]) {
        guard orders > 0, !items.isEmpty else { return }
        var out: [UInt32] = []
        swap(&out, &segmentIDs)                 // append to a local array (no exclusivity checks)
        previous.removeAll(keepingCapacity: true)
        previous.append(contentsOf: repeatElement(0, count: items.count))
        items.withUnsafeBufferPointer { it in
            previous.withUnsafeMutableBufferPointer { prev in
                for n in 1...orders {
                    let count = it.count - n + 1
                    if count <= 0 { break }
                    totals[orderBase + n - 1] = count
                    let order = orderBase + n - 1
                    for i in 0..<count {
                        let head: UInt64 = n == 1 ? first : UInt64(prev[i]) << 32
                        let id = pairID(head | UInt64(it[i + n - 1]), order: order)
                        prev[i] = id
                        out.append(id)
                    }
                }
            }
        }
        swap(&out, &segmentIDs)
    }

    /// The number of n-gram ids so far (a mark for ``rewind(to:)``); counts the pending references.
    var mark: Int { materializeReferences(); return idOrder.count }

    /// Counts the pending references on the general path (per-segment n-gram ids).
    private func materializeReferences() {
        guard !pendingEnds.isEmpty else { return }
        var bytes: [UInt8] = []
        swap(&bytes, &pendingBytes)
        let ends = pendingEnds
        pendingEnds.removeAll(keepingCapacity: true)
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            for e in ends {
                countReference(UnsafeBufferPointer(rebasing: b[start..<e]))
                start = e
            }
        }
        swap(&bytes, &pendingBytes)
        pendingBytes.removeAll(keepingCapacity: true)
    }

    /// Forgets the n-gram ids created after `mark` (a hypothesis's own n-grams), keeping the
    /// references: lets a reward score many hypotheses against the same references in bounded
    /// memory. - Precondition: no reference was added after `mark`.
    func rewind(to mark: Int) {
        pairIDs.truncate(to: mark)
        idOrder.removeLast(idOrder.count - mark)
    }

    /// Adds a reference given as UTF-8 bytes (checked well-formed by the caller). Its n-grams
    /// are counted when the hypothesis comes (one reference: the packed fast path).
    /// - Complexity: O(line length).
    public func addReference(_ line: UnsafeBufferPointer<UInt8>) {
        pendingBytes.append(contentsOf: line)
        pendingEnds.append(pendingBytes.count)
    }

    private func countReference(_ line: UnsafeBufferPointer<UInt8>) {
        let totals = extract(line)
        var counts = [Int32](repeating: 0, count: idOrder.count)
        for id in segmentIDs { counts[Int(id)] += 1 }
        refCounts.append(counts)
        refTotals.append(totals)
    }

    /// Adds a reference.
    public func addReference(_ line: String) {
        var line = line
        line.withUTF8 { addReference($0) }
    }

    /// Closes the segment with its hypothesis (UTF-8 bytes) and returns the statistics of the
    /// best reference.
    public func finishSegment(hypothesis line: UnsafeBufferPointer<UInt8>) -> CHRFStatistics {
        if refCounts.isEmpty && pendingEnds.count == 1 {
            return pendingBytes.withUnsafeBufferPointer { r in
                fast.statistics(chrf: chrf, reference: r, hypothesis: line, words: words, scorer: self)
            }
        }
        materializeReferences()
        let hypTotals = extract(line)
        let order = chrf.order
        var counted: [Int32] = [], distinct: [UInt32] = []
        swap(&counted, &hypCounts); swap(&distinct, &hypDistinct)      // local arrays in the loop
        counted.removeAll(keepingCapacity: true)
        counted.append(contentsOf: repeatElement(0, count: idOrder.count))
        distinct.removeAll(keepingCapacity: true)
        counted.withUnsafeMutableBufferPointer { c in
            for id in segmentIDs {
                if c[Int(id)] == 0 { distinct.append(id) }
                c[Int(id)] += 1
            }
        }
        swap(&counted, &hypCounts); swap(&distinct, &hypDistinct)
        var best = CHRFStatistics(orders: order)
        var bestF = -1.0
        var stats = CHRFStatistics(orders: order)
        for (counts, totals) in zip(refCounts, refTotals) {
            for k in 0..<order {
                stats.values[3 * k] = totals[k] > 0 ? hypTotals[k] : 0
                stats.values[3 * k + 1] = totals[k]
                stats.values[3 * k + 2] = 0
            }
            for id in hypDistinct where Int(id) < counts.count {
                let r = counts[Int(id)]
                if r > 0 { stats.values[3 * Int(idOrder[Int(id)]) + 2] += Int(min(r, hypCounts[Int(id)])) }
            }
            let f = chrf.fScore(stats)
            if f > bestF { bestF = f; best = stats }
        }
        return best
    }

    /// Closes the segment with its hypothesis.
    public func finishSegment(hypothesis: String) -> CHRFStatistics {
        var h = hypothesis
        return h.withUTF8 { finishSegment(hypothesis: $0) }
    }
}

/// Whether `w` (well-formed UTF-8) is one Unicode scalar (Python's `len(w) == 1`).
@inline(__always)
private func isSingleScalar(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let b = w.first else { return false }
    let n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
    return w.count == n
}

/// sacreBLEU's `CHRF._PUNCTS` (Python's `string.punctuation`): ASCII, so a byte test is exact
/// (UTF-8 lead and continuation bytes are ≥ 0x80).
@inline(__always)
private func isCHRFPunctuation(_ b: UInt8) -> Bool {
    (b >= 0x21 && b <= 0x2F) || (b >= 0x3A && b <= 0x40) || (b >= 0x5B && b <= 0x60) || (b >= 0x7B && b <= 0x7E)
}

/// Appends the Unicode scalars of well-formed UTF-8 `text` to `out`, without Python whitespace
/// unless `keepWhitespace`. - Complexity: O(n).
@inline(__always)
private func decodeScalars(_ text: UnsafeBufferPointer<UInt8>, keepWhitespace: Bool, into out: inout [UInt32]) {
    var i = 0
    let n = text.count
    while i < n {
        let b = UInt32(text[i])
        var c: UInt32
        if b < 0x80 { c = b; i += 1 }
        else if b < 0xE0 { c = (b & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F); i += 2 }
        else if b < 0xF0 { c = (b & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F); i += 3 }
        else {
            c = (b & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12 | UInt32(text[i + 2] & 0x3F) << 6 | UInt32(text[i + 3] & 0x3F)
            i += 4
        }
        if keepWhitespace || !isPythonWhitespace(c) { out.append(c) }
    }
}

/// An open-addressing map from 64-bit keys to dense ids (linear probing, multiplicative hash),
/// reset per segment in O(entries): chrF interns thousands of n-grams per segment.
final class PairTable {
    private var keys: UnsafeMutablePointer<UInt64>
    private var ids: UnsafeMutablePointer<UInt32>       // id + 1 (0 = empty)
    private var used: UnsafeMutablePointer<Int32>       // the occupied slots
    private var count = 0
    private var mask: Int

    init() {
        mask = 1023
        keys = .allocate(capacity: mask + 1)
        ids = .allocate(capacity: mask + 1)
        ids.initialize(repeating: 0, count: mask + 1)
        used = .allocate(capacity: (mask + 1) / 2 + 1)
    }

    deinit { keys.deallocate(); ids.deallocate(); used.deallocate() }

    /// Forgets every key (keeps the memory).
    func reset() { truncate(to: 0) }

    /// The number of keys.
    var size: Int { count }

    /// Forgets the keys added after the first `n`. Exact with linear probing: a key's probe
    /// run was formed by earlier keys only, and `grow` keeps the insertion order.
    func truncate(to n: Int) {
        for k in n..<count { ids[Int(used[k])] = 0 }
        count = min(count, n)
    }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The id of `key`, or `next` (recorded as its id) when the key is new.
    @inline(__always)
    func id(_ key: UInt64, next: UInt32) -> UInt32 {
        var s = Self.slot(key, mask)
        while true {
            let v = ids[s]
            if v == 0 { break }
            if keys[s] == key { return v - 1 }
            s = (s + 1) & mask
        }
        keys[s] = key
        ids[s] = next + 1
        used[count] = Int32(s)
        count += 1
        if count * 2 > mask + 1 { grow() }
        return next
    }

    /// The id of `key`, or `UInt32.max` when it has none.
    @inline(__always)
    func find(_ key: UInt64) -> UInt32 {
        var s = Self.slot(key, mask)
        while true {
            let v = ids[s]
            if v == 0 { return .max }
            if keys[s] == key { return v - 1 }
            s = (s + 1) & mask
        }
    }

    private func grow() {
        let oldKeys = keys, oldIDs = ids, oldUsed = used, n = count
        mask = mask * 2 + 1
        keys = .allocate(capacity: mask + 1)
        ids = .allocate(capacity: mask + 1)
        ids.initialize(repeating: 0, count: mask + 1)
        used = .allocate(capacity: (mask + 1) / 2 + 1)
        count = 0
        for k in 0..<n {
            let o = Int(oldUsed[k])
            var s = Self.slot(oldKeys[o], mask)
            while ids[s] != 0 { s = (s + 1) & mask }
            keys[s] = oldKeys[o]; ids[s] = oldIDs[o]
            used[count] = Int32(s); count += 1
        }
        oldKeys.deallocate(); oldIDs.deallocate(); oldUsed.deallocate()
    }
}

/// chrF statistics of one hypothesis against one reference with dense n-gram ids, without
/// hashing. Each character (word) gets a dense per-segment id, the reference's first (so its
/// items are 1…A − 1 and an id ≥ A is absent from it).
///
/// **The trie (the common case).** The reference's n-grams of orders 1…N are the nodes of a
/// trie of depth N stored in a direct table `T`: the child of node `u` by item `c` is
/// `T[u · A + c]` (root 0, new nodes 1, 2, … in first-seen order). One pass over the
/// reference walks, from each position i, the path `r[i], r[i+1], …` (N steps, fewer near the
/// end), creating nodes and counting a reference occurrence per node; one pass over the
/// hypothesis walks the same paths, stopping at the first n-gram the reference lacks (its
/// extensions are absent too), and takes one clipped match per node while the node has
/// unmatched reference occurrences: per order, Σ min(hyp count, ref count), as sacreBLEU.
/// Both passes cover all orders at once (no per-order arrays of ids). It is used when the
/// trie's table, at most `(N · |r| + 1) · A` entries, fits `directLimit` and its nodes fit 16
/// bits.
///
/// **Order by order (longer lines, larger alphabets).** The reference n-gram `r[i..<i+n]` gets
/// the id `T[id(r[i..<i+n-1]) · A + r[i+n-1]]` (new ids 1, 2, … in first-seen order, a count
/// per id), so the ids of order n extend those of order n − 1 in place; each hypothesis n-gram
/// is then looked up the same way and clipped as above. An n-gram whose (n − 1)-prefix is
/// absent from the reference gets id 0 and is not looked up (nor are its extensions); a
/// reference n-gram whose prefix the hypothesis lacks gets none. When `(ids of order n − 1 +
/// 1) · A` exceeds `directLimit`, the order's table is an open-addressing ``PairTable`` on the
/// pair (prefix id, item) instead.
/// - Complexity: O((hypothesis + reference length) · order) (expected, on the hashed orders);
///   memory O((hypothesis + reference length) · order) plus the direct tables (1 MiB, and
///   512 KiB for the trie; only the entries used are touched and cleared); no allocation once
///   the buffers have grown.
final class CHRFPackedCounter {
    private var refLower: [UInt8] = [], hypLower: [UInt8] = []
    private var ids = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)    // reference's, then hypothesis's
    private var idCapacity = 1
    private var refWords: [UInt32] = [], hypWords: [UInt32] = []
    private var padded: [UInt8] = []
    private static let zeros = [UInt8](repeating: 0, count: 8)
    private let asciiIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
    /// The ASCII table's initial contents: 0 (no id yet), or `skip` for Python whitespace
    /// (`asciiTemplate[1]`: whitespace kept, all 0).
    private let asciiTemplate: [[UInt32]] = [false, true].map { keep in
        (0..<128).map { b in !keep && isPythonWhitespace(UInt32(b)) ? CHRFPackedCounter.skip : 0 }
    }
    /// The ids of the scalars U+0080…U+07FF (two UTF-8 bytes: Latin, Greek, Cyrillic, …), or 0,
    /// or `skip`; `twoByteUsed` lists the entries set, to clear them.
    private let twoByteIDs: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 0x800)
        p.initialize(repeating: 0, count: 0x800)
        return p
    }()
    private let twoByteUsed = UnsafeMutablePointer<UInt16>.allocate(capacity: 0x800)
    private var twoByteCount = 0
    /// A character that gets no id (whitespace, unless kept).
    private static let skip = UInt32.max
    private let wideIDs = PairTable()
    private var charCount: UInt32 = 0

    // Per-order scratch: the n-gram ids of the reference (`refIDs`) and of the hypothesis
    // (`hypIDs`) by start position; per id its reference count and the occurrences matched.
    private var refIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var hypIDs = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    // Two sets, for alternate orders: order n reads order n − 1's `matched`.
    private var refCount = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var matched = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var refCount2 = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var matched2 = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var touched = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private var scratchCapacity = 1
    /// The direct table's entries (all zero between orders; 4 bytes each).
    private static let directLimit = 1 << 18
    private let table: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: CHRFPackedCounter.directLimit)
        p.initialize(repeating: 0, count: CHRFPackedCounter.directLimit)
        return p
    }()
    private let pairs = PairTable()
    /// The trie's direct table: node ids fit 16 bits there (≤ 65,535 nodes), which halves the
    /// memory the walks touch (all zero between calls).
    private let trieTable: UnsafeMutablePointer<UInt16> = {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: CHRFPackedCounter.directLimit)
        p.initialize(repeating: 0, count: CHRFPackedCounter.directLimit)
        return p
    }()

    deinit {
        ids.deallocate(); asciiIDs.deallocate(); table.deallocate(); twoByteIDs.deallocate(); twoByteUsed.deallocate()
        trieTable.deallocate()
        refIDs.deallocate(); hypIDs.deallocate(); refCount.deallocate(); matched.deallocate(); touched.deallocate()
        refCount2.deallocate(); matched2.deallocate()
    }

    /// The statistics of `hypothesis` against the single `reference`.
    func statistics(chrf: CHRF, reference: UnsafeBufferPointer<UInt8>, hypothesis: UnsafeBufferPointer<UInt8>,
                    words: ByteInterner, scorer: CHRFSegmentScorer) -> CHRFStatistics {
        var ref = reference, hyp = hypothesis
        if chrf.lowercase {
            refLower.removeAll(keepingCapacity: true); pythonLower(reference, into: &refLower)
            hypLower.removeAll(keepingCapacity: true); pythonLower(hypothesis, into: &hypLower)
        }
        return refLower.withUnsafeBufferPointer { rl in
            hypLower.withUnsafeBufferPointer { hl in
                if chrf.lowercase { ref = rl; hyp = hl }
                return compute(chrf, ref, hyp, words, scorer)
            }
        }
    }

    private func compute(_ chrf: CHRF, _ ref: UnsafeBufferPointer<UInt8>, _ hyp: UnsafeBufferPointer<UInt8>,
                         _ words: ByteInterner, _ scorer: CHRFSegmentScorer) -> CHRFStatistics {
        let order = chrf.order
        var stats = CHRFStatistics(orders: order)
        if chrf.charOrder > 0 {
            // Dense character ids, the reference's first.
            asciiTemplate[chrf.whitespace ? 1 : 0].withUnsafeBufferPointer { asciiIDs.update(from: $0.baseAddress!, count: 128) }
            for k in 0..<twoByteCount { twoByteIDs[Int(twoByteUsed[k])] = 0 }
            twoByteCount = 0
            wideIDs.reset()
            charCount = 0
            if idCapacity < ref.count + hyp.count {
                ids.deallocate()
                idCapacity = max(ref.count + hyp.count, 2 * idCapacity)
                ids = .allocate(capacity: idCapacity)
            }
            let nRef = charIDs(ref, keepWhitespace: chrf.whitespace, into: ids)
            let alphabet = Int(charCount) + 1
            let nHyp = charIDs(hyp, keepWhitespace: chrf.whitespace, into: ids + nRef)
            stats.values.withUnsafeMutableBufferPointer { v in
                count(UnsafeBufferPointer(start: ids, count: nRef), UnsafeBufferPointer(start: ids + nRef, count: nHyp),
                      alphabet: alphabet, orders: chrf.charOrder, stats: v, base: 0)
            }
        }
        if chrf.wordOrder > 0 {
            // Both texts copied with 8 zero bytes after each, so that words hash their tails
            // in one load.
            padded.removeAll(keepingCapacity: true)
            padded.append(contentsOf: ref); padded.append(contentsOf: Self.zeros)
            let hypStart = padded.count
            padded.append(contentsOf: hyp); padded.append(contentsOf: Self.zeros)
            padded.withUnsafeBufferPointer { p in
                scorer.wordIDs(UnsafeBufferPointer(rebasing: p[0..<ref.count]), into: &refWords, readableTail: true)
                scorer.wordIDs(UnsafeBufferPointer(rebasing: p[hypStart..<(hypStart + hyp.count)]), into: &hypWords, readableTail: true)
            }
            var alphabet = 0
            for i in refWords.indices { refWords[i] += 1; alphabet = max(alphabet, Int(refWords[i])) }
            for i in hypWords.indices { hypWords[i] += 1 }
            stats.values.withUnsafeMutableBufferPointer { v in
                refWords.withUnsafeBufferPointer { r in
                    hypWords.withUnsafeBufferPointer { h in
                        count(r, h, alphabet: alphabet + 1, orders: chrf.wordOrder, stats: v, base: chrf.charOrder)
                    }
                }
            }
        }
        // sacreBLEU's best reference: the only one, unless its chrF is not above −1 (never).
        return chrf.fScore(stats) > -1 ? stats : CHRFStatistics(orders: order)
    }

    /// Writes the dense ids (from 1) of the Unicode scalars of well-formed UTF-8 `text` to
    /// `out` (room for `text.count`), without Python whitespace unless `keepWhitespace`;
    /// returns how many. ASCII and two-byte scalars (U+0080…U+07FF) take direct tables whose
    /// whitespace entries hold `skip` (an id is written and the count not advanced: no branch
    /// per character); other scalars `wideIDs`. - Complexity: O(n) expected.
    private func charIDs(_ text: UnsafeBufferPointer<UInt8>, keepWhitespace: Bool, into out: UnsafeMutablePointer<UInt32>) -> Int {
        var i = 0, n = 0
        let count = text.count
        let skip = Self.skip
        while i < count {
            let b = text[i]
            if b < 0x80 {
                i += 1
                var id = asciiIDs[Int(b)]
                if id == 0 { charCount += 1; id = charCount; asciiIDs[Int(b)] = id }
                out[n] = id
                n &+= id != skip ? 1 : 0
                continue
            }
            let c0 = UInt32(b)
            if c0 < 0xE0 {
                let c = Int((c0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F))
                i += 2
                var id = twoByteIDs[c]
                if id == 0 {
                    if !keepWhitespace && isPythonWhitespace(UInt32(c)) { id = skip } else { charCount += 1; id = charCount }
                    twoByteIDs[c] = id
                    twoByteUsed[twoByteCount] = UInt16(c); twoByteCount += 1
                }
                out[n] = id
                n &+= id != skip ? 1 : 0
                continue
            }
            var c: UInt32
            if c0 < 0xF0 { c = (c0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F); i += 3 }
            else {
                c = (c0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12 | UInt32(text[i + 2] & 0x3F) << 6 | UInt32(text[i + 3] & 0x3F)
                i += 4
            }
            if !keepWhitespace && isPythonWhitespace(c) { continue }
            let id = wideIDs.id(UInt64(c), next: charCount + 1)
            if id == charCount + 1 { charCount += 1 }
            out[n] = id; n += 1
        }
        return n
    }

    private func reserveScratch(_ n: Int) {
        guard n > scratchCapacity else { return }
        scratchCapacity = max(n, 2 * scratchCapacity)
        for p in [refIDs, hypIDs, refCount, matched, refCount2, matched2, touched] { p.deallocate() }
        refIDs = .allocate(capacity: scratchCapacity); hypIDs = .allocate(capacity: scratchCapacity)
        refCount = .allocate(capacity: scratchCapacity); matched = .allocate(capacity: scratchCapacity)
        refCount2 = .allocate(capacity: scratchCapacity); matched2 = .allocate(capacity: scratchCapacity)
        touched = .allocate(capacity: scratchCapacity)
    }

    /// ``count(_:_:alphabet:orders:stats:base:)`` through the trie (see the type): the
    /// reference's n-grams of all orders in one pass, the hypothesis's in another.
    /// - Precondition: `(orders · r.count + 1) · alphabet ≤ directLimit`, `r` not empty.
    /// - Complexity: O((|r| + |h|) · orders).
    private func countTrie(_ r: UnsafeBufferPointer<UInt32>, _ h: UnsafeBufferPointer<UInt32>, alphabet: Int, orders: Int,
                           stats v: UnsafeMutableBufferPointer<Int>, base: Int) {
        let nr = r.count, nh = h.count
        // n-gram totals: sacreBLEU counts no hypothesis n-grams for an order where the
        // reference has none.
        for k in 0..<min(orders, nr) {
            let o = 3 * (base + k)
            v[o] = max(nh - k, 0); v[o + 1] = nr - k; v[o + 2] = 0
        }
        reserveScratch(2 * (orders * nr + 1))
        // Per node u: its reference count at counts[2u], its matched occurrences at counts[2u + 1]
        // (one cache line for both).
        let table = trieTable, counts = refCount, touched = touched
        var nodes = 0
        for i in 0..<nr {
            var node = 0
            for k in 0..<min(orders, nr - i) {
                let slot = node &* alphabet &+ Int(r[i + k])
                var id = Int(table[slot])
                if id == 0 {
                    nodes += 1; id = nodes; table[slot] = UInt16(truncatingIfNeeded: id)
                    touched[id - 1] = UInt32(slot); counts[2 * id] = 0; counts[2 * id + 1] = 0
                }
                counts[2 * id] &+= 1
                node = id
            }
        }
        let m = v.baseAddress! + 3 * base + 2      // matches of order k + 1 at m[3 · k]
        for i in 0..<nh {
            var node = 0
            for k in 0..<min(orders, nh - i) {
                let c = Int(h[i + k])
                if c >= alphabet { break }
                let id = Int(table[node &* alphabet &+ c])
                if id == 0 { break }
                let hit = counts[2 * id + 1] < counts[2 * id] ? 1 : 0
                counts[2 * id + 1] &+= UInt32(truncatingIfNeeded: hit)
                m[3 * k] &+= hit
                node = id
            }
        }
        for k in 0..<nodes { table[Int(touched[k])] = 0 }
    }

    /// Fills the hypothesis count, reference count and matches of orders 1…`orders` (at
    /// `base`…) from the items' ids, the reference's in 1..<`alphabet` (see the type).
    /// sacreBLEU counts no hypothesis n-grams for an order where the reference has none.
    private func count(_ r: UnsafeBufferPointer<UInt32>, _ h: UnsafeBufferPointer<UInt32>, alphabet: Int, orders: Int,
                       stats v: UnsafeMutableBufferPointer<Int>, base: Int) {
        let nr = r.count, nh = h.count
        guard orders > 0, nr > 0 else { return }
        let (nodes, overflow) = orders.multipliedReportingOverflow(by: nr)
        if !overflow, nodes <= Int(UInt16.max), (nodes + 1) * alphabet <= Self.directLimit {
            countTrie(r, h, alphabet: alphabet, orders: orders, stats: v, base: base)
            return
        }
        reserveScratch(max(nr, nh, alphabet) + 1)
        let rid = refIDs, hid = hypIDs, table = table
        var cnt = refCount, used = matched, usedBefore = matched2, cntNext = refCount2
        // Id 0 (absent) has count 0 in both sets.
        cntNext[0] = 0; usedBefore[0] = 0
        // Order 1: the items are the ids.
        cnt.update(repeating: 0, count: alphabet)
        used.update(repeating: 0, count: alphabet)
        for i in 0..<nr { let c = Int(r[i]); rid[i] = UInt32(c); cnt[c] &+= 1 }
        var matches = 0
        for i in 0..<nh {
            let c = Int(h[i])
            guard c < alphabet else { hid[i] = 0; continue }
            hid[i] = UInt32(c)
            let m: UInt32 = used[c] < cnt[c] ? 1 : 0
            used[c] &+= m; matches &+= Int(m)
        }
        v[3 * base] = nh; v[3 * base + 1] = nr; v[3 * base + 2] = matches
        var prefixes = alphabet - 1             // the largest id of the previous order
        guard orders > 1 else { return }
        for n in 2...orders {
            let cr = nr - n + 1
            if cr <= 0 { break }
            let ch = nh - n + 1
            let o = 3 * (base + n - 1)
            v[o + 1] = cr
            v[o] = max(ch, 0)
            var next = 0
            matches = 0
            // This order's counts go to the other set; `usedBefore` keeps the previous order's
            // matches: a reference n-gram whose prefix the hypothesis lacks (no match) gets id 0.
            swap(&cnt, &cntNext); usedBefore = used; used = usedBefore == matched ? matched2 : matched
            if (prefixes + 1) * alphabet <= Self.directLimit {
                for i in 0..<cr {
                    let prefix = Int(rid[i])
                    if usedBefore[prefix] == 0 { rid[i] = 0; continue }
                    let slot = prefix &* alphabet &+ Int(r[i + n - 1])
                    var id = table[slot]
                    if id == 0 {
                        next += 1; id = UInt32(next); table[slot] = id
                        touched[next - 1] = UInt32(slot); cnt[next] = 0; used[next] = 0
                    }
                    cnt[Int(id)] &+= 1
                    rid[i] = id
                }
                var i = 0
                while i < ch {
                    let p = hid[i]
                    if p != 0 {
                        let c = Int(h[i + n - 1])
                        let id = c < alphabet ? table[Int(p) &* alphabet &+ c] : 0
                        hid[i] = id
                        let m: UInt32 = used[Int(id)] < cnt[Int(id)] ? 1 : 0     // id 0: never (count 0)
                        used[Int(id)] &+= m; matches &+= Int(m)
                    }
                    i += 1
                }
                for k in 0..<next { table[Int(touched[k])] = 0 }
            } else {
                pairs.reset()
                for i in 0..<cr {
                    if usedBefore[Int(rid[i])] == 0 { rid[i] = 0; continue }
                    let id = Int(pairs.id(UInt64(rid[i]) << 32 | UInt64(r[i + n - 1]), next: UInt32(next))) + 1
                    if id > next { next = id; cnt[id] = 0; used[id] = 0 }
                    cnt[id] &+= 1
                    rid[i] = UInt32(id)
                }
                for i in 0..<max(ch, 0) where hid[i] != 0 {
                    let found = pairs.find(UInt64(hid[i]) << 32 | UInt64(h[i + n - 1]))
                    let id = found == .max ? 0 : Int(found) + 1
                    hid[i] = UInt32(id)
                    let m: UInt32 = used[id] < cnt[id] ? 1 : 0
                    used[id] &+= m; matches &+= Int(m)
                }
            }
            v[o + 2] = matches
            prefixes = next
        }
    }
}
