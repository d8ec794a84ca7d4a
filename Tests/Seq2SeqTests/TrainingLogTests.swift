import XCTest
@testable import Seq2Seq

final class TrainingLogTests: XCTestCase {
    func tempPath() -> (dir: String, log: String) {
        let dir = NSTemporaryDirectory() + "log-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return (dir, RunDirectory(dir).log)
    }

    static let report: ProgressReport = {
        var r = ProgressReport(epoch: 2, epochs: 10, step: 150, steps: 400, globalStep: 550,
                               targetTokensPerSecond: 1234.4, loss: 3.21, learningRate: 0.2 / 1.2,
                               elapsed: 12.5, eta: 3900, stage: "mixer")
        r.epochETA = 65
        return r
    }()

    /// One record of every kind, as a run writes them.
    static let records: [RunRecord] = {
        var epoch = EpochRecord(epoch: 2)
        epoch.stage = "mixer"; epoch.s = 9; epoch.learningRate = 0.001; epoch.trainLoss = 3.5; epoch.tokensPerSecond = 12000.25
        epoch.steps = 400; epoch.skippedSteps = 1; epoch.meanReward = 0.25; epoch.advantageMean = 0.01; epoch.advantageStd = 0.2
        epoch.baselineMSE = 0.0045; epoch.best = true; epoch.metric = "rouge2"; epoch.validMetric = 0.1113
        epoch.validLoss = 3.1; epoch.validPerplexity = 22.197951281441636; epoch.validBLEU = 7.06; epoch.validROUGE1 = 0.2721
        epoch.validROUGE2 = 0.1113; epoch.validROUGEL = 0.25; epoch.validROUGELsum = 0.25
        epoch.setDegeneration(DegenerationStats(outputs: [[1, 2, 1, 2], [3]], endedWithEOS: [true, false], references: [[1, 2], [3, 4]]))
        return [
            .start(RunStartRecord(config: .object(["model": .object(["hiddenSize": 8])]),
                                  options: .object(["objective": "mixer", "learningRate": .double(0.001), "minimumLearningRate": .double(1e-5)]),
                                  data: DataCounts(trainPairs: 12000, validPairs: 1000, sourceVocabulary: 200, targetVocabulary: 180,
                                                   truncatedSources: 3, truncatedTargets: 4, skippedPairs: 0),
                                  kernels: "scalar", arguments: ["--epochs", "2", "--output", "runs/a b/c"], mixerVersion: "0.3.0")),
            .step(StepRecord(report)),
            .skippedStep(SkippedStepRecord(globalStep: 551, reason: "the loss is NaN", learningRate: 0.0005)),
            .epoch(epoch),
            .samples(SamplesRecord(epoch: 2, items: [SampleOutput(source: "quote \" and\nnewline é", reference: "r", greedy: "g", beam: "b")])),
            .resume(RunResumeRecord(epoch: 2, step: 7, globalStep: 807)),
            .end(EndRecord(reason: "completed 10 epochs", bestMetric: 0.1113, bestEpoch: 2)),
            .end(EndRecord(reason: "interrupted", bestMetric: nil, bestEpoch: nil)),
        ]
    }()

