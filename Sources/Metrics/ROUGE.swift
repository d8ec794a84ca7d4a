// ROUGE (Lin, 2004, https://aclanthology.org/W04-1013) exactly as Google's rouge-score 0.1.2
// computes it, on the same n-gram index as BLEU.
import CICU
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// How ROUGE splits text into tokens.
public enum ROUGETokenizer: String, CaseIterable, Sendable, Codable {
    /// rouge-score's tokenizer: Python `lower()`, every character outside `[a-z0-9]` becomes a
    /// space (so `café` → `caf`, and CJK text has no tokens), optional Porter stemming of
    /// tokens longer than 3 characters. Numbers match rouge-score 0.1.2.
    case compatible
    /// A Unicode-aware tokenizer (NOT rouge-score compatible): NFKC with case folding (ICU's
    /// NFKC_Casefold), then maximal runs of letters, marks and digits (general categories L*,
    /// M*, N*); each ideograph (CJK) is a token of its own. Stemming, when asked, applies to
    /// ASCII tokens longer than 3 characters only.
    case unicode

    /// The label printed beside scores: `unicode` says it is not comparable with rouge-score.
    public var label: String {
        self == .compatible ? "rouge-score 0.1.2 compatible" : "unicode tokenizer, NOT rouge-score compatible"
    }
}

/// The ROUGE variants.
public enum ROUGEType: String, CaseIterable, Sendable, Codable {
    /// Unigram overlap.
    case rouge1
    /// Bigram overlap.
    case rouge2
    /// Longest common subsequence over the whole text.
    case rougeL
    /// Summary-level LCS: the text's newline-separated sentences, union LCS per reference
    /// sentence (rouge-score's `rougeLsum`).
    case rougeLsum
}

/// Precision, recall and F1 of one ROUGE variant, on 0–1.
public struct ROUGEScore: Equatable, Sendable {
    public var precision: Double
    public var recall: Double
    /// `2PR / (P + R)`, or 0 when P + R = 0 (rouge-score's `fmeasure`).
    public var f: Double

    public init(precision: Double, recall: Double) {
        self.precision = precision
        self.recall = recall
        f = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }

    public static let zero = ROUGEScore(precision: 0, recall: 0)
}

/// ROUGE's configuration (rouge-score's `RougeScorer(rouge_types, use_stemmer)`).
///
/// ```swift
/// let r = ROUGE(useStemmer: true)
/// let s = r.score(hypothesis: "the cats ran", references: ["a cat runs"])
/// s[.rouge1]!.f
/// ```
public struct ROUGE: Sendable, Equatable {
    /// The variants computed.
    public var types: [ROUGEType]
    /// Porter-stem tokens longer than 3 characters (NLTK's stemmer).
    public var useStemmer: Bool
    /// The tokenizer (default: rouge-score's).
    public var tokenizer: ROUGETokenizer
    /// rougeLsum's sentences: false splits at newlines only (rouge-score's default); true
    /// splits with ICU's sentence rules (``ROUGESentenceSplitter``, the counterpart of
    /// rouge-score's `split_summaries=True`, which uses nltk's punkt). The other types read the
    /// whole text either way.
    public var splitSentences: Bool

    public init(types: [ROUGEType] = ROUGEType.allCases, useStemmer: Bool = false,
                tokenizer: ROUGETokenizer = .compatible, splitSentences: Bool = false) {
        self.types = types
        self.useStemmer = useStemmer
        self.tokenizer = tokenizer
        self.splitSentences = splitSentences
    }

    /// The tokens of `text` (rouge-score's `tokenize`, or the Unicode tokenizer).
    public func tokenize(_ text: String) -> [String] {
        var out: [String] = []
        var t = text
        var tk = ROUGETokenizerState()
        t.withUTF8 { p in tk.tokens(p, tokenizer: tokenizer, stem: useStemmer) { out.append(String(decoding: $0, as: UTF8.self)) } }
        return out
    }

