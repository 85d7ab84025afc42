/*
 * otk_sinkhorn_mpi and otk_sinkhorn_divergence_mpi against the
 * single-process solver, run under mpirun -np 1..4 (tests/mpi/meson.build).
 * Every rank builds the same global problems, solves them with
 * otk_sinkhorn as the reference, and passes its uneven blocks to the
 * distributed solver: the iterations, stages and statuses must be equal,
 * the potentials and reported numbers equal to 1e-12 relative (bit for bit
 * with one rank), and identical on every rank. Errors raised on one rank
 * must come back the same on all.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <otkit/mpi.h>
#include <otkit/otkit.h>

#define REL_TOL 1e-12

static int rank, size, failures;
/* the largest relative difference of potentials seen, for the log */
static double worst;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "rank %d/%d: %s:%d: ", rank, size, __FILE__,       \
                    __LINE__);                                                 \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* Deterministic uniform numbers in [0, 1), the same on every rank. */
static double uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0;
}

typedef struct problem {
    size_t n, m, d;
    double *x, *y, *a, *b; /* a, b NULL: uniform */
} problem;

static problem make(size_t n, size_t m, size_t d, int weighted, uint64_t seed)
{
    problem p = {n,
                 m,
                 d,
                 malloc(n * d * sizeof(double)),
                 malloc(m * d * sizeof(double)),
                 NULL,
                 NULL};
    for (size_t k = 0; k < n * d; k++)
        p.x[k] = uniform(&seed);
    for (size_t k = 0; k < m * d; k++)
        p.y[k] = 0.3 + uniform(&seed);
    if (weighted) {
        /* masses 1 and 1 (to rounding) */
        p.a = malloc(n * sizeof(double));
        p.b = malloc(m * sizeof(double));
        double ma = 0.0, mb = 0.0;
        for (size_t i = 0; i < n; i++)
            ma += p.a[i] = 0.5 + uniform(&seed);
        for (size_t j = 0; j < m; j++)
            mb += p.b[j] = 0.5 + uniform(&seed);
        for (size_t i = 0; i < n; i++)
            p.a[i] /= ma;
        for (size_t j = 0; j < m; j++)
            p.b[j] /= mb;
    }
    return p;
}

static void drop(problem *p)
{
    free(p->x);
    free(p->y);
    free(p->a);
    free(p->b);
}

/* Uneven blocks: rank r gets a share proportional to r + 1 (rows) or
 * size - r (columns), at least one point each. */
static void block(size_t total, int rows, size_t *first, size_t *count)
{
    size_t weights = 0, before = 0;
    for (int r = 0; r < size; r++) {
        size_t w = rows ? (size_t)r + 1 : (size_t)(size - r);
        weights += w;
        if (r < rank)
            before += w;
    }
    size_t w = rows ? (size_t)rank + 1 : (size_t)(size - rank);
    size_t extra = total - (size_t)size;
    *first = (size_t)rank + extra * before / weights;
    *count = 1 + extra * (before + w) / weights - extra * before / weights;
}

static double max_abs(const double *v, size_t len)
{
    double mx = 0.0;
    for (size_t k = 0; k < len; k++)
        mx = fmax(mx, fabs(v[k]));
    return mx;
}

/* Largest |u - v| relative to scale. */
static double rel_diff(const double *u, const double *v, size_t len,
                       double scale)
{
    double mx = 0.0;
    for (size_t k = 0; k < len; k++)
        mx = fmax(mx, fabs(u[k] - v[k]));
    return mx / scale;
}

static double rel(double u, double v)
{
    double s = fmax(fabs(v), 1e-300);
    return u == v ? 0.0 : fabs(u - v) / s;
}

