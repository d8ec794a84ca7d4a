#ifndef CMPI_H
#define CMPI_H
// A C shim over Open MPI that needs neither mpi.h to build nor libmpi to run a single process:
// libmpi.so.40 (or libmpi.so) is opened with dlopen at run time and the few functions and
// predefined handles mixer uses are resolved by name. See docs/distributed.md.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The number of processes an MPI launcher says this job has (OMPI_COMM_WORLD_SIZE, or
/// PMIX/PMI variables when only they are set); 0 when the process was not started by one.
int cmpi_launcher_size(void);

/// Opens libmpi (libmpi.so.40, else libmpi.so; the file MIXER_MPI_LIBRARY names when it is
/// set) and resolves every symbol the shim calls. Returns 0, or -1 with a message in
/// `error` (at most `capacity` bytes, NUL-terminated). Idempotent.
int cmpi_load(char *error, size_t capacity);

/// MPI_Init_thread(MPI_THREAD_SERIALIZED) then MPI_COMM_WORLD's rank and size. 0 or an MPI error code.
/// Chooses Open MPI's ring allreduce (OMPI_MCA_coll_tuned_allreduce_algorithm=4) unless the
/// environment already chooses one.
int cmpi_init(int *rank, int *size);

/// 1 when the library granted MPI_THREAD_SERIALIZED (any one thread at a time may call MPI).
int cmpi_thread_serialized(void);

/// In-place sum over MPI_COMM_WORLD (MPI_Allreduce with MPI_IN_PLACE, MPI_SUM), in pieces of
/// at most INT32_MAX elements. 0 or an MPI error code.
int cmpi_allreduce_sum_float(float *buffer, int64_t count);
int cmpi_allreduce_sum_double(double *buffer, int64_t count);

/// In-place bitwise or of `count` bytes over MPI_COMM_WORLD (MPI_Allreduce, MPI_BYTE,
/// MPI_BOR): the union of the ranks' bitmaps. 0 or an MPI error code.
int cmpi_allreduce_or_bytes(uint8_t *buffer, int64_t count);

/// MPI_Allgather of one int64 per rank into `out` (size entries, in rank order).
int cmpi_allgather_int64(int64_t value, int64_t *out);

/// MPI_Bcast of `count` bytes from `root`.
int cmpi_broadcast_bytes(void *buffer, int64_t count, int root);

/// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
void cmpi_abort(int code);

/// MPI_Finalize. 0 or an MPI error code.
int cmpi_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
