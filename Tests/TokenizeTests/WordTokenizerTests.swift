import XCTest
@testable import Tokenize

final class WordTokenizerTests: XCTestCase {
    private var tokenizer: WordTokenizer!

    override func setUpWithError() throws { tokenizer = try WordTokenizer() }

    private func words(_ s: String, _ t: WordTokenizer? = nil) -> [String] { (t ?? tokenizer).words(s) }

    func testEnglishPunctuation() {
        XCTAssertEqual(words("Hello, world! (Really?) \"Yes\"; [ok]: 50%."),
                       ["Hello", ",", "world", "!", "(", "Really", "?", ")", "\"", "Yes", "\"", ";",
                        "[", "ok", "]", ":", "50", "%", "."])
        XCTAssertEqual(words("model-fitting C++/Qt"), ["model", "-", "fitting", "C", "+", "+", "/", "Qt"])
    }

    func testContractionsStayWhole() {
        XCTAssertEqual(words("Don't panic, it's fine; they can\u{2019}t."),
                       ["Don't", "panic", ",", "it's", "fine", ";", "they", "can\u{2019}t", "."])
    }

    func testNumbersStayWhole() {
        XCTAssertEqual(words("pi is 3.14, not 1,000 or $5.00 at 10:30"),
                       ["pi", "is", "3.14", ",", "not", "1,000", "or", "$", "5.00", "at", "10", ":", "30"])
        XCTAssertEqual(words("v2.0-1 x86_64"), ["v2.0", "-", "1", "x86_64"])
    }

    func testURLsAndAddresses() {
        XCTAssertEqual(words("see https://example.com/path?q=1 or user@example.org"),
                       ["see", "https", ":", "/", "/", "example.com", "/", "path", "?", "q", "=", "1",
                        "or", "user@example.org"])
    }

    func testAccentedLatin() {
        XCTAssertEqual(words("café naïve Ærøskøbing São-Paulo"),
                       ["café", "naïve", "Ærøskøbing", "São", "-", "Paulo"])
    }

    func testCJKAndThaiUseICUDictionaries() {
        XCTAssertEqual(words("我爱北京天安门"), ["我", "爱", "北京", "天安门"])
        XCTAssertEqual(words("東京都に住んでいます"), ["東京", "都", "に", "住", "んで", "い", "ます"])
        XCTAssertEqual(words("ภาษาไทยง่ายนิดเดียว"), ["ภาษา", "ไทย", "ง่าย", "นิด", "เดียว"])
    }

    func testEmojiZWJSequencesAreOneToken() {
        let family = "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}"
        let thumbs = "\u{1F44D}\u{1F3FD}"
        let flag = "\u{1F1EB}\u{1F1F7}"
        XCTAssertEqual(words("\(family) family\(thumbs)\(flag)!"), [family, "family", thumbs, flag, "!"])
    }

    func testTurkishDottedIUnderCaseFolding() throws {
        let folding = try WordTokenizer(normalizer: Normalizer(caseFold: true))
        XCTAssertEqual(folding.words("İSTANBUL'da İyi"), ["i\u{307}stanbul'da", "i\u{307}yi"])
        XCTAssertEqual(folding.words("DIŞ"), ["diş"])
        // The Turkish locale changes word breaking, not folding (folding is locale-free).
        let turkish = try WordTokenizer(locale: "tr", normalizer: Normalizer(caseFold: true))
        XCTAssertEqual(turkish.words("İyi"), ["i\u{307}yi"])
    }

    func testEmptyAndWhitespaceOnlyLines() {
        XCTAssertEqual(tokenizer.tokenize(""), [])
        XCTAssertEqual(tokenizer.tokenize(" \t \u{A0}\u{3000} "), [])
        var out: [UInt8] = []
        XCTAssertEqual(tokenizer.appendTokenized(utf8: UnsafeBufferPointer(start: nil, count: 0), to: &out), 0)
        XCTAssertEqual(out, [])
    }

