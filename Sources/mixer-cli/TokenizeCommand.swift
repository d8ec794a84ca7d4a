import ArgumentParser
import Tokenize

extension NormalizationForm: ExpressibleByArgument {}

/// The tokenizer's options, shared by `tokenize` and `vocab --tokenize`.
struct TokenizerOptions: ParsableArguments {
    @Flag(name: .long, help: "Apply full Unicode case folding (ICU's; 'Straße' → 'strasse').")
    var lowercase = false

    @Option(name: .long, help: "Unicode normalization: \(NormalizationForm.allCases.map(\.rawValue).joined(separator: ", ")).")
    var normalization: NormalizationForm = .nfkc

    @Option(name: .long, help: "ICU locale of the word break rules, e.g. en, sv, ja (default: root).")
    var locale: String = ""

    func validate() throws {
        guard WordTokenizer.isWellFormedLocale(locale) else {
            throw ValidationError("--locale '\(locale)' is not a locale identifier; use letters, digits, '_' or '-', for example en_US or ja.")
        }
    }

    func makeTokenizer() throws -> WordTokenizer {
        try WordTokenizer(locale: locale, normalizer: Normalizer(form: normalization, caseFold: lowercase))
    }
}

/// Input and output files shared by the text commands.
struct TextFileOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: "Input file (default: standard input).")
    var input: String?

    @Option(name: [.customShort("o"), .long], help: "Output file (default: standard output).")
    var output: String?

    @Flag(name: .long, help: "Replace invalid UTF-8 with U+FFFD instead of failing.")
    var replaceInvalid = false

    func validate() throws {
        if let input, input.isEmpty { throw ValidationError("--input needs a file name.") }
        if let output, output.isEmpty { throw ValidationError("--output needs a file name.") }
    }
}

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Split text into words with ICU's word break rules, one line in, one line out.",
        discussion: """
            Each line is normalized (NFKC by default; control characters removed, whitespace \
            collapsed) and split with ICU's word break iterator; the tokens are written \
            separated by single spaces. Punctuation marks become tokens; numbers such as 3.14 \
            and contractions such as don't stay whole; Chinese, Japanese and Thai are split \
            with ICU's dictionaries. Empty lines stay empty, so line N of the output is line N \
            of the input.

            Example:
              $ echo "Don't panic: it's 3.14!" | mixer-cli tokenize --lowercase
              don't panic : it's 3.14 !
              $ mixer-cli tokenize --input data/train.src --output train.tok.src
            """
    )

    @OptionGroup var files: TextFileOptions
    @OptionGroup var tokenizer: TokenizerOptions

    func run() throws {
        try reportingErrors {
            let writer = try LineWriter(path: files.output, inputs: [files.input ?? "-"])
            let reader = try LineReader(path: files.input, replaceInvalid: files.replaceInvalid)
            _ = try tokenizer.makeTokenizer().tokenize(from: reader, to: writer)
            try writer.close()
        }
    }
}
