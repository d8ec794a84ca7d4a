// The one n-gram engine behind BLEU, ROUGE-N and the rewards on token ids.
//
// Tokens are 32-bit ids: vocabulary ids for the rewards, per-pair interned ids for text (see
// `ByteInterner`). Every distinct reference n-gram gets a dense id through a hash table keyed
// on (id of its prefix (n-1)-gram, last token): exact for any vocabulary and any n, with no
// string or tuple hashing. A hypothesis walks the same table; an n-gram that is absent, or
// that extends an absent prefix, cannot match.

/// Counts clipped n-gram matches of hypotheses against a fixed set of references.
///
/// For each order n ≤ `maxOrder` it stores, per distinct reference n-gram g, the maximum count
/// of g over the references (sacreBLEU's multi-reference clipping). A hypothesis' matches of
/// order n are `Σ_g min(count_hyp(g), max_r count_r(g))`, its totals `max(0, len − n + 1)`.
///
/// - Complexity: building is O(Σ|ref| · maxOrder) expected; matching a hypothesis is
///   O(|hyp| · maxOrder) hash probes, with no allocation once the buffers have grown.
/// - Note: not thread-safe; use one index per thread.
public final class NGramIndex {
    /// The highest n-gram order counted.
    public let maxOrder: Int
    // Open-addressing table: key = prefix id << 32 | token, value = n-gram id.
    private var keys: UnsafeMutablePointer<UInt64>
    private var vals: UnsafeMutablePointer<UInt32>
    private var capacity: Int
    private var used: UnsafeMutablePointer<Int32>   // occupied slots, for a cheap reset
    private var usedCount = 0
    // Per n-gram id: the maximum count over references, and a running count.
    private var refMax: UnsafeMutablePointer<Int32>
    private var running: UnsafeMutablePointer<Int32>
    private var idCapacity: Int
    /// The number of distinct reference n-grams (all orders).
    public private(set) var distinctNGrams = 0
    private var touched: UnsafeMutablePointer<UInt32>   // ids with a non-zero running count; `matches`' budgets
    private var chain: UnsafeMutablePointer<UInt32>     // scratch: n-gram id per start position
    private var chainCapacity = 256
    private let counts: UnsafeMutablePointer<Int32>     // scratch: matches per order
    // Dense unigrams (`denseUnigrams`): token → unigram id (UInt32.max: absent) for tokens
    // below `uniBound`, instead of the hash table.
    private var uniIDs: UnsafeMutablePointer<UInt32>
    private var uniCapacity = 64
    private var uniBound = 0

    /// Whether unigrams are looked up in a direct-addressed table indexed by the token instead
    /// of the hash table: for small, dense token ids such as a per-segment interner's (the
    /// table is as long as the largest reference token + 1). Set it before adding references.
    /// Results are identical either way.
    public var denseUnigrams = false {
        didSet { precondition(distinctNGrams == 0, "Set denseUnigrams before adding references") }
    }
    /// The reference lengths (in tokens) added since the last reset.
    public private(set) var referenceLengths: [Int] = []

    private static let empty = UInt64.max
    /// The pseudo-prefix of unigrams.
    private static let root: UInt64 = 0xFFFF_FFFE

