import ArgumentParser
import Foundation

/// The metric options of `score`, shared by `evaluate` (which passes them on to `score`).
struct MetricArguments: ParsableArguments {
    @Option(help: "Comma-separated metrics: bleu, rouge1, rouge2, rougeL, rougeLsum.")
    var metrics: String = "bleu"
    @Option(help: "BLEU tokenizer: 13a, intl, zh, char or none.")
    var tokenize: String = "13a"
    @Option(help: "BLEU smoothing: exp, floor, add-k or none.")
    var smooth: String = "exp"
    @Option(name: .customLong("smooth-value"), help: "The value for floor (default 0.1) or add-k (default 1).")
    var smoothValue: Double?
    @Flag(help: "Lowercase BLEU's input.")
    var lowercase = false
    @Flag(help: "Porter-stem ROUGE tokens longer than 3 characters (as rouge-score's use_stemmer).")
    var stem = false
    @Option(name: .customLong("rouge-tokenizer"), help: "ROUGE tokenizer: compatible (rouge-score's) or unicode.")
    var rougeTokenizer: String = "compatible"

    /// These options as `score` command-line arguments.
    var commandLine: [String] {
        var a = ["--metrics", metrics, "--tokenize", tokenize, "--smooth", smooth, "--rouge-tokenizer", rougeTokenizer]
        if let v = smoothValue { a += ["--smooth-value", "\(v)"] }
        if lowercase { a.append("--lowercase") }
        if stem { a.append("--stem") }
        return a
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
