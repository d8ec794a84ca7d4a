import CBLAS

/// Which BLAS kernel runs the matrix products, as OpenBLAS names it ("Haswell", "SkylakeX"),
/// or "Accelerate" on Apple platforms.
public var blasCoreName: String {
    #if canImport(Darwin)
    return "Accelerate"
    #else
    return String(cString: openblas_get_corename())
    #endif
}

/// Sets the number of BLAS threads (OpenBLAS); a no-op on Accelerate.
public func setBLASThreads(_ n: Int) {
    #if !canImport(Darwin)
    openblas_set_num_threads(Int32(n))
    #endif
}
