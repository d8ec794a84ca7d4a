import Metrics
import Tokenize

/// How a model's vocabularies are SentencePiece pieces (Kudo & Richardson, 2018,
/// https://aclanthology.org/D18-2012) over ICU's words: saved in `config.json` as `subword`
/// (absent for word models, so a word model's configuration reads as before).
public struct SubwordSettings: Codable, Equatable, Sendable {
    /// `bpe` or `unigram` for models trained by `train --subword`; `given` for a `.model` file
    /// passed with `--subword-model`.
    public var type: String
    /// The pieces per model, specials and byte pieces included.
    public var vocabularySize: Int
    /// Whether one model segments both sides (source.model and target.model are then the same
    /// bytes).
    public var joint: Bool

    public init(type: String, vocabularySize: Int, joint: Bool) {
        self.type = type
        self.vocabularySize = vocabularySize
        self.joint = joint
    }
}

/// The SentencePiece models of a subword run: source and target (the same object when joint).
public struct SubwordModels: @unchecked Sendable {
    public var source: SubwordModel
    public var target: SubwordModel
    public init(source: SubwordModel, target: SubwordModel) {
        self.source = source
        self.target = target
    }
    /// Whether one model serves both sides.
    public var isJoint: Bool { source === target || source.serialized == target.serialized }
}

/// Where a run's subword models come from.
public enum SubwordPlan {
    /// Trained on the training pairs' words with these options: one model on sources and
    /// targets together (`joint`) or one per side.
    case train(SubwordTrainingOptions, joint: Bool)
    /// Models given (a `.model` file, or the checkpoint of a run resumed or continued).
    case use(SubwordModels)
}

/// Reads a target's piece ids as the units a reward counts, so that a sampled piece sequence is
/// rewarded on its words — the reward equals the sentence-level score `mixer-cli score` gives
/// the sample's words joined by spaces (BLEU with `--tokenize none`: ICU has tokenized;
/// ROUGE with rouge-score's own tokenizer).
///
/// The pieces are merged exactly as ``SubwordModel/words(ids:)`` merges them (SentencePiece's
/// decoding: `▁` a space, runs of byte pieces read as UTF-8 with each byte of an ill-formed
/// sequence becoming U+FFFD; words split at spaces and the ASCII controls), but without
/// building strings. A unit — a whole word (BLEU rewards) or a run of `[a-z0-9]` of the
/// words' Python `lower()` (ROUGE rewards, rouge-score's tokenizer) — is named by a 64-bit
/// polynomial hash of its bytes, h = Σ (b_i + 1)·P^(n−1−i) mod 2^64 (P = 1099511628211),
/// which composes over pieces: h(xy) = h(x)·P^|y| + h(y). So each piece's hash and P^length
/// are precomputed, and a piece that lies inside one unit (most: `▁the`, `ing`) costs one
/// multiply-add; pieces with punctuation inside a word, non-ASCII letters (ROUGE) or byte
/// pieces go byte by byte (scalar by scalar for ROUGE, whose lowercase mapping needs the
/// scalar). The reference's units are interned once per distinct reference (an open-addressing
/// table, ids 0 ..< m) and its `Metrics.ReferenceTable` built then; a hypothesis's units are
/// looked up in that table, those the reference lacks all becoming one id that never matches
/// (an n-gram holding a unit the reference lacks cannot match, so the counts are the same).
/// Consecutive calls with the same reference (SCST's and risk's k samples per source) reuse
/// its table. Two distinct units with the same 64-bit hash would count as equal (probability
/// about m²/2^64 per reference).
///
/// - Complexity: per hypothesis O(pieces) plus O(bytes) of the slow pieces, one table probe
///   per unit, and the reward's own O(|units|·N); per new reference the same plus refilling
///   its table in place (`ReferenceTable.reset(reference:)`: direct-addressed tables built
///   straight from the reference's units). No allocation once the
///   scratch buffers have grown, except ROUGE-L's bit masks and a change of metric
///   (`mixer-bench reward-words` measures both cases).
/// - Note: not thread-safe (scratch buffers); one per trainer.
public final class RewardWords {
    /// What a unit is: a whole word (BLEU) or a rouge-score token (ROUGE).
    public enum Units: Sendable { case words, rougeTokens }

