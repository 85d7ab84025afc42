/*
 * The threading policy (see par.h): thread counts, and the measured choice
 * between a team and the calling thread for repeated parallel regions.
 *
 * The choice: regions start on the calling thread, and the team is
 * promoted only once measured faster. The first 2 PROBES regions alternate
 * calling thread and team (calling thread first; after the first pair
 * already if one mode took more than CLEAR_RATIO times the other) and the
 * faster mode by its mean region is chosen; until then the one-off
 * regions (otk__par_team) run on the calling thread too. A team that
 * spins on a core another process holds, or that would not pay on a short
 * solve, so costs one team region before the choice (two when the times
 * are close). Then, now
 * and then, one region runs in the other mode; if it beats the chosen
 * mode's last two regions (the better of them on the calling thread, their
 * mean for a team) the choice flips.
 * The gap to the next probe is `interval` regions, which starts at
 * FIRST_INTERVAL after a change and doubles up to MAX_INTERVAL while the
 * choice stands, and at least PROBE_SHARE times the probe's cost in
 * regions of the chosen mode: on a loaded machine a team region can take
 * a hundred times a region on the calling thread (each team thread waits
 * for a time slice), and probes then still cost at most about
 * 1 / PROBE_SHARE of the time. So a change of load (another process
 * taking or leaving a core) is followed after a bounded number of regions.
 * Times are wall clock: the faster mode for the caller is the one that
 * returns sooner. They compare like with like: a region that did more work
 * than usual (a log-domain sweep whose shift guesses were off, as after a
 * change of reg, computes those rows twice) counts its time per unit of
 * work (otk__par_end_work).
 */
#include <math.h>

#include <otkit/base.h>

#include "core/core.h"
#include "linalg/par.h"

#define PROBES 2         /* regions of each mode timed before choosing */
#define FIRST_INTERVAL 8 /* regions between probes after a change */
#define MAX_INTERVAL 256 /* and at most, once the choice is stable */
#define CLEAR_RATIO 2.0  /* a first pair this far apart decides alone */
#define PROBE_SHARE 20.0 /* probes cost at most 1 / this of the time */
#define MAX_GAP 65536UL  /* but are never further apart than this */

double (*otk__par_clock)(void) = otk__now;
int otk__par_hint = 0;
unsigned long otk__par_regions[2];

/* Counted with relaxed atomics: deciders may run in several user threads. */
static void count_region(int team)
{
    __atomic_fetch_add(&otk__par_regions[team], 1UL, __ATOMIC_RELAXED);
}

/* Deciders may run in several user threads at once; the hint is only a
 * starting point, so relaxed atomics do. */
static int load_hint(void)
{
    return __atomic_load_n(&otk__par_hint, __ATOMIC_RELAXED);
}

static void store_hint(int mode)
{
    __atomic_store_n(&otk__par_hint, mode + 1, __ATOMIC_RELAXED);
}

int otk__threads(int requested)
{
#ifdef _OPENMP
    int t = requested > 0 ? requested : omp_get_max_threads();
    /* libgomp aborts the process, or crashes, when it cannot create the
     * threads asked for (20000 printed and exited, 100000 crashed); more
     * threads than a few per processor only wait for each other */
    int procs = omp_get_num_procs();
    int cap =
        procs > 0 && procs < OTK_MAX_THREADS / 4 ? 4 * procs : OTK_MAX_THREADS;
    return t < 1 ? 1 : t > cap ? cap : t;
#else
    (void)requested;
    return 1;
#endif
}

int otk__threads_for_work(int requested, size_t work)
{
    int threads = otk__threads(requested);
    size_t per_thread = work / OTK_MIN_WORK_PER_THREAD;
    if (requested == 0 && (size_t)threads > per_thread)
        threads = per_thread > 1 ? (int)per_thread : 1;
    return threads;
}

