import Foundation
import Tokenize
import XCTest
@testable import Seq2Seq

final class TrainedModelTests: XCTestCase {
    func tiny(_ dir: URL) throws -> (EncoderDecoder, RunConfig) {
        let src = Vocabulary(counting: [["a", "b", "c"]]), tgt = Vocabulary(counting: [["x", "y"]])
        var mc = ModelConfig(sourceVocabSize: src.count, targetVocabSize: tgt.count)
        mc.embeddingSize = 8; mc.hiddenSize = 8; mc.encoderHiddenSize = 8
        let model = EncoderDecoder(config: mc, seed: 7)
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 10, maxTargetLength: 5, mixerVersion: "test")
        try TrainedModel.save(to: dir.path, model: model, config: rc, sourceVocabulary: src, targetVocabulary: tgt)
        return (model, rc)
    }

    func testSaveLoadIsBitExactAndEncodesSources() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tm-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("best")
        let (model, rc) = try tiny(dir)
        // The run directory resolves to its best/ checkpoint.
        let loaded = try TrainedModel(directory: root.path)
        XCTAssertEqual(loaded.config, rc)
        XCTAssertEqual(Array(loaded.model.params.buffer), Array(model.params.buffer))
        let enc = try loaded.encodeSources(["a  b z"])
        XCTAssertEqual(enc[0].tokens, ["a", "b", "z"])
        XCTAssertEqual(enc[0].ids, [loaded.sourceVocabulary.id("a"), loaded.sourceVocabulary.id("b"), Vocabulary.unk])
    }

    func testVocabularyThatDoesNotMatchTheModelIsRejected() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tm-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let (model, rc) = try tiny(root)
        // Save again with a target vocabulary of another size: config and vocab disagree.
        let other = Vocabulary(counting: [["x", "y", "z"]])
        try Checkpoint.save(to: root.path, parameters: model.params, optimizer: nil, config: rc,
                            sourceVocabulary: Array(Vocabulary(counting: [["a", "b", "c"]]).fileContents.utf8),
                            targetVocabulary: Array(other.fileContents.utf8),
                            state: TrainerState(learningRate: 0, validation: ValidationTracker(higherIsBetter: true)))
        XCTAssertThrowsError(try TrainedModel(directory: root.path)) { e in
            XCTAssertTrue("\(e)".contains("target.vocab: has 7 entries but the model expects 6"), "\(e)")
        }
    }
}
