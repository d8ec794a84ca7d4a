import Foundation
import Metrics
import Tokenize

/// A decoder run whose steps t < s read the ground truth and whose later steps feed the model's
/// own samples (MIXER's mixed stages, SCST and pure REINFORCE at s = 0), and what it produced:
/// `tokens[t][b]` (the output of step t in row b), `active[t][b]` (whether row b produced step
/// t: a row stops after its `</s>`, later steps are inactive and padded), `ended[b]` (whether
/// row b emitted `</s>`), and the trace for the backward pass.
///
/// Shared by every objective that samples: candidates for minimum risk training are rollouts
/// too (several per source, as SCST's `k` samples are).
struct Rollout {
    var tokens: [[Int32]]
    var active: [[Bool]]
    var ended: [Bool]
    var trace: DecoderTrace

    /// Row b's output ids up to (not including) `</s>`.
    func output(_ b: Int) -> [Int32] {
        var o: [Int32] = []
        for t in 0..<tokens.count where active[t][b] {
            if tokens[t][b] == Vocabulary.eos { break }
            o.append(tokens[t][b])
        }
        return o
    }

    /// Runs the decoder of `model` for `steps` (T) steps from `<s>`: steps t < s output the
    /// ground truth y_t (and feed it next); steps t ≥ s output a sample w_t ~ p_t^(1/τ)
    /// (``TokenSampling/sample(_:_:temperature:_:)``, τ = `temperature`) that is fed next.
    ///
    /// Random streams: dropout masks come from `dropout` (decoder steps in order, after the
    /// encoder's that the caller drew), samples from `sampling`, one uniform per sampled token,
    /// rows in order within a step. With `shard` (the rows are one rank's of a global batch),
    /// each step first gathers every rank's count of rows that draw (one `MPI_Allgather` in
    /// `group`) and skips the draws of the rows before and after the shard's, so each row gets
    /// the uniform it gets in one process (``RowShard``).
    /// - Complexity: the forward pass, O(T·B·(… + V·H)), plus O(V) per sampled token.
    init(_ model: EncoderDecoder, _ enc: EncoderOutput, targets: [[Int32]], s: Int, steps T: Int, temperature: Double,
         dropout: inout RandomGenerator, sampling: inout RandomGenerator, shard: RowShard? = nil, group: ProcessGroup = .single) {
        let B = targets.count, V = model.config.targetVocabSize
        var tokens = [[Int32]](repeating: [Int32](repeating: Vocabulary.pad, count: B), count: T)
        var active = [[Bool]](repeating: [Bool](repeating: false, count: B), count: T)
        var done = [Bool](repeating: false, count: B)
        var srng = sampling
        func choose(_ t: Int, _ p: UnsafePointer<Float>) {
            var after = 0
            if shard != nil {
                let mine = (0..<B).reduce(0) { n, b in n + (!done[b] && !(t < s && t < targets[b].count) ? 1 : 0) }
                let counts = group.gather(mine)
                srng.skip(counts[..<group.rank].reduce(0, +))
                after = counts[(group.rank + 1)...].reduce(0, +)
            }
            defer { srng.skip(after) }
            for b in 0..<B where !done[b] {
                active[t][b] = true
                let tok: Int32
                if t < s && t < targets[b].count { tok = targets[b][t] }
                else { tok = TokenSampling.sample(p + b * V, V, temperature: temperature, &srng) }
                tokens[t][b] = tok
                if tok == Vocabulary.eos { done[b] = true }
            }
        }
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B), nextInput: { t, p in
            choose(t, p)
            return tokens[t]
        }, training: true, rng: &dropout)
        choose(T - 1, tr.probs.pointer + (T - 1) * B * V)
        sampling = srng
        self.init(tokens: tokens, active: active, ended: done, trace: tr)
    }

    init(tokens: [[Int32]], active: [[Bool]], ended: [Bool], trace: DecoderTrace) {
        self.tokens = tokens
        self.active = active
        self.ended = ended
        self.trace = trace
    }
}

extension Rollout {
    /// k whole sampled sequences per source of `batch` (s = 0; source i's are rows
    /// i·k ..< (i+1)·k), with each row's target and reward: SCST's samples and minimum risk
    /// training's candidates. Dropout masks (encoder, then decoder steps) and samples come from
    /// the context's streams, in that order.
    /// - Complexity: the encoder and decoder forward over B·k rows, O(B·k) rewards.
    static func samples(_ batch: Batch, perSource k: Int, steps: Int, temperature: Double,
                        _ context: inout ObjectiveContext) -> (rollout: Rollout, targets: [[Int32]], reward: [Float]) {
        let model = context.model
        let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
        let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
        let enc = model.encode(source: sources, training: true, rng: &context.dropout)
        let r = Rollout(model, enc, targets: targets, s: 0, steps: steps, temperature: temperature,
                        dropout: &context.dropout, sampling: &context.sampling)
        return (r, targets, context.reward.rewards(r, targets: targets))
    }
}

/// The sequence-level reward r(output, target) of REINFORCE-style objectives: sentence BLEU or
/// ROUGE on token ids by `Metrics.ReferenceTable` (the scorer's n-gram code), `</s>`, `<pad>`,
/// `<unk>` treated as `Metrics.RewardTokens` documents (nothing after the first `</s>` counts,
/// `<unk>` never matches). Given at the end of the sequence.
struct SequenceReward {
    let metric: RewardMetric

    /// r of `output` (ids without `</s>`) against `target` (ids, `</s>` last).
    /// - Complexity: O(|output| + |target|) n-gram counting.
    func callAsFunction(_ output: [Int32], target: [Int32]) -> Float {
        let special = RewardTokens(eos: Vocabulary.eos, pad: Vocabulary.pad, unknown: Vocabulary.unk)
        return Float(ReferenceTable(references: [target], metric: metric, tokens: special).reward(output))
    }

    /// Each row's reward: r(rollout.output(b), targets[b]).
    func rewards(_ r: Rollout, targets: [[Int32]]) -> [Float] {
        targets.indices.map { b in self(r.output(b), target: targets[b]) }
    }
}

/// Drawing a token from a probability row, as every sampling objective does.
enum TokenSampling {
    /// The most likely id of a probability row (the lowest on ties; the decoders' argmax).
    static func argmax(_ p: UnsafePointer<Float>, _ V: Int) -> Int32 { Int32(Constraints.argmax(p, V)) }

    /// A draw from p^(1/τ) (renormalised), by inverse CDF in Double, with one uniform from `rng`.
    /// - Complexity: O(V).
    static func sample(_ p: UnsafePointer<Float>, _ V: Int, temperature: Double, _ rng: inout RandomGenerator) -> Int32 {
        let u = rng.nextUniformDouble()
        if temperature == 1 {
            var total = 0.0
            for j in 0..<V { total += Double(p[j]) }
            let target = u * total
            var acc = 0.0
            for j in 0..<V {
                acc += Double(p[j])
                if acc > target { return Int32(j) }
            }
            return Int32(V - 1)
        }
        let inv = 1 / temperature
        var total = 0.0
        for j in 0..<V where p[j] > 0 { total += Foundation.pow(Double(p[j]), inv) }
        let target = u * total
        var acc = 0.0
        for j in 0..<V where p[j] > 0 {
            acc += Foundation.pow(Double(p[j]), inv)
            if acc > target { return Int32(j) }
        }
        return Int32(V - 1)
    }
}
