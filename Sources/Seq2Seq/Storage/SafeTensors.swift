/// One tensor described in a safetensors header.
public struct SafeTensorInfo: Equatable, Sendable {
    /// The tensor's name (the header key).
    public var name: String
    /// The element type as the header spells it; only "F32" is read by mixer.
    public var dtype: String
    /// The dimensions; `[]` is a scalar (one element).
    public var shape: [Int]
    /// Byte range of the data, relative to the start of the data section.
    public var dataOffsets: Range<Int>
    /// The number of elements (product of `shape`).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed, fully validated safetensors file (https://github.com/huggingface/safetensors).
///
/// Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON
/// `{"NAME": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"key": "value"}}` (padded with spaces to a multiple of 8); then the data
/// section: each tensor's raw little-endian, row-major bytes at `[begin, end)`.
///
/// Parsing checks everything before any tensor is read: the header length against the file
/// size, the JSON, every entry's fields, the dtype (F32 only), `product(shape) * 4 == end -
/// begin`, and that the byte ranges tile the data section exactly (start at 0, contiguous, no
/// overlap, no gap, ending at the file's end). Every error is a ``StorageError`` naming the
/// file and the problem.
public struct SafeTensorsFile: Sendable {
    /// The path the file was read from (used in error messages).
    public let path: String
    /// The `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    /// The tensors, in data order.
    public let tensors: [SafeTensorInfo]
    private let bytes: [UInt8]
    private let dataStart: Int
    private let byName: [String: Int]

    /// The largest header mixer accepts (the reference implementation's limit, 100 MB).
    public static let maximumHeaderLength = 100_000_000

    static let knownDTypes: Set<String> = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
                                           "I32", "U32", "F32", "F64", "I64", "U64"]

    /// Reads and validates the safetensors file at `path`.
    /// - Throws: ``StorageError`` naming `path` and the problem.
    /// - Complexity: O(file size).
    public static func read(_ path: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(bytes: FileIO.readAll(path), path: path)
    }

