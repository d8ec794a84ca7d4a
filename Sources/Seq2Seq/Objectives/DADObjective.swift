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
        let T = batch.maxTargetLength
        let eps = schedule.teacherForcingProbability(step: context.globalStep)
        let feed = self.feed
        var drng = context.dropout, srng = context.sampling
        let enc = model.encode(source: batch.sources, training: true, rng: &drng)
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B), nextInput: { t, p in
            (0..<B).map { b -> Int32 in
                let tgt = batch.targets[b]
                guard t < tgt.count - 1 else { return Vocabulary.pad }
                if srng.nextUniformDouble() < eps { return tgt[t] }
                let row = p + b * V
                return feed == .argmax ? TokenSampling.argmax(row, V) : TokenSampling.sample(row, V, temperature: 1, &srng)
            }
        }, training: true, rng: &drng)
        context.dropout = drng
        context.sampling = srng
        let (loss, n, d) = CrossEntropy.evaluate(tr, targets: batch.targets, labelSmoothing: Float(context.options.labelSmoothing))
        d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
        var st = StepStatistics()
        st.xentLoss = loss
        st.xentTokens = n
        return st
    }
}
