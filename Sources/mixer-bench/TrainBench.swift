import ArgumentParser
import Foundation
import MixerOptions
import Seq2Seq

/// `mixer-bench train`: times full XENT training steps on the reference configuration.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time XENT training steps (encode, teacher-forced decode, cross-entropy, backward, Adam).",
        discussion: """
        Random ids (fixed seed) on the reference configuration: embedding 256, biLSTM encoder \
        256 per direction, 256-unit decoder, Luong general attention with input feeding, \
        vocabularies 10,000/10,000, batch 32, source length 50, target length 15, Adam. \
        Prints one JSON line: median ms per step, target tokens/s, peak RSS, the kernel path \
        (AVX-512, AVX2 or portable).

        The model options are mixer-cli train's (one option group, the same names and defaults).

        Example:
          mixer-bench train --threads 2 --steps 20 --warmup 3
          mixer-bench train --threads 1 --steps 10 --breakdown
          mixer-bench train --hidden-size 512 --batch-size 64
          mixer-bench train --copy            (copy attention: a tenth of each source out of vocabulary)
          mixer-bench train --decode [--copy] (incremental decoding steps instead of training steps)
        """
    )

    @Option(help: "Threads of the matrix products and parallel loops.") var threads = 1
    @Option(help: "Timed steps.") var steps = 20
    @Option(help: "Untimed steps first.") var warmup = 3
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize: Int?
    /// `--batch`, the old name of --batch-size (hidden).
    @Option(name: .customLong("batch"), help: .hidden) var batchAlias: Int?
    @Option(help: "Source length.") var sourceLength = 50
    @Option(help: "Target length (tokens per row, </s> included).") var targetLength = 15
    @Option(help: "Source and target vocabulary size.") var vocab = 10_000
    @OptionGroup var shape: ModelShapeArguments
    /// `--size N`, the old option that set the three sizes at once (hidden).
    @Option(name: .customLong("size"), help: .hidden) var size: Int?

    var batch: Int { batchSize ?? batchAlias ?? 32 }
    @Flag(help: "Time each phase (encode, decode, loss, backward, optimizer) separately.") var breakdown = false
    @Flag(help: "Copy attention (pointer-generator): every tenth source token is out of vocabulary, and so is every fifth target token, copied from the source.")
    var copy = false
    @Flag(help: "Time incremental decoding steps (greedy, --target-length steps over the batch) instead of training steps.")
    var decode = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if batchSize != nil && batchAlias != nil { throw ValidationError("--batch-size given twice (--batch is its old name).") }
        if size != nil && [shape.embeddingSize, shape.hiddenSize, shape.encoderHiddenSize].contains(where: { $0 != 256 }) {
            throw ValidationError("--size sets --embedding-size, --hidden-size and --encoder-hidden-size: give one or the others.")
        }
        if batch < 1 || sourceLength < 1 || targetLength < 1 || (size ?? 1) < 1 {
            throw ValidationError("--batch-size, --source-length, --target-length and --size must be positive")
        }
        if vocab < 5 { throw ValidationError("--vocab must be at least 5") }
        if breakdown && (copy || decode) { throw ValidationError("--breakdown times the plain training step: drop --copy and --decode") }
    }

    func run() throws {
        setComputeThreads(threads)
        var config = ModelConfig(sourceVocabSize: vocab, targetVocabSize: vocab)
        config.embeddingSize = size ?? shape.embeddingSize; config.hiddenSize = size ?? shape.hiddenSize
        config.encoderHiddenSize = size ?? shape.encoderHiddenSize
        config.dropout = shape.dropout
        if copy { config.copy = true }
        let model = EncoderDecoder(config: config, seed: 1)
        let adam = Adam(parameters: model.params, learningRate: 0.001)
        adam.zeroesGradients = true  // as the trainer does: the update clears the gradients it reads
        let setupRSS = peakRSSMegabytes()
        var rng = RandomGenerator(seed: 42)
        func ids(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(4 + Int(rng.next() % UInt64(vocab - 4))) } }
        let source = (0..<batch).map { _ in ids(sourceLength) }
        let target = (0..<batch).map { _ in ids(targetLength - 1) + [3] }
        let tokens = batch * targetLength
        // Copy: source position i of row b with i % 10 == 9 is out-of-vocabulary word V + b % 3
        // (three words per row), and target position t with t % 5 == 4 copies row's first one.
        let copySources = (0..<batch).map { b in
            CopySource(ids: source[b].enumerated().map { i, id in i % 10 == 9 ? Int32(vocab + (i / 10) % 3) : id },
                       oovs: (0..<min(3, sourceLength / 10)).map { "oov\(b) \($0)" })
        }
        let copyTargets = target.map { t in t.enumerated().map { i, id in i % 5 == 4 && i + 1 < t.count && sourceLength >= 10 ? Int32(vocab) : id } }
        if decode { return try runDecode(model: model, source: source, copy: copy ? copySources : nil, setupRSS: setupRSS) }

        var total: [Double] = [], phases: [String: [Double]] = [:]
        var loss = 0.0
        var dropoutRNG = RandomGenerator(seed: 1).split("dropout")
        for i in 0..<(warmup + steps) {
            let start = now()
            if breakdown {
                var r = dropoutRNG
                var t0 = now()
                func lap(_ name: String) { let t1 = now(); phases[name, default: []].append(t1 - t0); t0 = t1 }
                let enc = model.encode(source: source, training: true, rng: &r); lap("encode")
                let tr = model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: target), training: true, rng: &r); lap("decode")
                let (l, _, d) = CrossEntropy.evaluate(tr, targets: target); lap("loss")
                d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }; lap("backward")
                adam.update(parameters: model.params, gradients: model.grads); lap("optimizer")
                dropoutRNG = r
                loss = l
            } else if copy {
                loss = CrossEntropy.copyTeacherForcedStep(model, source: source, copy: copySources, target: copyTargets, rng: &dropoutRNG)
                adam.update(parameters: model.params, gradients: model.grads)
            } else {
                loss = CrossEntropy.teacherForcedStep(model, source: source, target: target, rng: &dropoutRNG)
                adam.update(parameters: model.params, gradients: model.grads)
            }
            let ms = now() - start
            if i >= warmup { total.append(ms) } else { phases = [:] }
        }
        guard loss.isFinite else { throw ValidationError("training diverged (loss \(loss))") }
        let stepMs = median(total)
        var fields: [(String, String)] = [
            ("mode", "\"train\""), ("copy", "\(copy)"), ("threads", "\(threads)"), ("steps", "\(steps)"),
            ("step_ms", fmt(stepMs)), ("tokens_per_s", fmt(Double(tokens) / (stepMs / 1000))),
            ("peak_rss_mb", fmt(peakRSSMegabytes())),
            ("setup_rss_mb", fmt(setupRSS)), ("packed_kernel", "\"\(PackedMatrix.kernelName)\""),
            ("loss", fmt(loss)),
        ]
        if breakdown {
            for name in ["encode", "decode", "loss", "backward", "optimizer"] {
                fields.append((name + "_ms", fmt(median(phases[name] ?? [0]))))
            }
        }
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}