    /// Parses and validates safetensors `bytes`; `path` names them in errors.
    /// - Throws: ``StorageError`` naming `path` and the problem.
    public init(bytes: [UInt8], path: String) throws {
        func fail(_ reason: String) -> StorageError { StorageError(path, reason) }
        guard bytes.count >= 8 else {
            throw fail("not a safetensors file: \(bytes.count) bytes, too short for the 8-byte header length")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw fail("header length \(n) exceeds the \(bytes.count - 8) bytes after it (truncated or not a safetensors file)")
        }
        guard n <= UInt64(Self.maximumHeaderLength) else { throw fail("header length \(n) is larger than the 100 MB limit") }
        guard n >= 2 else { throw fail("header length \(n) is too short for a JSON object") }
        let headerLength = Int(n)
        let header: JSONValue
        do {
            header = try JSONValue.parse(Array(bytes[8..<(8 + headerLength)]))
        } catch {
            throw fail("header is not well-formed JSON")
        }
        guard case .object(let entries) = header else { throw fail("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var infos: [SafeTensorInfo] = []
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case .object(let m) = value else { throw fail("__metadata__ is not an object of strings") }
                for (k, v) in m {
                    guard case .string(let s) = v else { throw fail("__metadata__ value of \"\(k)\" is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let fields) = value else { throw fail("tensor \"\(name)\": entry is not an object") }
            for k in fields.keys where !["dtype", "shape", "data_offsets"].contains(k) {
                throw fail("tensor \"\(name)\": unexpected field \"\(k)\"")
            }
            guard case .string(let dtype)? = fields["dtype"] else { throw fail("tensor \"\(name)\": dtype is missing or not a string") }
            guard Self.knownDTypes.contains(dtype) else { throw fail("tensor \"\(name)\": unknown dtype \"\(dtype)\"") }
            guard dtype == "F32" else { throw fail("tensor \"\(name)\": dtype \(dtype) is not supported (mixer stores F32)") }
            guard case .array(let shapeValues)? = fields["shape"] else { throw fail("tensor \"\(name)\": shape is missing or not an array") }
            var shape: [Int] = []
            for d in shapeValues {
                guard case .int(let k) = d, k >= 0 else { throw fail("tensor \"\(name)\": shape \(JSONValue.array(shapeValues)) has a dimension that is not a non-negative integer") }
                shape.append(k)
            }
            guard case .array(let offs)? = fields["data_offsets"], offs.count == 2,
                  case .int(let begin) = offs[0], case .int(let end) = offs[1], begin >= 0, end >= begin else {
                throw fail("tensor \"\(name)\": data_offsets must be [begin, end] with 0 <= begin <= end")
            }
            var elements = 1
            for d in shape {
                let (p, o) = elements.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("tensor \"\(name)\": shape \(shape) is too large") }
                elements = p
            }
            let (byteCount, o) = elements.multipliedReportingOverflow(by: 4)
            guard !o, byteCount == end - begin else {
                throw fail("tensor \"\(name)\": shape \(shape) needs \(elements) × 4 bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            infos.append(SafeTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end))
        }
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        let dataLength = bytes.count - 8 - headerLength
        var position = 0
        var previous: String?
        for info in infos {
            let b = info.dataOffsets.lowerBound
            if b < position {
                throw fail("tensor \"\(info.name)\": data_offsets [\(b), \(info.dataOffsets.upperBound)] overlap tensor \"\(previous ?? "")\", which ends at \(position)")
            }
            if b > position {
                throw fail("tensor \"\(info.name)\": data_offsets start at \(b), leaving a gap after byte \(position)")
            }
            position = info.dataOffsets.upperBound
            previous = info.name
        }
        if position > dataLength {
            throw fail("truncated: the tensors need \(position) bytes of data but the file holds \(dataLength)")
        }
        if position < dataLength {
            throw fail("\(dataLength - position) unexpected bytes after the last tensor's data")
        }
        self.path = path
        self.metadata = metadata
        self.tensors = infos
        self.bytes = bytes
        self.dataStart = 8 + headerLength
        var index: [String: Int] = [:]
        for (i, t) in infos.enumerated() { index[t.name] = i }
        self.byName = index
    }

    /// The tensor named `name`, or nil.
    public func tensor(_ name: String) -> SafeTensorInfo? { byName[name].map { tensors[$0] } }

    /// The values of the tensor named `name`, or nil when there is none.
    /// - Complexity: O(elements).
    public func floats(_ name: String) -> [Float]? {
        guard let t = tensor(name) else { return nil }
        var out = [Float](repeating: 0, count: t.elementCount)
        out.withUnsafeMutableBufferPointer { copyFloats(t, into: $0.baseAddress!) }
        return out
    }

    /// Copies the values of `tensor` (one of ``tensors``) into `destination`, converting from
    /// little-endian. - Precondition: `destination` has room for `tensor.elementCount` floats.
    public func copyFloats(_ tensor: SafeTensorInfo, into destination: UnsafeMutablePointer<Float>) {
        let start = dataStart + tensor.dataOffsets.lowerBound
        bytes.withUnsafeBytes { raw in
            for i in 0..<tensor.elementCount {
                let bits = raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)
                destination[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
    }

    // MARK: - Writing

    /// A tensor to write: its name, shape and `shape.product` values.
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var values: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Encodes `tensors` (in the given order) with `metadata` in the safetensors layout.
    /// - Precondition: names are distinct, not "__metadata__", and each tensor's value count
    ///   is the product of its shape.
    /// - Complexity: O(total elements).
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":"
            header += JSONValue.object(metadata.mapValues { .string($0) }).serialized()
            first = false
        }
        var offset = 0
        var seen = Set<String>()
        for t in tensors {
            precondition(t.name != "__metadata__" && seen.insert(t.name).inserted, "Duplicate or reserved tensor name \(t.name)")
            precondition(t.shape.reduce(1, *) == t.values.count, "Tensor \(t.name) has \(t.values.count) values for shape \(t.shape)")
            if !first { header += "," }
            first = false
            JSONValue.writeString(t.name, to: &header)
            header += ":{\"dtype\":\"F32\",\"shape\":[" + t.shape.map(String.init).joined(separator: ",")
            header += "],\"data_offsets\":[\(offset),\(offset + 4 * t.values.count)]}"
            offset += 4 * t.values.count
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        let n = UInt64(headerBytes.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        out += headerBytes
        let dataStart = out.count
        out += [UInt8](repeating: 0, count: offset)
        out.withUnsafeMutableBytes { raw in
            var at = dataStart
            for t in tensors {
                for v in t.values {
                    raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: at, as: UInt32.self)
                    at += 4
                }
            }
        }
        return out
    }

    /// Encodes every tensor of each store, named `prefix + entry.name`, in store order.
    public static func encode(stores: [(prefix: String, store: ParameterStore)], metadata: [String: String] = [:]) -> [UInt8] {
        var tensors: [Tensor] = []
        for (prefix, store) in stores {
            for e in store.entries {
                tensors.append(Tensor(name: prefix + e.name, shape: e.shape,
                                      values: UnsafeBufferPointer(start: store.view(e), count: e.count)))
            }
        }
        return encode(tensors, metadata: metadata)
    }

    /// Fills each store from this file's tensors named `prefix + entry.name`, after checking
    /// that the file holds exactly those tensors with exactly those shapes and only finite
    /// values. Nothing is written into the stores unless every check passes.
    /// - Throws: ``StorageError`` listing every missing tensor, unexpected tensor, wrong
    ///   shape (expected vs found), and the first non-finite value.
    /// - Complexity: O(total elements).
    public func load(into stores: [(prefix: String, store: ParameterStore)]) throws {
        var problems: [String] = []
        var expected = Set<String>()
        var pairs: [(SafeTensorInfo, ParameterStore, ParameterStore.Entry)] = []
        for (prefix, store) in stores {
            for e in store.entries {
                let name = prefix + e.name
                expected.insert(name)
                guard let t = tensor(name) else {
                    problems.append("missing tensor \"\(name)\" of shape \(e.shape)")
                    continue
                }
                if t.shape != e.shape {
                    problems.append("tensor \"\(name)\" has shape \(t.shape), expected \(e.shape)")
                    continue
                }
                pairs.append((t, store, e))
            }
        }
        for t in tensors where !expected.contains(t.name) {
            problems.append("unexpected tensor \"\(t.name)\" of shape \(t.shape)")
        }
        if !problems.isEmpty {
            let shown = problems.prefix(8).joined(separator: "; ")
            let more = problems.count > 8 ? "; and \(problems.count - 8) more" : ""
            throw StorageError(path, "does not match the model: \(shown)\(more)")
        }
        // Check finiteness before touching any store.
        for (t, _, _) in pairs {
            let start = dataStart + t.dataOffsets.lowerBound
            let bad: Int? = bytes.withUnsafeBytes { raw in
                for i in 0..<t.elementCount {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self))
                    if bits & 0x7F80_0000 == 0x7F80_0000 { return i }
                }
                return nil
            }
            if let bad {
                throw StorageError(path, "tensor \"\(t.name)\" has a non-finite value at element \(bad)")
            }
        }
        for (t, store, e) in pairs { copyFloats(t, into: store.view(e)) }
    }
}
