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
/// output layer [V, H]), the attention's key projection W_a [H, D], the bridges [H, D] and the
/// encoder LSTMs' weights (recurrent, and the input projection,
/// which at batch 1 has only S rows). A general product packs its B operand at every call;
/// packing these once per `SequenceDecoder` removes that copy from every step (`mixer-bench
/// gemm`).
///
/// It does not follow later changes to the model's parameters: make a new one after training
/// steps (`SequenceDecoder` makes one when it is created).
/// - Complexity: one pass over those weights (O(V·H + 4H·(I + H) + H·(D + H) + 3H·D + 8H·(E + H))).
public final class InferenceWeights {
    let step: DecoderStepWeights
    let output: PackedMatrix
    let encoder: (forward: LSTM.Packed, backward: LSTM.Packed)?
    let keys: PackedMatrix?
    let bridge: (h: PackedMatrix, c: PackedMatrix)

    init(step: DecoderStepWeights, output: PackedMatrix, encoder: (forward: LSTM.Packed, backward: LSTM.Packed)?,
         keys: PackedMatrix?, bridge: (h: PackedMatrix, c: PackedMatrix)) {
        self.step = step; self.output = output; self.encoder = encoder; self.keys = keys; self.bridge = bridge
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
                         encoder: bilstm.map { ($0.forwardLSTM.packed(params), $0.backwardLSTM.packed(params)) },
                         keys: attention.keyProjection?.packed(params),
                         bridge: (bridgeH.packed(params), bridgeC.packed(params)))
    }
}
