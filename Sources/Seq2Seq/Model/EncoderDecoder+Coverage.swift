/// Coverage (See, Liu & Manning, "Get To The Point: Summarization with Pointer-Generator
/// Networks", ACL 2017, §2.3, https://arxiv.org/abs/1704.04368), for a model with
/// ``ModelConfig/coverage`` on, with or without copy attention.
///
/// The coverage vector of decoder step t is the sum of the attention distributions of the
/// earlier steps, over the row's source positions i < L:
///
///     c_t = Σ_{t'<t} a_{t'}        (c_0 = 0)
///     s_{t,i} = score(h_t, m_i) + w_c·c_{t,i},   a_t = softmax(s_t)
///
/// w_c is one learned scalar (`coverage.weight`): Luong's `general` and `dot` scores have no
/// hidden layer where See et al.'s vector w_c sits. The coverage loss
///
///     covloss = (λ/N)·Σ_b Σ_{t<T_b} Σ_{i<L_b} min(a_{t,i}, c_{t,i})
///
/// is added to the token loss (N the loss's token count, λ `--coverage-loss-weight`, See et
/// al.'s 1). Its gradient is λ/N at whichever of a_{t,i}, c_{t,i} is the smaller (a on a tie).
/// Backward (``EncoderDecoder/backward(_:dOutputs:consumeCaches:copy:coverage:)``) couples the
/// steps: c_t is read by the scores of step t (dc_t = w_c·ds_t) and by the loss, and
/// dL/da_{t'} gains Σ_{t>t'} dL/dc_t, carried backwards in one [B, S] accumulator;
/// dw_c = Σ_t Σ_i ds_{t,i}·c_{t,i}.
/// Cost over a model without coverage: O(T·B·S) forward and backward.
public struct CoveragePenalty: Sendable {
    /// λ/N, the weight of each min(a, c) term.
    public var weight: Float
    /// steps[b]: the number of leading steps of row b that carry the loss (T_b, its target
    /// length; 0 for a row without it, e.g. MIXER's sampled suffix).
    public var steps: [Int]

    public init(weight: Float, steps: [Int]) {
        self.weight = weight
        self.steps = steps
    }
}

extension EncoderDecoder {
    /// Σ_b Σ_{t<steps[b]} Σ_{i<L_b} min(a_{t,i}, c_{t,i}) of a trace, summed in Double in that
    /// order (multiply by λ/N for the loss).
    /// - Precondition: the model has coverage, `steps.count` is the trace's batch size.
    /// - Complexity: O(T·B·S).
    public func coverageSum(_ trace: DecoderTrace, steps: [Int]) -> Double {
        precondition(coverageWeight != nil, "coverageSum needs a model with coverage")
        let B = trace.batchSize, S = trace.encoder.sourceLength
        precondition(steps.count == B, "Got \(steps.count) step counts for a batch of \(B)")
        var total = 0.0
        for b in 0..<B {
            let L = trace.encoder.lengths[b]
            for t in 0..<min(steps[b], trace.steps) {
                let a = trace.attention.pointer + (t * B + b) * S, c = trace.coverage.pointer + (t * B + b) * S
                for i in 0..<L { total += Double(min(a[i], c[i])) }
            }
        }
        return total
    }

    /// The coverage loss's part of backward step t, before the attention's softmax backward:
    /// writes into `dWeights` [B, S] the gradient at a_t from outside the attention:
    /// `extra` (copy's, or nil) + `carry` (Σ_{t'>t} dL/dc_{t'}) + the penalty's λ/N where
    /// a_{t,i} ≤ c_{t,i}.
    /// - Complexity: O(B·S).
    func coverageWeightGradient(_ tr: DecoderTrace, step t: Int, extra: UnsafePointer<Float>?, carry: UnsafePointer<Float>,
                                penalty: CoveragePenalty?, into dWeights: UnsafeMutablePointer<Float>) {
        let B = tr.batchSize, S = tr.encoder.sourceLength
        for i in 0..<(B * S) { dWeights[i] = (extra?[i] ?? 0) + carry[i] }
        guard let penalty else { return }
        let a = tr.attention.pointer + t * B * S, c = tr.coverage.pointer + t * B * S
        for b in 0..<B where t < penalty.steps[b] {
            for i in 0..<tr.encoder.lengths[b] where a[b * S + i] <= c[b * S + i] { dWeights[b * S + i] += penalty.weight }
        }
    }

    /// After the softmax backward of step t gave the score gradients ds_t [B, S]:
    /// dL/dc_t = w_c·ds_t + the penalty's λ/N where c_{t,i} < a_{t,i}, added into `carry`
    /// (which then holds Σ_{t'≥t} dL/dc_{t'} for step t − 1), and dw_c += Σ ds_{t,i}·c_{t,i}
    /// into `dwc` (rows, then positions, in order).
    /// - Complexity: O(B·S).
    func coverageStateGradient(_ tr: DecoderTrace, step t: Int, dScores: UnsafePointer<Float>, penalty: CoveragePenalty?,
                               carry: UnsafeMutablePointer<Float>, dwc: inout Float) {
        let B = tr.batchSize, S = tr.encoder.sourceLength
        let wc = params.view(coverageWeight!)[0]
        let a = tr.attention.pointer + t * B * S, c = tr.coverage.pointer + t * B * S
        for b in 0..<B {
            let L = tr.encoder.lengths[b], r = b * S
            let charged = penalty.map { t < $0.steps[b] } ?? false
            for i in 0..<L {
                dwc += dScores[r + i] * c[r + i]
                var d = wc * dScores[r + i]
                if charged && c[r + i] < a[r + i] { d += penalty!.weight }
                carry[r + i] += d
            }
        }
    }
}

extension EncoderDecoder {
    /// The coverage penalty of a teacher-forced pass: λ/N over each row's target positions
    /// (steps[b] = the length of targets[b]); nil for a model without coverage.
    public func coveragePenalty(_ trace: DecoderTrace, targets: [[Int32]], lambda: Float, tokens n: Int) -> CoveragePenalty? {
        guard coverageWeight != nil else { return nil }
        return CoveragePenalty(weight: n > 0 ? lambda / Float(n) : 0, steps: targets.map { min($0.count, trace.steps) })
    }
}
