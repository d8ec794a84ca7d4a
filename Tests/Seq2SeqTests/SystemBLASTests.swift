import XCTest
@testable import Seq2Seq
import SystemBLAS

final class SystemBLASTests: XCTestCase {
    func testBLASCoreIsNamed() {
        XCTAssertFalse(blasCoreName.isEmpty)
    }
}
