import Foundation
import Tokenize

/// Cross-entropy under copy attention's mixed distribution (See, Liu & Manning, ACL 2017,
/// §2.2; ``CopySource``): for the target y_t of row b (an id of the row's extended
/// vocabulary), with g = p_gen, p = softmax(logits) over the V target ids, a the attention
/// weights and x the row's extended source ids,
///
///     P_t  = g·p(y_t)·[y_t < V] + (1 − g)·Σ_{i: x_i = y_t} a_i
///     loss = −(1/N) Σ_{b, t<T_b} log max(P_t, floor)            (floor = 1e-30)
///
/// and, with ρ = g·p(y_t)/P_t and C = Σ_{i: x_i = y_t} a_i,
///
///     ∂loss/∂logits = (ρ/N)·(p − onehot(y_t))      (0 for an extended y_t)
///     ∂loss/∂z      = −(1/N)·(p(y_t) − C)/P_t · g(1 − g)      (g = σ(z))
///     ∂loss/∂a_i    = −(1/N)·(1 − g)/P_t  for x_i = y_t, else 0
///
/// A position whose P_t is below the floor counts −log floor and sends no gradient.
///
/// Label smoothing with copy (`--label-smoothing` ε; Szegedy et al. 2016, as
/// ``labelSmoothed(_:targets:epsilon:)`` without copy): the target of each position becomes
/// q = (1 − ε)·onehot(y_t) + ε/K over the K = V + |oovs_b| − 2 classes of the row's extended
/// vocabulary (every id but `<pad>` and `<s>`), so
///
///     loss_t = (1 − ε)·(−log max(P_t(y_t), floor)) + (ε/K)·Σ_{w ∈ classes} −log max(P_t(w), floor)
///
/// (without copy P = p, |oovs| = 0 and this is exactly the smoothing of ``labelSmoothed(_:targets:epsilon:)``);
/// each class below the floor counts −log floor and sends no gradient, as the target does. With
/// ρ_w = g·p(w)/P_t(w) (1 for a word outside the source; 0 for an extended id), C(w) the copy
/// mass Σ_{i: x_i = w} a_i, u = ε/K and the sums over the classes above the floor (the target's
/// terms when it is above it):
///
///     ∂loss/∂logits_j = (1/N)·[((1 − ε)·ρ_y + u·Σ_w ρ_w)·p_j − (1 − ε)·ρ_y·[j = y] − u·ρ_j·[j a class]]
///     ∂loss/∂z        = −(1/N)·g(1 − g)·[(1 − ε)·(p(y) − C(y))/P(y) + u·Σ_w (p(w)·[w < V] − C(w))/P(w)]
///     ∂loss/∂a_i      = −(1/N)·(1 − g)·[(1 − ε)·[x_i = y]/P(y) + u·[x_i a class]/P(x_i)]
///
/// The loss reported stays the plain copy cross-entropy (as without copy: perplexities compare).
extension CrossEntropy {
    /// The per-row part of the loss and gradients above: `row` holds the logits of row r and
    /// becomes ∂loss/∂logits; `dGate[r]` and `dWeights[r·S ..< r·S + S]` are written.
    /// - Returns: log max(P_t, floor).
    @inline(__always)
    static func copyRowGradient(row: UnsafeMutablePointer<Float>, V: Int, y: Int, logZ: UnsafeMutablePointer<Float>,
                                gate g: Float, weights a: UnsafePointer<Float>, source: [Int32], length L: Int, w: Float,
                                dGate: UnsafeMutablePointer<Float>, dWeights: UnsafeMutablePointer<Float>) -> Float {
        Kernels.softmaxRows(row, rows: 1, cols: V, logZ: logZ)
        let pv: Float = y < V ? row[y] : 0
        var c: Float = 0
        for i in 0..<L where Int(source[i]) == y { c += a[i] }
        let P = g * pv + (1 - g) * c
        guard P >= EncoderDecoder.copyProbabilityFloor else {
            row.update(repeating: 0, count: V)
            dGate.pointee = 0
            return log(EncoderDecoder.copyProbabilityFloor)
        }
        let rho = g * pv / P
        Kernels.scale(row, V, w * rho)
        if y < V { row[y] -= w * rho }
        dGate.pointee = -w * (pv - c) / P * g * (1 - g)
        let da = -w * (1 - g) / P
        for i in 0..<L where Int(source[i]) == y { dWeights[i] = da }
        return log(P)
    }

