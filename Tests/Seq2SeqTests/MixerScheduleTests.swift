import XCTest
@testable import Seq2Seq

final class MixerScheduleTests: XCTestCase {
    func testReferenceSchedule() {
        // T = 10, 2 XENT epochs, Δ = 3, 2 epochs per stage: s = 10,10, 7,7, 4,4, 1,1, 0,0,…
        let m = MixerSchedule(maxTargetLength: 10, xentEpochs: 2, delta: 3, epochsPerStep: 2)
        XCTAssertEqual((1...12).map { m.xentSteps(epoch: $0) }, [10, 10, 7, 7, 4, 4, 1, 1, 0, 0, 0, 0])
        XCTAssertEqual(m.firstPureReinforceEpoch, 9)
    }

    func testDeltaDividingT() {
        let m = MixerSchedule(maxTargetLength: 6, xentEpochs: 0, delta: 2, epochsPerStep: 1)
        XCTAssertEqual((1...5).map { m.xentSteps(epoch: $0) }, [4, 2, 0, 0, 0])
        XCTAssertEqual(m.firstPureReinforceEpoch, 3)
    }
}

final class ScheduledSamplingTests: XCTestCase {
    func testLinearAndInverseSigmoid() {
        let lin = ScheduledSampling.linear(decaySteps: 100, minimum: 0.25)
        XCTAssertEqual(lin.teacherForcingProbability(step: 0), 1)
        XCTAssertEqual(lin.teacherForcingProbability(step: 50), 0.625, accuracy: 1e-12)
        XCTAssertEqual(lin.teacherForcingProbability(step: 1000), 0.25)
        let sig = ScheduledSampling.inverseSigmoid(k: 10)
        XCTAssertEqual(sig.teacherForcingProbability(step: 0), 10.0 / 11.0, accuracy: 1e-12)
        XCTAssertEqual(sig.teacherForcingProbability(step: 50), 10 / (10 + exp(5.0)), accuracy: 1e-12)
        XCTAssertGreaterThan(sig.teacherForcingProbability(step: 10), sig.teacherForcingProbability(step: 20))
    }
}
