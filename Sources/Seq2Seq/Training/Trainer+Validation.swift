import Foundation
import Metrics
import Tokenize

extension Trainer {
    /// The figures of one validation pass.
    struct Validation {
        var metric: Double
        var perplexity: Double
        /// The validation fields of the epoch's record.
        var record: EpochRecord
        var samples: [SampleOutput]
    }

    /// Greedy output ids (without `</s>`) and whether each row emitted `</s>`, in input order:
    /// `SequenceDecoder`'s batched greedy search, the same code as `mixer-cli decode`.
    /// `copy`: each source's ``CopySource`` for a model with copy attention.
    func greedyDecode(_ sources: [[Int32]], copy: [CopySource]? = nil) -> [(ids: [Int32], ended: Bool)] {
        SequenceDecoder(model: model)
            .decodeAll(sources: sources, strategy: .greedy, options: DecodingOptions(maxLength: steps),
                       batchSize: options.validationBatchSize, copy: copy)
            .map { ($0[0].ids, $0[0].ended) }
    }

    /// Validation: perplexity under teacher forcing, then greedy output detokenized, written to
    /// `valid/epoch-NNN.txt` and scored against the references by `Metrics.FileScorer` — the
    /// same code and defaults as `mixer-cli score`.
    func validate(epoch: Int) throws -> Validation {
        // Perplexity.
        var dummy = RandomGenerator(seed: 0)
        var nll = 0.0, tokens = 0
        let copy = model.config.copyEnabled ? data.validCopy : nil
        let vb = try Batcher(sources: data.validSources, targets: data.validTargets, batchSize: options.validationBatchSize, copy: copy)
        let V = model.config.targetVocabSize
        for batch in vb.sequentialBatches() {
            let enc = model.encode(source: batch.sources, training: false, rng: &dummy)
            let inputs = EncoderDecoder.teacherInputs(targets: batch.targets.map { $0.map { CopySource.decoderInput($0, vocabularySize: V) } })
            let tr = model.decodeForTraining(enc, inputs: inputs, training: false, rng: &dummy)
            let (loss, n): (Double, Int)
            if let c = batch.copy {
                (loss, n, _, _) = CrossEntropy.evaluateCopy(tr, gates: model.copyGates(tr), copy: c, targets: batch.targets)
            } else {
                (loss, n, _) = CrossEntropy.evaluate(tr, targets: batch.targets)
            }
            nll += loss * Double(n)
            tokens += n
        }
        let meanNLL = tokens > 0 ? nll / Double(tokens) : 0
        // Greedy output, scored as text.
        let greedy = greedyDecode(data.validSources, copy: copy)
        let detok = Detokenizer()
        let texts = greedy.enumerated().map { detok.detokenize(data.validTargetWords($1.ids, pair: $0)) }
        let refPath = run.path + "/valid/reference.txt"
        if !FileIO.exists(refPath) {
            try FileIO.replaceDurably(refPath, Array((data.validReferenceText.joined(separator: "\n") + "\n").utf8))
        }
        let hypPath = run.path + String(format: "/valid/epoch-%03d.txt", epoch)
        try FileIO.replaceDurably(hypPath, Array((texts.joined(separator: "\n") + "\n").utf8))
        let scores = try FileScorer.score(hypotheses: hypPath, references: [refPath],
                                          options: FileScoringOptions(bleu: BLEU(), rouge: ROUGE()))
        var record = EpochRecord(epoch: epoch)
        record.validLoss = meanNLL
        record.validPerplexity = exp(meanNLL)
        record.metric = options.validationMetric.rawValue
        record.validBLEU = scores.bleu?.score
        record.validROUGE1 = scores.rouge[.rouge1]?.f
        record.validROUGE2 = scores.rouge[.rouge2]?.f
        record.validROUGEL = scores.rouge[.rougeL]?.f
        record.validROUGELsum = scores.rouge[.rougeLsum]?.f
        let metric: Double
        switch options.validationMetric {
        case .perplexity: metric = exp(meanNLL)
        case .bleu: metric = scores.bleu?.score ?? 0
        case .rouge1: metric = scores.rouge[.rouge1]?.f ?? 0
        case .rouge2: metric = scores.rouge[.rouge2]?.f ?? 0
        case .rougeL: metric = scores.rouge[.rougeL]?.f ?? 0
        }
        record.validMetric = metric
        let stats = DegenerationStats(outputs: greedy.map(\.ids), endedWithEOS: greedy.map(\.ended),
                                      references: data.validTargets.map { Array($0.dropLast()) })
        record.setDegeneration(stats)
        // Sample outputs: greedy, and beam 5 on the same few inputs (cheap at this size).
        let n = min(options.logSamples, texts.count)
        let beams = n == 0 ? [] : SequenceDecoder(model: model).beamSearch(
            sources: Array(data.validSources.prefix(n)), beam: BeamOptions(beamSize: 5),
            options: DecodingOptions(maxLength: steps), copy: copy.map { Array($0.prefix(n)) })
        let samples = (0..<n).map { i in
            SampleOutput(source: data.validSourceText[i], reference: data.validReferenceText[i], greedy: texts[i],
                         beam: beams[i].first.map { detok.detokenize(data.validTargetWords($0.ids, pair: i)) } ?? "")
        }
        return Validation(metric: metric, perplexity: exp(meanNLL), record: record, samples: samples)
    }
}
