extension EncoderDecoder {
    /// The id of `<pad>`, fed after a target's end and masked out of the loss.
    public static let padId: Int32 = 0
    /// The id of `<s>`, the decoder's first input.
    public static let bosId: Int32 = 2

    /// Teacher-forcing inputs for ragged targets: step t of row b reads <s> at t = 0, then
    /// target[b][t−1]; <pad> past the row's end. T = the longest target.
    /// - Returns: T arrays of B ids.
    public static func teacherInputs(targets: [[Int32]], bos: Int32 = bosId) -> [[Int32]] {
        let T = max(1, targets.map(\.count).max() ?? 1)
        return (0..<T).map { t in targets.map { t == 0 ? bos : (t - 1 < $0.count ? $0[t - 1] : padId) } }
    }

    /// Masked cross-entropy of a trace against ragged targets (targets[b] has the row's T_b
    /// ids, ending with </s>; positions t ≥ T_b are padding and count for nothing).
    ///
    /// loss = −(1/N) Σ_{b, t<T_b} log p_t(targets[b][t]), N = Σ_b T_b; dLogits [T, B, V] =
    /// (p_t − onehot(target))/N on real positions, 0 elsewhere. The sum is in Double.
    /// - Complexity: O(T·B·V).
    public func crossEntropy(_ trace: DecoderTrace, targets: [[Int32]]) -> (loss: Double, tokens: Int, dLogits: [Float]) {
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize
        precondition(targets.count == B, "Got \(targets.count) targets for a batch of \(B)")
        let n = targets.reduce(0) { $0 + min($1.count, T) }
        var dLogits = [Float](repeating: 0, count: T * B * V)
        guard n > 0 else { return (0, 0, dLogits) }
        let w = 1 / Float(n)
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
        return (loss / Double(n), n, dLogits)
    }

    /// One XENT step: encode → teacher-forced decode (<s> + target[:−1]) → masked
    /// cross-entropy → backward, adding into `grads` (the caller zeros them and steps the
    /// optimizer). Dropout masks come from `rng`.
    /// - Parameters:
    ///   - source: B source id sequences.
    ///   - target: B target id sequences, each ending with </s>.
    /// - Returns: the mean cross-entropy per target token (nats).
    @discardableResult
    public func trainingStepXENT(source: [[Int32]], target: [[Int32]]) -> Double {
        let enc = encode(source: source, training: true, rng: &rng)
        let inputs = Self.teacherInputs(targets: target)
        precondition(!inputs.isEmpty, "Cannot decode zero steps")
        let tr = decodeCore(enc, steps: inputs.count, firstInput: inputs[0], teacher: inputs, nextInput: { t, _ in inputs[t + 1] },
                            training: true, rng: &rng, skipOutputLayer: true)
        let (loss, dOut) = outputLayerXENT(tr, targets: target)
        backward(tr, dOutputs: dOut, consumeCaches: true)
        return loss
    }

    /// The output layer, softmax, masked cross-entropy and the output layer's backward for a
    /// trace decoded with `skipOutputLayer`, over blocks of rows so that only one block of
    /// logits [rows, V] (≤ 16 MB) ever exists: per block, logits = O·W_oᵀ + b_o, then in place
    /// softmax and dLogits = (p − onehot)/N on real rows (0 on padding), then dW_o += dLogitsᵀ·O,
    /// db_o += Σ dLogits, dO = dLogits·W_o. The arithmetic of `decodeForTraining` +
    /// `crossEntropy` + `backward`, row for row; with one block (T·B·V ≤ 4M) the same GEMMs.
    /// - Returns: the mean loss and dO [T, B, H], the gradient at the outputs o_t.
    /// - Complexity: O(T·B·V·H).
    /// The most logits one block of `outputLayerXENT` holds (16 MB: the reference batch's 480
    /// rows × 10,000 run in two blocks of 240; fewer blocks read and write dW_o fewer times, and
    /// one block would take peak memory past a quarter of PyTorch's); tests lower it to run the
    /// blocked path on small models.
    nonisolated(unsafe) static var outputBlockFloats = 1 << 22

    func outputLayerXENT(_ trace: DecoderTrace, targets: [[Int32]]) -> (loss: Double, dOutputs: FloatBuffer) {
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize, H = config.hiddenSize
        precondition(targets.count == B, "Got \(targets.count) targets for a batch of \(B)")
        let n = targets.reduce(0) { $0 + min($1.count, T) }
        let w = n > 0 ? 1 / Float(n) : 0
        let rows = T * B
        let blocks = max(1, (rows * V + Self.outputBlockFloats - 1) / Self.outputBlockFloats)
        let blockRows = (rows + blocks - 1) / blocks
        let logits = FloatBuffer(count: blockRows * V)
        let dOut = FloatBuffer(count: rows * H)
        for b in 0..<B { for y in targets[b].prefix(T) {
            precondition(y >= 0 && Int(y) < V, "Target id \(y) is outside the vocabulary of \(V)")
        } }
        let rowLoss = FloatBuffer(count: rows)
        var start = 0
        while start < rows {
            let m = min(blockRows, rows - start)
            let o = trace.outputs.pointer + start * H
            output.forward(params, x: o, rows: m, y: logits.pointer)
            // Rows are independent: softmax, loss and dLogits split over the threads.
            let first = start
            splitWork(m, costPerItem: V) { lo, hi in
                for i in lo..<hi {
                    let r = first + i, t = r / B, b = r % B, row = logits.pointer + i * V
                    guard t < targets[b].count else { row.update(repeating: 0, count: V); continue }
                    let y = Int(targets[b][t])
                    let logit = row[y]
                    Kernels.softmaxRows(row, rows: 1, cols: V, logZ: trace.logZ.pointer + r)
                    rowLoss[r] = logit - trace.logZ[r]
                    Kernels.scale(row, V, w)
                    row[y] -= w
                }
            }
            output.backward(params, grads, x: o, rows: m, dy: logits.pointer, dx: dOut.pointer + start * H)
            start += m
        }
        var loss = 0.0
        for r in 0..<rows where r / B < targets[r % B].count { loss -= Double(rowLoss[r]) }
        return (n > 0 ? loss / Double(n) : 0, dOut)
    }
}
