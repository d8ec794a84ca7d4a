import XCTest
@testable import Seq2Seq

final class OptimizerTests: XCTestCase {
    func store(_ tensors: [(String, [Float])]) -> ParameterStore {
        let s = ParameterStore()
        for (name, values) in tensors {
            let e = s.add(name, shape: [values.count])
            for (i, v) in values.enumerated() { s.view(e)[i] = v }
        }
        return s
    }

    func testAdamMatchesHandComputedSteps() {
        // One scalar, three steps, computed by hand in Double with the textbook formula
        // m̂ = m/(1-β1^t), p -= lr·m̂/(√v/√(1-β2^t) + ε) (PyTorch places ε after the correction).
        let p = store([("w", [1.0]), ("baseline.w", [1.0])])
        let g = p.zerosLike()
        let adam = Adam(parameters: p, learningRate: 0.1, factors: LearningRateFactors(["baseline.": 0.01]))
        var w = 1.0, wb = 1.0, m = 0.0, v = 0.0
        let grads: [Double] = [0.5, -2.0, 3.0]
        for (t, gr) in grads.enumerated() {
            g.view("w")[0] = Float(gr)
            g.view("baseline.w")[0] = Float(gr)
            adam.update(parameters: p, gradients: g)
            m = 0.9 * m + 0.1 * gr
            v = 0.999 * v + 0.001 * gr * gr
            let mh = m / (1 - pow(0.9, Double(t + 1)))
            let denom = (v.squareRoot() / (1 - pow(0.999, Double(t + 1))).squareRoot()) + 1e-8
            w -= 0.1 * mh / denom
            wb -= 0.001 * mh / denom
            XCTAssertEqual(Double(p.view("w")[0]), w, accuracy: 1e-6, "step \(t + 1)")
            XCTAssertEqual(Double(p.view("baseline.w")[0]), wb, accuracy: 1e-6, "step \(t + 1)")
        }
        // First Adam step moves each weight by ≈ lr·sign(g), the known property.
        XCTAssertEqual(adam.stepCount, 3)
        XCTAssertEqual(Double(adam.m.view("w")[0]), m, accuracy: 1e-6)
        XCTAssertEqual(Double(adam.v.view("w")[0]), v, accuracy: 1e-6)
    }

    /// `zeroesGradients` gives the same parameters and moments bit for bit, and leaves every
    /// gradient at zero (vector body and scalar tail: 37 floats).
    func testAdamZeroingGradientsChangesNothingElse() {
        var rng = RandomGenerator(seed: 5)
        let values = (0..<37).map { _ in rng.nextUniform() - 0.5 }
        let a = store([("w", values)]), b = store([("w", values)])
        let ga = a.zerosLike(), gb = b.zerosLike()
        let plain = Adam(parameters: a), zeroing = Adam(parameters: b)
        zeroing.zeroesGradients = true
        for _ in 0..<3 {
            for i in 0..<37 { let x = rng.nextUniform() - 0.5; ga.view("w")[i] = x; gb.view("w")[i] = x }
            plain.update(parameters: a, gradients: ga)
            zeroing.update(parameters: b, gradients: gb)
            XCTAssertEqual(Array(a.buffer), Array(b.buffer))
            XCTAssertEqual(Array(plain.v.buffer), Array(zeroing.v.buffer))
            XCTAssertEqual(Array(gb.buffer), [Float](repeating: 0, count: 37))
            XCTAssertNotEqual(Array(ga.buffer), [Float](repeating: 0, count: 37))
        }
    }

