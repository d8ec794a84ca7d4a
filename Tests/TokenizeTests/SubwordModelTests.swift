import Foundation
import XCTest
@testable import Tokenize

/// SentencePiece through `SubwordModel`: parity with Python's `sentencepiece`, exact round
/// trips, mixer's ids, models from elsewhere, errors (golden files: Resources/subword/README.md).
final class SubwordModelTests: XCTestCase {
    private func resource(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources/subword")!
    }
    private func lines(_ name: String) throws -> [String] {
        var l = try String(contentsOf: resource(name), encoding: .utf8).components(separatedBy: "\n")
        if l.last == "" { l.removeLast() }
        return l
    }
    private func model(_ name: String) throws -> SubwordModel { try SubwordModel(contentsOfFile: resource(name).path) }

    /// Python's sentencepiece 0.2.3 loads the models mixer trained and gives the same ids and
    /// pieces for every line (ASCII, accents, Greek, Cyrillic, CJK, emoji through byte pieces,
    /// an empty line); pieces join back into the exact words.
    func testSameIdsAndPiecesAsPythonSentencePiece() throws {
        let input = try lines("input.tok")
        for name in ["bpe", "unigram"] {
            let m = try model("\(name).model")
            XCTAssertTrue(m.hasMixerIDs)
            XCTAssertEqual(Array(m.vocabulary.tokens.prefix(4)), Vocabulary.specials)
            XCTAssertEqual(m.vocabulary.count, 800)
            let ids = try lines("\(name).python-ids.txt"), pieces = try lines("\(name).python-pieces.txt")
            XCTAssertEqual(ids.count, input.count)
            for (k, line) in input.enumerated() {
                let words = Detokenizer.split(line)
                XCTAssertEqual(m.ids(words: words).map(String.init).joined(separator: " "), ids[k], "\(name) line \(k + 1)")
                let p = m.pieces(words: words)
                XCTAssertEqual(p.joined(separator: " "), pieces[k], "\(name) line \(k + 1)")
                XCTAssertFalse(m.ids(words: words).contains(Vocabulary.unk), "\(name) line \(k + 1): <unk>")
                XCTAssertEqual(m.words(pieces: p), words, "\(name) line \(k + 1): round trip")
                XCTAssertEqual(m.words(ids: m.ids(words: words)), words, "\(name) line \(k + 1): round trip by ids")
                XCTAssertEqual(m.ids(words: words), m.idsOfWholeLine(words), "\(name) line \(k + 1): word cache")
            }
        }
    }

    /// The pieces of a line are what encoding the whole line gives (BPE through the per-word
    /// cache, unigram line by line), on words whose unigram segmentation has ties (the lines of
    /// the shared corpus where Debian's and PyPI's libraries differ) and repeated words.
    func testWordCacheEqualsWholeLines() throws {
        let lines = ["XIII XIII 59.99999 p_0003 13370000 fpylll Cccc CA7000 399 R7000 1337000 17000",
                     "fpylll fpylll XIII", "日本語 日本語 🎉 🎉 naïve"]
        for name in ["bpe", "unigram", "foreign"] {
            let m = try model("\(name).model")
            for line in lines {
                let words = Detokenizer.split(line)
                for _ in 0..<2 { XCTAssertEqual(m.ids(words: words), m.idsOfWholeLine(words), "\(name): \(line)") }
            }
        }
    }

    /// Training is deterministic and gives the committed model byte for byte: the first 3,000
    /// target lines of data/train.tgt, tokenized as `mixer-cli tokenize` does, BPE and unigram of
    /// 800 pieces (the README's commands).
    func testTrainingReproducesTheCommittedModels() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/train.tgt")
        let tokenizer = try WordTokenizer()
        let text = try String(contentsOf: data, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let sentences = text.prefix(3000).map { tokenizer.words(String($0)).joined(separator: " ") }.filter { !$0.isEmpty }
        for (name, type) in [("bpe", SubwordType.bpe), ("unigram", .unigram)] {
            let trained = try SubwordModel.train(sentences: sentences, options: SubwordTrainingOptions(type: type, vocabularySize: 800))
            let committed = try Data(contentsOf: resource("\(name).model"))
            XCTAssertEqual(trained.serialized, [UInt8](committed), "\(name): not the committed model")
        }
    }

    /// A model trained elsewhere with SentencePiece's default ids (<unk> 0, <s> 1, </s> 2, no
    /// <pad>) loads; its pieces are renumbered with mixer's specials first and mapped in and out,
    /// so it gives Python's pieces and exact round trips.
    func testAModelFromElsewhereIsRenumbered() throws {
        let m = try model("foreign.model")
        XCTAssertFalse(m.hasMixerIDs)
        XCTAssertEqual(Array(m.vocabulary.tokens.prefix(4)), Vocabulary.specials)
        XCTAssertEqual(m.vocabulary.count, 601, "600 pieces and mixer's <pad>")
        let input = try lines("input.tok"), pieces = try lines("foreign.python-pieces.txt")
        for (k, line) in input.enumerated() {
            let words = Detokenizer.split(line)
            XCTAssertEqual(m.pieces(words: words).joined(separator: " "), pieces[k], "line \(k + 1)")
            let ids = m.ids(words: words)
            XCTAssertTrue(ids.allSatisfy { $0 > Vocabulary.eos && Int($0) < m.vocabulary.count }, "line \(k + 1)")
            XCTAssertEqual(m.words(ids: ids), words, "line \(k + 1)")
        }
    }

