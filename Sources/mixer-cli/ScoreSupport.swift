import ArgumentParser
import Foundation
import Metrics

extension BLEUTokenizer: ExpressibleByArgument {}
extension BLEUSmoothing: ExpressibleByArgument {}
extension ROUGETokenizer: ExpressibleByArgument {}

/// The metric names of `score` and `evaluate`, one or several comma-separated (`bleu,rouge2`):
/// ArgumentParser lists them in the help and rejects an unknown one with its own error.
struct MetricList: ExpressibleByArgument {
    /// The names `score` accepts.
    static let known = ["bleu", "chrf", "chrf++", "chrfpp", "ter", "rouge1", "rouge2", "rougeL", "rougeLsum"]
    static var allValueStrings: [String] { known }

    var names: [String]

    init?(argument: String) {
        names = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names.isEmpty || names.contains(where: { !Self.known.contains($0) }) { return nil }
    }
}

/// The metric options of `score`, shared by `evaluate` (which runs the same ``ScoreJob``).
///
/// sacreBLEU's spellings work too: `-m bleu chrf ter` (several words), `-tok 13a`, `-lc`,
/// `-cc 6`, `-cw 2`, `--chrf-*` and `--ter-*` as sacreBLEU names them. `--metrics` keeps its
/// single comma-separated value so that a hypothesis file after it is still a file; `-m` takes
/// every word up to the next option, as sacreBLEU's `nargs='+'`.
struct MetricArguments: ParsableArguments {
    @Option(help: "Comma-separated metrics: bleu, chrf, chrf++ (or chrfpp), ter, rouge1, rouge2, rougeL, rougeLsum.")
    var metrics: MetricList?
    @Option(name: .customShort("m"), parsing: .upToNextOption,
            help: ArgumentHelp("Metrics as sacreBLEU takes them: -m bleu chrf ter (commas work too; every word up to the next option, so put files before it).", valueName: "metric"))
    var metricWords: [MetricList] = []
    @Option(name: [.long, .customLong("tok", withSingleDash: true)], help: "BLEU tokenizer.")
    var tokenize: BLEUTokenizer = .thirteenA
    @Option(name: [.long, .customLong("smooth-method")], help: "BLEU smoothing.")
    var smooth: BLEUSmoothing = .exp
    @Option(name: [.customLong("smooth-value"), .customLong("sv", withSingleDash: true)],
            help: "The value for floor (0.1 when not given) or add-k (1 when not given).")
    var smoothValue: Double?
    @Flag(name: [.long, .customLong("lc", withSingleDash: true)], help: "Lowercase BLEU's input.")
    var lowercase = false
    @Flag(help: "Porter-stem ROUGE tokens longer than 3 characters (as rouge-score's use_stemmer).")
    var stem = false
    @Option(name: .customLong("rouge-tokenizer"), help: "ROUGE tokenizer: compatible (rouge-score's) or unicode.")
    var rougeTokenizer: ROUGETokenizer = .compatible
    @Option(name: .customLong("rouge-newline"),
            help: ArgumentHelp("A sentence marker (such as '<n>') that becomes a newline in ROUGE's input, so that rougeLsum splits sentences there.",
                               valueName: "marker"))
    var rougeNewline: String?
    @Flag(name: [.customLong("split-summaries"), .customLong("split_summaries")],
          help: "Split rougeLsum's summaries into sentences with ICU's sentence rules (rouge-score's --split_summaries, which uses nltk's punkt: docs/scoring.md says where they differ).")
    var splitSummaries = false

    @Option(name: [.customLong("chrf-char-order"), .customLong("cc", withSingleDash: true)], help: "chrF character n-gram order.")
    var chrfCharOrder: Int = 6
    @Option(name: [.customLong("chrf-word-order"), .customLong("cw", withSingleDash: true)],
            help: "Word n-gram order of the chrf metric (2 is chrF++; the chrf++ metric always uses 2).")
    var chrfWordOrder: Int = 0
    @Option(name: .customLong("chrf-beta"), help: "chrF's beta: the weight of recall against precision.")
    var chrfBeta: Int = 2
    @Flag(name: .customLong("chrf-whitespace"), help: "Keep whitespace in chrF's character n-grams.")
    var chrfWhitespace = false
    @Flag(name: .customLong("chrf-lowercase"), help: "Lowercase chrF's input.")
    var chrfLowercase = false
    @Flag(name: .customLong("chrf-eps-smoothing"), help: "chrF++.py's epsilon smoothing instead of the effective order.")
    var chrfEpsSmoothing = false
    @Flag(name: .customLong("ter-case-sensitive"), help: "Keep case in TER (default: lowercase).")
    var terCaseSensitive = false
    @Flag(name: .customLong("ter-normalized"), help: "TER: tercom's normalization and punctuation tokenization.")
    var terNormalized = false
    @Flag(name: .customLong("ter-no-punct"), help: "TER: remove punctuation.")
    var terNoPunct = false
    @Flag(name: .customLong("ter-asian-support"), help: "TER: split CJK characters (with --ter-normalized), remove CJK punctuation (with --ter-no-punct).")
    var terAsianSupport = false

