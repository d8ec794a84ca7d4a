// decode-bench: the timing driver of bench/decode.sh (not a product; built with
// `swift build -c release --product decode-bench`).
//
// Decodes random sources with a randomly initialised model of the reference configuration
// (embedding 256, biLSTM 256 per direction, decoder 256, vocabularies 10,000, source length 50)
// for exactly --steps output steps (DecodingOptions.ignoreEOS), the same work as the PyTorch
// peer bench/peers/torch_seq2seq.py decode; prints one JSON object with sentences/s from the
// median batch time after one untimed warm-up batch.
import ArgumentParser
import Foundation
import MixerOptions
import Seq2Seq

struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode-bench",
        abstract: "Time batched greedy or beam-search decoding on the reference model (for bench/decode.sh).",
        discussion: "Example: decode-bench --strategy beam --beam-size 5 --batch-size 32 --threads 2")

    enum Strategy: String, ExpressibleByArgument { case greedy, beam }

    @Option(help: "greedy or beam (mixer-cli decode's names).") var strategy: Strategy = .greedy
    @Option(name: .customLong("beam-size"), help: "Live hypotheses per input for --strategy beam.") var beamSize = 5
    @Option(name: .customLong("batch-size"), help: "Inputs decoded together.") var batchSize = 32
    @Option(help: "Threads of the matrix products and parallel loops.") var threads = 1
    @Option(help: "Output steps, always all of them.") var steps = 15
    @Option(help: "Sentences to decode after one untimed warm-up batch.") var sentences = 320
    @Option(name: .customLong("source-length")) var sourceLength = 50
    @Option(name: .customLong("vocab")) var vocab = 10_000
    @Option(help: "Seed of the random model and sources.") var seed: UInt64 = 1234

    func validate() throws {
        for (n, v) in [("--beam-size", beamSize), ("--batch-size", batchSize), ("--threads", threads), ("--steps", steps),
                       ("--sentences", sentences), ("--source-length", sourceLength)] where v < 1 {
            throw ValidationError("\(n) must be at least 1.")
        }
        if vocab < 5 { throw ValidationError("--vocab must be at least 5.") }
    }

    func run() throws {
        setComputeThreads(threads)
        let config = ModelConfig(sourceVocabSize: vocab, targetVocabSize: vocab)
        let model = EncoderDecoder(config: config, seed: seed)
        let decoder = SequenceDecoder(model: model)
        var rng = RandomGenerator(seed: seed).split("sources")
        let batches = (sentences + batchSize - 1) / batchSize
        let sources = (0...batches).map { _ in
            (0..<batchSize).map { _ in (0..<sourceLength).map { _ in Int32(4 + Int(rng.next() % UInt64(vocab - 4))) } }
        }
        let options = DecodingOptions(maxLength: steps, ignoreEOS: true)
        var times: [Double] = []
        var checksum = 0
        for (i, batch) in sources.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            let out: [Hypothesis]
            switch strategy {
            case .greedy: out = decoder.greedy(sources: batch, options: options)
            case .beam: out = decoder.beamSearch(sources: batch, beam: BeamOptions(beamSize: beamSize), options: options).map { $0[0] }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i > 0 {
                times.append(elapsed)
                checksum += out.reduce(0) { $0 + $1.ids.reduce(0) { $0 + Int($1) } }
            }
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let fields: [(String, String)] = [
            ("mode", "\"decode\""), ("strategy", "\"\(strategy.rawValue)\""),
            ("beam_size", "\(strategy == .beam ? beamSize : 1)"), ("batch_size", "\(batchSize)"), ("threads", "\(threads)"),
            ("source_length", "\(sourceLength)"), ("steps", "\(steps)"), ("vocab", "\(vocab)"),
            ("sentences", "\(batches * batchSize)"), ("packed_kernel", "\"\(PackedMatrix.kernelName)\""),
            ("batch_ms", String(format: "%.3f", median * 1e3)), ("batch_ms_min", String(format: "%.3f", sorted[0] * 1e3)),
            ("sentences_per_s", String(format: "%.1f", Double(batchSize) / median)), ("output_checksum", "\(checksum)"),
        ]
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}

DecodeBench.mainRefusingRepeatedOptions()
