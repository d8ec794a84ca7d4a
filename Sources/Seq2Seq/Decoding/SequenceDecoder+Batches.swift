import Foundation
import Tokenize

extension SequenceDecoder {
    /// Decodes any number of sources with one strategy, in batches of `batchSize` sources of
    /// similar length (sorted by length, longest first, so little padding is computed), and
    /// returns the outputs in the sources' order.
    ///
    /// The outputs do not depend on `batchSize` beyond floating-point rounding: greedy and beam
    /// search are per-source computations and sampling draws from per-source streams (see
    /// ``sample(sources:sampling:options:seed:inputIndices:)``).
    /// - Parameters:
    ///   - batchSize: sources per batch (beam search runs batchSize·K rows).
    ///   - seed: the sampling seed (ignored by greedy and beam search).
    ///   - firstIndex: the index of `sources[0]` in the whole input, so that a file decoded in
    ///     chunks draws the same samples as when decoded at once.
    ///   - copy: each source's ``CopySource`` for a model with copy attention (nil otherwise).
    ///   - progress: called after every batch with (sources done, total).
    /// - Returns: per source, 1 (greedy), numSamples (sampling) or up to nBest (beam) outputs.
    /// - Precondition: `batchSize ≥ 1`; `strategy` and `options` validate.
    /// - Complexity: O(N log N) for the sort plus the strategy's cost per batch.
    public func decodeAll(sources: [[Int32]], strategy: DecodingStrategy, options: DecodingOptions,
                          batchSize: Int, seed: UInt64 = 0, firstIndex: Int = 0,
                          copy: [CopySource]? = nil,
                          progress: ((_ done: Int, _ total: Int) -> Void)? = nil) -> [[Hypothesis]] {
        precondition(copy == nil || copy!.count == sources.count, "Got \(copy?.count ?? 0) copy sources for \(sources.count) sources")
        precondition(batchSize >= 1, "The batch size must be at least 1, got \(batchSize)")
        let order = sources.indices.sorted { (sources[$0].count, $1) > (sources[$1].count, $0) }
        var results = [[Hypothesis]](repeating: [], count: sources.count)
        var start = 0
        while start < order.count {
            let idx = Array(order[start..<min(start + batchSize, order.count)])
            let batch = idx.map { sources[$0] }
            let batchCopy = copy.map { c in idx.map { c[$0] } }
            let out: [[Hypothesis]]
            switch strategy {
            case .greedy: out = greedy(sources: batch, options: options, copy: batchCopy).map { [$0] }
            case .sample(let s): out = sample(sources: batch, sampling: s, options: options, seed: seed, inputIndices: idx.map { $0 + firstIndex },
                                              copy: batchCopy)
            case .beam(let b): out = beamSearch(sources: batch, beam: b, options: options, copy: batchCopy)
            }
            for (i, j) in idx.enumerated() { results[j] = out[i] }
            start += idx.count
            progress?(start, order.count)
        }
        return results
    }
}

/// A decoded output as text: the hypothesis, its tokens and its detokenized line.
public struct DecodedOutput: Equatable, Sendable {
    public var hypothesis: Hypothesis
    /// The output tokens (target vocabulary strings; `<unk>` possibly replaced by source tokens).
    public var tokens: [String]
    /// The tokens joined by `Detokenizer`.
    public var text: String
}

extension TrainedModel {
    /// Why `--replace-unk` is refused for a subword model.
    public static let replaceUnkRefusal = "--replace-unk is for word models: this is a subword model, whose output has no <unk> (a character outside its pieces is spelled by byte pieces); drop --replace-unk"

    /// The default maximum number of decoding steps: `maxTargetLength + 1` (room for `</s>`).
    public var defaultMaxLength: Int { config.maxTargetLength + 1 }

    /// The output tokens of `h`; with `replaceUnk`, each `<unk>` at step t becomes the source
    /// token at `h.attentionArgmax[t]` (the position with the highest attention weight; Luong et
    /// al. 2015, https://arxiv.org/abs/1410.8206), or stays `<unk>` when the source is empty.
    /// A subword model's output pieces are joined back into the words they spell
    /// (``SubwordModel/words(ids:)``; byte pieces decoded, specials dropped, so no `<unk>`), and
    /// `replaceUnk` does nothing there.
    /// - Complexity: O(|Y|).
    /// With copy attention, an extended id (≥ V) is the source word it copies
    /// (``CopySource/word(_:target:)``); `<unk>` that remain can still be replaced. A subword
    /// model copies pieces (`sourceTokens` are then the source's pieces): a copied piece that
    /// the target model lacks is written as itself and merged into words with the others
    /// (``SubwordModel/words(ids:extra:)``).
    public func outputTokens(_ h: Hypothesis, sourceTokens: [String], replaceUnk: Bool) -> [String] {
        let copy = config.model.copyEnabled ? CopySource(words: sourceTokens, target: targetVocabulary) : nil
        if let subword { return subword.target.words(ids: h.ids, extra: copy?.oovs ?? []) }
        return h.ids.enumerated().map { t, id in
            if let copy, Int(id) >= targetVocabulary.count { return copy.word(id, target: targetVocabulary) }
            if replaceUnk && id == Vocabulary.unk {
                let j = h.attentionArgmax[t]
                if j >= 0 && j < sourceTokens.count { return sourceTokens[j] }
            }
            return targetVocabulary.token(id)
        }
    }

    /// A source's ``CopySource`` in this model's target vocabulary (its tokens as
    /// ``encodeSources(_:)`` returns them, one per source id: words, or a subword model's pieces).
    public func copySource(tokens: [String]) -> CopySource { CopySource(words: tokens, target: targetVocabulary) }

    /// Tokenizes, decodes and detokenizes source lines (see ``SequenceDecoder/decodeAll(sources:strategy:options:batchSize:seed:progress:)``).
    /// - Returns: per line, its outputs best first (one for greedy).
    /// - Throws: `DecodingOptionError` for options that cannot be honoured; tokenizer errors.
    public func decode(lines: [String], strategy: DecodingStrategy, options: DecodingOptions, batchSize: Int,
                       seed: UInt64 = 0, replaceUnk: Bool = false, firstIndex: Int = 0,
                       progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> [[DecodedOutput]] {
        try strategy.validate()
        try options.validate()
        if batchSize < 1 { throw DecodingOptionError("the batch size must be at least 1, got \(batchSize)") }
        if replaceUnk && subword != nil { throw DecodingOptionError(Self.replaceUnkRefusal) }
        let encoded = try encodeSources(lines)
        let copy = config.model.copyEnabled ? encoded.map { copySource(tokens: $0.tokens) } : nil
        let hyps = SequenceDecoder(model: model).decodeAll(sources: encoded.map(\.ids), strategy: strategy, options: options,
                                                   batchSize: batchSize, seed: seed, firstIndex: firstIndex, copy: copy,
                                                   progress: progress)
        let detok = Detokenizer()
        return zip(hyps, encoded).map { hs, src in
            hs.map { h in
                let toks = outputTokens(h, sourceTokens: src.tokens, replaceUnk: replaceUnk)
                return DecodedOutput(hypothesis: h, tokens: toks, text: detok.detokenize(toks))
            }
        }
    }
}
