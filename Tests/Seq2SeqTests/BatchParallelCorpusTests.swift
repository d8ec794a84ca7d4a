import XCTest
import Tokenize
@testable import Seq2Seq

final class BatchParallelCorpusTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "corpus-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func file(_ name: String, _ text: String) throws -> String {
        let p = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testReadsPairsSkipsEmptySidesAndEncodes() throws {
        let s = try file("s", "a b\r\n\nc d e\n  \nf\n")
        let t = try file("t", "x\ny\nz w\nv\n\n")
        let c = try ParallelCorpus.read(sourcePath: s, targetPath: t)
        XCTAssertEqual(c.sources, ["a b", "c d e"])
        XCTAssertEqual(c.targets, ["x", "z w"])
        XCTAssertEqual(c.lineNumbers, [1, 3])
        XCTAssertEqual(c.skippedEmptyPairs, 3)
        let ids = c.encoded(source: { $0.split(separator: " ").map { Int32($0.unicodeScalars.first!.value) } },
                            target: { $0.split(separator: " ").map { _ in 7 } })
        XCTAssertEqual(ids.sources, [[97, 98], [99, 100, 101]])
        XCTAssertEqual(ids.targets, [[7], [7, 7]])
        // Feeds the Batcher.
        let b = try Batcher(sources: ids.sources, targets: ids.targets, batchSize: 2, maxSourceLength: 2)
        XCTAssertEqual(b.truncatedSources, 1)
    }

    func testErrorsNameTheFiles() throws {
        let s = try file("s", "a\nb\nc\n")
        let t = try file("t", "x\ny\n")
        let empty = try file("e", "")
        let blank = try file("b", "\n\n\n")
        func message(_ a: String, _ b: String) -> String {
            do { _ = try ParallelCorpus.read(sourcePath: a, targetPath: b); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(s, t), "\(s): has 3 lines but \(t) has 2: line N of the source must pair with line N of the target")
        XCTAssertEqual(message(t, s), "\(t): has 2 lines but \(s) has 3: line N of the source must pair with line N of the target")
        XCTAssertEqual(message(empty, t), "\(empty): is empty")
        XCTAssertEqual(message(s, empty), "\(empty): is empty")
        XCTAssertTrue(message(s, blank).contains("pairs with an empty line"))
        XCTAssertEqual(message("-", "-"), "<stdin>: cannot read both the source and the target from standard input")
        XCTAssertEqual(message(dir + "/missing", t), "\(dir)/missing: no such file")
        let bad = dir + "/bad"
        try Data([0x6F, 0x6B, 0x0A, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: bad))
        XCTAssertTrue(message(bad, t).hasPrefix("\(bad):2: invalid UTF-8"), message(bad, t))
    }
}
