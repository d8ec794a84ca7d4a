import Foundation
import Metrics
import Tokenize

extension Trainer {
    /// One update on `batch` with `s` teacher-forced steps (s ≥ T: pure XENT).
    func trainStep(_ batch: Batch, s: Int) throws -> StepStatistics {
        let t0 = Date()
        if !gradientsCleared { model.grads.zero() }
        gradientsCleared = false
        baseline?.grads.zero()
        var st = StepStatistics()
        st.targetTokens = batch.targetTokens
        let longest = batch.maxTargetLength
        switch options.objective {
        case .xent:
            xentStep(batch, scale: 1, &st)
        case .mixer where s >= longest:
            // The paper's per-sequence scale in every stage, so that XENT and REINFORCE stages
            // give gradients of one magnitude; the reference weighting keeps the token mean.
            let scale = options.lossWeighting == .sequence ? Float(batch.targetTokens) / Float(batch.count) : 1
            xentStep(batch, scale: scale, &st)
        case .mixer:
            mixerStep(batch, s: s, &st)
        case .dad:
            dadStep(batch, &st)
        case .scst:
            scstStep(batch, &st)
        }
        try update(&st)
        st.seconds = Date().timeIntervalSince(t0)
        return st
    }

    /// Clipping, the divergence guard (``DivergenceGuard``: non-finite or exploding loss or
    /// gradient, the baseline regressors' included), and the optimizer steps.
    func update(_ st: inout StepStatistics) throws {
        let clip = GradientClipping.clip(model.grads, maxNorm: options.clipNorm > 0 ? options.clipNorm : nil)
        st.gradientNorm = clip.norm
        let loss: Double? = st.xentTokens > 0 ? st.xentLoss : nil
        let auxiliaryNorm = baseline.map { GradientClipping.globalNorm($0.grads) }
        if let problem = state.divergence.problem(loss: loss, gradientNorm: clip.norm, auxiliaryNorm: auxiliaryNorm,
                                                  vocabularySize: model.config.targetVocabSize) {
            st.skipped = true
            let abort = state.divergence.recordSkip(optimizer)
            state.learningRate = optimizer.learningRate
            baselineOptimizer?.learningRate = state.learningRate * options.baselineLearningRateFactor
            try log.append(.skippedStep(SkippedStepRecord(globalStep: state.globalStep, reason: problem, learningRate: state.learningRate)))
            progress.message("warning: \(problem) at step \(state.globalStep): update skipped, learning rate lowered to \(state.learningRate)")
            if abort {
                throw TrainingError("training diverged: \(options.maxDivergentSteps) updates in a row skipped (the last at global step \(state.globalStep): \(problem)); \(lastCheckpointDescription)")
            }
            return
        }
        state.divergence.recordGoodStep(loss: loss, gradientNorm: clip.norm, auxiliaryNorm: auxiliaryNorm)
        optimizer.update(parameters: model.params, gradients: model.grads)
        gradientsCleared = (optimizer as? Adam)?.zeroesGradients ?? false
        if let b = baseline, let bo = baselineOptimizer { bo.update(parameters: b.params, gradients: b.grads) }
    }

    // MARK: XENT

    /// Teacher-forced XENT through the model's lean path (`trainingStepXENT`: the output layer,
    /// softmax, loss and its backward in blocks of rows, no [T, B, V] trace kept). The gradient
    /// is linear in the loss, so a `scale` ≠ 1 multiplies the gradients afterwards.
    func xentStep(_ batch: Batch, scale: Float, _ st: inout StepStatistics) {
        model.rng = dropoutRNG
        let loss = model.trainingStepXENT(source: batch.sources, target: batch.targets)
        dropoutRNG = model.rng
        if scale != 1 {
            let g = model.grads.storage
            for i in 0..<model.grads.count { g[i] *= scale }
        }
        st.xentLoss = loss
        st.xentTokens = batch.targetTokens
    }

    // MARK: DAD (scheduled sampling)

