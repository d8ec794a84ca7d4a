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

    /// A subword checkpoint: the SentencePiece models are saved (checksummed) and loaded back
    /// byte for byte, sources are encoded into pieces and truncated to maxSourceLength pieces,
    /// outputs are joined back into words; a word checkpoint holds no `.model` file.
    func testSubwordCheckpointRoundTrip() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tm-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let lines = ["the quick brown fox jumps over the lazy dog", "a library for the Python language",
                     "shared library of the GNU C compiler", "documentation for the fox library"]
        let sp = try SubwordModel.train(sentences: Array(repeating: lines, count: 20).joined(),
                                        options: SubwordTrainingOptions(type: .bpe, vocabularySize: 300))
        var mc = ModelConfig(sourceVocabSize: sp.vocabulary.count, targetVocabSize: sp.vocabulary.count)
        mc.embeddingSize = 8; mc.hiddenSize = 8; mc.encoderHiddenSize = 8
        let model = EncoderDecoder(config: mc, seed: 7)
        let rc = RunConfig(model: mc, tokenizer: TokenizerSettings(), maxSourceLength: 6, maxTargetLength: 5, mixerVersion: "test",
                           subword: SubwordSettings(type: "bpe", vocabularySize: 300, joint: true))
        let dir = root.appendingPathComponent("ckpt")
        try TrainedModel.save(to: dir.path, model: model, config: rc, sourceVocabulary: sp.vocabulary, targetVocabulary: sp.vocabulary,
                              subword: SubwordModels(source: sp, target: sp))
        let loaded = try TrainedModel(directory: dir.path)
        XCTAssertEqual(loaded.config, rc)
        let models = try XCTUnwrap(loaded.subword)
        XCTAssertEqual(models.source.serialized, sp.serialized)
        XCTAssertEqual(models.target.serialized, sp.serialized)
        XCTAssertTrue(models.isJoint)
        let enc = try loaded.encodeSources(["the quick brown fox jumps over the lazy dog"])
        let pieces = sp.ids(words: ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"])
        XCTAssertEqual(enc[0].ids, Array(pieces.prefix(6)))
        let h = Hypothesis(ids: pieces, ended: true, logProb: 0, score: 0, attentionArgmax: pieces.map { _ in 0 })
        XCTAssertEqual(loaded.outputTokens(h, sourceTokens: [], replaceUnk: false),
                       ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"])
        XCTAssertThrowsError(try loaded.decode(lines: ["fox"], strategy: .greedy, options: DecodingOptions(maxLength: 3),
                                               batchSize: 1, replaceUnk: true))
        // A word checkpoint: no SentencePiece files, no "subword" in config.json.
        let words = root.appendingPathComponent("words")
        _ = try tiny(words)
        XCTAssertFalse(FileManager.default.fileExists(atPath: words.appendingPathComponent(Checkpoint.sourceSubwordFile).path))
        XCTAssertFalse(try String(contentsOf: words.appendingPathComponent(Checkpoint.configFile), encoding: .utf8).contains("subword"))
        XCTAssertNil(try TrainedModel(directory: words.path).subword)
    }
}
