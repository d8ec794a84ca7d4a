import XCTest
@testable import Tokenize

final class LineReaderTests: XCTestCase {
    private func file(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lr-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testLinesCRLFAndMissingFinalNewline() throws {
        let p = try file(Array("a b\r\n\nc".utf8))
        XCTAssertEqual(try LineReader.readLines(p), ["a b", "", "c"])
        XCTAssertEqual(try LineReader.readLines(try file([])), [])
    }

    func testInvalidUTF8NamesFileAndLine() throws {
        let p = try file(Array("ok\nbad \u{E9}".utf8) + [0xFF, 0x0A])
        XCTAssertThrowsError(try LineReader.readLines(p)) { e in
            let err = e as? InputError
            XCTAssertEqual(err?.line, 2)
            XCTAssertEqual(err?.file, p)
            XCTAssertTrue("\(e)".contains("invalid UTF-8"))
        }
        XCTAssertEqual(try LineReader.readLines(p, replaceInvalid: true), ["ok", "bad \u{E9}\u{FFFD}"])
    }

    func testOverlongAndSurrogatesAreInvalid() throws {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            XCTAssertThrowsError(try LineReader.readLines(try file(bad)), "\(bad)")
        }
    }

    func testNULAndMissingFile() throws {
        XCTAssertThrowsError(try LineReader.readLines(try file([0x61, 0x00, 0x62])))
        XCTAssertThrowsError(try LineReader.readLines("/nonexistent/file")) { e in
            XCTAssertEqual("\(e)", "/nonexistent/file: no such file")
        }
    }

    func testLongLineAcrossBuffers() throws {
        let long = String(repeating: "x", count: 3 << 20)
        let p = try file(Array("\(long)\nshort\n".utf8))
        let lines = try LineReader.readLines(p)
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[0].utf8.count, 3 << 20)
        XCTAssertEqual(lines[1], "short")
    }
}
