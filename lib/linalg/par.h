/*
 * Private: the library's threading policy, in one place.
 *
 * How many threads: otk__threads clamps a `threads` setting (0: the OpenMP
 * default) and otk__threads_for_work also keeps small problems on the
 * calling thread (a parallel region only pays with enough work per
 * thread).
 *
 * Who runs them: a solver splits a repeated parallel region (a Sinkhorn
 * sweep, an evaluation of the smooth engine) into `parts` blocks, each
 * with its own partial results, combined in block order after the region;
 * the results depend on parts alone. An otk__par decides per region
 * whether a team of parts threads runs the blocks or the calling thread
 * runs them one after the other, by timing both: OpenMP threads wait by
 * spinning (libgomp reads its wait policy once, at start-up, from the
 * environment), so on a core shared with another busy process a team can
 * be several times slower than one thread, and only a measurement tells.
 * Regions start on the calling thread; the team is promoted once measured
 * faster. Whatever it decides, the numbers are the same bit for bit. The
 * team's threads are those of one parallel region per solve (a crew,
 * below), which wait between regions by sleeping.
 *
 *   const int team = otk__par_begin(&par);
 *   otk__par_blocks(team, parts, block_fn, &ctx);
 *   otk__par_end(&par);
 */
#ifndef OTK_LINALG_PAR_H
#define OTK_LINALG_PAR_H

#include <stddef.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Cost entries per thread and region below which a thread does not pay
 * (measured for Sinkhorn's sweeps; the smooth engine uses the same). */
#define OTK_MIN_WORK_PER_THREAD 131072

/* A threads setting (0: the OpenMP default) clamped to
 * [1, min(OTK_MAX_THREADS, 4 x the processors)]. */
int otk__threads(int requested);
/* The same, and for requested = 0 at most one thread per
 * OTK_MIN_WORK_PER_THREAD of `work` (cost entries per region). */
int otk__threads_for_work(int requested, size_t work);

/* The measured choice between a team and the calling thread (see above).
 * Fields are private to par.c. */
typedef struct otk__par {
    int parts;           /* blocks, and threads of a team */
    int team;            /* threads of the current region: parts or 1 */
    unsigned long count; /* regions timed so far */
    unsigned long next_probe;
    unsigned long interval; /* regions between probes of the other mode */
    int mode;               /* the chosen mode: 0 the calling thread, 1 team */
    double start;
    double best[2];   /* probing: the mean region of each mode */
    double recent[2]; /* the last two regions of the chosen mode */
    double (*clock)(void);
} otk__par;

/* A decider for `parts` blocks (parts = 1: always the calling thread). It
 * starts from the last choice any decider of the process made (see
 * otk__par_hint), else by timing two regions of each mode. */
void otk__par_init(otk__par *p, int parts);
/* The threads to run the next region with (parts or 1); starts its clock. */
int otk__par_begin(otk__par *p);
/* Stops the region's clock and updates the choice. */
void otk__par_end(otk__par *p);
/* The same for a region that did `work` times a typical region's work
 * (a sweep that redid rows): its time / work counts, so that regions are
 * compared like with like. */
void otk__par_end_work(otk__par *p, double work);
/* The threads of the current choice, for a region run once per solve
 * (neither timed nor probing); only for regions whose results do not
 * depend on who runs the blocks. */
int otk__par_team(const otk__par *p);
/* The same with the region's time given (the decision itself; tested
 * with made-up times). */
void otk__par_record(otk__par *p, double seconds);

/* The clock otk__par_init gives a decider: otk__now, monotonic seconds.
 * Tests replace it to drive the decision. */
extern double (*otk__par_clock)(void);
/* The last choice made by any decider: 0 none yet, 1 the calling thread,
 * 2 a team. The load of the machine is what decides, so a new solve (a
 * one-shot call has a new workspace each time) starts from it instead of
 * probing again. Tests reset it to 0. */
extern int otk__par_hint;
/* Regions run so far in the process, through otk__par_begin and
 * otk__par_team: [0] on the calling thread, [1] by a team. Counts for
 * benchmarks and tests (how many regions a solve ran on a team), which
 * may reset them. */
extern unsigned long otk__par_regions[2];

/*
 * One parallel region per solve: a crew. otk__crew_run runs a solve's
 * body on the calling thread with threads - 1 threads of the library's
 * own standing by, created for the solve and joined at its end;
 * otk__par_blocks hands them the blocks of each sweep (or evaluation) in
 * turn. An OpenMP region per sweep costs a team start and libgomp's wait
 * at its end, whose threads spin (libgomp reads its wait policy once, from
 * the environment; even one region per solve left about 10 ms of spinning
 * per solve), and on a core shared with another busy process they take
 * that process's time slices to do so. The crew's threads wait for the
 * next job by spinning briefly (OTK_CREW_SPIN_S), then sleeping, whatever
 * the environment says. The threads, the calling one included, claim a
 * job's blocks one at a time, so a thread the scheduler has not run yet
 * (its core taken by another process) delays nobody: the calling thread
 * runs what is left. Each block has its own partial results, so the
 * results are those of a region per sweep bit for bit, whoever ran which
 * block.
 *
 *   static void block(void *ctx, int b) { ... block b ... }
 *   const int team = otk__par_begin(&par);
 *   otk__par_blocks(team, parts, block, ctx);
 *   otk__par_end(&par);
 *
 * Inside otk__crew_run's body a job of team > 1 goes to the crew; outside
 * one, to an OpenMP region of its own; team = 1 (or a crew that got no
 * threads) runs the blocks on the calling thread, in order. The crew
 * exists only with OpenMP (without it every solve has one thread).
 */
#define OTK_CREW_SPIN_S 50e-6 /* spin this long before sleeping */

typedef void (*otk__block_fn)(void *ctx, int block);
/* Runs body(ctx) with a crew of `threads` (<= 1, without OpenMP, inside
 * an OpenMP parallel region or another crew: no crew, body alone);
 * returns body's value. */
int otk__crew_run(int threads, int (*body)(void *ctx), void *ctx);
/* Runs fn(ctx, b) for b = 0, .., parts - 1 (see above); returns when all
 * have run. */
void otk__par_blocks(int team, int parts, otk__block_fn fn, void *ctx);
/* Counts for benchmarks and tests, which may reset them: [0] parallel
 * regions opened with more than one thread (a crew, or an OpenMP region
 * for one job), [1] jobs handed to a crew (each costs two
 * synchronizations: the hand-off and the wait for its end). */
extern unsigned long otk__par_opened[2];

/* Inside the region: block b of parts, for the calling thread of the
 * team; all of them, in order, without a team. */
#ifdef _OPENMP
#define OTK_PAR_BLOCKS(b, parts)                                               \
    for (int b = omp_get_thread_num(); b < (parts); b += omp_get_num_threads())
#else
#define OTK_PAR_BLOCKS(b, parts) for (int b = 0; b < (parts); b++)
#endif

#endif
