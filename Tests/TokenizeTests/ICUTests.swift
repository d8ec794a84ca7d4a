import XCTest
@testable import Tokenize

final class ICUTests: XCTestCase {
    func testICUVersionIsAtLeast72() {
        let major = Int(icuVersion.split(separator: ".").first ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(major, 72, icuVersion)
    }
}
