import Foundation
import Tokenize

/// Minimum risk training (MRT; Shen et al., ACL 2016, [arXiv:1512.02433](https://arxiv.org/abs/1512.02433);
/// Edunov et al., NAACL 2018, [arXiv:1711.04956](https://arxiv.org/abs/1711.04956), "Risk"):
/// the expected cost of the model's own outputs, over a candidate set per source,
/// mixed with a token-level cross-entropy.
///
/// For source x_i with candidates U_i (`--risk-candidates-from`, ``RiskCandidateSource``: k
/// samples of the model, a ``Rollout`` at s = 0; the k-best of a beam search of width k over the
/// current model, in inference mode, no gradient through the search; or both; plus the
/// reference with `--risk-include-reference`), each candidate's sequence score is its length-normalized
/// log-probability s(y) = (1/|y|) Σ_t log p_θ(y_t | y_<t, x) (|y| counts `</s>` when it was
/// emitted), and the candidates' distribution is that score sharpened by α and renormalized
/// over U_i:
///
///     Q(y) = exp(α·s(y)) / Σ_{y'∈U_i} exp(α·s(y'))
///     R_i  = Σ_{y∈U_i} Q(y)·c(y),   c(y) = 1 − r(y, y*_i)   (r: the `--reward`, 0–1)
///     L    = (1/B) Σ_i R_i + λ·XENT
///
/// Its gradient at the logits of step t of candidate y (the samples held fixed, as their
/// probability is what Q reweights):
///
///     ∂R_i/∂s(y)          = α·Q(y)·(c(y) − R_i)
///     ∂s(y)/∂logits_t     = (onehot(y_t) − p_t) / |y|
///     ∂L/∂logits_t(y)     = (1/B)·α·Q(y)·(c(y) − R_i)·(onehot(y_t) − p_t) / |y|
///
/// — a policy gradient whose advantage is the candidate's cost relative to the expected cost,
/// weighted by Q instead of by the sampling frequency. Samples are scored by the forward pass
/// that drew them; beam candidates and the reference by a teacher-forced forward pass over them
/// (``Rollout/init(_:_:forced:dropout:)``), the same computation, so every candidate's s(y) and
/// gradient come from the model being trained (dropout included).
///
/// Duplicates (``RiskDuplicates``): with `merge` (the default) U_i is a set, as Shen et al.'s
/// S(x): an output drawn again for the same source (a repeated sample, a sample the beam also
/// found, the reference sampled) is dropped from Q and gets no gradient, so Q does not count
/// draws; `keep` counts every draw (Q then weights an output by how often it was drawn, what
/// risk did before the option). Beam hypotheses are distinct by construction (Edunov et al.'s
/// candidates). The XENT term (weight λ, `xentWeight`)
/// is ``XENTObjective``'s gradient on the references, added first (it scales the gradients it
/// writes, so it must find them zero).
///
/// Copy attention (`batch.copy`; See et al. 2017, ``CopySource``): candidates are ids of each
/// row's extended vocabulary — samples drawn from the mixed distribution
/// P_t(w) = g·p_t(w)·[w < V] + (1 − g)·Σ_{i: x_i = w} a_{t,i} (``Rollout``), the beam search over
/// it, the reference's extended target — an extended id is read back as `<unk>`, and every
/// formula above holds with log p_θ replaced by log max(P_t, 10⁻³⁰) (``copyScores(_:gates:)``):
/// each candidate's gradient is the copy cross-entropy's (at the logits, p_gen and the attention
/// weights; ``copyGradient(_:gates:coefficients:)``) weighted by the same coefficient, and the
/// λ term is copy XENT. The cost reads extended ids, so copying a rare reference word earns
/// its n-grams. Copy always takes the general path (``logitGradients(_:alpha:merge:batchRows:_:)``).
///
/// Data parallelism (`context.shard`): a rank's candidates are those of its sources, drawn and
/// masked where one process draws them (``Rollout/samples(_:perSource:steps:temperature:_:)``,
/// ``forcedShard(sources:sequences:_:_:)``), weighted by the global batch's 1/B.
///
/// - Complexity: a forward pass over B·k rows with the softmax trace, O(B·k) rewards, a backward
///   pass over them, plus XENT's forward and backward when λ > 0.
struct RiskObjective: Objective {
    /// T.
    let steps: Int
    /// k, candidates per source (≥ 2: with one, Q = 1 and the risk has no gradient).
    let candidates: Int
    /// α, the sharpness of Q (Shen et al. use 5e-3 on unnormalized scores; on length-normalized
    /// log-probabilities values near 1 are the usual scale).
    let alpha: Double
    /// λ, the weight of the token-level cross-entropy on the references (0: risk alone).
    let xentWeight: Float
    /// τ of the samples.
    let temperature: Double
    /// Where the candidates come from.
    var source: RiskCandidateSource = .sample
    /// The reference as one more candidate.
    var includeReference = false
    /// What a repeated candidate does.
    var duplicates: RiskDuplicates = .keep
    /// Sources per beam-search batch (`--valid-batch-size`).
    var beamBatchSize = 64

