/// The gradient at the logits of a rollout trained partly by XENT and partly by REINFORCE
/// (Williams 1992; Ranzato et al., ICLR 2016, §3.2 and Eq. 11,
/// [arXiv:1511.06732](https://arxiv.org/abs/1511.06732)), shared by MIXER, SCST and any
/// objective that weights sampled sequences by a reward (minimum risk training's candidates):
///
///     t < s (teacher forced):  ∂L/∂s_t = w_x · (p_t − onehot(y_t))
///     t ≥ s (sampled):         ∂L/∂s_t = w_r · (r_b − b_t) · (p_t − onehot(w_t))
///
/// on the steps each row produced (nothing after its `</s>`), where s_t are the logits, r_b the
/// row's sequence reward, b_t its baseline, and w_x, w_r the ``MixerLossWeighting``:
///
/// | weighting | w_x | w_r |
/// |---|---|---|
/// | `sequence` | 1/B | 1/B |
/// | `reference` | (½ if mixed else 1) / N_x | ½ if mixed else 1 |
///
/// (N_x the batch's teacher-forced tokens, "mixed": both kinds of step occur in the batch).
enum PolicyGradient {
    /// The weights (w_x, w_r) for a batch of B rows with `xentTokens` teacher-forced tokens,
    /// `mixed` when sampled steps occur too.
    static func weights(_ weighting: MixerLossWeighting, rows B: Int, xentTokens nX: Int, mixed: Bool) -> (xent: Float, reinforce: Float) {
        switch weighting {
        case .sequence: return (1 / Float(B), 1 / Float(B))
        case .reference: return ((mixed ? 0.5 : 1) / Float(max(nX, 1)), mixed ? 0.5 : 1)
        }
    }

    /// A rollout's step counts: the teacher-forced tokens N_x (t < s), the rows with a sampled
    /// step (t ≥ s), and the totals that weight them (`totals`, the global batch's, when given).
    static func counts(_ r: Rollout, s: Int, totals: BatchTotals?) -> (xentTokens: Int, rlRows: Set<Int>, all: BatchTotals) {
        let B = r.ended.count, T = r.tokens.count
        var nX = 0
        var rlRows = Set<Int>()
        for t in 0..<T {
            for b in 0..<B where r.active[t][b] {
                if t < s { nX += 1 } else { rlRows.insert(b) }
            }
        }
        return (nX, rlRows, totals ?? BatchTotals(rows: B, xentTokens: nX, mixed: nX > 0 && !rlRows.isEmpty))
    }

    /// The step's statistics: the XENT loss's mean over the (global) teacher-forced tokens, and
    /// the rewards of the rows with a sampled step.
    static func record(_ st: inout StepStatistics, xentLoss: Double, xentTokens nX: Int, all: BatchTotals,
                       rlRows: Set<Int>, reward: [Float]) {
        st.xentLoss = all.xentTokens > 0 ? xentLoss / Double(all.xentTokens) : 0
        st.xentTokens = nX
        for b in rlRows {
            st.rewardSum += Double(reward[b])
            st.rewardCount += 1
        }
    }

