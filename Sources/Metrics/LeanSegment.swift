// The lean path of BLEU and ROUGE for huge segments: n-gram statistics by sorting, with memory
// a few 32-bit words per token, whatever the number of distinct tokens.
//
// The fast path (`ByteInterner` + `NGramIndex`) spends about 50 bytes per distinct token and
// about 30 per distinct reference n-gram of every order: on a line of distinct tokens that is
// 20-60 times the line. A segment whose text is larger than a threshold (1 MiB by default)
// takes this path instead, with identical statistics (tested against the fast path on random
// inputs with the threshold forced low).

/// One segment's tokens (each reference, then the hypothesis: one *side* each), counted by
/// sorting instead of hashing.
///
/// 1. Tokens are packed into one byte arena (a LEB128 length, then the bytes).
/// 2. ``assignIDs()`` replaces each token by a dense id 0 ..< `distinct`, equal across sides
///    iff the bytes are equal (a compact hash table of ids that compares the arena's bytes;
///    sorting the positions by their bytes gives the same partition but costs O(N log N)
///    cache misses). The arena is freed.
/// 3. ``sortPositions(order:)`` sorts each side's positions lexicographically by their next
///    `order` ids (the end of the side sorts first), so that the positions that start any
///    given n-gram (n ≤ order) are contiguous: one sort per side serves every order.
/// 4. Merge walks of two sides' sorted positions give, per distinct n-gram, its count on both
///    sides: BLEU's clipped matches `Σ_g min(c_hyp(g), max_r c_r(g))` (Papineni et al., 2002),
///    ROUGE-N's overlap `Σ_g min(c_hyp(g), c_ref(g))` (Lin, 2004).
///
/// - Complexity: with N tokens in all, O(total bytes) expected for the ids, O(N log N)
///   comparisons of `order` ids to sort the positions, O(N · order) for a merge walk.
///   Memory: the arena (the tokens' bytes plus about one byte each), then one UInt32 per token
///   (its id) and at most 4 bytes a slot × 3 slots per distinct token + 4 per distinct token
///   while the ids are assigned, then two UInt32 per token (ids, positions; the stdlib sort
///   adds at most N/2 more) and one per hypothesis position while counting.
/// - Precondition: the packed tokens of a segment take less than 4 GiB.
/// - Note: not thread-safe; use one per scorer.
final class LeanSegment {
    /// Segments whose text (references plus hypothesis, in bytes) is larger than this take
    /// the lean path in ``BLEUSegmentScorer`` and ``ROUGESegmentScorer``: 1 MiB. Below it the
    /// fast path's memory is at most about 60 MB even for distinct tokens.
    static let defaultThreshold = 1 << 20

    private var arena = PageBuffer<UInt8>()
    /// Tokens per side, in the order the sides were begun.
    private(set) var sideCounts: [Int] = []
    private var sideStarts: [Int] = []
    private var total = 0
    /// Dense token ids (after ``assignIDs()``), all sides one after the other.
    private var ids = PageBuffer<UInt32>()
    /// Per side, its positions (0-based within the side) sorted by ``sortPositions(order:)``.
    private var positions = PageBuffer<UInt32>()
    private var sortedOrder = 0
    /// The number of distinct tokens (after ``assignIDs()``).
    private(set) var distinct = 0

    /// Forgets the segment and gives its memory back (segments here are huge).
    func reset() {
        arena = PageBuffer(); ids = PageBuffer(); positions = PageBuffer(); first = PageBuffer()
        table = nil; tableCapacity = 0; idsAssigned = false
        sideCounts = []; sideStarts = []
        total = 0; distinct = 0; sortedOrder = 0
    }

    /// Starts the next side (a reference, or the hypothesis last).
    func beginSide() {
        sideStarts.append(total)
        sideCounts.append(0)
    }

    /// Appends a token to the current side.
    @inline(__always)
    func append(_ token: UnsafeBufferPointer<UInt8>) {
        precondition(!idsAssigned, "Tokens are packed before assignIDs(); appendLookedUp(_:) after")
        var n = UInt(token.count)
        while n >= 0x80 { arena.append(UInt8(truncatingIfNeeded: n) | 0x80); n >>= 7 }
        arena.append(UInt8(n))
        arena.append(contentsOf: token)
        precondition(arena.count < Int(UInt32.max), "A segment of 4 GiB of tokens or more is not supported")
        sideCounts[sideCounts.count - 1] += 1
        total += 1
    }

