// The translation edit rate of one hypothesis against one reference (Snover et al., 2006,
// https://aclanthology.org/2006.amta-papers.25) with sacreBLEU 2.6.0's Tercom heuristics
// (`lib_ter.py`): a greedy search over block shifts scored by a beam-limited edit distance.
//
// The search is sacreBLEU's, decision for decision (same candidates in the same order, same
// ranking, same limits, same tie-breaks), so the numbers are identical. What differs is the
// bookkeeping: words are integer ids; the edit-distance matrix of the current hypothesis is
// kept band by band (only the ≈ 2 × 25 cells sacreBLEU's beam computes per row, not a full
// row of tuples); a candidate shift is scored by recomputing only the rows after the prefix it
// shares with the current hypothesis, costs only, in two rolling band buffers; the alignment's
// error counts are prefix sums; and matching word pairs are found through per-word position
// lists instead of comparing every pair in the ±50 window.

/// Tercom's limits, as sacreBLEU sets them.
enum TERLimits {
    /// The longest block that is shifted (words).
    static let maxShiftSize = 10
    /// The largest distance between a block's hypothesis and reference positions.
    static let maxShiftDistance = 50
    /// Half the width of the band of edit-distance cells computed per row.
    static let beamWidth = 25
    /// The number of candidate shifts scored per hypothesis–reference pair, over all rounds.
    static let maxShiftCandidates = 1000
}

/// The minimum number of edits (insertions, deletions, substitutions and block shifts, all of
/// cost 1) that turn `hypothesis` into `reference`, as sacreBLEU's `translation_edit_rate`
/// finds it, and the reference length.
///
/// Each round scores every candidate shift of a block of 1–10 words of the hypothesis that
/// also occurs in the reference at most 50 positions away, where the hypothesis block is not
/// already aligned correctly and the target is not; the best (largest gain, then longest, then
/// leftmost, then earliest target) is applied while it lowers the edit distance and fewer than
/// 1000 candidates have been scored. An empty reference gives (hypothesis length, 0).
/// - Complexity: O(C · n · b) for C ≤ 1000 scored candidates, n hypothesis words and a band
///   of b ≈ 50 cells per row, plus O(n · 101 · 10) per round to enumerate word pairs.
///   `search` is scratch to reuse across calls (its buffers keep their capacity), or nil.
func translationEditRate(hypothesis: [Int32], reference: [Int32],
                         search: TERShiftSearch? = nil) -> (edits: Int, referenceLength: Int) {
    if reference.isEmpty { return (hypothesis.count, 0) }
    let search = search ?? TERShiftSearch()
    search.reset(hypothesis: hypothesis, reference: reference)
    return (search.run(), reference.count)
}

/// The state of one hypothesis–reference shift search; ``reset(hypothesis:reference:)``
/// starts a new one in the same buffers (no allocation once they have grown).
final class TERShiftSearch {
    private var words: [Int32] = []
    private var ref: [Int32] = []
    private var nh = 0, nr = 0
    // The band of row i is columns lo[i]..<hi[i]; its cells sit at offset[i] in the matrices.
    private var lo: [Int] = [], hi: [Int] = [], offset: [Int] = []
    private var cost: [Int32] = []      // the current hypothesis's edit-distance matrix (bands)
    private var op: [UInt8] = []
    // Scratch for scoring candidates.
    private var rowA: [Int32] = [], rowB: [Int32] = []
    private var shifted: [Int32] = []
    // Alignment of the current hypothesis (from the trace).
    private var align: [Int] = [], hypErrSum: [Int] = [], refErrSum: [Int] = []
    private var ops: [UInt8] = []
    // The reference positions of each word, ascending: posHead[word], then posNext[position]
    // (−1 ends); words are dense ids (remapped at init when they are not).
    private var posHead: [Int32] = [], posNext: [Int32] = []

    private static let infinity: Int32 = 1 << 29
    private static let opNone: UInt8 = 0, opMatch: UInt8 = 1, opSub: UInt8 = 2, opDel: UInt8 = 3, opIns: UInt8 = 4

    init() {}

