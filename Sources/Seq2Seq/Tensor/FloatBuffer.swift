/// An owned, fixed-size, zero-initialised buffer of Float32 values (row-major tensors).
///
/// A reference type so that caches can share one buffer between a forward pass and its
/// backward pass without copies; the memory is freed when the last reference goes.
public final class FloatBuffer {
    /// The number of floats.
    public let count: Int
    /// The first element; valid for `count` elements while the buffer lives.
    public let pointer: UnsafeMutablePointer<Float>

    /// A buffer of `count` zeros.
    /// - Complexity: O(count).
    public init(count: Int) {
        precondition(count >= 0, "Cannot allocate a buffer of negative size \(count)")
        self.count = count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: count) } }
    }

    deinit { pointer.deallocate() }

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
