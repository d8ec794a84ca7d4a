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

    /// The most logits one block of `outputLayerBackward` holds (16 MB: the reference batch's
    /// 480 rows × 10,000 run in two blocks of 240; fewer blocks read and write dW_o fewer times,
    /// and one block would take peak memory past a quarter of PyTorch's); tests lower it to run
    /// the blocked path on small models.
    nonisolated(unsafe) static var outputBlockFloats = 1 << 22

    /// The output layer and its backward for a trace decoded with `deferOutputLayer` (its
    /// `logits` and `probs` are empty), over blocks of rows so that only one block of logits
    /// [rows, V] (≤ `outputBlockFloats` floats) ever exists. Per block of m rows from row r₀
    /// (row r = t·B + b, step-major):
    ///
    ///     logits = O·W_oᵀ + b_o                    (the block, [m, V])
    ///     logitGradient(r₀, m, block)             replaces it in place by ∂L/∂logits
    ///     dW_o += dᵀ·O,  db_o += Σ d,  dO = d·W_o
    ///
    /// The callback is the objective's part (XENT's is `CrossEntropy.outputLayerGradient`); the
    /// model knows no loss. With one block (T·B·V ≤ 4M) these are the same GEMMs as
    /// `decodeForTraining` + `backward(_:dLogits:)`, row for row.
    /// - Returns: dO [T, B, H], the gradient at the outputs o_t, for
    ///   `backward(_:dOutputs:consumeCaches:)`.
    /// - Complexity: O(T·B·V·H) plus the callback's work; memory O(min(T·B·V, 4M) + T·B·H).
    public func outputLayerBackward(
        _ trace: DecoderTrace,
        logitGradient: (_ firstRow: Int, _ rows: Int, _ block: UnsafeMutablePointer<Float>) -> Void
    ) -> FloatBuffer {
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize, H = config.hiddenSize
        let rows = T * B
        let blocks = max(1, (rows * V + Self.outputBlockFloats - 1) / Self.outputBlockFloats)
        let blockRows = (rows + blocks - 1) / blocks
        let logits = FloatBuffer(count: blockRows * V)
        let dOut = FloatBuffer(count: rows * H)
        var start = 0
        while start < rows {
            let m = min(blockRows, rows - start)
            let o = trace.outputs.pointer + start * H
            output.forward(params, x: o, rows: m, y: logits.pointer)
            logitGradient(start, m, logits.pointer)
            output.backward(params, grads, x: o, rows: m, dy: logits.pointer, dx: dOut.pointer + start * H)
            start += m
        }
        gradientsReady?(.outputLayer)
        return dOut
    }
}
