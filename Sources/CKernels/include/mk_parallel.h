#ifndef MIXER_MK_PARALLEL_H
#define MIXER_MK_PARALLEL_H

#include <stddef.h>

/// A part of a parallel loop: fn(ctx, part) for part in 0 ..< parts.
typedef void (*mk_part_fn)(void *ctx, int part);

/// Runs fn(ctx, 0) … fn(ctx, parts − 1), the parts independent of each other, on the calling
/// thread and up to threads − 1 workers of a process-wide pool (started on first use; an idle
/// worker spins for 2 ms before it blocks, so that the many short loops of a training step start
/// without waking a thread through the kernel; 20 µs when there are more threads than
/// processors). Returns when every part is done. Serially on the
/// calling thread when parts or threads ≤ 1, or when called from inside a part (nested loops);
/// returns 1 when the pool ran the loop, 0 when it ran serially.
int mk_parallel(int parts, int threads, mk_part_fn fn, void *ctx);

/// Whether the calling thread is running a part of an mk_parallel loop.
int mk_parallel_inside_part(void);

#endif
