import ArgumentParser
import Foundation
import MixerOptions
import Seq2Seq

/// `mixer-bench allreduce`: under `mpirun -np N`, times the one `MPI_Allreduce` of a
/// data-parallel training step (every gradient of the model, `ProcessGroup.sum`) and, for
/// comparison, the Adam update that every rank then runs on the whole model; then the
/// reduction training makes (`GradientReduction`: embedding tables by their non-zero rows).
struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time the gradient allreduce of a data-parallel step (run it under mpirun).",
        discussion: """
        The gradient buffer of the model with these options (default: the reference \
        configuration, vocabularies 10,000/10,000, 7.9 M parameters) is summed over the ranks \
        with one MPI_Allreduce, STEPS times after WARMUP untimed ones. Rank 0 prints one JSON \
        line: ranks, floats, median ms, the algorithm bandwidth (bytes / time) and the bus \
        bandwidth (2(N−1)/N · bytes / time, NCCL's convention), the median ms of one Adam \
        update of the same parameters on one thread, and the median ms of the reduction that \
        training makes (rows_ms: the embedding tables by the union of their non-zero rows, with \
        each rank's tables non-zero in the rows of a reference batch: 1,600 source and 480 \
        target ids drawn log-uniformly, as word frequencies fall).

        Example:
          mpirun --oversubscribe -np 2 mixer-bench allreduce --steps 20
        """
    )

    @Option(help: "Timed allreduces.") var steps = 20
    @Option(help: "Untimed allreduces first.") var warmup = 3
    @Option(help: "Source and target vocabulary size.") var vocab = 10_000
    @OptionGroup var shape: ModelShapeArguments

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if vocab < 5 { throw ValidationError("--vocab must be at least 5") }
    }

    func run() throws {
        let group = try ProcessGroup.join()
        setComputeThreads(1)
        var config = ModelConfig(sourceVocabSize: vocab, targetVocabSize: vocab)
        config.embeddingSize = shape.embeddingSize; config.hiddenSize = shape.hiddenSize
        config.encoderHiddenSize = shape.encoderHiddenSize
        let model = EncoderDecoder(config: config, seed: 1)
        let n = model.grads.count
        for i in 0..<n { model.grads.storage[i] = Float(i % 7) * 1e-3 }
        // The tables as a step leaves them: non-zero in the rows of one batch's ids, which
        // differ between ranks (log-uniform ids: frequent words are drawn more often).
        var ids = RandomGenerator(seed: 11 + UInt64(group.rank))
        for (name, draws) in [("encoder.embedding.weight", 1600), ("decoder.embedding.weight", 480)] {
            guard let e = model.grads.entry(name) else { continue }
            let rows = e.shape[0], width = e.shape[1], t = model.grads.view(e)
            t.update(repeating: 0, count: e.count)
            for _ in 0..<draws {
                let r = min(rows - 1, Int(Foundation.pow(Double(rows), Double(ids.nextUniform()))) - 1)
                for j in 0..<width { t[r * width + j] = 1e-3 }
            }
        }
        // Dense and by rows alternately, so that a change in the machine's load hits both alike
        // (each sum multiplies the values by N; what they are does not change the time).
        let reduction = GradientReduction(model.grads)
        var times: [Double] = [], rowTimes: [Double] = []
        for i in 0..<(warmup + steps) {
            var t0 = now()
            group.sum(model.grads.storage, count: n)
            if i >= warmup { times.append(now() - t0) }
            t0 = now()
            reduction.sum(model.grads, over: group)
            if i >= warmup { rowTimes.append(now() - t0) }
        }
        let adam = Adam(parameters: model.params, learningRate: 0.001)
        var adamTimes: [Double] = []
        for i in 0..<(warmup + steps) {
            let t0 = now()
            adam.update(parameters: model.params, gradients: model.grads)
            if i >= warmup { adamTimes.append(now() - t0) }
        }
        let ms = median(times), bytes = Double(n * MemoryLayout<Float>.size)
        let algorithm = bytes / (ms / 1000) / 1e9
        let bus = group.size > 1 ? algorithm * 2 * Double(group.size - 1) / Double(group.size) : 0
        if group.isWriter {
            print("{\"mode\": \"allreduce\", \"ranks\": \(group.size), \"floats\": \(n), \"allreduce_ms\": \(fmt(ms)), "
                  + "\"algorithm_GBps\": \(fmt(algorithm)), \"bus_GBps\": \(fmt(bus)), \"adam_ms\": \(fmt(median(adamTimes))), "
                  + "\"rows_ms\": \(fmt(median(rowTimes)))}")
        }
        group.finalize()
    }
}
