/// An attentive LSTM encoder-decoder (Luong et al. 2015, https://arxiv.org/abs/1508.04025)
/// with hand-written backward passes, the model MIXER trains (Ranzato et al. 2016,
/// https://arxiv.org/abs/1511.06732).
///
/// Encoder: a bidirectional LSTM or MIXER's convolutional attentive encoder. Bridge:
/// h_0 = tanh(W_h f_h + b_h), c_0 = tanh(W_c f_c + b_c) from the encoder's final states f.
/// Decoder step t: x_t = [dropout(E[y_{t−1}]) ; o_{t−1}] (input feeding, o_{−1} = 0),
/// (h_t, c_t) = LSTM(x_t, h_{t−1}, c_{t−1}), Luong attention gives h̃_t = tanh(W_c [ctx_t ; h_t]),
/// o_t = dropout(h̃_t), p_t = softmax(W_o o_t + b_o).
///
/// All parameters live in `params` (one flat buffer with named views); `grads` has the same
/// layout and every backward pass adds into it (`grads.zero()` clears it).
public final class EncoderDecoder {
    public let config: ModelConfig
    /// Every parameter, in one buffer.
    public let params: ParameterStore
    /// Gradients, same layout as `params`; backward passes add into it.
    public let grads: ParameterStore

    /// Set by the trainer for the span of a data-parallel step: the batches given to `encode`
    /// and `decodeForTraining` are these rows of a global batch, and training-time dropout
    /// masks are the global batch's restricted to them (docs/distributed.md). nil otherwise.
    var dropoutShard: RowShard?
    /// Set by the trainer for the span of a data-parallel step whose reduction overlaps
    /// backward: called when a backward pass has completed a stage's gradients
    /// (``BackwardStage``), which it does not write again. nil otherwise.
    var gradientsReady: ((BackwardStage) -> Void)?
    let bilstm: BiLSTMEncoder?
    let conv: ConvEncoder?
    let bridgeH: Linear
    let bridgeC: Linear
    let targetEmbedding: Embedding
    let decoderLSTM: LSTM
    let attention: LuongAttention
    let output: Linear
    /// The pointer-generator's switch w [1, D + H + E], b [1] (``ModelConfig/copy``); nil
    /// without copy. Registered after every other parameter, so a model without copy draws
    /// exactly the parameters it drew before the option existed.
    let copyGate: Linear?
    /// The coverage weight w_c [1] (``ModelConfig/coverage``); nil without coverage. Registered
    /// last (after the copy gate), so models without coverage draw what they drew before.
    let coverageWeight: ParameterStore.Entry?

