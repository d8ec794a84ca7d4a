/// Cross-entropy with teacher forcing (XENT): every step reads the ground truth y_{t−1} and the
/// loss is −(1/N) Σ log p_t(y_t) over the batch's N target tokens (``CrossEntropy``), computed
/// on the lean path (the output layer in blocks of rows, no [T, B, V] trace).
struct XENTObjective: Objective {
    /// T (the stage's s: every step teacher-forced).
    let steps: Int

    func stage(epoch: Int) -> (name: String, s: Int) { ("xent", steps) }

    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        var st = StepStatistics()
        Self.addGradient(batch, scale: 1, &context, &st)
        return st
    }

    /// The XENT gradient of `batch` times `scale`, added into the model's gradients (which must
    /// hold zeros before: the gradient is linear in the loss, so a `scale` ≠ 1 multiplies every
    /// gradient afterwards). MIXER's XENT stages call it with the paper's per-sequence scale.
    /// - Complexity: one forward and backward pass, plus O(parameters) when `scale` ≠ 1.
    static func addGradient(_ batch: Batch, scale: Float, _ context: inout ObjectiveContext, _ st: inout StepStatistics) {
        let model = context.model
        if batch.count == 0, let shard = context.shard {
            // A rank without rows in a short batch: no gradient, the stream moves on as the others'.
            context.dropout.skip(shard.dropoutDraws(model.config, p: model.config.dropout, decoderSteps: shard.globalTargetLength))
            return
        }
        let loss: Double
        if let copy = batch.copy {
            // Copy attention: the mixed distribution's cross-entropy (smoothed over the extended vocabulary).
            loss = CrossEntropy.copyTeacherForcedStep(model, source: batch.sources, copy: copy, target: batch.targets,
                                                      rng: &context.dropout, tokens: context.shard?.globalTargetTokens,
                                                      labelSmoothing: Float(context.options.labelSmoothing),
                                                      coverageLossWeight: Float(context.options.effectiveCoverageLossWeight))
        } else {
            loss = CrossEntropy.teacherForcedStep(model, source: batch.sources, target: batch.targets, rng: &context.dropout,
                                                  labelSmoothing: Float(context.options.labelSmoothing),
                                                  tokens: context.shard?.globalTargetTokens,
                                                  coverageLossWeight: Float(context.options.effectiveCoverageLossWeight))
        }
        if scale != 1 {
            let g = model.grads.storage
            for i in 0..<model.grads.count { g[i] *= scale }
        }
        st.xentLoss = loss
        st.xentTokens = batch.targetTokens
    }
}
