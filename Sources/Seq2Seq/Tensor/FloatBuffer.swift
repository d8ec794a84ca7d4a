#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// An owned, fixed-size, zero-initialised buffer of Float32 values (row-major tensors).
///
/// A reference type so that caches can share one buffer between a forward pass and its
/// backward pass without copies; the memory is freed when the last reference goes.
///
/// Large blocks (≥ 256 KiB) are recycled through a small process-wide pool instead of going
/// back to the system, so that a training loop that allocates the same caches every step
/// reuses warm pages rather than faulting fresh ones in (see `BufferPool`).
public final class FloatBuffer {
    /// The number of floats.
    public let count: Int
    /// The first element; valid for `count` elements while the buffer lives.
    public let pointer: UnsafeMutablePointer<Float>
    private let capacity: Int

    /// A buffer of `count` zeros.
    /// - Complexity: O(count).
    public convenience init(count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A buffer of `count` floats left uninitialised, for an output that is written whole before it
    /// is read (a product with beta = 0): it skips the zeroing pass over memory.
    /// - Complexity: O(1).
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "Cannot allocate a buffer of negative size \(count)")
        self.count = count
        (pointer, capacity) = BufferPool.shared.take(max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: count) } }
    }

    deinit { BufferPool.shared.give(pointer, capacity) }

    /// Element `i`.
    @inlinable public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// A copy of the elements as an array.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// A copy of `count` elements from `offset` on.
    public func slice(_ offset: Int, _ n: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer + offset, count: n))
    }
}

/// Recycles large Float blocks between `FloatBuffer`s (thread-safe).
///
/// Capacities are rounded up to a size class (4 classes per power of two, ≤ 19% slack that is
/// never touched, so it costs address space, not resident memory); a freed block waits in its
/// class's free list for the next request of that class, or, when a class has no idle block, of
/// a class up to 4× smaller (so that a step's temporaries reuse the resident pages of a large
/// block another phase has finished with). The pool keeps at most `limitBytes`
/// of idle blocks; beyond that, blocks go back to the system. Small blocks bypass the pool.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()
    /// Blocks below this many floats are not pooled (malloc handles them well).
    static let minimumCount = 65_536
    /// The most idle memory the pool keeps.
    let limitBytes = 512 << 20
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var idleBytes = 0
    private let lock: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
    }

    /// The size class of `n` floats: n rounded up to m·2^k with m ∈ {4, 5, 6, 7}.
    static func sizeClass(_ n: Int) -> Int {
        if n < minimumCount { return n }
        let shift = (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount) - 2
        let m = ((n - 1) >> shift) + 1
        return m << shift
    }

    /// A block of at least `n` floats (uninitialised) and its capacity.
    func take(_ n: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let c = Self.sizeClass(n)
        if c >= Self.minimumCount {
            pthread_mutex_lock(lock)
            if let p = free[c]?.popLast() {
                idleBytes -= c * 4
                pthread_mutex_unlock(lock)
                return (p, c)
            }
            // No idle block of the class: the smallest idle block up to 4× larger, whose pages are
            // already resident (its untouched tail costs nothing), rather than fresh pages.
            var best = Int.max
            for (class_, blocks) in free where class_ > c && class_ <= 4 * c && class_ < best && !blocks.isEmpty {
                best = class_
            }
            if best != Int.max, let p = free[best]?.popLast() {
                idleBytes -= best * 4
                pthread_mutex_unlock(lock)
                return (p, best)
            }
            pthread_mutex_unlock(lock)
        }
        return (.allocate(capacity: c), c)
    }

    /// Returns a block of capacity `c` (from `take`).
    func give(_ p: UnsafeMutablePointer<Float>, _ c: Int) {
        if c >= Self.minimumCount {
            pthread_mutex_lock(lock)
            if idleBytes + c * 4 <= limitBytes {
                free[c, default: []].append(p)
                idleBytes += c * 4
                pthread_mutex_unlock(lock)
                return
            }
            pthread_mutex_unlock(lock)
        }
        p.deallocate()
    }
}
