import Foundation
import Tokenize

/// A parallel corpus turned into token ids, with the vocabularies built from its training
/// half.
///
/// Sources are tokenized, truncated to `maxSourceLength` tokens and encoded; targets are
/// truncated to `maxTargetLength` tokens and `</s>` is appended, so every target has between
/// 1 and `maxTargetLength + 1` ids. The validation references are kept as text (the metric is
/// computed on detokenized output against them, exactly as `mixer-cli score` would).
public struct TrainingData {
    public var sourceVocabulary: Vocabulary
    public var targetVocabulary: Vocabulary
    public var trainSources: [[Int32]]
    public var trainTargets: [[Int32]]
    public var validSources: [[Int32]]
    public var validTargets: [[Int32]]
    /// Validation source and reference lines as read (pairs with an empty side skipped).
    public var validSourceText: [String]
    public var validReferenceText: [String]
    /// Lines (training and validation) longer than the length limits.
    public var truncatedSources = 0
    public var truncatedTargets = 0
    public var skippedPairs = 0
    /// Training tokens before truncation, and how many the length limits dropped (for the
    /// warning that a limit cuts most of the input).
    public var trainSourceTokens = 0, droppedSourceTokens = 0, longestSource = 0
    public var trainTargetTokens = 0, droppedTargetTokens = 0, longestTarget = 0
    public var truncatedTrainSources = 0, truncatedTrainTargets = 0
    /// The SentencePiece models when the vocabularies are pieces (``SubwordPlan``): the ids are
    /// pieces and the length limits count pieces.
    public var subword: SubwordModels?
    /// With copy attention (``ModelConfig/copy``): each pair's ``CopySource``, and the targets
    /// above are then in each pair's extended vocabulary (an out-of-vocabulary target word that
    /// the source holds is its extended id; See et al. 2017 §2.2). nil without. For a subword
    /// run the copy sources are the source's *pieces* (copying over pieces): a source piece in
    /// the target model is its target id, one that only the source model has (separate models)
    /// an extended id spelling itself; the targets, being target pieces, need no extended id.
    public var trainCopy: [CopySource]?
    public var validCopy: [CopySource]?

    /// The words that target ids spell: the vocabulary's tokens, or for a subword model the
    /// pieces joined back into words (``SubwordModel/words(ids:)``).
    public func targetWords(_ ids: [Int32]) -> [String] {
        subword?.target.words(ids: ids) ?? targetVocabulary.decode(ids)
    }

    /// ``targetWords(_:)`` of an output for validation pair `i`: with copy, an extended id is
    /// the word it copies from the pair's source.
    /// A subword model's copied source pieces are merged with the other pieces into words
    /// (``SubwordModel/words(ids:extra:)``).
    public func validTargetWords(_ ids: [Int32], pair i: Int) -> [String] {
        guard let copy = validCopy?[i] else { return targetWords(ids) }
        if let subword { return subword.target.words(ids: ids, extra: copy.oovs) }
        return ids.map { copy.word($0, target: targetVocabulary) }
    }

    /// Vocabulary limits.
    public struct VocabularyOptions: Codable, Equatable, Sendable {
        public var minCount = 1
        public var maxSize: Int? = 10_000
        public init(minCount: Int = 1, maxSize: Int? = 10_000) {
            self.minCount = minCount
            self.maxSize = maxSize
        }
    }

