/// Self-critical sequence training (SCST; Rennie et al., CVPR 2017,
/// [arXiv:1612.00563](https://arxiv.org/abs/1612.00563)): REINFORCE on whole sampled sequences
/// (a ``Rollout`` with s = 0), k = `samples` per source, with the advantage r(w) − b where b is
///
/// - `greedy`: r(ŵ) of the model's greedy output ŵ (`SequenceDecoder`'s batched greedy search,
///   the same as validation's), shared by the k samples of a source;
/// - `mean`: the mean reward of the other k − 1 samples of the same source (leave-one-out).
///
/// The gradient at the logits is ``PolicyGradient``'s with s = 0.
///
/// Data parallelism (`context.shard`): a rank's k samples per source are its sources' rows of
/// the global B·k (``Rollout/samples(_:perSource:steps:temperature:_:)``), w_r is the global
/// batch's, and the greedy baseline (no random draws) is decoded for the rank's sources only.
///
/// End of sequence: the reward is ``SequenceReward``'s, which with `--reward-eos count` (the
/// default) scores each sample, and the greedy baseline, on exactly what it emitted up to and
/// including `</s>`, `</s>` being a token of the reference too; a sample cut at T without `</s>`
/// has none to match. The step that emitted `</s>` is a sampled step like any other: its
/// log-probability gets the advantage, so the policy learns where to stop (Rennie et al. found
/// this necessary). With `ignore` the words before `</s>` alone are scored.
///
/// Copy attention (`batch.copy`): samples and the greedy output are in each row's extended
/// vocabulary (drawn from, and the argmax of, the mixed distribution), the gradient is that of
/// −log P_t of the mixture (``PolicyGradient/copyGradient(_:_:s:reward:baseline:weighting:totals:_:)``).
struct SCSTObjective: Objective {
    /// T.
    let steps: Int
    /// k, samples per source.
    let samples: Int
    let baseline: SCSTBaseline
    /// τ of the samples.
    let temperature: Double
    /// Rows per greedy decoding batch (`--valid-batch-size`).
    let greedyBatchSize: Int
    /// `--loss-weighting`; only w_r matters (nothing is teacher-forced): 1/(B·k) for
    /// `sequence`, 1 for `reference`.
    let weighting: MixerLossWeighting

    func stage(epoch: Int) -> (name: String, s: Int) { ("scst", 0) }

    func sampledFraction(s: Int, globalStep: Int) -> Double? { 1 }

    /// - Complexity: a forward pass over B·k rows with the full softmax trace, a greedy decode
    ///   of B rows (baseline `greedy`), O(B·k) rewards, and a backward pass.
    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        let model = context.model
        let k = samples
        if batch.count == 0, context.shard != nil {
            Rollout.skipSamples(perSource: k, steps: steps, &context)
            return StepStatistics()
        }
        let (r, targets, reward) = Rollout.samples(batch, perSource: k, steps: steps, temperature: temperature, &context)
        var base = [Float](repeating: 0, count: targets.count)
        switch baseline {
        case .greedy:
            let greedy = SequenceDecoder(model: model)
                .decodeAll(sources: batch.sources, strategy: .greedy, options: DecodingOptions(maxLength: steps),
                           batchSize: greedyBatchSize, copy: batch.copy)
            let rg = Self.greedyRewards(greedy, targets: batch.targets, reward: context.reward, copy: batch.copy)
            for i in 0..<batch.count { for j in 0..<k { base[i * k + j] = rg[i] } }
        case .mean:
            for i in 0..<batch.count {
                let group = (0..<k).map { reward[i * k + $0] }
                let total = group.reduce(0, +)
                for j in 0..<k { base[i * k + j] = (total - group[j]) / Float(k - 1) }
            }
        }
        var st = StepStatistics()
        // A data-parallel shard weights its rows by the global batch's B·k (w_r of `sequence`).
        let totals = context.shard.map { BatchTotals(rows: $0.globalRows * k, xentTokens: 0, mixed: false) }
        PolicyGradient.backward(model, r, s: 0, reward: reward, baseline: { _, row in base[row] }, weighting: weighting,
                                totals: totals, &st)
        return st
    }

    /// The self-critical baseline of each source: r of its greedy output ŵ (`greedy[i][0]`)
    /// against its target, scored as a sample is (with `</s>` when ŵ emitted it).
    static func greedyRewards(_ greedy: [[Hypothesis]], targets: [[Int32]], reward: SequenceReward,
                              copy: [CopySource]? = nil) -> [Float] {
        greedy.enumerated().map { i, g in reward(g[0].ids, ended: g[0].ended, target: targets[i], copy: copy?[i]) }
    }
}