    /// An empty index counting orders 1…`maxOrder`.
    /// - Precondition: `1 <= maxOrder <= 8`.
    public init(maxOrder: Int = 4) {
        precondition(maxOrder >= 1 && maxOrder <= 8, "maxOrder must be in 1...8")
        self.maxOrder = maxOrder
        capacity = 256
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: Self.empty, count: capacity)
        vals = .allocate(capacity: capacity)
        idCapacity = 128
        refMax = .allocate(capacity: idCapacity)
        running = .allocate(capacity: idCapacity)
        running.initialize(repeating: 0, count: idCapacity)
        used = .allocate(capacity: capacity)
        touched = .allocate(capacity: idCapacity)
        chain = .allocate(capacity: chainCapacity)
        counts = .allocate(capacity: 8)
        uniIDs = .allocate(capacity: uniCapacity)
    }

    deinit {
        keys.deallocate(); vals.deallocate(); refMax.deallocate(); running.deallocate()
        used.deallocate(); touched.deallocate(); chain.deallocate(); counts.deallocate()
        uniIDs.deallocate()
    }

    /// Forgets every reference (keeps the memory). - Complexity: O(distinct n-grams).
    public func reset() {
        if usedCount * 4 > capacity {
            keys.update(repeating: Self.empty, count: capacity)
        } else {
            for i in 0..<usedCount { keys[Int(used[i])] = Self.empty }
        }
        usedCount = 0
        distinctNGrams = 0
        overBudget = false
        uniBound = 0
        referenceLengths.removeAll(keepingCapacity: true)
        referenceTokens.removeAll(keepingCapacity: true)
        keptDropped = false
        dense = nil
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int { Self.slot(key, capacity - 1) }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always) func lookup(_ prefix: UInt64, _ token: UInt32) -> UInt32? {
        let key = prefix << 32 | UInt64(token)
        var s = slot(key)
        while true {
            let k = keys[s]
            if k == key { return vals[s] }
            if k == Self.empty { return nil }
            s = (s + 1) & (capacity - 1)
        }
    }

    private func insert(_ prefix: UInt64, _ token: UInt32) -> UInt32 {
        let key = prefix << 32 | UInt64(token)
        var s = slot(key)
        while true {
            let k = keys[s]
            if k == key { return vals[s] }
            if k == Self.empty { break }
            s = (s + 1) & (capacity - 1)
        }
        let id = UInt32(distinctNGrams)
        keys[s] = key
        vals[s] = id
        used[usedCount] = Int32(s)
        usedCount += 1
        distinctNGrams += 1
        if distinctNGrams > idCapacity { growIDs() }
        refMax[Int(id)] = 0
        if usedCount * 2 > capacity { growTable() }
        return id
    }

    private func growIDs() {
        let n = idCapacity * 2
        let m = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        m.update(from: refMax, count: idCapacity)
        refMax.deallocate(); refMax = m
        let r = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        r.initialize(repeating: 0, count: n)
        r.update(from: running, count: idCapacity)
        running.deallocate(); running = r
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        t.update(from: touched, count: idCapacity)
        touched.deallocate(); touched = t
        idCapacity = n
    }

    private func growTable() {
        let oldKeys = keys, oldVals = vals, oldCap = capacity
        capacity *= 2
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: Self.empty, count: capacity)
        vals = .allocate(capacity: capacity)
        used.deallocate()
        used = .allocate(capacity: capacity)
        usedCount = 0
        for i in 0..<oldCap where oldKeys[i] != Self.empty {
            var s = slot(oldKeys[i])
            while keys[s] != Self.empty { s = (s + 1) & (capacity - 1) }
            keys[s] = oldKeys[i]; vals[s] = oldVals[i]
            used[usedCount] = Int32(s)
            usedCount += 1
        }
        oldKeys.deallocate(); oldVals.deallocate()
    }

    /// Makes the hash table at least `slots` long (rounded up to a power of 2), for owners that
    /// reuse one index across many segments: a sparser table means fewer probe collisions (and
    /// mispredicted branches) per n-gram. The rewards keep the small default (one per reference).
    func reserveTable(_ slots: Int) {
        while capacity < slots { growTable() }
    }

    /// Grows the id arrays and the table so that `extra` more n-grams fit without growing.
    private func reserve(adding extra: Int) {
        while distinctNGrams + extra > idCapacity { growIDs() }
        while (usedCount + extra) * 2 > capacity { growTable() }
    }

    /// Adds one reference: its n-gram counts raise the per-n-gram maxima.
    /// - Parameter tokens: the reference's token ids (`UInt32.max` is reserved).
    /// - Complexity: O(|tokens| · maxOrder) expected.
    public func addReference(_ tokens: UnsafeBufferPointer<UInt32>) {
        dense = nil
        if keepsReferences { referenceTokens.append(contentsOf: tokens) }
        referenceLengths.append(tokens.count)
        let n = tokens.count
        if chainCapacity < n {
            chain.deallocate(); chainCapacity = max(n, 2 * chainCapacity); chain = .allocate(capacity: chainCapacity)
        }
        // The loop below keeps the buffers in locals (stores through them cannot alias `self`).
        // Room is made for a bounded batch of new n-grams up front, and the table grows in the
        // (rare) new-n-gram path when that runs out, so memory follows the distinct n-grams,
        // not the worst case |tokens| · maxOrder (a 27 MB line of repeated text reserved 1.2 GB).
        reserve(adding: min(n * maxOrder, 1 << 16))
        var keys = self.keys, vals = self.vals, used = self.used
        var running = self.running, refMax = self.refMax, touched = self.touched
        let chain = self.chain
        var mask = capacity - 1
        var usedCount = self.usedCount, next = distinctNGrams
        var nTouched = 0
        // The first reference since the reset: its counts are the maxima (every id is new and
        // starts at 0), so count straight into `refMax`.
        let first = referenceLengths.count == 1
        var firstOrder = 1
        if denseUnigrams && n > 0 {
            // Unigram ids from the direct table (extended to the largest token first).
            var top = 0
            for t in tokens { top = max(top, Int(t)) }
            // At most top + 1 new unigram ids.
            while next + top + 1 > idCapacity { growIDs() }
            running = self.running; refMax = self.refMax; touched = self.touched
            if top >= uniBound {
                if top >= uniCapacity {
                    let c = max(top + 1, 2 * uniCapacity)
                    let u = UnsafeMutablePointer<UInt32>.allocate(capacity: c)
                    u.update(from: uniIDs, count: uniBound)
                    uniIDs.deallocate(); uniIDs = u; uniCapacity = c
                }
                (uniIDs + uniBound).update(repeating: .max, count: top + 1 - uniBound)
                uniBound = top + 1
            }
            let uni = uniIDs
            for i in 0..<n {
                let t = Int(tokens[i])
                var g = uni[t]
                if g == .max { g = UInt32(next); next += 1; uni[t] = g; refMax[Int(g)] = 0 }
                chain[i] = g
                let gi = Int(g)
                if first { refMax[gi] += 1; continue }
                let c = running[gi]
                if c == 0 { touched[nTouched] = g; nTouched += 1 }
                running[gi] = c + 1
            }
            firstOrder = 2
        }
        for order in firstOrder...max(firstOrder, maxOrder) where n >= order && order <= maxOrder {
            for i in 0...(n - order) {
                let prefix = order == 1 ? Self.root : UInt64(chain[i])
                let key = prefix << 32 | UInt64(tokens[i + order - 1])
                var s = Self.slot(key, mask)
                var g: UInt32
                while true {
                    let k = keys[s]
                    if k == key { g = vals[s]; break }
                    if k == Self.empty {
                        if (usedCount + 1) * 2 > capacity || next >= idCapacity {
                            // Out of room: grow (the table is rehashed), then probe again.
                            self.usedCount = usedCount
                            distinctNGrams = next
                            if next >= distinctBudget {
                                // Over budget: give up (the owner drops this index).
                                overBudget = true
                                return
                            }
                            reserve(adding: max(1 << 16, usedCount / 2))
                            keys = self.keys; vals = self.vals; used = self.used
                            running = self.running; refMax = self.refMax; touched = self.touched
                            mask = capacity - 1
                            s = Self.slot(key, mask)
                            continue
                        }
                        g = UInt32(next); next += 1
                        keys[s] = key; vals[s] = g
                        used[usedCount] = Int32(s); usedCount += 1
                        refMax[Int(g)] = 0
                        break
                    }
                    s = (s + 1) & mask
                }
                chain[i] = g
                let gi = Int(g)
                if first { refMax[gi] += 1; continue }
                let c = running[gi]
                if c == 0 { touched[nTouched] = g; nTouched += 1 }
                running[gi] = c + 1
            }
        }
        self.usedCount = usedCount
        distinctNGrams = next
        for k in 0..<nTouched {
            let gi = Int(touched[k])
            if running[gi] > refMax[gi] { refMax[gi] = running[gi] }
            running[gi] = 0
        }
        // The per-position scratch of a huge reference is not kept (memory follows the
        // distinct n-grams, not the longest line, once the reference is indexed).
        if chainCapacity > 1 << 18 {
            self.chain.deallocate()
            chainCapacity = 256
            self.chain = .allocate(capacity: chainCapacity)
        }
    }

    /// Adds one reference given as an array. See ``addReference(_:)-(UnsafeBufferPointer<UInt32>)``.
    public func addReference(_ tokens: [UInt32]) {
        tokens.withUnsafeBufferPointer { addReference($0) }
    }

    /// The clipped matches of a hypothesis, per order: `matches[n-1]` for n = 1…maxOrder
    /// (entries past `maxOrder` stay 0). Tokens absent from the references may carry any id,
    /// conventionally `UInt32.max`.
    /// - Complexity: O(|hyp| · maxOrder) expected; no allocation.
    @inline(__always)
    public func matches(_ hyp: UnsafeBufferPointer<UInt32>) -> SIMD8<Int32> {
        if let d = dense { return d.matches(hyp) }
        // Buffers in locals, counts in a scratch array (a SIMD8 lane updated in the loop costs
        // a store-forwarding stall per match). `budget` starts as a copy of the reference maxima
        // and counts down: an n-gram matches while its budget is positive (clipping), with no
        // reset pass afterwards.
        let keys = self.keys, vals = self.vals, counts = self.counts
        let budget = self.touched
        UnsafeMutableRawPointer(budget).copyMemory(from: refMax, byteCount: distinctNGrams * 4)
        let mask = capacity - 1, maxOrder = self.maxOrder
        counts.update(repeating: 0, count: 8)
        let n = hyp.count
        let dense = denseUnigrams, uni = uniIDs, uniBound = self.uniBound
        for i in 0..<n {
            var prefix = Self.root
            var order = 1
            if dense {
                let t = Int(hyp[i])
                let g = t < uniBound ? uni[t] : .max
                if g == .max { continue }
                let gi = Int(g)
                let k = budget[gi]
                let pos: UInt32 = k > 0 ? 1 : 0
                budget[gi] = k &- pos
                counts[0] &+= Int32(bitPattern: pos)
                prefix = UInt64(g)
                order = 2
            }
            while order <= maxOrder && i + order <= n {
                let t = hyp[i + order - 1]
                // A token absent from the references ends the walk without a probe.
                if dense && (Int(t) >= uniBound || uni[Int(t)] == .max) { break }
                let key = prefix << 32 | UInt64(t)
                var s = Self.slot(key, mask)
                var found = false
                var g: UInt32 = 0
                while true {
                    let k = keys[s]
                    if k == key { g = vals[s]; found = true; break }
                    if k == Self.empty { break }
                    s = (s + 1) & mask
                }
                if !found { break }
                let gi = Int(g)
                let k = budget[gi]
                let pos: UInt32 = k > 0 ? 1 : 0
                budget[gi] = k &- pos
                counts[order - 1] &+= Int32(bitPattern: pos)
                prefix = UInt64(g)
                order += 1
            }
        }
        return SIMD8(counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7])
    }

    /// Prepares the index for many hypotheses against the same references (the rewards): builds
    /// `DenseMatcher`'s direct-addressed transition tables, when they stay small. Adding a
    /// reference or resetting drops them. Results are identical either way.
    /// - Complexity: O(distinct n-grams + Σ_n D_{n-1} · D_1) once (D_n: distinct n-grams).
    func prepareForManyHypotheses() {
        dense = referenceTokens.withUnsafeBufferPointer { t in
            referenceLengths.withUnsafeBufferPointer { DenseMatcher(maxOrder: maxOrder, tokens: t, lengths: $0) }
        }
    }

    /// Forgets every reference and takes `tokens` as the one reference, counted through
    /// `DenseMatcher`'s direct-addressed tables built straight from it (the hash table stays
    /// empty), in the memory of the last ones: for one or a few hypotheses per reference
    /// (MIXER's rewards). Falls back to the hash table when those tables would be too large.
    /// Counts are identical either way.
    /// - Complexity: O(|tokens| · maxOrder + Σ_n D_{n−1} · D_1); no allocation once the
    ///   buffers have grown.
    func resetToDense(reference tokens: UnsafeBufferPointer<UInt32>) {
        reset()
        let d = spareDense ?? DenseMatcher(maxOrder: maxOrder)
        spareDense = d
        let built = withUnsafePointer(to: tokens.count) { d.build(tokens: tokens, lengths: UnsafeBufferPointer(start: $0, count: 1)) }
        if built {
            dense = d
            referenceLengths.append(tokens.count)
        } else {
            addReference(tokens)
        }
    }
    private var dense: DenseMatcher?
    private var spareDense: DenseMatcher?             // `resetToDense`'s matcher, kept for its memory
    /// Whether `matches` uses the direct-addressed tables (for tests).
    var usesDenseMatching: Bool { dense != nil }
    private var referenceTokens: [UInt32] = []      // kept only for `prepareForManyHypotheses`
    /// A bound on the distinct n-grams, checked only when the table grows: past it,
    /// `addReference` stops at once and sets ``overBudget``, and the index is unusable (its
    /// owner drops it). BLEU's scorer sets it on huge segments to switch to its lean path.
    var distinctBudget = Int.max
    /// Whether an `addReference` stopped at ``distinctBudget``.
    private(set) var overBudget = false

    /// Keep the references' tokens (for `prepareForManyHypotheses`, and for BLEU's switch to
    /// its lean path mid-segment).
    var keepsReferences = false

    /// Frees the kept references' tokens (when no more references come); ``withKeptReferences(_:)``
    /// must not be called again before the next reset.
    func dropKeptReferences() {
        referenceTokens = []
        keptDropped = true
    }
    private var keptDropped = false

    /// Calls `body` with the kept references' tokens (one after the other) and their lengths.
    /// - Precondition: ``keepsReferences`` was set before the references were added.
    func withKeptReferences<R>(_ body: (UnsafeBufferPointer<UInt32>, [Int]) -> R) -> R {
        precondition(keepsReferences || referenceLengths.isEmpty, "Set keepsReferences before adding references")
        precondition(!keptDropped, "The kept references were dropped")
        return referenceTokens.withUnsafeBufferPointer { body($0, referenceLengths) }
    }

    /// The unigram id of `token` in the references, if it occurs there.
    @inline(__always) func unigramID(_ token: UInt32) -> UInt32? {
        if denseUnigrams {
            let g = Int(token) < uniBound ? uniIDs[Int(token)] : .max
            return g == .max ? nil : g
        }
        return lookup(Self.root, token)
    }
}