    /// Reads, tokenizes and encodes the four files.
    ///
    /// With `subword`, the ids are SentencePiece pieces of ICU's words: the models are trained
    /// on the training pairs' words (each line's first max + 1 words, joined by spaces) or
    /// given; `existingVocabularies` and the vocabulary options are then not used, the
    /// vocabularies are the models' pieces, and the length limits count pieces.
    /// - Throws: `InputError` (file and line) for unreadable or invalid files, different line
    ///   counts, or a training set with no usable pair; ``SubwordError`` when SentencePiece
    ///   cannot train the models (a vocabulary size the text cannot fill, say).
    public static func load(trainSource: String, trainTarget: String, validSource: String, validTarget: String,
                            tokenizer settings: TokenizerSettings, sourceVocabulary: VocabularyOptions,
                            targetVocabulary: VocabularyOptions, maxSourceLength: Int, maxTargetLength: Int,
                            replaceInvalid: Bool = false,
                            existingVocabularies: (Vocabulary, Vocabulary)? = nil,
                            fingerprints: DataFingerprints? = nil,
                            subword: SubwordPlan? = nil, copy: Bool = false) throws -> TrainingData {
        // The training pairs stream: each line is tokenized once, its tokens counted for the
        // vocabularies (all of them, as before), and only the first max + 1 kept, so a
        // pathological 10 MB line costs its own size once, not its token list for the run.
        let tok = try settings.makeTokenizer()
        var sourceCounter = TokenCounter(), targetCounter = TokenCounter()
        let counting = existingVocabularies == nil && subword == nil
        var trainSrcTok: [[String]] = [], trainTgtTok: [[String]] = []
        var truncatedSources = 0, truncatedTargets = 0
        var sourceTokens = (total: 0, dropped: 0, longest: 0, lines: 0), targetTokens = (total: 0, dropped: 0, longest: 0, lines: 0)
        func prefix(_ line: String, _ limit: Int, _ counter: inout TokenCounter, _ truncated: inout Int,
                    _ tokens: inout (total: Int, dropped: Int, longest: Int, lines: Int)) -> [String] {
            var words: [String] = []
            var n = 0
            var l = line
            l.withUTF8 { bytes in
                tok.forEachToken(utf8: bytes) { token, _ in
                    n += 1
                    let w = String(decoding: token, as: UTF8.self)
                    if counting { counter.add(CollectionOfOne(w)) }
                    if words.count <= limit { words.append(w) }
                }
            }
            tokens.total += n
            tokens.longest = max(tokens.longest, n)
            if words.count > limit {
                truncated += 1
                tokens.dropped += n - limit
                tokens.lines += 1
                words.removeLast(words.count - limit)
            }
            return words
        }
        let train = try ParallelCorpus.forEachPair(sourcePath: trainSource, targetPath: trainTarget, replaceInvalid: replaceInvalid,
                                                    fingerprints: fingerprints) { s, t, _ in
            trainSrcTok.append(prefix(s, maxSourceLength, &sourceCounter, &truncatedSources, &sourceTokens))
            trainTgtTok.append(prefix(t, maxTargetLength, &targetCounter, &truncatedTargets, &targetTokens))
        }
        let valid = try ParallelCorpus.read(sourcePath: validSource, targetPath: validTarget, replaceInvalid: replaceInvalid,
                                            fingerprints: fingerprints)
        guard train.kept > 0 else { throw InputError(file: trainSource, "has no pair with both sides non-empty") }
        guard valid.count > 0 else { throw InputError(file: validSource, "has no pair with both sides non-empty") }
        if let subword {
            return try loadSubword(subword, tokenizer: tok, trainSources: trainSrcTok, trainTargets: trainTgtTok, valid: valid,
                                   maxSourceLength: maxSourceLength, maxTargetLength: maxTargetLength,
                                   skippedPairs: train.skipped + valid.skippedEmptyPairs, copy: copy)
        }
        let srcVocab: Vocabulary, tgtVocab: Vocabulary
        if let (s, t) = existingVocabularies {
            srcVocab = s
            tgtVocab = t
        } else {
            srcVocab = Vocabulary(sourceCounter, minCount: sourceVocabulary.minCount, maxSize: sourceVocabulary.maxSize)
            tgtVocab = Vocabulary(targetCounter, minCount: targetVocabulary.minCount, maxSize: targetVocabulary.maxSize)
        }
        var data = TrainingData(sourceVocabulary: srcVocab, targetVocabulary: tgtVocab, trainSources: [], trainTargets: [],
                                validSources: [], validTargets: [], validSourceText: valid.sources,
                                validReferenceText: valid.targets)
        data.skippedPairs = train.skipped + valid.skippedEmptyPairs
        data.truncatedSources = truncatedSources
        data.truncatedTargets = truncatedTargets
        (data.trainSourceTokens, data.droppedSourceTokens, data.longestSource, data.truncatedTrainSources) = sourceTokens
        (data.trainTargetTokens, data.droppedTargetTokens, data.longestTarget, data.truncatedTrainTargets) = targetTokens
        func encodeSource(_ words: [String]) -> [Int32] {
            if words.count > maxSourceLength { data.truncatedSources += 1 }
            return srcVocab.encode(Array(words.prefix(maxSourceLength)))
        }
        func encodeTarget(_ words: [String]) -> [Int32] {
            if words.count > maxTargetLength { data.truncatedTargets += 1 }
            return tgtVocab.encode(Array(words.prefix(maxTargetLength))) + [Vocabulary.eos]
        }
        data.trainSources = trainSrcTok.map { srcVocab.encode($0) }
        data.trainTargets = trainTgtTok.map { tgtVocab.encode($0) + [Vocabulary.eos] }
        data.validSources = valid.sources.map { encodeSource(tok.words($0)) }
        data.validTargets = valid.targets.map { encodeTarget(tok.words($0)) }
        if copy {
            // The same truncated words as the ids above, spelled in each pair's extended vocabulary.
            let trainCopy = trainSrcTok.map { CopySource(words: $0, target: tgtVocab) }
            data.trainCopy = trainCopy
            data.trainTargets = zip(trainCopy, trainTgtTok).map { $0.extendedTarget(words: $1, target: tgtVocab) + [Vocabulary.eos] }
            let validCopy = valid.sources.map { CopySource(words: Array(tok.words($0).prefix(maxSourceLength)), target: tgtVocab) }
            data.validCopy = validCopy
            data.validTargets = zip(validCopy, valid.targets).map {
                $0.extendedTarget(words: Array(tok.words($1).prefix(maxTargetLength)), target: tgtVocab) + [Vocabulary.eos]
            }
        }
        return data
    }
}