    /// The scores against one reference (rouge-score's `score(target, prediction)`).
    public func score(hypothesis: String, reference: String) -> [ROUGEType: ROUGEScore] {
        let s = ROUGESegmentScorer(self)
        s.beginSegment()
        s.addReference(reference)
        return s.finishSegment(hypothesis: hypothesis).best
    }

    /// The scores against several references: per variant, the reference with the best F (the
    /// first on a tie; rouge-score's `score_multi`). Also returns each reference's scores.
    public func score(hypothesis: String, references: [String]) -> ROUGESegmentResult {
        let s = ROUGESegmentScorer(self)
        s.beginSegment()
        for r in references { s.addReference(r) }
        return s.finishSegment(hypothesis: hypothesis)
    }
}

/// The scores of the ROUGE variants, one optional slot per ``ROUGEType``: a dictionary-free
/// `[ROUGEType: ROUGEScore]` (no hashing, no allocation) for hot loops.
public struct ROUGEScores: Sendable, Equatable {
    private var r1: ROUGEScore?, r2: ROUGEScore?, rL: ROUGEScore?, rLsum: ROUGEScore?

    public init() {}

    /// The score of variant `t`, nil when it was not computed.
    public subscript(_ t: ROUGEType) -> ROUGEScore? {
        get {
            switch t {
            case .rouge1: return r1
            case .rouge2: return r2
            case .rougeL: return rL
            case .rougeLsum: return rLsum
            }
        }
        set {
            switch t {
            case .rouge1: r1 = newValue
            case .rouge2: r2 = newValue
            case .rougeL: rL = newValue
            case .rougeLsum: rLsum = newValue
            }
        }
    }

    /// The computed variants as a dictionary.
    public var dictionary: [ROUGEType: ROUGEScore] {
        var d: [ROUGEType: ROUGEScore] = [:]
        for t in ROUGEType.allCases { if let s = self[t] { d[t] = s } }
        return d
    }
}

/// One segment's ROUGE: per reference, and the best per variant.
public struct ROUGESegmentResult: Sendable {
    /// Scores against each reference, in order.
    public var perReferenceScores: [ROUGEScores]
    /// Per variant, the reference with the highest F (the first on a tie); zeros without references.
    public var bestScores: ROUGEScores

    /// Scores against each reference, in order, as dictionaries.
    public var perReference: [[ROUGEType: ROUGEScore]] {
        get { perReferenceScores.map(\.dictionary) }
        set {
            perReferenceScores = newValue.map { d in
                var s = ROUGEScores()
                for (t, v) in d { s[t] = v }
                return s
            }
        }
    }

    /// Per variant, the reference with the highest F (the first on a tie); zeros without
    /// references. `bestScores` gives the same without building a dictionary.
    public var best: [ROUGEType: ROUGEScore] {
        get { bestScores.dictionary }
        set {
            bestScores = ROUGEScores()
            for (t, v) in newValue { bestScores[t] = v }
        }
    }
}

// MARK: - Tokenization

/// Tokenizer buffers and the stem cache (stems are pure functions of the word, so caching them
/// changes no result).
struct ROUGETokenizerState {
    var lowered: [UInt8] = []
    var token: [UInt8] = []
    var stemCache: [[UInt8]: [UInt8]] = [:]
    var utf16: [UInt16] = []
    var normalized: [UInt16] = []

    mutating func tokens(_ text: UnsafeBufferPointer<UInt8>, tokenizer: ROUGETokenizer, stem: Bool,
                         _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        switch tokenizer {
        case .compatible:
            var buffer = token
            token = []
            compatibleTokens(text, buffer: &buffer) { emitToken($0, stem: stem, emit) }
            token = buffer
        case .unicode:
            unicodeTokens(text, stem: stem, emit)
        }
    }

