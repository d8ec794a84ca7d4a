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
    private var touched: UnsafeMutablePointer<UInt32>   // ids with a non-zero running count
    private var chain: UnsafeMutablePointer<UInt32>     // scratch: n-gram id per start position
    private var chainCapacity = 256
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
    }

    deinit {
        keys.deallocate(); vals.deallocate(); refMax.deallocate(); running.deallocate()
        used.deallocate(); touched.deallocate(); chain.deallocate()
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
        referenceLengths.removeAll(keepingCapacity: true)
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & (capacity - 1)
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

    /// Adds one reference: its n-gram counts raise the per-n-gram maxima.
    /// - Parameter tokens: the reference's token ids (`UInt32.max` is reserved).
    /// - Complexity: O(|tokens| · maxOrder) expected.
    public func addReference(_ tokens: UnsafeBufferPointer<UInt32>) {
        referenceLengths.append(tokens.count)
        let n = tokens.count
        if chainCapacity < n {
            chain.deallocate(); chainCapacity = max(n, 2 * chainCapacity); chain = .allocate(capacity: chainCapacity)
        }
        var nTouched = 0
        for order in 1...maxOrder where n >= order {
            for i in 0...(n - order) {
                let prefix = order == 1 ? Self.root : UInt64(chain[i])
                let g = insert(prefix, tokens[i + order - 1])
                chain[i] = g
                let gi = Int(g)
                if running[gi] == 0 { touched[nTouched] = g; nTouched += 1 }
                running[gi] += 1
            }
        }
        for k in 0..<nTouched {
            let gi = Int(touched[k])
            if running[gi] > refMax[gi] { refMax[gi] = running[gi] }
            running[gi] = 0
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
        var m = SIMD8<Int32>()
        let n = hyp.count
        var nTouched = 0
        for i in 0..<n {
            var prefix = Self.root
            var order = 1
            while order <= maxOrder && i + order <= n {
                guard let g = lookup(prefix, hyp[i + order - 1]) else { break }
                let gi = Int(g)
                let c = running[gi]
                if c == 0 { touched[nTouched] = g; nTouched += 1 }
                running[gi] = c + 1
                if c < refMax[gi] { m[order - 1] += 1 }
                prefix = UInt64(g)
                order += 1
            }
        }
        for k in 0..<nTouched { running[Int(touched[k])] = 0 }
        return m
    }

    /// The unigram id of `token` in the references, if it occurs there.
    @inline(__always) func unigramID(_ token: UInt32) -> UInt32? { lookup(Self.root, token) }
}
