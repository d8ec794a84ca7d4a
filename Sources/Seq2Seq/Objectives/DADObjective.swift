import Tokenize

/// Scheduled sampling, "data as demonstrator" (DAD; Bengio et al., NeurIPS 2015,
/// [arXiv:1506.03099](https://arxiv.org/abs/1506.03099)): at update i each decoder input is the
/// ground truth with probability ε_i (``ScheduledSampling``), else the model's sample (or its
/// argmax, `--dad-feed`) from the previous step; the loss stays XENT against the ground truth
/// at every step (``CrossEntropy/evaluate(_:targets:)``), backpropagated through the logits of
/// the mixed-input trace (the choices themselves are not differentiated).
///
/// With copy attention (`batch.copy`) the model's input is drawn from (or the argmax of) the
/// mixed distribution over the row's extended vocabulary (``Rollout/mixedDistribution(_:_:row:probs:copy:length:into:)``),
/// an extended id is read as `<unk>` (as in decoding), and the loss is the copy cross-entropy
/// of the reference (``CrossEntropy/evaluateCopy(_:gates:copy:targets:tokens:)``).
///
/// Random streams: one coin per row and step from `sampling`, then (when the coin says
/// "model") one uniform for the sample; dropout from `dropout`.
///
/// Data parallelism (`context.shard`): how many draws a row takes at a step depends only on
/// its coin, not on its probabilities, so each rank replays the coins (and skips the sample
/// draws) of the other ranks' rows in row order from the global target lengths, and draws its
/// own rows' where one process draws them — no communication; the decoder runs the global
/// batch's T steps and the loss is divided by the global batch's N.
struct DADObjective: Objective {
    /// T.
    let steps: Int
    let schedule: ScheduledSampling
    let feed: DADFeed

    func stage(epoch: Int) -> (name: String, s: Int) { ("dad", steps) }

    func sampledFraction(s: Int, globalStep: Int) -> Double? {
        1 - schedule.teacherForcingProbability(step: globalStep)
    }

    /// The forward pass of a step with teacher-forcing probability `eps`: each row's inputs
    /// chosen as described above (with copy attention, `batch.copy`, a model input is drawn from
    /// the mixed distribution over the row's extended vocabulary, its argmax with the `argmax`
    /// feed, and fed as `<unk>` when it is an extended id), from the `dropout` and `sampling`
    /// streams. nil for a data-parallel rank without rows (its streams moved on as the others').
    func trace(_ batch: Batch, model: EncoderDecoder, eps: Double, shard: RowShard?,
               dropout: inout RandomGenerator, sampling: inout RandomGenerator) -> DecoderTrace? {
        let B = batch.count, V = model.config.targetVocabSize
        let T = shard?.globalTargetLength ?? batch.maxTargetLength
        let feed = self.feed
        var drng = dropout, srng = sampling
        defer { dropout = drng; sampling = srng }
        /// The draws of the other ranks' rows `rows` at step t: a coin each, and the sample's
        /// uniform when the coin says "model" (`sample` feed).
        func replay(_ t: Int, _ rows: Range<Int>) {
            for g in rows where t < shard!.globalTargetLengths[g] - 1 {
                if srng.nextUniformDouble() < eps { continue }
                if feed == .sample { srng.skip(1) }
            }
        }
        if B == 0, let shard {
            // A rank without rows: the masks skipped, every row's coins replayed.
            drng.skip(shard.dropoutDraws(model.config, p: model.config.dropout, decoderSteps: T))
            for t in 0..<(T - 1) { replay(t, 0..<shard.globalRows) }
            return nil
        }
        let enc = model.encode(source: batch.sources, training: true, rng: &drng)
        let copy = batch.copy
        var mixed = [Float](repeating: 0, count: V + (copy?.map(\.oovs.count).max() ?? 0))
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B),
                                         nextInputReadingTrace: { t, p, trace in
            if let shard { replay(t, 0..<shard.offset) }
            let ids = (0..<B).map { b -> Int32 in
                let tgt = batch.targets[b]
                guard t < tgt.count - 1 else { return Vocabulary.pad }
                let row = p + b * V
                guard let copy else {
                    if srng.nextUniformDouble() < eps { return tgt[t] }
                    return feed == .argmax ? TokenSampling.argmax(row, V) : TokenSampling.sample(row, V, temperature: 1, &srng)
                }
                // Copy attention: the ground truth or a draw from the mixed distribution, in the
                // row's extended vocabulary; the decoder reads <unk> for an extended id.
                if srng.nextUniformDouble() < eps { return CopySource.decoderInput(tgt[t], vocabularySize: V) }
                let w = mixed.withUnsafeMutableBufferPointer { m in
                    let Vx = Rollout.mixedDistribution(model, trace, row: t * B + b, probs: row, copy: copy[b],
                                                       length: enc.lengths[b], into: m.baseAddress!)
                    return feed == .argmax ? TokenSampling.argmax(m.baseAddress!, Vx)
                                           : TokenSampling.sample(m.baseAddress!, Vx, temperature: 1, &srng)
                }
                return CopySource.decoderInput(w, vocabularySize: V)
            }
            if let shard { replay(t, (shard.offset + shard.rows)..<shard.globalRows) }
            return ids
        }, training: true, rng: &drng)
        return tr
    }

    /// - Complexity: a forward pass with the full softmax trace, O(T·B·V) for the loss, and a
    ///   backward pass (copy attention: O(T·B·(V + S)) more).
    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        let model = context.model
        let shard = context.shard
        let eps = schedule.teacherForcingProbability(step: context.globalStep)
        guard let tr = trace(batch, model: model, eps: eps, shard: shard, dropout: &context.dropout, sampling: &context.sampling)
        else { return StepStatistics() }
        let (loss, n): (Double, Int)
        // Coverage (docs/training.md, "Coverage"): the loss (λ/N)·Σ min(a, c) on every reference
        // position, as in XENT; the inputs read are the dad inputs, so a and c are those of the
        // sequence the decoder was fed. nil for a model without coverage.
        let lambda = Float(context.options.effectiveCoverageLossWeight)
        if let copy = batch.copy {
            // Copy attention: the mixed distribution's cross-entropy on the reference.
            let r = CrossEntropy.evaluateCopy(tr, gates: model.copyGates(tr), copy: copy, targets: batch.targets,
                                              tokens: shard?.globalTargetTokens, labelSmoothing: Float(context.options.labelSmoothing))
            let coverage = model.coveragePenalty(tr, targets: batch.targets, lambda: lambda, tokens: r.tokens)
            r.dLogits.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, copy: r.copy, coverage: coverage) }
            (loss, n) = (r.loss, r.tokens)
        } else {
            let (l, count, d) = CrossEntropy.evaluate(tr, targets: batch.targets, labelSmoothing: Float(context.options.labelSmoothing),
                                                      tokens: shard?.globalTargetTokens)
            let coverage = model.coveragePenalty(tr, targets: batch.targets, lambda: lambda, tokens: count)
            d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!, coverage: coverage) }
            (loss, n) = (l, count)
        }
        var st = StepStatistics()
        st.xentLoss = loss
        st.xentTokens = n
        return st
    }
}
