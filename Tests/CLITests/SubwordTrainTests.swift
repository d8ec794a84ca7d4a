import Foundation
import Metrics
import Tokenize
import XCTest
@testable import Seq2Seq

/// `train --subword` end to end on a slice of the bundled corpus: XENT, then MIXER and risk
/// from it, decode (greedy, beam), evaluate, report, an exact resume, and the reward of sampled
/// pieces equal to what `score --sentence-level` says of their words.
final class SubwordTrainTests: XCTestCase {
    static let tiny = ["--embedding-size", "16", "--hidden-size", "16", "--encoder-hidden-size", "16",
                       "--max-source-length", "30", "--max-target-length", "12", "--batch-size", "16"]
    static let subword = ["--subword", "bpe", "--subword-vocab-size", "600"]

    /// A run of the tiny model on the slice `p`, without the subword flags.
    func base(_ p: [String], _ out: URL) -> [String] {
        ["train", "--train-source", p[0], "--train-target", p[1], "--valid-source", p[2], "--valid-target", p[3],
         "--output", out.path] + Self.tiny
    }

    func args(_ p: [String], _ out: URL) -> [String] { base(p, out) + Self.subword }

    func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    func testSubwordRunEndToEnd() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 300, valid: 20)
        let xent = dir.appendingPathComponent("xent")
        let r = try CLI.run(args(p, xent) + ["--epochs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The SentencePiece model is in the checkpoint, once per side (joint: the same bytes),
        // and the vocabularies are its pieces.
        let last = xent.appendingPathComponent("last")
        let source = try Data(contentsOf: last.appendingPathComponent("source.model"))
        XCTAssertEqual(source, try Data(contentsOf: last.appendingPathComponent("target.model")))
        let model = try SubwordModel(serialized: [UInt8](source))
        XCTAssertEqual(model.vocabulary.count, 600)
        let vocab = try read(last.appendingPathComponent("target.vocab"))
        XCTAssertTrue(vocab.contains("<0xE3>") && vocab.contains("▁"), String(vocab.prefix(200)))
        XCTAssertTrue(try read(last.appendingPathComponent("config.json")).contains("\"subword\""))
        let yaml = try read(xent.appendingPathComponent("config.yaml")).split(separator: "\n")
        XCTAssertTrue(yaml.contains("subword: bpe") && yaml.contains("subword-vocab-size: 600"), yaml.joined(separator: "\n"))
        // Outputs are words: no <unk>, no piece marks.
        let valid = try read(xent.appendingPathComponent("valid/epoch-001.txt"))
        XCTAssertFalse(valid.contains("<unk>") || valid.contains("▁"), valid)
        for strategy in ["greedy", "beam"] {
            let d = try CLI.run(["decode", "--model", xent.path, "-i", p[2], "--strategy", strategy])
            XCTAssertEqual(d.status, 0, d.stderr)
            XCTAssertEqual(d.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 21, d.stdout)
            XCTAssertFalse(d.stdout.contains("<unk>") || d.stdout.contains("▁"), d.stdout)
        }
        // Greedy decode gives the run's own validation output.
        let greedy = try CLI.run(["decode", "--model", xent.appendingPathComponent("last").path, "-i", p[2]])
        XCTAssertEqual(greedy.stdout, valid)
        let e = try CLI.run(["evaluate", "--model", xent.path, "-i", p[2], "-r", p[3], "--metrics", "rouge2"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let rep = try CLI.run(["report", xent.path, "-o", dir.appendingPathComponent("report.html").path])
        XCTAssertEqual(rep.status, 0, rep.stderr)
        XCTAssertTrue(try read(dir.appendingPathComponent("report.html")).contains("target pieces"))
        // --replace-unk is refused for a subword model, clearly.
        let unk = try CLI.run(["decode", "--model", xent.path, "-i", p[2], "--replace-unk"])
        Hostile.assertCleanFailure(unk, mentions: ["--replace-unk", "subword"], "replace-unk")
        // MIXER and risk from the XENT checkpoint: the checkpoint's pieces, rewards on words.
        for objective in [["--objective", "mixer", "--xent-epochs", "0", "--mixer-delta", "6"],
                          ["--objective", "risk", "--risk-candidates", "3"]] {
            let out = dir.appendingPathComponent(objective[1])
            let m = try CLI.run(base(p, out) + ["--epochs", "1", "--init-from", xent.appendingPathComponent("best").path] + objective)
            XCTAssertEqual(m.status, 0, m.stderr)
            let log = try read(out.appendingPathComponent("log.jsonl"))
            XCTAssertTrue(log.contains("\"mean_reward\""), log)
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("last/target.model")), source)
            XCTAssertFalse(try read(out.appendingPathComponent("valid/epoch-001.txt")).contains("<unk>"))
        }
    }

    /// Two epochs at once, or one epoch and a resume for the second: the same bytes.
    /// A --subword-vocab-size SentencePiece cannot train names the way out: larger when the
    /// text's characters need more pieces, smaller when the text cannot give that many.
    func testImpossibleSubwordVocabSizeSaysWhichWay() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 300, valid: 20)
        let small = try CLI.run(base(p, dir.appendingPathComponent("small")) + ["--subword", "bpe", "--subword-vocab-size", "262", "--epochs", "1"])
        Hostile.assertCleanFailure(small, mentions: ["--subword", "try a larger --subword-vocab-size"], "too few pieces")
        let large = try CLI.run(base(p, dir.appendingPathComponent("large")) + ["--subword", "unigram", "--subword-vocab-size", "60000", "--epochs", "1"])
        Hostile.assertCleanFailure(large, mentions: ["--subword", "try a smaller --subword-vocab-size"], "too many pieces")
    }

    func testSubwordResumeIsExact() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 120, valid: 10)
        let whole = dir.appendingPathComponent("whole"), split = dir.appendingPathComponent("split")
        XCTAssertEqual(try CLI.run(args(p, whole) + ["--epochs", "2", "--subword-separate"]).status, 0)
        let first = try CLI.run(args(p, split) + ["--epochs", "1", "--subword-separate"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try CLI.run(["train", "--resume", split.path, "--epochs", "2"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for f in ["model.safetensors", "optimizer.safetensors", "source.model", "target.model", "source.vocab", "target.vocab"] {
            XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: split.appendingPathComponent("last/" + f)), f)
        }
        // Separate models: one per side.
        XCTAssertNotEqual(try Data(contentsOf: whole.appendingPathComponent("last/source.model")),
                          try Data(contentsOf: whole.appendingPathComponent("last/target.model")))
    }

    /// A subword checkpoint whose `.model` is not a SentencePiece model, or whose vocabulary
    /// does not list the model's pieces, is a one-line error naming the file (checksums
    /// re-written, so that the loader's own checks are what is tested); a `--subword-model`
    /// file that is not a model is refused the same way.
    func testDamagedSubwordCheckpointIsAClearError() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 120, valid: 10)
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try CLI.run(args(p, run) + ["--epochs", "1"]).status, 0)
        let checkpoint = run.appendingPathComponent("best").resolvingSymlinksInPath()
        func damaged(_ name: String, _ file: String, _ edit: (inout [UInt8]) -> Void) throws -> URL {
            let copy = dir.appendingPathComponent(name)
            try FileManager.default.copyItem(at: checkpoint, to: copy)
            let url = copy.appendingPathComponent(file)
            var bytes = [UInt8](try Data(contentsOf: url))
            edit(&bytes)
            try Data(bytes).write(to: url)
            let stateURL = copy.appendingPathComponent("trainer-state.json")
            var state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
            var sums = try XCTUnwrap(state["checksums"] as? [String: String])
            sums[file] = Hostile.sha256(bytes)
            state["checksums"] = sums
            try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]).write(to: stateURL)
            let stateBytes = [UInt8](try Data(contentsOf: stateURL))
            try "\(Hostile.sha256(stateBytes))  trainer-state.json\n".write(to: copy.appendingPathComponent("trainer-state.sha256"),
                                                                            atomically: true, encoding: .utf8)
            return copy
        }
        let corrupt = try damaged("corrupt", "target.model") { $0 = Array($0.prefix(100)) + [0xFF, 0xFF, 0xFF] }
        Hostile.assertCleanFailure(try CLI.run(["decode", "--model", corrupt.path, "-i", p[2]]),
                                   mentions: ["target.model", "SentencePiece"], "corrupt model")
        let vocab = try damaged("vocab", "target.vocab") { bytes in
            var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            lines.swapAt(300, 301)
            bytes = Array(lines.joined(separator: "\n").utf8)
        }
        Hostile.assertCleanFailure(try CLI.run(["decode", "--model", vocab.path, "-i", p[2]]),
                                   mentions: ["target.vocab", "target.model"], "mismatched vocabulary")
        // Unchecked damage: the checksum names the file.
        let copy = dir.appendingPathComponent("unchecked")
        try FileManager.default.copyItem(at: checkpoint, to: copy)
        try Data([1, 2, 3]).write(to: copy.appendingPathComponent("source.model"))
        Hostile.assertCleanFailure(try CLI.run(["decode", "--model", copy.path, "-i", p[2]]),
                                   mentions: ["source.model", "checksum"], "altered model")
        let notModel = try Hostile.write(dir, "bad.model", "not a model\n")
        let bad = try CLI.run(base(p, dir.appendingPathComponent("bad")) + ["--subword-model", notModel])
        Hostile.assertCleanFailure(bad, mentions: ["bad.model"], "--subword-model not a model")
    }

    /// `--subword-model FILE`: a model trained by `mixer-cli subword train` becomes the run's
    /// vocabulary, stored in the checkpoint as the same bytes.
    func testGivenSubwordModel() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 300, valid: 10)
        let tokenized = dir.appendingPathComponent("train.tok").path
        XCTAssertEqual(try CLI.run(["tokenize", "--input", p[1], "--output", tokenized]).status, 0)
        let modelPath = dir.appendingPathComponent("tgt.model").path
        let t = try CLI.run(["subword", "train", "--type", "unigram", "--vocab-size", "400", "--output", modelPath, tokenized])
        XCTAssertEqual(t.status, 0, t.stderr)
        let out = dir.appendingPathComponent("given")
        let r = try CLI.run(base(p, out) + ["--epochs", "1", "--subword-model", modelPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("last/source.model")),
                       try Data(contentsOf: URL(fileURLWithPath: modelPath)))
        XCTAssertTrue(try read(out.appendingPathComponent("last/config.json")).contains("\"given\""))
    }

    /// The reward of sampled pieces is the sentence-level score `mixer-cli score` gives their
    /// words: random piece sequences (byte pieces, specials and `</s>` included, so ill-formed
    /// UTF-8 and early ends occur) against real targets; rewards through the trainer's hook
    /// (`SequenceReward` with the run's ``RewardWords``), the text written as `decode` writes
    /// words, scored by the CLI with `--tokenize none` (ICU tokenized) and rouge-score's
    /// tokenizer. With copy attention over pieces, samples also hold extended ids V + k, copied
    /// source pieces the target model lacks (a word start, a word's continuation, byte pieces,
    /// a lone `▁`): the reward reads each as its piece before the merge, as `decode` writes it.
    func testRewardEqualsTheScoreOfTheSamplesWords() throws {
        let dir = try CLI.temporaryDirectory(self)
        let tok = try TokenizerSettings().makeTokenizer()
        let train = try Hostile.dataLines("train.tgt", 1500).map { tok.words($0) }
        let model = try SubwordModel.train(sentences: train.map { $0.joined(separator: " ") },
                                           options: SubwordTrainingOptions(type: .bpe, vocabularySize: 700))
        let words = RewardWords(model: model)
        let references = try Hostile.dataLines("valid.tgt", 60).filter { !$0.isEmpty }
        var rng = SplitMix64(seed: 16)
        let V = UInt64(model.vocabulary.count)
        var hypLines: [String] = [], refLines: [String] = []
        var rewards: [(bleu: Double, rouge2: Double, rougeL: Double)] = []
        let bleu = SequenceReward(metric: .bleu(.exp), words: words)
        let rouge2 = SequenceReward(metric: .rougeN(2), words: words)
        let rougeL = SequenceReward(metric: .rougeL(), words: words)
        let copied = ["▁Zyxqv", "qü", "<0xC3>", "<0xA9>", "▁", "▁package", "ing", "<0xE3>"]
        for (n, line) in references.enumerated() {
            let target = model.ids(words: tok.words(line)) + [Vocabulary.eos]
            // Each source its own copied pieces (so consecutive rows differ in them).
            let copy = CopySource(ids: [], oovs: Array(copied[(n % 3)...]))
            let X = UInt64(copy.oovs.count)
            for _ in 0..<3 {   // three samples per target: the reference's table is reused
                // The target's pieces, each kept, replaced (by any piece, or a byte piece) or
                // dropped, sometimes with extra pieces.
                var sample: [Int32] = []
                for id in target.dropLast() {
                    switch rng.next() % 8 {
                    case 0: sample.append(Int32(rng.next() % V))
                    case 1: sample.append(Int32(4 + rng.next() % 256))
                    case 2: break
                    case 3: sample.append(id); sample.append(Int32(rng.next() % V))
                    case 4: sample.append(Int32(V + rng.next() % X))
                    default: sample.append(id)
                    }
                }
                if rng.next() % 5 == 0 { sample.append(Vocabulary.eos); sample.append(Int32(rng.next() % V)) }
                let shown = Array(sample.prefix { $0 != Vocabulary.eos })
                hypLines.append(model.words(ids: shown, extra: copy.oovs).joined(separator: " "))
                refLines.append(model.words(ids: target).joined(separator: " "))
                rewards.append((Double(bleu(sample, target: target, copy: copy)), Double(rouge2(sample, target: target, copy: copy)),
                                Double(rougeL(sample, target: target, copy: copy))))
            }
        }
        let hyp = try Hostile.write(dir, "hyp.txt", hypLines.joined(separator: "\n") + "\n")
        let ref = try Hostile.write(dir, "ref.txt", refLines.joined(separator: "\n") + "\n")
        let s = try CLI.run(["score", hyp, "-r", ref, "--sentence-level", "--format", "json",
                             "--metrics", "bleu,rouge2,rougeL", "--tokenize", "none"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let lines = s.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, rewards.count)
        for (i, (line, r)) in zip(lines, rewards).enumerated() {
            let js = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let b = try XCTUnwrap((js["bleu"] as? [String: Any])?["score"] as? Double)
            let r2 = try XCTUnwrap((js["rouge2"] as? [String: Any])?["f"] as? Double)
            let rl = try XCTUnwrap((js["rougeL"] as? [String: Any])?["f"] as? Double)
            // Rewards are Float (the trainer's type).
            XCTAssertEqual(r.bleu, b / 100, accuracy: 1e-6, "line \(i + 1): \(hypLines[i]) | \(refLines[i])")
            XCTAssertEqual(r.rouge2, r2, accuracy: 1e-6, "line \(i + 1): \(hypLines[i]) | \(refLines[i])")
            XCTAssertEqual(r.rougeL, rl, accuracy: 1e-6, "line \(i + 1): \(hypLines[i]) | \(refLines[i])")
        }
        XCTAssertGreaterThan(rewards.filter { $0.rouge2 > 0 }.count, 10, "the samples must share bigrams with their targets")
        XCTAssertGreaterThan(hypLines.filter { $0.contains("Zyxqv") }.count, 5, "copied pieces must be written out")
    }

    /// `train --subword bpe --copy`: copying over pieces end to end (docs/training.md, "Copy
    /// attention"). XENT writes a copy + subword checkpoint whose greedy decode is the run's own
    /// validation output; beam, n-best and sampling decode, `evaluate` and `report` run on it;
    /// MIXER and SCST train from it (rewards logged, outputs without `<unk>` or piece marks).
    func testSubwordCopyEndToEnd() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 200, valid: 12)
        let xent = dir.appendingPathComponent("xent")
        let r = try CLI.run(args(p, xent) + ["--epochs", "1", "--copy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try read(xent.appendingPathComponent("last/config.json"))
        XCTAssertTrue(config.contains("\"copy\"") && config.contains("\"subword\""), config)
        let valid = try read(xent.appendingPathComponent("valid/epoch-001.txt"))
        XCTAssertFalse(valid.contains("<unk>") || valid.contains("▁"), valid)
        let greedy = try CLI.run(["decode", "--model", xent.appendingPathComponent("last").path, "-i", p[2]])
        XCTAssertEqual(greedy.status, 0, greedy.stderr)
        XCTAssertEqual(greedy.stdout, valid)
        for (extra, lines) in [(["--strategy", "beam"], 13), (["--strategy", "beam", "--n-best", "2"], 25),
                               (["--strategy", "sample", "--seed", "3"], 13)] {
            let d = try CLI.run(["decode", "--model", xent.path, "-i", p[2]] + extra)
            XCTAssertEqual(d.status, 0, "\(extra): \(d.stderr)")
            XCTAssertEqual(d.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, lines, "\(extra): \(d.stdout)")
            XCTAssertFalse(d.stdout.contains("<unk>") || d.stdout.contains("▁"), d.stdout)
        }
        let e = try CLI.run(["evaluate", "--model", xent.path, "-i", p[2], "-r", p[3], "--metrics", "rouge2"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let rep = try CLI.run(["report", xent.path, "-o", dir.appendingPathComponent("report.html").path])
        XCTAssertEqual(rep.status, 0, rep.stderr)
        for objective in [["--objective", "mixer", "--xent-epochs", "0", "--mixer-delta", "6"],
                          ["--objective", "scst", "--scst-samples", "2"]] {
            let out = dir.appendingPathComponent(objective[1])
            let m = try CLI.run(base(p, out) + ["--epochs", "1", "--init-from", xent.appendingPathComponent("best").path] + objective)
            XCTAssertEqual(m.status, 0, m.stderr)
            XCTAssertTrue(try read(out.appendingPathComponent("log.jsonl")).contains("\"mean_reward\""))
            XCTAssertTrue(try read(out.appendingPathComponent("last/config.json")).contains("\"copy\""))
            let text = try read(out.appendingPathComponent("valid/epoch-001.txt"))
            XCTAssertFalse(text.contains("<unk>") || text.contains("▁"), text)
        }
    }

    /// Separate models (`--subword-separate --copy`): a word only the sources hold is one piece
    /// of the source model that the target model lacks; it gets an extended id in each source's
    /// copy source, and an output holding that id writes the word out, merged with the target
    /// pieces around it, from the saved checkpoint. Two epochs at once and one epoch plus a
    /// resume give the same bytes.
    func testSeparateModelsCopyASourceOnlyPiece() throws {
        let dir = try CLI.temporaryDirectory(self)
        let p = try TrainCommandTests.writeSlice(dir, train: 120, valid: 10)
        for k in [0, 2] {   // every source line ends with the source-only word
            let lines = try read(URL(fileURLWithPath: p[k])).split(separator: "\n", omittingEmptySubsequences: false)
            let marked = lines.map { $0.isEmpty ? $0 : $0 + " Qzxqzv" }
            try marked.joined(separator: "\n").write(toFile: p[k], atomically: true, encoding: .utf8)
        }
        let whole = dir.appendingPathComponent("whole"), split = dir.appendingPathComponent("split")
        let r = try CLI.run(args(p, whole) + ["--epochs", "2", "--subword-separate", "--copy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try CLI.run(args(p, split) + ["--epochs", "1", "--subword-separate", "--copy"]).status, 0)
        let resumed = try CLI.run(["train", "--resume", split.path, "--epochs", "2"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for f in ["model.safetensors", "optimizer.safetensors", "source.model", "target.model"] {
            XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent("last/" + f)),
                           try Data(contentsOf: split.appendingPathComponent("last/" + f)), f)
        }
        let trained = try TrainedModel(directory: whole.appendingPathComponent("last").path)
        XCTAssertTrue(trained.config.model.copyEnabled)
        let source = try trained.encodeSources(["the package Qzxqzv"])[0]
        XCTAssertEqual(source.tokens.last, "▁Qzxqzv", "\(source.tokens)")
        XCTAssertFalse(trained.targetVocabulary.contains("▁Qzxqzv"))
        let copy = trained.copySource(tokens: source.tokens)
        let V = Int32(trained.targetVocabulary.count)
        // Other source pieces may be source-only too ("▁package" is one piece of the source
        // model only, say); the marked word's is among them, with its own extended id.
        let k = try XCTUnwrap(copy.oovs.firstIndex(of: "▁Qzxqzv"), "\(copy.oovs)")
        XCTAssertEqual(copy.ids.last, V + Int32(k))
        for (id, piece) in zip(copy.ids, source.tokens) {
            XCTAssertEqual(id >= V, !trained.targetVocabulary.contains(piece), piece)
        }
        // "▁Qzxqzv" copied, then the target piece "s" continuing that word, then "tools".
        let target = try XCTUnwrap(trained.subword).target
        XCTAssertTrue(target.vocabulary.contains("s"))
        let ids = [V + Int32(k), target.vocabulary.id("s")] + target.ids(words: ["tools"])
        let h = Hypothesis(ids: ids, ended: true, logProb: 0, score: 0, attentionArgmax: ids.map { _ in 0 })
        XCTAssertEqual(trained.outputTokens(h, sourceTokens: source.tokens, replaceUnk: false), ["Qzxqzvs", "tools"])
        // The decoded text never holds a piece mark or <unk>.
        let d = try CLI.run(["decode", "--model", whole.path, "-i", p[2], "--strategy", "beam"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertFalse(d.stdout.contains("<unk>") || d.stdout.contains("▁"), d.stdout)
    }
}
