// Growable buffers in their own anonymous memory mappings, for the lean path's line-sized
// arrays: freeing one gives its pages back at once (a freed heap block can stay resident and
// count in the peak again when the next array does not fit in it), and pages never written
// are never resident, so generous reserves cost nothing.
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// A growable array of trivial `Element`s in an anonymous `mmap` (zero-filled on first touch).
/// - Complexity: `append` amortized O(1); growing maps a larger region and copies (capacity
///   doubles). Memory: the pages written so far.
/// - Note: not thread-safe.
final class PageBuffer<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private(set) var capacity: Int
    private var mappedBytes: Int

    /// An empty buffer with room for `capacity` elements (reserved, not resident).
    init(capacity: Int = 0) {
        let c = max(capacity, 1)
        mappedBytes = Self.bytes(c)
        base = Self.map(mappedBytes)
        self.capacity = mappedBytes / MemoryLayout<Element>.stride
    }

    deinit { munmap(base, mappedBytes) }

    private static func bytes(_ elements: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return (max(elements, 1) * MemoryLayout<Element>.stride + page - 1) / page * page
    }

    private static func map(_ bytes: Int) -> UnsafeMutablePointer<Element> {
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { fatalError("Out of memory: cannot map \(bytes) bytes") }
        return p.bindMemory(to: Element.self, capacity: bytes / MemoryLayout<Element>.stride)
    }

    /// Makes room for at least `n` elements in all (keeping the contents).
    func reserve(_ n: Int) {
        guard n > capacity else { return }
        let bytes = Self.bytes(max(n, 2 * capacity))
        let p = Self.map(bytes)
        p.update(from: base, count: count)
        munmap(base, mappedBytes)
        base = p; mappedBytes = bytes
        capacity = bytes / MemoryLayout<Element>.stride
    }

    @inline(__always) func append(_ x: Element) {
        if count == capacity { reserve(count + 1) }
        base[count] = x
        count += 1
    }

    func append(contentsOf p: UnsafeBufferPointer<Element>) {
        reserve(count + p.count)
        if let src = p.baseAddress { (base + count).update(from: src, count: p.count) }
        count += p.count
    }

    /// Appends `n` zero-filled elements (for integer types: zeros).
    /// - Precondition: nothing was ever written past `count` (true unless `removeAll` was not used).
    func appendZeros(_ n: Int) {
        reserve(count + n)
        UnsafeMutableRawPointer(base + count).initializeMemory(as: UInt8.self, repeating: 0, count: n * MemoryLayout<Element>.stride)
        count += n
    }

    @inline(__always) subscript(i: Int) -> Element {
        get { base[i] }
        set { base[i] = newValue }
    }

    var isEmpty: Bool { count == 0 }

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (declared in malloc.h, which Swift's Glibc module does not import).
private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
}()
#endif

/// Gives the pages of freed heap blocks back to the system (glibc's `malloc_trim(0)`; a no-op
/// elsewhere). After a huge line the scorers free line-sized scratch buffers; glibc keeps a
/// freed block that is not at the top of the heap resident, and the next metric's line-sized
/// buffers would then add to the peak instead of reusing those pages. Called only after a
/// line over 1 MiB. - Complexity: O(heap size).
func releaseFreedHeapMemory() {
    #if os(Linux)
    _ = mallocTrim?(0)
    #endif
}
