import CICU

/// One token of a line, with the spacing needed to rebuild the line exactly.
public struct Token: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The token's text: never empty, never contains whitespace.
    public var text: String
    /// Whether a space preceded the token in the normalized line.
    public var spaceBefore: Bool

    public init(_ text: String, spaceBefore: Bool) {
        self.text = text
        self.spaceBefore = spaceBefore
    }

    public var description: String { spaceBefore ? "␣\(text)" : text }
}

/// An error from ICU itself (not from the user's text): a locale ICU cannot open, for example.
public struct ICUError: Error, CustomStringConvertible, Sendable {
    /// What was being done.
    public var operation: String
    /// ICU's name for the error code ("U_MISSING_RESOURCE_ERROR").
    public var code: String

    public var description: String { "\(operation): ICU error \(code)" }
}

/// Splits lines into words with ICU's word break iterator (`UBRK_WORD`), after normalizing
/// them with a ``Normalizer``.
///
/// Word boundaries follow [UAX #29, Unicode Text Segmentation](https://www.unicode.org/reports/tr29/)
/// as ICU implements it, with ICU's dictionaries for Chinese, Japanese, Thai, Khmer, Lao and
/// Burmese. Segments made of spaces are dropped; everything else is a token: words, numbers
/// such as `3.14` and `1,000`, contractions such as `don't`, each punctuation mark on its
/// own, each emoji (with its ZWJ sequence) on its own.
///
/// The tokenization is lossless with respect to the normalized line:
/// `Detokenizer.join(tokenize(x)) == normalizer.normalize(x)`.
///
/// - Complexity: O(n) in the line's length in bytes. On one core this runs at about
///   45 MB/s end to end on English text, 60% of it in ICU's break iterator (bench/tokenize.sh).
/// - Important: not thread-safe: an instance owns an ICU break iterator and scratch buffers.
///   Create one per thread.
public final class WordTokenizer {
    /// The ICU locale of the break iterator ("" = root).
    public let locale: String
    /// The normalizer applied to every line before segmentation.
    public let normalizer: Normalizer
    private let iterator: UnsafeMutableRawPointer
    private let normalized = ByteBuffer()

    /// Opens an ICU word break iterator for `locale`.
    /// - Parameters:
    ///   - locale: an ICU locale identifier such as `"en"`, `"sv_SE"`, `"ja"`; `""` is the root
    ///     locale (right for most text). Letters, digits, `_`, `-`, `@`, `=`, `;` only.
    ///   - normalizer: applied to each line first (default NFKC, no case folding).
    /// - Throws: ``ICUError`` for a malformed locale identifier or when ICU cannot open the
    ///   iterator.
    public init(locale: String = "", normalizer: Normalizer = Normalizer()) throws {
        guard WordTokenizer.isWellFormedLocale(locale) else {
            throw ICUError(operation: "locale \"\(locale)\"", code: "U_ILLEGAL_ARGUMENT_ERROR (use letters, digits, '_' or '-', e.g. en_US)")
        }
        var status: Int32 = 0
        guard let it = cicu_word_break_open(locale, &status), status <= 0 else {
            throw ICUError(operation: "opening a word break iterator for locale \"\(locale)\"",
                           code: String(cString: cicu_error_name(status)))
        }
        self.locale = locale
        self.normalizer = normalizer
        self.iterator = it
    }

    deinit { cicu_word_break_close(iterator) }

