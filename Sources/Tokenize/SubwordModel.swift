// Subword units with SentencePiece (Kudo & Richardson, 2018, https://aclanthology.org/D18-2012)
// on top of ICU's words: the real library (Debian's libsentencepiece, through the C shim
// CSentencePiece), its ordinary `.model` files, BPE (Sennrich et al., 2016) or unigram (Kudo,
// 2018) pieces.
import CSentencePiece
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A SentencePiece error: a model that does not load, a failed training.
public struct SubwordError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// SentencePiece's segmentation algorithms.
public enum SubwordType: String, CaseIterable, Sendable, Codable {
    /// Byte-pair encoding (Sennrich, Haddow & Birch, ACL 2016): merges of the most frequent pairs.
    case bpe
    /// The unigram language model (Kudo, ACL 2018): pieces pruned by their loss in likelihood.
    case unigram
}

/// How ``SubwordModel/train(sentences:options:)`` trains a model.
public struct SubwordTrainingOptions: Sendable, Equatable {
    public var type: SubwordType
    /// The number of pieces, the four specials and the 256 byte pieces included.
    public var vocabularySize: Int
    /// Training reads at most this many sentences (SentencePiece's `input_sentence_size`: a
    /// reservoir sample when there are more, the same on every run).
    public var maxSentences: Int
    /// Threads of the trainer.
    public var threads: Int

    public init(type: SubwordType = .unigram, vocabularySize: Int = 8000, maxSentences: Int = 1_000_000, threads: Int = 1) {
        self.type = type; self.vocabularySize = vocabularySize; self.maxSentences = maxSentences; self.threads = threads
    }

    /// spm_train's flags for these options. Decisions (one normalization governs, ids as
    /// mixer's): the input is ICU's words joined by single spaces, already normalized by
    /// ``Normalizer``, so SentencePiece's own normalization is off (`identity`, whitespace kept
    /// as given); the specials get mixer's ids (`<pad>` 0, `<unk>` 1, `<s>` 2, `</s>` 3), so a
    /// piece's SentencePiece id is its id in the model's ``Vocabulary``; every character is
    /// covered and a character outside the pieces falls back to its UTF-8 bytes (`<0xE3>`), so
    /// no text ever becomes `<unk>`; digits and scripts split as SentencePiece does by default.
    public var arguments: String {
        [
            "--model_type=\(type.rawValue)", "--vocab_size=\(vocabularySize)",
            "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
            "--pad_id=0", "--unk_id=1", "--bos_id=2", "--eos_id=3",
            "--pad_piece=<pad>", "--unk_piece=<unk>", "--bos_piece=<s>", "--eos_piece=</s>",
            "--byte_fallback=true", "--character_coverage=1.0",
            "--input_sentence_size=\(maxSentences)", "--shuffle_input_sentence=true",
            "--num_threads=\(max(1, threads))", "--minloglevel=2",
        ].joined(separator: " ")
    }
}

/// A loaded SentencePiece model.
///
/// Text in, pieces out: ``pieces(words:)`` encodes a line of words (ICU's tokens, joined by
/// spaces) into pieces, each word's first piece marked by U+2581 `▁` as SentencePiece writes it;
/// ``words(pieces:)`` joins pieces back into the exact words (byte pieces become their bytes).
/// ``vocabulary`` lists the pieces in mixer's id order (the four specials first), so the rest of
/// mixer (model, checkpoints, decoding) handles pieces as it handles words.
///
/// A model trained by mixer is an ordinary `.model` file: SentencePiece's Python, C++ and Rust
/// bindings load it and give the same pieces and ids for the same text (tested with golden
/// outputs of Python's `sentencepiece`). A model trained elsewhere loads too; its pieces are then
/// renumbered in ``vocabulary`` (specials first) and mapped on the way in and out.
public final class SubwordModel: @unchecked Sendable {
    private let handle: OpaquePointer
    /// The `.model` file's bytes (a serialized ModelProto).
    public let serialized: [UInt8]
    /// The pieces in mixer's id order: `<pad>`, `<unk>`, `<s>`, `</s>`, then the model's other
    /// pieces in the model's order.
    public let vocabulary: Vocabulary
    /// SentencePiece id of each vocabulary id, and the reverse (identity for mixer's models).
    private let toModel: [Int32], fromModel: [Int32]
    /// Whether each word is segmented on its own (the model splits at whitespace, its `▁` is a
    /// prefix, and it is not a unigram model): then a line's pieces are its words' pieces one
    /// after the other, and `wordCache` keeps each word's, so a word is segmented once
    /// (SentencePiece's own cost is then paid once per word type, not per occurrence: the same
    /// pieces, tested against whole lines). Unigram models are encoded line by line: where two
    /// segmentations of a word score the same, the library's Viterbi search breaks the tie by
    /// the word's position in the line (the same word can come out I+II and II+I in one line).
    private let wordsAreIndependent: Bool
    private var wordCache: [String: [Int32]] = [:]
    private let cacheLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    private static let cacheLimit = 1 << 18