    /// rouge-score's tokens without stemming: runs of `[a-z0-9]` in Python's `text.lower()`.
    ///
    /// One pass, no lowered copy of the text: ASCII bytes are lowercased on the fly; a non-ASCII
    /// scalar contributes the ASCII letters and digits of its full lowercase mapping (`İ` → `i`,
    /// the Kelvin sign → `k`), everything else in its mapping separates tokens, exactly as the
    /// regular expression does on the lowered string (`compatibleTokensReference` is the oracle).
    /// Malformed UTF-8 is decoded as `String(decoding:)` repairs it, from the bad byte on.
    /// - Complexity: O(n); no allocation once `token` has grown.
    /// `buffer` holds the token being built (grown as needed, reused across calls); it always
    /// has at least 8 bytes to spare past the end of the token passed to `emit`.
    @inline(__always)
    func compatibleTokens(_ text: UnsafeBufferPointer<UInt8>, buffer: inout [UInt8],
                          _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard let p = text.baseAddress else { return }
        let n = text.count
        // A lowercase mapping has at most 3 scalars per source scalar of ≥ 2 bytes, and a token
        // lies within a run of ASCII letters, digits and non-ASCII bytes (any other ASCII byte
        // separates): twice the longest such run suffices (on a long line, measure it, so that
        // one huge line does not get a buffer of twice its size).
        let bound = n <= 1 << 16 ? n : Self.longestTokenRun(p, n)
        if buffer.count < 2 * bound + 16 { buffer = [UInt8](repeating: 0, count: 2 * bound + 16) }
        lowerAlnumTable.withUnsafeBufferPointer { lowerAlnum in
        buffer.withUnsafeMutableBufferPointer { tb in
            let buf = tb.baseAddress!
            var len = 0
            @inline(__always) func flush() {
                if len > 0 { emit(UnsafeBufferPointer(start: buf, count: len)); len = 0 }
            }
            @inline(__always) func add(mappingOf v: UInt32) {
                guard let sc = Unicode.Scalar(v) else { flush(); return }
                for u in sc.properties.lowercaseMapping.utf8 {
                    if isAlnum(u) { buf[len] = u; len += 1 } else { flush() }
                }
            }
            var i = 0
            while i < n {
                // Eight bytes at a time while they are ASCII letters and digits.
                if i + 8 <= n {
                    let x = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                    let (lowered, run) = asciiAlnumRun(x)
                    if run > 0 {
                        UnsafeMutableRawPointer(buf + len).storeBytes(of: lowered.littleEndian, as: UInt64.self)
                        len += run; i += run
                        if run == 8 { continue }
                    }
                }
                let b = p[i]
                let c = lowerAlnum[Int(b)]
                if c != 0 {
                    if c < 0x80 { buf[len] = c; len += 1; i += 1; continue }
                } else {
                    flush(); i += 1; continue
                }
                if let (v, k) = decodeUTF8(p, i, n) {
                    add(mappingOf: v)
                    i += k
                } else {
                    // Malformed from here on: let the standard library repair the rest.
                    for sc in String(decoding: UnsafeBufferPointer(start: p + i, count: n - i), as: UTF8.self).unicodeScalars {
                        if sc.value < 0x80 {
                            let b = UInt8(sc.value)
                            let c = (b &- 0x41) < 26 ? b | 0x20 : b
                            if isAlnum(c) { buf[len] = c; len += 1 } else { flush() }
                        } else {
                            add(mappingOf: sc.value)
                        }
                    }
                    break
                }
            }
            flush()
        }
        }
    }

    /// The longest run of bytes that are ASCII letters, ASCII digits or non-ASCII (the only
    /// bytes a token of ``compatibleTokens(_:buffer:_:)`` can come from). - Complexity: O(n).
    static func longestTokenRun(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        var best = 0, run = 0
        for i in 0..<n {
            let b = p[i]
            if b >= 0x80 || (b &- 0x30) < 10 || ((b | 0x20) &- 0x61) < 26 {
                run += 1
                if run > best { best = run }
            } else {
                run = 0
            }
        }
        return best
    }

