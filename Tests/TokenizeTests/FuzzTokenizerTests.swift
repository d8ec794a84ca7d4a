import Foundation
import XCTest
@testable import Tokenize

/// Seeded random-input tests of the text pipeline: LineReader → Normalizer → WordTokenizer →
/// Detokenizer. Bounded by iteration counts (not wall time), so every run tries the same inputs.
///
/// Inputs mix hostile pieces: combining marks, ZWJ sequences, RTL text and bidi controls,
/// CJK and Thai (dictionary segmentation), noncharacters, controls, NUL, CR, and ill-formed
/// UTF-8 (surrogates encoded as bytes, overlongs, lone continuations, truncated sequences,
/// bytes F5-FF).
final class FuzzTokenizerTests: XCTestCase {
    /// Inputs tried by each test (reported in README, "Robustness").
    static let lineReaderCases = 400
    static let tokenizerCases = 20_000

    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    }

    /// Well-formed pieces, as strings.
    static let pieces: [String] = [
        "a", "Z", "hello", "don't", "3.14", "1,000", "e-mail", "C++", "foo_bar", " ", "  ", "\t", ".", ",", "!", "?", "(", ")", "\"", "'",
        "\u{0301}", "\u{0308}\u{0323}", "e\u{0301}", "\u{200D}", "\u{200C}", "👨\u{200D}👩\u{200D}👧", "🏳️\u{200D}🌈", "👍🏽", "🇸🇪",
        "שלום", "مرحبا", "\u{200F}", "\u{202E}abc\u{202C}", "\u{2067}", "中文分词", "日本語のテキスト", "ภาษาไทย", "한국어",
        "\u{FEFF}", "\u{00A0}", "\u{3000}", "\u{2028}", "\u{0085}", "\u{000B}", "\u{0001}", "\u{007F}", "\u{FFFD}",
        String(Unicode.Scalar(0xFFFF as UInt32)!), String(Unicode.Scalar(0xFDD0 as UInt32)!), String(Unicode.Scalar(0x10FFFF as UInt32)!), "\u{E000}", "ﬁ", "①", "Ａ", "\u{00B4}", "ß", "İ", "ǅ", "\u{FE0F}", "\u{E0100}",
        "क्षि", "\u{1100}\u{1161}\u{11A8}", "\r", "x\r", "\\", "/", "::", "---", "…", "«", "»", "“", "”",
    ]

    /// Ill-formed UTF-8 pieces (and NUL), as bytes.
    static let badBytes: [[UInt8]] = [
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF],
        [0x80], [0xBF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xF4, 0x90, 0x80, 0x80], [0xF5], [0xFF], [0xFE], [0xC3], [0x00],
    ]

    func randomWellFormed(_ rng: inout Rng, maxPieces: Int = 12) -> String {
        var s = ""
        for _ in 0..<rng.below(maxPieces + 1) {
            switch rng.below(4) {
            case 0:
                // A random scalar from anywhere in the code space (surrogates excluded by
                // construction: Unicode.Scalar refuses them).
                let v = UInt32(rng.below(0x11_0000))
                if let u = Unicode.Scalar(v) { s.unicodeScalars.append(u) }
            default:
                s += rng.pick(Self.pieces)
            }
        }
        return s
    }

    func randomBytes(_ rng: inout Rng) -> [UInt8] {
        var b: [UInt8] = []
        for _ in 0..<rng.below(10) {
            switch rng.below(5) {
            case 0: b += rng.pick(Self.badBytes)
            case 1: b.append(UInt8(rng.below(256)))
            default: b += Array(rng.pick(Self.pieces).utf8)
            }
        }
        return b
    }

    static func isWellFormed(_ bytes: [UInt8]) -> Bool {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Writes `bytes` with POSIX calls (Foundation's `Data.write` syncs, ~10 ms a file here).
    private func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw InputError(file: path, "cannot create") }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw InputError(file: path, "short write") }
    }

    private func temporaryFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-lr-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Random byte files through LineReader, strict and replacing: strict mode returns the
    /// lines exactly (CR before LF dropped) or throws an InputError at the first bad line;
    /// replacing mode throws only for NUL and otherwise gives String(decoding:) of each line.
    func testLineReaderOnRandomBytes() throws {
        var rng = Rng(state: 0x5EED_0001)
        let url = temporaryFile()
        for iteration in 0..<Self.lineReaderCases {
            var lines: [[UInt8]] = []
            for _ in 0..<(1 + rng.below(4)) { lines.append(randomBytes(&rng)) }
            let crlf = rng.below(2) == 0
            var file: [UInt8] = []
            for (i, l) in lines.enumerated() {
                file += l
                if i < lines.count - 1 || rng.below(2) == 0 { file += crlf ? [0x0D, 0x0A] : [0x0A] }
            }
            try writeFile(url.path, file)
            // What the reader should see: split at LF, one trailing CR dropped per line.
            var expected: [[UInt8]] = file.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            if expected.last == [] { expected.removeLast() }
            expected = expected.map { $0.last == 0x0D ? Array($0.dropLast()) : $0 }
            let firstBad = expected.firstIndex { $0.contains(0) || !Self.isWellFormed($0) }
            do {
                let got = try LineReader.readLines(url.path)
                XCTAssertNil(firstBad, "case \(iteration): accepted a bad line")
                XCTAssertEqual(got.map { Array($0.utf8) }, expected, "case \(iteration)")
            } catch let e as InputError {
                XCTAssertEqual(e.line.map { $0 - 1 }, firstBad, "case \(iteration): \(e)")
                XCTAssertEqual(e.file, url.path)
            }
            let firstNUL = expected.firstIndex { $0.contains(0) }
            do {
                let got = try LineReader.readLines(url.path, replaceInvalid: true)
                XCTAssertNil(firstNUL, "case \(iteration)")
                XCTAssertEqual(got, expected.map { String(decoding: $0, as: UTF8.self) }, "case \(iteration)")
            } catch let e as InputError {
                XCTAssertEqual(e.line.map { $0 - 1 }, firstNUL, "case \(iteration): \(e)")
                XCTAssertTrue(e.reason.contains("NUL"), e.reason)
            }
        }
    }

    /// Random text through every tokenizer configuration. Invariants: the exact join of the
    /// tokens is the normalized line (lossless), tokens are non-empty with no whitespace, the
    /// normalizer is idempotent, the byte fast path of `mixer-cli tokenize` agrees with
    /// `words`, and the detokenizer and its splitter accept whatever the tokenizer gives.
    func testTokenizerRoundTripOnRandomText() throws {
        var rng = Rng(state: 0x5EED_0002)
        let tokenizers = try [
            WordTokenizer(),
            WordTokenizer(normalizer: Normalizer(form: .nfkc, caseFold: true)),
            WordTokenizer(locale: "ja", normalizer: Normalizer(form: .nfc)),
            WordTokenizer(locale: "th", normalizer: Normalizer(form: .none)),
        ]
        let detok = Detokenizer()
        var out: [UInt8] = []
        for iteration in 0..<Self.tokenizerCases {
            let tok = tokenizers[iteration % tokenizers.count]
            // Half the inputs come from random bytes repaired as LineReader's --replace-invalid does.
            let line = rng.below(2) == 0
                ? randomWellFormed(&rng)
                : String(decoding: randomBytes(&rng).filter { $0 != 0x0A }, as: UTF8.self)
            let normalized = tok.normalizer.normalize(line)
            XCTAssertEqual(tok.normalizer.normalize(normalized), normalized, "case \(iteration): not idempotent")
            let tokens = tok.tokenize(line)
            XCTAssertEqual(Detokenizer.join(tokens), normalized, "case \(iteration): \(Array(line.unicodeScalars.map(\.value)))")
            for t in tokens {
                XCTAssertFalse(t.text.isEmpty, "case \(iteration)")
                XCTAssertFalse(t.text.utf8.contains(0x20), "case \(iteration): token \(t.text.debugDescription) has a space")
            }
            let words = tok.words(line)
            XCTAssertEqual(words, tokens.map(\.text), "case \(iteration)")
            out.removeAll(keepingCapacity: true)
            var l = line
            let n = l.withUTF8 { tok.appendTokenized(utf8: $0, to: &out) }
            XCTAssertEqual(String(decoding: out, as: UTF8.self), words.joined(separator: " "), "case \(iteration)")
            XCTAssertEqual(n, words.count, "case \(iteration)")
            XCTAssertEqual(Detokenizer.split(words.joined(separator: " ")), words, "case \(iteration)")
            _ = detok.detokenize(words)
            XCTAssertEqual(detok.spacesBefore(words).count, words.count)
        }
    }
}
