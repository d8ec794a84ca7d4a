/// MIXER (Ranzato et al., ICLR 2016, Algorithm 1, [arXiv:1511.06732](https://arxiv.org/abs/1511.06732)):
/// ``MixerSchedule`` gives each epoch's s; the first s output steps are teacher-forced XENT and
/// the rest feed the model's own samples (``Rollout``) trained with REINFORCE against the
/// sequence reward, minus learned per-step baselines b_t (``BaselineRegressors``: detached
/// linear regressors on o_t, trained by MSE in the same step). The gradient at the logits is
/// ``PolicyGradient``'s, weighted by ``MixerLossWeighting``.
///
/// When s ≥ the batch's longest target no step is sampled and the step is XENT's lean path
/// (``XENTObjective/addGradient(_:scale:_:_:)``), scaled by B_tokens / B under the `sequence`
/// weighting so that XENT and REINFORCE stages give gradients of one magnitude (the paper's
/// per-sequence sum); the `reference` weighting keeps the token mean.
struct MIXERObjective: Objective {
    /// T.
    let steps: Int
    let schedule: MixerSchedule
    let weighting: MixerLossWeighting
    /// τ of the samples.
    let temperature: Double

    func stage(epoch: Int) -> (name: String, s: Int) {
        let s = schedule.xentSteps(epoch: epoch)
        return (s >= steps ? "xent" : (s == 0 ? "reinforce" : "mixer"), s)
    }

    func sampledFraction(s: Int, globalStep: Int) -> Double? { Double(max(0, steps - s)) / Double(steps) }

    var usesBaselineRegressors: Bool { true }

    /// - Complexity: a forward pass with the full softmax trace, O(T·B·(V + H)) for the
    ///   rewards' inputs, baselines and logit gradient, and a backward pass.
    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        var st = StepStatistics()
        let s = context.s
        if s >= batch.maxTargetLength {
            let scale = weighting == .sequence ? Float(batch.targetTokens) / Float(batch.count) : 1
            XENTObjective.addGradient(batch, scale: scale, &context, &st)
            return st
        }
        guard let baseline = context.baseline else { preconditionFailure("MIXER needs baseline regressors") }
        let model = context.model
        let B = batch.count, H = model.config.hiddenSize, T = steps
        let enc = model.encode(source: batch.sources, training: true, rng: &context.dropout)
        let r = Rollout(model, enc, targets: batch.targets, s: s, steps: T, temperature: temperature,
                        dropout: &context.dropout, sampling: &context.sampling)
        let reward = context.reward.rewards(r, targets: batch.targets)
        // Baseline predictions b_t for every REINFORCE step (t ≥ s), from the detached o_t.
        var b = [[Float]](repeating: [Float](repeating: 0, count: B), count: T)
        var mask = [Float](repeating: 0, count: B)
        for t in s..<T {
            let x = r.trace.outputs.pointer + t * B * H
            b[t].withUnsafeMutableBufferPointer { baseline.predict(step: t, x: x, rows: B, out: $0.baseAddress!) }
        }
        var nRL = 0
        for t in s..<T { for row in 0..<B where r.active[t][row] { nRL += 1 } }
        for t in s..<T {
            for row in 0..<B { mask[row] = r.active[t][row] ? 1 : 0 }
            let x = r.trace.outputs.pointer + t * B * H
            st.baselineSSE += baseline.accumulateGradient(step: t, x: x, rows: B, prediction: b[t], reward: reward,
                                                          mask: mask, scale: 1 / Float(max(nRL, 1)))
        }
        st.baselineCount = nRL
        PolicyGradient.backward(model, r, s: s, reward: reward, baseline: { t, row in b[t][row] }, weighting: weighting,
                                labelSmoothing: Float(context.options.labelSmoothing), &st)
        return st
    }
}