    /// The plain two-step tokenizer (`pythonLower`, then runs of `[a-z0-9]`): the oracle of
    /// `compatibleTokens`.
    mutating func compatibleTokensReference(_ text: UnsafeBufferPointer<UInt8>, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        lowered.removeAll(keepingCapacity: true)
        pythonLower(text, into: &lowered)
        lowered.withUnsafeBufferPointer { p in
            var i = 0
            let n = p.count
            while i < n {
                while i < n && !isAlnum(p[i]) { i += 1 }
                let s = i
                while i < n && isAlnum(p[i]) { i += 1 }
                if i > s { emit(UnsafeBufferPointer(rebasing: p[s..<i])) }
            }
        }
    }

    private mutating func emitToken(_ tok: UnsafeBufferPointer<UInt8>, stem: Bool, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard stem && tok.count > 3 else { emit(tok); return }
        var ascii = true
        for b in tok where !isAlnum(b) { ascii = false; break }
        guard ascii else { emit(tok); return }
        let key = Array(tok)
        let s: [UInt8]
        if let c = stemCache[key] { s = c } else {
            s = PorterStemmer.stem(key)
            if stemCache.count > 1 << 20 { stemCache.removeAll() }
            stemCache[key] = s
        }
        s.withUnsafeBufferPointer { emit($0) }
    }

    private mutating func unicodeTokens(_ text: UnsafeBufferPointer<UInt8>, stem: Bool, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        utf16 = Array(String(decoding: text, as: UTF8.self).utf16)
        var status: Int32 = 0
        guard let norm = cicu_normalizer(2, &status), status <= 0 else { return }
        normalized = [UInt16](repeating: 0, count: max(16, utf16.count * 2))
        var n = cicu_normalize(norm, utf16, Int32(utf16.count), &normalized, Int32(normalized.count), &status)
        if status > 0 {
            status = 0
            normalized = [UInt16](repeating: 0, count: Int(n) + 1)
            n = cicu_normalize(norm, utf16, Int32(utf16.count), &normalized, Int32(normalized.count), &status)
        }
        let s = String(decoding: normalized[0..<Int(max(0, n))], as: UTF16.self)
        var cur: [UInt8] = []
        func flush() {
            if !cur.isEmpty { let c = cur; c.withUnsafeBufferPointer { emitToken($0, stem: stem, emit) }; cur.removeAll() }
        }
        for sc in s.unicodeScalars {
            let p = sc.properties
            if p.isIdeographic {
                flush()
                var one: [UInt8] = []
                appendScalar(sc.value, to: &one)
                one.withUnsafeBufferPointer { emit($0) }
                continue
            }
            switch p.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
                appendScalar(sc.value, to: &cur)
            default:
                flush()
            }
        }
        flush()
    }
}

@inline(__always) private func isAlnum(_ b: UInt8) -> Bool { (b &- 0x61) < 26 || (b &- 0x30) < 10 }

/// Of eight bytes (little-endian `x`): the bytes with ASCII capitals lowercased, and how many
/// leading bytes are ASCII letters or digits (0–8). Per byte b < 0x80, `b + (0x80 − lo)` has
/// bit 7 set iff b ≥ lo and `b + (0x7F − hi)` iff b > hi (no carry leaves a byte, as b ≤ 0x7F).
@inline(__always)
func asciiAlnumRun(_ x: UInt64) -> (lowered: UInt64, run: Int) {
    let high: UInt64 = 0x8080_8080_8080_8080
    let x7 = x & 0x7F7F_7F7F_7F7F_7F7F
    @inline(__always) func inRange(_ lo: UInt64, _ hi: UInt64) -> UInt64 {
        let ge = x7 &+ (0x80 - lo) &* 0x0101_0101_0101_0101
        let gt = x7 &+ (0x7F - hi) &* 0x0101_0101_0101_0101
        return ge & ~gt & high
    }
    let upper = inRange(0x41, 0x5A)
    let alnum = (inRange(0x30, 0x39) | upper | inRange(0x61, 0x7A)) & ~(x & high)
    let run = (~alnum & high).trailingZeroBitCount / 8
    return (x | (upper >> 2), run)
}