    /// The metric names, in the order given (`--metrics` first, then `-m`); `bleu` when none.
    var metricList: [String] {
        if metrics == nil && metricWords.isEmpty { return ["bleu"] }
        return (metrics?.names ?? []) + metricWords.flatMap(\.names)
    }

    /// Checks the metric options; throws a `ValidationError` naming the option.
    func validateMetrics() throws {
        let list = metricList
        if smoothValue != nil && smooth.defaultValue == nil {
            throw ValidationError("--smooth-value applies only to --smooth floor or add-k.")
        }
        if let v = smoothValue, !(v.isFinite && v >= 0) { throw ValidationError("--smooth-value must be a non-negative number.") }
        if !(0...1000).contains(chrfCharOrder) { throw ValidationError("--chrf-char-order must be between 0 and 1000.") }
        if !(0...1000).contains(chrfWordOrder) { throw ValidationError("--chrf-word-order must be between 0 and 1000.") }
        if list.contains("chrf") && chrfCharOrder + chrfWordOrder == 0 {
            throw ValidationError("--chrf-char-order and --chrf-word-order cannot both be 0.")
        }
        if let m = rougeNewline, m.isEmpty || m.contains("\n") {
            throw ValidationError("--rouge-newline needs a non-empty marker without a newline, such as '<n>'.")
        }
        if !(0...1000).contains(chrfBeta) { throw ValidationError("--chrf-beta must be between 0 and 1000.") }
    }

    /// BLEU's configuration when asked (effective order for sentence-level scores, as sacreBLEU).
    func bleu(sentenceLevel: Bool) -> BLEU? {
        guard metricList.contains("bleu") else { return nil }
        return BLEU(tokenizer: tokenize, lowercase: lowercase,
                    smoothing: smooth, smoothValue: smoothValue, effectiveOrder: sentenceLevel)
    }

    /// ROUGE's configuration when a ROUGE type is asked.
    var rouge: ROUGE? {
        let list = metricList
        let types = ROUGEType.allCases.filter { list.contains($0.rawValue) }
        return types.isEmpty ? nil : ROUGE(types: types, useStemmer: stem, tokenizer: rougeTokenizer, splitSentences: splitSummaries)
    }

    /// The chrF configurations asked, each with its output key (`chrf`, `chrf++`), in order.
    var chrf: [(key: String, config: CHRF)] {
        var out: [(String, CHRF)] = []
        for m in metricList where out.count < 2 {
            let plus = m == "chrf++" || m == "chrfpp"
            guard m == "chrf" || plus else { continue }
            let key = plus ? "chrf++" : "chrf"
            if out.contains(where: { $0.0 == key }) { continue }
            out.append((key, CHRF(charOrder: chrfCharOrder, wordOrder: plus ? 2 : chrfWordOrder, beta: chrfBeta,
                                  lowercase: chrfLowercase, whitespace: chrfWhitespace, epsSmoothing: chrfEpsSmoothing)))
        }
        return out
    }

    /// TER's configuration when asked.
    var ter: TER? {
        guard metricList.contains("ter") else { return nil }
        return TER(normalized: terNormalized, noPunct: terNoPunct, asianSupport: terAsianSupport, caseSensitive: terCaseSensitive)
    }
}

extension ROUGE {
    /// How rougeLsum finds sentences, for the settings line of the text output ("" when at
    /// newlines only, the default).
    var sentenceNote: String {
        splitSentences && types.contains(.rougeLsum) ? "rougeLsum sentences split by ICU, " : ""
    }
}

/// An error while running `score`: printed as `error: <message>` with exit status 1.
struct ScoreError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// The paths matching the shell pattern `pattern` (`*`, `?`, `[…]`; a leading `.` is matched
/// only explicitly), sorted by their UTF-8 bytes: Python's `sorted(glob.glob(pattern))`, as
/// rouge-score's file patterns (Python's `**` without `recursive` is `*`, as here).
/// - Throws: ``ScoreError`` when the pattern cannot be read (a directory it needs is
///   unreadable) or is too long.
/// - Complexity: that of glob(3), then O(m log m) comparisons for m matches.
func globSorted(_ pattern: String) throws -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    let rc = glob(pattern, 0, nil, &g)
    if rc == GLOB_NOMATCH { return [] }
    if rc != 0 { throw ScoreError("\(pattern): cannot expand the file pattern (\(rc == GLOB_NOSPACE ? "out of memory" : "a directory cannot be read"))") }
    var out: [String] = []
    for i in 0..<Int(g.gl_pathc) {
        if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
    }
    return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
}
