import XCTest
@testable import Seq2Seq

final class ModelBehaviourTests: XCTestCase {
    /// `step` (incremental inference) gives the log-probs and attention of teacher-forced
    /// `decodeForTraining` on the same inputs (dropout off). The only difference is the GEMM
    /// shape of the output layer ([B, H] vs [T·B, H] rows), so agreement is to Float rounding.
    func testStepMatchesTeacherForcedDecoding() {
        for (name, config) in ModelGradientTests.allConfigs {
            let model = EncoderDecoder(config: config, seed: 5)
            var r = RandomGenerator(seed: 1)
            let inputs = EncoderDecoder.teacherInputs(targets: ModelGradientTests.targets)
            let enc = model.encode(source: ModelGradientTests.sources, training: false, rng: &r)
            let tr = model.decodeForTraining(enc, inputs: inputs, training: false, rng: &r)
            var state = model.initialState(enc)
            let B = 3, V = 7, S = enc.sourceLength
            for t in 0..<inputs.count {
                let (lp, att, next) = model.step(state, input: inputs[t])
                for b in 0..<B {
                    for w in 0..<V { XCTAssertEqual(lp[b * V + w], tr.logProb(step: t, row: b, token: Int32(w)), accuracy: 2e-5, "\(name) t \(t)") }
                    for j in 0..<S { XCTAssertEqual(att[b * S + j], tr.attention[(t * B + b) * S + j], accuracy: 1e-5) }
                }
                let o = tr.output(step: t)
                for i in 0..<o.count { XCTAssertEqual(next.feed[i], o[i], accuracy: 1e-5) }
                state = next
            }
        }
    }

    /// The callback path computes the same numbers as the teacher-forced one.
    func testCallbackDecodingEqualsTeacherForcing() {
        let model = EncoderDecoder(config: ModelGradientTests.tiny(.bilstm, .general, feeding: true, dropout: 0.3), seed: 2)
        let inputs = EncoderDecoder.teacherInputs(targets: ModelGradientTests.targets)
        var r1 = RandomGenerator(seed: 4), r2 = RandomGenerator(seed: 4)
        let e1 = model.encode(source: ModelGradientTests.sources, training: true, rng: &r1)
        let t1 = model.decodeForTraining(e1, inputs: inputs, training: true, rng: &r1)
        let e2 = model.encode(source: ModelGradientTests.sources, training: true, rng: &r2)
        let t2 = model.decodeForTraining(e2, steps: inputs.count, firstInput: inputs[0], nextInput: { t, _ in inputs[t + 1] },
                                         training: true, rng: &r2)
        XCTAssertEqual(r1, r2, "same number of dropout draws")
        for i in 0..<t1.probs.count { XCTAssertEqual(t1.probs[i], t2.probs[i], accuracy: 1e-6) }
        XCTAssertEqual(t1.outputs.array, t2.outputs.array)
    }

    /// Selecting and repeating rows of a decoder state (beams) continues each row exactly.
    func testStateSelectAndRepeatRows() {
        let model = EncoderDecoder(config: ModelGradientTests.tiny(.conv, .general, feeding: true, dropout: 0), seed: 3)
        var r = RandomGenerator(seed: 0)
        let enc = model.encode(source: ModelGradientTests.sources, training: false, rng: &r)
        let s0 = model.initialState(enc)
        let (_, _, s1) = model.step(s0, input: [2, 2, 2])
        let (lpAll, _, _) = model.step(s1, input: [4, 5, 6])
        let picked = s1.select(rows: [2, 0])
        XCTAssertEqual(picked.encoderRows, [2, 0])
        let (lpPicked, _, _) = model.step(picked, input: [6, 4])
        XCTAssertEqual(Array(lpPicked[0..<7]), Array(lpAll[14..<21]))
        XCTAssertEqual(Array(lpPicked[7..<14]), Array(lpAll[0..<7]))
        let beams = s1.repeatRows(2)
        XCTAssertEqual(beams.encoderRows, [0, 0, 1, 1, 2, 2])
        let (lpBeams, _, _) = model.step(beams, input: [4, 4, 5, 5, 6, 6])
        XCTAssertEqual(Array(lpBeams[28..<35]), Array(lpAll[14..<21]))
    }

    /// Padding in the batch never changes a row's results: a source decoded alone and inside a
    /// batch of longer sources gives the same log-probs.
    func testPaddingDoesNotChangeResults() {
        for e in ModelConfig.EncoderKind.allCases {
            let model = EncoderDecoder(config: ModelGradientTests.tiny(e, .general, feeding: true, dropout: 0), seed: 8)
            var r = RandomGenerator(seed: 0)
            let batch = model.step(model.initialState(model.encode(source: ModelGradientTests.sources, training: false, rng: &r)), input: [2, 2, 2]).logProbs
            let alone = model.step(model.initialState(model.encode(source: [ModelGradientTests.sources[2]], training: false, rng: &r)), input: [2]).logProbs
            for w in 0..<7 { XCTAssertEqual(batch[14 + w], alone[w], accuracy: 1e-6, "\(e)") }
        }
    }