    /// Starts the search of `hypothesis` against `reference` (computes the first matrix).
    func reset(hypothesis: [Int32], reference: [Int32]) {
        var hypothesis = hypothesis, reference = reference
        var lowest: Int32 = 0, highest: Int32 = 0
        for w in hypothesis { lowest = min(lowest, w); highest = max(highest, w) }
        for w in reference { lowest = min(lowest, w); highest = max(highest, w) }
        if lowest < 0 || highest >= 1 << 20 {
            var dense: [Int32: Int32] = [:]
            func id(_ w: Int32) -> Int32 {
                if let d = dense[w] { return d }
                let d = Int32(dense.count)
                dense[w] = d
                return d
            }
            hypothesis = hypothesis.map(id)
            reference = reference.map(id)
        }
        words.removeAll(keepingCapacity: true); words.append(contentsOf: hypothesis)
        ref.removeAll(keepingCapacity: true); ref.append(contentsOf: reference)
        nh = hypothesis.count
        nr = reference.count
        // sacreBLEU's beam: a band of beam width on each side of the pseudo-diagonal
        // ⌊i · nr / nh⌋, widened when the lengths differ so much that rows would not overlap;
        // the first and the last row are full on the right.
        let ratio = nh > 0 ? Double(nr) / Double(nh) : 1
        var beam = TERLimits.beamWidth
        if Double(TERLimits.beamWidth) < ratio / 2 { beam = Int((ratio / 2 + Double(TERLimits.beamWidth)).rounded(.up)) }
        // lo, hi, offset: rows 0…nh (the buffers only grow; later entries are never read).
        if lo.count < nh + 1 {
            let more = nh + 1 - lo.count
            lo.append(contentsOf: repeatElement(0, count: more))
            hi.append(contentsOf: repeatElement(0, count: more))
            offset.append(contentsOf: repeatElement(0, count: more))
        }
        var total = nr + 1
        var widest = nr + 1
        lo.withUnsafeMutableBufferPointer { lo in
            hi.withUnsafeMutableBufferPointer { hi in
                offset.withUnsafeMutableBufferPointer { offset in
                    lo[0] = 0; hi[0] = nr + 1; offset[0] = 0
                    guard nh > 0 else { return }
                    for i in 1...nh {
                        // ⌊i · ratio⌋: the product is not negative, so truncation is the floor.
                        let diagonal = Int(Double(i) * ratio)
                        let l = max(0, diagonal - beam)
                        var h = min(nr + 1, diagonal + beam)
                        if i == nh { h = nr + 1 }
                        lo[i] = l; hi[i] = max(l, h); offset[i] = total
                        total += max(0, h - l)
                        widest = max(widest, h - l)
                    }
                }
            }
        }
        // Every cell of every band is written (row 0 here, the others by `fillMatrix`) before
        // it is read, and nothing outside the bands is read: the buffers only grow.
        if cost.count < total {
            cost.append(contentsOf: repeatElement(Self.infinity, count: total - cost.count))
            op.append(contentsOf: repeatElement(Self.opNone, count: total - op.count))
        }
        for j in 0...nr { cost[j] = Int32(j); op[j] = Self.opIns }
        if rowA.count < widest {
            rowA.append(contentsOf: repeatElement(0, count: widest - rowA.count))
            rowB.append(contentsOf: repeatElement(0, count: widest - rowB.count))
        }
        shifted.removeAll(keepingCapacity: true); shifted.append(contentsOf: hypothesis)
        posHead.removeAll(keepingCapacity: true)
        posHead.append(contentsOf: repeatElement(-1, count: Int(reference.max() ?? 0) + 1))
        posNext.removeAll(keepingCapacity: true); posNext.append(contentsOf: repeatElement(-1, count: nr))
        for j in stride(from: nr - 1, through: 0, by: -1) {
            let w = Int(reference[j])
            posNext[j] = posHead[w]
            posHead[w] = Int32(j)
        }
        fillMatrix(from: 1)
    }

    /// Runs the shift rounds; returns shifts + the final edit distance.
    func run() -> Int {
        var shifts = 0
        var checked = 0
        while true {
            let (gain, best) = bestShift(checked: &checked)
            if checked >= TERLimits.maxShiftCandidates { break }
            guard gain > 0, let best else { break }
            shifts += 1
            Self.performShift(words, start: best.start, length: best.length, target: best.target, into: &shifted)
            let p = commonPrefix(words, shifted)
            swap(&words, &shifted)
            fillMatrix(from: p + 1)
        }
        return shifts + Int(cost[offset[nh] + nr - lo[nh]])
    }

