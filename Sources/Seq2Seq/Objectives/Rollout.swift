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
    /// With copy attention, each row's ``CopySource``: `tokens` are then ids of the row's
    /// extended vocabulary and the gradient is the mixed distribution's (``PolicyGradient``).
    var copy: [CopySource]? = nil

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
    ///
    /// With `copy` (a model with copy attention; `targets` in each row's extended vocabulary),
    /// a sampled w_t is drawn from the mixed distribution of See et al. (``CopySource``),
    ///
    ///     P_t(w) = g·p_t(w)·[w < V] + (1 − g)·Σ_{i: x_i = w} a_{t,i}      over V + |oovs_b| ids,
    ///
    /// g = p_gen of the step (``EncoderDecoder/copyGateRow(_:_:)``, the bits ``EncoderDecoder/copyGates(_:)``
    /// gives), with the same one uniform per token; an extended id is fed back as `<unk>`
    /// (``CopySource/decoderInput(_:vocabularySize:)``), as in decoding.
    /// - Complexity: the forward pass, O(T·B·(… + V·H)), plus O(V) per sampled token (copy:
    ///   O(V + |oovs| + S + D + H + E)).
    init(_ model: EncoderDecoder, _ enc: EncoderOutput, targets: [[Int32]], s: Int, steps T: Int, temperature: Double,
         dropout: inout RandomGenerator, sampling: inout RandomGenerator, shard: RowShard? = nil, group: ProcessGroup = .single,
         copy: [CopySource]? = nil) {
        let B = targets.count, V = model.config.targetVocabSize
        precondition(copy == nil || (copy!.count == B && model.config.copyEnabled), "copy sources need a model with copy attention and one per row")
        var mixed = [Float](repeating: 0, count: V + (copy?.map(\.oovs.count).max() ?? 0))
        var tokens = [[Int32]](repeating: [Int32](repeating: Vocabulary.pad, count: B), count: T)
        var active = [[Bool]](repeating: [Bool](repeating: false, count: B), count: T)
        var done = [Bool](repeating: false, count: B)
        var srng = sampling
        func choose(_ t: Int, _ p: UnsafePointer<Float>, _ tr: DecoderTrace) {
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
                else if let copy {
                    tok = mixed.withUnsafeMutableBufferPointer { m in
                        let Vx = Self.mixedDistribution(model, tr, row: t * B + b, probs: p + b * V, copy: copy[b],
                                                        length: enc.lengths[b], into: m.baseAddress!)
                        return TokenSampling.sample(m.baseAddress!, Vx, temperature: temperature, &srng)
                    }
                }
                else { tok = TokenSampling.sample(p + b * V, V, temperature: temperature, &srng) }
                tokens[t][b] = tok
                if tok == Vocabulary.eos { done[b] = true }
            }
        }
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B),
                                         nextInputReadingTrace: { t, p, trace in
            choose(t, p, trace)
            return copy == nil ? tokens[t] : tokens[t].map { CopySource.decoderInput($0, vocabularySize: V) }
        }, training: true, rng: &dropout)
        choose(T - 1, tr.probs.pointer + (T - 1) * B * V, tr)
        sampling = srng
        self.init(tokens: tokens, active: active, ended: done, trace: tr)
        self.copy = copy
    }

    /// A teacher-forced run over given outputs (`sequences[b]`: ids, `</s>` last when the output
    /// ended; each at least one id): step t reads `sequences[b][t − 1]` (`<s>` at t = 0) and
    /// "produces" `sequences[b][t]`; rows stop after their last id. Minimum risk training scores
    /// beam candidates and references with it. Dropout masks come from `dropout`.
    /// With `copy` (a model with copy attention, one ``CopySource`` per row), the sequences are
    /// ids of each row's extended vocabulary and an extended id is read back as `<unk>`
    /// (``CopySource/decoderInput(_:vocabularySize:)``), as in decoding.
    /// - Complexity: the teacher-forced forward pass over max |sequence| steps.
    init(_ model: EncoderDecoder, _ enc: EncoderOutput, forced sequences: [[Int32]], dropout: inout RandomGenerator,
         copy: [CopySource]? = nil) {
        precondition(sequences.allSatisfy { !$0.isEmpty }, "A forced rollout needs at least one id per row")
        precondition(copy == nil || (copy!.count == sequences.count && model.config.copyEnabled),
                     "copy sources need a model with copy attention and one per row")
        let B = sequences.count, T = max(1, sequences.map(\.count).max() ?? 1)
        let tokens = (0..<T).map { t in sequences.map { t < $0.count ? $0[t] : Vocabulary.pad } }
        let active = (0..<T).map { t in sequences.map { t < $0.count } }
        let V = model.config.targetVocabSize
        let read = copy == nil ? sequences : sequences.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } }
        let trace = model.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: read),
                                            training: true, rng: &dropout)
        precondition(trace.steps == T && B == enc.lengths.count, "forced rollout: \(trace.steps) steps for \(T)")
        self.init(tokens: tokens, active: active, ended: sequences.map { $0.last == Vocabulary.eos }, trace: trace)
        self.copy = copy
    }

    /// Copy attention's mixed distribution at row `r` (= t·B + b) of a trace filled as far as
    /// step t, written into `m`:
    ///
    ///     m[w] = g·p(w)·[w < V] + (1 − g)·Σ_{i < length: x_i = w} a_{r,i}      w < V + |oovs|
    ///
    /// with g = p_gen of the row (``EncoderDecoder/copyGateRow(_:_:)``), p the row's softmax
    /// (`probs`, V values), a its attention weights and x = `copy.ids`.
    /// - Returns: the row's extended vocabulary size V + |oovs|.
    /// - Complexity: O(V + |oovs| + length + D + H + E).
    static func mixedDistribution(_ model: EncoderDecoder, _ tr: DecoderTrace, row r: Int, probs p: UnsafePointer<Float>,
                                  copy: CopySource, length: Int, into m: UnsafeMutablePointer<Float>) -> Int {
        let V = model.config.targetVocabSize, S = tr.encoder.sourceLength
        let DH = model.config.memorySize + model.config.hiddenSize, I = model.decoderInputSize
        let g = model.copyGateRow(tr.ch.pointer + r * DH, tr.x.pointer + r * I)
        let a = tr.attention.pointer + r * S, ids = copy.ids, Vx = V + copy.oovs.count
        for j in 0..<V { m[j] = g * p[j] }
        for j in V..<Vx { m[j] = 0 }
        for i in 0..<length { m[Int(ids[i])] += (1 - g) * a[i] }
        return Vx
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
    /// the context's streams, in that order. Under data parallelism (`context.shard`: `batch` is
    /// one rank's sources) the rows are the shard of the global B·k rows
    /// (``RowShard/repeated(_:)``), each drawing its masks and samples where one process does;
    /// a rank without rows calls ``skipSamples(perSource:steps:_:)`` instead. With copy attention
    /// (`batch.copy`) the samples are drawn from the mixed distribution, in each row's extended
    /// vocabulary.
    /// - Complexity: the encoder and decoder forward over B·k rows, O(B·k) rewards.
    static func samples(_ batch: Batch, perSource k: Int, steps: Int, temperature: Double,
                        _ context: inout ObjectiveContext) -> (rollout: Rollout, targets: [[Int32]], reward: [Float]) {
        let model = context.model
        let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
        let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
        let copy = batch.copy.map { c in c.flatMap { Array(repeating: $0, count: k) } }
        let shard = context.shard?.repeated(k), outer = model.dropoutShard
        if let shard { model.dropoutShard = shard }
        defer { model.dropoutShard = outer }
        let enc = model.encode(source: sources, training: true, rng: &context.dropout)
        let r = Rollout(model, enc, targets: targets, s: 0, steps: steps, temperature: temperature,
                        dropout: &context.dropout, sampling: &context.sampling, shard: shard, group: context.group,
                        copy: copy)
        return (r, targets, context.reward.rewards(r, targets: targets))
    }

    /// What ``samples(_:perSource:steps:temperature:_:)`` does to the streams and the group for
    /// a rank with no rows in the global batch: the dropout masks' draws skipped, one gather per
    /// decoder step (the other ranks' sampling rows skipped).
    static func skipSamples(perSource k: Int, steps: Int, _ context: inout ObjectiveContext) {
        guard let shard = context.shard?.repeated(k) else { return }
        let config = context.model.config
        context.dropout.skip(shard.dropoutDraws(config, p: config.dropout, decoderSteps: steps))
        for _ in 0..<steps { context.sampling.skip(context.group.gather(0).reduce(0, +)) }
    }
}