    /// dLogits [T, B, V] of rollout `r` by the formula above, with rewards `reward[b]` and
    /// baselines `baseline(t, b)`. Fills the step's XENT loss (mean over the teacher-forced
    /// tokens), reward and advantage statistics.
    /// - Complexity: O(T·B·V).
    /// With `labelSmoothing` ε > 0 the teacher-forced steps use the smoothed target
    /// (``CrossEntropy/labelSmoothed(_:targets:epsilon:)``): w_x·(p_t − q_t).
    /// `totals`: the global batch's B, N_x and "mixed" when `r` is one rank's shard of it (data
    /// parallelism): the weights and the XENT loss's mean are the global batch's.
    static func logitGradient(_ r: Rollout, s: Int, reward: [Float], baseline: (Int, Int) -> Float,
                              weighting: MixerLossWeighting, labelSmoothing: Float = 0, totals: BatchTotals? = nil,
                              _ st: inout StepStatistics) -> [Float] {
        let tr = r.trace
        let B = r.ended.count, V = tr.vocabSize, T = r.tokens.count
        let (nX, rlRows, all) = counts(r, s: s, totals: totals)
        let (wx, wr) = weights(weighting, rows: all.rows, xentTokens: all.xentTokens, mixed: all.mixed)
        var d = [Float](repeating: 0, count: T * B * V)
        var xentLoss = 0.0
        d.withUnsafeMutableBufferPointer { dp in
            for t in 0..<T {
                for b in 0..<B where r.active[t][b] {
                    let row = t * B + b
                    let p = tr.probs.pointer + row * V, g = dp.baseAddress! + row * V
                    let tok = Int(r.tokens[t][b])
                    let coeff: Float
                    if t < s {
                        coeff = wx
                        xentLoss -= Double(tr.logits[row * V + tok] - tr.logZ[row])
                    } else {
                        let adv = reward[b] - baseline(t, b)
                        coeff = wr * adv
                        st.advantageSum += Double(adv)
                        st.advantageSquares += Double(adv * adv)
                        st.advantageCount += 1
                    }
                    if coeff == 0 { continue }
                    if t < s && labelSmoothing > 0 {
                        CrossEntropy.smoothedRowGradient(p, g, V: V, y: tok, w: coeff, epsilon: labelSmoothing)
                        continue
                    }
                    for j in 0..<V { g[j] = coeff * p[j] }
                    g[tok] -= coeff
                }
            }
        }
        record(&st, xentLoss: xentLoss, xentTokens: nX, all: all, rlRows: rlRows, reward: reward)
        return d
    }

    /// ``logitGradient(_:s:reward:baseline:weighting:labelSmoothing:_:)`` backpropagated through
    /// the model, adding into `model.grads`.
    /// With coverage (``ModelConfig/coverage``) the teacher-forced steps t < s carry the
    /// coverage loss with the XENT tokens' weight, λ·w_x·Σ_i min(a_{t,i}, c_{t,i}); the sampled
    /// steps carry none (their attention still reads c_t, and its gradient flows through it).
    static func backward(_ model: EncoderDecoder, _ r: Rollout, s: Int, reward: [Float], baseline: (Int, Int) -> Float,
                         weighting: MixerLossWeighting, labelSmoothing: Float = 0, totals: BatchTotals? = nil,
                         coverageLossWeight: Float = 1, _ st: inout StepStatistics) {
        let coverage = coveragePenalty(model, r, s: s, weighting: weighting, totals: totals, lambda: coverageLossWeight)
        if r.copy != nil {
            let (d, grad) = copyGradient(model, r, s: s, reward: reward, baseline: baseline, weighting: weighting,
                                         labelSmoothing: labelSmoothing, totals: totals, &st)
            d.withUnsafeBufferPointer { model.backward(r.trace, dLogits: $0.baseAddress!, copy: grad, coverage: coverage) }
            return
        }
        let d = logitGradient(r, s: s, reward: reward, baseline: baseline, weighting: weighting,
                              labelSmoothing: labelSmoothing, totals: totals, &st)
        d.withUnsafeBufferPointer { model.backward(r.trace, dLogits: $0.baseAddress!, coverage: coverage) }
    }

    /// The coverage loss of a rollout's teacher-forced steps: weight λ·w_x, and for each row the
    /// steps t < s it produced; nil for a model without coverage.
    static func coveragePenalty(_ model: EncoderDecoder, _ r: Rollout, s: Int, weighting: MixerLossWeighting,
                                totals: BatchTotals?, lambda: Float) -> CoveragePenalty? {
        guard model.config.coverageEnabled else { return nil }
        let B = r.ended.count, T = r.tokens.count
        let all = counts(r, s: s, totals: totals).all
        let wx = weights(weighting, rows: all.rows, xentTokens: all.xentTokens, mixed: all.mixed).xent
        let steps = (0..<B).map { b in (0..<min(s, T)).reduce(0) { $0 + (r.active[$1][b] ? 1 : 0) } }
        return CoveragePenalty(weight: lambda * wx, steps: steps)
    }

