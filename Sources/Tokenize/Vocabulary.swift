/// A token ↔ id mapping with the four specials, built from token counts.
///
/// Ids: `<pad>` = 0, `<unk>` = 1, `<s>` = 2, `</s>` = 3, then the tokens by count, descending,
/// ties broken by the tokens' UTF-8 bytes, ascending. The order is a pure function of the
/// counts, so the same corpus always gives the same ids, on any machine.
///
/// The file format (``write(to:)``, ``init(contentsOf:)``) is UTF-8 text, one
/// `token<TAB>count` line per id, specials included (with their counts, 0 when built here).
public struct Vocabulary: Equatable, Sendable {
    /// The id of `<pad>`, padding after the end of a sequence.
    public static let pad: Int32 = 0
    /// The id of `<unk>`, for tokens not in the vocabulary.
    public static let unk: Int32 = 1
    /// The id of `<s>`, the start of a sequence.
    public static let bos: Int32 = 2
    /// The id of `</s>`, the end of a sequence.
    public static let eos: Int32 = 3
    /// The specials' strings, in id order.
    public static let specials = ["<pad>", "<unk>", "<s>", "</s>"]

    /// The tokens in id order (specials first).
    public private(set) var tokens: [String]
    /// The count of each token, in id order (the specials' counts are 0 when built by counting).
    public private(set) var counts: [Int]
    private var ids: [String: Int32]

    /// The number of ids, specials included.
    public var count: Int { tokens.count }

    /// Builds a vocabulary from token sequences (one per line).
    ///
    /// Tokens equal to a special's string are not counted (they would collide with it).
    /// - Parameters:
    ///   - sequences: the token sequences to count.
    ///   - minCount: keep tokens seen at least this often (values below 1 act as 1).
    ///   - maxSize: the largest number of ids, specials included; `nil` for no limit (values
    ///     below 4 act as 4: the specials are always there).
    /// - Complexity: O(N + V log V) for N tokens and V distinct tokens.
    public init(counting sequences: some Sequence<[String]>, minCount: Int = 1, maxSize: Int? = nil) {
        var counter = TokenCounter()
        for s in sequences { counter.add(s) }
        self.init(counter, minCount: minCount, maxSize: maxSize)
    }

    /// Builds a vocabulary from a ``TokenCounter`` (for streaming large inputs).
    /// - Parameters: as ``init(counting:minCount:maxSize:)``.
    /// - Complexity: O(V log V) for V distinct tokens.
    public init(_ counter: TokenCounter, minCount: Int = 1, maxSize: Int? = nil) {
        let specials = Set(Vocabulary.specials)
        var kept = counter.counts.filter { $0.value >= max(minCount, 1) && !specials.contains($0.key) }
            .map { (key: $0.key, value: $0.value) }
        kept.sort { a, b in
            a.value != b.value ? a.value > b.value : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        if let maxSize { kept = Array(kept.prefix(max(maxSize, Vocabulary.specials.count) - Vocabulary.specials.count)) }
        self.init(unchecked: Vocabulary.specials + kept.map(\.key),
                  counts: Array(repeating: 0, count: Vocabulary.specials.count) + kept.map(\.value))
    }

    /// A vocabulary from tokens already in id order; the caller guarantees the specials come
    /// first and that tokens are distinct.
    init(unchecked tokens: [String], counts: [Int]) {
        self.tokens = tokens
        self.counts = counts
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() { ids[t] = Int32(i) }
        self.ids = ids
    }

    /// The id of `token`, or ``unk`` when it is not in the vocabulary.
    /// - Complexity: O(1) on average (a hash lookup).
    public func id(_ token: String) -> Int32 { ids[token] ?? Vocabulary.unk }

    /// Whether `token` has an id of its own.
    public func contains(_ token: String) -> Bool { ids[token] != nil }

    /// The token with id `id`; `"<unk>"` for an id out of range.
    /// - Complexity: O(1).
    public func token(_ id: Int32) -> String {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : Vocabulary.specials[Int(Vocabulary.unk)]
    }

    /// The ids of `tokens` (``unk`` for unknown ones); adds no `<s>` or `</s>`.
    /// - Complexity: O(n).
    public func encode(_ tokens: [String]) -> [Int32] { tokens.map(id) }

    /// The tokens of `ids` (`"<unk>"` for ids out of range); keeps specials as they are.
    /// - Complexity: O(n).
    public func decode(_ ids: [Int32]) -> [String] { ids.map(token) }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool {
        a.tokens == b.tokens && a.counts == b.counts
    }
}

/// Counts tokens, for building a ``Vocabulary`` from a stream too large to hold.
public struct TokenCounter: Sendable {
    /// Each token's count so far.
    public private(set) var counts: [String: Int] = [:]
    /// The number of tokens added so far.
    public private(set) var total = 0

    public init() {}

    /// Counts each token of `tokens` once more.
    /// - Complexity: O(n) on average.
    public mutating func add(_ tokens: some Sequence<String>) {
        for t in tokens {
            counts[t, default: 0] += 1
            total += 1
        }
    }
}
