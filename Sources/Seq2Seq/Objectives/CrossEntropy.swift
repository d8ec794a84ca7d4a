import Tokenize

/// Masked token cross-entropy (XENT) at the logits: the loss and its gradient, shared by every
/// objective that trains on ground-truth tokens (``XENTObjective``, ``DADObjective``, MIXER's
/// XENT stages) and by validation's perplexity. The model only runs forward and backward
/// (``EncoderDecoder/outputLayerBackward(_:logitGradient:)``, ``EncoderDecoder/backward(_:dLogits:)``);
/// this is where the loss lives, and its variant, label smoothing (``labelSmoothed(_:targets:epsilon:)``),
/// is one more function here, not a change to the model.
///
/// Targets are ragged: targets[b] holds row b's T_b ids, ending with `</s>`; positions
/// t ≥ T_b are padding and count for nothing. With N = Σ_b min(T_b, T):
///
///     loss = −(1/N) Σ_{b, t<T_b} log p_t(targets[b][t])
///     ∂loss/∂logits_{t,b} = (p_t − onehot(targets[b][t])) / N   on real positions, 0 elsewhere
///
/// Sums of the loss are in Double.
public enum CrossEntropy {
    /// The loss and dLogits [T, B, V] of a trace that holds its softmax (`decodeForTraining`
    /// without `deferOutputLayer`).
    /// - Returns: the mean loss per token (nats), N, and dLogits (zeros when N = 0).
    /// - Complexity: O(T·B·V).
    /// With `labelSmoothing` ε > 0 the gradient is ``labelSmoothed(_:targets:epsilon:)``'s and
    /// the loss its plain cross-entropy (`nll`). `tokens`: N of the 1/N when it is not the
    /// batch's own (a data-parallel shard's global N; the returned count stays the batch's).
    public static func evaluate(_ trace: DecoderTrace, targets: [[Int32]], labelSmoothing: Float = 0, tokens: Int? = nil)
        -> (loss: Double, tokens: Int, dLogits: [Float]) {
        if labelSmoothing > 0 {
            let r = labelSmoothed(trace, targets: targets, epsilon: labelSmoothing, tokens: tokens)
            return (r.nll, r.tokens, r.dLogits)
        }
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize
        precondition(targets.count == B, "Got \(targets.count) targets for a batch of \(B)")
        let n = targets.reduce(0) { $0 + min($1.count, T) }
        var dLogits = [Float](repeating: 0, count: T * B * V)
        guard n > 0 else { return (0, 0, dLogits) }
        let total = tokens ?? n
        let w = 1 / Float(total)
        var loss = 0.0
        dLogits.withUnsafeMutableBufferPointer { d in
            for t in 0..<T {
                for b in 0..<B where t < targets[b].count {
                    let r = t * B + b, y = Int(targets[b][t])
                    precondition(y >= 0 && y < V, "Target id \(y) is outside the vocabulary of \(V)")
                    loss -= Double(trace.logits[r * V + y] - trace.logZ[r])
                    let pr = trace.probs.pointer + r * V, dr = d.baseAddress! + r * V
                    for j in 0..<V { dr[j] = pr[j] * w }
                    dr[y] -= w
                }
            }
        }
        return (loss / Double(total), n, dLogits)
    }

    /// The classes label smoothing spreads its mass over: every id but `<pad>` and `<s>`, which
    /// the decoder never outputs (K = V − 2).
    @inline(__always) static func smoothedClass(_ j: Int) -> Bool { j != Int(Vocabulary.pad) && j != Int(Vocabulary.bos) }