    /// Per piece: its hash and P^length (the bytes after a leading space) for each kind of
    /// unit, and flags.
    struct Piece {
        var wordHash: UInt64 = 0, wordPower: UInt64 = 1, wordLength: Int32 = 0
        var rougeHash: UInt64 = 0, rougePower: UInt64 = 1, rougeLength: Int32 = 0
        var flags: UInt8 = 0
    }
    static let isByte: UInt8 = 1, startsWithSpace: UInt8 = 2, wordFast: UInt8 = 4, rougeFast: UInt8 = 8

    private let pieces: UnsafeMutablePointer<Piece>
    private let pieceCount: Int
    private let pieceStart: [Int]
    private let pieceBytes: [UInt8]
    // The unit being read: its hash and length; the ids written.
    private var h: UInt64 = 0
    private var length = 0
    private var out: UnsafeMutablePointer<UInt64>
    private var outCount = 0, outCapacity = 64
    private var pending: UnsafeMutablePointer<UInt8>
    private var pendingCount = 0, pendingCapacity = 64
    private var hypothesis: UnsafeMutablePointer<Int32>
    private var hypothesisCapacity = 64
    // The reference's intern table: keys (0 = empty) and ids, `mask + 1` slots (raw buffers:
    // no exclusivity or uniqueness check per access).
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<Int32>
    private var mask = 15, tableCapacity = 16
    private var referenceKey: [Int32] = []
    private var referenceExtra: [String] = []
    private var referenceMetric: RewardMetric?
    private var table: ReferenceTable?

    /// The id every hypothesis unit that the reference lacks gets: never matches.
    static let absent = Int32.max
    static let prime: UInt64 = 1_099_511_628_211

    /// Prepares the pieces of `model` (a target model).
    /// - Complexity: O(total bytes of the pieces).
    public init(model: SubwordModel) {
        var start = [0], bytes: [UInt8] = []
        for t in model.pieceText { bytes.append(contentsOf: t); start.append(bytes.count) }
        pieceStart = start
        pieceBytes = bytes
        pieceCount = model.pieceText.count
        pieces = .allocate(capacity: max(1, pieceCount))
        for (i, text) in model.pieceText.enumerated() {
            var p = Piece()
            if model.pieceIsByte[i] { p.flags = Self.isByte; pieces[i] = p; continue }
            let rest = text.first == 0x20 ? text.dropFirst() : text[...]
            if text.first == 0x20 { p.flags |= Self.startsWithSpace }
            if !rest.contains(where: SubwordModel.isSpace) {
                p.flags |= Self.wordFast
                for b in rest { p.wordHash = p.wordHash &* Self.prime &+ UInt64(b) &+ 1; p.wordPower &*= Self.prime }
                p.wordLength = Int32(rest.count)
            }
            if rest.allSatisfy({ b in (b &- 0x30) < 10 || ((b | 0x20) &- 0x61) < 26 }) {
                p.flags |= Self.rougeFast
                for b in rest {
                    let c = (b &- 0x41) < 26 ? b | 0x20 : b
                    p.rougeHash = p.rougeHash &* Self.prime &+ UInt64(c) &+ 1; p.rougePower &*= Self.prime
                }
                p.rougeLength = Int32(rest.count)
            }
            pieces[i] = p
        }
        out = .allocate(capacity: outCapacity)
        keys = .allocate(capacity: tableCapacity)
        values = .allocate(capacity: tableCapacity)
        pending = .allocate(capacity: pendingCapacity)
        hypothesis = .allocate(capacity: hypothesisCapacity)
    }

    deinit {
        pieces.deallocate()
        out.deallocate()
        keys.deallocate()
        values.deallocate()
        pending.deallocate()
        hypothesis.deallocate()
    }

    /// The units rewards with `metric` count.
    public static func units(for metric: RewardMetric) -> Units {
        switch metric {
        case .bleu, .bleuPlusOne: return .words
        case .rougeN, .rougeL: return .rougeTokens
        }
    }