    /// `mk_adam`'s AVX-512, AVX2 and portable paths give, for every length from 0 to 40 (vector
    /// bodies, masked and scalar tails), the bits of the formula written out in Swift, one rounded
    /// operation at a time: m = b1·m + c1·g, v = b2·v + (c2·g)·g, p −= (s·m) / (√v / q + ε).
    func testAdamKernelsGiveTheFormulasBitsOnEveryInstructionSet() {
        var rng = RandomGenerator(seed: 11)
        let s: Float = 0.0013, b1: Float = 0.9, b2: Float = 0.999, c1 = 1 - b1, c2 = 1 - b2, q: Float = 0.0447, e: Float = 1e-8
        for n in 0...40 {
            let p0 = (0..<n).map { _ in rng.nextUniform() - 0.5 }
            let g0 = (0..<n).map { _ in (rng.nextUniform() - 0.5) * 0.1 }
            let m0 = (0..<n).map { _ in (rng.nextUniform() - 0.5) * 0.01 }
            let v0 = (0..<n).map { _ in rng.nextUniform() * 1e-4 }
            var pr = p0, mr = m0, vr = v0
            for i in 0..<n {
                let cg = c1 * g0[i]
                mr[i] = b1 * m0[i] + cg
                let cgg = c2 * g0[i]
                let vi = b2 * v0[i] + cgg * g0[i]
                vr[i] = vi
                let num = s * mr[i]
                let den = vi.squareRoot() / q + e
                pr[i] = p0[i] - num / den
            }
            forEachKernelLevel { level in
                var p = p0, g = g0, m = m0, v = v0
                Kernels.adamUpdate(&p, &g, &m, &v, count: n, stepSize: s, b1: b1, b2: b2, c1: c1, c2: c2,
                                   sqrtBc2: q, eps: e, zeroGradient: true)
                XCTAssertEqual(p.map(\.bitPattern), pr.map(\.bitPattern), "p, n \(n), level \(level)")
                XCTAssertEqual(m.map(\.bitPattern), mr.map(\.bitPattern), "m, n \(n), level \(level)")
                XCTAssertEqual(v.map(\.bitPattern), vr.map(\.bitPattern), "v, n \(n), level \(level)")
                XCTAssertEqual(g, [Float](repeating: 0, count: n), "g, n \(n), level \(level)")
            }
        }
    }

    func testAdamFirstStepIsLearningRateTimesSign() {
        let p = store([("a", [0, 0, 0])])
        let g = store([("a", [1e-3, -50, 7])])
        Adam(parameters: p, learningRate: 0.01).update(parameters: p, gradients: g)
        XCTAssertEqual(p.values("a")[0], -0.01, accuracy: 1e-6)
        XCTAssertEqual(p.values("a")[1], 0.01, accuracy: 1e-6)
        XCTAssertEqual(p.values("a")[2], -0.01, accuracy: 1e-6)
    }

    func testSGDWithFactors() {
        let p = store([("enc.w", [1, 2]), ("baseline.w", [1]), ("baseline.bias", [1])])
        let g = store([("enc.w", [0.5, -1]), ("baseline.w", [2]), ("baseline.bias", [2])])
        let sgd = SGD(factors: LearningRateFactors(["baseline.": 0.01, "baseline.bias": 0.5]))
        XCTAssertEqual(sgd.learningRate, 0.2)
        sgd.update(parameters: p, gradients: g)
        XCTAssertEqual(p.values("enc.w"), [1 - Float(0.2) * 0.5, 2 + Float(0.2)])
        XCTAssertEqual(p.values("baseline.w")[0], 1 - 0.004, accuracy: 1e-7)
        XCTAssertEqual(p.values("baseline.bias")[0], 1 - 0.2, accuracy: 1e-7, "longest prefix wins")
    }

    func testClippingScalesToTheMaximumNormAndReportsTheNorm() {
        let g = store([("a", [3, 0]), ("b", [4])])
        var r = GradientClipping.clip(g, maxNorm: 10)
        XCTAssertEqual(r.norm, 5)
        XCTAssertFalse(r.clipped)
        XCTAssertEqual(g.values("a"), [3, 0])
        r = GradientClipping.clip(g, maxNorm: 1)
        XCTAssertEqual(r.norm, 5)
        XCTAssertTrue(r.clipped)
        XCTAssertEqual(g.values("a")[0], 0.6, accuracy: 1e-7)
        XCTAssertEqual(g.values("b")[0], 0.8, accuracy: 1e-7)
        XCTAssertEqual(GradientClipping.globalNorm(g), 1, accuracy: 1e-6)
        XCTAssertEqual(GradientClipping.clip(g, maxNorm: nil).clipped, false)
    }