    /// Label-smoothed cross-entropy (Szegedy et al., CVPR 2016, §7,
    /// [arXiv:1512.00567](https://arxiv.org/abs/1512.00567); as fairseq's and OpenNMT-py's
    /// `--label-smoothing`): the one-hot target of each real position becomes
    /// q = (1 − ε)·onehot(y) + ε/K on the K = V − 2 classes the decoder can output (all but
    /// `<pad>` and `<s>`), so
    ///
    ///     loss = −(1/N) Σ_{b, t<T_b} Σ_j q_j log p_t(j)
    ///          = (1/N) Σ [ (1 − ε)·(−log p_t(y)) + (ε/K)·(K·log Z_t − Σ_{j∈K} s_{t,j}) ]
    ///     ∂loss/∂logits_{t,b} = (p_t − q) / N
    ///
    /// with s the logits. ε = 0 is exactly ``evaluate(_:targets:)``.
    /// - Returns: the smoothed loss (the objective), the plain cross-entropy −(1/N) Σ log p(y)
    ///   (for perplexity), N, and dLogits [T, B, V].
    /// - Complexity: O(T·B·V).
    public static func labelSmoothed(_ trace: DecoderTrace, targets: [[Int32]], epsilon: Float, tokens: Int? = nil)
        -> (loss: Double, nll: Double, tokens: Int, dLogits: [Float]) {
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize
        precondition(targets.count == B, "Got \(targets.count) targets for a batch of \(B)")
        precondition(epsilon >= 0 && epsilon < 1 && V > 2, "label smoothing needs 0 ≤ ε < 1 and V > 2")
        let n = targets.reduce(0) { $0 + min($1.count, T) }
        var dLogits = [Float](repeating: 0, count: T * B * V)
        guard n > 0 else { return (0, 0, 0, dLogits) }
        let total = tokens ?? n
        let w = 1 / Float(total), K = V - 2, uniform = epsilon / Float(K)
        var loss = 0.0, nll = 0.0
        dLogits.withUnsafeMutableBufferPointer { d in
            for t in 0..<T {
                for b in 0..<B where t < targets[b].count {
                    let r = t * B + b, y = Int(targets[b][t])
                    precondition(y >= 0 && y < V, "Target id \(y) is outside the vocabulary of \(V)")
                    let logZ = Double(trace.logZ[r])
                    let logPY = Double(trace.logits[r * V + y] - trace.logZ[r])   // as evaluate(_:targets:)
                    var sumLogits = 0.0
                    for j in 0..<V where smoothedClass(j) { sumLogits += Double(trace.logits[r * V + j]) }
                    nll -= logPY
                    loss -= Double(1 - epsilon) * logPY + Double(uniform) * (sumLogits - Double(K) * logZ)
                    let pr = trace.probs.pointer + r * V, dr = d.baseAddress! + r * V
                    smoothedRowGradient(pr, dr, V: V, y: y, w: w, epsilon: epsilon)
                }
            }
        }
        return (loss / Double(total), nll / Double(total), n, dLogits)
    }

    /// g = w·(p − q) for one row, q = (1 − ε)·onehot(y) + ε/K on the smoothed classes (`p` and
    /// `g` may be the same row).
    @inline(__always) static func smoothedRowGradient(_ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                                                      V: Int, y: Int, w: Float, epsilon: Float) {
        let uniform = epsilon / Float(V - 2)
        // Branch-free over the row, then <pad> and <s> (no target mass) set apart.
        let pad = Int(Vocabulary.pad), bos = Int(Vocabulary.bos)
        let pPad = p[pad], pBos = p[bos]
        for j in 0..<V { g[j] = w * (p[j] - uniform) }
        g[pad] = w * pPad
        g[bos] = w * pBos
        g[y] -= w * (1 - epsilon)
    }

