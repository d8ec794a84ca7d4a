import XCTest
@testable import Seq2Seq
import SystemBLAS

final class BLASTests: XCTestCase {
    func testBLASCoreIsNamed() {
        XCTAssertFalse(blasCoreName.isEmpty)
    }
}
