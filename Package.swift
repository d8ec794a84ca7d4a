// swift-tools-version:6.0
import PackageDescription

// `MIXER_CHECKED=1` builds Metrics with Swift's checks on (bounds, overflow, preconditions), as
// Seq2Seq always is: `make test` runs the robustness suites (hostile input, fuzz, checkpoint
// mutation, run directories) on such a build in `.build-checked`, so an out-of-bounds access
// there traps instead of corrupting memory silently. The products keep -Ounchecked in Metrics
// only, where it buys 10-40% on the rewards and n-gram counting (docs/robustness.md).
let checked = Context.environment["MIXER_CHECKED"] == "1"
let metricsFlags: [SwiftSetting] = checked ? []
    : [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "mixer",
    platforms: [.macOS(.v13)],
    // MARK: - Public API
    products: [
        .library(name: "Tokenize", targets: ["Tokenize"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Seq2Seq", targets: ["Seq2Seq"]),
        .executable(name: "mixer-cli", targets: ["mixer-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `mixer-cli train --config FILE` (YAML).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: - Implementation details: C shims over system libraries
        .target(
            name: "CICU",
            linkerSettings: [
                .linkedLibrary("icuuc"),
                .linkedLibrary("icui18n"),
                .linkedLibrary("icudata"),
            ]
        ),
        // The numeric kernels, one .c per op family (gemm, gemv, softmax, lstm, argmax, adam,
        // elementwise; AVX-512 / AVX2 / portable C, chosen at run time) and the thread pool.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // C interface to SentencePiece's C++ library (Debian's libsentencepiece-dev).
        .target(
            name: "CSentencePiece",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train")]
        ),
        // Open MPI for data-parallel training, opened with dlopen at run time: the build needs
        // neither mpi.h nor libmpi, and a single process never loads it (docs/distributed.md).
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // MARK: - Libraries
        .target(name: "Tokenize", dependencies: ["CICU", "CSentencePiece"]),
        // The option groups and checks shared by mixer-cli and the benchmark drivers (not a product).
        .target(
            name: "MixerOptions",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "Metrics",
            dependencies: ["CICU", "Tokenize"],
            swiftSettings: metricsFlags
        ),
        .target(
            name: "Seq2Seq",
            dependencies: ["CKernels", "CMPI", "Tokenize", "Metrics"]
        ),
        // The system BLAS as the benchmarks' peer and a test oracle (not linked by the products).
        .target(
            name: "SystemBLAS",
            dependencies: ["CBLAS"],
            linkerSettings: [
                .linkedLibrary("openblas", .when(platforms: [.linux])),
                .linkedFramework("Accelerate", .when(platforms: [.macOS])),
            ]
        ),
        .executableTarget(
            name: "mixer-cli",
            dependencies: [
                "Tokenize", "Metrics", "Seq2Seq", "MixerOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // Benchmark driver of bench/metrics.sh (not a product).
        .executableTarget(name: "metrics-bench", dependencies: ["Metrics", "Tokenize"], path: "bench/metrics-bench"),
        // Benchmark driver of bench/decode.sh (not a product).
        .executableTarget(
            name: "decode-bench",
            dependencies: ["Seq2Seq", "MixerOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/decode-bench"
        ),
        // Benchmark driver of bench/train.sh (not a product).
        .executableTarget(
            name: "mixer-bench",
            dependencies: ["Seq2Seq", "MixerOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Benchmark driver of bench/gemm.sh (not a product): mixer's products vs the system BLAS.
        .executableTarget(
            name: "gemm-bench",
            dependencies: ["Seq2Seq", "SystemBLAS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/gemm-bench"
        ),

        // MARK: - Tests
        .testTarget(name: "TokenizeTests", dependencies: ["Tokenize"], resources: [.copy("Resources")]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "Tokenize"], resources: [.copy("Resources")]),
        .testTarget(name: "Seq2SeqTests", dependencies: ["Seq2Seq", "SystemBLAS", "Metrics", "Tokenize"], resources: [.copy("Resources")]),
        .testTarget(name: "CLITests", dependencies: ["mixer-cli", "Seq2Seq"]),
    ],
    swiftLanguageModes: [.v5]
)