    /// ``copyRowGradient(row:V:y:logZ:gate:weights:source:length:w:dGate:dWeights:)`` with label
    /// smoothing ε over the row's `extended` (V + |oovs|) ids, by the formulas above (ε = 0: that
    /// function, bit for bit). The words outside the source cost O(V) adds, the source's O(L²).
    /// - Returns: log max(P_t(y), floor) (the plain loss's term).
    @inline(__always)
    static func copyRowGradient(row: UnsafeMutablePointer<Float>, V: Int, extended Vx: Int, y: Int, logZ: UnsafeMutablePointer<Float>,
                                gate g: Float, weights a: UnsafePointer<Float>, source: [Int32], length L: Int, w: Float,
                                epsilon: Float, dGate: UnsafeMutablePointer<Float>, dWeights: UnsafeMutablePointer<Float>) -> Float {
        guard epsilon > 0 else {
            return copyRowGradient(row: row, V: V, y: y, logZ: logZ, gate: g, weights: a, source: source, length: L, w: w,
                                   dGate: dGate, dWeights: dWeights)
        }
        let floor = EncoderDecoder.copyProbabilityFloor
        Kernels.softmaxRows(row, rows: 1, cols: V, logZ: logZ)
        let u = epsilon / Float(Vx - 2)
        // The target's term.
        let pv: Float = y < V ? row[y] : 0
        var cy: Float = 0
        for i in 0..<L where Int(source[i]) == y { cy += a[i] }
        let Py = g * pv + (1 - g) * cy
        let yActive = Py >= floor
        let rhoY: Float = yActive ? g * pv / Py : 0
        // Every class below V taken as a word outside the source (ρ = 1, P = g·p): the count of
        // those above the floor; the source's ids are corrected below.
        var rhoSum: Float = 0, active = 0
        for j in 0..<V where smoothedClass(j) && g * row[j] >= floor { active += 1 }
        // The source's distinct ids: their copy mass, ρ and whether they are counted above.
        var firsts: [(id: Int, p: Float, c: Float, P: Float, counted: Bool, on: Bool)] = []
        for i in 0..<L {
            let id = Int(source[i])
            if (0..<i).contains(where: { source[$0] == source[i] }) || !smoothedClass(id) { continue }
            var c: Float = 0
            for k in i..<L where source[k] == source[i] { c += a[k] }
            let p: Float = id < V ? row[id] : 0
            let P = g * p + (1 - g) * c
            firsts.append((id, p, c, P, id < V && g * p >= floor, P >= floor))
        }
        var dz: Float = 0
        for f in firsts where f.counted { active -= 1 }
        rhoSum = Float(active)
        dz -= u * Float(active) * (1 - g)                 // Σ over the other words: (p/P)·g(1 − g) = 1 − g each
        for f in firsts where f.on {
            rhoSum += g * f.p / f.P
            dz -= u * (f.p - f.c) / f.P * g * (1 - g)
        }
        if yActive { dz -= (1 - epsilon) * (pv - cy) / Py * g * (1 - g) }
        dGate.pointee = w * dz
        // Logits: A·p_j − u·[j a class above the floor] (as a word outside the source), then the
        // source's ids and the target corrected.
        let A = (1 - epsilon) * rhoY + u * rhoSum
        for j in 0..<V {
            let p = row[j]
            row[j] = w * (A * p - (smoothedClass(j) && g * p >= floor ? u : 0))
        }
        for f in firsts where f.id < V {
            if f.counted { row[f.id] += w * u }
            if f.on { row[f.id] -= w * u * g * f.p / f.P }
        }
        if y < V && yActive { row[y] -= w * (1 - epsilon) * rhoY }
        // Attention weights.
        for i in 0..<L {
            let id = Int(source[i])
            var da: Float = 0
            if id == y && yActive { da -= (1 - epsilon) * (1 - g) / Py }
            if let f = firsts.first(where: { $0.id == id }), f.on { da -= u * (1 - g) / f.P }
            dWeights[i] = w * da
        }
        return log(max(Py, floor))
    }

    /// Checks the copy inputs of a batch against a trace.
    static func checkCopy(_ trace: DecoderTrace, copy: [CopySource], targets: [[Int32]]) {
        let B = trace.batchSize, V = trace.vocabSize, lengths = trace.encoder.lengths
        precondition(copy.count == B && targets.count == B, "Got \(copy.count) copy sources and \(targets.count) targets for a batch of \(B)")
        for b in 0..<B {
            precondition(copy[b].ids.count == lengths[b], "Row \(b): \(copy[b].ids.count) copy ids for a source of \(lengths[b])")
            let Vx = V + copy[b].oovs.count
            for y in targets[b].prefix(trace.steps) {
                precondition(y >= 0 && Int(y) < Vx, "Target id \(y) is outside row \(b)'s extended vocabulary of \(Vx)")
            }
        }
    }

