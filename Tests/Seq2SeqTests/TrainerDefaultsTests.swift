import XCTest
@testable import Seq2Seq

/// The defaults of issue #15: MIXER's whole schedule, the warnings about a schedule that will
/// not finish, and saved runs that resume with the options they were started with.
final class TrainerDefaultsTests: XCTestCase {
    func testWholeScheduleEpochs() {
        // T = 16, Δ = 2, one epoch a stage, no XENT: s = 14, 12, …, 0: 8 epochs.
        XCTAssertEqual(MixerSchedule(maxTargetLength: 16, xentEpochs: 0, delta: 2, epochsPerStep: 1).wholeScheduleEpochs, 8)
        XCTAssertEqual(MixerSchedule(maxTargetLength: 16, xentEpochs: 5, delta: 2, epochsPerStep: 1).wholeScheduleEpochs, 13)
        // T = 10, Δ = 3: s = 7, 4, 1, 0 (4 stages) of 2 epochs, after 2 XENT epochs.
        let m = MixerSchedule(maxTargetLength: 10, xentEpochs: 2, delta: 3, epochsPerStep: 2)
        XCTAssertEqual(m.wholeScheduleEpochs, 10)
        XCTAssertEqual(m.xentSteps(epoch: m.wholeScheduleEpochs), 0)
        XCTAssertEqual(m.xentSteps(epoch: m.wholeScheduleEpochs - 2), 1)
        for (T, x, d, n) in [(13, 0, 3, 1), (9, 1, 4, 3), (5, 0, 5, 1), (16, 3, 1, 2)] {
            let s = MixerSchedule(maxTargetLength: T, xentEpochs: x, delta: d, epochsPerStep: n)
            let whole = s.wholeScheduleEpochs
            XCTAssertEqual(s.xentSteps(epoch: whole), 0, "\(T) \(x) \(d) \(n)")
            XCTAssertEqual(s.xentSteps(epoch: whole - n + 1), 0, "the last stage lasts its \(n) epochs")
            XCTAssertGreaterThan(s.xentSteps(epoch: whole - n), 0, "\(T) \(x) \(d) \(n): the stage before is not s = 0")
        }
        var o = TrainerOptions()
        o.objective = .mixer; o.xentEpochs = 0; o.mixerDelta = 2
        XCTAssertEqual(o.mixerScheduleEpochs(steps: 16), 8)
    }

    func testScheduleWarnings() {
        var o = TrainerOptions()
        o.objective = .mixer; o.xentEpochs = 0; o.mixerDelta = 2; o.mixerEpochsPerStep = 1
        o.epochs = 8
        XCTAssertEqual(o.scheduleWarnings(steps: 16), [])
        o.epochs = 5   // the issue's case: stops at s = 6 of T = 16
        let w = o.scheduleWarnings(steps: 16)
        XCTAssertEqual(w.count, 1)
        XCTAssertTrue(w[0].contains("will not finish") && w[0].contains("s = 6 of T = 16") && w[0].contains("--epochs 8"), w[0])
        o.xentEpochs = 5
        let none = o.scheduleWarnings(steps: 16)
        XCTAssertEqual(none.count, 1)
        XCTAssertTrue(none[0].contains("--xent-epochs 5 leaves no REINFORCE epoch"), none[0])
        o.objective = .xent
        XCTAssertEqual(o.scheduleWarnings(steps: 16), [], "only MIXER has a schedule")
    }

    /// Keys added with a default that changes training read, when a saved run lacks them, as
    /// the behaviour the run was trained with; this version's options read back as written.
    func testSavedOptionsKeepTheirBehaviour() throws {
        let old = try JSONDecoder().decode(TrainerOptions.self, from: Data(#"{"objective":"scst","baselineLearningRateFactor":0.01}"#.utf8))
        XCTAssertEqual(old.rewardEOS, .ignore)
        XCTAssertEqual(old.riskDuplicates, .keep)
        XCTAssertEqual(old.baselineLearningRateFactor, 0.01)
        XCTAssertEqual(old.riskCandidatesFrom, .sample)
        XCTAssertFalse(old.riskIncludeReference)
        XCTAssertNil(old.learningRate, "a run without --learning-rate keeps the optimizer's default")
        XCTAssertEqual(old.effectiveLearningRate, 0.001)

        let url = try XCTUnwrap(Bundle.module.url(forResource: "trainer-state-0.2.0-mixer", withExtension: "json", subdirectory: "Resources"))
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: url))
        let saved = try JSONDecoder().decode(TrainerOptions.self, from: Data(state.options!.serialized().utf8))
        XCTAssertEqual(saved.baselineLearningRateFactor, 0.01)
        XCTAssertEqual(saved.xentEpochs, 1)
        XCTAssertEqual(saved.rewardEOS, .ignore)

        var now = TrainerOptions()
        XCTAssertEqual(now.rewardEOS, .count)
        XCTAssertEqual(now.riskDuplicates, .merge)
        XCTAssertEqual(now.baselineLearningRateFactor, 1)
        now.riskCandidatesFrom = .both; now.riskIncludeReference = true
        let back = try JSONDecoder().decode(TrainerOptions.self, from: JSONEncoder().encode(now))
        XCTAssertEqual(back, now)
    }
}
