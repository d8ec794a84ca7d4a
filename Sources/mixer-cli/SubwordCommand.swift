import ArgumentParser
import Tokenize

extension SubwordType: ExpressibleByArgument {}

/// `mixer-cli subword`: train, apply and undo SentencePiece models over ICU's words.
struct SubwordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subword",
        abstract: "Train and apply SentencePiece subword models (BPE or unigram) over ICU's words.",
        discussion: """
            ICU stays in front: text is normalized and split into words by `mixer-cli tokenize` \
            (or by --tokenize here), and SentencePiece (the C++ library, its normalization off) \
            learns and applies pieces over those words. A word's first piece starts with ▁ \
            (U+2581); a character outside the pieces falls back to its UTF-8 bytes (<0xE3>), so \
            nothing becomes <unk>. The .model files are ordinary SentencePiece models, for \
            Python's `sentencepiece` and every other binding.

            Example:
              $ mixer-cli tokenize --input data/train.tgt --output train.tok.tgt
              $ mixer-cli subword train --type bpe --vocab-size 4000 \\
                  --output tgt.model train.tok.tgt
              $ mixer-cli subword encode --model tgt.model \\
                  --input train.tok.tgt --output train.bpe.tgt
              $ mixer-cli subword decode --model tgt.model \\
                  --input train.bpe.tgt | mixer-cli detokenize
            """,
        subcommands: [SubwordTrainCommand.self, SubwordEncodeCommand.self, SubwordDecodeCommand.self]
    )
}

struct SubwordTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SentencePiece model on tokenized text files.",
        discussion: """
            Reads the files' lines (words separated by spaces, as `mixer-cli tokenize` writes \
            them; raw text with --tokenize) and trains with SentencePiece's trainer: ids 0-3 are \
            <pad> <unk> <s> </s> as in mixer's vocabularies, the 256 byte pieces come next, every \
            character is covered. The same input and options give the same model.

            Example:
              $ mixer-cli subword train --type bpe --vocab-size 8000 \\
                  --output tgt.model train.tok.tgt
              $ mixer-cli subword train --tokenize --lowercase \\
                  --output src.model data/train.src
            """
    )

    @Option(name: .long, help: "Segmentation: byte-pair encoding or the unigram language model.")
    var type: SubwordType = .unigram

    @Option(name: .long, help: "Pieces in all, the 4 specials and 256 byte pieces included.")
    var vocabSize = 8000

    @Option(name: .long, help: "Train on at most this many lines (a random sample, the same on every run, when there are more).")
    var maxSentences = 1_000_000

    @Option(name: .long, help: "The model file to write (a SentencePiece .model).")
    var output: String

    @Flag(name: .long, help: "Tokenize the files first (they are raw text, not tokenizer output).")
    var tokenize = false

    @Flag(name: .long, help: "Replace invalid UTF-8 with U+FFFD instead of failing.")
    var replaceInvalid = false

    @OptionGroup var tokenizer: TokenizerOptions

    @Argument(help: "Text files ('-' for standard input).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one file to train on (or '-' for standard input).") }
        if output.isEmpty { throw ValidationError("--output needs a file name.") }
        if vocabSize < 261 { throw ValidationError("--vocab-size must be at least 261 (4 specials, 256 byte pieces and one more; got \(vocabSize)).") }
        if maxSentences < 1 { throw ValidationError("--max-sentences must be at least 1 (got \(maxSentences)).") }
    }

    func run() throws {
        try reportingErrors {
            let writer = try LineWriter(path: output, inputs: files)
            let wordTokenizer = tokenize ? try tokenizer.makeTokenizer() : nil
            var lines: [String] = []
            for file in files {
                let reader = try LineReader(path: file, replaceInvalid: replaceInvalid)
                while let line = try reader.nextLine() {
                    let words = wordTokenizer.map { $0.words(line) } ?? Detokenizer.split(line)
                    if !words.isEmpty { lines.append(words.joined(separator: " ")) }
                }
            }
            if lines.isEmpty { throw CLIError("\(files.joined(separator: ", ")): no words to train on (empty or only whitespace)") }
            let options = SubwordTrainingOptions(type: type, vocabularySize: vocabSize, maxSentences: maxSentences)
            let model: SubwordModel
            do { model = try SubwordModel.train(sentences: lines, options: options) }
            catch let e as SubwordError { throw CLIError(e.description) }
            try writer.write(model.serialized)
            try writer.close()
            printNote("subword: \(type.rawValue) model of \(model.vocabulary.count) pieces from \(lines.count) lines")
        }
    }
}

/// The options of `subword encode` and `subword decode`.
struct SubwordApplyOptions: ParsableArguments {
    @Option(name: .long, help: "The SentencePiece model (.model file).")
    var model: String

    @OptionGroup var files: TextFileOptions

    /// Loads the model, then maps each input line (its fields, split at spaces; its 1-based
    /// number) to one output line, written to --output (the model and the input are never the
    /// output: refused before reading).
    func mapLines(_ transform: (SubwordModel, [String], Int) throws -> String) throws {
        let model = try SubwordModel(contentsOfFile: model)
        let writer = try LineWriter(path: files.output, inputs: [files.input ?? "-", self.model])
        let reader = try LineReader(path: files.input, replaceInvalid: files.replaceInvalid)
        var number = 0
        while let line = try reader.nextLine() {
            number += 1
            try writer.writeLine(transform(model, Detokenizer.split(line), number))
        }
        try writer.close()
    }
}

struct SubwordEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Split tokenized text into pieces, one line in, one line out.",
        discussion: """
            Each line's words (separated by spaces) become pieces separated by spaces, or their \
            ids with --ids.

            Example:
              $ echo "model - fitting" | mixer-cli subword encode --model tgt.model
              ▁model ▁- ▁f it ting
            """
    )

    @OptionGroup var options: SubwordApplyOptions

    @Flag(name: .long, help: "Write the pieces' ids instead of the pieces.")
    var ids = false

    func run() throws {
        try reportingErrors {
            try options.mapLines { model, words, _ in
                ids ? model.ids(words: words).map(String.init).joined(separator: " ")
                    : model.pieces(words: words).joined(separator: " ")
            }
        }
    }
}

struct SubwordDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Join pieces back into words, one line in, one line out.",
        discussion: """
            Each line's pieces (separated by spaces, or ids with --ids) become the words they \
            spell, separated by spaces; `mixer-cli detokenize` then gives text.

            Example:
              $ echo "▁model ▁- ▁f it ting" | mixer-cli subword decode --model tgt.model
              model - fitting
            """
    )

    @OptionGroup var options: SubwordApplyOptions

    @Flag(name: .long, help: "The input holds ids instead of pieces.")
    var ids = false

    func run() throws {
        try reportingErrors {
            try options.mapLines { model, fields, number in
                guard ids else { return model.words(pieces: fields).joined(separator: " ") }
                var values: [Int32] = []
                for f in fields {
                    guard let v = Int32(f), v >= 0, Int(v) < model.vocabulary.count else {
                        throw InputError(file: options.files.input ?? "<stdin>", line: number,
                                         "'\(f)' is not an id of \(options.model) (0 to \(model.vocabulary.count - 1))")
                    }
                    values.append(v)
                }
                return model.words(ids: values).joined(separator: " ")
            }
        }
    }
}
