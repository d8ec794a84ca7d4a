import ArgumentParser
import Foundation
import Seq2Seq
import Tokenize

/// The search options shared by `decode` and `evaluate`.
struct DecodingArguments: ParsableArguments {
    enum Strategy: String, ExpressibleByArgument, CaseIterable {
        case greedy, sample, beam
    }

    @Option(name: .long, help: "Path of the checkpoint directory (a run directory means its best/ checkpoint).")
    var model: String

    @Option(help: "greedy, sample or beam.")
    var strategy: Strategy = .greedy

    @Option(name: .customLong("beam-size"), help: "Live hypotheses per input for --strategy beam (default 5).")
    var beamSize: Int?

    @Option(name: .customLong("n-best"), help: "Outputs per input for --strategy beam, best first (at most the beam size; default 1).")
    var nBest: Int?

    @Option(name: .customLong("length-penalty"),
            help: "Beam ranking: a number α divides log p by ((5 + |Y|)/6)^α (GNMT; 0 = none, the default), or 'average' divides by |Y|.")
    var lengthPenalty: String?

    @Option(help: "Sampling temperature T > 0 (default 1).")
    var temperature: Double?

    @Option(name: .customLong("top-k"), help: "Sample among the k most probable tokens only (0 = all, the default).")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Sample from the nucleus of probability mass p in (0, 1] (default 1 = all).")
    var topP: Double?

    @Option(name: .customLong("num-samples"), help: "Samples per input for --strategy sample (default 1).")
    var numSamples: Int?

    @Option(name: .customLong("max-length"), help: "Most decoding steps, </s> included (default: the model's maximum target length + 1; a subword model's steps are pieces).")
    var maxLength: Int?

    @Option(name: .customLong("min-length"), help: "Forbid </s> until this many tokens are out.")
    var minLength: Int = 0

    @Option(name: .customLong("no-repeat-ngram-size"), help: "Forbid repeating any n-gram of this size in an output (0 = off).")
    var noRepeatNgramSize: Int = 0

    @Flag(name: .customLong("replace-unk"), help: "Replace each <unk> in the output by the source token the model attended to most at that step (word models; refused for a subword model, whose output has no <unk>).")
    var replaceUnk = false

    @Option(help: "Seed of --strategy sample (the same seed gives the same output).")
    var seed: UInt64 = 1

    @Option(name: .customLong("batch-size"), help: "Inputs decoded together (sorted by length; output order is kept).")
    var batchSize: Int = 32

    @Option(help: "Threads for the matrix products (default: MIXER_THREADS or OMP_NUM_THREADS if set, else all cores). The output is the same on any count.")
    var threads: Int?

    func validate() throws {
        if model.isEmpty { throw ValidationError("--model needs a checkpoint directory.") }
        if let m = maxLength, m > RunConfig.lengthLimit {
            throw ValidationError("--max-length must be between 1 and \(RunConfig.lengthLimit), got \(m).")
        }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if let t = threads, t < 1 || t > 1024 { throw ValidationError("--threads must be between 1 and 1024, got \(t).") }
        // The ranges are the library's (one place): the strategy's options, and the length
        // options with --max-length's default (the model's, unknown until it is loaded) as large.
        do {
            try makeStrategy().validate()
            try DecodingOptions(maxLength: maxLength ?? RunConfig.lengthLimit + 1, minLength: minLength,
                                noRepeatNgramSize: noRepeatNgramSize).validate()
        } catch let e as DecodingOptionError {
            throw ValidationError(e.message + ".")
        }
        let beamOnly = [("--beam-size", beamSize != nil), ("--n-best", nBest != nil), ("--length-penalty", lengthPenalty != nil)]
        let sampleOnly = [("--temperature", temperature != nil), ("--top-k", topK != nil), ("--top-p", topP != nil),
                          ("--num-samples", numSamples != nil)]
        for (name, given) in beamOnly where given && strategy != .beam {
            throw ValidationError("\(name) applies to --strategy beam only.")
        }
        for (name, given) in sampleOnly where given && strategy != .sample {
            throw ValidationError("\(name) applies to --strategy sample only.")
        }
    }

    func parsedLengthPenalty() throws -> LengthPenalty {
        guard let s = lengthPenalty else { return .none }
        if s == "average" { return .average }
        guard let a = Double(s), a.isFinite else {
            throw ValidationError("--length-penalty must be a number (GNMT's α) or 'average', got '\(s)'.")
        }
        return a == 0 ? .none : .gnmt(alpha: a)
    }

    /// The library's strategy for these options.
    func makeStrategy() throws -> DecodingStrategy {
        switch strategy {
        case .greedy: return .greedy
        case .sample:
            return .sample(SamplingOptions(temperature: temperature ?? 1, topK: topK ?? 0, topP: topP ?? 1, numSamples: numSamples ?? 1))
        case .beam:
            return .beam(BeamOptions(beamSize: beamSize ?? 5, nBest: nBest ?? 1, lengthPenalty: try parsedLengthPenalty()))
        }
    }