/// Direct-addressed n-gram transitions for one fixed set of references (the reward path).
///
/// Unigrams get dense indices u ∈ [0, V) through a small open-addressing table on the token;
/// the n-gram (n ≥ 2) of prefix index p (order n−1) and last unigram u has index
/// `trans_n[p · (V+1) + u]`. Index `D_n` (one past the last) means "absent": its row and the
/// column `V` map to absent again, and its reference maximum is 0, so the matching loops have
/// no branches. Counts are the same as `NGramIndex`'s (the maximum over references of each
/// n-gram's count). Built only while every D_n < 65,535 and Σ_n (D_{n−1}+1)(V+1) ≤ 2^16.
///
/// - Complexity: building O(Σ|ref| · maxOrder + Σ_n (D_{n−1}+1)(V+1)); matching
///   O(|hyp| · maxOrder) table reads plus |hyp| small-table probes; no allocation.
final class DenseMatcher {
    let maxOrder: Int
    private(set) var v = 0                                  // distinct unigrams
    private var uniKeys: UnsafeMutablePointer<UInt32>
    private var uniVals: UnsafeMutablePointer<UInt16>       // u + 1 (0: empty slot)
    private var uniMask = 7
    private var trans: UnsafeMutablePointer<UInt16>
    private var transCapacity = 1
    private var transBase: SIMD8<Int32> = .zero             // per order n ≥ 2 (index n - 1)
    private var base: SIMD8<Int32> = .zero                  // per order: offset of its counters
    private var refMax: UnsafeMutablePointer<UInt16>
    private var running: UnsafeMutablePointer<UInt16>
    private var counterCapacity = 1
    private var cur: UnsafeMutablePointer<UInt16>
    private var us: UnsafeMutablePointer<UInt16>
    private var capacity = 32
    private var counterCount = 0
    // Per order 0…maxOrder: the bound of D_n, and the next index (scratch of `build`).
    private let bound: UnsafeMutablePointer<Int>
    private let next: UnsafeMutablePointer<Int>