    /// One teacher-forced XENT step through the lean path: encode → decode (<s> + target[:−1])
    /// with the output layer deferred → ``EncoderDecoder/outputLayerBackward(_:logitGradient:)``
    /// with ``outputLayerGradient(_:targets:rowLoss:)`` (no [T, B, V] buffer kept) → backward,
    /// adding into `model.grads` (the caller clears them and steps the optimizer). Dropout masks
    /// come from `rng`, in the order encoder, then decoder steps.
    /// - Parameters:
    ///   - source: B source id sequences.
    ///   - target: B target id sequences, each ending with `</s>`.
    ///   - tokens: N of the loss's 1/N (nil: the batch's target tokens). A data-parallel rank
    ///     passes the global batch's N, so that the ranks' gradients and losses sum to the
    ///     global batch's (docs/distributed.md).
    ///   - coverageLossWeight: λ of the coverage loss (λ/N)·Σ min(a, c) added to the gradient
    ///     over every target position, for a model with coverage (``CoveragePenalty``).
    /// - Returns: the cross-entropy of the batch's tokens divided by N (the mean per target
    ///   token when `tokens` is nil); the coverage loss is not included in it.
    /// - Complexity: one forward and one backward pass, O(T·B·V·H) at the output layer.
    @discardableResult
    public static func teacherForcedStep(_ model: EncoderDecoder, source: [[Int32]], target: [[Int32]],
                                         rng: inout RandomGenerator, labelSmoothing: Float = 0, tokens: Int? = nil,
                                         coverageLossWeight: Float = 1) -> Double {
        let enc = model.encode(source: source, training: true, rng: &rng)
        let inputs = EncoderDecoder.teacherInputs(targets: target)
        let tr = model.decodeForTraining(enc, inputs: inputs, training: true, rng: &rng, deferOutputLayer: true)
        let B = tr.batchSize, T = tr.steps
        precondition(target.count == B, "Got \(target.count) targets for a batch of \(B)")
        let rowLoss = FloatBuffer(count: T * B)
        let dOut = model.outputLayerBackward(tr, logitGradient: outputLayerGradient(tr, targets: target, rowLoss: rowLoss,
                                                                                    labelSmoothing: labelSmoothing, tokens: tokens))
        let n = tokens ?? target.reduce(0) { $0 + min($1.count, T) }
        model.backward(tr, dOutputs: dOut, consumeCaches: true,
                       coverage: model.coveragePenalty(tr, targets: target, lambda: coverageLossWeight, tokens: n))
        var loss = 0.0
        for r in 0..<(T * B) where r / B < target[r % B].count { loss -= Double(rowLoss[r]) }
        return n > 0 ? loss / Double(n) : 0
    }

    /// The block callback of ``EncoderDecoder/outputLayerBackward(_:logitGradient:)`` for XENT:
    /// each row r = t·B + b of a block of logits becomes softmax → (p − onehot(y))/N in place
    /// (0 on padding), `trace.logZ[r]` is written and `rowLoss[r]` = log p_t(y). Rows are
    /// independent and split over the threads.
    /// - Complexity: O(rows·V) per block.
    /// With `labelSmoothing` ε > 0 the gradient is (p − q)/N (``labelSmoothed(_:targets:epsilon:)``);
    /// `rowLoss` stays log p_t(y), so the step reports the plain cross-entropy. `tokens`: N
    /// when it is not the batch's own (a data-parallel shard's global N).
    static func outputLayerGradient(_ trace: DecoderTrace, targets: [[Int32]], rowLoss: FloatBuffer, labelSmoothing: Float = 0,
                                    tokens: Int? = nil)
        -> (_ firstRow: Int, _ rows: Int, _ block: UnsafeMutablePointer<Float>) -> Void {
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize
        let n = tokens ?? targets.reduce(0) { $0 + min($1.count, T) }
        let w = n > 0 ? 1 / Float(n) : 0
        for b in 0..<B { for y in targets[b].prefix(T) {
            precondition(y >= 0 && Int(y) < V, "Target id \(y) is outside the vocabulary of \(V)")
        } }
        return { first, m, logits in
            splitWork(m, costPerItem: V) { lo, hi in
                for i in lo..<hi {
                    let r = first + i, t = r / B, b = r % B, row = logits + i * V
                    guard t < targets[b].count else { row.update(repeating: 0, count: V); continue }
                    let y = Int(targets[b][t])
                    let logit = row[y]
                    Kernels.softmaxRows(row, rows: 1, cols: V, logZ: trace.logZ.pointer + r)
                    rowLoss[r] = logit - trace.logZ[r]
                    if labelSmoothing > 0 {
                        smoothedRowGradient(row, row, V: V, y: y, w: w, epsilon: labelSmoothing)
                        continue
                    }
                    Kernels.scale(row, V, w)
                    row[y] -= w
                }
            }
        }
    }
}