    /// Loads the model and decodes `lines`.
    func decode(_ lines: [String]) throws -> (TrainedModel, [[DecodedOutput]]) {
        let trained = try loadModel()
        return (trained, try decode(lines, with: trained, firstIndex: 0))
    }

    /// Loads `--model` and says on standard error which checkpoint that is (a run directory
    /// means its best/, which a user should not have to guess).
    func loadModel() throws -> TrainedModel {
        let trained = try TrainedModel(directory: model)
        if replaceUnk && trained.subword != nil { throw CLIError(TrainedModel.replaceUnkRefusal) }
        printNote("model: \(trained.checkpointDescription)")
        return trained
    }

    /// Decodes `lines`, the inputs numbered from `firstIndex` in the whole file.
    func decode(_ lines: [String], with trained: TrainedModel, firstIndex: Int) throws -> [[DecodedOutput]] {
        if let threads { setComputeThreads(threads) }
        let options = DecodingOptions(maxLength: maxLength ?? trained.defaultMaxLength, minLength: minLength,
                                      noRepeatNgramSize: noRepeatNgramSize)
        return try trained.decode(lines: lines, strategy: try makeStrategy(), options: options, batchSize: batchSize,
                                  seed: seed, replaceUnk: replaceUnk, firstIndex: firstIndex)
    }
}

struct DecodeCommand: ParsableCommand {
    /// Lines read and decoded at a time (memory is bounded by one chunk, not the file).
    static let chunkLines = 10_000

    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Translate or summarise text with a trained model (greedy, sampling or beam search).",
        discussion: """
            Each input line is tokenized as the model was trained, decoded, and written as one \
            detokenized output line, in input order (inputs are decoded in batches of similar \
            length). With --n-best N > 1 or --num-samples N > 1, every output is a line of four \
            tab-separated fields: the input line number (from 1), the rank (from 1, best first), \
            the score and the text. The score is the output's log-probability, divided by the \
            length penalty for beam search; --scores prints it before the text in the \
            one-output form too.

            Examples:
              mixer-cli decode --model runs/demo -i test.src -o out.txt
              mixer-cli decode --model runs/demo --strategy beam < test.src
              mixer-cli decode --model runs/demo --strategy beam --beam-size 8 \\
                --n-best 4 --length-penalty 0.6 --input test.src
              mixer-cli decode --model runs/demo --strategy sample --top-p 0.9 \\
                --num-samples 3 --seed 7 --input test.src
            """
    )

    @OptionGroup var decoding: DecodingArguments

    @Option(name: [.customShort("i"), .customLong("input")], help: "Input file, - for standard input.")
    var input: String = "-"

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output file, - for standard output.")
    var output: String = "-"

    @Flag(help: "Print each output's score before its text (tab-separated).")
    var scores = false

    @Flag(name: .customLong("replace-invalid"), help: "Replace invalid UTF-8 in the input with U+FFFD instead of failing.")
    var replaceInvalid = false

    func validate() throws {
        if input.isEmpty { throw ValidationError("--input needs a file name or -.") }
        if output.isEmpty { throw ValidationError("--output needs a file name or -.") }
    }

    func run() throws {
        try reportingErrors {
            // Streams: the input is read and decoded in chunks of `chunkLines` lines (each
            // sorted by length into batches), so memory does not grow with the file.
            // The output is checked (writable, not the input) before anything is read. A regular
            // file is written to a temporary name and renamed over --output only at the end, so
            // a run killed midway leaves no partial output at that path.
            let writer = try LineWriter(path: output, inputs: [input])
            let reader = try LineReader(path: input, replaceInvalid: replaceInvalid)
            let trained = try decoding.loadModel()
            let format = DecodedOutputFormat(multiple: try decoding.makeStrategy().outputsPerInput > 1, scores: scores)
            var done = 0
            while true {
                var chunk: [String] = []
                while chunk.count < Self.chunkLines, let line = try reader.nextLine() { chunk.append(line) }
                if chunk.isEmpty && done > 0 { break }
                let outputs = try decoding.decode(chunk, with: trained, firstIndex: done)
                try format.write(outputs, to: writer, firstLine: done + 1)
                done += chunk.count
                if chunk.count < Self.chunkLines { break }
            }
            try writer.close()
        }
    }
}

/// How decoded outputs are printed: one text line per input, or n-best/sample lines.
struct DecodedOutputFormat {
    var multiple: Bool
    var scores: Bool

    func write(_ outputs: [[DecodedOutput]], to writer: LineWriter, firstLine: Int = 1) throws {
        for (i, outs) in outputs.enumerated() {
            if multiple {
                for (rank, o) in outs.enumerated() {
                    try writer.writeLine("\(i + firstLine)\t\(rank + 1)\t\(Self.format(o.hypothesis.score))\t\(o.text)")
                }
            } else {
                let o = outs[0]
                try writer.writeLine(scores ? "\(Self.format(o.hypothesis.score))\t\(o.text)" : o.text)
            }
        }
    }

    /// A score with 4 decimals.
    static func format(_ x: Double) -> String { String(format: "%.4f", x) }
}
