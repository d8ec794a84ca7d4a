/// Joins tokens back into text.
///
/// Two ways:
/// - ``join(_:)`` is exact: it uses each ``Token``'s `spaceBefore`, so
///   `Detokenizer.join(tokenizer.tokenize(x)) == tokenizer.normalizer.normalize(x)`.
/// - ``detokenize(_:)`` guesses the spacing of plain token strings (model output has no
///   spacing information) with rules for English-like text, in the spirit of the Moses
///   detokenizer (Koehn et al. 2007, <https://aclanthology.org/P07-2045/>); see
///   ``spacesBefore(_:)`` for the rules.
///
/// On the bundled valid targets (`data/valid.tgt`), `detokenize(words(x)) == x` for about 96%
/// of the lines (README, "Tokenize"); the misses are mostly hyphens whose spacing only the
/// writer knew (`Flask - Python 3` vs `json-rpc`).
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

    /// Joins plain tokens, with a space between two tokens unless a rule of
    /// ``spacesBefore(_:)`` says otherwise.
    /// - Complexity: O(n) in the total length.
    public func detokenize(_ tokens: [String]) -> String {
        let spaces = spacesBefore(tokens)
        var s = ""
        s.reserveCapacity(tokens.reduce(0) { $0 + $1.utf8.count + 1 })
        for (t, space) in zip(tokens, spaces) {
            if space { s += " " }
            s += t
        }
        return s
    }

    /// Whether a space goes before each token (never before the first).
    ///
    /// Each token may *attach* to its left or right neighbour; there is a space between two
    /// tokens unless the left one attaches right or the right one attaches left:
    /// - closing punctuation attaches left: `. , ; : ! ? % ) ] } … » ” ’`;
    /// - opening brackets and currency signs attach right: `( [ { « “ ‘ ¿ ¡ $ € £ ¥`;
    ///   `(` also attaches left before `)` (`system()`);
    /// - straight quotes `"` and `'` alternate between opening (attaches right) and closing
    ///   (attaches left); a `'` after a word ending in `s` with no quote open is a possessive
    ///   (`users' guide`);
    /// - `-` joins compounds (`command-line`), but is a spaced dash when a word that does not
    ///   start with a capital is followed by one that does (`tools - Rust source code`); when
    ///   a long word (6+ characters) is followed by a word of 4+ characters that ends the line
    ///   or is one word from its end (`library - shared library`, at least two words before);
    ///   after other punctuation; and as `--`. (These two cues get about 85% of the hyphens
    ///   of the Debian synopses in `data/` right; the writer's spacing is not recoverable.)
    /// - `/`, `_`, `=`, `\`, `|`, `^`, `~`, `*`, `<`, `>` join both sides; `+` attaches left
    ///   (`C++`, `GTK+`, `3+`);
    /// - `::` joins both sides (`Net::OpenID`); `:` and `.` join both sides between digits and
    ///   letters or digits (`10:30`, `2.x`); `.` right after an opening bracket or at the start
    ///   attaches right (`(.adf)`); `:` before `/` attaches right (`https://`).
    /// - Complexity: O(n).
    public func spacesBefore(_ tokens: [String]) -> [Bool] {
        let n = tokens.count
        var left = [Bool](repeating: false, count: n)   // token i attaches to token i-1
        var right = [Bool](repeating: false, count: n)  // token i attaches to token i+1
        var doubleOpen = false, singleOpen = false
        func at(_ i: Int) -> String { i >= 0 && i < n ? tokens[i] : "" }
        // wordsUpTo[i]: the number of tokens before i that start with a letter or digit.
        var wordsUpTo = [0]
        wordsUpTo.reserveCapacity(n + 1)
        for t in tokens { wordsUpTo.append(wordsUpTo.last! + (startsWithLetterOrDigit(t) ? 1 : 0)) }
        for i in 0..<n {
            let t = tokens[i], prev = at(i - 1), next = at(i + 1)
            switch t {
            case ".":
                if i == 0 || Detokenizer.opening.contains(prev) {
                    right[i] = true
                } else if (startsWithDigit(prev) && startsWithLetterOrDigit(next))
                            || (startsWithLetterOrDigit(prev) && startsWithDigit(next)) {
                    left[i] = true
                    right[i] = true
                } else if startsWithLetterOrDigit(prev) && startsWithLowercase(next) {
                    right[i] = true
                } else {
                    left[i] = true
                }
            case ":":
                left[i] = true
                if next == ":" || prev == ":" || next == "/" || (startsWithDigit(prev) && startsWithDigit(next)) {
                    right[i] = true
                }
            case ",", ";", "!", "?", "%", ")", "]", "}", "…", "»", "”", "’", "...":
                left[i] = true
            case "(":
                right[i] = true
                if next == ")" { left[i] = true }
            case "[", "{", "«", "“", "‘", "¿", "¡", "$", "€", "£", "¥":
                right[i] = true
            case "\"":
                if doubleOpen { left[i] = true } else { right[i] = true }
                doubleOpen.toggle()
            case "'":
                if singleOpen {
                    left[i] = true
                    singleOpen = false
                } else if prev.hasSuffix("s") && startsWithLetterOrDigit(next) {
                    left[i] = true
                } else {
                    right[i] = true
                    singleOpen = true
                }
            case "-":
                if prev == "-" { left[i] = true }
                if prev == "-" || next == "-" || i == 0 { break }
                // Words before and after the hyphen (the word right after it included).
                let before = wordsUpTo[i], after = wordsUpTo[n] - wordsUpTo[i]
                let dash = (!startsWithUppercase(prev) && startsWithUppercase(next))
                    || (prev.count >= 6 && next.count >= 4 && after <= 2 && before >= 2)
                    || (!prev.isEmpty && !startsWithLetterOrDigit(prev) && !Detokenizer.joiners.contains(prev))
                if !dash {
                    left[i] = true
                    right[i] = true
                }
            case "+":
                if i > 0 { left[i] = true }
                if startsWithDigit(next) { right[i] = true }
            case "#":
                if startsWithLetterOrDigit(prev) { left[i] = true } else { right[i] = true }
            default:
                if Detokenizer.joiners.contains(t) {
                    left[i] = true
                    right[i] = true
                }
            }
        }
        var spaces = [Bool](repeating: false, count: n)
        for i in 1..<max(n, 1) { spaces[i] = !(left[i] || right[i - 1]) }
        return spaces
    }

    /// Tokens that join both of their neighbours.
    static let joiners: Set<String> = ["/", "_", "=", "\\", "|", "^", "~", "*", "<", ">"]
    /// Opening brackets and quotes.
    static let opening: Set<String> = ["(", "[", "{", "«", "“", "‘", "\""]

    private func startsWithDigit(_ s: String) -> Bool {
        s.unicodeScalars.first.map { $0.properties.numericType != nil } ?? false
    }

    private func startsWithLetterOrDigit(_ s: String) -> Bool {
        s.unicodeScalars.first.map { $0.properties.isAlphabetic || $0.properties.numericType != nil } ?? false
    }

    private func startsWithLowercase(_ s: String) -> Bool {
        s.unicodeScalars.first.map { $0.properties.isLowercase } ?? false
    }

    private func startsWithUppercase(_ s: String) -> Bool {
        s.unicodeScalars.first.map { $0.properties.isUppercase } ?? false
    }
}
