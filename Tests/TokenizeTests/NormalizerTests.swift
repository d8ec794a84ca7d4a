import XCTest
@testable import Tokenize

final class NormalizerTests: XCTestCase {
    func testNFDAndNFCInputAreEqualAfterNormalization() {
        let nfc = "caf\u{E9} na\u{EF}ve \u{C5}ngstr\u{F6}m"
        let nfd = "cafe\u{301} nai\u{308}ve A\u{30A}ngstro\u{308}m"
        XCTAssertNotEqual(Array(nfc.unicodeScalars), Array(nfd.unicodeScalars))
        for form in [NormalizationForm.nfc, .nfkc] {
            let n = Normalizer(form: form)
            XCTAssertEqual(Array(n.normalize(nfd).unicodeScalars), Array(nfc.unicodeScalars), "\(form)")
            XCTAssertEqual(Array(n.normalize(nfc).unicodeScalars), Array(nfc.unicodeScalars), "\(form)")
        }
        // `none` leaves the decomposed form alone.
        XCTAssertEqual(Array(Normalizer(form: .none).normalize(nfd).unicodeScalars), Array(nfd.unicodeScalars))
    }

    func testNFKCCompatibilityMappingsAndNFCKeepsThem() {
        let s = "\u{FB01}le \u{FF21}\u{FF22} \u{2460} x\u{00B2}"  // ﬁle ＡＢ ① x²
        XCTAssertEqual(Normalizer().normalize(s), "file AB 1 x2")
        XCTAssertEqual(Normalizer(form: .nfc).normalize(s), s)
    }

    func testControlCharactersRemovedWhitespaceCollapsedAndTrimmed() {
        let n = Normalizer()
        XCTAssertEqual(n.normalize("\t a\u{01}b \u{A0}\u{3000} c\u{7F} \r\n"), "ab c")
        XCTAssertEqual(n.normalize("x\u{85}y\u{2028}z\u{9F}"), "x y z")
        XCTAssertEqual(n.normalize("\u{FEFF}bom"), "bom")
        XCTAssertEqual(Normalizer(form: .none).normalize("  a \u{2003}\u{2003} b\u{0B}c  "), "a b c")
        XCTAssertEqual(n.normalize(""), "")
        XCTAssertEqual(n.normalize(" \t\u{A0} "), "")
        // Format characters are not controls: the zero-width joiner stays.
        XCTAssertEqual(n.normalize("a\u{200D}b"), "a\u{200D}b")
    }

    func testNFKCCanProduceSpacesThatAreCleanedToo() {
        // U+00B4 ACUTE ACCENT is <compat> U+0020 U+0301; U+2002 EN SPACE is <compat> U+0020.
        XCTAssertEqual(Array(Normalizer().normalize("a\u{B4}").unicodeScalars), ["a", " ", "\u{301}"])
        XCTAssertEqual(Array(Normalizer().normalize("\u{B4}a").unicodeScalars), ["\u{301}", "a"])
        XCTAssertEqual(Normalizer().normalize("a\u{2002} b"), "a b")
    }

    func testFullCaseFoldingIsICUsNotASCIILowercasing() {
        let n = Normalizer(caseFold: true)
        XCTAssertEqual(n.normalize("HELLO World"), "hello world")  // ASCII fast path
        XCTAssertEqual(n.normalize("Stra\u{DF}e"), "strasse")
        XCTAssertEqual(n.normalize("\u{3A3}\u{391}\u{3A3}"), "\u{3C3}\u{3B1}\u{3C3}")
        // Turkish dotted capital I: default (not Turkish) folding gives i + combining dot above.
        XCTAssertEqual(Array(n.normalize("\u{130}stanbul").unicodeScalars),
                       Array("i\u{307}stanbul".unicodeScalars))
        // Dotless ı has no case mapping to fold; capital I folds to plain i.
        XCTAssertEqual(n.normalize("\u{131}I"), "\u{131}i")
        // Folding after NFKC: ℌ (compat of H) ends lowercase.
        XCTAssertEqual(n.normalize("\u{210C}"), "h")
        XCTAssertEqual(Normalizer(form: .none, caseFold: true).normalize("\u{C9}COLE"), "\u{E9}cole")
    }

    func testIdempotentOnTheBundledData() throws {
        let lines = try TestData.lines("train.src").prefix(3000) + TestData.lines("valid.tgt")
        for form in NormalizationForm.allCases {
            for fold in [false, true] {
                let n = Normalizer(form: form, caseFold: fold)
                for line in lines {
                    let once = n.normalize(line)
                    XCTAssertEqual(n.normalize(once), once, "\(form) fold=\(fold): \(line)")
                    XCTAssertFalse(once.contains("  ") || once.hasPrefix(" ") || once.hasSuffix(" "))
                }
            }
        }
    }

    func testByteAndStringPathsAgree() {
        let n = Normalizer(caseFold: true)
        for s in ["ASCII only", "mixed \u{FB01} Stra\u{DF}e", "", "  "] {
            var out: [UInt8] = [0x41]
            var t = s
            t.withUTF8 { n.normalize(utf8: $0, appendingTo: &out) }
            XCTAssertEqual(out, [0x41] + Array(n.normalize(s).utf8))
        }
    }
}

/// The bundled corpus sample in data/ (the repository's, not /work/shared).
enum TestData {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data")
    }

    static func lines(_ name: String) throws -> [String] {
        try LineReader.readLines(directory.appendingPathComponent(name).path)
    }
}
