// Maps tokens (UTF-8 byte strings) to dense 32-bit ids, comparing bytes, never `String`s:
// Python compares strings by code points, so "café" in NFC and in NFD are different tokens.

/// A per-call interning table from token bytes to ids 0, 1, 2, … in first-seen order.
///
/// - Complexity: `intern` and `find` are O(token length) expected.
final class ByteInterner {
    private var arena: [UInt8] = []
    private var starts: [Int32] = []        // per id: offset in arena
    private var lengths: [Int32] = []
    private var table: [Int32]              // slot → id + 1 (0 = empty)
    private var hashes: [UInt32] = []
    private var mask: Int

    init() {
        table = [Int32](repeating: 0, count: 256)
        mask = 255
        arena.reserveCapacity(4096)
    }

    /// The number of distinct tokens interned since the last reset.
    var count: Int { starts.count }

    /// Forgets every token (keeps the memory).
    func reset() {
        if starts.count * 8 < table.count {
            for h in hashes {
                var s = Int(h) & mask
                while table[s] != 0 { table[s] = 0; s = (s + 1) & mask }
            }
        } else {
            for i in table.indices { table[i] = 0 }
        }
        arena.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
    }

    @inline(__always) private static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(p.count)
        var i = 0
        let n = p.count
        if let base = p.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01B3
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n { tail |= UInt64(base[i]) << shift; shift += 8; i += 1 }
            h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
        }
        return UInt32(truncatingIfNeeded: h >> 32)
    }

    @inline(__always) private func equal(_ id: Int, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let len = Int(lengths[id])
        guard len == p.count else { return false }
        let start = Int(starts[id])
        return arena.withUnsafeBufferPointer { a in
            guard let ab = a.baseAddress, let pb = p.baseAddress else { return len == 0 }
            return memcmp(ab + start, pb, len) == 0
        }
    }

    /// The id of `token`, adding it when new.
    func intern(_ token: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let h = Self.hash(token)
        var s = Int(h) & mask
        while true {
            let e = table[s]
            if e == 0 { break }
            if hashes[Int(e) - 1] == h && equal(Int(e) - 1, token) { return UInt32(e - 1) }
            s = (s + 1) & mask
        }
        let id = starts.count
        starts.append(Int32(arena.count))
        lengths.append(Int32(token.count))
        hashes.append(h)
        arena.append(contentsOf: token)
        table[s] = Int32(id + 1)
        if starts.count * 2 > table.count { grow() }
        return UInt32(id)
    }

    /// The id of `token`, or `UInt32.max` when it was never interned.
    func find(_ token: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let h = Self.hash(token)
        var s = Int(h) & mask
        while true {
            let e = table[s]
            if e == 0 { return .max }
            if hashes[Int(e) - 1] == h && equal(Int(e) - 1, token) { return UInt32(e - 1) }
            s = (s + 1) & mask
        }
    }

    private func grow() {
        table = [Int32](repeating: 0, count: table.count * 2)
        mask = table.count - 1
        for (id, h) in hashes.enumerated() {
            var s = Int(h) & mask
            while table[s] != 0 { s = (s + 1) & mask }
            table[s] = Int32(id + 1)
        }
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