/// Per byte: the lowercase ASCII letter or digit it stands for, 0 for other ASCII bytes (token
/// separators), 0xFF for bytes ≥ 0x80 (start or part of a non-ASCII scalar).
private let lowerAlnumTable: [UInt8] = (0..<256).map { (b: Int) -> UInt8 in
    if b >= 0x80 { return 0xFF }
    let c = UInt8(b) &- 0x41 < 26 ? UInt8(b) | 0x20 : UInt8(b)
    return isAlnum(c) ? c : 0
}

/// The scalar starting at `p[i]` (a non-ASCII lead byte) and its byte length, or nil when the
/// bytes there are not well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values past
/// U+10FFFF).
@inline(__always)
func decodeUTF8(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> (UInt32, Int)? {
    let b = p[i]
    @inline(__always) func cont(_ k: Int) -> UInt32? {
        guard i + k < n else { return nil }
        let c = p[i + k]
        return c & 0xC0 == 0x80 ? UInt32(c & 0x3F) : nil
    }
    switch b {
    case 0xC2...0xDF:
        guard let c1 = cont(1) else { return nil }
        return (UInt32(b & 0x1F) << 6 | c1, 2)
    case 0xE0...0xEF:
        guard let c1 = cont(1), let c2 = cont(2) else { return nil }
        if b == 0xE0 && c1 < 0x20 { return nil }          // overlong
        if b == 0xED && c1 >= 0x20 { return nil }         // surrogate
        return (UInt32(b & 0x0F) << 12 | c1 << 6 | c2, 3)
    case 0xF0...0xF4:
        guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return nil }
        if b == 0xF0 && c1 < 0x10 { return nil }          // overlong
        if b == 0xF4 && c1 >= 0x10 { return nil }         // past U+10FFFF
        return (UInt32(b & 0x07) << 18 | c1 << 12 | c2 << 6 | c3, 4)
    default:
        return nil
    }
}

// MARK: - Segment scorer

/// Computes ROUGE segment by segment with reusable buffers: references are added one at a time
/// (tokenized at once), then the hypothesis closes the segment. With stemming, token ids come
/// from an interner that lives across segments (up to 2^22 types), so the stemmer sees each
/// word type once; without, the interner starts afresh each segment, so its table stays small
/// and in cache.
///
/// A segment whose text (references plus hypothesis, in bytes) exceeds ``leanThreshold``
/// takes the lean path (``LeanSegment``: tokens sorted instead of interned, a few UInt32 per
/// token), with identical scores, unless rougeLsum is asked (its sentence-level LCS stays on
/// the fast path).
/// - Note: not thread-safe; use one per thread.
public final class ROUGESegmentScorer {
    public let config: ROUGE
    private var tk = ROUGETokenizerState()
    private let interner = ByteInterner()
    // refs[0..<refCount]: this segment's references as token ids (the arrays are reused).
    private var refs: [[UInt32]] = []
    private var refCount = 0
    private var hyp: [UInt32] = []
    private let directLCS = DirectLCS()
    private var perScratch: [ROUGEScores] = []
    private var refSentences: [[[UInt32]]] = []
    private let needsLsum: Bool
    /// rougeLsum's sentence splitter when ``ROUGE/splitSentences`` is on.
    private let splitter: ROUGESentenceSplitter?
    private var indexes: [NGramIndex] = []

    /// Segments whose text (references plus hypothesis, in bytes) is larger than this take the
    /// lean path (``LeanSegment``), with the same scores, unless rougeLsum is asked. Default
    /// ``LeanSegment/defaultThreshold`` (1 MiB); tests set it low to compare both paths.
    var leanThreshold = LeanSegment.defaultThreshold
    /// How many segments were finished on the lean path (for tests).
    private(set) var leanSegments = 0
    private var segmentBytes = 0
    private var isLean = false
    private let lean = LeanSegment()

