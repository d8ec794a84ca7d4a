import ArgumentParser
import Foundation
import Metrics
import Seq2Seq
import Tokenize

/// `mixer-bench reward-words`: times the reward of sampled subword outputs, pieces merged into
/// words (``RewardWords``), against the word-level reward on ids.
struct RewardWordsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward-words",
        abstract: "Time the reward of subword samples counted on words (pieces merged, words hashed).",
        discussion: """
        Trains a BPE model (--pieces) on the first --train-lines target lines of --data, takes \
        the validation targets of --words words or more cut to --words words as references (as \
        pieces), and draws --samples hypotheses per reference: the reference's pieces with about \
        one in four replaced by a random piece (byte pieces included). Times, per sample, the \
        reward on words (BLEU plus-one and ROUGE-2 F) with the reference's table reused for the \
        --samples samples of a reference (SCST and risk draw k per source) and with one sample \
        per reference (MIXER: the reference's words hashed and its table built on each call), \
        and the word-level reward on ids (ReferenceTable built once per reference) for \
        comparison. Prints one JSON line (nanoseconds per sample, median of --repeats).

        Example:
          mixer-bench reward-words --data data --words 20 --samples 8
        """
    )

    @Option(help: "The directory of train.tgt and valid.tgt.") var data = "data"
    @Option(help: "Training lines for the BPE model.") var trainLines = 4000
    @Option(help: "Pieces of the BPE model.") var pieces = 2000
    @Option(help: "Words per reference.") var words = 20
    @Option(help: "Samples per reference.") var samples = 8
    @Option(help: "Timed repetitions (the median is printed).") var repeats = 7

    func run() throws {
        let tok = try TokenizerSettings().makeTokenizer()
        let train = try String(contentsOfFile: data + "/train.tgt", encoding: .utf8).split(separator: "\n").prefix(trainLines)
        let model = try SubwordModel.train(sentences: train.map { tok.words(String($0)).joined(separator: " ") },
                                           options: SubwordTrainingOptions(type: .bpe, vocabularySize: pieces))
        let valid = try String(contentsOfFile: data + "/valid.tgt", encoding: .utf8).split(separator: "\n")
        var references: [[String]] = valid.map { tok.words(String($0)) }.filter { $0.count >= words }.map { Array($0.prefix(words)) }
        if references.isEmpty { throw ValidationError("no validation target has \(words) words") }
        references = Array(references.prefix(400))
        let targets = references.map { model.ids(words: $0) + [Vocabulary.eos] }
        var rng = SplitMix64(seed: 7)
        let V = UInt64(model.vocabulary.count)
        let hypotheses: [[[Int32]]] = targets.map { t in
            (0..<samples).map { _ in
                t.dropLast().map { id in rng.next() % 4 == 0 ? Int32(4 + rng.next() % (V - 4)) : id }
            }
        }
        let pieceCount = Double(targets.reduce(0) { $0 + $1.count - 1 }) / Double(targets.count)
        let rw = RewardWords(model: model)
        func time(_ body: () -> Double) -> Double {
            var runs: [Double] = []
            var sink = 0.0
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                sink += body()
                runs.append(Double(DispatchTime.now().uptimeNanoseconds - t0))
            }
            if sink.isNaN { print("") }
            return runs.sorted()[runs.count / 2] / Double(targets.count * samples)
        }
        var fields: [(String, String)] = [("bench", "\"reward-words\""), ("words", "\(words)"),
                                          ("pieces_per_reference", String(format: "%.1f", pieceCount)),
                                          ("samples_per_reference", "\(samples)")]
        for (name, metric) in [("bleu", RewardMetric.bleuPlusOne), ("rouge2", RewardMetric.rougeN(2))] {
            // k samples per reference: the table is built once per reference.
            let shared = time {
                var s = 0.0
                for (t, hs) in zip(targets, hypotheses) { for h in hs { s += rw.reward(h, target: t, metric: metric) } }
                return s
            }
            // One sample per reference (the table rebuilt on every call).
            let alternating = time {
                var s = 0.0
                for k in 0..<samples { for (t, hs) in zip(targets, hypotheses) { s += rw.reward(hs[k], target: t, metric: metric) } }
                return s
            }
            // Word-level reward on ids: one ReferenceTable per reference, as a word model's.
            var vocabulary: [String: Int32] = [:]
            func id(_ w: String) -> Int32 {
                if let i = vocabulary[w] { return i }
                let i = Int32(vocabulary.count + 4)
                vocabulary[w] = i
                return i
            }
            let wordTargets = references.map { ws in ws.map(id) }
            let wordHyps = hypotheses.map { hs in hs.map { h in model.words(ids: h).map(id) } }
            let onIDs = time {
                var s = 0.0
                for (t, hs) in zip(wordTargets, wordHyps) {
                    let table = ReferenceTable(references: [t], metric: metric)
                    for h in hs { s += table.reward(h) }
                }
                return s
            }
            fields += [("\(name)_ns_per_sample_shared_reference", String(format: "%.0f", shared)),
                       ("\(name)_ns_per_sample_new_reference", String(format: "%.0f", alternating)),
                       ("\(name)_word_ids_ns_per_sample", String(format: "%.0f", onIDs))]
        }
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}