    /// The reward of `output` (piece ids; read up to `</s>`) against `target` (piece ids,
    /// `</s>` last), on 0–1, counted on words (see the type).
    /// - Parameter extra: with copy attention over pieces, the row's copied source pieces
    ///   (`CopySource.oovs`): an id V + k on either side is the piece `extra[k]`, read as
    ///   ``SubwordModel/spelling(ofPiece:)`` spells it and merged with its neighbours as
    ///   ``SubwordModel/words(ids:extra:)`` merges it, so the reward is still that of the text
    ///   `decode` writes.
    public func reward(_ output: UnsafeBufferPointer<Int32>, target: [Int32], metric: RewardMetric,
                       extra: [String] = []) -> Double {
        let kind = Self.units(for: metric)
        if table == nil || referenceMetric != metric || target != referenceKey
            || (!(extra.isEmpty && referenceExtra.isEmpty) && extra != referenceExtra) {
            buildReference(target, metric: metric, kind: kind, extra: extra)
        }
        readUnits(output, kind, extra: extra)
        if hypothesisCapacity < outCount {
            hypothesis.deallocate()
            hypothesisCapacity = 2 * outCount
            hypothesis = .allocate(capacity: hypothesisCapacity)
        }
        let k = keys, v = values, mask = self.mask, out = self.out, hypothesis = self.hypothesis
        for j in 0..<outCount {
            let u = out[j]
            var i = Int(truncatingIfNeeded: u) & mask
            while true {
                let key = k[i]
                if key == u { hypothesis[j] = v[i]; break }
                if key == 0 { hypothesis[j] = Self.absent; break }
                i = (i + 1) & mask
            }
        }
        return table.unsafelyUnwrapped.reward(UnsafeBufferPointer(start: hypothesis, count: outCount))
    }

    /// The reward of `output` against `target` (see ``reward(_:target:metric:)``).
    public func reward(_ output: [Int32], target: [Int32], metric: RewardMetric, extra: [String] = []) -> Double {
        output.withUnsafeBufferPointer { reward($0, target: target, metric: metric, extra: extra) }
    }

    /// The unit hashes of `ids` (as `reward` reads them), for tests.
    func unitHashes(_ ids: [Int32], _ kind: Units, extra: [String] = []) -> [UInt64] {
        ids.withUnsafeBufferPointer { readUnits($0, kind, extra: extra) }
        return Array(UnsafeBufferPointer(start: out, count: outCount))
    }

    private func buildReference(_ target: [Int32], metric: RewardMetric, kind: Units, extra: [String]) {
        target.withUnsafeBufferPointer { readUnits($0, kind, extra: extra) }
        var size = 16
        while size < 2 * outCount + 2 { size *= 2 }
        if size > tableCapacity {
            keys.deallocate(); values.deallocate()
            tableCapacity = size
            keys = .allocate(capacity: size); values = .allocate(capacity: size)
        }
        keys.update(repeating: 0, count: size)
        mask = size - 1
        if hypothesisCapacity < outCount {
            hypothesis.deallocate()
            hypothesisCapacity = 2 * outCount
            hypothesis = .allocate(capacity: hypothesisCapacity)
        }
        let k = keys, v = values, mask = self.mask, out = self.out, hypothesis = self.hypothesis
        var next: Int32 = 0
        for j in 0..<outCount {
            let u = out[j]
            var i = Int(truncatingIfNeeded: u) & mask
            while k[i] != 0 && k[i] != u { i = (i + 1) & mask }
            if k[i] == 0 { k[i] = u; v[i] = next; next += 1 }
            hypothesis[j] = v[i]
        }
        let ids = UnsafeBufferPointer(start: hypothesis, count: outCount)
        // One table per metric, refilled in place for each new reference (no allocation).
        if let table, referenceMetric == metric {
            table.reset(reference: ids)
        } else {
            table = ReferenceTable(references: [Array(ids)], metric: metric, tokens: RewardTokens(unknown: Self.absent))
        }
        referenceKey = target
        referenceExtra = extra
        referenceMetric = metric
    }

    /// Writes the hash of each unit of the piece ids (up to `</s>`) to `out[0..<outCount]`;
    /// an id V + k is the copied piece `extra[k]` (read byte by byte), one past them nothing.
    private func readUnits(_ ids: UnsafeBufferPointer<Int32>, _ kind: Units, extra: [String]) {
        outCount = 0
        pendingCount = 0
        h = 0
        length = 0
        let fast = kind == .words ? Self.wordFast : Self.rougeFast
        for id in ids {
            if id == Vocabulary.eos { break }
            let i = Int(id)
            guard i >= 0 && i < pieceCount else {
                if i >= pieceCount && i - pieceCount < extra.count { readCopied(extra[i - pieceCount], kind) }
                continue
            }
            let p = pieces[i]
            if p.flags & Self.isByte != 0 {
                if pendingCount == pendingCapacity { growPending() }
                pending[pendingCount] = pieceBytes[pieceStart[i]]
                pendingCount += 1
                continue
            }
            if pendingCount > 0 { flushBytes(kind) }
            if p.flags & fast != 0 {
                if p.flags & Self.startsWithSpace != 0 { endUnit() }
                if kind == .words {
                    if p.wordLength > 0 { h = h &* p.wordPower &+ p.wordHash; length += Int(p.wordLength) }
                } else if p.rougeLength > 0 {
                    h = h &* p.rougePower &+ p.rougeHash; length += Int(p.rougeLength)
                }
            } else {
                pieceBytes.withUnsafeBufferPointer { b in
                    feed(UnsafeBufferPointer(rebasing: b[pieceStart[i]..<pieceStart[i + 1]]), kind)
                }
            }
        }
        if pendingCount > 0 { flushBytes(kind) }
        endUnit()
    }