extension TrainingData {
    /// The subword half of ``load(trainSource:trainTarget:validSource:validTarget:tokenizer:sourceVocabulary:targetVocabulary:maxSourceLength:maxTargetLength:replaceInvalid:existingVocabularies:fingerprints:subword:)``:
    /// trains or takes the models, encodes every line's words into pieces and truncates to the
    /// limits (which count pieces; so do the token statistics, over each line's first max + 1
    /// words).
    static func loadSubword(_ plan: SubwordPlan, tokenizer tok: WordTokenizer, trainSources: [[String]], trainTargets: [[String]],
                            valid: ParallelCorpus, maxSourceLength: Int, maxTargetLength: Int,
                            skippedPairs: Int, copy: Bool = false) throws -> TrainingData {
        let models: SubwordModels
        switch plan {
        case .use(let m): models = m
        case .train(let options, let joint):
            let src = trainSources.lazy.map { $0.joined(separator: " ") }
            let tgt = trainTargets.lazy.map { $0.joined(separator: " ") }
            if joint {
                let m = try SubwordModel.train(sentences: [AnySequence(src), AnySequence(tgt)].joined(), options: options)
                models = SubwordModels(source: m, target: m)
            } else {
                models = SubwordModels(source: try SubwordModel.train(sentences: src, options: options),
                                       target: try SubwordModel.train(sentences: tgt, options: options))
            }
        }
        var data = TrainingData(sourceVocabulary: models.source.vocabulary, targetVocabulary: models.target.vocabulary,
                                trainSources: [], trainTargets: [], validSources: [], validTargets: [],
                                validSourceText: valid.sources, validReferenceText: valid.targets)
        data.subword = models
        data.skippedPairs = skippedPairs
        func encode(_ words: [String], _ model: SubwordModel, _ limit: Int, train: Bool, source: Bool) -> [Int32] {
            let ids = model.ids(words: words)
            let n = ids.count
            if n > limit {
                if source { data.truncatedSources += 1 } else { data.truncatedTargets += 1 }
            }
            if train {
                if source {
                    data.trainSourceTokens += n; data.longestSource = max(data.longestSource, n)
                    if n > limit { data.droppedSourceTokens += n - limit; data.truncatedTrainSources += 1 }
                } else {
                    data.trainTargetTokens += n; data.longestTarget = max(data.longestTarget, n)
                    if n > limit { data.droppedTargetTokens += n - limit; data.truncatedTrainTargets += 1 }
                }
            }
            return n > limit ? Array(ids.prefix(limit)) : ids
        }
        data.trainSources = trainSources.map { encode($0, models.source, maxSourceLength, train: true, source: true) }
        data.trainTargets = trainTargets.map { encode($0, models.target, maxTargetLength, train: true, source: false) + [Vocabulary.eos] }
        // A word has at least one piece: the first max + 1 words decide the first max + 1 pieces.
        func words(_ line: String, _ limit: Int) -> [String] {
            var out: [String] = []
            var l = line
            l.withUTF8 { bytes in
                tok.forEachToken(utf8: bytes) { token, _ in
                    if out.count <= limit { out.append(String(decoding: token, as: UTF8.self)) }
                }
            }
            return out
        }
        data.validSources = valid.sources.map { encode(words($0, maxSourceLength), models.source, maxSourceLength, train: false, source: true) }
        data.validTargets = valid.targets.map {
            encode(words($0, maxTargetLength), models.target, maxTargetLength, train: false, source: false) + [Vocabulary.eos]
        }
        if copy {
            // Copying over pieces: each source's (truncated) pieces in the target vocabulary.
            // A target piece is always a target id, so the targets stay as they are.
            let sourcePieces = models.source.vocabulary, targetPieces = models.target.vocabulary
            data.trainCopy = data.trainSources.map { CopySource(words: sourcePieces.decode($0), target: targetPieces) }
            data.validCopy = data.validSources.map { CopySource(words: sourcePieces.decode($0), target: targetPieces) }
        }
        return data
    }

    /// Warnings for length limits that drop more than `threshold` of the training tokens
    /// (default 5%), naming the flag that changes each, e.g. "--max-source-length 50 drops
    /// 41.2% of the training source tokens (281 of 300 sources are longer; the longest has
    /// 412): raise --max-source-length to keep more".
    public func truncationWarnings(maxSourceLength: Int, maxTargetLength: Int, threshold: Double = 0.05) -> [String] {
        var out: [String] = []
        for (side, flag, limit, total, dropped, lines, longest) in [
            ("source", "--max-source-length", maxSourceLength, trainSourceTokens, droppedSourceTokens, truncatedTrainSources, longestSource),
            ("target", "--max-target-length", maxTargetLength, trainTargetTokens, droppedTargetTokens, truncatedTrainTargets, longestTarget),
        ] where total > 0 && Double(dropped) > threshold * Double(total) {
            out.append(String(format: "%@ %d drops %.1f%% of the training %@ tokens (%d of %d %@s are longer; the longest has %d): raise %@ to keep more",
                              flag, limit, 100 * Double(dropped) / Double(total), side, lines, trainSources.count, side, longest, flag))
        }
        return out
    }
}
