import CMPI
import Foundation

/// The processes that train one model together: data parallelism over MPI
/// (`mpirun -np N mixer-cli train …`), or one process alone (``single``).
///
/// Each of the N ranks computes the gradient of its shard of every global batch
/// (``RowShard``); ``sum(_:count:)`` adds the N partial gradients with one `MPI_Allreduce`, so
/// that every rank applies the same update. Rank 0 alone validates and writes the run
/// directory (``isWriter``). See `docs/distributed.md`.
///
/// Open MPI is reached through the `CMPI` shim, which opens `libmpi.so.40` with `dlopen` when
/// ``join()`` finds an MPI launcher in the environment: the build needs no `mpi.h`, and a
/// process that was not started by `mpirun` (or is alone in its job) never loads the library.
/// Calls are made by one thread at a time (`MPI_THREAD_SERIALIZED`): the main thread, or the
/// communication thread that reduces gradient buckets during backward (``GradientReduction``)
/// while the main thread makes none. An MPI error aborts the
/// whole job (Open MPI's default handler, `MPI_ERRORS_ARE_FATAL`), so no rank is left waiting
/// in a collective; so does a rank that exits non-zero (`mpirun` ends the others).
public final class ProcessGroup: @unchecked Sendable {
    /// This process's index, 0 ..< ``size``.
    public let rank: Int
    /// The number of processes (1: no MPI).
    public let size: Int

    /// Whether this process writes the run directory, logs and prints: rank 0.
    public var isWriter: Bool { rank == 0 }

    /// A process alone: every collective is the identity.
    public static let single = ProcessGroup(rank: 0, size: 1)

    /// Whether a second thread may make this group's calls, one thread at a time (the library
    /// granted `MPI_THREAD_SERIALIZED`); false alone.
    public let serialized: Bool

    init(rank: Int, size: Int, serialized: Bool = false) {
        self.rank = rank
        self.size = size
        self.serialized = serialized
    }

    /// `"single process"` or `"rank R of N (Open MPI)"`, for the console.
    public var description: String { size == 1 ? "single process" : "rank \(rank) of \(size) (Open MPI)" }

    /// The group this process was started in: under an MPI launcher (`OMPI_COMM_WORLD_SIZE`,
    /// `PMIX_SIZE` or `PMI_SIZE` set) with more than one process, loads Open MPI and joins
    /// `MPI_COMM_WORLD`; otherwise ``single``, without loading any library. Call it once.
    /// - Throws: ``DistributedError`` when the launcher started N > 1 processes but Open MPI's
    ///   library cannot be loaded or initialised.
    public static func join() throws -> ProcessGroup {
        let launched = Int(cmpi_launcher_size())
        guard launched > 1 else { return .single }
        var message = [CChar](repeating: 0, count: 512)
        if cmpi_load(&message, message.count) != 0 {
            throw DistributedError("this process was started by an MPI launcher with \(launched) processes, but \(String(cString: message)); install Open MPI (apt-get install libopenmpi-dev openmpi-bin, or `make deps`) or run mixer-cli without mpirun")
        }
        var rank: Int32 = 0, size: Int32 = 0
        let rc = cmpi_init(&rank, &size)
        guard rc == 0 else { throw DistributedError("MPI_Init_thread failed (MPI error \(rc))") }
        return ProcessGroup(rank: Int(rank), size: Int(size), serialized: cmpi_thread_serialized() != 0)
    }

    /// Adds `count` floats at `buffer` over all ranks, in place: one `MPI_Allreduce`
    /// (`MPI_SUM`). Every rank gets the same bits (Open MPI reduces in an order fixed by the
    /// rank count and the message size, not by timing).
    /// - Complexity: about 2·(N−1)/N · 4·count bytes sent per rank (ring or recursive halving).
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1, count > 0 else { return }
        check(cmpi_allreduce_sum_float(buffer, Int64(count)), "MPI_Allreduce")
    }

    /// Adds `values` over all ranks, in place (one `MPI_Allreduce` of doubles).
    public func sum(_ values: inout [Double]) {
        guard size > 1, !values.isEmpty else { return }
        let n = values.count
        values.withUnsafeMutableBufferPointer { check(cmpi_allreduce_sum_double($0.baseAddress!, Int64(n)), "MPI_Allreduce") }
    }

    /// The bitwise or of `bytes` over all ranks, in place (one `MPI_Allreduce` with `MPI_BOR`):
    /// the union of the ranks' flags.
    public func union(_ bytes: inout [UInt8]) {
        guard size > 1, !bytes.isEmpty else { return }
        let n = bytes.count
        bytes.withUnsafeMutableBufferPointer { check(cmpi_allreduce_or_bytes($0.baseAddress!, Int64(n)), "MPI_Allreduce") }
    }

    /// Every rank's `value`, in rank order (one `MPI_Allgather`).
    public func gather(_ value: Int) -> [Int] {
        guard size > 1 else { return [value] }
        var out = [Int64](repeating: 0, count: size)
        out.withUnsafeMutableBufferPointer { check(cmpi_allgather_int64(Int64(value), $0.baseAddress!), "MPI_Allgather") }
        return out.map { Int($0) }
    }

    /// Gives every rank rank `root`'s `values` (one `MPI_Bcast`); `values` must have the same
    /// count on every rank.
    public func broadcast(_ values: inout [Double], from root: Int = 0) {
        guard size > 1, !values.isEmpty else { return }
        let n = values.count * MemoryLayout<Double>.size
        values.withUnsafeMutableBytes { check(cmpi_broadcast_bytes($0.baseAddress!, Int64(n), Int32(root)), "MPI_Bcast") }
    }

    /// Ends the group (`MPI_Finalize`); call once, after the last collective.
    public func finalize() {
        guard size > 1 else { return }
        _ = cmpi_finalize()
    }

    /// Ends every rank of the job with `code` (`MPI_Abort`): for a rank that cannot go on
    /// while the others may be waiting in a collective.
    public func abort(code: Int32) -> Never {
        if size > 1 { cmpi_abort(code) }
        exit(code)
    }

    private func check(_ rc: Int32, _ call: String) {
        guard rc != 0 else { return }
        FileHandle.standardError.write(Data("mixer: \(call) failed (MPI error \(rc)) on rank \(rank); aborting the job\n".utf8))
        abort(code: 1)
    }
}

/// Data-parallel training cannot start or go on.
public struct DistributedError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