    /// Reserves room for the tokens of `bytes` more bytes of text and `tokens` more tokens
    /// (packed, a token of k ≥ 1 bytes takes at most 2k; the reserve costs no memory until used).
    func reserve(bytes: Int, tokens: Int) {
        arena.reserve(arena.count + 2 * bytes + tokens * 2 + 16)
    }

    /// The length and the offset of the bytes of the token at `o`.
    @inline(__always)
    private static func token(_ a: UnsafePointer<UInt8>, _ o: Int) -> (count: Int, start: Int) {
        var n = 0, shift = 0, i = o
        while true {
            let b = a[i]; i += 1
            n |= Int(b & 0x7F) << shift
            if b < 0x80 { return (n, i) }
            shift += 7
        }
    }

    /// Replaces the packed tokens by dense ids (see the type's description).
    ///
    /// One pass over the arena with an open-addressing table of ids (sized for load ≤ 2/3 if
    /// every token were distinct, 4 bytes a slot, zeroed pages untouched until used) and the
    /// offset of each id's first occurrence (4 bytes an id): ids in first-seen order, equal
    /// iff the bytes are. That is at most 10 bytes per token beside the arena on a line of
    /// distinct tokens, against ``ByteInterner``'s 50; a sort of the positions by their bytes
    /// would give the same partition with O(N log N) cache misses where this costs O(N).
    ///
    /// The arena and the table stay until ``finishIDs()``: a last side (the hypothesis) may
    /// then be added with ``appendLookedUp(_:)``, which stores no bytes.
    /// - Parameter extraTokens: how many tokens the looked-up side may have (room reserved).
    /// - Complexity: O(total bytes) expected.
    func assignIDs(extraTokens: Int = 0) {
        let n = total
        ids = PageBuffer(capacity: n + extraTokens)
        ids.appendZeros(n)
        // Sized for every token distinct (no rehash, no transient copy): the pages of slots
        // never written are never touched (a fresh mapping reads zeros), so repeated text
        // costs little.
        first = PageBuffer(capacity: n)
        tableCapacity = 1024
        while tableCapacity * 2 < n * 3 { tableCapacity *= 2 }
        table = PageBuffer(capacity: tableCapacity)
        arena.withUnsafeBufferPointer { ab in
            guard let a = ab.baseAddress else { return }
            ids.withUnsafeMutableBufferPointer { idp in
                var o = 0
                for k in 0..<n {
                    let t = Self.token(a, o)
                    idp[k] = lookUp(a, t.start, t.count, insert: o)
                    o = t.start + t.count
                }
            }
        }
        distinct = first.count
        idsAssigned = true
    }

    private var first = PageBuffer<UInt32>()     // per id: arena offset of its first occurrence
    private var table: PageBuffer<UInt32>?       // id + 1 per slot (0: empty), `tableCapacity` slots
    private var tableCapacity = 0
    private var idsAssigned = false
    /// The id of hypothesis tokens absent from every other side (they match nothing).
    static let absent = UInt32.max - 1

    /// The id of the token at `a + start` (`count` bytes). When new: inserted when `insert`
    /// gives its packed offset in the arena (then `a` is the arena), else ``absent``.
    @inline(__always)
    private func lookUp(_ a: UnsafePointer<UInt8>, _ start: Int, _ count: Int, insert: Int?) -> UInt32 {
        guard let table = table?.base, !first.isEmpty || insert != nil else { return Self.absent }
        let h = Self.hash(a + start, count)
        return arena.withUnsafeBufferPointer { ab in
            let arenaBase = ab.baseAddress!
            let mask = tableCapacity - 1
            var s = h & mask
            while true {
                let e = table[s]
                if e == 0 {
                    guard let offset = insert else { return Self.absent }
                    let id = UInt32(first.count)
                    first.append(UInt32(offset))
                    table[s] = id + 1
                    return id
                }
                let u = Self.token(arenaBase, Int(first[Int(e - 1)]))
                if u.count == count && memcmp(arenaBase + u.start, a + start, count) == 0 { return e - 1 }
                s = (s + 1) & mask
            }
        }
    }

