import XCTest
@testable import Seq2Seq

final class BLASTests: XCTestCase {
    func testBLASCoreIsNamed() {
        XCTAssertFalse(blasCoreName.isEmpty)
    }
}