    // MARK: - Edit distance

    @inline(__always) private func cellCost(_ i: Int, _ j: Int) -> Int32 {
        j >= lo[i] && j < hi[i] ? cost[offset[i] + j - lo[i]] : Self.infinity
    }

    /// Recomputes rows `first`…nh of the current hypothesis's matrix, with operations.
    /// Per cell, as sacreBLEU: the first of match/substitution, deletion (of a hypothesis word),
    /// insertion (of a reference word) that is strictly below the cell's cost so far, which
    /// starts at infinity; column 0 is deletion only.
    private func fillMatrix(from first: Int) {
        guard first <= nh else { computeAlignment(); return }
        let inf = Self.infinity
        cost.withUnsafeMutableBufferPointer { c in
            op.withUnsafeMutableBufferPointer { p in
                ref.withUnsafeBufferPointer { r in
                    words.withUnsafeBufferPointer { hw in
                        lo.withUnsafeBufferPointer { lo in
                            hi.withUnsafeBufferPointer { hi in
                                offset.withUnsafeBufferPointer { offset in
                    for i in first...nh {
                        let l = lo[i], h = hi[i], o = offset[i]
                        let pl = lo[i - 1], ph = hi[i - 1], po = offset[i - 1]
                        @inline(__always) func prev(_ j: Int) -> Int32 { j >= pl && j < ph ? c[po + j - pl] : inf }
                        let w = hw[i - 1]
                        var left = inf           // the cost of cell (i, j − 1)
                        // Cell (i, j) from cells (i − 1, j − 1) and (i − 1, j).
                        @inline(__always) func cell(_ j: Int, _ diagonal: Int32, _ above: Int32) {
                            var best = inf, bestOp = Self.opNone
                            let same = w == r[j - 1]
                            let diag = diagonal + (same ? 0 : 1)
                            if best > diag { best = diag; bestOp = same ? Self.opMatch : Self.opSub }
                            let up = above + 1
                            if best > up { best = up; bestOp = Self.opDel }
                            if best > left + 1 { best = left + 1; bestOp = Self.opIns }
                            c[o + j - l] = best
                            p[o + j - l] = bestOp
                            left = best
                        }
                        var j = l
                        if j == 0 {
                            left = prev(0) + 1
                            c[o] = left
                            p[o] = Self.opDel
                            j = 1
                        }
                        // Columns where both cells above are in the previous band need no test.
                        let inside = pl + 1, end = min(h, ph)
                        while j < h && j < inside { cell(j, prev(j - 1), prev(j)); j += 1 }
                        while j < end { cell(j, c[po + j - 1 - pl], c[po + j - pl]); j += 1 }
                        while j < h { cell(j, prev(j - 1), prev(j)); j += 1 }
                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        computeAlignment()
    }

    /// The edit distance of `shifted` (of which the first `prefix` words equal the current
    /// hypothesis's, so rows 0…prefix are the current matrix's), costs only.
    private func distance(of s: [Int32], prefix: Int) -> Int32 {
        if prefix >= nh { return cost[offset[nh] + nr - lo[nh]] }
        // prev: row prefix, read from the matrix; then rows in rowA/rowB.
        let inf = Self.infinity
        var last: Int32 = inf
        cost.withUnsafeBufferPointer { m in
            rowA.withUnsafeMutableBufferPointer { a in
                rowB.withUnsafeMutableBufferPointer { b in
                    s.withUnsafeBufferPointer { s in
                        ref.withUnsafeBufferPointer { r in
                            lo.withUnsafeBufferPointer { lo in
                                hi.withUnsafeBufferPointer { hi in
                    var prevLo = lo[prefix], prevHi = hi[prefix]
                    var prev = UnsafePointer(m.baseAddress! + offset[prefix])
                    var cur = a.baseAddress!, other = b.baseAddress!
                    for i in (prefix + 1)...nh {
                        let l = lo[i], h = hi[i]
                        let w = s[i - 1]
                        let pl = prevLo, ph = prevHi, pp = prev
                        @inline(__always) func prevCost(_ j: Int) -> Int32 { j >= pl && j < ph ? pp[j - pl] : inf }
                        var left = inf          // cell (i, j − 1)
                        @inline(__always) func cell(_ j: Int, _ diagonal: Int32, _ above: Int32) {
                            var best = diagonal + (w == r[j - 1] ? 0 : 1)
                            best = min(best, above + 1)
                            best = min(best, left + 1)
                            best = min(best, inf)
                            cur[j - l] = best
                            left = best
                        }
                        var j = l
                        if j == 0 { left = prevCost(0) + 1; cur[0] = left; j = 1 }
                        // Columns where both cells above are in the previous band need no test.
                        let inside = pl + 1, end = min(h, ph)
                        while j < h && j < inside { cell(j, prevCost(j - 1), prevCost(j)); j += 1 }
                        while j < end { cell(j, pp[j - 1 - pl], pp[j - pl]); j += 1 }
                        while j < h { cell(j, prevCost(j - 1), prevCost(j)); j += 1 }
                        if i == nh { last = cur[nr - l] }
                        prevLo = l; prevHi = h; prev = UnsafePointer(cur)
                        swap(&cur, &other)
                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return last
    }

    /// Walks the trace back from (nh, nr) and derives sacreBLEU's alignment of the reference
    /// rewritten into the hypothesis: `align[r]` is the hypothesis position of reference word r
    /// (−1 before the first), and prefix sums of the hypothesis and reference error flags
    /// (`hypErrSum[0…nh]`, `refErrSum[0…nr]`). The buffers only grow; entries past these
    /// ranges are stale and never read. - Complexity: O(nh + nr).
    private func computeAlignment() {
        let steps = nh + nr
        if ops.count < steps { ops.append(contentsOf: repeatElement(Self.opNone, count: steps - ops.count)) }
        if align.count < nr { align.append(contentsOf: repeatElement(-1, count: nr - align.count)) }
        if hypErrSum.count < nh + 1 { hypErrSum.append(contentsOf: repeatElement(0, count: nh + 1 - hypErrSum.count)) }
        if refErrSum.count < nr + 1 { refErrSum.append(contentsOf: repeatElement(0, count: nr + 1 - refErrSum.count)) }
        let nh = nh, nr = nr
        ops.withUnsafeMutableBufferPointer { ops in
            op.withUnsafeBufferPointer { op in
                lo.withUnsafeBufferPointer { lo in
                    hi.withUnsafeBufferPointer { hi in
                        offset.withUnsafeBufferPointer { offset in
                            align.withUnsafeMutableBufferPointer { align in
                                hypErrSum.withUnsafeMutableBufferPointer { hypErr in
                                    refErrSum.withUnsafeMutableBufferPointer { refErr in
            // At most nh + nr steps: each moves i, j or both towards 0.
            var count = 0
            var i = nh, j = nr
            while i > 0 || j > 0 {
                let o = j >= lo[i] && j < hi[i] ? op[offset[i] + j - lo[i]] : Self.opNone
                ops[count] = o; count += 1
                switch o {
                case Self.opMatch, Self.opSub: i -= 1; j -= 1
                case Self.opIns: j -= 1
                case Self.opDel: i -= 1
                default:
                    // Unreachable: every cell on the path of a finite distance has an operation
                    // (sacreBLEU raises here); step diagonally so that the loop ends.
                    if i > 0 { i -= 1 }
                    if j > 0 { j -= 1 }
                }
            }
            for k in 0..<nr { align[k] = -1 }
            hypErr[0] = 0; refErr[0] = 0
            var posHyp = -1, posRef = -1, hypErrors = 0, refErrors = 0
            var k = count
            while k > 0 {
                k -= 1
                let o = ops[k]
                switch o {
                case Self.opMatch, Self.opSub:
                    posHyp += 1; posRef += 1
                    align[posRef] = posHyp
                    let e = o == Self.opSub ? 1 : 0
                    hypErrors += e; refErrors += e
                    hypErr[posHyp + 1] = hypErrors; refErr[posRef + 1] = refErrors
                case Self.opDel:       // a hypothesis word with no reference word: "insertion" once flipped
                    posHyp += 1
                    hypErrors += 1
                    hypErr[posHyp + 1] = hypErrors
                case Self.opIns:       // a reference word with no hypothesis word
                    posRef += 1
                    align[posRef] = posHyp
                    refErrors += 1
                    refErr[posRef + 1] = refErrors
                default:
                    break
                }
            }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Shifts

    private struct Shift { var start: Int; var length: Int; var target: Int }

    /// One round of sacreBLEU's `_shift`: the gain of the best candidate and the candidate.
    private func bestShift(checked: inout Int) -> (Int32, Shift?) {
        let preScore = cost[offset[nh] + nr - lo[nh]]
        var best: (gain: Int32, length: Int, start: Int, target: Int)? = nil
        outer: for startH in 0..<nh {
            let w = Int(words[startH])
            var next = w < posHead.count ? posHead[w] : -1
            while next >= 0 {
                let startR = Int(next)
                next = posNext[startR]
                if startR < startH - TERLimits.maxShiftDistance { continue }
                if startR > startH + TERLimits.maxShiftDistance { break }
                var length = 0
                while length < TERLimits.maxShiftSize && words[startH + length] == ref[startR + length] {
                    length += 1
                    if considerPair(startH, startR, length, preScore, &best, &checked) {
                        if checked >= TERLimits.maxShiftCandidates { break outer }
                    }
                    if startH + length == nh || startR + length == nr { break }
                }
            }
        }
        guard let b = best else { return (0, nil) }
        return (b.gain, Shift(start: b.start, length: b.length, target: b.target))
    }

    /// Scores the candidates of one matching block; false when the block is filtered out.
    private func considerPair(_ startH: Int, _ startR: Int, _ length: Int, _ preScore: Int32,
                              _ best: inout (gain: Int32, length: Int, start: Int, target: Int)?,
                              _ checked: inout Int) -> Bool {
        // Shift only a block with an error in the hypothesis, to a place with an error in the
        // reference, and not within itself.
        if hypErrSum[startH + length] - hypErrSum[startH] == 0 { return false }
        if refErrSum[startR + length] - refErrSum[startR] == 0 { return false }
        if startH <= align[startR] && align[startR] < startH + length { return false }
        var prevIdx = -1
        for off in -1..<length {
            // Insert before position idx (every reference position is aligned, so none is out of range).
            let idx = startR + off == -1 ? 0 : align[startR + off] + 1
            if idx == prevIdx { continue }
            prevIdx = idx
            Self.performShift(words, start: startH, length: length, target: idx, into: &shifted)
            let gain = preScore - distance(of: shifted, prefix: commonPrefix(words, shifted))
            checked += 1
            // Rank: highest gain, then longest, then earliest start, then earliest target.
            if let b = best {
                if (gain, length, -startH, -idx) > (b.gain, b.length, -b.start, -b.target) {
                    best = (gain, length, startH, idx)
                }
            } else {
                best = (gain, length, startH, idx)
            }
        }
        return true
    }

    /// sacreBLEU's `_perform_shift`: moves `words[start..<start+length]` before position `target`
    /// (before the original index when the target lies left of the block or past its end; for a
    /// target inside the block or just after it, to index `target` of the list without the block).
    static func performShift(_ w: [Int32], start: Int, length: Int, target: Int, into out: inout [Int32]) {
        let n = w.count
        if out.count != n {
            out.removeAll(keepingCapacity: true)
            out.append(contentsOf: repeatElement(0, count: n))
        }
        guard n > 0 else { return }
        w.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                var k = 0
                // Appends w[from..<to] (a plain copy: no slices, no reference counting).
                func copy(_ from: Int, _ to: Int) {
                    precondition(from <= to && to <= n && k + to - from <= n, "TER shift out of range")
                    (d + k).update(from: s + from, count: to - from)
                    k += to - from
                }
                let end = start + length
                if target < start {
                    copy(0, target); copy(start, end); copy(target, start); copy(end, n)
                } else if target > end {
                    copy(0, start); copy(end, target); copy(start, end); copy(target, n)
                } else {
                    let mid = min(n, length + target)
                    copy(0, start); copy(end, mid); copy(start, end); copy(mid, n)
                }
            }
        }
    }

    private func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var p = 0
        let n = min(a.count, b.count)
        while p < n && a[p] == b[p] { p += 1 }
        return p
    }
}
