import XCTest
@testable import Tokenize

final class VocabularyTests: XCTestCase {
    private let corpus: [[String]] = [["b", "a", "c", "a"], ["é", "b", "a"], ["e", "<s>", "d"], ["Z"]]

    func testOrderSpecialsThenCountThenBytes() {
        let v = Vocabulary(counting: corpus)
        // a:3, b:2, then count 1 in byte order: "Z" (0x5A) < "c" < "d" < "e" < "é" (0xC3 0xA9).
        XCTAssertEqual(v.tokens, Vocabulary.specials + ["a", "b", "Z", "c", "d", "e", "é"])
        XCTAssertEqual(v.counts, [0, 0, 0, 0, 3, 2, 1, 1, 1, 1, 1])
        XCTAssertEqual(v.count, 11)
        XCTAssertEqual(Vocabulary.specials.map(v.id), [Vocabulary.pad, Vocabulary.unk, Vocabulary.bos, Vocabulary.eos])
        XCTAssertEqual([Vocabulary.pad, Vocabulary.unk, Vocabulary.bos, Vocabulary.eos], [0, 1, 2, 3])
    }

    func testMinCountAndMaxSize() {
        XCTAssertEqual(Vocabulary(counting: corpus, minCount: 2).tokens, Vocabulary.specials + ["a", "b"])
        XCTAssertEqual(Vocabulary(counting: corpus, maxSize: 7).tokens, Vocabulary.specials + ["a", "b", "Z"])
        XCTAssertEqual(Vocabulary(counting: corpus, maxSize: 2).tokens, Vocabulary.specials)
        XCTAssertEqual(Vocabulary(counting: [[String]]()).tokens, Vocabulary.specials)
    }

    func testEncodeDecodeAndUnknowns() {
        let v = Vocabulary(counting: corpus)
        XCTAssertEqual(v.encode(["a", "zzz", "é"]), [4, Vocabulary.unk, 10])
        XCTAssertEqual(v.decode([4, 1, 10, 2, 3]), ["a", "<unk>", "é", "<s>", "</s>"])
        XCTAssertEqual(v.token(-1), "<unk>")
        XCTAssertEqual(v.token(99), "<unk>")
        XCTAssertTrue(v.contains("a"))
        XCTAssertFalse(v.contains("zzz"))
    }

    func testDeterministicWhateverTheInputOrder() throws {
        let lines = try TestData.lines("valid.tgt")
        let t = try WordTokenizer()
        var sequences = lines.map(t.words)
        let v1 = Vocabulary(counting: sequences, minCount: 1)
        var rng = SystemRandomNumberGenerator()
        sequences.shuffle(using: &rng)
        let v2 = Vocabulary(counting: sequences.map { $0.shuffled() }, minCount: 1)
        XCTAssertEqual(v1, v2)
        XCTAssertEqual(v1.fileContents, v2.fileContents)
        XCTAssertGreaterThan(v1.count, 1000)
        // Counts are non-increasing after the specials.
        XCTAssertTrue(zip(v1.counts.dropFirst(4), v1.counts.dropFirst(5)).allSatisfy { $0 >= $1 })
    }

    func testWriteAndLoadRoundTrip() throws {
        let v = Vocabulary(counting: corpus)
        let url = try temporaryFile()
        try v.write(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8),
                       "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\na\t3\nb\t2\nZ\t1\nc\t1\nd\t1\ne\t1\né\t1\n")
        let loaded = try Vocabulary(contentsOf: url)
        XCTAssertEqual(loaded, v)
        XCTAssertEqual(loaded.id("é"), 10)
    }

    func testLoadingRejectsBadFilesWithTheLine() throws {
        let specials = "<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\n"
        let cases: [(String, Int?, String)] = [
            (specials + "a\t3\nb\t2\na\t1\n", 7, "duplicate token \"a\" (first on line 5)"),
            ("<pad>\t0\n<s>\t0\n", 2, "expected the special \"<unk>\""),
            ("<pad>\t0\n<unk>\t0\n", nil, "missing the specials"),
            ("", nil, "missing the specials"),
            (specials + "a 3\n", 5, "expected token<TAB>count"),
            (specials + "a\t3\tx\n", 5, "expected token<TAB>count, found 2 tabs"),
            (specials + "a\t-3\n", 5, "count \"-3\" is not a non-negative integer"),
            (specials + "a\tmany\n", 5, "is not a non-negative integer"),
            (specials + "\t3\n", 5, "empty token"),
            (specials + "a\u{A0}b\t3\n", 5, "contains whitespace"),
            (specials + "a\t3\n\nb\t1\n", 6, "empty line"),
            (specials + "</s>\t1\n", 5, "duplicate token \"</s>\""),
        ]
        for (text, line, reason) in cases {
            let url = try temporaryFile()
            try Data(text.utf8).write(to: url)
            XCTAssertThrowsError(try Vocabulary(contentsOf: url), text) { e in
                guard let e = e as? InputError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.line, line, text)
                XCTAssertEqual(e.file, url.path)
                XCTAssertTrue(e.reason.contains(reason), "\(e.reason) / \(reason)")
            }
        }
        XCTAssertThrowsError(try Vocabulary(contentsOf: URL(fileURLWithPath: "/nonexistent/vocab")))
        let bad = try temporaryFile()
        try Data(Array(specials.utf8) + [0x61, 0xFF, 0x09, 0x31, 0x0A]).write(to: bad)
        XCTAssertThrowsError(try Vocabulary(contentsOf: bad)) { e in XCTAssertEqual((e as? InputError)?.line, 5) }
        // CRLF files load.
        let crlf = try temporaryFile()
        try Data(specials.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: crlf)
        XCTAssertEqual(try Vocabulary(contentsOf: crlf).count, 4)
    }

    func testWriteFailureIsAnInputError() {
        let v = Vocabulary(counting: corpus)
        XCTAssertThrowsError(try v.write(to: URL(fileURLWithPath: "/nonexistent/dir/vocab"))) { e in
            XCTAssertTrue(e is InputError, "\(e)")
        }
    }

    func testTokenCounterStreamsLines() throws {
        let url = try temporaryFile()
        try Data("a b  a\n\nc\ta\n".utf8).write(to: url)
        var counter = TokenCounter()
        XCTAssertEqual(try counter.addLines(from: LineReader(path: url.path)), 3)
        XCTAssertEqual(counter.counts, ["a": 3, "b": 1, "c": 1])
        XCTAssertEqual(counter.total, 5)
        var raw = TokenCounter()
        try raw.addLines(from: LineReader(path: url.path), tokenizer: WordTokenizer())
        XCTAssertEqual(raw.counts, counter.counts)
    }

    private func temporaryFile() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