/* The same bits of v on every rank. */
static int same_everywhere(double v)
{
    double mn[2] = {v, -v};
    MPI_Allreduce(MPI_IN_PLACE, mn, 2, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    return (mn[0] == v && -mn[1] == v) || isnan(v);
}

static void compare_info(const char *name, const otk_sinkhorn_info *got,
                         const otk_sinkhorn_info *ref, int exact)
{
    CHECK(got->outcome.status == ref->outcome.status,
          "%s: status %d vs %d (%s)", name, got->outcome.status,
          ref->outcome.status,
          got->outcome.bad_argument ? got->outcome.bad_argument : "");
    CHECK(got->iterations == ref->iterations, "%s: iterations %zu vs %zu", name,
          got->iterations, ref->iterations);
    CHECK(got->stages == ref->stages, "%s: stages %zu vs %zu", name,
          got->stages, ref->stages);
    const double pairs[][2] = {{got->transport_cost, ref->transport_cost},
                               {got->objective, ref->objective},
                               {got->dual_objective, ref->dual_objective}};
    for (size_t k = 0; k < 3; k++) {
        double r = rel(pairs[k][0], pairs[k][1]);
        CHECK(exact ? r == 0.0 : r <= REL_TOL, "%s: number %zu: %.17g vs %.17g",
              name, k, pairs[k][0], pairs[k][1]);
        CHECK(same_everywhere(pairs[k][0]), "%s: number %zu differs by rank",
              name, k);
    }
    /* the residuals are sums of rounding-sized terms at convergence */
    CHECK(fabs(got->residual - ref->residual) <= 1e-12 &&
              fabs(got->marginal_error - ref->marginal_error) <= 1e-12,
          "%s: residual %.3g vs %.3g", name, got->residual, ref->residual);
    double it = (double)got->iterations;
    CHECK(same_everywhere(it) && same_everywhere(got->residual),
          "%s: iterations or residual differ by rank", name);
}

/* This rank's blocks of p. */
typedef struct local {
    size_t i0, n, j0, m;
    otk_cost cost;
    otk_problem pr;
} local;

static void split(const problem *p, double reg, local *l)
{
    block(p->n, 1, &l->i0, &l->n);
    block(p->m, 0, &l->j0, &l->m);
    l->cost = otk_cost_points(l->n, l->m, p->d, p->x + l->i0 * p->d,
                              p->y + l->j0 * p->d, OTK_METRIC_SQEUCLIDEAN, 2.0);
    l->pr = (otk_problem){&l->cost, p->a ? p->a + l->i0 : NULL,
                          p->b ? p->b + l->j0 : NULL, reg};
}

/* One solve both ways, compared. */
static void solve_case(const char *name, const problem *p, double reg,
                       const otk_sinkhorn_settings *s)
{
    otk_cost cost = otk_cost_points(p->n, p->m, p->d, p->x, p->y,
                                    OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_problem pr = {&cost, p->a, p->b, reg};
    double *f = malloc(p->n * sizeof *f), *g = malloc(p->m * sizeof *g);
    double *P = malloc(p->n * p->m * sizeof *P);
    otk_solution sol = {.f = f, .g = g, .P = P};
    otk_sinkhorn_info ref;
    /* the reference on rank 0, sent to all (its strings are not read) */
    if (rank == 0)
        otk_sinkhorn(&pr, s, &sol, &ref);
    MPI_Bcast(&ref, (int)sizeof ref, MPI_BYTE, 0, MPI_COMM_WORLD);
    MPI_Bcast(f, (int)p->n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Bcast(g, (int)p->m, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Bcast(P, (int)(p->n * p->m), MPI_DOUBLE, 0, MPI_COMM_WORLD);
    CHECK(ref.outcome.status == OTK_CONVERGED, "%s: reference status %d", name,
          ref.outcome.status);

    local l;
    split(p, reg, &l);
    struct otk_pot {
        double *f, *g, *P;
    } mine = {malloc(l.n * sizeof(double)), malloc(l.m * sizeof(double)),
              malloc(l.n * p->m * sizeof(double))};
    otk_solution lsol = {.f = mine.f, .g = mine.g, .P = mine.P};
    otk_sinkhorn_info info;
    otk_mpi_stats stats;
    otk_status st =
        otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, s, &lsol, &info, &stats);
    const int exact = size == 1;
    CHECK(st == info.outcome.status, "%s: returned %d, info %d", name, st,
          info.outcome.status);
    compare_info(name, &info, &ref, exact);
    double scale = fmax(max_abs(f, p->n), max_abs(g, p->m));
    double df = rel_diff(mine.f, f + l.i0, l.n, scale);
    double dg = rel_diff(mine.g, g + l.j0, l.m, scale);
    double dP =
        rel_diff(mine.P, P + l.i0 * p->m, l.n * p->m, max_abs(P, p->n * p->m));
    worst = fmax(worst, fmax(df, fmax(dg, dP)));
    CHECK(exact ? df == 0.0 && dg == 0.0 && dP == 0.0
                : df <= REL_TOL && dg <= REL_TOL && dP <= REL_TOL,
          "%s: potentials differ: f %.3g g %.3g P %.3g", name, df, dg, dP);
    CHECK(stats.iterations == info.iterations && stats.messages > 0 &&
              stats.comm_s >= 0.0 && stats.compute_s >= 0.0,
          "%s: stats", name);
    free(f);
    free(g);
    free(P);
    free(mine.f);
    free(mine.g);
    free(mine.P);
}

static otk_sinkhorn_settings settings(void)
{
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.threads = 1;
    return s;
}

static void test_solves(void)
{
    otk_sinkhorn_settings s = settings();
    problem p = make(301, 523, 2, 0, 1);
    solve_case("balanced uniform", &p, 0.05, &s);
    s.relaxation = 1.0;
    solve_case("balanced plain", &p, 0.05, &s);
    drop(&p);

    s = settings();
    p = make(190, 521, 3, 1, 2);
    solve_case("balanced weighted", &p, 0.1, &s);
    /* a small reg: epsilon scaling in several stages */
    solve_case("epsilon scaling", &p, 0.004, &s);
    s.tau_a = 1.0;
    s.tau_b = 0.5;
    solve_case("unbalanced", &p, 0.02, &s);
    s.tau_a = INFINITY;
    solve_case("semi-unbalanced", &p, 0.02, &s);
    /* zero-weight targets: potentials by an exact column reduction */
    s = settings();
    for (size_t j = 0; j < p.m; j += 7)
        p.b[j] = 0.0;
    double mb = 0.0, ma = 0.0;
    for (size_t j = 0; j < p.m; j++)
        mb += p.b[j];
    for (size_t i = 0; i < p.n; i++)
        ma += p.a[i];
    for (size_t j = 0; j < p.m; j++)
        p.b[j] *= ma / mb;
    solve_case("zero-weight targets", &p, 0.05, &s);
    s.threads = 2;
    solve_case("two threads per rank", &p, 0.05, &s);
    drop(&p);

    /* a far target whose column sum underflows in the first iterations:
     * its g comes from the exact (max, sum) column reduction */
    s = settings();
    s.eps_scaling = 0;
    p = make(120, 530, 2, 0, 8);
    p.y[0] = p.y[1] = 3.0;
    solve_case("underflowing column", &p, 0.01, &s);
    drop(&p);
}

/* Warm start from a g of a nearby problem: each rank passes its block. */
static void test_warm_start(void)
{
    otk_sinkhorn_settings s = settings();
    problem p = make(150, 520, 2, 1, 6);
    otk_cost cost =
        otk_cost_points(p.n, p.m, p.d, p.x, p.y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    double *g0 = malloc(p.m * sizeof *g0), *g = malloc(p.m * sizeof *g);
    otk_problem coarse = {&cost, p.a, p.b, 0.2};
    otk_sinkhorn(&coarse, &s, &(otk_solution){.g = g0}, NULL);
    memcpy(g, g0, p.m * sizeof *g);
    s.warm_start = 1;
    otk_problem pr = {&cost, p.a, p.b, 0.05};
    otk_sinkhorn_info ref, info;
    otk_sinkhorn(&pr, &s, &(otk_solution){.g = g}, &ref);
    local l;
    split(&p, 0.05, &l);
    double *mine = malloc(l.m * sizeof *mine);
    memcpy(mine, g0 + l.j0, l.m * sizeof *mine);
    otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &s, &(otk_solution){.g = mine},
                     &info, NULL);
    compare_info("warm start", &info, &ref, size == 1);
    double dg = rel_diff(mine, g + l.j0, l.m, max_abs(g, p.m));
    worst = fmax(worst, dg);
    CHECK(size == 1 ? dg == 0.0 : dg <= REL_TOL, "warm start: g %.3g", dg);
    free(g0);
    free(g);
    free(mine);
    drop(&p);
}

/* A callback that cancels on the last rank only, at its second check:
 * every rank stops there with OTK_CANCELLED. */
static int cancel_second(void *user, const otk_progress *p)
{
    (void)p;
    int *calls = user;
    return ++*calls == 2 && rank == size - 1;
}

static void test_cancel(void)
{
    otk_sinkhorn_settings s = settings();
    int calls = 0;
    s.progress = cancel_second;
    s.progress_user = &calls;
    problem p = make(60, 50, 2, 0, 7);
    local l;
    split(&p, 0.01, &l);
    otk_sinkhorn_info info;
    otk_status st =
        otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &s, NULL, &info, NULL);
    CHECK(st == OTK_CANCELLED && calls == 2 &&
              info.iterations == 2 * s.check_every,
          "cancel: status %d after %d calls, %zu iterations", st, calls,
          info.iterations);
    drop(&p);
}

static void test_divergence(void)
{
    otk_sinkhorn_settings s = settings();
    problem p = make(211, 197, 2, 1, 3);
    const double reg = 0.05;
    otk_cost cost =
        otk_cost_points(p.n, p.m, p.d, p.x, p.y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_problem pr = {&cost, p.a, p.b, reg};
    otk_sinkhorn_info ref[3], info[3];
    double div_ref, div;
    if (rank == 0)
        otk_sinkhorn_divergence(&pr, NULL, NULL, &s, &div_ref, NULL, ref);
    MPI_Bcast(ref, (int)sizeof ref, MPI_BYTE, 0, MPI_COMM_WORLD);
    MPI_Bcast(&div_ref, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    local l;
    split(&p, reg, &l);
    otk_status st = otk_sinkhorn_divergence_mpi(MPI_COMM_WORLD, &l.pr, &s, &div,
                                                NULL, info, NULL);
    CHECK(st == OTK_CONVERGED, "divergence: status %d", st);
    const char *names[3] = {"divergence xy", "divergence xx", "divergence yy"};
    for (int k = 0; k < 3; k++)
        compare_info(names[k], &info[k], &ref[k], size == 1);
    CHECK(rel(div, div_ref) <= (size == 1 ? 0.0 : 1e-10) &&
              same_everywhere(div),
          "divergence %.17g vs %.17g", div, div_ref);
    drop(&p);
}

/* An error on the last rank only: every rank returns the same. */
static void expect_error(const char *name, otk_status st,
                         const otk_sinkhorn_info *info, otk_status want,
                         const char *what, size_t index)
{
    const char *arg = info->outcome.bad_argument;
    CHECK(st == want && info->outcome.status == want, "%s: status %d, want %d",
          name, st, want);
    CHECK(arg != NULL && strcmp(arg, what) == 0, "%s: bad_argument %s", name,
          arg ? arg : "NULL");
    CHECK(info->outcome.bad_index == index, "%s: bad_index %zu, want %zu", name,
          info->outcome.bad_index, index);
}

static void test_errors(void)
{
    otk_sinkhorn_settings s = settings();
    problem p = make(40, 30, 2, 1, 4);
    local l;
    split(&p, 0.1, &l);
    otk_sinkhorn_info info;
    /* a NaN coordinate in the last rank's first source point */
    size_t bad = (p.n - 1) * p.d + 1;
    if (rank == size - 1)
        p.x[(l.i0 + l.n - 1) * p.d + 1] = NAN;
    otk_status st =
        otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &s, NULL, &info, NULL);
    expect_error("NaN on one rank", st, &info, OTK_ERR_INVALID_INPUT, "cost.x",
                 bad);
    p.x[(p.n - 1) * p.d + 1] = 0.5;
    /* a negative weight on the last rank */
    const double b_last = p.b[p.m - 1];
    if (rank == size - 1)
        p.b[p.m - 1] = -1.0;
    st = otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &s, NULL, &info, NULL);
    expect_error("negative weight on one rank", st, &info,
                 OTK_ERR_INVALID_INPUT, "b", p.m - 1);
    p.b[p.m - 1] = b_last;
    /* the last rank asks for another tolerance */
    otk_sinkhorn_settings other = s;
    if (rank == size - 1 && size > 1) {
        other.tol = 1e-6;
    }
    st = otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &other, NULL, &info, NULL);
    if (size > 1)
        expect_error("settings differ", st, &info, OTK_ERR_INVALID_ARGUMENT,
                     "settings", SIZE_MAX);
    else
        CHECK(st == OTK_CONVERGED, "one rank: status %d", st);
    /* a setting out of range on every rank */
    other = s;
    other.check_every = 0;
    st = otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &other, NULL, &info, NULL);
    expect_error("bad setting", st, &info, OTK_ERR_INVALID_ARGUMENT,
                 "settings.check_every", SIZE_MAX);
    /* the divergence needs its output on every rank */
    double div;
    otk_sinkhorn_info infos[3];
    st = otk_sinkhorn_divergence_mpi(MPI_COMM_WORLD, &l.pr, &s,
                                     rank == size - 1 ? NULL : &div, NULL,
                                     infos, NULL);
    expect_error("divergence output", st, &infos[0], OTK_ERR_INVALID_ARGUMENT,
                 "divergence", SIZE_MAX);
    drop(&p);
}