    /// An empty matcher (no reference: nothing matches) whose buffers ``build(tokens:lengths:)``
    /// fills and reuses.
    init(maxOrder: Int) {
        self.maxOrder = maxOrder
        uniKeys = .allocate(capacity: uniMask + 1)
        uniVals = .allocate(capacity: uniMask + 1); uniVals.initialize(repeating: 0, count: uniMask + 1)
        trans = .allocate(capacity: transCapacity)
        refMax = .allocate(capacity: counterCapacity); refMax.initialize(to: 0)
        running = .allocate(capacity: counterCapacity); running.initialize(to: 0)
        cur = .allocate(capacity: capacity); us = .allocate(capacity: capacity)
        bound = .allocate(capacity: 9); next = .allocate(capacity: 9)
        counterCount = 0
    }

    /// The matcher of the references `tokens` (one after the other, `lengths` long), or nil
    /// when its tables would be too large.
    convenience init?(maxOrder: Int, tokens: UnsafeBufferPointer<UInt32>, lengths: UnsafeBufferPointer<Int>) {
        self.init(maxOrder: maxOrder)
        if !build(tokens: tokens, lengths: lengths) { return nil }
    }

    /// Replaces the references by `tokens` (one after the other, `lengths` long), reusing the
    /// buffers (no allocation once they have grown). Returns false, leaving the matcher
    /// unusable until the next successful build, when the tables would be too large (see the
    /// type).
    func build(tokens: UnsafeBufferPointer<UInt32>, lengths: UnsafeBufferPointer<Int>) -> Bool {
        let total = tokens.count
        var cap = 8
        while cap < 2 * max(total, 1) { cap *= 2 }
        if cap > uniMask + 1 {
            uniKeys.deallocate(); uniVals.deallocate()
            uniKeys = .allocate(capacity: cap); uniVals = .allocate(capacity: cap)
        }
        uniMask = cap - 1
        uniVals.update(repeating: 0, count: cap)
        if total > capacity {
            cur.deallocate(); us.deallocate()
            capacity = max(total, 2 * capacity)
            cur = .allocate(capacity: capacity); us = .allocate(capacity: capacity)
        }
        // Unigram indices of every reference token.
        var v = 0
        for i in 0..<total {
            let t = tokens[i]
            var s = Self.slot(t, uniMask)
            while uniVals[s] != 0 && uniKeys[s] != t { s = (s + 1) & uniMask }
            if uniVals[s] == 0 { uniKeys[s] = t; v += 1; uniVals[s] = UInt16(truncatingIfNeeded: v) }
            us[i] = uniVals[s] &- 1
        }
        self.v = v
        counterCount = 0
        // Upper bounds of D_n: Σ max(0, len − n + 1); the tables are sized by them.
        bound.update(repeating: 0, count: maxOrder + 1)
        for o in 1...maxOrder { for l in lengths { bound[o] += max(0, l - o + 1) } }
        bound[1] = v
        var t = 0, c = 0
        for o in 1...maxOrder {
            if o >= 2 { transBase[o - 1] = Int32(t); t += (bound[o - 1] + 1) * (v + 1) }
            base[o - 1] = Int32(c); c += bound[o] + 1
        }
        var fits = v < 0xFFFF && t <= 1 << 16 && c < 1 << 20
        for o in 0...maxOrder where bound[o] >= 0xFFFF { fits = false }
        guard fits else { return false }
        if t > transCapacity {
            trans.deallocate(); transCapacity = t; trans = .allocate(capacity: t)
        }
        if c > counterCapacity {
            refMax.deallocate(); running.deallocate()
            counterCapacity = c
            refMax = .allocate(capacity: c); running = .allocate(capacity: c)
        }
        refMax.update(repeating: 0, count: c)
        running.update(repeating: 0, count: c)
        next.update(repeating: 0, count: maxOrder + 1)
        next[1] = v
        // Absent entries point at the bound (the absent index of the next order).
        for o in 2...max(2, maxOrder) where o <= maxOrder {
            (trans + Int(transBase[o - 1])).update(repeating: UInt16(bound[o]), count: (bound[o - 1] + 1) * (v + 1))
        }
        // Per reference: assign indices order by order (cur holds the (n−1)-gram indices), count
        // occurrences in `running`, then raise the maxima.
        var start = 0
        for len in lengths {
            let u = us + start
            for o in 1...maxOrder where len >= o {
                let cnt = len - o + 1
                if o == 1 { for i in 0..<cnt { cur[i] = u[i] } }
                else {
                    let tr = trans + Int(transBase[o - 1])
                    for i in 0..<cnt {
                        let e = Int(cur[i]) * (v + 1) + Int(u[i + o - 1])
                        if Int(tr[e]) == bound[o] { tr[e] = UInt16(next[o]); next[o] += 1 }
                        cur[i] = tr[e]
                    }
                }
                let b = running + Int(base[o - 1]), r = refMax + Int(base[o - 1])
                for i in 0..<cnt { b[Int(cur[i])] &+= 1 }
                for i in 0..<cnt {
                    let g = Int(cur[i])
                    if b[g] > r[g] { r[g] = b[g] }
                }
                for i in 0..<cnt { b[Int(cur[i])] = 0 }
            }
            start += len
        }
        counterCount = c
        return true
    }

