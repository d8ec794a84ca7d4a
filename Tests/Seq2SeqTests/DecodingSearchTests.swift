import Foundation
import Tokenize
import XCTest

@testable import Seq2Seq

/// Greedy and beam search against brute force and against each other.
final class DecodingSearchTests: XCTestCase {
    typealias F = DecodingFixture

    func testGreedyScoresAndAttentionMatchTeacherForcing() {
        let sources = F.sources(9, seed: 3, minLength: 0)
        var endedSome = false
        var cappedSome = false
        for model in F.varied {
            let hyps = SequenceDecoder(model: model).greedy(sources: sources, maxLength: 8)
            XCTAssertEqual(hyps.count, sources.count)
            for (h, s) in zip(hyps, sources) {
                let (lp, att) = F.teacherForced(model, source: s, ids: h.ids, ended: h.ended)
                XCTAssertEqual(h.logProb, lp, accuracy: 1e-4)
                XCTAssertEqual(h.score, h.logProb)
                XCTAssertEqual(h.attentionArgmax, att)
                XCTAssertEqual(h.attentionArgmax.count, h.length)
                if h.ended {
                    endedSome = endedSome || !h.ids.isEmpty
                } else {
                    cappedSome = true
                    XCTAssertEqual(h.ids.count, 8)
                }
                XCTAssertFalse(h.ids.contains(Vocabulary.pad) || h.ids.contains(Vocabulary.bos) || h.ids.contains(Vocabulary.eos))
            }
            // Each step is the argmax: no single-token change at the first step scores higher.
            for (h, s) in zip(hyps, sources) where !h.ids.isEmpty {
                var r = RandomGenerator(seed: 0)
                let st = model.initialState(model.encode(source: [s], training: false, rng: &r))
                let (lp, _, _) = model.step(st, input: [Vocabulary.bos])
                for w in [1] + Array(3..<12) { XCTAssertLessThanOrEqual(lp[w], lp[Int(h.ids[0])]) }
            }
        }
        XCTAssertTrue(endedSome && cappedSome, "the fixtures should have both early and capped outputs")
    }

    func testGreedyIsTheSameInAnyBatchAndOrder() {
        let sources = F.sources(11, seed: 4, minLength: 0)
        for model in F.varied {
            let d = SequenceDecoder(model: model)
            let one = sources.map { d.greedy(sources: [$0], maxLength: 9)[0].ids }
            let batched = d.greedy(sources: sources, maxLength: 9).map(\.ids)
            XCTAssertEqual(batched, one)
            let options = DecodingOptions(maxLength: 9)
            for bs in [1, 2, 5, 32] {
                let all = d.decodeAll(sources: sources, strategy: .greedy, options: options, batchSize: bs)
                XCTAssertEqual(all.map { $0[0].ids }, one, "batch size \(bs)")
            }
        }
    }

    func testBeamOfOneEqualsGreedy() {
        for (seed, model) in zip([UInt64(1), 2, 3], F.varied) {
            let sources = F.sources(8, seed: seed + 10, minLength: 0)
            let d = SequenceDecoder(model: model)
            for options in [DecodingOptions(maxLength: 7), DecodingOptions(maxLength: 7, minLength: 2, noRepeatNgramSize: 2)] {
                let g = d.greedy(sources: sources, options: options)
                let b = d.beamSearch(sources: sources, beam: BeamOptions(beamSize: 1), options: options)
                for (x, y) in zip(g, b) {
                    XCTAssertEqual(y.count, 1)
                    XCTAssertEqual(x.ids, y[0].ids, "seed \(seed)")
                    XCTAssertEqual(x.ended, y[0].ended)
                    XCTAssertEqual(x.logProb, y[0].logProb, accuracy: 1e-5)
                    XCTAssertEqual(x.attentionArgmax, y[0].attentionArgmax)
                }
            }
        }
    }