    /// Appends a token of the last side after ``assignIDs(extraTokens:)``: its id if another
    /// side has it, else ``absent`` (such a token cannot match; its bytes are not kept).
    @inline(__always)
    func appendLookedUp(_ token: UnsafeBufferPointer<UInt8>) {
        precondition(idsAssigned, "assignIDs() comes first")
        let id = token.baseAddress.map { lookUp($0, 0, token.count, insert: nil) } ?? lookUpEmpty()
        ids.append(id)
        sideCounts[sideCounts.count - 1] += 1
        total += 1
    }

    /// The id of the empty token (tokenizers never make one; for completeness).
    private func lookUpEmpty() -> UInt32 {
        var zero: UInt8 = 0
        return lookUp(&zero, 0, 0, insert: nil)
    }

    /// Frees the arena and the table once every side is in (they are only needed to look up).
    func finishIDs() {
        arena = PageBuffer(); first = PageBuffer(); table = nil; tableCapacity = 0
    }

    /// A 64-bit multiply-xorshift hash of `count` bytes at `p` (any hash works: equality is
    /// checked on the bytes).
    @inline(__always)
    private static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= count {
            h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < count { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        return Int(truncatingIfNeeded: h)
    }

    /// The ids of side `s` (after ``assignIDs()``).
    func withIDs<R>(side s: Int, _ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        ids.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[sideStarts[s] ..< sideStarts[s] + sideCounts[s]])) }
    }

    /// Sorts each side's positions by the `order` ids starting there (a missing id past the end
    /// of the side sorts first). - Complexity: O(N log N) comparisons of `order` ids.
    func sortPositions(order: Int) {
        precondition(!ids.isEmpty || total == 0, "assignIDs() comes first")
        sortedOrder = order
        if positions.count != total { positions = PageBuffer(capacity: total); positions.appendZeros(total) }
        ids.withUnsafeBufferPointer { idb in
            positions.withUnsafeMutableBufferPointer { pb in
                for s in sideCounts.indices {
                    let base = sideStarts[s], n = sideCounts[s]
                    guard n > 0 else { continue }
                    var side = UnsafeMutableBufferPointer(rebasing: pb[base ..< base + n])
                    for i in 0..<n { side[i] = UInt32(i) }
                    let idp = idb.baseAddress! + base
                    side.sort { x, y in
                        let i = Int(x), j = Int(y)
                        for k in 0..<order {
                            let a: UInt32 = i + k < n ? idp[i + k] &+ 1 : 0
                            let b: UInt32 = j + k < n ? idp[j + k] &+ 1 : 0
                            if a != b { return a < b }
                        }
                        return false
                    }
                }
            }
        }
    }

    /// Walks the distinct n-grams (n = `order`) of one side in sorted order.
    private struct Groups {
        let sorted: UnsafePointer<UInt32>   // the side's sorted positions
        let ids: UnsafePointer<UInt32>      // the side's ids
        let count: Int                      // tokens in the side
        let order: Int
        var next = 0

        /// The next n-gram: a position where it starts and how many times it occurs.
        @inline(__always)
        mutating func advance() -> (position: Int, count: Int)? {
            // Positions too close to the end start no n-gram; they sort outside the groups.
            while next < count && Int(sorted[next]) + order > count { next += 1 }
            guard next < count else { return nil }
            let p = Int(sorted[next])
            var e = next + 1
            while e < count {
                let q = Int(sorted[e])
                if q + order > count { break }
                var same = true
                for k in 0..<order where ids[p + k] != ids[q + k] { same = false; break }
                if !same { break }
                e += 1
            }
            defer { next = e }
            return (p, e - next)
        }
    }

    /// -1, 0, 1 as the n-gram at `i` of `a` is below, equal to or above that at `j` of `b`.
    @inline(__always)
    private static func compare(_ a: UnsafePointer<UInt32>, _ i: Int, _ b: UnsafePointer<UInt32>, _ j: Int, _ order: Int) -> Int {
        for k in 0..<order {
            let x = a[i + k], y = b[j + k]
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    private func withGroups<R>(_ s: Int, _ order: Int, _ body: (Groups) -> R) -> R {
        precondition(order <= sortedOrder, "sortPositions(order:) with an order at least \(order) comes first")
        let base = sideStarts[s]
        return ids.withUnsafeBufferPointer { idb in
            positions.withUnsafeBufferPointer { pb in
                body(Groups(sorted: pb.baseAddress! + base, ids: idb.baseAddress! + base, count: sideCounts[s], order: order))
            }
        }
    }

    /// Calls `body(hypothesis group number, hypothesis count, reference count)` for each
    /// n-gram of order `order` present in both sides.
    @inline(__always)
    private func mergeWalk(hyp h: Int, ref r: Int, order: Int, _ body: (Int, Int, Int) -> Void) {
        guard sideCounts[h] >= order, sideCounts[r] >= order else { return }
        withGroups(h, order) { hg in
            withGroups(r, order) { rg in
                var hg = hg, rg = rg
                var hn = hg.advance(), rn = rg.advance()
                var g = 0
                while let x = hn, let y = rn {
                    let c = Self.compare(hg.ids, x.position, rg.ids, y.position, order)
                    if c < 0 { hn = hg.advance(); g += 1 }
                    else if c > 0 { rn = rg.advance() }
                    else {
                        body(g, x.count, y.count)
                        hn = hg.advance(); g += 1
                        rn = rg.advance()
                    }
                }
            }
        }
    }

    /// ROUGE-N's overlap of side `h` with side `r`: `Σ_g min(c_h(g), c_r(g))` over n-grams g of
    /// order `order`. - Complexity: O((|h| + |r|) · order).
    func overlap(hyp h: Int, ref r: Int, order: Int) -> Int {
        var sum = 0
        mergeWalk(hyp: h, ref: r, order: order) { _, hc, rc in sum += min(hc, rc) }
        return sum
    }

    /// BLEU's clipped matches of side `h` against sides `refs`, per order 1…`maxOrder`:
    /// `Σ_g min(c_h(g), max_r c_r(g))` (sacreBLEU's multi-reference clipping).
    /// - Complexity: O((|h| · (|refs| + 1) + Σ|r|) · maxOrder²); one UInt32 per distinct
    ///   hypothesis n-gram of the most varied order.
    func clippedMatches(hyp h: Int, refs: Range<Int>, maxOrder: Int) -> SIMD8<Int32> {
        var result = SIMD8<Int32>()
        // One maximum per distinct hypothesis n-gram (counted first: repeated text has few).
        var groups = 0
        for order in 1...maxOrder where sideCounts[h] >= order {
            withGroups(h, order) { hg in
                var hg = hg, g = 0
                while hg.advance() != nil { g += 1 }
                groups = max(groups, g)
            }
        }
        var best = [UInt32](repeating: 0, count: groups)
        for order in 1...maxOrder where sideCounts[h] >= order {
            for i in best.indices { best[i] = 0 }
            best.withUnsafeMutableBufferPointer { b in
                for r in refs {
                    mergeWalk(hyp: h, ref: r, order: order) { g, _, rc in
                        if UInt32(rc) > b[g] { b[g] = UInt32(rc) }
                    }
                }
                var sum = 0
                withGroups(h, order) { hg in
                    var hg = hg, g = 0
                    while let x = hg.advance() { sum += min(x.count, Int(b[g])); g += 1 }
                }
                result[order - 1] = Int32(truncatingIfNeeded: sum)
            }
        }
        return result
    }

    /// The length of a longest common subsequence of sides `h` and `r` (ROUGE-L).
    ///
    /// The reference's positions are grouped by id (a counting sort: `distinct` + |r| UInt32).
    /// With R = Σ_{hyp tokens} c_r(token) matching pairs, it runs Hunt & Szymanski (1977,
    /// https://doi.org/10.1145/359581.359603) when R ≤ |h| · ⌈|r|/64⌉ — per match, a binary
    /// search in the increasing thresholds (the smallest reference end of a common subsequence
    /// of each length), matches of one hypothesis token taken in decreasing reference order —
    /// in O(R log |r|); otherwise the bit-parallel recurrence of ``LCSMasks`` (Hyyrö, 2004) with
    /// each hypothesis token's match mask built on the fly from its group, in O(|h| · ⌈|r|/64⌉
    /// + R) with two masks of ⌈|r|/64⌉ words instead of one per distinct token.
    func lcs(hyp h: Int, ref r: Int) -> Int {
        let m = sideCounts[r], n = sideCounts[h]
        if m == 0 || n == 0 { return 0 }
        let v = distinct
        // begin[t + 1] … : positions of token t in the reference, ascending, in `occ`.
        var bound = [UInt32](repeating: 0, count: v + 1)
        var occ = [UInt32](repeating: 0, count: m)
        return ids.withUnsafeBufferPointer { idb in
            let ref = idb.baseAddress! + sideStarts[r], hyp = idb.baseAddress! + sideStarts[h]
            return bound.withUnsafeMutableBufferPointer { b in
                occ.withUnsafeMutableBufferPointer { o in
                    for j in 0..<m { b[Int(ref[j]) + 1] += 1 }
                    for t in stride(from: 1, through: v, by: 1) { b[t] += b[t - 1] }  // b[t+1] = end(t)
                    for j in stride(from: m - 1, through: 0, by: -1) {
                        let t = Int(ref[j]) + 1
                        b[t] -= 1
                        o[Int(b[t])] = UInt32(j)
                    }
                    // Now b[t + 1] = begin(t); end(t) = begin(t + 1), or m for the last id.
                    @inline(__always) func group(_ t: Int) -> Range<Int> {
                        if t >= v { return 0 ..< 0 }          // absent from the references
                        return Int(b[t + 1]) ..< (t + 1 < v ? Int(b[t + 2]) : m)
                    }
                    let words = (m + 63) / 64
                    var pairs = 0
                    for i in 0..<n { pairs += group(Int(hyp[i])).count }
                    if pairs <= n * words {
                        return Self.huntSzymanski(hyp, n, o.baseAddress!, group)
                    }
                    return Self.bitParallel(hyp, n, m, o.baseAddress!, group)
                }
            }
        }
    }

    private static func huntSzymanski(_ hyp: UnsafePointer<UInt32>, _ n: Int, _ occ: UnsafePointer<UInt32>,
                                      _ group: (Int) -> Range<Int>) -> Int {
        var thresholds: [UInt32] = []
        for i in 0..<n {
            let g = group(Int(hyp[i]))
            for k in g.reversed() {
                let j = occ[k]
                // The first threshold ≥ j.
                var lo = 0, hi = thresholds.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if thresholds[mid] < j { lo = mid + 1 } else { hi = mid }
                }
                if lo == thresholds.count { thresholds.append(j) } else { thresholds[lo] = j }
            }
        }
        return thresholds.count
    }

    private static func bitParallel(_ hyp: UnsafePointer<UInt32>, _ n: Int, _ m: Int, _ occ: UnsafePointer<UInt32>,
                                    _ group: (Int) -> Range<Int>) -> Int {
        let words = (m + 63) / 64
        var vv = [UInt64](repeating: .max, count: words)
        var mm = [UInt64](repeating: 0, count: words)
        vv.withUnsafeMutableBufferPointer { v in
            mm.withUnsafeMutableBufferPointer { mk in
                for i in 0..<n {
                    let g = group(Int(hyp[i]))
                    if g.isEmpty { continue }
                    for k in g { let j = Int(occ[k]); mk[j / 64] |= 1 << UInt64(j % 64) }
                    // Words below the first match are unchanged (no match bit, no carry in).
                    var carry: UInt64 = 0
                    for w in (Int(occ[g.lowerBound]) / 64)..<words {
                        let mw = mk[w], x = v[w]
                        let (s1, o1) = x.addingReportingOverflow(x & mw)
                        let (s2, o2) = s1.addingReportingOverflow(carry)
                        carry = (o1 || o2) ? 1 : 0
                        v[w] = s2 | (x & ~mw)
                    }
                    for k in g { mk[Int(occ[k]) / 64] = 0 }
                }
            }
        }
        var zeros = 0
        for w in 0..<words {
            let bits = min(64, m - w * 64)
            let live = bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
            zeros += (~vv[w] & live).nonzeroBitCount
        }
        return zeros
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