    /// The gradient of a copy-attention rollout (`r.copy`, tokens in each row's extended
    /// vocabulary): the formula above with −log p_t(y) replaced by −log P_t(y) of the mixed
    /// distribution, i.e. ``CrossEntropy``'s copy row gradient (See et al. 2017; at the logits,
    /// p_gen's pre-activation and the attention weights) with the weight w_x on teacher-forced
    /// steps and w_r·(r_b − b_t) on sampled ones:
    ///
    ///     L = w_x·Σ_{t<s} −log P_t(y_t) + w_r·Σ_{t≥s} (r_b − b_t)·(−log P_t(w_t))
    ///
    /// (a step whose P_t is below ``EncoderDecoder/copyProbabilityFloor`` sends nothing). With
    /// `labelSmoothing` ε > 0 the teacher-forced steps' term is the smoothed copy loss
    /// (``CrossEntropy``'s copy label smoothing, over the row's extended vocabulary). The
    /// XENT loss reported is the teacher-forced steps' mean −log P_t(y_t).
    /// - Returns: dLogits [T, B, V] and the ``CopyGradient``.
    /// - Complexity: O(T·B·(V + S)).
    static func copyGradient(_ model: EncoderDecoder, _ r: Rollout, s: Int, reward: [Float], baseline: (Int, Int) -> Float,
                             weighting: MixerLossWeighting, labelSmoothing: Float = 0, totals: BatchTotals? = nil,
                             _ st: inout StepStatistics) -> (dLogits: [Float], copy: CopyGradient) {
        guard let copy = r.copy else { preconditionFailure("copyGradient needs a rollout with copy sources") }
        let tr = r.trace
        let B = r.ended.count, V = tr.vocabSize, T = r.tokens.count, S = tr.encoder.sourceLength
        let (nX, rlRows, all) = counts(r, s: s, totals: totals)
        let (wx, wr) = weights(weighting, rows: all.rows, xentTokens: all.xentTokens, mixed: all.mixed)
        let gates = model.copyGates(tr)
        let grad = CopyGradient(dGate: FloatBuffer(count: T * B), dWeights: FloatBuffer(count: T * B * S))
        let logZ = FloatBuffer(count: 1)
        var d = [Float](repeating: 0, count: T * B * V)
        var xentLoss = 0.0
        d.withUnsafeMutableBufferPointer { dp in
            for t in 0..<T {
                for b in 0..<B where r.active[t][b] {
                    let row = t * B + b
                    let coeff: Float
                    if t < s {
                        coeff = wx
                    } else {
                        let adv = reward[b] - baseline(t, b)
                        coeff = wr * adv
                        st.advantageSum += Double(adv)
                        st.advantageSquares += Double(adv * adv)
                        st.advantageCount += 1
                        if coeff == 0 { continue }
                    }
                    let g = dp.baseAddress! + row * V
                    g.update(from: tr.logits.pointer + row * V, count: V)
                    let logP = CrossEntropy.copyRowGradient(row: g, V: V, extended: V + copy[b].oovs.count, y: Int(r.tokens[t][b]),
                                                            logZ: logZ.pointer, gate: gates[row],
                                                            weights: tr.attention.pointer + row * S, source: copy[b].ids,
                                                            length: tr.encoder.lengths[b], w: coeff, epsilon: t < s ? labelSmoothing : 0,
                                                            dGate: grad.dGate.pointer + row, dWeights: grad.dWeights.pointer + row * S)
                    if t < s { xentLoss -= Double(logP) }
                }
            }
        }
        record(&st, xentLoss: xentLoss, xentTokens: nX, all: all, rlRows: rlRows, reward: reward)
        return (d, grad)
    }
}

/// The counts of a whole batch that weight its rows' gradients (``PolicyGradient/weights(_:rows:xentTokens:mixed:)``):
/// B, the teacher-forced tokens N_x, and whether both kinds of step occur. A data-parallel rank
/// sums them over the ranks (docs/distributed.md).
struct BatchTotals: Equatable {
    var rows: Int
    var xentTokens: Int
    var mixed: Bool
}