extension TrainBench {
    /// `--decode`: the median time of one incremental decoding step (``EncoderDecoder/step(_:input:weights:copy:)``)
    /// over the batch's rows, greedy inputs, --target-length steps per run, --steps runs after
    /// --warmup. Prints one JSON line.
    func runDecode(model: EncoderDecoder, source: [[Int32]], copy: [CopySource]?, setupRSS: Double) throws {
        let weights = model.packedForInference()
        var unused = RandomGenerator(seed: 0)
        var perStep: [Double] = []
        for i in 0..<(warmup + steps) {
            let enc = model.encode(source: source, training: false, rng: &unused, weights: weights)
            var state = model.initialState(enc)
            var input = [Int32](repeating: 2, count: source.count)
            let start = now()
            for _ in 0..<targetLength {
                let (lp, _, next) = model.step(state, input: input, weights: weights, copy: copy)
                let width = lp.count / source.count
                input = (0..<source.count).map { b in
                    var best = 4
                    for j in 4..<width where lp[b * width + j] > lp[b * width + best] { best = j }
                    return Int32(best)
                }
                state = next
            }
            if i >= warmup { perStep.append((now() - start) / Double(targetLength)) }
        }
        let fields: [(String, String)] = [
            ("mode", "\"decode\""), ("copy", "\(copy != nil)"), ("threads", "\(threads)"), ("steps", "\(steps)"),
            ("rows", "\(source.count)"), ("decode_step_ms", fmt(median(perStep))), ("peak_rss_mb", fmt(peakRSSMegabytes())),
            ("setup_rss_mb", fmt(setupRSS)), ("packed_kernel", "\"\(PackedMatrix.kernelName)\""),
        ]
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}

/// Milliseconds on a monotonic clock.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

/// The process's peak resident set size in MB (getrusage's ru_maxrss, KB on Linux).
func peakRSSMegabytes() -> Double {
    var u = rusage()
    #if canImport(Darwin)
    getrusage(RUSAGE_SELF, &u)
    return Double(u.ru_maxrss) / 1_048_576
    #else
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024
    #endif
}
