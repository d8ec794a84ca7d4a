import Foundation
import XCTest
@testable import Metrics

/// The golden vectors of sacreBLEU 2.6.0 and rouge-score 0.1.2 (Resources/golden.json).
enum Golden {
    static let json: [String: Any] = {
        let url = Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Resources")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()
    static var cases: [[String: Any]] { json["cases"] as! [[String: Any]] }
    static var signatures: [[String: Any]] { json["signatures"] as! [[String: Any]] }
    static var corpora: [[String: Any]] { json["corpora"] as! [[String: Any]] }
}

/// |a − b| ≤ 1e-9 · max(|a|, |b|), or both within 1e-12 of each other (for zeros).
func assertClose(_ a: Double, _ b: Double, rel: Double = 1e-9, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let ok = abs(a - b) <= rel * max(abs(a), abs(b)) || abs(a - b) <= 1e-12
    XCTAssertTrue(ok, "\(what()): got \(a), expected \(b)", file: file, line: line)
}

func doubles(_ x: Any?) -> [Double] { (x as! [Any]).map { ($0 as! NSNumber).doubleValue } }
func number(_ x: Any?) -> Double { (x as! NSNumber).doubleValue }

/// Compares a ``BLEUScore`` with a golden sacreBLEU result dictionary.
func assertBLEU(_ s: BLEUScore, _ g: [String: Any], _ what: String,
                file: StaticString = #filePath, line: UInt = #line) {
    assertClose(s.score, number(g["score"]), "\(what) score", file: file, line: line)
    assertClose(s.bp, number(g["bp"]), "\(what) bp", file: file, line: line)
    XCTAssertEqual(s.counts, doubles(g["counts"]), "\(what) counts", file: file, line: line)
    XCTAssertEqual(s.totals, doubles(g["totals"]), "\(what) totals", file: file, line: line)
    let p = doubles(g["precisions"])
    for i in 0..<4 { assertClose(s.precisions[i], p[i], "\(what) precision \(i + 1)", file: file, line: line) }
    XCTAssertEqual(s.sysLen, Int(number(g["sys_len"])), "\(what) sys_len", file: file, line: line)
    XCTAssertEqual(s.refLen, Int(number(g["ref_len"])), "\(what) ref_len", file: file, line: line)
    if let str = g["str"] as? String {
        XCTAssertEqual(s.formatted(), str, "\(what) str", file: file, line: line)
    }
}