    func stage(epoch: Int) -> (name: String, s: Int) { ("risk", 0) }

    func sampledFraction(s: Int, globalStep: Int) -> Double? { 1 }

    func step(_ batch: Batch, _ context: inout ObjectiveContext) throws -> StepStatistics {
        var st = StepStatistics()
        if xentWeight > 0 { XENTObjective.addGradient(batch, scale: xentWeight, &context, &st) }
        let model = context.model, B = batch.count, k = candidates
        // The 1/B of the risk: the global batch's B on a data-parallel rank.
        let rows = context.shard?.globalRows ?? B
        let empty = B == 0 && context.shard != nil
        if source == .sample && !includeReference && duplicates == .keep && batch.copy == nil {
            if empty { Rollout.skipSamples(perSource: k, steps: steps, &context); return st }
            let (r, _, reward) = Rollout.samples(batch, perSource: k, steps: steps, temperature: temperature, &context)
            let d = Self.logitGradient(r, sources: B, candidates: k, reward: reward, alpha: alpha, batchRows: rows, &st)
            d.withUnsafeBufferPointer { model.backward(r.trace, dLogits: $0.baseAddress!) }
            return st
        }
        var parts: [CandidatePart] = []
        if source != .beam {
            if empty { Rollout.skipSamples(perSource: k, steps: steps, &context) } else {
                let (r, _, reward) = Rollout.samples(batch, perSource: k, steps: steps, temperature: temperature, &context)
                parts.append(CandidatePart(rollout: r, groups: (0..<B).map { ($0 * k)..<(($0 + 1) * k) }, reward: reward,
                                           gates: r.copy == nil ? nil : model.copyGates(r.trace)))
            }
        }
        if source != .sample || includeReference {
            let beams: [[Hypothesis]] = source == .sample || B == 0 ? [] : SequenceDecoder(model: model).decodeAll(
                sources: batch.sources, strategy: .beam(BeamOptions(beamSize: k, nBest: k)),
                options: DecodingOptions(maxLength: steps), batchSize: beamBatchSize, copy: batch.copy)
            var sequences: [[Int32]] = [], groups: [Range<Int>] = [], sources: [[Int32]] = [], targets: [[Int32]] = []
            var copies: [CopySource] = []
            for i in 0..<B {
                let lo = sequences.count
                if source != .sample {
                    for h in beams[i] where h.length > 0 { sequences.append(h.ids + (h.ended ? [Vocabulary.eos] : [])) }
                }
                if includeReference { sequences.append(batch.targets[i]) }
                groups.append(lo..<sequences.count)
                for _ in groups[i] {
                    sources.append(batch.sources[i]); targets.append(batch.targets[i])
                    if let c = batch.copy { copies.append(c[i]) }
                }
            }
            // On a data-parallel rank the forced pass is a shard of the global batch's candidate
            // rows: its masks come from the global shape (every rank's rows, longest source and
            // candidate), one gather of each.
            let forced = context.shard.map { Self.forcedShard(sources: sources, sequences: sequences, $0, context.group) }
            if sequences.isEmpty, let forced {
                context.dropout.skip(forced.dropoutDraws(model.config, p: model.config.dropout,
                                                         decoderSteps: forced.globalTargetLength))
            } else {
                let outer = model.dropoutShard
                if let forced { model.dropoutShard = forced }
                defer { model.dropoutShard = outer }
                let enc = model.encode(source: sources, training: true, rng: &context.dropout)
                let r = Rollout(model, enc, forced: sequences, dropout: &context.dropout, copy: batch.copy == nil ? nil : copies)
                parts.append(CandidatePart(rollout: r, groups: groups, reward: context.reward.rewards(r, targets: targets),
                                           gates: r.copy == nil ? nil : model.copyGates(r.trace)))
            }
        }
        let ds = Self.logitGradients(parts, alpha: alpha, merge: duplicates == .merge, batchRows: rows, &st)
        for (part, d) in zip(parts, ds) {
            d.dLogits.withUnsafeBufferPointer { model.backward(part.rollout.trace, dLogits: $0.baseAddress!, copy: d.copy) }
        }
        return st
    }

