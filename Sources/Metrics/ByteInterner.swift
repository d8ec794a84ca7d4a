// Maps tokens (UTF-8 byte strings) to dense 32-bit ids, comparing bytes, never `String`s:
// Python compares strings by code points, so "café" in NFC and in NFD are different tokens.

/// A per-call interning table from token bytes to ids 0, 1, 2, … in first-seen order.
///
/// Storage is raw and reused across `reset()`s (one byte arena, per-id offset/length/hash, and an
/// open-addressing table), so interning allocates nothing once the buffers have grown. Each
/// table slot holds the token's first 8 bytes, a tag (24 hash bits and the length) and the id,
/// so a lookup of a token of at most 8 bytes reads one slot and nothing else (one cache line
/// even when the table is large, as ROUGE's interner that lives across segments).
/// - Complexity: `intern` and `find` are O(token length) expected; `reset` O(ids) or O(table).
final class ByteInterner {
    private struct Slot {
        var word: UInt64        // the first 8 bytes, zero-padded
        var tag: UInt32         // hash & 0xFFFF_FF00 | min(length, 255)
        var id: UInt32          // id + 1 (0 = empty)
    }
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0, arenaCapacity = 4096
    private var starts: UnsafeMutablePointer<Int32>     // per id: offset in arena
    private var lengths: UnsafeMutablePointer<Int32>
    private var hashes: UnsafeMutablePointer<UInt32>
    private var idCount = 0, idCapacity = 128
    private var table: UnsafeMutablePointer<Slot>
    private var mask: Int

    init() {
        mask = 255
        table = .allocate(capacity: mask + 1)
        table.initialize(repeating: Slot(word: 0, tag: 0, id: 0), count: mask + 1)
        arena = .allocate(capacity: arenaCapacity)
        starts = .allocate(capacity: idCapacity)
        lengths = .allocate(capacity: idCapacity)
        hashes = .allocate(capacity: idCapacity)
    }

    deinit {
        table.deallocate(); arena.deallocate(); starts.deallocate(); lengths.deallocate(); hashes.deallocate()
    }

    /// The number of distinct tokens interned since the last reset.
    var count: Int { idCount }

    /// Forgets every token (keeps the memory).
    func reset() {
        if idCount * 4 < mask + 1 {
            for i in 0..<idCount {
                var s = Int(hashes[i]) & mask
                while table[s].id != 0 { table[s].id = 0; s = (s + 1) & mask }
            }
        } else {
            table.update(repeating: Slot(word: 0, tag: 0, id: 0), count: mask + 1)
        }
        arenaCount = 0
        idCount = 0
    }

    /// The bytes of token `id`.
    func bytes(_ id: UInt32) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + Int(starts[Int(id)]), count: Int(lengths[Int(id)]))
    }

    /// The token's hash and its first 8 bytes (little-endian, zero-padded). With
    /// `readableTail`, the caller promises that 8 bytes past the token's end may be read: the
    /// last partial word is then one masked load instead of a byte loop (same value).
    @inline(__always) private static func hashAndWord(_ p: UnsafeBufferPointer<UInt8>,
                                                      readableTail: Bool) -> (UInt32, UInt64) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(p.count)
        var word: UInt64 = 0
        let n = p.count
        guard let base = p.baseAddress else { return (UInt32(truncatingIfNeeded: h >> 32), 0) }
        let raw = UnsafeRawPointer(base)
        var i = 0
        if n >= 8 { word = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) }
        while i + 8 <= n {
            h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* 0x100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        if readableTail {
            let rest = n - i                                   // 0…7
            let mask: UInt64 = rest == 0 ? 0 : (UInt64.max >> UInt64(64 - 8 * rest))
            tail = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) & mask
        } else {
            var shift: UInt64 = 0
            while i < n { tail |= UInt64(base[i]) << shift; shift += 8; i += 1 }
        }
        if n < 8 { word = tail }
        h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
        return (UInt32(truncatingIfNeeded: h >> 32), word)
    }

    @inline(__always) private static func tag(_ h: UInt32, _ count: Int) -> UInt32 {
        h & 0xFFFF_FF00 | UInt32(min(count, 255))
    }

    /// Whether token `id` equals `p` (same first 8 bytes and tag already checked).
    @inline(__always) private func equalLong(_ id: Int, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        if p.count <= 8 { return true }        // the tag holds the length, the word the bytes
        guard Int(lengths[id]) == p.count, let pb = p.baseAddress else { return false }
        return memcmp(arena + Int(starts[id]), pb, p.count) == 0
    }

    /// The id of `token`, adding it when new. `readableTail`: 8 bytes past the token's end
    /// may be read (see `hashAndWord`).
    @inline(__always)
    func intern(_ token: UnsafeBufferPointer<UInt8>, readableTail: Bool = false) -> UInt32 {
        let (h, w) = Self.hashAndWord(token, readableTail: readableTail)
        let tag = Self.tag(h, token.count)
        var s = Int(h) & mask
        while true {
            let e = table[s]
            if e.id == 0 { break }
            if e.tag == tag && e.word == w && equalLong(Int(e.id) - 1, token) { return e.id - 1 }
            s = (s + 1) & mask
        }
        return add(token, hash: h, word: w, slot: s)
    }

    private func add(_ token: UnsafeBufferPointer<UInt8>, hash h: UInt32, word w: UInt64, slot s: Int) -> UInt32 {
        let id = idCount
        if id == idCapacity { growIDs() }
        if arenaCount + token.count > arenaCapacity {
            var c = arenaCapacity * 2
            while c < arenaCount + token.count { c *= 2 }
            let a = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            a.update(from: arena, count: arenaCount)
            arena.deallocate(); arena = a; arenaCapacity = c
        }
        if let b = token.baseAddress { (arena + arenaCount).update(from: b, count: token.count) }
        starts[id] = Int32(arenaCount)
        lengths[id] = Int32(token.count)
        hashes[id] = h
        arenaCount += token.count
        idCount += 1
        table[s] = Slot(word: w, tag: Self.tag(h, token.count), id: UInt32(id + 1))
        if idCount * 2 > mask + 1 { grow() }
        return UInt32(id)
    }

    /// The id of `token`, or `UInt32.max` when it was never interned.
    @inline(__always)
    func find(_ token: UnsafeBufferPointer<UInt8>, readableTail: Bool = false) -> UInt32 {
        let (h, w) = Self.hashAndWord(token, readableTail: readableTail)
        let tag = Self.tag(h, token.count)
        var s = Int(h) & mask
        while true {
            let e = table[s]
            if e.id == 0 { return .max }
            if e.tag == tag && e.word == w && equalLong(Int(e.id) - 1, token) { return e.id - 1 }
            s = (s + 1) & mask
        }
    }

    private func growIDs() {
        let c = idCapacity * 2
        func moved<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: c)
            q.moveInitialize(from: p, count: idCount)
            p.deallocate()
            return q
        }
        starts = moved(starts); lengths = moved(lengths); hashes = moved(hashes)
        idCapacity = c
    }

    private func grow() {
        let size = (mask + 1) * 2
        table.deallocate()
        table = .allocate(capacity: size)
        table.initialize(repeating: Slot(word: 0, tag: 0, id: 0), count: size)
        mask = size - 1
        for id in 0..<idCount {
            let tok = bytes(UInt32(id))
            let (h, w) = Self.hashAndWord(tok, readableTail: false)
            var s = Int(h) & mask
            while table[s].id != 0 { s = (s + 1) & mask }
            table[s] = Slot(word: w, tag: Self.tag(h, tok.count), id: UInt32(id + 1))
        }
    }
}
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
