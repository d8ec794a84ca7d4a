import XCTest
@testable import Seq2Seq

final class DegenerationStatsTests: XCTestCase {
    func testHandComputedFigures() {
        // "a b a b" repeats the bigram (a,b) once out of 3 bigrams; "c" has no bigram.
        let s = DegenerationStats(outputs: [[5, 6, 5, 6], [7]], endedWithEOS: [true, false],
                                  references: [[5, 6], [7, 8, 9]])
        XCTAssertEqual(s.repeatedBigrams, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(s.distinct1, 3.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(s.distinct2, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(s.lengthRatio, 5.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(s.noEOS, 0.5, accuracy: 1e-12)
    }

    func testEmptyOutputsAreZeroNotNaN() {
        let s = DegenerationStats(outputs: [[], []], endedWithEOS: [true, true], references: [[1], [2]])
        XCTAssertEqual(s, { var z = DegenerationStats(); z.lengthRatio = 0; return z }())
        XCTAssertTrue([s.repeatedBigrams, s.distinct1, s.distinct2, s.lengthRatio, s.noEOS].allSatisfy { $0.isFinite })
    }
}
