import Tokenize

/// How raw text becomes tokens for a model: saved with the model so that decoding and
/// evaluation tokenize exactly as training did.
public struct TokenizerSettings: Codable, Equatable, Sendable {
    /// Unicode normalization before segmentation (default NFKC).
    public var normalization: NormalizationForm = .nfkc
    /// Full Unicode case folding (ICU's), off by default.
    public var lowercase = false
    /// ICU locale for word breaking ("" = root).
    public var locale = ""

    public init(normalization: NormalizationForm = .nfkc, lowercase: Bool = false, locale: String = "") {
        self.normalization = normalization
        self.lowercase = lowercase
        self.locale = locale
    }

    /// A tokenizer with these settings.
    public func makeTokenizer() throws -> WordTokenizer {
        try WordTokenizer(locale: locale, normalizer: Normalizer(form: normalization, caseFold: lowercase))
    }
}

extension NormalizationForm: Codable {}