void otk__par_init(otk__par *p, int parts)
{
    *p = (otk__par){.parts = parts < 1 ? 1 : parts,
                    .team = 1,
                    .interval = FIRST_INTERVAL,
                    .mode = 0,
                    .best = {INFINITY, INFINITY},
                    .recent = {INFINITY, INFINITY},
                    .clock = otk__par_clock};
    int hint = load_hint();
    if (p->parts > 1 && hint != 0) { /* skip the probing regions */
        p->count = 2 * PROBES;
        p->mode = hint - 1;
        p->next_probe = p->count + FIRST_INTERVAL;
    }
}

int otk__par_team(const otk__par *p)
{
    const int team = p->parts > 1 && p->mode == 1;
    count_region(team);
    return team ? p->parts : 1;
}

/* The mode of region number k: alternating while probing (the calling
 * thread first), the other one at a probe, else the chosen one. */
static int mode_of(const otk__par *p, unsigned long k)
{
    if (k < 2 * PROBES)
        return k % 2 == 1;
    return k == p->next_probe ? !p->mode : p->mode;
}

int otk__par_begin(otk__par *p)
{
    if (p->parts <= 1) { /* also a zeroed decider */
        count_region(0);
        return p->team = 1;
    }
    p->team = mode_of(p, p->count) ? p->parts : 1;
    count_region(p->team > 1);
    p->start = p->clock();
    return p->team;
}

void otk__par_end(otk__par *p) { otk__par_end_work(p, 1.0); }

void otk__par_end_work(otk__par *p, double work)
{
    if (p->parts > 1)
        otk__par_record(p, (p->clock() - p->start) / work);
}

/* Regions until the next probe, when a probe took `slow` and a region of
 * the chosen mode takes `fast`. */
static unsigned long gap(const otk__par *p, double slow, double fast)
{
    double share = fast > 0.0 ? ceil(PROBE_SHARE * slow / fast) : 0.0;
    if (!(share < (double)MAX_GAP)) /* also NaN */
        share = (double)MAX_GAP;
    return (unsigned long)share > p->interval ? (unsigned long)share
                                              : p->interval;
}

/* The probing regions end with the faster mode chosen. */
static void choose(otk__par *p, unsigned long k)
{
    const int fast = p->best[0] < p->best[1] ? 0 : 1;
    p->count = 2 * PROBES;
    p->mode = fast;
    p->recent[0] = p->recent[1] = p->best[fast];
    p->next_probe = k + 1 + gap(p, p->best[!fast], p->best[fast]);
    if (p->next_probe < p->count)
        p->next_probe = p->count;
    store_hint(fast);
}

void otk__par_record(otk__par *p, double seconds)
{
    const unsigned long k = p->count++;
    const int mode = p->team > 1;
    if (k < 2 * PROBES) {
        /* the mean of each mode's probing regions: a team next to a busy
         * process is sometimes fast (its thread got a core at once) and
         * often slow, and its fastest region would overstate it */
        p->best[mode] =
            isinf(p->best[mode]) ? seconds : 0.5 * (p->best[mode] + seconds);
        const double lo = fmin(p->best[0], p->best[1]);
        const double hi = fmax(p->best[0], p->best[1]);
        if (k + 1 == 2 * PROBES || (k == 1 && hi > CLEAR_RATIO * lo))
            choose(p, k);
        return;
    }
    if (mode == p->mode) {
        p->recent[0] = p->recent[1];
        p->recent[1] = seconds;
        return;
    }
    /* a probe of the other mode, against the better of the last two
     * regions on the calling thread, or the mean of the last two of a
     * team: taking the team needs a clear win, keeping it a steady one */
    const double current = p->mode == 0 ? fmin(p->recent[0], p->recent[1])
                                        : 0.5 * (p->recent[0] + p->recent[1]);
    if (seconds < current) {
        p->mode = mode;
        p->recent[0] = p->recent[1] = seconds;
        p->interval = FIRST_INTERVAL;
        p->next_probe = k + 1 + gap(p, current, seconds);
        store_hint(mode);
        return;
    }
    if (p->interval < MAX_INTERVAL)
        p->interval *= 2;
    p->next_probe = k + 1 + gap(p, seconds, current);
}