    /// The lean XENT step (`CrossEntropy.teacherForcedStep`: output layer in blocks of rows,
    /// rows split over threads) gives the loss and gradients of the general path (decode with
    /// the output layer, `CrossEntropy.evaluate`, `backward`), in one block and in several, on 1 and 2
    /// threads. Float32 sums in another order: 1e-5 on gradients of size ≲ 1.
    func testTrainingStepXENTEqualsTheGeneralPath() {
        let c = ModelGradientTests.tiny(.bilstm, .general, feeding: true, dropout: 0)
        let reference = EncoderDecoder(config: c, seed: 5)
        var r = RandomGenerator(seed: 0)
        let enc = reference.encode(source: ModelGradientTests.sources, training: true, rng: &r)
        let tr = reference.decodeForTraining(enc, inputs: EncoderDecoder.teacherInputs(targets: ModelGradientTests.targets),
                                             training: true, rng: &r)
        let ce = CrossEntropy.evaluate(tr, targets: ModelGradientTests.targets)
        ce.dLogits.withUnsafeBufferPointer { reference.backward(tr, dLogits: $0.baseAddress!) }
        let savedBlockFloats = EncoderDecoder.outputBlockFloats
        defer { EncoderDecoder.outputBlockFloats = savedBlockFloats; setComputeThreads(1) }
        for (blockFloats, threads) in [(1 << 21, 1), (20, 1), (20, 2), (7, 2)] {
            EncoderDecoder.outputBlockFloats = blockFloats
            setComputeThreads(threads)
            let lean = EncoderDecoder(config: c, seed: 5)
            var leanRNG = RandomGenerator(seed: 0)
            let loss = CrossEntropy.teacherForcedStep(lean, source: ModelGradientTests.sources, target: ModelGradientTests.targets,
                                                      rng: &leanRNG)
            XCTAssertEqual(loss, ce.loss, accuracy: 1e-6, "block \(blockFloats)")
            for i in 0..<lean.grads.count {
                XCTAssertEqual(lean.grads.storage[i], reference.grads.storage[i], accuracy: 1e-5, "block \(blockFloats) gradient \(i)")
            }
        }
    }

    /// Training gives the same weights, bit for bit, on one thread and on two: every product is
    /// split by whole panels, the elementwise work by rows or elements, and the biLSTM's
    /// directions write disjoint tensors. The model is large enough for every split to happen
    /// (products of 2²¹ flops and more, Adam's 2¹⁸-element threshold).
    func testTrainingDoesNotDependOnTheThreadCount() {
        var c = ModelConfig(sourceVocabSize: 2_000, targetVocabSize: 2_000)
        c.embeddingSize = 64; c.hiddenSize = 64; c.encoderHiddenSize = 64; c.dropout = 0.2
        var rng = RandomGenerator(seed: 3)
        let src: [[Int32]] = (0..<16).map { _ in (0..<20).map { _ in Int32(4 + rng.next() % 1_990) } }
        let tgt: [[Int32]] = (0..<16).map { _ in (0..<9).map { _ in Int32(4 + rng.next() % 1_990) } + [3] }
        defer { setComputeThreads(1) }
        var weights: [[Float]] = []
        for threads in [1, 2, 3, 7, 16, 64] {
            setComputeThreads(threads)
            let model = EncoderDecoder(config: c, seed: 11)
            let adam = Adam(parameters: model.params)
            var dropout = RandomGenerator(seed: 11).split("dropout")
            for _ in 0..<2 {
                model.grads.zero()
                CrossEntropy.teacherForcedStep(model, source: src, target: tgt, rng: &dropout)
                adam.update(parameters: model.params, gradients: model.grads)
            }
            weights.append(Array(model.params.buffer))
        }
        for (i, w) in weights.enumerated().dropFirst() {
            XCTAssertEqual(w, weights[0], "thread sweep entry \(i) differs (\(PackedMatrix.kernelName) kernels)")
        }
    }

    func testSeedFixesParametersAndTraining() {
        let c = ModelGradientTests.tiny(.bilstm, .general, feeding: true, dropout: 0.3)
        let a = EncoderDecoder(config: c, seed: 7), b = EncoderDecoder(config: c, seed: 7), d = EncoderDecoder(config: c, seed: 8)
        XCTAssertEqual(Array(a.params.buffer), Array(b.params.buffer))
        XCTAssertNotEqual(Array(a.params.buffer), Array(d.params.buffer))
        var ra = RandomGenerator(seed: 7).split("dropout"), rb = RandomGenerator(seed: 7).split("dropout")
        let la = CrossEntropy.teacherForcedStep(a, source: ModelGradientTests.sources, target: ModelGradientTests.targets, rng: &ra)
        let lb = CrossEntropy.teacherForcedStep(b, source: ModelGradientTests.sources, target: ModelGradientTests.targets, rng: &rb)
        XCTAssertEqual(la, lb)
        XCTAssertEqual(Array(a.grads.buffer), Array(b.grads.buffer))
        XCTAssertTrue(la.isFinite && la > 0)
        // Initial XENT of an untrained model is near log V.
        XCTAssertEqual(la, log(7.0), accuracy: 1.0)
        var n = c; n.initialization = .normal; n.initScale = 0.05
        let m = EncoderDecoder(config: n, seed: 1)
        let vals = Array(m.params.buffer)
        let std = (vals.reduce(0.0) { $0 + Double($1 * $1) } / Double(vals.count)).squareRoot()
        XCTAssertEqual(std, 0.05, accuracy: 0.01)
    }

    func testConfigValidationAndCoding() throws {
        var c = ModelConfig(sourceVocabSize: 100, targetVocabSize: 80)
        XCTAssertNoThrow(try c.validate())
        c.attention = .dot
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("dot attention")) }
        c.encoderHiddenSize = 128
        XCTAssertNoThrow(try c.validate())
        c.dropout = 1
        XCTAssertThrowsError(try c.validate())
        c.dropout = 0.1
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: data), c)
        let model = EncoderDecoder(config: ModelConfig(sourceVocabSize: 10, targetVocabSize: 12), seed: 0)
        XCTAssertEqual(model.params.entry("output.weight")?.shape, [12, 256])
        XCTAssertEqual(model.params.entry("decoder.lstm.wih")?.shape, [1024, 512])
        XCTAssertEqual(model.params.entries.map(\.name), model.grads.entries.map(\.name))
    }
}
