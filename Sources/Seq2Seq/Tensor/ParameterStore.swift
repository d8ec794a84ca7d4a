#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// One contiguous Float32 buffer holding every parameter of a model, with named views.
///
/// Layers read their weights through `view(_:)` (a pointer into the buffer) and a gradient
/// store with the same layout (`zerosLike()`) receives their `+=` gradient updates, so an
/// optimizer step is a single loop over `count` floats and a failing gradient check can name
/// the tensor it is in.
///
/// Storage is row-major: a tensor of shape [r, c] has element (i, j) at offset i*c + j.
public final class ParameterStore {
    /// A named tensor inside the buffer.
    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// The tensors, in the order they were added (the order of the buffer).
    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]
    /// The buffer itself; its length is `count`.
    public private(set) var storage: UnsafeMutablePointer<Float>
    /// The total number of floats.
    public private(set) var count: Int

    /// An empty store; add tensors with `add(_:shape:)`, then `allocate()` is implicit.
    public init() {
        storage = ParameterStore.allocateZeros(1)
        count = 0
    }

    /// The storage is malloc'd memory grown with realloc (a large block is remapped, not
    /// copied, and never held twice) and zero-filled by calloc (pages that are never written
    /// cost no resident memory).
    private static func allocateZeros(_ n: Int) -> UnsafeMutablePointer<Float> {
        guard let raw = calloc(max(n, 1), MemoryLayout<Float>.stride) else { fatalError("Out of memory for \(n) parameters") }
        return raw.bindMemory(to: Float.self, capacity: max(n, 1))
    }

    deinit { free(storage) }

    /// Adds a zero-filled tensor named `name` with `shape` and returns its entry.
    /// - Precondition: the name is new and every dimension is positive.
    @discardableResult
    public func add(_ name: String, shape: [Int]) -> Entry {
        precondition(index[name] == nil, "Parameter \(name) is already defined")
        precondition(shape.allSatisfy { $0 > 0 }, "Parameter \(name) has an empty shape \(shape)")
        let e = Entry(name: name, shape: shape, offset: count)
        let newCount = count + e.count
        guard let raw = realloc(storage, max(newCount, 1) * MemoryLayout<Float>.stride) else {
            fatalError("Out of memory for \(newCount) parameters")
        }
        storage = raw.bindMemory(to: Float.self, capacity: newCount)
        (storage + count).initialize(repeating: 0, count: newCount - count)
        count = newCount
        index[name] = entries.count
        entries.append(e)
        return e
    }

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// A pointer to the first element of the tensor named `name`.
    /// - Precondition: the tensor exists.
    public func view(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let i = index[name] else { preconditionFailure("No parameter named \(name)") }
        return storage + entries[i].offset
    }

    /// A pointer to the first element of `entry`.
    public func view(_ entry: Entry) -> UnsafeMutablePointer<Float> { storage + entry.offset }

    /// A store with the same entries, filled with zeros (for gradients and optimizer moments).
    public func zerosLike() -> ParameterStore {
        let s = ParameterStore()
        free(s.storage)
        s.storage = ParameterStore.allocateZeros(count)
        s.count = count
        s.entries = entries
        s.index = index
        return s
    }

    /// Sets every element to zero.
    public func zero() { storage.update(repeating: 0, count: count) }

    /// Copies every value from `other`, which must have the same layout.
    public func copy(from other: ParameterStore) {
        precondition(other.entries == entries, "Cannot copy between different parameter layouts")
        storage.update(from: other.storage, count: count)
    }

    /// The values of the tensor named `name`, copied out.
    public func values(_ name: String) -> [Float] {
        guard let e = entry(name) else { preconditionFailure("No parameter named \(name)") }
        return Array(UnsafeBufferPointer(start: storage + e.offset, count: e.count))
    }

    /// The whole buffer as a buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: storage, count: count)
    }
}
