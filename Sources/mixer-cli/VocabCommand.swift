import ArgumentParser
import Tokenize

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Build a vocabulary (token<TAB>count per line) from tokenized text files.",
        discussion: """
            Counts the space-separated tokens of the files (the output of `mixer-cli \
            tokenize`, or raw text with --tokenize) and writes one `token<TAB>count` line per \
            id: the specials <pad> <unk> <s> </s> (ids 0-3) first, then the tokens by count, \
            descending, ties in byte order. The same input always gives the same vocabulary.

            Example:
              $ mixer-cli tokenize --input data/train.src --output train.tok.src
              $ mixer-cli vocab --min-count 2 --max-size 20000 \\
                  --output src.vocab train.tok.src
              $ mixer-cli vocab --tokenize --lowercase data/train.tgt > tgt.vocab
            """
    )

    @Option(name: .long, help: "Keep tokens seen at least this many times (at least 1).")
    var minCount = 1

    @Option(name: .long, help: "Most ids, the 4 specials included (at least 4; default: no limit).")
    var maxSize: Int?

    @Option(name: [.customShort("o"), .long], help: "Output file (default: standard output).")
    var output: String?

    @Flag(name: .long, help: "Tokenize the files first (they are raw text, not tokenizer output).")
    var tokenize = false

    @Flag(name: .long, help: "Replace invalid UTF-8 with U+FFFD instead of failing.")
    var replaceInvalid = false

    @OptionGroup var tokenizer: TokenizerOptions

    @Argument(help: "Tokenized text files ('-' for standard input).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one file to count (or '-' for standard input).") }
        if minCount < 1 { throw ValidationError("--min-count must be at least 1 (got \(minCount)).") }
        if let maxSize, maxSize < Vocabulary.specials.count {
            throw ValidationError("--max-size must be at least \(Vocabulary.specials.count), the number of specials (got \(maxSize)).")
        }
        if let output, output.isEmpty { throw ValidationError("--output needs a file name.") }
    }

    func run() throws {
        try reportingErrors {
            let writer = try LineWriter(path: output, inputs: files)
            let wordTokenizer = tokenize ? try tokenizer.makeTokenizer() : nil
            var counter = TokenCounter()
            for file in files {
                try counter.addLines(from: LineReader(path: file, replaceInvalid: replaceInvalid),
                                     tokenizer: wordTokenizer)
            }
            if counter.total == 0 {
                throw CLIError("\(files.joined(separator: ", ")): no tokens to count (empty or only whitespace)")
            }
            let vocabulary = Vocabulary(counter, minCount: minCount, maxSize: maxSize)
            try writer.write(Array(vocabulary.fileContents.utf8))
            try writer.close()
            printNote("vocab: \(counter.total) tokens, \(counter.counts.count) types, \(vocabulary.count) ids (4 specials)")
        }
    }
}
