import Foundation
import XCTest

/// `score REF -i BASE SYS... --paired-ar` (sacreBLEU's approximate randomization test).
final class ScorePairedARTests: XCTestCase {
    func testPairedApproximateRandomization() throws {
        let dir = try CLI.temporaryDirectory(self)
        let refs = try Hostile.dataLines("valid.tgt", 200)
        // The baseline drops every 4th word; sys1 is the baseline itself; sys2 is the reference.
        let base = refs.map { $0.split(separator: " ").enumerated().filter { $0.offset % 4 != 3 }.map(\.element).joined(separator: " ") }
        let ref = try Hostile.write(dir, "ref.txt", refs.joined(separator: "\n") + "\n")
        let b = try Hostile.write(dir, "base.txt", base.joined(separator: "\n") + "\n")
        let s1 = try Hostile.write(dir, "same.txt", base.joined(separator: "\n") + "\n")
        let s2 = try Hostile.write(dir, "ref-copy.txt", refs.joined(separator: "\n") + "\n")
        let r = try CLI.run(["score", ref, "-i", b, s1, s2, "-m", "bleu", "chrf", "ter", "--paired-ar", "-parn", "500", "-f", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let systems = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(systems.count, 3)
        for key in ["bleu", "chrf", "ter"] {
            let p1 = try XCTUnwrap((systems[1][key] as? [String: Any])?["p_value"] as? Double)
            let p2 = try XCTUnwrap((systems[2][key] as? [String: Any])?["p_value"] as? Double)
            // Identical to the baseline: no trial exceeds a difference of 0, p = 1/(N+1) (sacreBLEU's rule);
            // the references themselves beat it in every trial's direction: the smallest p too.
            XCTAssertEqual(p1, 1.0 / 501, accuracy: 1e-15, key)
            XCTAssertEqual(p2, 1.0 / 501, accuracy: 1e-15, key)
            XCTAssertNil((systems[0][key] as? [String: Any])?["p_value"], key)
        }
        XCTAssertEqual((systems[2]["bleu"] as? [String: Any])?["score"] as? Double ?? 0, 100, accuracy: 1e-9)
        let text = try CLI.run(["score", ref, "-i", b, s2, "-m", "bleu", "--paired-ar", "-parn", "200"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("Paired approximate randomization test, 200 trials"), text.stdout)
        XCTAssertTrue(text.stdout.contains("(p = 0.0050)*"), text.stdout)
        for (args, mention) in [(["--paired-ar", "--paired-bs"], "two tests"), (["--paired-ar", "-parn", "0"], "--paired-ar-n")] {
            let e = try CLI.run(["score", ref, "-i", b, s2] + args)
            Hostile.assertCleanFailure(e, mentions: [mention], args.joined(separator: " "))
        }
        let one = try CLI.run(["score", ref, "-i", b, "--paired-ar"])
        Hostile.assertCleanFailure(one, mentions: ["--paired-ar needs"], "one system")
    }
}
