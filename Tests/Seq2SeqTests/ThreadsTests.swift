import XCTest
@testable import Seq2Seq

/// The default thread count and its environment variables (`Tensor/Threads.swift`).
final class ThreadsTests: XCTestCase {
    func testDefaultThreadsFollowTheEnvironment() {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertEqual(defaultComputeThreads(environment: [:]), cores)
        XCTAssertEqual(defaultComputeThreads(environment: ["MIXER_THREADS": "3"]), 3)
        XCTAssertEqual(defaultComputeThreads(environment: ["OMP_NUM_THREADS": "5"]), 5)
        // MIXER_THREADS wins over OMP_NUM_THREADS; values that are not positive numbers are ignored.
        XCTAssertEqual(defaultComputeThreads(environment: ["MIXER_THREADS": "2", "OMP_NUM_THREADS": "5"]), 2)
        XCTAssertEqual(defaultComputeThreads(environment: ["MIXER_THREADS": "0", "OMP_NUM_THREADS": "4"]), 4)
        XCTAssertEqual(defaultComputeThreads(environment: ["MIXER_THREADS": "many"]), cores)
        XCTAssertEqual(defaultComputeThreads(environment: ["MIXER_THREADS": "-2"]), cores)
        // The BLAS variable of old versions is no longer read.
        XCTAssertEqual(defaultComputeThreads(environment: ["OPENBLAS_NUM_THREADS": "7"]), cores)
    }

    func testSetComputeThreadsClampsToOne() {
        let saved = computeThreadCount()
        defer { setComputeThreads(saved) }
        setComputeThreads(0)
        XCTAssertEqual(computeThreadCount(), 1)
        setComputeThreads(6)
        XCTAssertEqual(computeThreadCount(), 6)
    }
}
