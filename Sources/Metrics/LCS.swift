// Longest common subsequences for ROUGE-L (Lin, 2004, https://aclanthology.org/W04-1013).

/// The bit-parallel match masks of one reference for LCS lengths (Hyyrö, 2004: `V ← (V + (V &
/// M)) | (V & ~M)`; the LCS length is the number of zero bits among the reference's m bits).
///
/// - Complexity: building O(m); each LCS O(|hyp| · ⌈m/64⌉) word operations.
struct LCSMasks {
    let length: Int
    let words: Int
    private(set) var masks: [UInt64]      // unigram id × words
    private var ids: [UInt32]              // reference token → unigram id (parallel to ref)

    /// Masks of `ref`, whose unigram ids come from `index` (built from `ref` alone).
    init(ref: UnsafeBufferPointer<UInt32>, index: NGramIndex) {
        length = ref.count
        words = max(1, (ref.count + 63) / 64)
        var distinct = 0
        ids = []
        for t in ref { let u = index.unigramID(t)!; ids.append(u); distinct = max(distinct, Int(u) + 1) }
        masks = [UInt64](repeating: 0, count: distinct * words)
        for (j, u) in ids.enumerated() { masks[Int(u) * words + j / 64] |= 1 << UInt64(j % 64) }
    }

    /// The LCS length of the reference and `hyp` (tokens absent from the reference never match).
    func lcs(_ hyp: UnsafeBufferPointer<UInt32>, index: NGramIndex) -> Int {
        if length == 0 || hyp.isEmpty { return 0 }
        if words == 1 {
            var v = UInt64.max
            masks.withUnsafeBufferPointer { mk in
                for t in hyp {
                    guard let u = index.unigramID(t) else { continue }
                    let m = mk[Int(u)]
                    v = (v &+ (v & m)) | (v & ~m)
                }
            }
            let live = length == 64 ? UInt64.max : (UInt64(1) << UInt64(length)) - 1
            return (~v & live).nonzeroBitCount
        }
        var v = [UInt64](repeating: .max, count: words)
        masks.withUnsafeBufferPointer { mk in
            for t in hyp {
                guard let u = index.unigramID(t) else { continue }
                let base = Int(u) * words
                var carry: UInt64 = 0
                for w in 0..<words {
                    let m = mk[base + w]
                    let x = v[w]
                    let (s1, o1) = x.addingReportingOverflow(x & m)
                    let (s2, o2) = s1.addingReportingOverflow(carry)
                    carry = (o1 || o2) ? 1 : 0
                    v[w] = s2 | (x & ~m)
                }
            }
        }
        var zeros = 0
        for w in 0..<words {
            let bits = min(64, length - w * 64)
            let live = bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
            zeros += (~v[w] & live).nonzeroBitCount
        }
        return zeros
    }
}

/// Bit-parallel LCS for references of at most 64 tokens whose ids are small and dense (the
/// per-scorer interned ids of ROUGE): the match mask of each reference token sits at index
/// `id` of a direct-addressed table, so building and reading the masks needs no hashing, and
/// the table is cleared again after each call (only the reference's entries were set).
///
/// - Complexity: O(|ref| + |hyp|) per call, no allocation once the table covers the ids.
final class DirectLCS {
    private var masks: UnsafeMutablePointer<UInt64>
    private var capacity = 0

    init() { masks = .allocate(capacity: 1) }
    deinit { masks.deallocate() }

    /// The LCS length of `ref` (at most 64 tokens) and `hyp`; every id is below `idBound`.
    func lcs(_ ref: UnsafeBufferPointer<UInt32>, _ hyp: UnsafeBufferPointer<UInt32>, idBound: Int) -> Int {
        precondition(ref.count <= 64, "DirectLCS handles references of at most 64 tokens")
        if ref.isEmpty || hyp.isEmpty { return 0 }
        if capacity < idBound {
            masks.deallocate()
            capacity = max(idBound, 2 * capacity, 1024)
            masks = .allocate(capacity: capacity)
            masks.initialize(repeating: 0, count: capacity)
        }
        let mk = masks
        for (j, t) in ref.enumerated() { mk[Int(t)] |= 1 << UInt64(j) }
        var v = UInt64.max
        for t in hyp {
            let m = mk[Int(t)]
            v = (v &+ (v & m)) | (v & ~m)
        }
        for t in ref { mk[Int(t)] = 0 }
        let live = ref.count == 64 ? UInt64.max : (UInt64(1) << UInt64(ref.count)) - 1
        return (~v & live).nonzeroBitCount
    }
}

/// The classic O(m·n) LCS table (rouge-score's `_lcs_table`), the oracle of the fast path and
/// the basis of ROUGE-Lsum's backtracking.
func lcsTable(_ ref: [UInt32], _ can: [UInt32]) -> [[Int32]] {
    var t = [[Int32]](repeating: [Int32](repeating: 0, count: can.count + 1), count: ref.count + 1)
    if ref.isEmpty || can.isEmpty { return t }
    for i in 1...ref.count {
        for j in 1...can.count {
            t[i][j] = ref[i - 1] == can[j - 1] ? t[i - 1][j - 1] + 1 : max(t[i - 1][j], t[i][j - 1])
        }
    }
    return t
}

/// One LCS of `ref` and `can` as reference positions, with rouge-score's tie-break
/// (`_backtrack_norec`: move left only when the left cell is strictly larger).
func lcsIndices(_ ref: [UInt32], _ can: [UInt32]) -> [Int] {
    let t = lcsTable(ref, can)
    var i = ref.count, j = can.count
    var out: [Int] = []
    while i > 0 && j > 0 {
        if ref[i - 1] == can[j - 1] { out.append(i - 1); i -= 1; j -= 1 }
        else if t[i][j - 1] > t[i - 1][j] { j -= 1 }
        else { i -= 1 }
    }
    return out.reversed()
}

/// rouge-score's `_summary_level_lcs`: hits of the union LCS of each reference sentence with
/// all candidate sentences, each token counted at most as often as it occurs on both sides.
/// Returns (hits, reference tokens m, candidate tokens n).
func summaryLevelLCS(_ refSents: [[UInt32]], _ canSents: [[UInt32]]) -> (hits: Int, m: Int, n: Int) {
    let m = refSents.reduce(0) { $0 + $1.count }
    let n = canSents.reduce(0) { $0 + $1.count }
    if refSents.isEmpty || canSents.isEmpty || m == 0 || n == 0 { return (0, m, n) }
    var cntR: [UInt32: Int] = [:], cntC: [UInt32: Int] = [:]
    for s in refSents { for t in s { cntR[t, default: 0] += 1 } }
    for s in canSents { for t in s { cntC[t, default: 0] += 1 } }
    var hits = 0
    for r in refSents {
        var union = Set<Int>()
        for c in canSents { union.formUnion(lcsIndices(r, c)) }
        for i in union.sorted() {
            let t = r[i]
            if cntC[t, default: 0] > 0 && cntR[t, default: 0] > 0 {
                hits += 1
                cntC[t]! -= 1
                cntR[t]! -= 1
            }
        }
    }
    return (hits, m, n)
}
