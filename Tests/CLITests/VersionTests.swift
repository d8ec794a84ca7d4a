import XCTest

final class VersionTests: XCTestCase {
    func testVersionAndHelp() throws {
        let v = try CLI.run(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertFalse(v.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        let h = try CLI.run(["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("USAGE"), h.stdout)
    }

    func testUnknownFlagFails() throws {
        let r = try CLI.run(["--no-such-flag"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no-such-flag"), r.stderr)
    }
}
