/// The decoder's per-step weights packed for products with B rows (`PackedMatrix`): the
/// LSTM's Wih [4H, I] and Whh [4H, H], and the attention's combination W_c [H, D + H].
/// A snapshot of the parameters when it was made.
struct DecoderStepWeights {
    let wih: PackedMatrix
    let whh: PackedMatrix
    let combine: PackedMatrix
}

/// A snapshot of a model's weights packed for incremental inference: every matrix that a
/// decoding step multiplies by only B rows (the decoder's LSTM and attention combination, the
/// output layer [V, H]) and the encoder's recurrent weights. A general BLAS would repack each of
/// them at every step; packing them once per `SequenceDecoder` makes a greedy step of batch 32
/// on the reference model about 1.5× cheaper (`mixer-bench gemm`).
///
/// It does not follow later changes to the model's parameters: make a new one after training
/// steps (`SequenceDecoder` makes one when it is created).
/// - Complexity: one pass over those weights (O(V·H + 4H·(I + H) + H·(D + H) + 8H²)).
public final class InferenceWeights {
    let step: DecoderStepWeights
    let output: PackedMatrix
    let encoderRecurrent: (forward: PackedMatrix, backward: PackedMatrix)?

    init(step: DecoderStepWeights, output: PackedMatrix, encoderRecurrent: (forward: PackedMatrix, backward: PackedMatrix)?) {
        self.step = step; self.output = output; self.encoderRecurrent = encoderRecurrent
    }
}

extension EncoderDecoder {
    /// The decoder's per-step weights, packed now.
    func packedStepWeights() -> DecoderStepWeights {
        DecoderStepWeights(wih: decoderLSTM.packedInput(params), whh: decoderLSTM.packedRecurrent(params),
                           combine: attention.combine.packed(params))
    }

    /// Packs the weights inference multiplies at every step (see `InferenceWeights`).
    public func packedForInference() -> InferenceWeights {
        InferenceWeights(step: packedStepWeights(), output: output.packed(params),
                         encoderRecurrent: bilstm.map { ($0.forwardLSTM.packedRecurrent(params), $0.backwardLSTM.packedRecurrent(params)) })
    }
}