    /// The trainer spec is read from the model file: mixer's models split at whitespace with `▁`
    /// as a prefix (so each word is segmented once and cached); a model that does not is encoded
    /// line by line.
    func testTrainerSpecFlags() throws {
        for (name, type) in [("bpe.model", UInt64(2)), ("unigram.model", 1), ("foreign.model", 2)] {
            let bytes = [UInt8](try Data(contentsOf: resource(name)))
            let flags = SubwordModel.trainerSpecFlags(bytes)
            XCTAssertEqual(flags.modelType, type, name)
            XCTAssertTrue(flags.splitByWhitespace, name)
            XCTAssertFalse(flags.whitespaceAsSuffix, name)
        }
        let noSplit = try SubwordModel.train(sentences: ["ab ab ab cd", "cd ab"], options: SubwordTrainingOptions(type: .bpe, vocabularySize: 266))
        XCTAssertTrue(SubwordModel.trainerSpecFlags(noSplit.serialized).splitByWhitespace)
        XCTAssertEqual(SubwordModel.trainerSpecFlags([0xFF, 0xFF]).splitByWhitespace, true, "malformed: the defaults")
    }

    func testErrorsAreClear() throws {
        XCTAssertThrowsError(try SubwordModel(serialized: Array("not a model".utf8))) { e in
            XCTAssertTrue("\(e)".hasPrefix("not a SentencePiece model"), "\(e)")
        }
        XCTAssertThrowsError(try SubwordModel(serialized: []))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("subword-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.model")
        FileManager.default.createFile(atPath: empty.path, contents: Data())
        for (path, expected) in [(dir.appendingPathComponent("missing.model").path, "No such file"),
                                 (empty.path, "empty file"), (dir.path, "not a regular file")] {
            XCTAssertThrowsError(try SubwordModel(contentsOfFile: path)) { e in
                XCTAssertTrue("\(e)".contains(path) && "\(e)".contains(expected), "\(e)")
            }
        }
        // More pieces than the text can make: SentencePiece's message says the most it can.
        XCTAssertThrowsError(try SubwordModel.train(sentences: ["a b c", "a b"], options: SubwordTrainingOptions(type: .bpe, vocabularySize: 5000))) { e in
            XCTAssertTrue("\(e)".hasPrefix("SentencePiece training failed: "), "\(e)")
        }
        XCTAssertEqual(try SubwordModel(contentsOfFile: resource("bpe.model").path).words(ids: []), [])
        XCTAssertEqual(try SubwordModel(contentsOfFile: resource("bpe.model").path).ids(words: []), [])
    }

    /// Copy attention over pieces: ``SubwordModel/words(ids:extra:)`` merges ids past the
    /// vocabulary (copied source pieces, spelled by ``SubwordModel/spelling(ofPiece:)``) with the
    /// model's pieces. Its Swift merge equals SentencePiece's decoder on random id sequences
    /// (byte pieces, ill-formed UTF-8 and specials included); a copied piece joins the word it
    /// continues, starts one with `▁`, and a copied `<0xHH>` joins the run of byte pieces.
    func testCopiedPiecesMergeIntoWords() throws {
        for name in ["bpe", "unigram", "foreign"] {
            let m = try model("\(name).model")
            let V = UInt64(m.vocabulary.count)
            var state: UInt64 = 17
            func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            for trial in 0..<300 {
                let ids = (0..<(next() % 20)).map { _ in next() % 3 == 0 ? Int32(4 + next() % 256) : Int32(next() % V) }
                XCTAssertEqual(m.spelledWords(ids: ids, extra: []), m.words(ids: ids), "\(name) trial \(trial): \(ids)")
                XCTAssertEqual(m.words(ids: ids, extra: ["▁x"]), m.words(ids: ids), "\(name) trial \(trial)")
            }
        }
        let m = try model("bpe.model")
        let V = Int32(m.vocabulary.count)
        let the = m.ids(words: ["the"]), pkg = m.ids(words: ["package"])
        XCTAssertEqual(SubwordModel.spelling(ofPiece: "▁Zyx").bytes, Array(" Zyx".utf8))
        XCTAssertEqual(SubwordModel.spelling(ofPiece: "<0xC3>").bytes, [0xC3])
        XCTAssertTrue(SubwordModel.spelling(ofPiece: "<0xC3>").isByte)
        XCTAssertFalse(SubwordModel.spelling(ofPiece: "<0xZZ>").isByte)
        let extra = ["▁Zyx", "qü", "<0xC3>", "<0xA9>", "▁"]
        XCTAssertEqual(m.words(ids: the + [V, V + 1] + pkg + [Vocabulary.eos], extra: extra), ["the", "Zyxqü", "package"])
        XCTAssertEqual(m.words(ids: [V + 1, V + 2, V + 3, V + 4] + the, extra: extra), ["qüé", "the"])
        // A lone byte of an ill-formed sequence is U+FFFD, as SentencePiece decodes it.
        XCTAssertEqual(m.words(ids: [V] + [V + 2] + the, extra: extra), ["Zyx\u{FFFD}", "the"])
        // An id past the copied pieces spells nothing.
        XCTAssertEqual(m.words(ids: the + [V + 9], extra: extra), ["the"])
    }
}