    func dadStep(_ batch: Batch, _ st: inout StepStatistics) {
        let B = batch.count, V = model.config.targetVocabSize
        let T = batch.maxTargetLength
        let eps = options.dadSchedule.teacherForcingProbability(step: state.globalStep)
        var drng = dropoutRNG, srng = samplingRNG
        let enc = model.encode(source: batch.sources, training: true, rng: &drng)
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B), nextInput: { t, p in
            (0..<B).map { b -> Int32 in
                let tgt = batch.targets[b]
                guard t < tgt.count - 1 else { return Vocabulary.pad }
                if srng.nextUniformDouble() < eps { return tgt[t] }
                let row = p + b * V
                return options.dadFeed == .argmax ? Self.argmax(row, V) : Self.sample(row, V, temperature: 1, &srng)
            }
        }, training: true, rng: &drng)
        dropoutRNG = drng
        samplingRNG = srng
        let (loss, n, d) = model.crossEntropy(tr, targets: batch.targets)
        d.withUnsafeBufferPointer { model.backward(tr, dLogits: $0.baseAddress!) }
        st.xentLoss = loss
        st.xentTokens = n
    }

    // MARK: MIXER

    /// Output tokens of a rollout: `tokens[t][b]`, whether row b produced step t, and which
    /// rows emitted `</s>`.
    struct Rollout {
        var tokens: [[Int32]]
        var active: [[Bool]]
        var ended: [Bool]
        var trace: DecoderTrace

        /// Row b's output ids up to (not including) `</s>`.
        func output(_ b: Int) -> [Int32] {
            var o: [Int32] = []
            for t in 0..<tokens.count where active[t][b] {
                if tokens[t][b] == Vocabulary.eos { break }
                o.append(tokens[t][b])
            }
            return o
        }
    }

    /// Runs the decoder for T steps: steps t < s read the ground truth and output y_t;
    /// steps t ≥ s output a sample w_t ~ p_t (at `options.temperature`) that is fed next.
    /// A row stops after its `</s>` (later steps are inactive and padded).
    func rollout(_ enc: EncoderOutput, targets: [[Int32]], s: Int, drng: inout RandomGenerator) -> Rollout {
        let B = targets.count, V = model.config.targetVocabSize, T = steps
        var tokens = [[Int32]](repeating: [Int32](repeating: Vocabulary.pad, count: B), count: T)
        var active = [[Bool]](repeating: [Bool](repeating: false, count: B), count: T)
        var done = [Bool](repeating: false, count: B)
        var srng = samplingRNG
        let temperature = options.temperature
        func choose(_ t: Int, _ p: UnsafePointer<Float>) {
            for b in 0..<B where !done[b] {
                active[t][b] = true
                let tok: Int32
                if t < s && t < targets[b].count { tok = targets[b][t] }
                else { tok = Self.sample(p + b * V, V, temperature: temperature, &srng) }
                tokens[t][b] = tok
                if tok == Vocabulary.eos { done[b] = true }
            }
        }
        let tr = model.decodeForTraining(enc, steps: T, firstInput: [Int32](repeating: Vocabulary.bos, count: B), nextInput: { t, p in
            choose(t, p)
            return tokens[t]
        }, training: true, rng: &drng)
        choose(T - 1, tr.probs.pointer + (T - 1) * B * V)
        samplingRNG = srng
        return Rollout(tokens: tokens, active: active, ended: done, trace: tr)
    }

    /// Rewards of each row's output against its target (on ids; `</s>`, `<pad>`, `<unk>` as
    /// `Metrics.RewardTokens` documents).
    func rewards(_ r: Rollout, targets: [[Int32]]) -> [Float] {
        let metric = options.rewardMetric
        let special = RewardTokens(eos: Vocabulary.eos, pad: Vocabulary.pad, unknown: Vocabulary.unk)
        return targets.indices.map { b in
            Float(ReferenceTable(references: [targets[b]], metric: metric, tokens: special).reward(r.output(b)))
        }
    }

    func mixerStep(_ batch: Batch, s: Int, _ st: inout StepStatistics) {
        guard let baseline else { preconditionFailure("MIXER needs baseline regressors") }
        let B = batch.count, H = model.config.hiddenSize
        var drng = dropoutRNG
        let enc = model.encode(source: batch.sources, training: true, rng: &drng)
        let r = rollout(enc, targets: batch.targets, s: s, drng: &drng)
        dropoutRNG = drng
        let reward = rewards(r, targets: batch.targets)
        // Baseline predictions b_t for every REINFORCE step (t ≥ s), from the detached h̃_t.
        var b = [[Float]](repeating: [Float](repeating: 0, count: B), count: steps)
        var mask = [Float](repeating: 0, count: B)
        for t in s..<steps {
            let x = r.trace.outputs.pointer + t * B * H
            b[t].withUnsafeMutableBufferPointer { baseline.predict(step: t, x: x, rows: B, out: $0.baseAddress!) }
        }
        var nRL = 0
        for t in s..<steps { for row in 0..<B where r.active[t][row] { nRL += 1 } }
        for t in s..<steps {
            for row in 0..<B { mask[row] = r.active[t][row] ? 1 : 0 }
            let x = r.trace.outputs.pointer + t * B * H
            st.baselineSSE += baseline.accumulateGradient(step: t, x: x, rows: B, prediction: b[t], reward: reward,
                                                          mask: mask, scale: 1 / Float(max(nRL, 1)))
        }
        st.baselineCount = nRL
        reinforceBackward(r, targets: batch.targets, s: s, reward: reward, baseline: { t, row in b[t][row] }, &st)
    }

    /// Forms dLogits for a rollout (XENT on t < s, REINFORCE on t ≥ s) and backpropagates.
    func reinforceBackward(_ r: Rollout, targets: [[Int32]], s: Int, reward: [Float],
                           baseline: (Int, Int) -> Float, _ st: inout StepStatistics) {
        let d = logitGradient(r, s: s, reward: reward, baseline: baseline, &st)
        d.withUnsafeBufferPointer { model.backward(r.trace, dLogits: $0.baseAddress!) }
    }

    /// The gradient at the logits [T, B, V] of a rollout:
    ///
    ///     t < s (teacher forced):  w_x · (p_t − onehot(y_t))
    ///     t ≥ s (sampled):         w_r · (r_b − b_t) · (p_t − onehot(w_t))
    ///
    /// on the steps each row produced (nothing after its `</s>`), with w_x, w_r from
    /// ``MixerLossWeighting``. Also fills the step's loss and advantage statistics.
    /// - Complexity: O(T·B·V).
    func logitGradient(_ r: Rollout, s: Int, reward: [Float], baseline: (Int, Int) -> Float,
                       _ st: inout StepStatistics) -> [Float] {
        let B = r.ended.count, V = model.config.targetVocabSize, T = r.tokens.count
        let tr = r.trace
        var nX = 0
        var rlRows = Set<Int>()
        for t in 0..<T {
            for b in 0..<B where r.active[t][b] {
                if t < s { nX += 1 } else { rlRows.insert(b) }
            }
        }
        let mixed = nX > 0 && !rlRows.isEmpty
        let wx: Float, wr: Float
        switch options.lossWeighting {
        case .sequence:
            wx = 1 / Float(B)
            wr = 1 / Float(B)
        case .reference:
            wx = (mixed ? 0.5 : 1) / Float(max(nX, 1))
            wr = mixed ? 0.5 : 1
        }
        var d = [Float](repeating: 0, count: T * B * V)
        var xentLoss = 0.0
        d.withUnsafeMutableBufferPointer { dp in
            for t in 0..<T {
                for b in 0..<B where r.active[t][b] {
                    let row = t * B + b
                    let p = tr.probs.pointer + row * V, g = dp.baseAddress! + row * V
                    let tok = Int(r.tokens[t][b])
                    let coeff: Float
                    if t < s {
                        coeff = wx
                        xentLoss -= Double(tr.logits[row * V + tok] - tr.logZ[row])
                    } else {
                        let adv = reward[b] - baseline(t, b)
                        coeff = wr * adv
                        st.advantageSum += Double(adv)
                        st.advantageSquares += Double(adv * adv)
                        st.advantageCount += 1
                    }
                    if coeff == 0 { continue }
                    for j in 0..<V { g[j] = coeff * p[j] }
                    g[tok] -= coeff
                }
            }
        }
        st.xentLoss = nX > 0 ? xentLoss / Double(nX) : 0
        st.xentTokens = nX
        for b in rlRows {
            st.rewardSum += Double(reward[b])
            st.rewardCount += 1
        }
        return d
    }

    // MARK: SCST

    func scstStep(_ batch: Batch, _ st: inout StepStatistics) {
        let k = options.scstSamples
        let sources = batch.sources.flatMap { Array(repeating: $0, count: k) }
        let targets = batch.targets.flatMap { Array(repeating: $0, count: k) }
        var drng = dropoutRNG
        let enc = model.encode(source: sources, training: true, rng: &drng)
        let r = rollout(enc, targets: targets, s: 0, drng: &drng)
        dropoutRNG = drng
        let reward = rewards(r, targets: targets)
        var base = [Float](repeating: 0, count: targets.count)
        switch options.scstBaseline {
        case .greedy:
            let greedy = greedyDecode(batch.sources)
            let metric = options.rewardMetric
            let special = RewardTokens(eos: Vocabulary.eos, pad: Vocabulary.pad, unknown: Vocabulary.unk)
            for (i, g) in greedy.enumerated() {
                let rg = Float(ReferenceTable(references: [batch.targets[i]], metric: metric, tokens: special).reward(g.ids))
                for j in 0..<k { base[i * k + j] = rg }
            }
        case .mean:
            for i in 0..<batch.count {
                let group = (0..<k).map { reward[i * k + $0] }
                let total = group.reduce(0, +)
                for j in 0..<k { base[i * k + j] = (total - group[j]) / Float(k - 1) }
            }
        }
        reinforceBackward(r, targets: targets, s: 0, reward: reward, baseline: { _, row in base[row] }, &st)
    }

    // MARK: Sampling helpers

    /// The most likely id of a probability row (the lowest on ties; the decoders' argmax).
    static func argmax(_ p: UnsafePointer<Float>, _ V: Int) -> Int32 { Int32(Constraints.argmax(p, V)) }

    /// A draw from p^(1/τ) (renormalised), by inverse CDF in Double.
    /// - Complexity: O(V).
    static func sample(_ p: UnsafePointer<Float>, _ V: Int, temperature: Double, _ rng: inout RandomGenerator) -> Int32 {
        let u = rng.nextUniformDouble()
        if temperature == 1 {
            var total = 0.0
            for j in 0..<V { total += Double(p[j]) }
            let target = u * total
            var acc = 0.0
            for j in 0..<V {
                acc += Double(p[j])
                if acc > target { return Int32(j) }
            }
            return Int32(V - 1)
        }
        let inv = 1 / temperature
        var total = 0.0
        for j in 0..<V where p[j] > 0 { total += Foundation.pow(Double(p[j]), inv) }
        let target = u * total
        var acc = 0.0
        for j in 0..<V where p[j] > 0 {
            acc += Foundation.pow(Double(p[j]), inv)
            if acc > target { return Int32(j) }
        }
        return Int32(V - 1)
    }
}

/// A training run cannot go on (divergence, bad state).
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
