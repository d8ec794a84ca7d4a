// Tercom's tokenization (Snover et al., 2006, https://aclanthology.org/2006.amta-papers.25) as
// sacreBLEU 2.6.0's `TercomTokenizer` applies it: a fixed sequence of regular-expression
// substitutions, each done here as one left-to-right pass over Unicode scalars with Python
// `re.sub`'s semantics (non-overlapping matches, scanning resumes after each match).

/// sacreBLEU's `TercomTokenizer`: optional lowercasing, normalization (XML entities, punctuation
/// tokenization, CJK characters split apart), punctuation removal, whitespace collapsing.
///
/// - Complexity: O(n) per call (a constant number of passes over the scalars).
public struct TERTokenizer: Sendable, Equatable {
    /// Tercom's normalization: join lines, decode `&quot; &amp; &lt; &gt;`, tokenize punctuation.
    public var normalized: Bool
    /// Remove the punctuation `.,?:;!"()` (and, with ``asianSupport``, CJK punctuation).
    public var noPunct: Bool
    /// With ``normalized``: split CJK ideographs and CJK punctuation into single-character
    /// tokens; with ``noPunct``: also remove CJK and full-width punctuation.
    public var asianSupport: Bool
    /// Keep case (default: Python's `str.lower()`).
    public var caseSensitive: Bool

    public init(normalized: Bool = false, noPunct: Bool = false, asianSupport: Bool = false, caseSensitive: Bool = false) {
        self.normalized = normalized; self.noPunct = noPunct
        self.asianSupport = asianSupport; self.caseSensitive = caseSensitive
    }

    /// The tokens of `line` (UTF-8, well-formed) as Unicode scalar arrays: the words of
    /// sacreBLEU's `tokenizer(line).split()`.
    public func tokens(_ line: UnsafeBufferPointer<UInt8>) -> [[UInt32]] {
        guard !line.isEmpty else { return [] }
        var s: [UInt32]
        if caseSensitive {
            s = String(decoding: line, as: UTF8.self).unicodeScalars.map(\.value)
        } else {
            var lowered: [UInt8] = []
            pythonLower(line, into: &lowered)
            s = String(decoding: lowered, as: UTF8.self).unicodeScalars.map(\.value)
        }
        if normalized {
            s = Self.normalizeGeneralAndWestern(s)
            if asianSupport { s = Self.isolate(s, where: Self.isAsianSplit) }
        }
        if noPunct {
            s.removeAll(where: Self.isTercomPunctuation)
            if asianSupport { s.removeAll(where: Self.isAsianPunctuation) }
        }
        return Self.split(s)
    }

    /// `tokens` of a String.
    public func tokens(_ line: String) -> [[UInt32]] {
        var l = line
        return l.withUTF8 { tokens($0) }
    }

    /// sacreBLEU's tokenizer output: the tokens joined by single spaces.
    public func callAsFunction(_ line: String) -> String {
        tokens(line).map { t in String(String.UnicodeScalarView(t.compactMap(Unicode.Scalar.init))) }.joined(separator: " ")
    }

    // MARK: - The substitutions

    private static let space: UInt32 = 0x20

    /// Python's `str.split()` on scalars.
    static func split(_ s: [UInt32]) -> [[UInt32]] {
        var out: [[UInt32]] = []
        var start = -1
        for i in s.indices {
            if isPythonWhitespace(s[i]) {
                if start >= 0 { out.append(Array(s[start..<i])); start = -1 }
            } else if start < 0 {
                start = i
            }
        }
        if start >= 0 { out.append(Array(s[start...])) }
        return out
    }