    public init(_ config: ROUGE) {
        self.config = config
        needsLsum = config.types.contains(.rougeLsum)
        splitter = needsLsum && config.splitSentences ? ROUGESentenceSplitter() : nil
    }

    /// Starts a new segment.
    public func beginSegment() {
        segmentBytes = 0
        if isLean { lean.reset(); isLean = false }
        refCount = 0
        refSentences.removeAll(keepingCapacity: true)
        if !config.useStemmer || interner.count > 1 << 22 { interner.reset(); stemmedID.removeAll(keepingCapacity: true) }
    }

    private var stemmedID: [UInt32] = []     // raw token id → id of its stem (.max: not yet known)

    /// Token ids of `text` appended to `out`; with stemming, each word type is stemmed once (its
    /// id maps to its stem's id), which gives the same tokens as stemming every occurrence.
    private func ids(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
        let stem = config.useStemmer
        if config.tokenizer == .compatible && !stem {
            // The common case in one loop: tokens go straight to the interner (the token
            // buffer has ≥ 8 spare bytes past every token, see `compatibleTokens`).
            var buffer = tk.token
            tk.token = []
            tk.compatibleTokens(text, buffer: &buffer) { tok in out.append(interner.intern(tok, readableTail: true)) }
            tk.token = buffer
            return
        }
        tk.tokens(text, tokenizer: config.tokenizer, stem: false) { tok in
            let raw = interner.intern(tok)
            guard stem && tok.count > 3 else { out.append(raw); return }
            let r = Int(raw)
            if r < stemmedID.count, stemmedID[r] != .max { out.append(stemmedID[r]); return }
            var ascii = true
            for b in tok where !((b &- 0x61) < 26 || (b &- 0x30) < 10) { ascii = false; break }
            let sid = ascii ? PorterStemmer.stem(Array(tok)).withUnsafeBufferPointer { interner.intern($0) } : raw
            if stemmedID.count <= r { stemmedID.append(contentsOf: repeatElement(UInt32.max, count: r + 1 - stemmedID.count)) }
            stemmedID[r] = sid
            out.append(sid)
        }
    }

    private func ids(_ text: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var out: [UInt32] = []
        ids(text, into: &out)
        return out
    }

    /// rouge-score's `get_sents`: split on "\n" (or by ``splitter``), drop empty strings,
    /// tokenize each.
    private func sentences(_ text: UnsafeBufferPointer<UInt8>) -> [[UInt32]] {
        var out: [[UInt32]] = []
        if let splitter {
            splitter.forEachSentence(text) { out.append(ids(UnsafeBufferPointer(rebasing: text[$0]))) }
            return out
        }
        var s = 0
        for i in 0...text.count {
            if i == text.count || text[i] == 0x0A {
                if i > s { out.append(ids(UnsafeBufferPointer(rebasing: text[s..<i]))) }
                s = i + 1
            }
        }
        return out
    }

    /// Whether rougeLsum must split `text` (it has a newline, or a splitter decides).
    private func hasNewline(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if splitter != nil { return true }
        guard let b = text.baseAddress else { return false }
        return memchr(b, 0x0A, text.count) != nil
    }

    /// Counts `bytes` more of the segment's text and switches to the lean path when the
    /// segment has grown past ``leanThreshold`` (the references so far move over as the bytes
    /// of their interned tokens).
    private func account(_ bytes: Int) {
        segmentBytes += bytes
        guard !isLean, !needsLsum, segmentBytes > leanThreshold else { return }
        isLean = true
        lean.reset()
        for r in 0..<refCount {
            lean.beginSide()
            for t in refs[r] { lean.append(interner.bytes(t)) }
            refs[r] = []
        }
    }