    func testNonFiniteGradientsAreFlaggedAndNotScaled() {
        for bad in [Float.nan, .infinity, -.infinity] {
            let g = store([("a", [1, 2]), ("b", [3, bad])])
            let r = GradientClipping.clip(g, maxNorm: 1)
            XCTAssertFalse(r.isFinite)
            XCTAssertFalse(r.clipped)
            XCTAssertEqual(g.values("a"), [1, 2])
            XCTAssertEqual(GradientClipping.firstNonFinite(g)?.name, "b")
            XCTAssertEqual(GradientClipping.firstNonFinite(g)?.index, 1)
        }
        // Large but finite gradients do not overflow the Double accumulator.
        let big = store([("a", [Float](repeating: 3e38, count: 100))])
        XCTAssertTrue(GradientClipping.clip(big, maxNorm: 1).isFinite)
        XCTAssertEqual(big.values("a")[0], 0.1, accuracy: 1e-6)
    }

    func testPlateauScheduleAndTracker() {
        let s = PlateauSchedule(decayFactor: 1.2, minimumLearningRate: 1e-4)
        XCTAssertEqual(PlateauSchedule().minimumLearningRate, TrainerOptions().minimumLearningRate, "one minimum")
        var adam = TrainerOptions()
        adam.optimizer = .adam
        let off = PlateauSchedule(adam)
        XCTAssertFalse(off.isActive)
        XCTAssertEqual(off.next(0.001, improved: false), 0.001)
        XCTAssertFalse(off.shouldStop(1e-9))
        adam.learningRateDecay = 2; adam.minimumLearningRate = 1e-3
        XCTAssertEqual(PlateauSchedule(adam).next(0.004, improved: false), 0.002)
        XCTAssertTrue(PlateauSchedule(adam).shouldStop(0.0005))
        var lr = 0.2
        var tracker = ValidationTracker(higherIsBetter: false)  // perplexity
        let perplexities = [50.0, 40, 41, 39, .nan, 39]
        var improvedFlags: [Bool] = []
        for (epoch, ppl) in perplexities.enumerated() {
            let improved = tracker.record(ppl, epoch: epoch)
            improvedFlags.append(improved)
            lr = s.next(lr, improved: improved)
        }
        XCTAssertEqual(improvedFlags, [true, true, false, true, false, false])
        XCTAssertEqual(lr, 0.2 / 1.2 / 1.2 / 1.2, accuracy: 1e-15)
        XCTAssertEqual(tracker.best, 39)
        XCTAssertEqual(tracker.bestEpoch, 3)
        XCTAssertEqual(tracker.epochsWithoutImprovement, 2)
        XCTAssertTrue(tracker.patienceExhausted(patience: 2))
        XCTAssertFalse(tracker.patienceExhausted(patience: 3))
        // 0.2 / 1.2^k < 1e-4 first at k = 42.
        var k = 0
        var r = 0.2
        while !s.shouldStop(r) { r = s.next(r, improved: false); k += 1 }
        XCTAssertEqual(k, 42)
        var up = ValidationTracker(higherIsBetter: true)
        XCTAssertTrue(up.record(0.1, epoch: 0))
        XCTAssertFalse(up.record(0.1, epoch: 1), "ties do not improve")
        XCTAssertTrue(up.record(0.2, epoch: 2))
    }

    func testDivergenceGuard() {
        let sgd = SGD(learningRate: 0.4)
        var guardian = DivergenceGuard(maximumConsecutive: 3, learningRateFactor: 0.5)
        XCTAssertFalse(guardian.recordSkip(sgd))
        XCTAssertFalse(guardian.recordSkip(sgd))
        guardian.recordGoodStep()
        XCTAssertFalse(guardian.recordSkip(sgd))
        XCTAssertFalse(guardian.recordSkip(sgd))
        XCTAssertTrue(guardian.recordSkip(sgd))
        XCTAssertEqual(guardian.total, 5)
        XCTAssertEqual(guardian.consecutive, 3)
        XCTAssertEqual(sgd.learningRate, 0.4 / 32, accuracy: 1e-15)
    }
}