#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator aborts instead of failing */
/* The last rank runs out of memory: its address space is capped just above
 * what it uses, so the solver's workspace (a few times m doubles) cannot
 * be allocated there; every rank must return OTK_ERR_NO_MEMORY. */
static void test_out_of_memory(void)
{
    const size_t m = 1u << 20;
    problem p = make(4 * (size_t)size, m, 1, 0, 5);
    local l;
    split(&p, 1.0, &l);
    struct rlimit old, cap;
    getrlimit(RLIMIT_AS, &old);
    if (rank == size - 1) {
        FILE *fp = fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (fp == NULL || fscanf(fp, "%lu", &pages) != 1)
            pages = 0;
        if (fp != NULL)
            fclose(fp);
        cap = old;
        cap.rlim_cur = pages * 4096ul + (16ul << 20);
        if (pages > 0)
            setrlimit(RLIMIT_AS, &cap);
    }
    otk_sinkhorn_info info;
    otk_sinkhorn_settings s = settings();
    otk_status st =
        otk_sinkhorn_mpi(MPI_COMM_WORLD, &l.pr, &s, NULL, &info, NULL);
    if (rank == size - 1)
        setrlimit(RLIMIT_AS, &old);
    CHECK(st == OTK_ERR_NO_MEMORY && info.outcome.status == st,
          "out of memory on one rank: status %d", st);
    drop(&p);
}
#endif

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    test_solves();
    test_warm_start();
    test_divergence();
    test_cancel();
    test_errors();
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator aborts instead of failing */
    test_out_of_memory();
#endif
    int total = failures;
    MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%d ranks: %s (%d failed checks); largest relative difference "
               "of f, g, P from otk_sinkhorn: %.3g\n",
               size, total == 0 ? "ok" : "FAILED", total, worst);
    MPI_Finalize();
    return total == 0 ? 0 : 1;
}
