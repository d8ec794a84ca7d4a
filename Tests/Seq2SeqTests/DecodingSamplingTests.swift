import Foundation
import Tokenize
import XCTest

@testable import Seq2Seq

/// Sampling: seeded, batch-independent, and following the model's (truncated) distribution.
final class DecodingSamplingTests: XCTestCase {
    typealias F = DecodingFixture

    func testTopKOneEqualsGreedy() {
        let model = F.model(seed: 3)
        let d = SequenceDecoder(model: model)
        let sources = F.sources(7, seed: 71, minLength: 0)
        let options = DecodingOptions(maxLength: 8)
        let g = d.greedy(sources: sources, options: options)
        for t in [0.5, 1, 3] {
            let s = d.sample(sources: sources, sampling: SamplingOptions(temperature: t, topK: 1, numSamples: 3), options: options, seed: 5)
            for (x, ys) in zip(g, s) {
                for y in ys {
                    XCTAssertEqual(y.ids, x.ids)
                    XCTAssertEqual(y.logProb, x.logProb, accuracy: 1e-5)
                }
            }
        }
        // A tiny nucleus is the argmax too.
        let p = d.sample(sources: sources, sampling: SamplingOptions(topP: 1e-6, numSamples: 2), options: options, seed: 5)
        XCTAssertEqual(p.map { $0[0].ids }, g.map(\.ids))
    }

