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
///
/// Data parallelism (`context.shard`): the batch is one rank's rows of a global batch; the
/// XENT fallback, the weights (B, N_x, mixed) and the baselines' 1/N_RL are the global batch's
/// (one `MPI_Allreduce` of three counts after the rollout), samples and dropout masks are the
/// ones each row gets in one process (``Rollout``, ``RowShard``). Rewards and baselines are per
/// row, so the REINFORCE estimate is the one-process estimate, summed in another order.
///
/// Copy attention (`batch.copy`, See et al. 2017): the samples come from the mixed
/// distribution P_t (``Rollout``), the gradient is that of −log P_t weighted as above
/// (``PolicyGradient/copyGradient(_:_:s:reward:baseline:weighting:totals:_:)``; the XENT prefix
/// is copy XENT), and the reward compares extended ids: a target's rare word that occurs in
/// the source carries the id of the copied word, so copying it earns its n-gram credit. The
/// baselines read the same o_t as without copy.
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
        let shard = context.shard
        if s >= (shard?.globalTargetLength ?? batch.maxTargetLength) {
            let scale = weighting == .sequence
                ? (shard.map { Float($0.globalTargetTokens) / Float($0.globalRows) } ?? Float(batch.targetTokens) / Float(batch.count)) : 1
            XENTObjective.addGradient(batch, scale: scale, &context, &st)
            return st
        }
        guard let baseline = context.baseline else { preconditionFailure("MIXER needs baseline regressors") }
        let model = context.model
        let B = batch.count, H = model.config.hiddenSize, T = steps
        if B == 0, let shard {
            // A rank without rows in a short batch: the same collectives as the others (one
            // gather per decoder step, the counts' sum), no gradient, the streams moved on.
            context.dropout.skip(shard.dropoutDraws(model.config, p: model.config.dropout, decoderSteps: T))
            for _ in 0..<T { context.sampling.skip(context.group.gather(0).reduce(0, +)) }
            var counts = [0.0, 0.0, 0.0]
            context.group.sum(&counts)
            return st
        }
        let enc = model.encode(source: batch.sources, training: true, rng: &context.dropout)
        let r = Rollout(model, enc, targets: batch.targets, s: s, steps: T, temperature: temperature,
                        dropout: &context.dropout, sampling: &context.sampling, shard: shard, group: context.group,
                        copy: batch.copy)
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
        // The global batch's counts: sampled steps (the baselines' 1/N_RL), B, N_x and mixed.
        var totals: BatchTotals? = nil
        var nRLAll = nRL
        if shard != nil {
            var nX = 0, rlRows = 0
            for row in 0..<B {
                nX += (0..<min(s, T)).reduce(0) { $0 + (r.active[$1][row] ? 1 : 0) }
                if (s..<T).contains(where: { r.active[$0][row] }) { rlRows += 1 }
            }
            var counts = [Double(nRL), Double(nX), Double(rlRows)]
            context.group.sum(&counts)
            nRLAll = Int(counts[0])
            totals = BatchTotals(rows: shard!.globalRows, xentTokens: Int(counts[1]), mixed: counts[1] > 0 && counts[2] > 0)
        }
        for t in s..<T {
            for row in 0..<B { mask[row] = r.active[t][row] ? 1 : 0 }
            let x = r.trace.outputs.pointer + t * B * H
            st.baselineSSE += baseline.accumulateGradient(step: t, x: x, rows: B, prediction: b[t], reward: reward,
                                                          mask: mask, scale: 1 / Float(max(nRLAll, 1)))
        }
        st.baselineCount = nRL
        PolicyGradient.backward(model, r, s: s, reward: reward, baseline: { t, row in b[t][row] }, weighting: weighting,
                                labelSmoothing: Float(context.options.labelSmoothing), totals: totals,
                                coverageLossWeight: Float(context.options.effectiveCoverageLossWeight), &st)
        return st
    }
}
