import Foundation
import XCTest

/// `mixer-cli subword train|encode|decode` end to end, and its errors.
final class SubwordCommandTests: XCTestCase {
    /// Raw text → tokenize → subword train → encode → decode gives back the tokenized text,
    /// line for line (empty lines included), by pieces and by ids; no piece is <unk>; training
    /// twice gives the same model file.
    func testTrainEncodeDecodeRoundTrip() throws {
        let dir = try CLI.temporaryDirectory(self)
        let raw = try Hostile.dataLines("train.tgt", 2000) + ["", "日本語のテキスト naïve café 🎉"]
        let text = try Hostile.write(dir, "raw.txt", raw.joined(separator: "\n") + "\n")
        let tok = dir.appendingPathComponent("tok.txt").path
        XCTAssertEqual(try CLI.run(["tokenize", "--input", text, "--output", tok]).status, 0)
        for type in ["bpe", "unigram"] {
            let model = dir.appendingPathComponent("\(type).model").path
            let t = try CLI.run(["subword", "train", "--type", type, "--vocab-size", "600", "--output", model, tok])
            XCTAssertEqual(t.status, 0, t.stderr)
            XCTAssertTrue(t.stderr.contains("\(type) model of 600 pieces"), t.stderr)
            XCTAssertFalse(t.stderr.contains("LOG("), "SentencePiece's log lines leak: \(t.stderr)")
            let again = dir.appendingPathComponent("\(type)-2.model").path
            XCTAssertEqual(try CLI.run(["subword", "train", "--type", type, "--vocab-size", "600", "--output", again, tok]).status, 0)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), try Data(contentsOf: URL(fileURLWithPath: again)))

            let pieces = try CLI.run(["subword", "encode", "--model", model, "--input", tok])
            XCTAssertEqual(pieces.status, 0, pieces.stderr)
            XCTAssertFalse(pieces.stdout.contains("<unk>"))
            XCTAssertEqual(pieces.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, raw.count + 1)
            let words = try CLI.run(["subword", "decode", "--model", model], stdin: pieces.stdoutData)
            XCTAssertEqual(words.status, 0, words.stderr)
            XCTAssertEqual(words.stdout, try String(contentsOfFile: tok, encoding: .utf8), type)

            let ids = try CLI.run(["subword", "encode", "--model", model, "--ids", "--input", tok])
            XCTAssertEqual(ids.status, 0, ids.stderr)
            XCTAssertTrue(ids.stdout.split(separator: "\n").allSatisfy { $0.split(separator: " ").allSatisfy { Int($0).map { $0 > 3 && $0 < 600 } ?? false } })
            let back = try CLI.run(["subword", "decode", "--model", model, "--ids"], stdin: ids.stdoutData)
            XCTAssertEqual(back.stdout, words.stdout)
        }
    }

    func testErrorsNameTheFileAndLine() throws {
        let dir = try CLI.temporaryDirectory(self)
        let tok = try Hostile.write(dir, "tok.txt", (try Hostile.dataLines("train.tgt", 300)).joined(separator: "\n") + "\n")
        let model = dir.appendingPathComponent("m.model").path
        XCTAssertEqual(try CLI.run(["subword", "train", "--vocab-size", "400", "--output", model, tok]).status, 0)
        let notModel = try Hostile.write(dir, "not.model", "hello\n")
        let empty = try Hostile.write(dir, "empty.txt", "")
        let badIDs = try Hostile.write(dir, "ids.txt", "5 6\n7 99999\n")
        let cases: [([String], [String])] = [
            (["subword", "encode", "--model", notModel, "--input", tok], [notModel, "not a SentencePiece model"]),
            (["subword", "encode", "--model", dir.appendingPathComponent("missing").path, "--input", tok], ["missing"]),
            (["subword", "decode", "--model", model, "--ids", "--input", badIDs], [badIDs + ":2:", "99999"]),
            (["subword", "train", "--output", dir.appendingPathComponent("x.model").path, empty], [empty, "no words"]),
            (["subword", "train", "--vocab-size", "100", "--output", dir.appendingPathComponent("x.model").path, tok], ["--vocab-size", "261"]),
            (["subword", "train", "--vocab-size", "90000", "--output", dir.appendingPathComponent("x.model").path, tok], ["SentencePiece training failed"]),
            (["subword", "encode", "--model", model, "--input", tok, "--output", tok], [tok]),
        ]
        for (args, mentions) in cases {
            let r = try CLI.run(args)
            Hostile.assertCleanFailure(r, mentions: mentions, args.joined(separator: " "))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.model").path), "a failed training left a file")
    }
}
