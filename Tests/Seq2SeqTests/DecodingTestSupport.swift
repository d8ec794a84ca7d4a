import Foundation
import Tokenize
import XCTest

@testable import Seq2Seq

/// Tiny models and a brute-force oracle for the decoding tests.
enum DecodingFixture {
    /// A random model over a source vocabulary of 10 and a target vocabulary of `targetVocab`;
    /// a large init scale makes its distributions peaked and varied. `eosBias` is added to the
    /// output bias of `</s>` (positive: outputs end early), `unkBias` to `<unk>`'s.
    static func model(
        targetVocab: Int = 12, seed: UInt64 = 1, initScale: Float = 0.6,
        eosBias: Float = 0, unkBias: Float = 0
    ) -> EncoderDecoder {
        var c = ModelConfig(sourceVocabSize: 10, targetVocabSize: targetVocab)
        c.embeddingSize = 8
        c.hiddenSize = 8
        c.encoderHiddenSize = 6
        c.dropout = 0
        c.initScale = initScale
        let m = EncoderDecoder(config: c, seed: seed)
        m.params.view("output.bias")[Int(Vocabulary.eos)] += eosBias
        m.params.view("output.bias")[Int(Vocabulary.unk)] += unkBias
        return m
    }

    /// Models whose greedy outputs on `sources(9, seed: 3, minLength: 0)` end at various
    /// lengths, some by `</s>` and some at a maximum length of 8 (checked by the greedy test).
    static var varied: [EncoderDecoder] { [model(seed: 1, eosBias: 0.6), model(seed: 3), model(seed: 2, eosBias: 0.6)] }

    /// Random sources of 0...maxLength ids from 4..<10 (some empty when minLength is 0).
    static func sources(_ n: Int, seed: UInt64, minLength: Int = 1, maxLength: Int = 7) -> [[Int32]] {
        var rng = RandomGenerator(seed: seed)
        return (0..<n).map { _ in
            (0..<(minLength + Int(rng.next() % UInt64(maxLength - minLength + 1)))).map { _ in Int32(4 + rng.next() % 6) }
        }
    }

    /// log p(ids (+ </s> when ended) | source), by stepping the model one token at a time
    /// (batch 1), and the attention argmax of every step.
    static func teacherForced(_ model: EncoderDecoder, source: [Int32], ids: [Int32], ended: Bool) -> (Double, [Int]) {
        var r = RandomGenerator(seed: 0)
        let enc = model.encode(source: [source], training: false, rng: &r)
        var state = model.initialState(enc)
        var input = Vocabulary.bos
        var total = 0.0
        var argmaxes: [Int] = []
        for y in ids + (ended ? [Vocabulary.eos] : []) {
            let (lp, a, next) = model.step(state, input: [input])
            total += Double(lp[Int(y)])
            var best = source.isEmpty ? -1 : 0
            for j in 0..<source.count where a[j] > a[best] { best = j }
            argmaxes.append(best)
            state = next
            input = y
        }
        return (total, argmaxes)
    }

    /// Every output of at most `maxLength` steps (ended by </s>, or exactly maxLength tokens
    /// without it) over the tokens the decoder may produce, with its log-probability, found by
    /// expanding every prefix (breadth first, one batch per depth).
    static func enumerate(_ model: EncoderDecoder, source: [Int32], maxLength: Int) -> [(ids: [Int32], ended: Bool, logProb: Double)] {
        let V = model.config.targetVocabSize
        let words: [Int32] = [Vocabulary.unk] + (4..<Int32(V)).map { $0 }
        var r = RandomGenerator(seed: 0)
        let enc = model.encode(source: [source], training: false, rng: &r)
        var state = model.initialState(enc)
        var prefixes: [(ids: [Int32], logProb: Double)] = [([], 0)]
        var inputs: [Int32] = [Vocabulary.bos]
        var out: [(ids: [Int32], ended: Bool, logProb: Double)] = []
        for depth in 0..<maxLength {
            let (lp, _, next) = model.step(state, input: inputs)
            var grown: [(ids: [Int32], logProb: Double)] = []
            var rows: [Int] = []
            var nextInputs: [Int32] = []
            for (k, p) in prefixes.enumerated() {
                out.append((p.ids, true, p.logProb + Double(lp[k * V + Int(Vocabulary.eos)])))
                for w in words {
                    let q = (p.ids + [w], p.logProb + Double(lp[k * V + Int(w)]))
                    if depth + 1 == maxLength {
                        out.append((q.0, false, q.1))
                    } else {
                        grown.append(q)
                        rows.append(k)
                        nextInputs.append(w)
                    }
                }
            }
            if depth + 1 == maxLength { break }
            state = next.select(rows: rows)
            prefixes = grown
            inputs = nextInputs
        }
        return out
    }
}