/// The sequence-level reward r(output, target) of REINFORCE-style objectives: sentence BLEU or
/// ROUGE on token ids by `Metrics.ReferenceTable` (the scorer's n-gram code), `<pad>` dropped,
/// `<unk>` never matching (`Metrics.RewardTokens`). Given at the end of the sequence.
///
/// Where the output ends (`--reward-eos`, ``RewardEOS``):
///
/// - `countsEOS` (`count`, the default): `</s>` is one more token of both sides. The reference
///   is its words and `</s>`; an output that emitted `</s>` is scored on exactly what it emitted
///   up to and including it, so one that stops early or runs on loses the n-grams that end with
///   `</s>` where the reference's do, and one that ends where the reference ends gains them
///   (Rennie et al.'s SCST code scores sequences with their end token). An output cut at the
///   length limit T without `</s>` is scored on its T tokens with no `</s>` to match: below the
///   same words ended properly, not zero (a long, mostly right output keeps its matches).
/// - otherwise (`ignore`, the behaviour before the option): the words before `</s>` on both
///   sides; an output cut at T scores as if it had ended there.
struct SequenceReward {
    let metric: RewardMetric
    /// Whether `</s>` counts as a token (``RewardEOS/count``; word runs).
    var countsEOS = false
    /// A subword run's pieces read as words (``RewardWords``): the reward is then counted on
    /// the words the pieces spell and equals `score --sentence-level` on them; `</s>` is no word
    /// there, so `--reward-eos` does not apply to subword runs.
    var words: RewardWords? = nil

