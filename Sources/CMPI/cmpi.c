// See include/cmpi.h. Open MPI's ABI (libmpi.so.40, Open MPI 3.0 to 5.x): handles are pointers
// to the predefined objects `ompi_mpi_comm_world`, `ompi_mpi_float`, … exported by the library,
// MPI_IN_PLACE is (void *)1 and MPI_THREAD_FUNNELED is 1, MPI_SUCCESS 0. No other MPI (MPICH's
// handles are integers) is supported; the loader says so when the symbols are missing.
#define _GNU_SOURCE
#include "cmpi.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *handle_t;
#define CMPI_IN_PLACE ((void *)1)
#define CMPI_THREAD_SERIALIZED 2

static void *library;
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_comm_rank)(handle_t, int *);
static int (*p_comm_size)(handle_t, int *);
static int (*p_allreduce)(const void *, void *, int, handle_t, handle_t, handle_t);
static int (*p_allgather)(const void *, int, handle_t, void *, int, handle_t, handle_t);
static int (*p_bcast)(void *, int, handle_t, int, handle_t);
static int (*p_abort)(handle_t, int);
static int (*p_finalize)(void);
static handle_t comm_world, type_float, type_double, type_int64, type_byte, op_sum, op_bor;

int cmpi_launcher_size(void) {
    const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            long n = strtol(v, NULL, 10);
            return n > 0 && n < INT_MAX ? (int)n : 1;
        }
    }
    // PMIx without a size variable (a rank alone says we are under a launcher).
    if (getenv("PMIX_RANK") || getenv("OMPI_COMM_WORLD_RANK")) return 1;
    return 0;
}

int cmpi_load(char *error, size_t capacity) {
    if (library) return 0;
    // MIXER_MPI_LIBRARY names another library file (an Open MPI outside the loader's path).
    const char *chosen = getenv("MIXER_MPI_LIBRARY");
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    size_t count = 2;
    if (chosen && *chosen) { names[0] = chosen; count = 1; }
    void *lib = NULL;
    const char *why = "";
    for (size_t i = 0; i < count && !lib; i++) {
        // RTLD_GLOBAL: Open MPI's components (loaded by libmpi itself) resolve libmpi's symbols.
        lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
        if (!lib) why = dlerror();
    }
    if (!lib) {
        snprintf(error, capacity, "cannot load Open MPI's library %s (%s)", names[0], why ? why : "not found");
        return -1;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"MPI_Init_thread", (void **)&p_init_thread}, {"MPI_Comm_rank", (void **)&p_comm_rank},
        {"MPI_Comm_size", (void **)&p_comm_size}, {"MPI_Allreduce", (void **)&p_allreduce},
        {"MPI_Allgather", (void **)&p_allgather}, {"MPI_Bcast", (void **)&p_bcast},
        {"MPI_Abort", (void **)&p_abort},
        {"MPI_Finalize", (void **)&p_finalize},
        {"ompi_mpi_comm_world", &comm_world}, {"ompi_mpi_float", &type_float},
        {"ompi_mpi_double", &type_double}, {"ompi_mpi_int64_t", &type_int64},
        {"ompi_mpi_byte", &type_byte}, {"ompi_mpi_op_sum", &op_sum},
        {"ompi_mpi_op_bor", &op_bor},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *s = dlsym(lib, symbols[i].name);
        if (!s) {
            snprintf(error, capacity, "the MPI library has no symbol %s: mixer needs Open MPI (libmpi.so.40)", symbols[i].name);
            dlclose(lib);
            return -1;
        }
        *symbols[i].slot = s;
    }
    library = lib;
    return 0;
}

static int provided_level = 0;

int cmpi_thread_serialized(void) { return provided_level >= CMPI_THREAD_SERIALIZED; }

int cmpi_init(int *rank, int *size) {
    // The ring allreduce (Open MPI's tuned algorithm 4) unless the user chose another: on the
    // gradient buffer of the reference model (40 MB, 2 ranks on one machine) it took 57-72 ms
    // against 110-120 ms for the default choice (bench/distributed.sh, docs/distributed.md).
    setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 0);
    setenv("OMPI_MCA_coll_tuned_allreduce_algorithm", "4", 0);
    // SERIALIZED: the gradient buckets are reduced on a communication thread while the main
    // thread runs backward; the two never call MPI at the same time (ProcessGroup).
    int rc = p_init_thread(NULL, NULL, CMPI_THREAD_SERIALIZED, &provided_level);
    if (rc != 0) return rc;
    if ((rc = p_comm_rank(comm_world, rank)) != 0) return rc;
    return p_comm_size(comm_world, size);
}

static int allreduce(void *buffer, int64_t count, size_t element, handle_t type, handle_t op) {
    char *p = buffer;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = p_allreduce(CMPI_IN_PLACE, p, n, type, op, comm_world);
        if (rc != 0) return rc;
        p += (size_t)n * element;
        count -= n;
    }
    return 0;
}

int cmpi_allreduce_sum_float(float *buffer, int64_t count) { return allreduce(buffer, count, sizeof(float), type_float, op_sum); }
int cmpi_allreduce_sum_double(double *buffer, int64_t count) { return allreduce(buffer, count, sizeof(double), type_double, op_sum); }
int cmpi_allreduce_or_bytes(uint8_t *buffer, int64_t count) { return allreduce(buffer, count, 1, type_byte, op_bor); }

int cmpi_allgather_int64(int64_t value, int64_t *out) {
    return p_allgather(&value, 1, type_int64, out, 1, type_int64, comm_world);
}

int cmpi_broadcast_bytes(void *buffer, int64_t count, int root) {
    char *p = buffer;
    while (count > 0) {
        int n = count > INT_MAX ? INT_MAX : (int)count;
        int rc = p_bcast(p, n, type_byte, root, comm_world);
        if (rc != 0) return rc;
        p += n;
        count -= n;
    }
    return 0;
}

void cmpi_abort(int code) {
    if (p_abort) p_abort(comm_world, code);
    _Exit(code);
}

int cmpi_finalize(void) { return p_finalize ? p_finalize() : 0; }