    /// A copied source piece that the target model lacks (copy attention over pieces): a byte
    /// piece joins the pending run of bytes, any other piece is read byte by byte.
    /// - Complexity: O(bytes of the piece); allocates its spelling (copied pieces are rare).
    @inline(never) private func readCopied(_ piece: String, _ kind: Units) {
        let (bytes, isByte) = SubwordModel.spelling(ofPiece: piece)
        if isByte {
            if pendingCount == pendingCapacity { growPending() }
            pending[pendingCount] = bytes[0]
            pendingCount += 1
            return
        }
        if pendingCount > 0 { flushBytes(kind) }
        bytes.withUnsafeBufferPointer { feed($0, kind) }
    }

    private func growPending() {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * pendingCapacity)
        bigger.update(from: pending, count: pendingCount)
        pending.deallocate()
        pending = bigger
        pendingCapacity *= 2
    }

    /// Adds one byte to the unit (a character of a word, or of a rouge token).
    @inline(__always) private func add(_ c: UInt8) { h = h &* Self.prime &+ UInt64(c) &+ 1; length += 1 }

    /// Ends the unit being read, if any: its hash (mixed with its length, never 0) goes out.
    @inline(__always) private func endUnit() {
        guard length > 0 else { return }
        var z = h ^ UInt64(length) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        if outCount == outCapacity {
            let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * outCapacity)
            bigger.update(from: out, count: outCount)
            out.deallocate()
            out = bigger
            outCapacity *= 2
        }
        out[outCount] = z == 0 ? 1 : z
        outCount += 1
        h = 0
        length = 0
    }

    /// Well-formed UTF-8 `bytes` (a piece's text, or a repaired run of byte pieces), byte by
    /// byte (words) or scalar by scalar (rouge-score: Python's `lower()`, then runs of
    /// `[a-z0-9]`; a non-ASCII scalar adds the ASCII letters and digits of its full lowercase
    /// mapping, `İ` → `i`, the Kelvin sign → `k`).
    private func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ kind: Units) {
        if kind == .words {
            for b in bytes { if SubwordModel.isSpace(b) { endUnit() } else { add(b) } }
            return
        }
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                let c = (b &- 0x41) < 26 ? b | 0x20 : b
                if (c &- 0x61) < 26 || (c &- 0x30) < 10 { add(c) } else { endUnit() }
                i += 1
                continue
            }
            let k = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            var v = UInt32(b) & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07)
            for j in 1..<k where i + j < n { v = v << 6 | UInt32(bytes[i + j] & 0x3F) }
            i += k
            guard let scalar = Unicode.Scalar(v) else { endUnit(); continue }
            for c in scalar.properties.lowercaseMapping.utf8 {
                if (c &- 0x61) < 26 || (c &- 0x30) < 10 { add(c) } else { endUnit() }
            }
        }
    }

    /// The run of byte pieces in `pending` as SentencePiece decodes it: each well-formed UTF-8
    /// sequence (RFC 3629: no overlong forms, surrogates or scalars above U+10FFFF) as its
    /// bytes, each other byte as U+FFFD.
    private func flushBytes(_ kind: Units) {
        let run = UnsafeBufferPointer(start: pending, count: pendingCount)
        pendingCount = 0
        var i = 0
        while i < run.count {
            let k = SubwordModel.wellFormedUTF8Length(run, i)
            if k == 0 {
                // U+FFFD: three bytes of a word; a separator for rouge-score (not [a-z0-9]).
                if kind == .words { add(0xEF); add(0xBF); add(0xBD) } else { endUnit() }
                i += 1
            } else {
                feed(UnsafeBufferPointer(rebasing: run[i..<(i + k)]), kind)
                i += k
            }
        }
    }
}