    /// On a model small enough to enumerate every output (5 producible tokens, 4 steps), a beam
    /// wide enough never to prune returns the exact best output, under every length penalty.
    func testWideBeamFindsTheExhaustiveBest() {
        let penalties: [LengthPenalty] = [.none, .gnmt(alpha: 0.6), .gnmt(alpha: 2), .gnmt(alpha: -0.5), .average]
        var distinctWinners = Set<[Int32]>()
        for seed in [UInt64(5), 6, 7, 8] {
            let model = F.model(targetVocab: 7, seed: seed, initScale: 0.8, eosBias: 0.5)
            let d = SequenceDecoder(model: model)
            for source in F.sources(3, seed: seed, minLength: 0, maxLength: 4) {
                let all = F.enumerate(model, source: source, maxLength: 4)
                XCTAssertEqual(all.count, 1 + 4 + 16 + 64 + 256)
                for penalty in penalties {
                    let scored = all.map { ($0, penalty.score(logProb: $0.logProb, length: $0.ids.count + ($0.ended ? 1 : 0))) }
                    let best = scored.max { $0.1 < $1.1 }!
                    let hyps = d.beamSearch(
                        sources: [source], beam: BeamOptions(beamSize: 256, nBest: 3, lengthPenalty: penalty),
                        options: DecodingOptions(maxLength: 4))[0]
                    XCTAssertEqual(hyps[0].ids, best.0.ids, "seed \(seed) \(penalty)")
                    XCTAssertEqual(hyps[0].ended, best.0.ended, "seed \(seed) \(penalty)")
                    XCTAssertEqual(hyps[0].score, best.1, accuracy: 1e-5)
                    // The n-best list is the exhaustive top 3.
                    let top = scored.map(\.1).sorted(by: >).prefix(3)
                    XCTAssertEqual(hyps.count, 3)
                    for (h, s) in zip(hyps, top) { XCTAssertEqual(h.score, s, accuracy: 1e-5) }
                    distinctWinners.insert(best.0.ids + [best.0.ended ? 3 : 0])
                }
            }
        }
        XCTAssertGreaterThan(distinctWinners.count, 4, "the fixture should produce varied winners")
    }

    func testNBestIsSortedUniqueAndCorrectlyScored() {
        let sources = F.sources(6, seed: 21, minLength: 0)
        for model in F.varied {
            let d = SequenceDecoder(model: model)
            for penalty in [LengthPenalty.none, .gnmt(alpha: 1), .average] {
                let out = d.beamSearch(
                    sources: sources, beam: BeamOptions(beamSize: 8, nBest: 8, lengthPenalty: penalty),
                    options: DecodingOptions(maxLength: 6))
                for (hs, s) in zip(out, sources) {
                    XCTAssertEqual(hs.count, 8)
                    XCTAssertEqual(Set(hs.map { $0.ids + [$0.ended ? 3 : 0] }).count, hs.count, "n-best must be unique")
                    for (a, b) in zip(hs, hs.dropFirst()) { XCTAssertGreaterThanOrEqual(a.score, b.score) }
                    for h in hs {
                        let (lp, att) = F.teacherForced(model, source: s, ids: h.ids, ended: h.ended)
                        XCTAssertEqual(h.logProb, lp, accuracy: 1e-4)
                        XCTAssertEqual(h.score, penalty.score(logProb: h.logProb, length: h.length), accuracy: 1e-9)
                        XCTAssertEqual(h.attentionArgmax, att)
                        XCTAssertTrue(h.ended || h.ids.count == 6)
                    }
                }
                // The best of the n-best list is the 1-best.
                let one = d.beamSearch(
                    sources: sources, beam: BeamOptions(beamSize: 8, nBest: 1, lengthPenalty: penalty),
                    options: DecodingOptions(maxLength: 6))
                XCTAssertEqual(one.map { $0[0].ids }, out.map { $0[0].ids })
            }
        }
    }

    /// The n-best tie order, pinned: a model whose output layer is zero gives every allowed
    /// token the same log-probability, so every output of a length ties with every other. Beam
    /// search then must follow its documented rule exactly — candidates in order of k·V + w
    /// (lower first), finished hypotheses after equal scores already finished — in any batch.
    /// With K = 3, n-best 3 and at most 2 steps over the allowed tokens {<unk>=1, </s>=3, 4, 5}:
    /// step 1 walks (0,1) (0,3) (0,4) (0,5): [] finishes, [1] [4] [5] live; step 2 walks row 0
    /// first: [1] finishes, [1,1] [1,4] [1,5] fill the beam and end at the length limit. Kept:
    /// [] (−log 6), [1] (−2 log 6), [1,1] (−2 log 6, finished after [1]).
    func testNBestTieOrderIsTheDocumentedOne() {
        let model = F.model(targetVocab: 6, seed: 5)
        for name in ["output.weight", "output.bias"] {
            let e = model.params.entry(name)!
            model.params.view(e).update(repeating: 0, count: e.count)
        }
        let d = SequenceDecoder(model: model)
        let beam = BeamOptions(beamSize: 3, nBest: 3, lengthPenalty: .none)
        let options = DecodingOptions(maxLength: 2)
        let sources = F.sources(5, seed: 41, minLength: 0)
        let expected: [([Int32], Bool)] = [([], true), ([1], true), ([1, 1], false)]
        let lp = -log(6.0)
        for bs in [1, 2, 5] {
            let all = d.decodeAll(sources: sources, strategy: .beam(beam), options: options, batchSize: bs)
            for hs in all {
                XCTAssertEqual(hs.map(\.ids), expected.map(\.0), "batch \(bs)")
                XCTAssertEqual(hs.map(\.ended), expected.map(\.1), "batch \(bs)")
                for h in hs { XCTAssertEqual(h.logProb, Double(h.ids.count + (h.ended ? 1 : 0)) * lp, accuracy: 1e-5) }
            }
        }
        // A wider beam keeps the same order among the ties it also finds: every output of one
        // token, then the two-token ones in (k, w) order.
        let wide = d.beamSearch(sources: [sources[0]], beam: BeamOptions(beamSize: 8, nBest: 6, lengthPenalty: .none),
                                options: options)[0]
        XCTAssertEqual(wide.map(\.ids), [[], [1], [4], [5], [1, 1], [1, 4]])
    }

