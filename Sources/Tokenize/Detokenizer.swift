/// Joins tokens back into text.
///
/// Two ways:
/// - ``join(_:)`` is exact: it uses each ``Token``'s `spaceBefore`, so
///   `Detokenizer.join(tokenizer.tokenize(x)) == tokenizer.normalizer.normalize(x)`.
/// - ``detokenize(_:)`` guesses the spacing of plain token strings (model output has no
///   spacing information) with rules for English-like punctuation, in the spirit of the
///   Moses detokenizer (Koehn et al. 2007): no space before closing punctuation, none after
///   opening brackets, paired quotes, hyphens and slashes joined inside compounds.
public struct Detokenizer: Sendable {
    public init() {}

    /// The exact inverse of ``WordTokenizer/tokenize(_:)``: tokens joined with one space where
    /// `spaceBefore` is set (never before the first token).
    /// - Complexity: O(n) in the total length.
    public static func join(_ tokens: [Token]) -> String {
        var s = ""
        s.reserveCapacity(tokens.reduce(0) { $0 + $1.text.utf8.count + 1 })
        for (i, t) in tokens.enumerated() {
            if i > 0 && t.spaceBefore { s += " " }
            s += t.text
        }
        return s
    }

    /// Joins plain tokens with a space between them except where punctuation rules say
    /// otherwise (see ``spaceBetween(_:_:openQuotes:)``).
    /// - Complexity: O(n) in the total length.
    public func detokenize(_ tokens: [String]) -> String {
        var s = ""
        s.reserveCapacity(tokens.reduce(0) { $0 + $1.utf8.count + 1 })
        var open = QuoteState()
        var previous: String? = nil
        for (i, t) in tokens.enumerated() {
            let next = i + 1 < tokens.count ? tokens[i + 1] : nil
            if let p = previous, Detokenizer.spaceBetween(p, t, next: next, quotes: &open) { s += " " }
            else if previous == nil { _ = Detokenizer.spaceBetween(nil, t, next: next, quotes: &open) }
            s += t
            previous = t
        }
        return s
    }

    /// Which quote marks are open (so that the next one of the same kind closes).
    struct QuoteState {
        var double = false
        var single = false
    }

    /// Whether a space goes between `left` and `right`; updates the quote state when `right`
    /// is a straight quote mark.
    static func spaceBetween(_ left: String?, _ right: String, next: String?, quotes: inout QuoteState) -> Bool {
        // Straight quotes: the first opens (space before, none after), the second closes.
        var rightOpensQuote = false, rightClosesQuote = false
        if right == "\"" {
            if quotes.double { rightClosesQuote = true } else { rightOpensQuote = true }
            quotes.double.toggle()
        } else if right == "'" {
            if quotes.single { rightClosesQuote = true } else { rightOpensQuote = true }
            quotes.single.toggle()
        }
        guard let left else { return false }
        if rightClosesQuote { return false }
        if left == "\"" && quotes.double && !rightOpensQuote { return false }
        if left == "'" && quotes.single && !rightOpensQuote { return false }
        if rightOpensQuote { return true }
        if noSpaceAfter.contains(left) { return false }
        if noSpaceBefore.contains(right) { return false }
        if joiners.contains(right) || joiners.contains(left) {
            // Inside a compound ("command-line", "input/output", "C++"): joined.
            return false
        }
        return true
    }

    /// Tokens that attach to the token before them.
    static let noSpaceBefore: Set<String> = [
        ".", ",", ";", ":", "!", "?", "%", ")", "]", "}", "…", "»", "”", "’", "...",
    ]
    /// Tokens that attach to the token after them.
    static let noSpaceAfter: Set<String> = ["(", "[", "{", "«", "“", "‘", "$", "#", "@"]
    /// Tokens that attach on both sides.
    static let joiners: Set<String> = ["-", "/", "+", "_", "~", "=", "&", "*", "\\", "|", "^", "<", ">"]
}
