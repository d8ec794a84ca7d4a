import XCTest
@testable import Tokenize

final class DetokenizerTests: XCTestCase {
    private let d = Detokenizer()

    private func detok(_ s: String) -> String { d.detokenize(s.split(separator: " ").map(String.init)) }

    func testPunctuationRules() {
        XCTAssertEqual(detok("Hello , world ! ( Really ? ) 50 % ."), "Hello, world! (Really?) 50%.")
        XCTAssertEqual(detok("module to mock system ( ) , exec ( )"), "module to mock system(), exec()")
        XCTAssertEqual(detok("say \" hi \" and ' bye ' now"), "say \"hi\" and 'bye' now")
        XCTAssertEqual(detok("users ' guide"), "users' guide")
        XCTAssertEqual(detok("costs $ 5.00 [ beta ]"), "costs $5.00 [beta]")
    }

    func testCompoundsAndDashes() {
        XCTAssertEqual(detok("a command - line tool for tests"), "a command-line tool for tests")
        XCTAssertEqual(detok("lock primitives - Rust source code"), "lock primitives - Rust source code")
        XCTAssertEqual(detok("GNOME Desktop - - development tools"), "GNOME Desktop -- development tools")
        XCTAssertEqual(detok("parser library - development files"), "parser library - development files")
        XCTAssertEqual(detok("RSS ( Atom ) - development files"), "RSS (Atom) - development files")
        XCTAssertEqual(detok("C + + / Qt bindings for GTK +"), "C++/Qt bindings for GTK+")
        XCTAssertEqual(detok("Net : : OpenID at 10 : 30 via https : / / example.com"), "Net::OpenID at 10:30 via https://example.com")
        XCTAssertEqual(detok("Ruby 2 . x and H . 265 files ( . adf )"), "Ruby 2.x and H.265 files (.adf)")
    }

    func testEdgeCases() {
        XCTAssertEqual(d.detokenize([]), "")
        XCTAssertEqual(d.detokenize(["."]), ".")
        XCTAssertEqual(d.detokenize(["-", "x"]), "- x")
        XCTAssertEqual(d.spacesBefore(["a", "b", "."]), [false, true, false])
        XCTAssertEqual(Detokenizer.split(" a\tb  c "), ["a", "b", "c"])
    }

    /// The figure the README reports: how often `detokenize(words(x)) == x` on the bundled
    /// valid targets (the issue asks for 95% or more).
    func testRoundTripRateOnBundledValidTargets() throws {
        let t = try WordTokenizer()
        let lines = try TestData.lines("valid.tgt")
        let exact = lines.filter { d.detokenize(t.words($0)) == $0 }.count
        let rate = Double(exact) / Double(lines.count)
        XCTAssertGreaterThanOrEqual(rate, 0.95, "round-trip rate \(rate)")
    }
}