    func testBeamIsTheSameInAnyBatch() {
        let sources = F.sources(7, seed: 31, minLength: 0)
        for model in F.varied {
            let d = SequenceDecoder(model: model)
            let beam = BeamOptions(beamSize: 4, nBest: 2, lengthPenalty: .gnmt(alpha: 0.6))
            let options = DecodingOptions(maxLength: 8)
            let single = sources.map { d.beamSearch(sources: [$0], beam: beam, options: options)[0].map(\.ids) }
            for bs in [2, 7] {
                let all = d.decodeAll(sources: sources, strategy: .beam(beam), options: options, batchSize: bs)
                XCTAssertEqual(all.map { $0.map(\.ids) }, single)
            }
        }
    }

    func testMinimumLengthIsRespected() {
        let model = F.model(eosBias: 4)  // </s> first almost always
        let d = SequenceDecoder(model: model)
        let sources = F.sources(6, seed: 41)
        XCTAssertTrue(d.greedy(sources: sources, maxLength: 9).allSatisfy { $0.ids.isEmpty && $0.ended })
        let options = DecodingOptions(maxLength: 9, minLength: 3)
        let g = d.greedy(sources: sources, options: options)
        let b = d.beamSearch(sources: sources, beam: BeamOptions(beamSize: 3, nBest: 3), options: options)
        let s = d.sample(sources: sources, sampling: SamplingOptions(numSamples: 3), options: options, seed: 1)
        for h in g + b.flatMap { $0 } + s.flatMap { $0 } {
            XCTAssertGreaterThanOrEqual(h.ids.count, 3)
        }
        XCTAssertTrue(g.allSatisfy { $0.ids.count == 3 && $0.ended }, "</s> comes as soon as it is allowed")
    }

    func testNoRepeatNgramIsRespected() {
        let model = F.model(targetVocab: 8, seed: 2)
        let d = SequenceDecoder(model: model)
        let sources = F.sources(8, seed: 51)
        func repeats(_ ids: [Int32], _ n: Int) -> Bool {
            guard ids.count >= n else { return false }
            var seen = Set<[Int32]>()
            for i in 0...(ids.count - n) where !seen.insert(Array(ids[i..<(i + n)])).inserted { return true }
            return false
        }
        // Unconstrained, this model repeats itself (so the check below is not vacuous).
        XCTAssertTrue(d.greedy(sources: sources, maxLength: 15).contains { repeats($0.ids, 2) })
        for n in [1, 2, 3] {
            let options = DecodingOptions(maxLength: 15, noRepeatNgramSize: n)
            let g = d.greedy(sources: sources, options: options)
            let b = d.beamSearch(sources: sources, beam: BeamOptions(beamSize: 4, nBest: 4), options: options)
            let s = d.sample(sources: sources, sampling: SamplingOptions(numSamples: 4), options: options, seed: 9)
            for h in g + b.flatMap { $0 } + s.flatMap { $0 } {
                XCTAssertFalse(repeats(h.ids, n), "n = \(n): \(h.ids)")
            }
        }
    }

    func testBannedNgramTokens() {
        var banned: [Int32] = []
        Constraints.forEachRepeatingToken([5, 6, 7, 5, 6, 9, 5], n: 3) { banned.append($0) }
        XCTAssertEqual(banned, [])
        Constraints.forEachRepeatingToken([5, 6, 7, 5, 6, 9, 5, 6], n: 3) { banned.append($0) }
        XCTAssertEqual(banned, [7, 9])
        banned = []
        Constraints.forEachRepeatingToken([4, 4], n: 2) { banned.append($0) }
        XCTAssertEqual(banned, [4])
    }