    /// The reward of `options` (`--reward`, `--reward-eos`).
    init(_ options: TrainerOptions, words: RewardWords? = nil) {
        self.init(metric: options.rewardMetric, countsEOS: options.rewardEOS == .count, words: words)
    }

    init(metric: RewardMetric, countsEOS: Bool = false, words: RewardWords? = nil) {
        self.metric = metric
        self.countsEOS = countsEOS
        self.words = words
    }

    /// r of `output` (ids without `</s>`; `ended`: it emitted `</s>` after them) against
    /// `target` (ids, `</s>` last). `copy`: the row's ``CopySource`` with copy attention; a
    /// subword run reads its extended ids as the copied pieces (``RewardWords``), a word run
    /// compares extended ids as they are (both sides are in the row's extended vocabulary).
    /// - Complexity: O(|output| + |target|) n-gram counting.
    func callAsFunction(_ output: [Int32], ended: Bool = false, target: [Int32], copy: CopySource? = nil) -> Float {
        if let words { return Float(words.reward(output, target: target, metric: metric, extra: copy?.oovs ?? [])) }
        if countsEOS {
            let special = RewardTokens(eos: nil, pad: Vocabulary.pad, unknown: Vocabulary.unk)
            var reference = target
            if let end = reference.firstIndex(of: Vocabulary.eos) { reference.removeSubrange((end + 1)...) }
            else { reference.append(Vocabulary.eos) }
            let table = ReferenceTable(references: [reference], metric: metric, tokens: special)
            return Float(table.reward(ended ? output + [Vocabulary.eos] : output))
        }
        let special = RewardTokens(eos: Vocabulary.eos, pad: Vocabulary.pad, unknown: Vocabulary.unk)
        return Float(ReferenceTable(references: [target], metric: metric, tokens: special).reward(output))
    }

    /// Each row's reward: r(rollout.output(b), ended, targets[b]) (with the row's copy source).
    func rewards(_ r: Rollout, targets: [[Int32]]) -> [Float] {
        targets.indices.map { b in self(r.output(b), ended: r.ended[b], target: targets[b], copy: r.copy?[b]) }
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
