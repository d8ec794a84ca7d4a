/// The shape and initialisation of an `EncoderDecoder`, with documented defaults (the
/// benchmark's reference configuration: embedding 256, a bidirectional LSTM encoder with 256
/// units per direction, a bridge to a 256-unit LSTM decoder with Luong `general` attention and
/// input feeding).
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Which encoder reads the source.
    public enum EncoderKind: String, Codable, Sendable, CaseIterable {
        /// Bidirectional LSTM (the default), memory width 2·encoderHiddenSize.
        case bilstm
        /// MIXER's convolutional attentive encoder (word + position embeddings, keys averaged
        /// over `convWindow` positions), memory width embeddingSize.
        case conv
    }

    /// How parameters are drawn at initialisation.
    public enum Initialization: String, Codable, Sendable, CaseIterable {
        /// Uniform in [−initScale, initScale] (OpenNMT's default, scale 0.1).
        case uniform
        /// Normal N(0, initScale²) (the MIXER reference code: N(0, 0.05)).
        case normal
    }

    /// Source vocabulary size (ids 0..<sourceVocabSize; 0 = <pad>, 1 = <unk>, 2 = <s>, 3 = </s>).
    public var sourceVocabSize: Int
    /// Target vocabulary size (the softmax width).
    public var targetVocabSize: Int
    /// Width of source and target embeddings. Default 256.
    public var embeddingSize: Int = 256
    /// Decoder LSTM width, also the attentional vector's width. Default 256.
    public var hiddenSize: Int = 256
    /// Units per direction of the bidirectional encoder. Default 256.
    public var encoderHiddenSize: Int = 256
    /// The encoder. Default `.bilstm`.
    public var encoder: EncoderKind = .bilstm
    /// The attention score. Default `.general`. `.dot` needs the memory width to equal
    /// hiddenSize (2·encoderHiddenSize for bilstm, embeddingSize for conv).
    public var attention: LuongAttention.Score = .general
    /// Feed h̃_{t−1} to the decoder beside the input embedding (Luong et al. 2015 §3.3). Default true.
    public var inputFeeding: Bool = true
    /// Dropout probability on the source and target embeddings and on h̃_t. Default 0.2.
    public var dropout: Float = 0.2
    /// The initialisation distribution. Default `.uniform`.
    public var initialization: Initialization = .uniform
    /// The uniform bound or the normal standard deviation. Default 0.1.
    public var initScale: Float = 0.1
    /// Number of position embeddings of the conv encoder; later positions share the last one.
    /// Default 256.
    public var maxSourcePositions: Int = 256
    /// The conv encoder's key-averaging window (odd). Default 5.
    public var convWindow: Int = 5
    /// Copy attention (the pointer-generator of See, Liu & Manning, ACL 2017,
    /// https://arxiv.org/abs/1704.04368): the decoder mixes its vocabulary softmax with the
    /// attention distribution over the source (``EncoderDecoder/copyGates(_:)``). nil (the
    /// default, and every checkpoint written before the option existed) means off; nil is not
    /// written to `config.json`, so a model without copy keeps its old file byte for byte.
    public var copy: Bool?

    /// Whether copy attention is on (`copy == true`).
    public var copyEnabled: Bool { copy ?? false }
    /// The coverage mechanism (See, Liu & Manning, ACL 2017, §2.3): the decoder keeps
    /// c_t = Σ_{t'<t} a_{t'} over the source positions and the attention scores read it,
    /// s_{t,i} = score(h_t, m_i) + w_c·c_{t,i} (``LuongAttention/attend(h:projectedKeys:values:lengths:encoderRows:sourceLength:rows:weights:context:contextStride:coverage:coverageWeight:)``);
    /// training adds λ·Σ_t Σ_i min(a_{t,i}, c_{t,i}) to the loss (``CoveragePenalty``). With or
    /// without ``copy``. nil (the default, and every older checkpoint) means off and is not
    /// written to `config.json`.
    public var coverage: Bool?

    /// Whether coverage is on (`coverage == true`).
    public var coverageEnabled: Bool { coverage ?? false }

    /// A configuration with the given vocabulary sizes and the documented defaults.
    public init(sourceVocabSize: Int, targetVocabSize: Int) {
        self.sourceVocabSize = sourceVocabSize
        self.targetVocabSize = targetVocabSize
    }

    /// The width of the encoder memory (values and keys) the decoder attends to.
    public var memorySize: Int { encoder == .bilstm ? 2 * encoderHiddenSize : embeddingSize }

    /// Checks that the configuration can be built; the error names the offending field.
    public func validate() throws {
        func fail(_ s: String) -> ModelConfigError { ModelConfigError(message: s) }
        if sourceVocabSize < 4 || targetVocabSize < 4 { throw fail("vocabulary sizes must be at least 4 (the special tokens), got \(sourceVocabSize) and \(targetVocabSize)") }
        for (n, v) in [("embeddingSize", embeddingSize), ("hiddenSize", hiddenSize), ("encoderHiddenSize", encoderHiddenSize), ("maxSourcePositions", maxSourcePositions)] where v <= 0 {
            throw fail("\(n) must be positive, got \(v)")
        }
        if !(dropout >= 0 && dropout < 1) { throw fail("dropout must be in [0, 1), got \(dropout)") }
        if !(initScale > 0) { throw fail("initScale must be positive, got \(initScale)") }
        if convWindow < 1 || convWindow % 2 == 0 { throw fail("convWindow must be odd and positive, got \(convWindow)") }
        if attention == .dot && memorySize != hiddenSize {
            throw fail("dot attention needs the encoder memory width (\(memorySize)) to equal hiddenSize (\(hiddenSize)); use general attention or matching sizes")
        }
    }
}

/// A configuration that cannot be built.
public struct ModelConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { "invalid model configuration: \(message)" }
}