    deinit {
        uniKeys.deallocate(); uniVals.deallocate(); trans.deallocate()
        refMax.deallocate(); running.deallocate(); cur.deallocate(); us.deallocate()
        bound.deallocate(); next.deallocate()
    }

    @inline(__always) private static func slot(_ t: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(t) &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// The dense unigram index of `token`, or `v` (absent).
    @inline(__always) func unigram(_ token: UInt32) -> UInt16 {
        var s = Self.slot(token, uniMask)
        while true {
            let e = uniVals[s]
            if e == 0 { return UInt16(truncatingIfNeeded: v) }
            if uniKeys[s] == token { return e &- 1 }
            s = (s + 1) & uniMask
        }
    }

    /// Clipped matches per order, as `NGramIndex.matches`.
    @inline(__always)
    func matches(_ hyp: UnsafeBufferPointer<UInt32>) -> SIMD8<Int32> {
        let n = hyp.count
        if n > capacity {
            cur.deallocate(); us.deallocate()
            capacity = max(n, 2 * capacity)
            cur = .allocate(capacity: capacity); us = .allocate(capacity: capacity)
        }
        let cur = self.cur, us = self.us
        // `running` starts as a copy of the reference maxima and counts down: a hypothesis
        // n-gram matches while its budget is positive (clipping), with no reset pass.
        let budget = running
        budget.update(from: refMax, count: counterCount)
        var m = SIMD8<Int32>()
        var hits: Int32 = 0
        for i in 0..<n {
            let u = unigram(hyp[i])
            us[i] = u; cur[i] = u
            let k = budget[Int(u)]
            let pos: UInt16 = k > 0 ? 1 : 0
            hits += Int32(pos); budget[Int(u)] = k &- pos
        }
        m[0] = hits
        let w = v + 1
        var order = 2
        while order <= maxOrder && hits > 0 {   // no (n−1)-gram match: no n-gram match either
            let count = n - order + 1
            if count <= 0 { break }
            let tr = trans + Int(transBase[order - 1])
            let b = budget + Int(base[order - 1])
            hits = 0
            for i in 0..<count {
                let g = Int(tr[Int(cur[i]) * w + Int(us[i + order - 1])])
                cur[i] = UInt16(truncatingIfNeeded: g)
                let k = b[g]
                let pos: UInt16 = k > 0 ? 1 : 0
                hits += Int32(pos); b[g] = k &- pos
            }
            m[order - 1] = hits
            order += 1
        }
        return m
    }
}
