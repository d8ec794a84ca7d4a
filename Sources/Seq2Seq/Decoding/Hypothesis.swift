/// One decoded output: its ids, how it ended, its scores and where it looked.
public struct Hypothesis: Equatable, Sendable {
    /// The output ids, without `<s>` and without the final `</s>`.
    public var ids: [Int32]
    /// True when the output ended with `</s>`; false when it stopped at the maximum length (or
    /// every token was forbidden by the constraints).
    public var ended: Bool
    /// log p(Y | X) = Σ_t log p(y_t | y_<t, X) over every scored step, `</s>` included, under the
    /// model's own distribution (no temperature, no truncation).
    public var logProb: Double
    /// The ranking score: `logProb` normalised by the length penalty (equal to `logProb` when
    /// there is none).
    public var score: Double
    /// For every scored step (`</s>` included), the source position with the highest attention
    /// weight, or −1 when the source is empty.
    public var attentionArgmax: [Int]

    /// |Y|, the number of scored steps: `ids.count`, plus 1 for `</s>`.
    public var length: Int { ids.count + (ended ? 1 : 0) }

    public init(ids: [Int32], ended: Bool, logProb: Double, score: Double, attentionArgmax: [Int]) {
        self.ids = ids
        self.ended = ended
        self.logProb = logProb
        self.score = score
        self.attentionArgmax = attentionArgmax
    }
}