    /// This rank's rows of the global batch's forced candidates (`sources[j]`, `sequences[j]`):
    /// the offset and total from every rank's count, the global shape from every rank's longest
    /// source and candidate (three `MPI_Allgather`s of an integer).
    static func forcedShard(sources: [[Int32]], sequences: [[Int32]], _ shard: RowShard, _ group: ProcessGroup) -> RowShard {
        let counts = group.gather(sequences.count)
        let sourceLength = group.gather(sources.map(\.count).max() ?? 0).max() ?? 0
        let length = group.gather(sequences.map(\.count).max() ?? 0).max() ?? 0
        return RowShard(offset: counts[..<group.rank].reduce(0, +), rows: sequences.count, globalRows: counts.reduce(0, +),
                        globalSourceLength: max(1, sourceLength), globalTargetLength: max(1, length),
                        globalTargetTokens: 0)
    }

    /// Candidates of one forward pass: the rollout, each source's rows (`groups[i]`) and each
    /// row's reward; with copy attention (`rollout.copy`), p_gen of every step
    /// (``EncoderDecoder/copyGates(_:)``).
    struct CandidatePart {
        var rollout: Rollout
        var groups: [Range<Int>]
        var reward: [Float]
        var gates: FloatBuffer? = nil
    }

    /// dLogits of each part by the formula above, Q and R_i taken over the union of a source's
    /// candidates in all parts (in part order; with `merge`, an output already seen for the
    /// source is left out and gets no gradient). Fills the reward statistics (the mean reward of
    /// the candidates counted) and, as "advantages", c(y) − R_i. `batchRows`: the B of 1/B when
    /// the parts are a data-parallel shard's (nil: the parts' sources). A copy part's scores and
    /// gradients are the mixed distribution's (``copyScores(_:gates:)``, ``copyGradient(_:gates:coefficients:)``).
    /// - Returns: each part's dLogits and, for a copy part, its ``CopyGradient``.
    /// - Complexity: O(Σ rows·T·V) for the gradients (copy: O(Σ rows·T·(V + S))).
    static func logitGradients(_ parts: [CandidatePart], alpha: Double, merge: Bool, batchRows: Int? = nil,
                               _ st: inout StepStatistics) -> [(dLogits: [Float], copy: CopyGradient?)] {
        let scored = parts.map { part in part.gates.map { copyScores(part.rollout, gates: $0) } ?? scores(part.rollout) }
        var coeff = parts.map { [Float](repeating: 0, count: $0.rollout.ended.count) }
        let B = parts.first?.groups.count ?? 0
        for i in 0..<B {
            // The source's candidates: (part, row), duplicates left out with `merge`.
            var members: [(p: Int, row: Int)] = []
            var seen: Set<[Int32]> = []
            for (p, part) in parts.enumerated() {
                for row in part.groups[i] where scored[p].lengths[row] > 0 {
                    if merge {
                        let r = part.rollout
                        if !seen.insert(r.output(row) + (r.ended[row] ? [Vocabulary.eos] : [])).inserted { continue }
                    }
                    members.append((p, row))
                }
            }
            if members.isEmpty { continue }
            let m = members.map { alpha * scored[$0.p].scores[$0.row] }.max()!
            var q = members.map { exp(alpha * scored[$0.p].scores[$0.row] - m) }
            let z = q.reduce(0, +)
            for j in q.indices { q[j] /= z }
            var risk = 0.0
            for (j, c) in members.enumerated() { risk += q[j] * Double(1 - parts[c.p].reward[c.row]) }
            for (j, c) in members.enumerated() {
                let advantage = Double(1 - parts[c.p].reward[c.row]) - risk
                coeff[c.p][c.row] = Float(-alpha * q[j] * advantage / Double(scored[c.p].lengths[c.row]) / Double(batchRows ?? B))
                st.advantageSum += advantage
                st.advantageSquares += advantage * advantage
                st.advantageCount += 1
                st.rewardSum += Double(parts[c.p].reward[c.row])
                st.rewardCount += 1
            }
        }
        return parts.indices.map { p in
            if let gates = parts[p].gates { return copyGradient(parts[p].rollout, gates: gates, coefficients: coeff[p]) }
            return (gradient(parts[p].rollout, coefficients: coeff[p]), nil)
        }
    }

