/// Signs that a generator is degenerating, measured on a set of outputs (token ids).
///
/// MIXER and other REINFORCE-style objectives can drift into repetitive, short or endless
/// outputs that still earn reward. These figures make that visible in the training log:
/// - `repeatedBigrams`: the share of output bigrams that already occurred earlier in the same
///   output (0 for no repetition);
/// - `distinct1`, `distinct2`: distinct unigrams (bigrams) over all unigrams (bigrams) in the
///   whole set (Li et al., 2016, [arXiv:1510.03055](https://arxiv.org/abs/1510.03055));
/// - `lengthRatio`: total output length over total reference length;
/// - `noEOS`: the share of outputs that never emitted `</s>` (cut at the length limit).
///
/// Outputs are id sequences *without* `</s>`; whether each one ended with `</s>` is passed
/// separately. - Complexity: O(total tokens) expected.
public struct DegenerationStats: Equatable, Sendable {
    public var repeatedBigrams = 0.0
    public var distinct1 = 0.0
    public var distinct2 = 0.0
    public var lengthRatio = 0.0
    public var noEOS = 0.0

    public init() {}

    /// Measures `outputs` against `references` (for the length ratio).
    /// - Parameters:
    ///   - outputs: generated ids, `</s>` and padding removed.
    ///   - endedWithEOS: for each output, whether the decoder emitted `</s>`.
    ///   - references: the reference ids, for the length ratio (`</s>` removed).
    public init(outputs: [[Int32]], endedWithEOS: [Bool], references: [[Int32]]) {
        precondition(outputs.count == endedWithEOS.count, "One EOS flag per output")
        var unigrams = Set<Int32>(), bigrams = Set<UInt64>()
        var nUni = 0, nBi = 0, repeated = 0, outLen = 0
        for o in outputs {
            nUni += o.count
            outLen += o.count
            unigrams.formUnion(o)
            var seen = Set<UInt64>()
            if o.count >= 2 {
                for i in 1..<o.count {
                    let key = UInt64(UInt32(bitPattern: o[i - 1])) << 32 | UInt64(UInt32(bitPattern: o[i]))
                    nBi += 1
                    bigrams.insert(key)
                    if !seen.insert(key).inserted { repeated += 1 }
                }
            }
        }
        let refLen = references.reduce(0) { $0 + $1.count }
        repeatedBigrams = nBi > 0 ? Double(repeated) / Double(nBi) : 0
        distinct1 = nUni > 0 ? Double(unigrams.count) / Double(nUni) : 0
        distinct2 = nBi > 0 ? Double(bigrams.count) / Double(nBi) : 0
        lengthRatio = refLen > 0 ? Double(outLen) / Double(refLen) : 0
        noEOS = outputs.isEmpty ? 0 : Double(endedWithEOS.filter { !$0 }.count) / Double(outputs.count)
    }
}