    /// Loads a model from its serialized bytes.
    /// - Throws: ``SubwordError`` when the bytes are not a SentencePiece model.
    public init(serialized bytes: [UInt8]) throws {
        var error: UnsafeMutablePointer<CChar>? = nil
        let h = bytes.withUnsafeBufferPointer { b in
            b.baseAddress.map { $0.withMemoryRebound(to: CChar.self, capacity: b.count) { csp_load($0, b.count, &error) } } ?? nil
        }
        guard let h else {
            let message = error.map { String(cString: $0) } ?? "empty model"
            csp_free_string(error)
            throw SubwordError("not a SentencePiece model (\(message))")
        }
        handle = h
        serialized = bytes
        let n = Int(csp_piece_count(h))
        var pieces: [String] = []
        pieces.reserveCapacity(n)
        for id in 0..<n {
            var len = 0
            let p = csp_id_to_piece(h, Int32(id), &len)!
            pieces.append(String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self))
        }
        // Mixer's specials first (by their strings, or the model's unknown/control pieces).
        var special = [Int32](repeating: -1, count: 4)
        for (k, s) in Vocabulary.specials.enumerated() {
            if let i = pieces.firstIndex(of: s) { special[k] = Int32(i) }
        }
        if special[1] < 0, let u = (0..<n).first(where: { csp_is_unknown(h, Int32($0)) != 0 }) { special[1] = Int32(u) }
        var toModel = special
        var taken = Set(special.filter { $0 >= 0 })
        for id in 0..<n where !taken.contains(Int32(id)) {
            toModel.append(Int32(id)); taken.insert(Int32(id))
        }
        var fromModel = [Int32](repeating: Vocabulary.unk, count: n)
        for (mixerID, modelID) in toModel.enumerated() where modelID >= 0 { fromModel[Int(modelID)] = Int32(mixerID) }
        self.toModel = toModel
        self.fromModel = fromModel
        let spec = SubwordModel.trainerSpecFlags(bytes)
        wordsAreIndependent = spec.splitByWhitespace && !spec.whitespaceAsSuffix && spec.modelType != 1
        var tokens = Vocabulary.specials
        for modelID in toModel.dropFirst(4) { tokens.append(pieces[Int(modelID)]) }
        vocabulary = Vocabulary(unchecked: tokens, counts: [Int](repeating: 0, count: tokens.count))
        // What each id spells in decoded text (see `pieceText`).
        var text: [[UInt8]] = [], isByte: [Bool] = []
        for (mixerID, modelID) in toModel.enumerated() {
            guard mixerID > Int(Vocabulary.eos), modelID >= 0,
                  csp_is_control(h, modelID) == 0, csp_is_unknown(h, modelID) == 0 else {
                text.append([]); isByte.append(false); continue
            }
            let piece = pieces[Int(modelID)]
            if csp_is_byte(h, modelID) != 0, let b = UInt8(piece.dropFirst(3).dropLast(), radix: 16) {
                text.append([b]); isByte.append(true); continue
            }
            var bytes: [UInt8] = []
            for scalar in piece.unicodeScalars {
                if scalar == "\u{2581}" { bytes.append(0x20) } else { bytes.append(contentsOf: String(scalar).utf8) }
            }
            text.append(bytes); isByte.append(false)
        }
        pieceText = text
        pieceIsByte = isByte
    }

    /// What each vocabulary id spells in decoded text, before the text is split into words:
    /// U+2581 `▁` as a space (0x20), a byte piece (`<0xE3>`) as its one byte, the specials and
    /// the unknown piece nothing. Indexed by vocabulary id.
    public let pieceText: [[UInt8]]
    /// Whether each vocabulary id is a byte piece: consecutive byte pieces are read as UTF-8
    /// together, each byte of an ill-formed sequence becoming U+FFFD (SentencePiece's decoding).
    public let pieceIsByte: [Bool]

    deinit {
        csp_free(handle)
        pthread_mutex_destroy(cacheLock)
        cacheLock.deallocate()
    }

    /// TrainerSpec's `model_type` (field 3: 1 unigram, the default, 2 BPE, 3 word, 4 char),
    /// `split_by_whitespace` (field 22, default true) and `treat_whitespace_as_suffix` (field 24,
    /// default false), read from the serialized ModelProto (its field 2) by a minimal protobuf
    /// scan; the defaults when absent or unreadable.
    static func trainerSpecFlags(_ bytes: [UInt8]) -> (modelType: UInt64, splitByWhitespace: Bool, whitespaceAsSuffix: Bool) {
        var split = true, suffix = false, type: UInt64 = 1
        func varint(_ b: [UInt8], _ i: inout Int) -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < b.count && shift < 64 {
                let x = b[i]; i += 1
                v |= UInt64(x & 0x7F) << shift
                if x & 0x80 == 0 { return v }
                shift += 7
            }
            return nil
        }
        /// Calls `field(number, wireType, start, end)` for each field of b[lo..<hi]; false when malformed.
        func scan(_ b: [UInt8], _ lo: Int, _ hi: Int, _ field: (UInt64, UInt64, Int, Int) -> Void) -> Bool {
            var i = lo
            while i < hi {
                guard let key = varint(b, &i) else { return false }
                let start = i
                switch key & 7 {
                case 0: guard varint(b, &i) != nil else { return false }
                case 1: i += 8
                case 2:
                    guard let n = varint(b, &i), n <= UInt64(hi - i) else { return false }
                    field(key >> 3, 2, i, i + Int(n))
                    i += Int(n)
                    continue
                case 5: i += 4
                default: return false
                }
                guard i <= hi else { return false }
                field(key >> 3, key & 7, start, i)
            }
            return true
        }
        _ = scan(bytes, 0, bytes.count) { number, wire, lo, hi in
            guard number == 2 && wire == 2 else { return }
            _ = scan(bytes, lo, hi) { n, w, a, _ in
                guard w == 0 && (n == 3 || n == 22 || n == 24) else { return }
                var j = a
                let v = varint(bytes, &j) ?? 0
                if n == 3 { type = v } else if n == 22 { split = v != 0 } else { suffix = v != 0 }
            }
        }
        return (type, split, suffix)
    }

    /// Loads a `.model` file (at most 1 GiB, a regular file).
    /// - Throws: ``InputError`` naming the file when it cannot be read, is not a regular file or
    ///   is not a SentencePiece model.
    public convenience init(contentsOfFile path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw InputError(file: path, String(cString: strerror(errno))) }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw InputError(file: path, "not a regular file (a SentencePiece .model file is expected)")
        }
        let size = Int(st.st_size)
        guard size > 0 else { throw InputError(file: path, "empty file (a SentencePiece .model file is expected)") }
        guard size <= 1 << 30 else { throw InputError(file: path, "\(size) bytes is too large for a SentencePiece model") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw InputError(file: path, n == 0 ? "file shrank while being read" : String(cString: strerror(errno))) }
            done += n
        }
        do { try self.init(serialized: bytes) } catch let e as SubwordError { throw InputError(file: path, e.description) }
    }

    /// Whether the model numbers its pieces as mixer does (the specials at 0–3), as every model
    /// mixer trains does; otherwise ids are mapped in and out.
    public var hasMixerIDs: Bool { toModel.enumerated().allSatisfy { Int32($0.offset) == $0.element } }

    /// Trains a model on `sentences` (each a line of words joined by single spaces, as
    /// ``WordTokenizer`` writes them) with SentencePiece's trainer.
    /// - Throws: ``SubwordError`` when SentencePiece refuses (e.g. a vocabulary size larger than
    ///   the text allows: its message says the largest).
    /// - Complexity: SentencePiece's: about O(N log N) in the characters for BPE.
    public static func train(sentences: some Sequence<String>, options: SubwordTrainingOptions) throws -> SubwordModel {
        let feed = SentenceFeed(AnyIterator(sentences.makeIterator()))
        var size = 0
        var error: UnsafeMutablePointer<CChar>? = nil
        let context = Unmanaged.passUnretained(feed).toOpaque()
        let proto = options.arguments.withCString { args in
            csp_train(args, { ctx, line, len in
                let feed = Unmanaged<SentenceFeed>.fromOpaque(ctx!).takeUnretainedValue()
                guard let next = feed.iterator.next() else { return 0 }
                feed.current = Array(next.utf8)
                feed.current.withUnsafeBufferPointer { b in
                    line!.pointee = b.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                        ?? UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
                }
                len!.pointee = feed.current.count
                return 1
            }, context, &size, &error)
        }
        withExtendedLifetime(feed) {}
        guard let proto else {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            csp_free_string(error)
            throw SubwordError("SentencePiece training failed: \(message)")
        }
        let bytes = Array(UnsafeRawBufferPointer(start: proto, count: size).bindMemory(to: UInt8.self))
        csp_free_string(proto)
        return try SubwordModel(serialized: bytes)
    }

    /// The model's ids (SentencePiece's numbering) of a line of words joined by spaces.
    func modelIDs(_ text: String) -> [Int32] {
        var t = text
        return t.withUTF8 { b -> [Int32] in
            var out = [Int32](repeating: 0, count: max(16, 2 * b.count + 2))
            var error: UnsafeMutablePointer<CChar>? = nil
            let base = b.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                ?? UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
            var n = out.withUnsafeMutableBufferPointer { csp_encode(handle, base, b.count, $0.baseAddress, $0.count, &error) }
            if n > out.count {
                out = [Int32](repeating: 0, count: n)
                n = out.withUnsafeMutableBufferPointer { csp_encode(handle, base, b.count, $0.baseAddress, $0.count, &error) }
            }
            // Encoding well-formed UTF-8 with identity normalization does not fail; if the
            // library ever says otherwise, the line has no pieces rather than a crash.
            if n < 0 { csp_free_string(error); return [] }
            return Array(out.prefix(n))
        }
    }

    /// The pieces of a line of words (each word's first piece starts with `▁`).
    /// - Complexity: SentencePiece's encoding, O(n log n) in the characters (BPE) or O(n·k) (unigram).
    public func pieces(words: [String]) -> [String] {
        ids(words: words).map { vocabulary.token($0) }
    }

    /// The vocabulary ids of a line of words.
    /// - Complexity: one hash lookup per word once its pieces are known (see `wordsAreIndependent`).
    public func ids(words: [String]) -> [Int32] {
        if words.isEmpty { return [] }
        guard wordsAreIndependent else { return modelIDs(words.joined(separator: " ")).map { fromModel[Int($0)] } }
        var out: [Int32] = []
        out.reserveCapacity(2 * words.count)
        pthread_mutex_lock(cacheLock)
        defer { pthread_mutex_unlock(cacheLock) }
        for w in words {
            if let known = wordCache[w] { out.append(contentsOf: known); continue }
            let ids = modelIDs(w).map { fromModel[Int($0)] }
            if wordCache.count >= Self.cacheLimit { wordCache.removeAll(keepingCapacity: true) }
            wordCache[w] = ids
            out.append(contentsOf: ids)
        }
        return out
    }

    /// The ids of the whole line encoded at once (no word cache): what ``ids(words:)`` must equal.
    func idsOfWholeLine(_ words: [String]) -> [Int32] {
        words.isEmpty ? [] : modelIDs(words.joined(separator: " ")).map { fromModel[Int($0)] }
    }

    /// The words that pieces spell (byte pieces decoded; specials and unknown pieces dropped;
    /// words split at spaces and the ASCII controls U+0000–U+001F, U+007F).
    /// The inverse of ``pieces(words:)``: `words(pieces: pieces(words: w)) == w` for words without
    /// spaces.
    public func words(pieces: [String]) -> [String] {
        words(ids: pieces.map { vocabulary.id($0) })
    }

    /// The words that vocabulary ids spell (see ``words(pieces:)``).
    public func words(ids: [Int32]) -> [String] {
        var model: [Int32] = []
        model.reserveCapacity(ids.count)
        for id in ids where id > Vocabulary.eos && Int(id) < toModel.count { model.append(toModel[Int(id)]) }
        if model.isEmpty { return [] }
        var len = 0
        var error: UnsafeMutablePointer<CChar>? = nil
        guard let text = model.withUnsafeBufferPointer({ csp_decode(handle, $0.baseAddress, $0.count, &len, &error) }) else {
            csp_free_string(error)
            return []
        }
        defer { csp_free_string(text) }
        // Words are separated by spaces; a sampled byte piece may spell another ASCII control
        // (tab, newline, NUL, …), which separates words too, so that an output stays one line
        // of text.
        return UnsafeRawBufferPointer(start: text, count: len).split(whereSeparator: Self.isSpace)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// The words that vocabulary ids spell when some ids lie past the vocabulary: copy attention
    /// over pieces (`Seq2Seq.CopySource`) gives a source piece that the target model lacks the
    /// extended id V + k, and it spells `extra[k]`, a piece as its own model writes it
    /// (``spelling(ofPiece:)``). The pieces are then merged into words as SentencePiece merges
    /// them (see ``words(ids:)``: `▁` a space, runs of byte pieces read as UTF-8 with each byte
    /// of an ill-formed sequence becoming U+FFFD, specials and the unknown piece nothing);
    /// an id past V + extra.count spells nothing. Without such an id this is ``words(ids:)``.
    /// - Complexity: O(bytes of the pieces).
    public func words(ids: [Int32], extra: [String]) -> [String] {
        let V = pieceText.count
        guard ids.contains(where: { Int($0) >= V }) else { return words(ids: ids) }
        return spelledWords(ids: ids, extra: extra)
    }

    /// ``words(ids:extra:)`` read from ``pieceText`` in Swift, without SentencePiece's decoder
    /// (tests check that it equals ``words(ids:)`` where both apply).
    func spelledWords(ids: [Int32], extra: [String]) -> [String] {
        var text: [UInt8] = [], pending: [UInt8] = []
        func flush() {
            var i = 0
            pending.withUnsafeBufferPointer { run in
                while i < run.count {
                    let k = Self.wellFormedUTF8Length(run, i)
                    if k == 0 { text.append(contentsOf: [0xEF, 0xBF, 0xBD]); i += 1 } else { text.append(contentsOf: run[i..<(i + k)]); i += k }
                }
            }
            pending.removeAll(keepingCapacity: true)
        }
        let V = pieceText.count
        for id in ids where id > Vocabulary.eos {
            let i = Int(id)
            if i < V {
                if pieceIsByte[i] { pending.append(contentsOf: pieceText[i]); continue }
                flush()
                text.append(contentsOf: pieceText[i])
            } else if i - V < extra.count {
                let (bytes, isByte) = Self.spelling(ofPiece: extra[i - V])
                if isByte { pending.append(contentsOf: bytes); continue }
                flush()
                text.append(contentsOf: bytes)
            }
        }
        flush()
        return text.split(whereSeparator: Self.isSpace).map { String(decoding: $0, as: UTF8.self) }
    }

    /// What a piece string spells in decoded text when no model is at hand to ask (a copied
    /// source piece): `<0xHH>` is a byte piece (its one byte), any other piece its UTF-8 with
    /// U+2581 `▁` as a space — what ``pieceText`` holds for a model's own pieces.
    public static func spelling(ofPiece piece: String) -> (bytes: [UInt8], isByte: Bool) {
        let u = Array(piece.utf8)
        if u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E,
           let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
            return ([b], true)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(u.count)
        for scalar in piece.unicodeScalars {
            if scalar == "\u{2581}" { bytes.append(0x20) } else { bytes.append(contentsOf: String(scalar).utf8) }
        }
        return (bytes, false)
    }

    /// The length of the well-formed UTF-8 sequence at `b[i]` (RFC 3629: no overlong forms,
    /// surrogates or scalars above U+10FFFF), or 0 (SentencePiece's `DecodeUTF8`). Inlinable: the
    /// subword reward (`RewardWords`) calls it per byte run.
    @inlinable
    public static func wellFormedUTF8Length(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let n = b.count - i
        let c0 = UInt32(b[i])
        if c0 < 0x80 { return 1 }
        func trail(_ k: Int) -> Bool { b[i + k] & 0xC0 == 0x80 }
        func valid(_ c: UInt32) -> Bool { c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF) }
        if n >= 2 && c0 & 0xE0 == 0xC0 && trail(1) {
            let c = (c0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
            return c >= 0x80 && valid(c) ? 2 : 0
        }
        if n >= 3 && c0 & 0xF0 == 0xE0 && trail(1) && trail(2) {
            let c = (c0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
            return c >= 0x800 && valid(c) ? 3 : 0
        }
        if n >= 4 && c0 & 0xF8 == 0xF0 && trail(1) && trail(2) && trail(3) {
            let c = (c0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F)
            return c >= 0x10000 && valid(c) ? 4 : 0
        }
        return 0
    }

    /// Whether a byte separates words in decoded text: the space and the ASCII controls
    /// U+0000–U+001F and U+007F (none is part of a word in text a model writes).
    @inline(__always)
    public static func isSpace(_ b: UInt8) -> Bool { b <= 0x20 || b == 0x7F }
}

/// The sentences of a training run, handed to SentencePiece's trainer one at a time (the bytes
/// of the current one stay alive until the next call).
private final class SentenceFeed {
    var iterator: AnyIterator<String>
    var current: [UInt8] = []
    init(_ i: AnyIterator<String>) { iterator = i }
}