    /// ``gradient(_:coefficients:)`` of a copy rollout: coeff[b] times the gradient of
    /// −log max(P_t(y_t), floor) under the mixed distribution (``CrossEntropy``'s copy row
    /// gradient: at the logits, p_gen's pre-activation and the attention weights), on every
    /// active step of each row; a floored step sends nothing.
    /// - Complexity: O(T·rows·(V + S)).
    static func copyGradient(_ r: Rollout, gates: FloatBuffer, coefficients coeff: [Float]) -> (dLogits: [Float], copy: CopyGradient?) {
        guard let copy = r.copy else { preconditionFailure("copyGradient needs a rollout with copy sources") }
        let tr = r.trace, rows = r.ended.count, V = tr.vocabSize, T = r.tokens.count, S = tr.encoder.sourceLength
        let grad = CopyGradient(dGate: FloatBuffer(count: T * rows), dWeights: FloatBuffer(count: T * rows * S))
        let logZ = FloatBuffer(count: 1)
        var d = [Float](repeating: 0, count: T * rows * V)
        d.withUnsafeMutableBufferPointer { dp in
            for t in 0..<T {
                for b in 0..<rows where r.active[t][b] && coeff[b] != 0 {
                    let row = t * rows + b, g = dp.baseAddress! + row * V
                    g.update(from: tr.logits.pointer + row * V, count: V)
                    _ = CrossEntropy.copyRowGradient(row: g, V: V, y: Int(r.tokens[t][b]), logZ: logZ.pointer, gate: gates[row],
                                                     weights: tr.attention.pointer + row * S, source: copy[b].ids,
                                                     length: tr.encoder.lengths[b], w: coeff[b], dGate: grad.dGate.pointer + row,
                                                     dWeights: grad.dWeights.pointer + row * S)
                }
            }
        }
        return (d, grad)
    }

    /// ``scores(_:)`` under copy attention's mixed distribution: s(y) = (1/|y|) Σ_t log max(P_t(y_t), floor),
    /// P_t(w) = g_t·p_t(w)·[w < V] + (1 − g_t)·Σ_{i: x_i = w} a_{t,i} (`gates`: g of every step).
    /// - Complexity: O(T·rows·S).
    static func copyScores(_ r: Rollout, gates: FloatBuffer) -> (lengths: [Int], scores: [Double]) {
        guard let copy = r.copy else { preconditionFailure("copyScores needs a rollout with copy sources") }
        let tr = r.trace, rows = r.ended.count, V = tr.vocabSize, S = tr.encoder.sourceLength
        var lengths = [Int](repeating: 0, count: rows), scores = [Double](repeating: 0, count: rows)
        for t in 0..<r.tokens.count {
            for b in 0..<rows where r.active[t][b] {
                let row = t * rows + b, y = Int(r.tokens[t][b]), g = gates[row], a = tr.attention.pointer + row * S
                var c: Float = 0
                for i in 0..<tr.encoder.lengths[b] where Int(copy[b].ids[i]) == y { c += a[i] }
                let P = g * (y < V ? tr.probs[row * V + y] : 0) + (1 - g) * c
                scores[b] += Double(log(max(P, EncoderDecoder.copyProbabilityFloor)))
                lengths[b] += 1
            }
        }
        for b in 0..<rows where lengths[b] > 0 { scores[b] /= Double(lengths[b]) }
        return (lengths, scores)
    }

