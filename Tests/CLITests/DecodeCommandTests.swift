import Foundation
import Seq2Seq
import Tokenize
import XCTest

/// A tiny model trained in-process on 22 sentence pairs (target = the source's words mapped
/// through a small dictionary, names copied), saved as a checkpoint for the command-line tests.
/// Eight names occur twice and are in the target vocabulary, so the model learns to attend to
/// the name it writes; six occur once and become <unk> in the target vocabulary.
enum TinyCheckpoint {
    static let common = ["Ada", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal"]
    static let rare = ["Ida", "Jo", "Kim", "Lu", "Mo", "Ned"]
    static let names = common + common + rare
    static let subjects = [("the cat", "le chat"), ("a dog", "un chien"), ("my bird", "mon oiseau"), ("the fish", "le poisson")]
    static let verbs = [("sees", "voit"), ("likes", "aime"), ("finds", "trouve"), ("calls", "appelle")]

    static var pairs: [(String, String)] {
        names.enumerated().map { i, name in
            let (s, t) = subjects[i % 4], (v, w) = verbs[(i / 4) % 4]
            return ("\(s) \(v) \(name) .", "\(t) \(w) \(name) .")
        }
    }

    /// Trains and saves the model in `dir`; returns the source and reference lines.
    static func make(in dir: URL) throws -> (sources: [String], references: [String]) {
        let tok = try TokenizerSettings().makeTokenizer()
        let src = pairs.map { tok.words($0.0) }, tgt = pairs.map { tok.words($0.1) }
        let sv = Vocabulary(counting: src), tv = Vocabulary(counting: tgt, minCount: 2)
        var c = ModelConfig(sourceVocabSize: sv.count, targetVocabSize: tv.count)
        c.embeddingSize = 24; c.hiddenSize = 24; c.encoderHiddenSize = 16; c.dropout = 0
        let model = EncoderDecoder(config: c, seed: 3)
        var dropout = RandomGenerator(seed: 3).split("dropout")
        let adam = Adam(parameters: model.params, learningRate: 0.02)
        let s = src.map { sv.encode($0) }, t = tgt.map { tv.encode($0) + [Vocabulary.eos] }
        for _ in 0..<400 {
            model.grads.zero()
            if CrossEntropy.teacherForcedStep(model, source: s, target: t, rng: &dropout) < 0.02 { break }
            adam.update(parameters: model.params, gradients: model.grads)
        }
        let rc = RunConfig(model: c, tokenizer: TokenizerSettings(), maxSourceLength: 20, maxTargetLength: 8, mixerVersion: "test")
        try TrainedModel.save(to: dir.path, model: model, config: rc, sourceVocabulary: sv, targetVocabulary: tv)
        return (pairs.map(\.0), pairs.map(\.1))
    }
}

final class DecodeCommandTests: XCTestCase {
    func setUpCheckpoint() throws -> (dir: URL, model: String, input: String, sources: [String], references: [String]) {
        let dir = try CLI.temporaryDirectory(self)
        let model = dir.appendingPathComponent("model")
        let (sources, references) = try TinyCheckpoint.make(in: model)
        let input = dir.appendingPathComponent("test.src")
        // Reversed order, so that the length sort must restore it; one empty line.
        let lines = sources.reversed() + [""]
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        return (dir, model.path, input.path, lines, references)
    }

    func testGreedyMatchesTheLibraryAndKeepsInputOrder() throws {
        let f = try setUpCheckpoint()
        let r = try CLI.run(["decode", "--model", f.model, "--input", f.input, "--batch-size", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let trained = try TrainedModel(directory: f.model)
        let expected = try trained.decode(lines: f.sources, strategy: .greedy, options: DecodingOptions(maxLength: 9), batchSize: 32)
        XCTAssertEqual(lines, expected.map { $0[0].text })
        let twoThreads = try CLI.run(["decode", "--model", f.model, "--input", f.input, "--batch-size", "3", "--threads", "2"])
        XCTAssertEqual(twoThreads.stdout, r.stdout, "--threads 2 changed the output of a model too small to split its products")
        // The trained model reproduces its training targets (names become <unk>).
        let refs = Array(TinyCheckpoint.pairs.map(\.1).reversed())
        var exact = 0
        for (out, ref) in zip(lines, refs) {
            let want = ref.split(separator: " ").map { TinyCheckpoint.rare.contains(String($0)) ? "<unk>" : String($0) }
            if out.split(separator: " ").map(String.init) == want || Detokenizer().detokenize(want) == out { exact += 1 }
        }
        XCTAssertGreaterThanOrEqual(exact, 20, "\(lines)")
        // Standard input works the same, and --scores prefixes a log-probability.
        let data = try Data(contentsOf: URL(fileURLWithPath: f.input))
        let s = try CLI.run(["decode", "--model", f.model, "--scores"], stdin: data)
        XCTAssertEqual(s.status, 0, s.stderr)
        let scored = s.stdout.split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false) }
        XCTAssertEqual(scored.count, lines.count)
        for (fields, line) in zip(scored, lines) {
            XCTAssertNotNil(Double(fields[0]))
            XCTAssertEqual(fields.count == 2 ? String(fields[1]) : "", line)
        }
    }