    func testSameSeedSameOutputInAnyBatch() {
        let model = F.model(seed: 3)
        let d = SequenceDecoder(model: model)
        let sources = F.sources(9, seed: 72, minLength: 0)
        let options = DecodingOptions(maxLength: 10)
        let strategy = DecodingStrategy.sample(SamplingOptions(temperature: 1.2, topK: 6, topP: 0.95, numSamples: 3))
        let a = d.decodeAll(sources: sources, strategy: strategy, options: options, batchSize: 9, seed: 42)
        let b = d.decodeAll(sources: sources, strategy: strategy, options: options, batchSize: 2, seed: 42)
        let c = d.decodeAll(sources: sources, strategy: strategy, options: options, batchSize: 4, seed: 43)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.map { $0.map(\.ids) }, c.map { $0.map(\.ids) })
        for (hs, s) in zip(a, sources) {
            XCTAssertEqual(hs.count, 3)
            for (x, y) in zip(hs, hs.dropFirst()) { XCTAssertGreaterThanOrEqual(x.score, y.score) }
            for h in hs {
                let (lp, att) = F.teacherForced(model, source: s, ids: h.ids, ended: h.ended)
                XCTAssertEqual(h.logProb, lp, accuracy: 1e-4)
                XCTAssertEqual(h.attentionArgmax, att)
            }
        }
    }

    /// The expected one-step distribution under temperature, top-k and top-p, computed the
    /// plain way (full sort) from the model's log-probabilities.
    func expected(_ lp: [Float], _ o: SamplingOptions) -> [Double] {
        let allowed = (0..<lp.count).filter { $0 != 0 && $0 != 2 }
        let m = allowed.map { Double(lp[$0]) }.max()!
        var q = [Double](repeating: 0, count: lp.count)
        for w in allowed { q[w] = exp((Double(lp[w]) - m) / o.temperature) }
        var order = allowed.sorted { q[$0] > q[$1] || (q[$0] == q[$1] && $0 < $1) }
        if o.topK > 0 { order = Array(order.prefix(o.topK)) }
        let z = order.reduce(0) { $0 + q[$1] }
        if o.topP < 1 {
            var acc = 0.0
            var n = order.count
            for (i, w) in order.enumerated() {
                acc += q[w] / z
                if acc >= o.topP {
                    n = i + 1
                    break
                }
            }
            order = Array(order.prefix(n))
        }
        let zz = order.reduce(0) { $0 + q[$1] }
        var p = [Double](repeating: 0, count: lp.count)
        for w in order { p[w] = q[w] / zz }
        return p
    }

    /// 20,000 one-step samples per setting; Pearson's χ² over the kept tokens stays below 35
    /// (for the ≤ 10 degrees of freedom here, P(χ² > 35) < 2·10⁻⁴ under a correct sampler), and
    /// no token outside the kept set is ever drawn.
    /// A file decoded in chunks (as `mixer-cli decode` streams it) draws the same samples as
    /// when decoded at once: `firstIndex` numbers the chunk's inputs within the whole file.
    func testChunkedSamplingEqualsWholeFile() {
        let model = DecodingFixture.model(seed: 4)
        let sources = DecodingFixture.sources(10, seed: 8)
        let strategy = DecodingStrategy.sample(SamplingOptions(temperature: 1, topK: 0, topP: 1, numSamples: 2))
        let options = DecodingOptions(maxLength: 6)
        let d = SequenceDecoder(model: model)
        let whole = d.decodeAll(sources: sources, strategy: strategy, options: options, batchSize: 4, seed: 11)
        let first = d.decodeAll(sources: Array(sources[..<6]), strategy: strategy, options: options, batchSize: 4, seed: 11)
        let rest = d.decodeAll(sources: Array(sources[6...]), strategy: strategy, options: options, batchSize: 4,
                               seed: 11, firstIndex: 6)
        XCTAssertEqual((first + rest).map { $0.map(\.ids) }, whole.map { $0.map(\.ids) })
    }

    func testFrequenciesFollowTheTruncatedDistribution() {
        let model = F.model(targetVocab: 12, seed: 3, initScale: 0.3)
        let d = SequenceDecoder(model: model)
        let source: [Int32] = [4, 5, 6, 7]
        var r = RandomGenerator(seed: 0)
        let st = model.initialState(model.encode(source: [source], training: false, rng: &r))
        let lp = model.step(st, input: [Vocabulary.bos]).logProbs
        let n = 20_000
        let settings = [
            SamplingOptions(), SamplingOptions(temperature: 0.7, topK: 4), SamplingOptions(topP: 0.7),
            SamplingOptions(temperature: 2, topK: 6, topP: 0.8), SamplingOptions(temperature: 0.5, topP: 0.9),
        ]
        for o in settings {
            var options = o
            options.numSamples = n
            let p = expected(lp, o)
            let kept = p.filter { $0 > 0 }.count
            XCTAssertGreaterThan(kept, 1, "\(o): the setting should keep several tokens")
            let out = d.sample(sources: [source], sampling: options, options: DecodingOptions(maxLength: 1), seed: 11)[0]
            var counts = [Int](repeating: 0, count: lp.count)
            for h in out { counts[h.ended ? Int(Vocabulary.eos) : Int(h.ids[0])] += 1 }
            var chi2 = 0.0
            for w in 0..<lp.count {
                if p[w] == 0 {
                    XCTAssertEqual(counts[w], 0, "\(o): token \(w) is outside the kept set")
                    continue
                }
                let e = p[w] * Double(n)
                chi2 += (Double(counts[w]) - e) * (Double(counts[w]) - e) / e
            }
            XCTAssertLessThan(chi2, 35, "\(o): χ² = \(chi2) over \(kept - 1) degrees of freedom, counts \(counts)")
        }
    }

    func testSamplerNucleusFallbackAndEdgeCases() {
        // A flat row: the cutoff keeps every token and the nucleus is most of them.
        var s = TokenSampler(vocabSize: 6, options: SamplingOptions(topP: 0.5))
        var rng = RandomGenerator(seed: 1)
        let flat: [Float] = [-.infinity, -1.8, -.infinity, -1.8, -1.8, -1.8]
        var seen = Set<Int>()
        for _ in 0..<200 { seen.insert(flat.withUnsafeBufferPointer { s.draw($0.baseAddress!, rng: &rng)! }) }
        XCTAssertEqual(seen, [1, 3], "p = 0.5 of four equal tokens keeps the two lowest ids")
        // A very long tail below the cutoff still counts toward the total mass.
        var t = TokenSampler(vocabSize: 4, options: SamplingOptions(topP: 0.99))
        let peaked: [Float] = [0, -30, -30, -30]
        var seenTail = Set<Int>()
        for _ in 0..<2000 { seenTail.insert(peaked.withUnsafeBufferPointer { t.draw($0.baseAddress!, rng: &rng)! }) }
        XCTAssertEqual(seenTail, [0])
        let none: [Float] = [-.infinity, -.infinity]
        var u = TokenSampler(vocabSize: 2, options: SamplingOptions())
        XCTAssertNil(none.withUnsafeBufferPointer { u.draw($0.baseAddress!, rng: &rng) })
    }
}