    /// `re.sub("(C)", " \\1 ", s)` for a one-character class C.
    static func isolate(_ s: [UInt32], where inClass: (UInt32) -> Bool) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.count + s.count / 2)
        for c in s {
            if inClass(c) { out.append(space); out.append(c); out.append(space) } else { out.append(c) }
        }
        return out
    }

    /// `re.sub(literal, replacement, s)`.
    static func replace(_ s: [UInt32], _ literal: [UInt32], with replacement: [UInt32]) -> [UInt32] {
        guard let first = literal.first, s.count >= literal.count else { return s }
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if s[i] == first, i + literal.count <= s.count, s[i..<(i + literal.count)].elementsEqual(literal) {
                out.append(contentsOf: replacement)
                i += literal.count
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    /// `re.sub("(A)(B)", template, s)` for one-character classes A and B; `template` gets the
    /// two matched characters and appends the replacement.
    static func replacePairs(_ s: [UInt32], _ a: (UInt32) -> Bool, _ b: (UInt32) -> Bool,
                             _ template: (UInt32, UInt32, inout [UInt32]) -> Void) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.count + s.count / 4)
        var i = 0
        while i < s.count {
            if i + 1 < s.count && a(s[i]) && b(s[i + 1]) {
                template(s[i], s[i + 1], &out)
                i += 2
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    private static func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
    private static let quot = scalars("&quot;"), amp = scalars("&amp;"), lt = scalars("&lt;"), gt = scalars("&gt;")
    private static let possessive = scalars("'s "), possessiveSpaced = scalars(" 's ")

    @inline(__always) static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isPeriodOrComma(_ c: UInt32) -> Bool { c == 0x2E || c == 0x2C }

    /// Tercom's punctuation class `[{-~[-\` -&(-+:-@/]`: space, `!"#$%&()*+/:;<=>?@[\]^_\`{|}~`.
    @inline(__always) static func isWesternPunctuation(_ c: UInt32) -> Bool {
        (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26)
            || (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F
    }

    /// sacreBLEU's `_normalize_general_and_western`, substitution by substitution.
    ///
    /// Its `'s$` rule never fires: the line is padded with spaces first, so it never ends in `s`.
    static func normalizeGeneralAndWestern(_ input: [UInt32]) -> [UInt32] {
        var s = replace(input, [0x0A, 0x2D], with: [])            // \n-  → ""
        s = s.map { $0 == 0x0A ? space : $0 }                     // \n   → " "
        s = replace(s, quot, with: [0x22])
        s = replace(s, amp, with: [0x26])
        s = replace(s, lt, with: [0x3C])
        s = replace(s, gt, with: [0x3E])
        s = [space] + s + [space]
        s = isolate(s, where: isWesternPunctuation)
        s = replace(s, possessive, with: possessiveSpaced)
        // Period and comma unless preceded by a digit: "\1 \2 ".
        s = replacePairs(s, { !isDigit($0) }, isPeriodOrComma) { a, b, out in out += [a, space, b, space] }
        // Period and comma unless followed by a digit: " \1 \2".
        s = replacePairs(s, isPeriodOrComma, { !isDigit($0) }) { a, b, out in out += [space, a, space, b] }
        // Dash after a digit: "\1 \2 ".
        s = replacePairs(s, isDigit, { $0 == 0x2D }) { a, b, out in out += [a, space, b, space] }
        return s
    }

    /// The characters sacreBLEU's `_normalize_asian` puts spaces around: CJK ideographs
    /// (4E00–9FFF, 3400–4DBF), strokes and radicals (31C0–31EF, 2E80–2EFF), compatibility
    /// blocks (3300–33FF, F900–FAFF, FE30–FE4F), 3200–3F22, and CJK and full-width punctuation.
    ///
    /// Its hiragana/katakana rules are anchored at the start of the line (`^`), which after the
    /// western normalization's padding is always a space, so they never fire and are left out.
    static func isAsianSplit(_ c: UInt32) -> Bool {
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x31C0 && c <= 0x31EF)
            || (c >= 0x2E80 && c <= 0x2EFF) || (c >= 0x3300 && c <= 0x33FF) || (c >= 0xF900 && c <= 0xFAFF)
            || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0x3200 && c <= 0x3F22) || isAsianPunctuation(c)
    }

    /// `TercomTokenizer.ASIAN_PUNCT` and `FULL_WIDTH_PUNCT`.
    static func isAsianPunctuation(_ c: UInt32) -> Bool {
        switch c {
        case 0x3001, 0x3002, 0x3008...0x3011, 0x3014...0x301F, 0xFF61...0xFF65, 0x30FB,
             0xFF0E, 0xFF0C, 0xFF1F, 0xFF1A, 0xFF1B, 0xFF01, 0xFF02, 0xFF08, 0xFF09:
            return true
        default:
            return false
        }
    }

    /// `_remove_punct`'s class `[.,?:;!"()]`.
    static func isTercomPunctuation(_ c: UInt32) -> Bool {
        switch c {
        case 0x2E, 0x2C, 0x3F, 0x3A, 0x3B, 0x21, 0x22, 0x28, 0x29: return true
        default: return false
        }
    }
}