    func testSpacingIsRecordedAndJoinIsLossless() {
        let line = "  a (b)  c\u{B4}d, \u{FB01}! "
        let tokens = tokenizer.tokenize(line)
        XCTAssertEqual(tokens, [Token("a", spaceBefore: false), Token("(", spaceBefore: true),
                                Token("b", spaceBefore: false), Token(")", spaceBefore: false),
                                Token("c", spaceBefore: true), Token("\u{301}", spaceBefore: true),
                                Token("d", spaceBefore: false), Token(",", spaceBefore: false),
                                Token("fi", spaceBefore: true), Token("!", spaceBefore: false)])
        XCTAssertEqual(Detokenizer.join(tokens), tokenizer.normalizer.normalize(line))
    }

    func testOneMegabyteLine() {
        var line = ""
        for i in 0..<60_000 { line += i % 7 == 0 ? "caf\u{E9}, " : "word\(i % 10) " }
        line += String(repeating: "x", count: 1 << 20)
        XCTAssertGreaterThan(line.utf8.count, 1 << 20)
        let tokens = tokenizer.tokenize(line)
        XCTAssertEqual(tokens.count, 60_000 + 60_000 / 7 + 1 + 1)
        XCTAssertEqual(tokens.last?.text.utf8.count, 1 << 20)
        XCTAssertEqual(Detokenizer.join(tokens), tokenizer.normalizer.normalize(line))
    }

    func testLocales() throws {
        XCTAssertNoThrow(try WordTokenizer(locale: "sv_SE"))
        XCTAssertNoThrow(try WordTokenizer(locale: "zh-Hant"))
        XCTAssertThrowsError(try WordTokenizer(locale: "en US")) { e in
            XCTAssertTrue("\(e)".contains("en US"), "\(e)")
        }
        XCTAssertThrowsError(try WordTokenizer(locale: "../etc"))
    }

    /// Lossless round trip over every line of the bundled data, in both case modes; also
    /// checks the CLI's byte path against the token path.
    func testLosslessRoundTripOverBundledData() throws {
        for fold in [false, true] {
            let t = try WordTokenizer(normalizer: Normalizer(caseFold: fold))
            // Case folding only on valid (it takes the same paths; this keeps the test quick).
            for name in fold ? ["valid.src", "valid.tgt"] : ["train.src", "train.tgt", "valid.src", "valid.tgt"] {
                let reader = try LineReader(path: TestData.directory.appendingPathComponent(name).path)
                var lines = 0
                while let line = try reader.nextLine() {
                    lines += 1
                    let tokens = t.tokenize(line)
                    let normalized = t.normalizer.normalize(line)
                    if Detokenizer.join(tokens) != normalized {
                        XCTFail("\(name):\(reader.lineNumber): join(tokenize(x)) != normalize(x)")
                        return
                    }
                    for token in tokens where token.text.isEmpty || token.text.contains(where: \.isWhitespace) {
                        XCTFail("\(name):\(reader.lineNumber): bad token \"\(token.text)\"")
                        return
                    }
                    var out: [UInt8] = []
                    var l = line
                    let n = l.withUTF8 { t.appendTokenized(utf8: $0, to: &out) }
                    if n != tokens.count || out != Array(tokens.map(\.text).joined(separator: " ").utf8) {
                        XCTFail("\(name):\(reader.lineNumber): byte path differs from token path")
                        return
                    }
                }
                XCTAssertGreaterThan(lines, 900, name)
            }
        }
    }

    func testStreamingFileTokenization() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.txt"), output = dir.appendingPathComponent("out.txt")
        try Data("Hello, world!\n\n  \nDon't.\nlast".utf8).write(to: input)
        let writer = try LineWriter(path: output.path)
        let stats = try tokenizer.tokenize(from: LineReader(path: input.path), to: writer)
        try writer.close()
        XCTAssertEqual(stats, LineStatistics(lines: 5, tokens: 7, bytes: 25))
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "Hello , world !\n\n\nDon't .\nlast\n")
    }
}
