import Tokenize

/// Scheduled sampling, "data as demonstrator" (DAD; Bengio et al., NeurIPS 2015,
/// [arXiv:1506.03099](https://arxiv.org/abs/1506.03099)): at update i each decoder input is the
/// ground truth with probability ε_i (``ScheduledSampling``), else the model's sample (or its
/// argmax, `--dad-feed`) from the previous step; the loss stays XENT against the ground truth
/// at every step (``CrossEntropy/evaluate(_:targets:)``), backpropagated through the logits of
/// the mixed-input trace (the choices themselves are not differentiated).
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

    /// - Complexity: a forward pass with the full softmax trace, O(T·B·V) for the loss, and a
    ///   backward pass.
    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        let model = context.model
        let B = batch.count, V = model.config.targetVocabSize
        let shard = context.shard
        let T = shard?.globalTargetLength ?? batch.maxTargetLength
        let eps = schedule.teacherForcingProbability(step: context.globalStep)
        let feed = self.feed
        var drng = context.dropout, srng = context.sampling
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
            context.dropout = drng
            context.sampling = srng
            return StepStatistics()
        }
        let enc = model.encode(source: batch.sources, training: true, rng: &drng)
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B), nextInput: { t, p in
            if let shard { replay(t, 0..<shard.offset) }
            let ids = (0..<B).map { b -> Int32 in
                let tgt = batch.targets[b]
                guard t < tgt.count - 1 else { return Vocabulary.pad }
                if srng.nextUniformDouble() < eps { return tgt[t] }
                let row = p + b * V
                return feed == .argmax ? TokenSampling.argmax(row, V) : TokenSampling.sample(row, V, temperature: 1, &srng)
            }
            if let shard { replay(t, (shard.offset + shard.rows)..<shard.globalRows) }
            return ids
        }, training: true, rng: &drng)
        context.dropout = drng
        context.sampling = srng
        let (loss, n, d) = CrossEntropy.evaluate(tr, targets: batch.targets, labelSmoothing: Float(context.options.labelSmoothing),
                                                 tokens: shard?.globalTargetTokens)
        d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
        var st = StepStatistics()
        st.xentLoss = loss
        st.xentTokens = n
        return st
    }
}