    /// The exact bytes the trainer writes for a fixed sequence of records: key names and
    /// order, number formatting (shortest round trip; a whole `Double` as `5`; non-finite as a
    /// string), escapes. Renaming a key, or changing how numbers are written, fails here —
    /// bump ``runLogFormat`` and teach ``TrainingLog/read(_:)`` the old form when you do.
    func testGoldenBytesOfEveryRecordKind() throws {
        let (dir, path) = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var nan = Self.report
        nan.loss = .nan
        nan.reward = -.infinity
        do {
            let log = try TrainingLog(path: path)
            for r in Self.records { try log.append(r) }
            try log.append(.step(StepRecord(nan)))
        }
        let golden = #"""
        {"arguments":["--epochs","2","--output","runs/a b/c"],"config":{"model":{"hiddenSize":8}},"data":{"skipped_pairs":0,"source_vocabulary":200,"target_vocabulary":180,"train_pairs":12000,"truncated_sources":3,"truncated_targets":4,"valid_pairs":1000},"event":"start","kernels":"scalar","log_format":2,"mixer_version":"0.3.0","options":{"learningRate":0.001,"minimumLearningRate":1e-05,"objective":"mixer"}}
        {"elapsed":12.5,"epoch":2,"epochs":10,"eta":3900,"eta_epoch":65,"event":"step","global_step":550,"loss":3.21,"lr":0.16666666666666669,"stage":"mixer","step":150,"steps":400,"tokens_per_second":1234.4}
        {"event":"skipped_step","global_step":551,"lr":0.0005,"reason":"the loss is NaN"}
        {"advantage_mean":0.01,"advantage_std":0.2,"baseline_mse":0.0045,"best":true,"distinct1":0.6,"distinct2":0.6666666666666666,"epoch":2,"event":"epoch","length_ratio":1.25,"lr":0.001,"mean_reward":0.25,"metric":"rouge2","no_eos":0.5,"repeated_bigrams":0.3333333333333333,"s":9,"skipped_steps":1,"stage":"mixer","steps":400,"tokens_per_second":12000.25,"train_loss":3.5,"valid_bleu":7.06,"valid_loss":3.1,"valid_metric":0.1113,"valid_ppl":22.197951281441636,"valid_rouge1":0.2721,"valid_rouge2":0.1113,"valid_rougeL":0.25,"valid_rougeLsum":0.25}
        {"epoch":2,"event":"samples","items":[{"beam":"b","greedy":"g","reference":"r","source":"quote \" and\nnewline é"}]}
        {"epoch":2,"event":"resume","global_step":807,"log_format":2,"step":7}
        {"best_epoch":2,"best_metric":0.1113,"event":"end","reason":"completed 10 epochs"}
        {"event":"end","reason":"interrupted"}
        {"elapsed":12.5,"epoch":2,"epochs":10,"eta":3900,"eta_epoch":65,"event":"step","global_step":550,"loss":"NaN","lr":0.16666666666666669,"reward":"-Infinity","stage":"mixer","step":150,"steps":400,"tokens_per_second":1234.4}
        
        """#
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text, golden)
        for (got, want) in zip(text.split(separator: "\n"), golden.split(separator: "\n")) where got != want {
            XCTFail("first differing line:\n\(got)\n\(want)")
            break
        }
        // Read back through the same types: every record equal (NaN compared by its text).
        let back = try TrainingLog.read(path)
        XCTAssertEqual(Array(back.prefix(Self.records.count)), Self.records)
        guard case .step(let s)? = back.last else { return XCTFail("\(String(describing: back.last))") }
        XCTAssertTrue(s.loss.isNaN)
        XCTAssertEqual(s.reward, -.infinity)
    }

    /// A log written by mixer 0.2.0 (`mixer-cli train --objective mixer --xent-epochs 1
    /// --epochs 3 --report-every 5 --log-samples 2` on 400 pairs of data/, committed as it
    /// was written) reads with format 2's numbering and names.
    func testReadsA020Log() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "log-0.2.0-mixer", withExtension: "jsonl", subdirectory: "Resources"))
        let records = try TrainingLog.read(url.path)
        XCTAssertEqual(records.map { $0.event ?? "?" },
                       ["start", "step", "step", "step", "epoch", "samples", "step", "step", "step", "epoch", "samples",
                        "step", "step", "step", "epoch", "samples", "end"])
        guard case .start(let start) = records[0] else { return XCTFail() }
        XCTAssertNil(start.logFormat)
        XCTAssertEqual(start.mixerVersion, "0.2.0")
        XCTAssertEqual(start.data?.trainPairs, 400)
        XCTAssertEqual(start.arguments?.prefix(2), ["--train-source", "/tmp/rec/train.src"])
        let steps = records.compactMap { if case .step(let r) = $0 { r } else { nil } }
        let epochs = records.compactMap { if case .epoch(let e) = $0 { e } else { nil } }
        // 0.2.0 counted step records' epochs from 0: they read from 1, like epoch records.
        XCTAssertEqual(steps.map(\.epoch), [1, 1, 1, 2, 2, 2, 3, 3, 3])
        XCTAssertEqual(epochs.map(\.epoch), [1, 2, 3])
        XCTAssertEqual(steps[0].tokensPerSecond, 2172.3724122061562)
        // `tokens_per_s` of 0.2.0's epoch records reads as tokensPerSecond.
        XCTAssertEqual(epochs.map(\.tokensPerSecond), [2402.838004048801, 2387.512184047086, 2337.604049126155])
        XCTAssertEqual(epochs.map(\.stage), ["xent", "mixer", "mixer"])
        XCTAssertEqual(epochs[2].meanReward, 0.24395283255900177)
        XCTAssertEqual(epochs[0].metric, "rouge2")
        XCTAssertNotNil(epochs[0].validROUGELsum)
        XCTAssertEqual(epochs[0].best, true)
        guard case .samples(let samples) = records[5], case .end(let end) = records[16] else { return XCTFail() }
        XCTAssertEqual(samples.items.count, 2)
        XCTAssertEqual(samples.items[0].reference, "Japanese documentation from the Debian Edu project")
        XCTAssertEqual(end.bestEpoch, 1)
        XCTAssertEqual(end.reason, "completed 3 epochs")
    }

    /// A 0.2.0 run resumed by this build: the numbering switches at the resume record.
    func testOldLogResumedByThisBuildSwitchesNumberingAtTheResumeRecord() throws {
        let (dir, path) = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = """
        {"event":"start","mixer_version":"0.2.0"}
        {"epoch":0,"epochs":2,"event":"step","global_step":5,"kind":"progress","loss":5.2,"lr":0.001,"stage":"xent","step":5,"steps":13,"tokens_per_second":2000.5,"elapsed":1}
        {"epoch":0,"event":"resume","global_step":5,"step":5}
        {"epoch":0,"epochs":2,"event":"step","global_step":10,"kind":"progress","loss":5.1,"lr":0.001,"stage":"xent","step":10,"steps":13,"tokens_per_second":2000.5,"elapsed":1}
        
        """
        try Data(old.utf8).write(to: URL(fileURLWithPath: path))
        try TrainingLog(path: path).append(.resume(RunResumeRecord(epoch: 0, step: 10, globalStep: 10)))
        var step = Self.report
        step.epoch = 1
        try TrainingLog(path: path).append(.step(StepRecord(step)))
        let epochs = try TrainingLog.read(path).compactMap { if case .step(let r) = $0 { r.epoch } else { nil } }
        XCTAssertEqual(epochs, [1, 1, 1])
    }

    /// Renaming a key is caught: a record missing a required key, or with a value of the wrong
    /// type, is an error naming the line and the key; unknown kinds and keys are skipped.
    func testBadRecordsAreErrorsNamingLineAndKey() throws {
        let (dir, path) = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func read(_ text: String) throws -> [RunRecord] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return try TrainingLog.read(path)
        }
        XCTAssertThrowsError(try read("{\"event\":\"epoch\",\"epochNumber\":1}\n")) { e in
            XCTAssertEqual("\(e)", path + ":1: not a valid \"epoch\" record: \"epoch\" is missing")
        }
        XCTAssertThrowsError(try read("{}\n{\"event\":\"epoch\",\"epoch\":1,\"valid_bleu\":\"high\"}\n")) { e in
            XCTAssertTrue("\(e)".hasPrefix(path + ":2: not a valid \"epoch\" record: \"valid_bleu\""), "\(e)")
        }
        XCTAssertEqual(try read("{\"event\":\"checkpoint\",\"x\":1}\n{\"event\":\"epoch\",\"epoch\":1,\"new_key\":2}\n"),
                       [.other(event: "checkpoint"), .epoch(EpochRecord(epoch: 1))])
    }

    func testAppendsOneSortedJSONObjectPerLineAndReadsBack() throws {
        let (dir, path) = tempPath()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let log = try TrainingLog(path: path)
            try log.append(Self.records[1])
            try log.append(Self.records[4])
        }
        // Python's json / jq read these lines; so do we.
        XCTAssertEqual(try TrainingLog.read(path), [Self.records[1], Self.records[4]])

        // A torn last line (kill -9 mid-write) is skipped on read and ended on reopen.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data(#"{"epoch":2,"los"#.utf8))
        h.closeFile()
        XCTAssertEqual(try TrainingLog.read(path).count, 2)
        try TrainingLog(path: path).append(Self.records[5])
        let after = try TrainingLog.read(path)
        XCTAssertEqual(after.count, 3)
        XCTAssertEqual(after[2], Self.records[5])
        // A malformed line in the middle is an error naming the line.
        try Data("{}\nnot json\n{}\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TrainingLog.read(path)) { e in
            XCTAssertTrue("\(e)".hasPrefix(path + ":2: "), "\(e)")
        }
    }

    func testProgressLineAndPrinterModes() {
        let r = ProgressReport(epoch: 2, epochs: 10, step: 150, steps: 400, globalStep: 550,
                               targetTokensPerSecond: 1234.4, loss: 3.21, learningRate: 0.2 / 1.2,
                               elapsed: 12.5, eta: 3900)
        XCTAssertEqual(r.line, "epoch 2/10  step 150/400  1234 tok/s  loss 3.2100  lr 0.1667  elapsed 13s  ETA run 1h05m")
        var both = r
        both.epochETA = 65
        both.etaIsLowerBound = true
        both.reward = 0.25
        both.stage = "reinforce"
        XCTAssertEqual(both.line, "epoch 2/10  step 150/400  1234 tok/s  reward 0.2500  lr 0.1667  reinforce  elapsed 13s  ETA epoch ≥1m05s, run ≥1h05m")
        XCTAssertEqual(ProgressReport.duration(65), "1m05s")
        XCTAssertEqual(ProgressReport.duration(9), "9s")
        XCTAssertEqual(ProgressReport.duration(.nan), "?")
        var nanReport = r
        nanReport.loss = .nan
        nanReport.learningRate = 1e-5
        nanReport.eta = nil
        XCTAssertEqual(nanReport.line, "epoch 2/10  step 150/400  1234 tok/s  loss nan  lr 1e-05  elapsed 13s")

        var out = ""
        let terminal = ProgressPrinter(inPlace: true) { out += $0 }
        terminal.show(r)
        terminal.show(r)
        terminal.message("validation: ppl 12.3")
        XCTAssertEqual(out, "\r\(r.line)\u{1B}[K\r\(r.line)\u{1B}[K\nvalidation: ppl 12.3\n")
        out = ""
        let plain = ProgressPrinter(inPlace: false) { out += $0 }
        plain.show(r)
        plain.message("done")
        XCTAssertEqual(out, "\(r.line)\ndone\n")
    }
}