    /// The tokens of `text` as the fast path's `ids(_:into:)` makes them (the same tokenizer,
    /// the same stemming rule), added to the lean segment as a new side, uninterned.
    /// With `lookUp` (the hypothesis, after `assignIDs`), tokens are looked up, not stored.
    private func addLeanSide(_ text: UnsafeBufferPointer<UInt8>, lookUp: Bool = false) {
        lean.beginSide()
        if !lookUp { lean.reserve(bytes: text.count, tokens: 0) }
        let lean = self.lean
        @inline(__always) func add(_ tok: UnsafeBufferPointer<UInt8>) {
            if lookUp { lean.appendLookedUp(tok) } else { lean.append(tok) }
        }
        let stem = config.useStemmer
        if config.tokenizer == .compatible && !stem {
            var buffer = tk.token
            tk.token = []
            tk.compatibleTokens(text, buffer: &buffer) { add($0) }
            tk.token = buffer
            return
        }
        tk.tokens(text, tokenizer: config.tokenizer, stem: false) { tok in
            guard stem && tok.count > 3 else { add(tok); return }
            var ascii = true
            for b in tok where !((b &- 0x61) < 26 || (b &- 0x30) < 10) { ascii = false; break }
            guard ascii else { add(tok); return }
            PorterStemmer.stem(Array(tok)).withUnsafeBufferPointer { add($0) }
        }
    }

    /// Adds a reference (UTF-8 bytes).
    public func addReference(_ text: UnsafeBufferPointer<UInt8>) {
        account(text.count)
        if isLean {
            addLeanSide(text)
            refCount += 1
            refSentences.append([])
            return
        }
        if refCount == refs.count { refs.append([]) }
        refs[refCount].removeAll(keepingCapacity: true)
        ids(text, into: &refs[refCount])
        refCount += 1
        refSentences.append(needsLsum && hasNewline(text) ? sentences(text) : [])
    }

    /// Adds a reference.
    public func addReference(_ text: String) {
        var t = text
        t.withUTF8 { addReference($0) }
    }

    /// Closes the segment with its hypothesis and returns per-reference and best scores.
    /// - Complexity: O(Σ_r (|r| + |hyp|) + LCS), LCS bit-parallel: O(|hyp| · ⌈|r|/64⌉).
    public func finishSegment(hypothesis text: UnsafeBufferPointer<UInt8>) -> ROUGESegmentResult {
        account(text.count)
        if isLean { return finishLean(text) }
        hyp.removeAll(keepingCapacity: true)
        ids(text, into: &hyp)
        let hyp = self.hyp
        let hypSents: [[UInt32]] = needsLsum && hasNewline(text) ? sentences(text) : []
        let hypIsSingle = !needsLsum || !hasNewline(text)      // read by rougeLsum only
        // Reused across segments: no allocation once the caller has dropped the last result.
        perScratch.removeAll(keepingCapacity: true)
        while indexes.count < refCount {
            let index = NGramIndex(maxOrder: 2)
            // Without stemming the interner restarts each segment: ids are small and dense.
            index.denseUnigrams = !config.useStemmer
            index.reserveTable(512)       // reused for every segment: keep it sparse
            indexes.append(index)
        }
        for r in 0..<refCount {
            let ref = refs[r]
            let index = indexes[r]
            index.reset()
            ref.withUnsafeBufferPointer { index.addReference($0) }
            let m = hyp.withUnsafeBufferPointer { index.matches($0) }
            var res = ROUGEScores()
            var lcs: Int? = nil
            func lcsLength() -> Int {
                if let lcs { return lcs }
                let v = ref.withUnsafeBufferPointer { rp in
                    hyp.withUnsafeBufferPointer { hp in
                        rp.count <= 64 ? directLCS.lcs(rp, hp, idBound: interner.count)
                                       : LCSMasks(ref: rp, index: index).lcs(hp, index: index)
                    }
                }
                lcs = v
                return v
            }
            for t in config.types {
                switch t {
                case .rouge1, .rouge2:
                    let n = t == .rouge1 ? 1 : 2
                    let overlap = Double(m[n - 1])
                    res[t] = ROUGEScore(precision: overlap / Double(max(hyp.count - n + 1, 1)),
                                        recall: overlap / Double(max(ref.count - n + 1, 1)))
                case .rougeL:
                    if ref.isEmpty || hyp.isEmpty { res[t] = .zero; break }
                    let l = Double(lcsLength())
                    res[t] = ROUGEScore(precision: l / Double(hyp.count), recall: l / Double(ref.count))
                case .rougeLsum:
                    let refIsSingle = refSentences[r].isEmpty
                    if refIsSingle && hypIsSingle {
                        // One sentence each (or an empty text): the union LCS is the LCS.
                        if ref.isEmpty || hyp.isEmpty { res[t] = .zero; break }
                        let l = Double(lcsLength())
                        res[t] = ROUGEScore(precision: l / Double(hyp.count), recall: l / Double(ref.count))
                    } else {
                        let rs = refIsSingle ? (ref.isEmpty && refIsEmptyText(r) ? [] : [ref]) : refSentences[r]
                        let hs = hypIsSingle ? (text.isEmpty ? [] : [hyp]) : hypSents
                        let (hits, mm, nn) = summaryLevelLCS(rs, hs)
                        res[t] = (mm == 0 || nn == 0 || rs.isEmpty || hs.isEmpty) ? .zero
                            : ROUGEScore(precision: Double(hits) / Double(nn), recall: Double(hits) / Double(mm))
                    }
                }
            }
            perScratch.append(res)
        }
        return result()
    }

