import ArgumentParser
import Foundation
import Seq2Seq
import Tokenize

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Decode a source file and score the output against references in one step.",
        discussion: """
            Gives exactly what `mixer-cli decode` followed by `mixer-cli score` gives: the \
            input lines are decoded with the decoding options (one output per line, so no \
            --n-best or --num-samples above 1), the detokenized output is written to --output \
            (or a temporary file), and scored with the score options by the code `score` \
            runs. The bootstrap seed of --confidence is --bootstrap-seed (--seed is the \
            sampling seed, as in decode).

            Examples:
              mixer-cli evaluate --model runs/demo -i data/valid.src \\
                -r data/valid.tgt
              mixer-cli evaluate --model runs/demo --input test.src --reference test.tgt \\
                --strategy beam --beam-size 5 --metrics bleu,rouge2 --format json
            """
    )

    @OptionGroup(title: "Decoding") var decoding: DecodingArguments

    @Option(name: [.customShort("i"), .customLong("input")], help: "The source file.")
    var inputOption: String?

    /// `--source`, the old name of --input (hidden; scripts use it).
    @Option(name: .customLong("source"), help: .hidden)
    var sourceAlias: String?

    @Option(name: [.customShort("r"), .customLong("reference")], help: "A reference file, line-aligned with the input (repeat for several).")
    var referenceOption: [String] = []

    /// `--ref`, `score`'s old name of --reference (hidden).
    @Option(name: .customLong("ref"), help: .hidden)
    var refAlias: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")], help: "Also keep the decoded text in this file.")
    var output: String?

    @Flag(name: .customLong("replace-invalid"), help: "Replace invalid UTF-8 in the inputs with U+FFFD instead of failing.")
    var replaceInvalid = false

    // Score options: the same as `score`'s, run by the same code (``ScoreJob``).
    @OptionGroup var metric: MetricArguments
    @Flag(name: [.long, .customLong("ci", withSingleDash: true)],
          help: "Add bootstrap confidence intervals (mean ± 95% half-width, as sacreBLEU).")
    var confidence = false
    @Option(help: "Bootstrap resamples for --confidence.")
    var samples: Int = 1000
    @Option(name: .customLong("bootstrap-seed"), help: "Seed of the bootstrap resampling.")
    var bootstrapSeed: UInt64 = 12345
    @Option(name: [.long, .customShort("f")], help: "Output format: text or json.")
    var format: EvaluateFormat = .text
    @Option(name: [.long, .customShort("w")], help: "Decimals of every score in text, all on 0-100 (ROUGE ×100).")
    var width: Int = 2

    /// `evaluate`'s output formats (the one-system ones of `score`).
    enum EvaluateFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// --input, or its old name --source.
    var source: String { inputOption ?? sourceAlias ?? "" }
    /// --reference's files, then those of the old name --ref.
    var references: [String] { referenceOption + refAlias }

    /// The scoring of a hypothesis file, as `score` would run it with these options.
    func scoreJob(hypothesis: String) -> ScoreJob {
        ScoreJob(hypotheses: [hypothesis], referenceFiles: references, metric: metric, confidence: confidence,
                 samples: samples, seed: bootstrapSeed, replaceInvalid: replaceInvalid,
                 format: format == .json ? .json : .text, width: width)
    }

    func validate() throws {
        if inputOption != nil && sourceAlias != nil { throw ValidationError("--input given twice (--source is its old name).") }
        if inputOption == nil && sourceAlias == nil { throw ValidationError("Give the source file with --input FILE.") }
        if source.isEmpty || source == "-" { throw ValidationError("--input needs a file name.") }
        if references.isEmpty { throw ValidationError("Give at least one reference file with --reference FILE.") }
        if references.contains("-") { throw ValidationError("--reference needs a file name, not standard input.") }
        if let output, output.isEmpty { throw ValidationError("--output needs a file name.") }
        if (decoding.nBest ?? 1) > 1 || (decoding.numSamples ?? 1) > 1 {
            throw ValidationError("evaluate scores one output per input: drop --n-best or --num-samples above 1 (use decode, then score).")
        }
        try scoreJob(hypothesis: "hypothesis.txt").validate()
    }

    func run() throws {
        let outputWriter: LineWriter? = try reportingErrors {
            // --output and standard output (where the scores go) are checked (writable, not the
            // source or a reference) before any reading, not after the decoding.
            let writer = try output.map { try LineWriter(path: $0, inputs: [source] + references) }
            _ = try OutputFile(path: nil, inputs: [source] + references)
            // Line counts checked before the (long) decoding, streaming: no file is held in memory.
            func lineCount(_ path: String) throws -> Int {
                let reader = try LineReader(path: path, replaceInvalid: replaceInvalid)
                while try reader.withNextLine({ _ in }) != nil {}
                return reader.lineNumber
            }
            let lines = try lineCount(source)
            for ref in references {
                let n = try lineCount(ref)
                if n != lines { throw CLIError("\(ref) has \(n) lines but \(source) has \(lines)") }
            }
            if lines == 0 { throw CLIError("\(source) is empty, and so is every reference: nothing to score") }
            return writer
        }
        // The scorer reads the decoded text from a private file (--output may be a pipe or a device).
        let hypothesisPath = FileManager.default.temporaryDirectory.appendingPathComponent("mixer-evaluate-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: hypothesisPath) }
        try reportingErrors {
            // Decoded in chunks as `decode` does, so memory does not grow with the source file.
            let trained = try decoding.loadModel()
            let reader = try LineReader(path: source, replaceInvalid: replaceInvalid)
            let format = DecodedOutputFormat(multiple: false, scores: false)
            let writer = try LineWriter(path: hypothesisPath)
            var done = 0
            while true {
                var chunk: [String] = []
                while chunk.count < DecodeCommand.chunkLines, let line = try reader.nextLine() { chunk.append(line) }
                if chunk.isEmpty { break }
                let outputs = try decoding.decode(chunk, with: trained, firstIndex: done)
                try format.write(outputs, to: writer)
                if let outputWriter { try format.write(outputs, to: outputWriter) }
                done += chunk.count
            }
            try writer.close()
            try outputWriter?.close()
        }
        try scoreJob(hypothesis: hypothesisPath).run()
    }
}