/* ------------------------------------------------------------ the crew --
 * One parallel region per solve (see par.h). The calling thread runs the
 * solve; the crew's threads (POSIX threads, not OpenMP's, whose end of
 * region spins) loop: wait for the next job, claim its blocks one at a
 * time and run them. The calling thread claims blocks too, and whatever
 * is left when it is done with its own: a
 * thread the scheduler has not run yet (its core taken by another
 * process) delays nobody, it finds the job claimed. Who ran a block does
 * not change its result. Waiting is a short spin, then a condition
 * variable, so that a thread with nothing to do sleeps instead of holding
 * a core. */
unsigned long otk__par_opened[2];

#ifdef _OPENMP
#include <pthread.h>

/* The claim word: the job's number (high 32 bits), its blocks (16 bits)
 * and the next unclaimed block (low 16 bits). One compare-and-swap claims
 * a block of the current job only, so a thread that wakes late for an
 * old job cannot take a block of the next. */
#define CLAIM_GEN(w) ((w) >> 32)
#define CLAIM_PARTS(w) (((w) >> 16) & 0xffffU)
#define CLAIM_NEXT(w) ((w)&0xffffU)

typedef struct crew {
    int size; /* threads of the crew, the calling one included */
    otk__block_fn fn;
    void *ctx;
    int quit;
    unsigned long long claim; /* atomic, see above */
    int finished;             /* blocks of the current job run (atomic) */
    int sleepers;             /* workers asleep on go (under mu) */
    int waiting;              /* the calling thread asleep on fin (under mu) */
    pthread_mutex_t mu;
    pthread_cond_t go, fin;
} crew;

/* The crew of the solve this thread runs, if any. */
static _Thread_local crew *current;

static void relax_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spins until done(c) or OTK_CREW_SPIN_S have passed; 1 if done. */
static int spin_until(const crew *c, int (*done)(const crew *, unsigned long),
                      unsigned long arg)
{
    double t0 = -1.0;
    for (unsigned k = 1;; k++) {
        if (done(c, arg))
            return 1;
        if (k % 64 == 0) {
            const double t = otk__now();
            if (t0 < 0.0)
                t0 = t;
            else if (t - t0 > OTK_CREW_SPIN_S)
                return 0;
        }
        relax_cpu();
    }
}

static int new_job(const crew *c, unsigned long gen)
{
    return CLAIM_GEN(__atomic_load_n(&c->claim, __ATOMIC_ACQUIRE)) != gen;
}

static int job_done(const crew *c, unsigned long parts)
{
    return (unsigned long)__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) ==
           parts;
}