    /// The lean path's scores (rouge1, rouge2, rougeL; no rougeLsum): the formulas of the fast
    /// path on ``LeanSegment``'s counts. Frees the segment's memory.
    private func finishLean(_ text: UnsafeBufferPointer<UInt8>) -> ROUGESegmentResult {
        leanSegments += 1
        // The references' tokens get ids; the hypothesis' are looked up, not stored.
        let h = refCount
        lean.assignIDs(extraTokens: text.count / 2 + 1)
        addLeanSide(text, lookUp: true)
        lean.finishIDs()
        if config.types.contains(.rouge1) || config.types.contains(.rouge2) { lean.sortPositions(order: 2) }
        perScratch.removeAll(keepingCapacity: true)
        let hypCount = lean.sideCounts[h]
        for r in 0..<refCount {
            let refCount = lean.sideCounts[r]
            var res = ROUGEScores()
            for t in config.types {
                switch t {
                case .rouge1, .rouge2:
                    let n = t == .rouge1 ? 1 : 2
                    let overlap = Double(lean.overlap(hyp: h, ref: r, order: n))
                    res[t] = ROUGEScore(precision: overlap / Double(max(hypCount - n + 1, 1)),
                                        recall: overlap / Double(max(refCount - n + 1, 1)))
                case .rougeL:
                    if refCount == 0 || hypCount == 0 { res[t] = .zero; break }
                    let l = Double(lean.lcs(hyp: h, ref: r))
                    res[t] = ROUGEScore(precision: l / Double(hypCount), recall: l / Double(refCount))
                case .rougeLsum:
                    preconditionFailure("rougeLsum never takes the lean path")
                }
            }
            perScratch.append(res)
        }
        lean.reset()
        isLean = false
        return result()
    }

    /// Per-reference scores from `perScratch` and the best per variant.
    private func result() -> ROUGESegmentResult {
        var best = ROUGEScores()
        for t in config.types {
            var b: ROUGEScore? = nil
            for p in perScratch { if let s = p[t], b == nil || s.f > b!.f { b = s } }
            best[t] = b ?? .zero
        }
        return ROUGESegmentResult(perReferenceScores: perScratch, bestScores: best)
    }

    private func refIsEmptyText(_ r: Int) -> Bool { refs[r].isEmpty }

    /// Closes the segment with its hypothesis.
    public func finishSegment(hypothesis: String) -> ROUGESegmentResult {
        var h = hypothesis
        return h.withUTF8 { finishSegment(hypothesis: $0) }
    }
}