    /// Whether `locale` is shaped like an ICU locale identifier (`en`, `en_US`, `zh-Hant`,
    /// `de@collation=phonebook`); the empty string is the root locale.
    public static func isWellFormedLocale(_ locale: String) -> Bool {
        locale.utf8.count <= 100 && locale.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x5F || b == 0x2D || b == 0x40 || b == 0x3D || b == 0x3B
        }
    }

    /// The tokens of `line`, each with whether a space preceded it.
    /// - Complexity: O(n) in the line's length.
    public func tokenize(_ line: String) -> [Token] {
        var tokens: [Token] = []
        withUTF8(line) { bytes in
            forEachToken(utf8: bytes) { token, spaceBefore in
                tokens.append(Token(String(decoding: token, as: UTF8.self), spaceBefore: spaceBefore))
            }
        }
        return tokens
    }

    /// The token strings of `line` (``tokenize(_:)`` without the spacing).
    /// - Complexity: O(n) in the line's length.
    public func words(_ line: String) -> [String] {
        var words: [String] = []
        withUTF8(line) { bytes in
            forEachToken(utf8: bytes) { token, _ in words.append(String(decoding: token, as: UTF8.self)) }
        }
        return words
    }

    /// Appends the tokens of the UTF-8 line `line` to `out`, separated by single spaces (no
    /// newline).
    /// - Precondition: `line` is well-formed UTF-8 (``LineReader`` guarantees it).
    /// - Returns: the number of tokens appended.
    /// - Complexity: O(n) in `line.count`.
    @discardableResult
    public func appendTokenized(utf8 line: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Int {
        let buffer = ByteBuffer(capacity: 2 * line.count + 16)
        let n = appendTokenized(utf8: line, into: buffer)
        out.append(contentsOf: buffer.bytes)
        return n
    }

    /// The fast path of `mixer-cli tokenize`: writes the tokens of `line` separated by single
    /// spaces into `out`, creating no String and no array.
    ///
    /// Tokens joined by single spaces are the normalized line (which has single spaces only)
    /// with a space inserted at every word boundary that has no space on either side, so this
    /// copies the normalized line segment by segment.
    func appendTokenized(utf8 line: UnsafeBufferPointer<UInt8>, into out: ByteBuffer) -> Int {
        normalized.removeAll()
        normalizer.normalize(utf8: line, into: normalized)
        let n = normalized.count
        guard n > 0 else { return 0 }
        let text = normalized.base
        setText(UnsafeBufferPointer(start: text, count: n))
        out.reserve(2 * n)
        let w = out.end
        var k = 0, spaces = 0, start = 0
        while true {
            let boundary = Int(cicu_word_break_next(iterator))
            if boundary < 0 { break }
            if start > 0 && text[start] != 0x20 && text[start - 1] != 0x20 {
                w[k] = 0x20
                k += 1
                spaces += 1
            }
            for i in start..<boundary {
                let c = text[i]
                w[k] = c
                k += 1
                if c == 0x20 { spaces += 1 }
            }
            start = boundary
        }
        out.count += k
        return spaces + 1
    }

    /// Calls `body` with the bytes of each token of the UTF-8 line `line` (valid only during
    /// the call) and whether a space preceded it.
    /// - Precondition: `line` is well-formed UTF-8 (``LineReader`` guarantees it).
    /// - Complexity: O(n) in `line.count`.
    public func forEachToken(
        utf8 line: UnsafeBufferPointer<UInt8>,
        _ body: (_ token: UnsafeBufferPointer<UInt8>, _ spaceBefore: Bool) throws -> Void
    ) rethrows {
        normalized.removeAll()
        normalizer.normalize(utf8: line, into: normalized)
        try segment(normalized.bytes, body)
    }

    /// Points the break iterator at `text`.
    private func setText(_ text: UnsafeBufferPointer<UInt8>) {
        var status: Int32 = 0
        text.baseAddress!.withMemoryRebound(to: CChar.self, capacity: text.count) {
            cicu_word_break_set_text(iterator, $0, Int64(text.count), &status)
        }
        // Setting UTF-8 text only fails for lengths beyond Int32 (2 GiB lines).
        precondition(status <= 0, "ICU could not take the text: \(String(cString: cicu_error_name(status)))")
    }

    /// Runs ICU's word break iterator over the normalized text and reports the non-space
    /// pieces of its segments.
    private func segment(
        _ text: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>, Bool) throws -> Void
    ) rethrows {
        guard let base = text.baseAddress, text.count > 0 else { return }
        setText(text)
        var start = 0
        var space = false
        while true {
            let boundary = Int(cicu_word_break_next(iterator))
            if boundary < 0 { break }
            // A segment is a run of spaces, or has no space at all, except in rare cases
            // (U+0020 followed by a combining mark is one segment); split at spaces anyway so
            // that tokens never contain one.
            var i = start
            while i < boundary {
                if base[i] == 0x20 {
                    space = true
                    i += 1
                    continue
                }
                var j = i + 1
                while j < boundary && base[j] != 0x20 { j += 1 }
                try body(UnsafeBufferPointer(start: base + i, count: j - i), space)
                space = false
                i = j
            }
            start = boundary
        }
    }

    private func withUTF8(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var s = s
        s.withUTF8(body)
    }
}
