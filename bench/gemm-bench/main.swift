// gemm-bench: the driver of bench/gemm.sh (not part of the product): mixer's matrix products
// against the system BLAS. It is the only benchmark that links OpenBLAS (through SystemBLAS), so
// that the training and decoding benchmarks run the same binaries' code as mixer-cli, without an
// OpenBLAS thread pool.
GemmBench.main()