    func testIgnoringEndOfSequenceRunsExactlyMaxLengthSteps() {
        let model = F.model(eosBias: 4)
        let d = SequenceDecoder(model: model)
        let sources = F.sources(5, seed: 61)
        let options = DecodingOptions(maxLength: 6, ignoreEOS: true)
        let g = d.greedy(sources: sources, options: options)
        XCTAssertTrue(g.allSatisfy { $0.ids.count == 6 && !$0.ended && $0.ids.contains(Vocabulary.eos) })
        let b = d.beamSearch(sources: sources, beam: BeamOptions(beamSize: 3), options: options)
        XCTAssertTrue(b.allSatisfy { $0[0].ids.count == 6 && !$0[0].ended })
    }

    func testEmptyInputsAndEmptySources() {
        let d = SequenceDecoder(model: F.model())
        XCTAssertEqual(d.greedy(sources: [], maxLength: 3), [])
        XCTAssertEqual(
            d.decodeAll(sources: [], strategy: .beam(BeamOptions()), options: DecodingOptions(maxLength: 3), batchSize: 4).count, 0)
        let h = d.greedy(sources: [[]], maxLength: 3)[0]
        XCTAssertTrue(h.attentionArgmax.allSatisfy { $0 == -1 })
    }

    func testOptionValidation() {
        XCTAssertThrowsError(try BeamOptions(beamSize: 0).validate())
        XCTAssertThrowsError(try BeamOptions(beamSize: 2, nBest: 3).validate())
        XCTAssertThrowsError(try BeamOptions(lengthPenalty: .gnmt(alpha: .nan)).validate())
        XCTAssertThrowsError(try SamplingOptions(temperature: 0).validate())
        XCTAssertThrowsError(try SamplingOptions(topP: 0).validate())
        XCTAssertThrowsError(try SamplingOptions(topP: 1.5).validate())
        XCTAssertThrowsError(try SamplingOptions(topK: -1).validate())
        XCTAssertThrowsError(try SamplingOptions(numSamples: 0).validate())
        XCTAssertThrowsError(try DecodingOptions(maxLength: 0).validate())
        XCTAssertThrowsError(try DecodingOptions(maxLength: 3, minLength: 3).validate())
        XCTAssertNoThrow(try SamplingOptions(temperature: 0.5, topK: 3, topP: 1).validate())
        XCTAssertEqual(LengthPenalty.gnmt(alpha: 1).divisor(length: 7), 2, accuracy: 1e-12)
        // GNMT's ((5 + |Y|) / 6)^α pinned at α = 0.6 and 2 (values from the formula written out):
        // (12/6)^0.6 = 2^0.6 = 1.515716566510398, (9/6)^2 = 2.25, and a score divided by it.
        XCTAssertEqual(LengthPenalty.gnmt(alpha: 0.6).divisor(length: 7), 1.515716566510398, accuracy: 1e-12)
        XCTAssertEqual(LengthPenalty.gnmt(alpha: 2).divisor(length: 4), 2.25, accuracy: 1e-12)
        XCTAssertEqual(LengthPenalty.gnmt(alpha: 2).score(logProb: -4.5, length: 4), -2, accuracy: 1e-12)
        XCTAssertEqual(LengthPenalty.gnmt(alpha: 0.6).score(logProb: -3, length: 7), -3 / 1.515716566510398, accuracy: 1e-12)
        XCTAssertEqual(LengthPenalty.average.score(logProb: -6, length: 3), -2)
    }
}

/// `--replace-unk` on hand-made hypotheses.
final class DecodingTextTests: XCTestCase {
    func testReplaceUnkUsesTheAttentionArgmax() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dec-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let src = Vocabulary(counting: [["a", "b"]]), tgt = Vocabulary(counting: [["x", "y"]])
        var mc = ModelConfig(sourceVocabSize: src.count, targetVocabSize: tgt.count)
        mc.embeddingSize = 4; mc.hiddenSize = 4; mc.encoderHiddenSize = 4
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 5, mixerVersion: "test")
        try TrainedModel.save(to: root.path, model: EncoderDecoder(config: mc, seed: 1), config: rc,
                              sourceVocabulary: src, targetVocabulary: tgt)
        let m = try TrainedModel(directory: root.path)
        XCTAssertEqual(m.defaultMaxLength, 6)
        let x = tgt.id("x"), unk = Vocabulary.unk
        let h = Hypothesis(ids: [unk, x, unk, unk], ended: true, logProb: -1, score: -1, attentionArgmax: [2, 0, 0, -1, 1])
        XCTAssertEqual(m.outputTokens(h, sourceTokens: ["Zoë", "b", "Ulm"], replaceUnk: true), ["Ulm", "x", "Zoë", "<unk>"])
        XCTAssertEqual(m.outputTokens(h, sourceTokens: ["Zoë", "b", "Ulm"], replaceUnk: false), ["<unk>", "x", "<unk>", "<unk>"])
    }
}