    /// A model with parameters drawn from `seed` (uniform ±initScale or N(0, initScale²)).
    /// - Precondition: `config.validate()` does not throw (call it first on user input).
    public init(config: ModelConfig, seed: UInt64) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        self.config = config
        let p = ParameterStore()
        let E = config.embeddingSize, H = config.hiddenSize, D = config.memorySize
        switch config.encoder {
        case .bilstm:
            bilstm = BiLSTMEncoder(p, name: "encoder", vocabSize: config.sourceVocabSize, embeddingSize: E, hiddenSize: config.encoderHiddenSize)
            conv = nil
        case .conv:
            conv = ConvEncoder(p, name: "encoder", vocabSize: config.sourceVocabSize, embeddingSize: E,
                               maxPositions: config.maxSourcePositions, window: config.convWindow)
            bilstm = nil
        }
        bridgeH = Linear(p, name: "bridge.h", inputSize: D, outputSize: H)
        bridgeC = Linear(p, name: "bridge.c", inputSize: D, outputSize: H)
        targetEmbedding = Embedding(p, name: "decoder.embedding", vocabSize: config.targetVocabSize, dim: E)
        decoderLSTM = LSTM(p, name: "decoder.lstm", inputSize: E + (config.inputFeeding ? H : 0), hiddenSize: H)
        attention = LuongAttention(p, name: "attention", score: config.attention, hiddenSize: H, keySize: D, valueSize: D)
        output = Linear(p, name: "output", inputSize: H, outputSize: config.targetVocabSize)
        copyGate = config.copyEnabled ? Linear(p, name: "copy.gate", inputSize: D + H + E, outputSize: 1) : nil
        coverageWeight = config.coverageEnabled ? p.add("coverage.weight", shape: [1]) : nil
        params = p
        grads = p.zerosLike()
        var initRNG = RandomGenerator(seed: seed).split("init")
        let s = config.initScale
        for i in 0..<p.count {
            p.storage[i] = config.initialization == .uniform ? (2 * initRNG.nextUniform() - 1) * s : initRNG.nextNormal() * s
        }
    }

    /// The decoder LSTM's input width: E (+ H with input feeding).
    var decoderInputSize: Int { decoderLSTM.inputSize }

    /// Encodes a batch of sources (B sequences of ids, ragged; padded to S = the longest, at
    /// least 1). Keeps the masks (lengths) and everything backward needs.
    /// - Parameters:
    ///   - training: apply dropout (drawn from `rng`); off for evaluation and decoding.
    ///   - weights: a packed snapshot for the recurrent products (inference), else packed here.
    /// - Precondition: every id is below `sourceVocabSize`.
    /// - Complexity: O(B·S·(E + H)·H) for bilstm; one GEMM per direction for the input
    ///   projections and one for the attention keys.
    public func encode(source: [[Int32]], training: Bool, rng: inout RandomGenerator,
                       weights: InferenceWeights? = nil) -> EncoderOutput {
        let B = source.count
        let lengths = source.map(\.count)
        let S = max(1, lengths.max() ?? 1)
        let H = config.hiddenSize
        let p = training ? config.dropout : 0
        let keys: FloatBuffer, values: FloatBuffer, fH: FloatBuffer, fC: FloatBuffer
        let cache: EncoderOutput.Cache
        if let bilstm {
            let r = bilstm.forward(params, source: source, dropout: p, rng: &rng, packed: weights?.encoder, shard: dropoutShard)
            keys = r.memory; values = r.memory; fH = r.finalH; fC = r.finalC
            cache = .bilstm(r.cache)
        } else {
            let r = conv!.forward(params, source: source, dropout: p, rng: &rng, shard: dropoutShard)
            keys = r.keys; values = r.values; fH = r.mean; fC = r.mean
            cache = .conv(r.cache)
        }
        let h0 = FloatBuffer(count: B * H), c0 = FloatBuffer(count: B * H)
        if let bridge = weights?.bridge {
            bridgeH.forward(params, packed: bridge.h, x: fH.pointer, rows: B, y: h0.pointer)
            bridgeC.forward(params, packed: bridge.c, x: fC.pointer, rows: B, y: c0.pointer)
        } else {
            bridgeH.forward(params, x: fH.pointer, rows: B, y: h0.pointer)
            bridgeC.forward(params, x: fC.pointer, rows: B, y: c0.pointer)
        }
        Kernels.tanhInPlace(h0.pointer, B * H)
        Kernels.tanhInPlace(c0.pointer, B * H)
        let projected = attention.projectKeys(params, keys: keys, rows: B * S, packed: weights?.keys)
        return EncoderOutput(batchSize: B, sourceLength: S, lengths: lengths, projectedKeys: projected, values: values,
                             initialH: h0, initialC: c0, keys: keys, finalH: fH, finalC: fC, cache: cache)
    }
}

/// The encoder's result for a batch: what the decoder attends to and starts from.
///
/// Shapes: `projectedKeys` K' [B, S, H] (W_a·k for general attention, k for dot), `values`
/// [B, S, D], `initialH`/`initialC` [B, H] (after the bridge); `lengths[b]` real positions of
/// row b (the padding mask: position j of row b is real iff j < lengths[b]).
public final class EncoderOutput {
    public let batchSize: Int
    /// S, the padded source length.
    public let sourceLength: Int
    public let lengths: [Int]
    public let projectedKeys: FloatBuffer
    public let values: FloatBuffer
    public let initialH: FloatBuffer
    public let initialC: FloatBuffer
    // Training caches.
    enum Cache { case bilstm(BiLSTMEncoder.Cache), conv(ConvEncoder.Cache) }
    let keys: FloatBuffer
    let finalH: FloatBuffer
    let finalC: FloatBuffer
    let cache: Cache

    init(batchSize: Int, sourceLength: Int, lengths: [Int], projectedKeys: FloatBuffer, values: FloatBuffer,
         initialH: FloatBuffer, initialC: FloatBuffer, keys: FloatBuffer, finalH: FloatBuffer, finalC: FloatBuffer, cache: Cache) {
        self.batchSize = batchSize; self.sourceLength = sourceLength; self.lengths = lengths
        self.projectedKeys = projectedKeys; self.values = values; self.initialH = initialH; self.initialC = initialC
        self.keys = keys; self.finalH = finalH; self.finalC = finalC; self.cache = cache
    }
}