    /// The copy loss and all its gradients from a trace that holds its logits (teacher-forced
    /// `decodeForTraining` without `deferOutputLayer`; inputs are ``CopySource/decoderInput(_:vocabularySize:)``
    /// of the targets).
    /// - Parameters:
    ///   - gates: p_gen [T·B] (``EncoderDecoder/copyGates(_:)``).
    ///   - targets: extended ids (``CopySource/extendedTarget(words:target:)``), ending with `</s>`.
    ///   - tokens: N of the loss's 1/N when it is not the batch's own (a data-parallel shard's
    ///     global N; the returned count stays the batch's).
    ///   - labelSmoothing: ε of the gradient (the loss returned stays the plain copy cross-entropy).
    /// - Returns: the mean loss per token (nats), N, dLogits [T, B, V] and the ``CopyGradient``.
    /// - Complexity: O(T·B·(V + S)).
    public static func evaluateCopy(_ trace: DecoderTrace, gates: FloatBuffer, copy: [CopySource], targets: [[Int32]],
                                    tokens: Int? = nil, labelSmoothing: Float = 0)
        -> (loss: Double, tokens: Int, dLogits: [Float], copy: CopyGradient) {
        checkCopy(trace, copy: copy, targets: targets)
        let T = trace.steps, B = trace.batchSize, V = trace.vocabSize, S = trace.encoder.sourceLength
        let n = targets.reduce(0) { $0 + min($1.count, T) }
        var dLogits = [Float](repeating: 0, count: T * B * V)
        let grad = CopyGradient(dGate: FloatBuffer(count: T * B), dWeights: FloatBuffer(count: T * B * S))
        guard n > 0 else { return (0, 0, dLogits, grad) }
        let total = tokens ?? n
        let w = 1 / Float(total)
        var loss = 0.0
        let logZ = FloatBuffer(count: 1)
        dLogits.withUnsafeMutableBufferPointer { d in
            for t in 0..<T {
                for b in 0..<B where t < targets[b].count {
                    let r = t * B + b, row = d.baseAddress! + r * V
                    row.update(from: trace.logits.pointer + r * V, count: V)
                    loss -= Double(copyRowGradient(row: row, V: V, extended: V + copy[b].oovs.count, y: Int(targets[b][t]),
                                                   logZ: logZ.pointer, gate: gates[r],
                                                   weights: trace.attention.pointer + r * S, source: copy[b].ids,
                                                   length: trace.encoder.lengths[b], w: w, epsilon: labelSmoothing,
                                                   dGate: grad.dGate.pointer + r, dWeights: grad.dWeights.pointer + r * S))
                }
            }
        }
        return (loss / Double(total), n, dLogits, grad)
    }

    /// ``teacherForcedStep(_:source:target:rng:labelSmoothing:tokens:)`` for a model with copy
    /// attention: targets are extended ids, the decoder reads `<unk>` for an extended id, and
    /// the output layer runs block by block as there (no [T, B, V] buffer). With
    /// `labelSmoothing` ε > 0 the gradient is the smoothed loss's (above); the loss returned
    /// stays the plain copy cross-entropy.
    /// - Parameters:
    ///   - copy: each row's ``CopySource`` (its `ids` as long as the row's source).
    ///   - tokens: N of the loss's 1/N (nil: the batch's target tokens).
    /// - Returns: the batch's copy cross-entropy divided by N.
    /// - Complexity: that of `teacherForcedStep` plus O(T·B·(D + H + E + S)).
    @discardableResult
    public static func copyTeacherForcedStep(_ model: EncoderDecoder, source: [[Int32]], copy: [CopySource], target: [[Int32]],
                                             rng: inout RandomGenerator, tokens: Int? = nil, labelSmoothing: Float = 0,
                                             coverageLossWeight: Float = 1) -> Double {
        let V = model.config.targetVocabSize
        let enc = model.encode(source: source, training: true, rng: &rng)
        let inputs = EncoderDecoder.teacherInputs(targets: target.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
        let tr = model.decodeForTraining(enc, inputs: inputs, training: true, rng: &rng, deferOutputLayer: true)
        checkCopy(tr, copy: copy, targets: target)
        let B = tr.batchSize, T = tr.steps, S = enc.sourceLength
        let gates = model.copyGates(tr)
        let grad = CopyGradient(dGate: FloatBuffer(count: T * B), dWeights: FloatBuffer(count: T * B * S))
        let rowLoss = FloatBuffer(count: T * B)
        let n = tokens ?? target.reduce(0) { $0 + min($1.count, T) }
        let w = n > 0 ? 1 / Float(n) : 0
        let dOut = model.outputLayerBackward(tr) { first, m, logits in
            splitWork(m, costPerItem: V) { lo, hi in
                for i in lo..<hi {
                    let r = first + i, t = r / B, b = r % B, row = logits + i * V
                    guard t < target[b].count else { row.update(repeating: 0, count: V); continue }
                    rowLoss[r] = copyRowGradient(row: row, V: V, extended: V + copy[b].oovs.count, y: Int(target[b][t]),
                                                 logZ: tr.logZ.pointer + r, gate: gates[r],
                                                 weights: tr.attention.pointer + r * S, source: copy[b].ids, length: enc.lengths[b],
                                                 w: w, epsilon: labelSmoothing, dGate: grad.dGate.pointer + r,
                                                 dWeights: grad.dWeights.pointer + r * S)
                }
            }
        }
        model.backward(tr, dOutputs: dOut, consumeCaches: true, copy: grad,
                       coverage: model.coveragePenalty(tr, targets: target, lambda: coverageLossWeight, tokens: n))
        var loss = 0.0
        for r in 0..<(T * B) where r / B < target[r % B].count { loss -= Double(rowLoss[r]) }
        return n > 0 ? loss / Double(n) : 0
    }
}
