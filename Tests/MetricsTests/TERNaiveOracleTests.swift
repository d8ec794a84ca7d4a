import XCTest
@testable import Metrics

/// The oracle of `TERShiftSearch`: sacreBLEU's TER algorithm written the plain way — a full
/// (n_h + 1) × (n_r + 1) matrix of (cost, operation) per call with infinity outside the beam, the
/// trace as an operation list, every (hypothesis start, reference start) pair scanned, slices
/// summed, no prefix reuse. The fast path must give the same edits on every input.
enum NaiveTER {
    private static let inf = Int.max / 4

    /// sacreBLEU's beam edit distance of `h` against `r`: the distance and the trace (operations
    /// from the start, "n" match, "s" substitution, "d" deletion of a hypothesis word, "i"
    /// insertion of a reference word).
    static func editDistance(_ h: [Int32], _ r: [Int32]) -> (Int, [Character]) {
        let nh = h.count, nr = r.count
        var cost = [[Int]](repeating: [Int](repeating: inf, count: nr + 1), count: nh + 1)
        var op = [[Character]](repeating: [Character](repeating: "x", count: nr + 1), count: nh + 1)
        for j in 0...nr { cost[0][j] = j; op[0][j] = "i" }
        let ratio = nh > 0 ? Double(nr) / Double(nh) : 1
        let beam = 25.0 < ratio / 2 ? Int((ratio / 2 + 25).rounded(.up)) : 25
        if nh > 0 {
            for i in 1...nh {
                let diagonal = Int((Double(i) * ratio).rounded(.down))
                let lo = max(0, diagonal - beam)
                let hi = i == nh ? nr + 1 : min(nr + 1, diagonal + beam)
                if lo >= hi { continue }
                for j in lo..<hi {
                    if j == 0 { cost[i][0] = cost[i - 1][0] + 1; op[i][0] = "d"; continue }
                    let candidates: [(Int, Character)] = [
                        (cost[i - 1][j - 1] + (h[i - 1] == r[j - 1] ? 0 : 1), h[i - 1] == r[j - 1] ? "n" : "s"),
                        (cost[i - 1][j] + 1, "d"),
                        (cost[i][j - 1] + 1, "i"),
                    ]
                    for (c, o) in candidates where cost[i][j] > c { cost[i][j] = c; op[i][j] = o }
                }
            }
        }
        var trace: [Character] = []
        var i = nh, j = nr
        while i > 0 || j > 0 {
            let o = op[i][j]
            trace.insert(o, at: 0)
            switch o {
            case "n", "s": i -= 1; j -= 1
            case "i": j -= 1
            case "d": i -= 1
            default: fatalError("unreachable cell on the trace")
            }
        }
        return (cost[nh][nr], trace)
    }

    /// sacreBLEU's `_perform_shift`, with Python's clamped slices.
    static func shift(_ w: [Int32], _ start: Int, _ length: Int, _ target: Int) -> [Int32] {
        func sl(_ a: Int, _ b: Int) -> [Int32] {
            let lo = min(max(a, 0), w.count), hi = min(max(b, 0), w.count)
            return lo < hi ? Array(w[lo..<hi]) : []
        }
        if target < start {
            return sl(0, target) + sl(start, start + length) + sl(target, start) + sl(start + length, w.count)
        } else if target > start + length {
            return sl(0, start) + sl(start + length, target) + sl(start, start + length) + sl(target, w.count)
        }
        return sl(0, start) + sl(start + length, length + target) + sl(start, start + length) + sl(length + target, w.count)
    }

    static func editRate(_ hyp: [Int32], _ ref: [Int32]) -> Int {
        if ref.isEmpty { return hyp.count }
        var words = hyp, shifts = 0, checked = 0
        while true {
            let (pre, inverse) = editDistance(words, ref)
            // The alignment of the reference rewritten into the hypothesis (insertions and
            // deletions swap roles).
            var align = [Int: Int](), hypErr: [Int] = [], refErr: [Int] = []
            var ph = -1, pr = -1
            for o in inverse {
                switch o {
                case "n", "s":
                    ph += 1; pr += 1; align[pr] = ph
                    hypErr.append(o == "s" ? 1 : 0); refErr.append(o == "s" ? 1 : 0)
                case "d": ph += 1; hypErr.append(1)
                default: pr += 1; align[pr] = ph; refErr.append(1)
                }
            }
            var best: (gain: Int, length: Int, start: Int, target: Int, words: [Int32])? = nil
            scan: for sh in 0..<words.count {
                for sr in 0..<ref.count where abs(sr - sh) <= 50 {
                    var length = 0
                    while length < 10 && words[sh + length] == ref[sr + length] {
                        length += 1
                        if hypErr[sh..<(sh + length)].reduce(0, +) != 0 && refErr[sr..<(sr + length)].reduce(0, +) != 0
                            && !(sh <= align[sr]! && align[sr]! < sh + length) {
                            var previous = -1
                            for offset in -1..<length {
                                let idx = sr + offset == -1 ? 0 : align[sr + offset]! + 1
                                if idx == previous { continue }
                                previous = idx
                                let shifted = shift(words, sh, length, idx)
                                let gain = pre - editDistance(shifted, ref).0
                                checked += 1
                                if best == nil || (gain, length, -sh, -idx) > (best!.gain, best!.length, -best!.start, -best!.target) {
                                    best = (gain, length, sh, idx, shifted)
                                }
                            }
                            if checked >= 1000 { break scan }
                        }
                        if sh + length == words.count || sr + length == ref.count { break }
                    }
                }
            }
            if checked >= 1000 { break }
            guard let b = best, b.gain > 0 else { break }
            shifts += 1
            words = b.words
        }
        return shifts + editDistance(words, ref).0
    }
}

final class TERNaiveOracleTests: XCTestCase {
    /// Random hypotheses and block-shuffled references over small vocabularies (many repeated
    /// words, so many shift candidates), lengths from 0 to 120 words, and very uneven lengths
    /// (which widen sacreBLEU's beam): the fast search equals the plain one on every seed.
    func testFastShiftSearchEqualsThePlainOne() {
        for seed in 0..<400 {
            var rng = SplitMix64(seed: UInt64(seed))
            let vocabulary = 2 + rng.next(below: 12)
            let nh = [0, 1, 3, 8, 20, 45, 120][rng.next(below: 7)]
            let hyp = (0..<nh).map { _ in Int32(rng.next(below: vocabulary)) }
            var ref: [Int32]
            if seed % 5 == 0 {
                ref = (0..<[1, 2, 70, 130][rng.next(below: 4)]).map { _ in Int32(rng.next(below: vocabulary)) }
            } else {
                ref = hyp
                for _ in 0..<rng.next(below: 6) where !ref.isEmpty {
                    let i = rng.next(below: ref.count), l = 1 + rng.next(below: 5)
                    let block = Array(ref[i..<min(ref.count, i + l)])
                    ref.removeSubrange(i..<min(ref.count, i + l))
                    ref.insert(contentsOf: block, at: rng.next(below: ref.count + 1))
                }
                for _ in 0..<rng.next(below: 4) { ref.insert(Int32(rng.next(below: vocabulary)), at: rng.next(below: ref.count + 1)) }
            }
            XCTAssertEqual(translationEditRate(hypothesis: hyp, reference: ref).edits, NaiveTER.editRate(hyp, ref),
                           "seed \(seed): hyp \(hyp) ref \(ref)")
        }
    }
}