/* Claims and runs blocks of job gen until none is left. */
static void run_claims(crew *c, unsigned long gen)
{
    unsigned long long w = __atomic_load_n(&c->claim, __ATOMIC_ACQUIRE);
    while (CLAIM_GEN(w) == gen && CLAIM_NEXT(w) < CLAIM_PARTS(w)) {
        if (!__atomic_compare_exchange_n(&c->claim, &w, w + 1, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue; /* w now holds the current word */
        /* the job cannot end before this block does: fn is its own */
        c->fn(c->ctx, (int)CLAIM_NEXT(w));
        const int parts = (int)CLAIM_PARTS(w);
        if (__atomic_add_fetch(&c->finished, 1, __ATOMIC_ACQ_REL) == parts) {
            pthread_mutex_lock(&c->mu);
            if (c->waiting)
                pthread_cond_signal(&c->fin);
            pthread_mutex_unlock(&c->mu);
        }
        w = __atomic_load_n(&c->claim, __ATOMIC_ACQUIRE);
    }
}

/* Publishes job gen of `parts` blocks (fn, ctx and quit already set) and
 * wakes the sleeping workers. */
static void publish(crew *c, unsigned long gen, int parts)
{
    __atomic_store_n(&c->finished, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->claim,
                     (unsigned long long)gen << 32 | (unsigned long long)parts
                                                         << 16,
                     __ATOMIC_RELEASE);
    pthread_mutex_lock(&c->mu);
    if (c->sleepers > 0)
        pthread_cond_broadcast(&c->go);
    pthread_mutex_unlock(&c->mu);
}

static void crew_worker(crew *c)
{
    unsigned long seen = 0;
    for (;;) {
        if (!spin_until(c, new_job, seen)) {
            pthread_mutex_lock(&c->mu);
            c->sleepers++;
            while (!new_job(c, seen))
                pthread_cond_wait(&c->go, &c->mu);
            c->sleepers--;
            pthread_mutex_unlock(&c->mu);
        }
        seen = CLAIM_GEN(__atomic_load_n(&c->claim, __ATOMIC_ACQUIRE));
        if (__atomic_load_n(&c->quit, __ATOMIC_ACQUIRE))
            return;
        run_claims(c, seen);
    }
}

/* A job: published, claimed by whoever is there, waited for. */
static void crew_job(crew *c, otk__block_fn fn, void *ctx, int parts)
{
    const unsigned long gen =
        (CLAIM_GEN(__atomic_load_n(&c->claim, __ATOMIC_RELAXED)) + 1) &
        0xffffffffUL;
    c->fn = fn;
    c->ctx = ctx;
    publish(c, gen, parts);
    run_claims(c, gen);
    if (spin_until(c, job_done, (unsigned long)parts))
        return;
    pthread_mutex_lock(&c->mu);
    c->waiting = 1;
    while (!job_done(c, (unsigned long)parts))
        pthread_cond_wait(&c->fin, &c->mu);
    c->waiting = 0;
    pthread_mutex_unlock(&c->mu);
}
#endif

#ifdef _OPENMP
static void *crew_thread(void *arg)
{
    crew_worker(arg);
    return NULL;
}
#endif

int otk__crew_run(int threads, int (*body)(void *ctx), void *ctx)
{
#ifdef _OPENMP
    if (threads > 1 && current == NULL && !omp_in_parallel()) {
        crew c = {.size = 1};
        pthread_t tid[OTK_MAX_THREADS];
        if (threads > OTK_MAX_THREADS)
            threads = OTK_MAX_THREADS;
        pthread_mutex_init(&c.mu, NULL);
        pthread_cond_init(&c.go, NULL);
        pthread_cond_init(&c.fin, NULL);
        /* threads that cannot be created leave a smaller crew */
        while (c.size < threads &&
               pthread_create(&tid[c.size - 1], NULL, crew_thread, &c) == 0)
            c.size++;
        if (c.size > 1)
            __atomic_fetch_add(&otk__par_opened[0], 1UL, __ATOMIC_RELAXED);
        current = &c;
        const int ret = body(ctx);
        current = NULL;
        __atomic_store_n(&c.quit, 1, __ATOMIC_RELEASE);
        publish(&c, (CLAIM_GEN(c.claim) + 1) & 0xffffffffUL, 0);
        for (int t = 0; t + 1 < c.size; t++)
            pthread_join(tid[t], NULL);
        pthread_cond_destroy(&c.fin);
        pthread_cond_destroy(&c.go);
        pthread_mutex_destroy(&c.mu);
        return ret;
    }
#else
    (void)threads;
#endif
    return body(ctx);
}

void otk__par_blocks(int team, int parts, otk__block_fn fn, void *ctx)
{
#ifdef _OPENMP
    crew *c = current;
    if (team > 1 && c != NULL && c->size > 1 && parts <= 0xffff) {
        __atomic_fetch_add(&otk__par_opened[1], 1UL, __ATOMIC_RELAXED);
        crew_job(c, fn, ctx, parts);
        return;
    }
    if (team > 1 && c == NULL) {
        __atomic_fetch_add(&otk__par_opened[0], 1UL, __ATOMIC_RELAXED);
#pragma omp parallel num_threads(team)
        OTK_PAR_BLOCKS(b, parts)
        fn(ctx, b);
        return;
    }
#else
    (void)team;
#endif
    for (int b = 0; b < parts; b++)
        fn(ctx, b);
}
