// libFuzzer target: arbitrary bytes as a model.safetensors file. Built by fuzz/run.sh with the
// loader's sources (SafeTensors, JSONValue, FileIO, ParameterStore); not part of `make test`.
// The parser and the loader must throw CheckpointError or succeed, never trap.
nonisolated(unsafe) var store: ParameterStore? = nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    if store == nil {
        let s = ParameterStore()
        s.add("encoder.embedding.weight", shape: [7, 4])
        s.add("decoder.lstm.bias", shape: [16])
        s.add("output.weight", shape: [6, 4])
        store = s
    }
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    do {
        let file = try SafeTensorsFile(bytes: bytes, path: "model.safetensors")
        try file.load(into: [("", store!)])
    } catch is CheckpointError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
