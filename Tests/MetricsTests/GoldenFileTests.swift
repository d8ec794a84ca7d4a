import XCTest

final class GoldenFileTests: XCTestCase {
    func testGoldenVectorsAreBundled() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Resources"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let versions = try XCTUnwrap(json?["versions"] as? [String: String])
        XCTAssertEqual(versions["sacrebleu"], "2.6.0")
        XCTAssertEqual(versions["rouge_score"], "0.1.2")
    }
}
