// mixer's thread pool for the parts of one parallel loop (see mk_parallel in include/ckernels.h).
//
// Why not libdispatch's concurrentPerform: a training step runs a few hundred parallel loops of
// 20–500 µs each, and a worker that went to sleep between them has to be woken by the kernel; in
// a virtual machine each wake-up is an inter-processor interrupt and a VM exit (measured here:
// ≈ 20 ms of system time per 100 ms step with two threads). These workers spin (with `pause`) for
// a while after each loop before they block, as OpenMP runtimes do, so back-to-back loops start
// without a system call.
//
// Protocol. One loop at a time (posting is serialised by a mutex). A loop is published by one
// atomic store of `ticket` = generation (16 bits) | parts (16 bits) | next part (32 bits), after
// its function and context are written. Each thread claims a part with fetch_add(ticket, 1): the
// returned word says which loop and which part, so a late worker can never run a part of a loop
// other than the one it claimed from, and a claim past `parts` does nothing. The function and
// context are read only after a successful claim, and cannot change before that part is done
// (the caller posts the next loop only when every part has finished). The caller claims parts
// too, then waits for `pending` to reach 0. Which thread runs a part never changes a result:
// parts are independent by contract.
#include "ckernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MK_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define MK_RELAX() __asm__ __volatile__("yield")
#else
#define MK_RELAX() ((void)0)
#endif

#define MK_POOL_MAX_WORKERS 255
// How long an idle worker spins before it blocks (the gaps between a step's loops are far shorter),
// and how long when there are more threads than processors (spinning would then take a processor
// from a thread with work; the workers block almost at once).
#define MK_SPIN_NS 2000000L
#define MK_SPIN_NS_OVERSUBSCRIBED 20000L

static _Atomic long spin_ns = MK_SPIN_NS;  // set when workers are started
static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;  // one loop at a time; guards `workers`
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int workers;                   // threads started (they live as long as the process)
static _Atomic uint64_t ticket;       // generation << 48 | parts << 32 | next part
static _Atomic int pending;           // parts of the current loop not yet finished
static _Atomic int sleepers;          // workers blocked on `wake`
static mk_part_fn job_fn;
static void *job_ctx;
static _Thread_local int inside_part;  // set while this thread runs a part

static uint64_t generation_of(uint64_t t) { return t >> 48; }

static long elapsed_ns(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

// Claims and runs parts of the loop published in `ticket` until none is left.
static void run_parts(void) {
    for (;;) {
        uint64_t t = atomic_fetch_add_explicit(&ticket, 1, memory_order_acq_rel);
        int parts = (int)((t >> 32) & 0xFFFF), part = (int)(t & 0xFFFFFFFFu);
        if (part >= parts) return;
        inside_part = 1;
        job_fn(job_ctx, part);
        inside_part = 0;
        atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    uint64_t seen = generation_of(atomic_load(&ticket));
    for (;;) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        int spins = 0;
        while (generation_of(atomic_load_explicit(&ticket, memory_order_acquire)) == seen) {
            MK_RELAX();
            if (++spins % 256 || elapsed_ns(&start) < atomic_load_explicit(&spin_ns, memory_order_relaxed)) continue;
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);  // seq_cst: pairs with the poster's store, then load
            while (generation_of(atomic_load(&ticket)) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
            break;
        }
        seen = generation_of(atomic_load(&ticket));
        run_parts();
    }
    return 0;
}

int mk_parallel_inside_part(void) { return inside_part; }

int mk_parallel(int parts, int threads, mk_part_fn fn, void *ctx) {
    if (parts <= 0) return 0;
    if (parts == 1 || threads <= 1 || inside_part || parts > 0xFFFF) {
        for (int i = 0; i < parts; i++) fn(ctx, i);
        return 0;
    }
    pthread_mutex_lock(&post_lock);
    int want = threads - 1 < MK_POOL_MAX_WORKERS ? threads - 1 : MK_POOL_MAX_WORKERS;
    while (workers < want) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&th, &attr, worker_main, 0);
        pthread_attr_destroy(&attr);
        if (failed) break;
        workers++;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    spin_ns = cpus > 0 && workers + 1 > cpus ? MK_SPIN_NS_OVERSUBSCRIBED : MK_SPIN_NS;
    if (workers == 0) {  // no thread could be started: run the parts here
        pthread_mutex_unlock(&post_lock);
        for (int i = 0; i < parts; i++) fn(ctx, i);
        return 0;
    }
    job_fn = fn;
    job_ctx = ctx;
    atomic_store_explicit(&pending, parts, memory_order_relaxed);
    uint64_t next_generation = (generation_of(atomic_load(&ticket)) + 1) & 0xFFFF;
    atomic_store(&ticket, next_generation << 48 | (uint64_t)parts << 32);  // seq_cst: publish
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_parts();
    while (atomic_load_explicit(&pending, memory_order_acquire) > 0) MK_RELAX();
    pthread_mutex_unlock(&post_lock);
    return 1;
}
