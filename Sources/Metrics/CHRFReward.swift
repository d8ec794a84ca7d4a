// chrF as a sequence-level reward on token ids (for REINFORCE / MIXER, like `ReferenceTable`'s
// BLEU and ROUGE rewards): the ids become text through the vocabulary, then sacreBLEU's chrF.

/// chrF (or chrF++) of token ids as a reward on 0–1, against references prepared once.
///
/// Ids are read as ``RewardTokens`` says (stop at `eos`, drop `pad`); each remaining id becomes
/// its text (`tokenText`), joined by single spaces, and the reward is sacreBLEU's sentence chrF
/// of that text divided by 100. chrF leaves whitespace out of its character n-grams (unless
/// ``CHRF/whitespace``), so with the default options the reward is exactly the chrF of any
/// detokenization that only changes spacing (mixer's `detokenize`). A hypothesis `unknown` id
/// becomes U+FDD0, a noncharacter that text never holds, so it counts in the hypothesis's
/// n-grams but matches nothing (as `ReferenceTable`'s `<unk>`).
///
/// ```swift
/// let table = CHRFReferenceTable(references: [[12, 7, 99, 3]], tokens: RewardTokens(eos: 3),
///                                tokenText: { vocabulary[Int($0)] })
/// let r = table.reward([12, 7, 41, 3])   // chrF("w12 w7 w41", ["w12 w7 w99"]) / 100
/// ```
/// - Complexity: building O(Σ|ref text| · order); `reward` O(|hyp text| · order) expected, in
///   bounded memory (the hypothesis's n-grams are forgotten after each call).
/// - Note: not thread-safe; give each thread its own tables.
public final class CHRFReferenceTable {
    public let chrf: CHRF
    public let tokens: RewardTokens
    private let tokenText: (Int32) -> String
    private let scorer: CHRFSegmentScorer
    private let referenceMark: Int
    private var text: [UInt8] = []

    /// Prepares `references` (token-id sequences, read as `tokens` says).
    public init(references: [[Int32]], chrf: CHRF = CHRF(), tokens: RewardTokens = RewardTokens(),
                tokenText: @escaping (Int32) -> String) {
        self.chrf = chrf
        self.tokens = tokens
        self.tokenText = tokenText
        let s = CHRFSegmentScorer(chrf)
        s.beginSegment()
        var buffer: [UInt8] = []
        for r in references {
            Self.render(r, tokens: tokens, isReference: true, tokenText: tokenText, into: &buffer)
            buffer.withUnsafeBufferPointer { s.addReference($0) }
        }
        scorer = s
        referenceMark = s.mark
    }

    /// The text of `ids`: stop at eos, drop pad, unknown → U+FDD0 (hypotheses only), joined by spaces.
    static func render(_ ids: [Int32], tokens: RewardTokens, isReference: Bool, tokenText: (Int32) -> String,
                       into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        for id in ids {
            if id == tokens.eos { break }
            if id == tokens.pad { continue }
            if !out.isEmpty { out.append(0x20) }
            if !isReference && id == tokens.unknown { out += [0xEF, 0xB7, 0x90]; continue }   // U+FDD0
            out += tokenText(id).utf8
        }
    }

    /// The chrF statistics of a hypothesis against the references (best reference by chrF).
    public func statistics(_ hypothesis: [Int32]) -> CHRFStatistics {
        Self.render(hypothesis, tokens: tokens, isReference: false, tokenText: tokenText, into: &text)
        let stats = text.withUnsafeBufferPointer { scorer.finishSegment(hypothesis: $0) }
        scorer.rewind(to: referenceMark)
        return stats
    }

    /// The reward of one hypothesis: sentence chrF on 0–1.
    public func reward(_ hypothesis: [Int32]) -> Double {
        chrf.fScore(statistics(hypothesis)) / 100
    }
}
