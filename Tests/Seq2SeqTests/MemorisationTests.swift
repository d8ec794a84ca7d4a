import XCTest
@testable import Seq2Seq

/// A tiny model memorises 20 random pairs: training loss < 0.05 and greedy output (via `step`)
/// equal to every target. Training runs on to a mean loss of 0.02, so that no target token is
/// left a near-tie that rounding could flip (at 0.05 one of 100 tokens can still be). The optimizer is a plain Adam written here (the library's own
/// optimizers are tested elsewhere).
final class MemorisationTests: XCTestCase {
    func memorise(_ encoder: ModelConfig.EncoderKind) {
        var rng = RandomGenerator(seed: 2024)
        let pairs: [([Int32], [Int32])] = (0..<20).map { _ in
            let s = (0..<(3 + Int(rng.next() % 5))).map { _ in Int32(4 + rng.next() % 26) }
            let t = (0..<(2 + Int(rng.next() % 5))).map { _ in Int32(4 + rng.next() % 26) } + [3]
            return (s, t)
        }
        var c = ModelConfig(sourceVocabSize: 30, targetVocabSize: 30)
        c.embeddingSize = 32; c.hiddenSize = 32; c.encoderHiddenSize = 32; c.dropout = 0; c.encoder = encoder
        let model = EncoderDecoder(config: c, seed: 1)
        var dropout = RandomGenerator(seed: 1).split("dropout")
        let n = model.params.count
        var m = [Float](repeating: 0, count: n), v = [Float](repeating: 0, count: n)
        let lr: Float = 0.01, b1: Float = 0.9, b2: Float = 0.999
        var loss = 1.0
        var step = 0
        let src = pairs.map(\.0), tgt = pairs.map(\.1)
        while step < 800 && loss >= 0.02 {
            step += 1
            model.grads.zero()
            loss = CrossEntropy.teacherForcedStep(model, source: src, target: tgt, rng: &dropout)
            let c1 = 1 - powf(b1, Float(step)), c2 = 1 - powf(b2, Float(step))
            let p = model.params.storage, g = model.grads.storage
            for i in 0..<n {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
            }
        }
        XCTAssertLessThan(loss, 0.05, "\(encoder): loss after \(step) steps")
        // Greedy decoding with `step`, dropping nothing: run to the longest target + 2.
        var r = RandomGenerator(seed: 0)
        let enc = model.encode(source: src, training: false, rng: &r)
        var state = model.initialState(enc)
        var input = [Int32](repeating: 2, count: 20)
        var out = [[Int32]](repeating: [], count: 20)
        var done = [Bool](repeating: false, count: 20)
        for _ in 0..<9 {
            let (lp, _, next) = model.step(state, input: input)
            for b in 0..<20 {
                var best = 0
                for w in 1..<30 where lp[b * 30 + w] > lp[b * 30 + best] { best = w }
                input[b] = Int32(best)
                if !done[b] { out[b].append(Int32(best)); done[b] = best == 3 }
            }
            state = next
        }
        XCTAssertEqual(out, tgt, "\(encoder): greedy output after \(step) steps")
    }

    func testBiLSTMModelMemorisesTwentyPairs() { memorise(.bilstm) }
    func testConvModelMemorisesTwentyPairs() { memorise(.conv) }
}