    func testReplaceUnkCopiesSourceTokens() throws {
        let f = try setUpCheckpoint()
        let r = try CLI.run(["decode", "--model", f.model, "--input", f.input, "--replace-unk"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Only the empty input (nothing to copy) may keep <unk>.
        XCTAssertFalse(r.stdout.split(separator: "\n").dropLast().contains { $0.contains("<unk>") }, r.stdout)
        let trained = try TrainedModel(directory: f.model)
        let expected = try trained.decode(lines: f.sources, strategy: .greedy, options: DecodingOptions(maxLength: 9),
                                          batchSize: 32, replaceUnk: true)
        XCTAssertEqual(r.stdout, expected.map { $0[0].text + "\n" }.joined())
        // Each <unk> became a token of its own source line; every other token is unchanged.
        let plain = try trained.decode(lines: f.sources, strategy: .greedy, options: DecodingOptions(maxLength: 9), batchSize: 32)
        let tok = try TokenizerSettings().makeTokenizer()
        var replaced = 0
        for ((p, q), src) in zip(zip(plain, expected), f.sources) {
            XCTAssertEqual(p[0].tokens.count, q[0].tokens.count)
            for (a, b) in zip(p[0].tokens, q[0].tokens) where a != b {
                XCTAssertEqual(a, "<unk>")
                XCTAssertTrue(tok.words(src).contains(b), "\(b) is not in \(src)")
                replaced += 1
            }
        }
        XCTAssertGreaterThanOrEqual(replaced, 6, "every rare name is written as <unk>")
    }

    func testBeamNBestAndSamplesFormat() throws {
        let f = try setUpCheckpoint()
        let r = try CLI.run(["decode", "--model", f.model, "--input", f.input, "--strategy", "beam", "--beam-size", "4",
                             "--n-best", "3", "--length-penalty", "0.6"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 3 * f.sources.count)
        for (i, row) in rows.enumerated() {
            XCTAssertEqual(row.count, 4)
            XCTAssertEqual(row[0], "\(i / 3 + 1)")
            XCTAssertEqual(row[1], "\(i % 3 + 1)")
            if i % 3 > 0 { XCTAssertLessThanOrEqual(Double(row[2])!, Double(rows[i - 1][2])!) }
        }
        // The first of each n-best list is the beam's 1-best.
        let one = try CLI.run(["decode", "--model", f.model, "--input", f.input, "--strategy", "beam", "--beam-size", "4",
                               "--length-penalty", "0.6"])
        XCTAssertEqual(one.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init),
                       stride(from: 0, to: rows.count, by: 3).map { rows[$0][3] })

        let args = ["decode", "--model", f.model, "--input", f.input, "--strategy", "sample", "--num-samples", "2",
                    "--top-k", "3", "--temperature", "1.5", "--seed", "9"]
        let a = try CLI.run(args), b = try CLI.run(args + ["--batch-size", "1"]), c = try CLI.run(Array(args.dropLast()) + ["10"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout.split(separator: "\n").count, 2 * f.sources.count)
        XCTAssertEqual(a.stdout, b.stdout, "the same seed gives the same samples in any batch")
        XCTAssertNotEqual(a.stdout, c.stdout)
    }

    func testBadOptionsGiveOneLineErrors() throws {
        let f = try setUpCheckpoint()
        let cases: [([String], String)] = [
            (["--strategy", "beam", "--beam-size", "0"], "--beam-size must be at least 1"),
            (["--strategy", "beam", "--beam-size", "2", "--n-best", "3"], "--n-best (3) cannot exceed the beam size (2)"),
            (["--strategy", "sample", "--top-p", "0"], "--top-p must be in (0, 1]"),
            (["--strategy", "sample", "--top-p", "1.5"], "--top-p must be in (0, 1]"),
            (["--strategy", "sample", "--temperature", "0"], "--temperature must be a positive number"),
            (["--strategy", "beam", "--length-penalty", "long"], "--length-penalty must be a number"),
            (["--top-k", "3"], "--top-k applies to --strategy sample only"),
            (["--n-best", "2"], "--n-best applies to --strategy beam only"),
            (["--max-length", "3", "--min-length", "3"], "--min-length (3) must be below --max-length (3)"),
            (["--batch-size", "0"], "--batch-size must be at least 1"),
            (["--threads", "0"], "--threads must be between 1 and 1024"),
        ]
        for (extra, message) in cases {
            let r = try CLI.run(["decode", "--model", f.model, "--input", f.input] + extra)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.stderr.contains(message), "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stdout.isEmpty)
        }
        // Run-time errors: one line, `error: …`, status 1.
        let notModel = try CLI.run(["decode", "--model", f.dir.path + "/nowhere", "--input", f.input])
        XCTAssertEqual(notModel.status, 1)
        XCTAssertTrue(notModel.stderr.hasPrefix("error: ") && notModel.stderr.contains("nowhere"), notModel.stderr)
        XCTAssertTrue(notModel.stderr.contains("no such checkpoint or run directory"), notModel.stderr)
        XCTAssertEqual(notModel.stderr.split(separator: "\n").count, 1)
        let notCheckpoint = try CLI.run(["decode", "--model", f.dir.path, "--input", f.input])
        XCTAssertEqual(notCheckpoint.status, 1)
        XCTAssertTrue(notCheckpoint.stderr.hasPrefix("error: ") && notCheckpoint.stderr.contains("is not a checkpoint"),
                      notCheckpoint.stderr)
        let aFile = try CLI.run(["decode", "--model", f.input, "--input", f.input])
        XCTAssertEqual(aFile.status, 1)
        XCTAssertTrue(aFile.stderr.contains("is a file, not a checkpoint directory"), aFile.stderr)
        let noInput = try CLI.run(["decode", "--model", f.model, "--input", f.dir.path + "/missing.txt"])
        XCTAssertEqual(noInput.status, 1)
        XCTAssertTrue(noInput.stderr.contains("missing.txt: no such file"), noInput.stderr)
    }
}