    /// dLogits [T, rows, V] = coeff[b]·(p_t − onehot(y_t)) on every active step of each row.
    static func gradient(_ r: Rollout, coefficients coeff: [Float]) -> [Float] {
        let tr = r.trace, rows = r.ended.count, V = tr.vocabSize, T = r.tokens.count
        var d = [Float](repeating: 0, count: T * rows * V)
        d.withUnsafeMutableBufferPointer { dp in
            for t in 0..<T {
                for b in 0..<rows where r.active[t][b] && coeff[b] != 0 {
                    let row = t * rows + b
                    let p = tr.probs.pointer + row * V, g = dp.baseAddress! + row * V
                    for j in 0..<V { g[j] = coeff[b] * p[j] }
                    g[Int(r.tokens[t][b])] -= coeff[b]
                }
            }
        }
        return d
    }

    /// Each candidate row's length |y| and score s(y) = (1/|y|) Σ_t log p_t(y_t), from a trace.
    static func scores(_ r: Rollout) -> (lengths: [Int], scores: [Double]) {
        let tr = r.trace, rows = r.ended.count, V = tr.vocabSize
        var lengths = [Int](repeating: 0, count: rows), scores = [Double](repeating: 0, count: rows)
        for t in 0..<r.tokens.count {
            for b in 0..<rows where r.active[t][b] {
                let row = t * rows + b
                scores[b] += Double(tr.logits[row * V + Int(r.tokens[t][b])] - tr.logZ[row])
                lengths[b] += 1
            }
        }
        for b in 0..<rows where lengths[b] > 0 { scores[b] /= Double(lengths[b]) }
        return (lengths, scores)
    }

    /// Q over each source's k candidate rows (rows i·k ..< (i+1)·k), by a max-shifted softmax of
    /// α·s in Double.
    static func candidateDistribution(_ scores: [Double], candidates k: Int, alpha: Double) -> [Double] {
        var q = [Double](repeating: 0, count: scores.count)
        for i in 0..<(scores.count / k) {
            let lo = i * k, hi = lo + k
            let m = scores[lo..<hi].map { alpha * $0 }.max() ?? 0
            var z = 0.0
            for y in lo..<hi { q[y] = exp(alpha * scores[y] - m); z += q[y] }
            for y in lo..<hi { q[y] /= z }
        }
        return q
    }

    /// dLogits [T, B·k, V] of the risk term by the formula above; fills the step's reward
    /// statistics (the mean reward of the candidates) and, as "advantages", c(y) − R_i.
    /// `batchRows`: the B of 1/B when the rollout is a data-parallel shard's (nil: B).
    static func logitGradient(_ r: Rollout, sources B: Int, candidates k: Int, reward: [Float], alpha: Double,
                              batchRows: Int? = nil, _ st: inout StepStatistics) -> [Float] {
        let rows = B * k
        let (lengths, scores) = Self.scores(r)
        let q = candidateDistribution(scores, candidates: k, alpha: alpha)
        var coeff = [Float](repeating: 0, count: rows)
        for i in 0..<B {
            var risk = 0.0
            for y in (i * k)..<((i + 1) * k) { risk += q[y] * Double(1 - reward[y]) }
            for y in (i * k)..<((i + 1) * k) where lengths[y] > 0 {
                let advantage = Double(1 - reward[y]) - risk
                // ∂L/∂logits = coeff·(p − onehot): the sign of (onehot − p) folded in.
                coeff[y] = Float(-alpha * q[y] * advantage / Double(lengths[y]) / Double(batchRows ?? B))
                st.advantageSum += advantage
                st.advantageSquares += advantage * advantage
                st.advantageCount += 1
            }
        }
        for y in 0..<rows {
            st.rewardSum += Double(reward[y])
            st.rewardCount += 1
        }
        return gradient(r, coefficients: coeff)
    }
}
