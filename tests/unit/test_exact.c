/* Exact OT: POT ot.emd oracles, optimality certificates, permutation and
 * 1-D closed forms, the entropic limit, limits on pivots, workspaces and
 * warm starts, the settings table, bad input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "exact/certificate.h"
#include "exact/pricing.h"
#include "linalg/linalg.h"
#include "testutil.h"

/* One-shot solve of (cost, a, b). */
static otk_status exact(const otk_cost *cost, const double *a, const double *b,
                        const otk_exact_settings *s, otk_solution *sol,
                        otk_exact_info *info)
{
    otk_problem pb = {.cost = cost, .a = a, .b = b};
    return otk_exact(&pb, s, sol, info);
}

/* The same in a workspace. */
static otk_status exact_ws(otk_exact_workspace *ws, const otk_cost *cost,
                           const double *a, const double *b,
                           const otk_exact_settings *s, otk_solution *sol,
                           otk_exact_info *info)
{
    otk_problem pb = {.cost = cost, .a = a, .b = b};
    return otk_exact_solve(ws, &pb, s, sol, info);
}

static const char *const cases[] = {
    "square5",      "rect7x4",          "rect30x20",    "rect40x35",
    "zero_weights", "permutation10",    "ties_integer", "points_sqeuclid_25x18",
    "line12",       "line_weights_9x6", "tiny_1x3",     "unequal_mass_ok"};

typedef struct solved {
    otk_exact_info info;
    otk_plan_entry *plan;
    double *P, *f, *g;
} solved;

static solved solve(const otk_cost *cost, const double *a, const double *b)
{
    const size_t n = cost->n, m = cost->m;
    solved r;
    r.plan = malloc((n + m) * sizeof *r.plan);
    r.P = malloc(n * m * sizeof *r.P);
    r.f = malloc(n * sizeof *r.f);
    r.g = malloc(m * sizeof *r.g);
    ck_assert(r.plan && r.P && r.f && r.g);
    otk_solution sol = {r.f, r.g, r.P, r.plan, n + m};
    otk_status st = exact(cost, a, b, NULL, &sol, &r.info);
    ck_assert_msg(st == OTK_OPTIMAL, "status %s", otk_status_name(st));
    ck_assert_int_eq(r.info.outcome.status, st);
    ck_assert(r.info.outcome.bad_argument == NULL);
    ck_assert_uint_eq(r.info.outcome.bad_index, SIZE_MAX);
    ck_assert(r.info.warm_started == 0);
    return r;
}

static void release(solved *r)
{
    free(r->plan);
    free(r->P);
    free(r->f);
    free(r->g);
}

/* Everything an optimal solution must satisfy, checked independently of
 * any oracle: primal feasibility, a sparse plan of at most n + m - 1
 * sorted entries matching the dense one, dual feasibility, complementary
 * slackness and a zero duality gap. */
static void check_certificate(const otk_cost *cost, const double *a,
                              const double *b, const solved *r)
{
    const size_t n = cost->n, m = cost->m;
    double scale = 0.0, mass = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            scale = fmax(scale, fabs(otk_cost_entry(cost, i, j)));
    for (size_t i = 0; i < n; i++)
        mass += a != NULL ? a[i] : 1.0 / (double)n;
    const double tol = 1e-11 * (scale + 1.0);
    ck_assert_uint_le(r->info.nnz, n + m - 1);
    double *dense = calloc(n * m, sizeof *dense);
    double cost_sum = 0.0;
    for (size_t k = 0; k < r->info.nnz; k++) {
        const otk_plan_entry *e = &r->plan[k];
        ck_assert(e->i < n && e->j < m && e->value > 0.0);
        if (k > 0)
            ck_assert(e->i > r->plan[k - 1].i ||
                      (e->i == r->plan[k - 1].i && e->j > r->plan[k - 1].j));
        dense[e->i * m + e->j] = e->value;
        cost_sum += e->value * otk_cost_entry(cost, e->i, e->j);
        /* complementary slackness */
        double slack =
            otk_cost_entry(cost, e->i, e->j) - r->f[e->i] - r->g[e->j];
        ck_assert_msg(fabs(slack) <= tol, "support (%zu,%zu): slack %g", e->i,
                      e->j, slack);
    }
    assert_close_vec("dense plan", r->P, dense, n * m, 0.0, 0.0);
    for (size_t i = 0; i < n; i++) {
        double row = 0.0;
        for (size_t j = 0; j < m; j++) {
            row += dense[i * m + j];
            double slack = otk_cost_entry(cost, i, j) - r->f[i] - r->g[j];
            ck_assert_msg(slack >= -tol, "dual infeasible at (%zu,%zu): %g", i,
                          j, slack);
        }
        assert_close("row", row, a != NULL ? a[i] : 1.0 / (double)n, 0.0,
                     1e-14 * mass);
    }
    for (size_t j = 0; j < m; j++) {
        double col = 0.0;
        for (size_t i = 0; i < n; i++)
            col += dense[i * m + j];
        /* b may have been rescaled within mass_tol */
        assert_close("column", col, b != NULL ? b[j] : 1.0 / (double)m,
                     r->info.rescaled ? 1e-9 : 0.0, 1e-14 * mass);
    }
    assert_close("transport_cost", r->info.transport_cost, cost_sum, 1e-14,
                 0.0);
    assert_close("duality gap", r->info.dual_objective, r->info.transport_cost,
                 1e-12, 1e-14 * scale * mass);
    ck_assert_double_le(r->info.marginal_error,
                        1e-13 * mass + 1e-9 * mass * r->info.rescaled);
    free(dense);
}

static otk_cost case_points(const oracle_case *oc)
{
    return otk_cost_points(oc->n, oc->m, oc->d, oc->x, oc->y,
                           OTK_METRIC_SQEUCLIDEAN, 2.0);
}

START_TEST(matches_pot)
{
    oracle_case oc;
    oracle_load("exact", cases[_i], &oc);
    otk_cost dense = otk_cost_dense(oc.n, oc.m, oc.C);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && oc.x == NULL)
            break;
        otk_cost cost = pass == 0 ? dense : case_points(&oc);
        solved r = solve(&cost, oc.a, oc.b);
        assert_close("cost", r.info.transport_cost, oc.transport_cost, 1e-12,
                     1e-15);
        check_certificate(&cost, oc.a, oc.b, &r);
        if (oc.unique == 1.0)
            assert_close_vec("plan", r.P, oc.P, oc.n * oc.m, 1e-12, 1e-15);
        release(&r);
    }
    oracle_free(&oc);
}
END_TEST

START_TEST(permutation_problems_give_permutations)
{
    oracle_case oc;
    oracle_load("exact", "permutation10", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    solved r = solve(&cost, NULL, NULL);
    ck_assert_uint_eq(r.info.nnz, oc.n);
    double perm[10];
    for (size_t j = 0; j < oc.m; j++)
        perm[j] = -1;
    for (size_t k = 0; k < r.info.nnz; k++) {
        assert_close("entry", r.plan[k].value, 0.1, 1e-15, 0.0);
        perm[r.plan[k].j] = (double)r.plan[k].i;
    }
    /* each target gets the source it is a noisy copy of */
    const double expect[10] = {9, 4, 8, 5, 6, 1, 2, 3, 7, 0};
    assert_close_vec("permutation", perm, expect, 10, 0.0, 0.0);
    release(&r);
    oracle_free(&oc);
}
END_TEST

static int by_value(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

/* 1-D, uniform weights, n = m, convex cost: the sorted matching. */
START_TEST(one_dimension_is_monotone)
{
    enum { N = 200 };
    double x[N], y[N], xs[N], ys[N];
    unsigned long long st = 77;
    for (int i = 0; i < N; i++) {
        x[i] = 10.0 * test_uniform(&st);
        y[i] = 3.0 + 10.0 * test_uniform(&st);
    }
    memcpy(xs, x, sizeof x);
    memcpy(ys, y, sizeof y);
    qsort(xs, N, sizeof xs[0], by_value);
    qsort(ys, N, sizeof ys[0], by_value);
    double exact = 0.0;
    for (int i = 0; i < N; i++)
        exact += (xs[i] - ys[i]) * (xs[i] - ys[i]) / N;
    otk_cost cost = otk_cost_points(N, N, 1, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    solved r = solve(&cost, NULL, NULL);
    assert_close("sorted cost", r.info.transport_cost, exact, 1e-12, 0.0);
    check_certificate(&cost, NULL, NULL, &r);
    /* and every source goes to the target of the same rank */
    for (size_t k = 0; k < r.info.nnz; k++) {
        size_t rank_x = 0, rank_y = 0;
        for (int q = 0; q < N; q++) {
            rank_x += x[q] < x[r.plan[k].i];
            rank_y += y[q] < y[r.plan[k].j];
        }
        ck_assert_uint_eq(rank_x, rank_y);
    }
    release(&r);
}
END_TEST

/* Weights in [0.1, 1.1), normalized to mass 1. */
static void random_weights(double *w, size_t len, unsigned long long *st)
{
    double sum = 0.0;
    for (size_t k = 0; k < len; k++)
        sum += w[k] = 0.1 + test_uniform(st);
    for (size_t k = 0; k < len; k++)
        w[k] /= sum;
}

/* Larger random problems: certificates for dense and point costs, which
 * must agree. */
START_TEST(random_problems_are_certified)
{
    const size_t sizes[][2] = {{150, 120}, {64, 200}, {301, 300}};
    for (int t = 0; t < 3; t++) {
        const size_t n = sizes[t][0], m = sizes[t][1], d = 3;
        unsigned long long st = 1000 + (unsigned long long)t;
        double *x = malloc(n * d * sizeof *x), *y = malloc(m * d * sizeof *y);
        double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b);
        double *C = malloc(n * m * sizeof *C);
        test_gaussian_points(x, n, d, 0.0, &st);
        test_gaussian_points(y, m, d, 0.5, &st);
        random_weights(a, n, &st);
        random_weights(b, m, &st);
        otk_cost pts = otk_cost_points(n, m, d, x, y, OTK_METRIC_EUCLIDEAN, 2);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                C[i * m + j] = otk_cost_entry(&pts, i, j);
        otk_cost dense = otk_cost_dense(n, m, C);
        solved rd = solve(&dense, a, b), rp = solve(&pts, a, b);
        check_certificate(&dense, a, b, &rd);
        check_certificate(&pts, a, b, &rp);
        assert_close("points = dense", rp.info.transport_cost,
                     rd.info.transport_cost, 1e-13, 0.0);
        release(&rd);
        release(&rp);
        free(x);
        free(y);
        free(a);
        free(b);
        free(C);
    }
}
END_TEST

/* Entropic transport cost tends to the exact one as reg decreases. */
START_TEST(sinkhorn_tends_to_exact)
{
    oracle_case oc;
    oracle_load("exact", "rect40x35", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    double maxc = 0.0;
    for (size_t k = 0; k < oc.n * oc.m; k++)
        maxc = fmax(maxc, oc.C[k]);
    double prev = INFINITY;
    const double rel[] = {1e-1, 1e-2, 1e-3, 1e-4};
    for (int k = 0; k < 4; k++) {
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        s.tol = 1e-9;
        s.max_iter = 200000;
        otk_sinkhorn_info info;
        otk_status st = otk_sinkhorn(
            &(otk_problem){&cost, oc.a, oc.b, rel[k] * maxc}, &s, NULL, &info);
        ck_assert_msg(st == OTK_CONVERGED, "reg %g: %s", rel[k],
                      otk_status_name(st));
        double gap = fabs(info.transport_cost - oc.transport_cost);
        ck_assert_double_lt(gap, prev);
        prev = gap;
    }
    ck_assert_double_le(prev, 1e-3 * oc.transport_cost);
    oracle_free(&oc);
}
END_TEST

/* Ties (a cost with three values, many optimal plans) are broken the
 * same way every time: the one-shot call and cold workspace solves, each
 * certified optimal, return the same plan bit for bit. */
START_TEST(ties_are_deterministic)
{
    enum { N = 40, M = 30 };
    double *C = malloc(N * M * sizeof *C);
    for (int k = 0; k < N * M; k++)
        C[k] = (double)((k * 7) % 3);
    otk_cost cost = otk_cost_dense(N, M, C);
    solved first = solve(&cost, NULL, NULL);
    check_certificate(&cost, NULL, NULL, &first);
    otk_exact_workspace *ws = otk_exact_workspace_create(N, M);
    ck_assert_ptr_nonnull(ws);
    for (int run = 0; run < 2; run++) {
        double f[N], g[M], P[N * M];
        otk_plan_entry plan[N + M];
        otk_solution sol = {f, g, P, plan, N + M};
        otk_exact_info info;
        ck_assert_int_eq(exact_ws(ws, &cost, NULL, NULL, NULL, &sol, &info),
                         OTK_OPTIMAL);
        ck_assert_int_eq(info.outcome.status, OTK_OPTIMAL);
        ck_assert_uint_eq(info.nnz, first.info.nnz);
        ck_assert_uint_eq(info.iterations, first.info.iterations);
        ck_assert(memcmp(plan, first.plan, info.nnz * sizeof *plan) == 0);
        ck_assert(memcmp(P, first.P, sizeof P) == 0);
        ck_assert(memcmp(f, first.f, sizeof f) == 0);
        ck_assert(memcmp(g, first.g, sizeof g) == 0);
    }
    otk_exact_workspace_free(ws);
    release(&first);
    free(C);
}
END_TEST

/* The arc-by-arc scan the vector pricing kernel must reproduce: the
 * first j with the smallest (c_j + p) - q_j, NaNs never taken. */
static double scalar_row_min(const double *c, double p, const double *q,
                             size_t len, size_t *at)
{
    double best = INFINITY;
    *at = len;
    for (size_t j = 0; j < len; j++) {
        double r = c[j] + p - q[j];
        if (r < best) {
            best = r;
            *at = j;
        }
    }
    return best;
}

/* The pricing kernel against that scan on every length and offset up to
 * 3 vector blocks, with heavy ties (a few distinct values, +0 and -0),
 * NaNs, infinities and rounding-sensitive sums: the same value and the
 * same index each time. */
START_TEST(pricing_matches_the_scalar_scan)
{
    enum { LEN = 70 };
    static const double values[] = {1.0, -2.0, 0.0, -0.0, 3.5, -2.0};
    double c[LEN], q[LEN];
    unsigned long long st = 7;
    for (int trial = 0; trial < 200; trial++) {
        for (int j = 0; j < LEN; j++) {
            double u = test_uniform(&st);
            if (trial % 3 == 0) { /* ties */
                c[j] = values[(int)(u * 6.0)];
                q[j] = values[(int)(test_uniform(&st) * 6.0)];
            } else { /* distinct values whose rounding differs */
                c[j] = 1e3 * u - 500.0;
                q[j] = 1e-3 * test_uniform(&st);
            }
        }
        if (trial % 5 == 1)
            c[(int)(test_uniform(&st) * LEN)] = NAN;
        if (trial % 7 == 2)
            q[(int)(test_uniform(&st) * LEN)] = -INFINITY;
        double p = trial % 2 == 0 ? 0.0 : 1e3 * test_uniform(&st);
        for (size_t off = 0; off < 20; off++)
            for (size_t len = 0; off + len <= LEN; len++) {
                size_t at, ref_at;
                double v = otk__ns_row_min(c + off, p, q + off, len, &at);
                double ref = scalar_row_min(c + off, p, q + off, len, &ref_at);
                ck_assert_uint_eq(at, ref_at);
                ck_assert(memcmp(&v, &ref, sizeof v) == 0 ||
                          (isnan(v) && isnan(ref)));
            }
    }
}
END_TEST

/* The pivot limit: OTK_MAX_ITER with its cause and a feasible plan. */
START_TEST(pivot_limit)
{
    oracle_case oc;
    oracle_load("exact", "rect40x35", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.max_iter = 5;
    otk_plan_entry plan[80];
    otk_solution sol = {.plan = plan, .capacity = 80};
    otk_exact_info info;
    ck_assert_int_eq(exact(&cost, oc.a, oc.b, &s, &sol, &info), OTK_MAX_ITER);
    ck_assert_int_eq(info.outcome.status, OTK_MAX_ITER);
    ck_assert_str_eq(info.outcome.cause, "max_iter");
    ck_assert_uint_eq(info.iterations, 5);
    /* a feasible plan (some mass may still sit on artificial arcs, which
     * the marginal error then shows), never a better cost than optimal */
    ck_assert(isfinite(info.marginal_error));
    ck_assert_double_ge(info.transport_cost, -1e-12);
    s.max_iter = SIZE_MAX;
    ck_assert_int_eq(exact(&cost, oc.a, oc.b, &s, &sol, &info), OTK_OPTIMAL);
    /* the only cause an optimal solve gives is the rescaling warning */
    if (info.rescaled)
        ck_assert_str_eq(info.outcome.cause, "rescaled");
    else
        ck_assert(info.outcome.cause == NULL);
    ck_assert_uint_gt(info.iterations, 5);
    assert_close("optimum", info.transport_cost, oc.transport_cost, 1e-12, 0);
    oracle_free(&oc);
}
END_TEST

/* A plan longer than the capacity is cut; nnz still counts it all. */
START_TEST(plan_capacity_cuts_the_list)
{
    oracle_case oc;
    oracle_load("exact", "rect7x4", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    otk_plan_entry full[11], cut[4];
    otk_solution sol = {.plan = full, .capacity = 11};
    otk_exact_info info;
    ck_assert_int_eq(exact(&cost, oc.a, oc.b, NULL, &sol, &info), OTK_OPTIMAL);
    const size_t nnz = info.nnz;
    ck_assert_uint_gt(nnz, 3);
    memset(cut, 0x7f, sizeof cut);
    otk_plan_entry sentinel = cut[3];
    sol = (otk_solution){.plan = cut, .capacity = 3};
    ck_assert_int_eq(exact(&cost, oc.a, oc.b, NULL, &sol, &info), OTK_OPTIMAL);
    ck_assert_uint_eq(info.nnz, nnz);
    ck_assert(memcmp(cut, full, 3 * sizeof *cut) == 0);
    ck_assert(memcmp(&cut[3], &sentinel, sizeof sentinel) == 0);
    /* no solution at all is fine too */
    ck_assert_int_eq(exact(&cost, oc.a, oc.b, NULL, NULL, &info), OTK_OPTIMAL);
    ck_assert_uint_eq(info.nnz, nnz);
    oracle_free(&oc);
}
END_TEST

/* A random dense problem: C (n x m) uniform in [0, 1), a and b
 * normalized. */
static void random_problem(size_t n, size_t m, unsigned long long seed,
                           double *C, double *a, double *b)
{
    unsigned long long st = seed;
    for (size_t k = 0; k < n * m; k++)
        C[k] = test_uniform(&st);
    random_weights(a, n, &st);
    random_weights(b, m, &st);
}

/* Warm starts: after a small change of the cost the kept basis reaches
 * the cold solve's optimum in fewer pivots; other weights start cold and
 * give the one-shot answer exactly; a limited solve continues. */
START_TEST(warm_start_after_cost_change)
{
    enum { N = 60, M = 50 };
    double *C = malloc(N * M * sizeof *C), a[N], b[M], a2[N];
    random_problem(N, M, 99, C, a, b);
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_exact_workspace *ws = otk_exact_workspace_create(N, M);
    ck_assert_ptr_nonnull(ws);
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.warm_start = 1;
    otk_exact_info first, cold, warm;
    /* the first solve has no basis to start from */
    ck_assert_int_eq(exact_ws(ws, &cost, a, b, &s, NULL, &first), OTK_OPTIMAL);
    ck_assert_int_eq(first.warm_started, 0);
    unsigned long long st = 5;
    for (size_t k = 0; k < N * M; k++)
        C[k] += 1e-3 * (test_uniform(&st) - 0.5);
    ck_assert_int_eq(exact(&cost, a, b, NULL, NULL, &cold), OTK_OPTIMAL);
    double f[N], g[M], P[N * M];
    otk_plan_entry plan[N + M];
    otk_solution sol = {f, g, P, plan, N + M};
    ck_assert_int_eq(exact_ws(ws, &cost, a, b, &s, &sol, &warm), OTK_OPTIMAL);
    ck_assert_int_eq(warm.warm_started, 1);
    assert_close("warm optimum", warm.transport_cost, cold.transport_cost,
                 1e-13, 0.0);
    ck_assert_msg(warm.iterations < cold.iterations, "warm %zu, cold %zu",
                  warm.iterations, cold.iterations);
    solved r = {warm, plan, P, f, g};
    check_certificate(&cost, a, b, &r);

    /* other weights: a cold start, the same run as the one-shot call */
    for (size_t i = 0; i < N; i++)
        a2[i] = a[i];
    a2[0] += 1e-3;
    a2[1] -= 1e-3;
    otk_exact_info again;
    ck_assert_int_eq(exact(&cost, a2, b, NULL, NULL, &cold), OTK_OPTIMAL);
    ck_assert_int_eq(exact_ws(ws, &cost, a2, b, &s, &sol, &again), OTK_OPTIMAL);
    ck_assert_int_eq(again.warm_started, 0);
    ck_assert_uint_eq(again.iterations, cold.iterations);
    ck_assert(again.transport_cost == cold.transport_cost);
    r.info = again;
    check_certificate(&cost, a2, b, &r);

    /* a call rejected for its arguments keeps the basis */
    a2[3] = NAN;
    ck_assert_int_eq(exact_ws(ws, &cost, a2, b, &s, NULL, &again),
                     OTK_ERR_INVALID_INPUT);
    a2[3] = a[3];
    ck_assert_int_eq(exact_ws(ws, &cost, a2, b, &s, NULL, &again), OTK_OPTIMAL);
    ck_assert_int_eq(again.warm_started, 1);
    ck_assert_uint_eq(again.iterations, 0); /* already optimal */

    /* warm_start = 0 always starts cold */
    s.warm_start = 0;
    ck_assert_int_eq(exact_ws(ws, &cost, a2, b, &s, NULL, &again), OTK_OPTIMAL);
    ck_assert_int_eq(again.warm_started, 0);
    ck_assert_uint_eq(again.iterations, cold.iterations);

    /* a solve stopped by max_iter goes on from where it stopped */
    s.max_iter = 20;
    ck_assert_int_eq(exact_ws(ws, &cost, a, b, &s, NULL, &again), OTK_MAX_ITER);
    s.warm_start = 1;
    s.max_iter = SIZE_MAX;
    ck_assert_int_eq(exact_ws(ws, &cost, a, b, &s, NULL, &again), OTK_OPTIMAL);
    ck_assert_int_eq(again.warm_started, 1);
    assert_close("continued", again.transport_cost, warm.transport_cost, 1e-13,
                 0.0);
    otk_exact_workspace_free(ws);
    free(C);
}
END_TEST

/* The same for point clouds (the workspace grows its cost scratch), and
 * a warm start from a basis with artificial flow left. */
START_TEST(warm_start_points)
{
    enum { N = 80, M = 70, D = 2 };
    double x[N * D], y[M * D];
    unsigned long long st = 3;
    test_gaussian_points(x, N, D, 0.0, &st);
    test_gaussian_points(y, M, D, 1.0, &st);
    otk_cost cost = otk_cost_points(N, M, D, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_exact_workspace *ws = otk_exact_workspace_create(N, M);
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.warm_start = 1;
    s.max_iter = 10; /* stops with mass on the artificial arcs */
    otk_exact_info info, cold;
    ck_assert_int_eq(exact_ws(ws, &cost, NULL, NULL, &s, NULL, &info),
                     OTK_MAX_ITER);
    ck_assert_double_gt(info.marginal_error, 0.0);
    for (size_t k = 0; k < N * D; k++)
        x[k] *= 1.01;
    s.max_iter = SIZE_MAX;
    ck_assert_int_eq(exact_ws(ws, &cost, NULL, NULL, &s, NULL, &info),
                     OTK_OPTIMAL);
    ck_assert_int_eq(info.warm_started, 1);
    ck_assert_int_eq(exact(&cost, NULL, NULL, NULL, NULL, &cold), OTK_OPTIMAL);
    assert_close("points warm", info.transport_cost, cold.transport_cost, 1e-13,
                 0.0);
    otk_exact_workspace_free(ws);
}
END_TEST

START_TEST(workspace_arguments)
{
    ck_assert_ptr_null(otk_exact_workspace_create(0, 3));
    ck_assert_ptr_null(otk_exact_workspace_create(3, 0));
    ck_assert_ptr_null(otk_exact_workspace_create(SIZE_MAX / 2, 4));
    otk_exact_workspace_free(NULL);
    double C[6] = {0, 1, 2, 3, 4, 5};
    otk_cost cost = otk_cost_dense(2, 3, C), wide = otk_cost_dense(3, 2, C);
    otk_exact_info info;
    ck_assert_int_eq(exact_ws(NULL, &cost, NULL, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "workspace");
    otk_exact_workspace *ws = otk_exact_workspace_create(2, 3);
    ck_assert_int_eq(exact_ws(ws, &wide, NULL, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost.n");
    otk_cost narrow = otk_cost_dense(2, 2, C);
    ck_assert_int_eq(exact_ws(ws, &narrow, NULL, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost.m");
    ck_assert(isnan(info.transport_cost) && isnan(info.dual_objective) &&
              isnan(info.marginal_error));
    ck_assert_int_eq(otk_exact_solve(ws, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "problem");
    ck_assert_int_eq(exact_ws(ws, &cost, NULL, NULL, NULL, NULL, NULL),
                     OTK_OPTIMAL);
    otk_exact_workspace_free(ws);
}
END_TEST

/* The certificate refuses potentials or costs that break any of its
 * three conditions (the failure path OTK_ERR_NUMERICAL "certificate"
 * rests on). */
START_TEST(certificate_rejects_corruption)
{
    /* the identity matching of a 3 x 3 problem and its potentials */
    double C[9] = {0, 2, 3, 2, 0, 2, 3, 2, 0};
    const otk_cost cost = otk_cost_dense(3, 3, C);
    const otk_plan_entry plan[3] = {
        {0, 0, 1. / 3}, {1, 1, 1. / 3}, {2, 2, 1. / 3}};
    double f[3] = {0, 0, 0}, g[3] = {0, 0, 0}, row[3];
    const double tol = otk__exact_tolerance(3, 3, 0.0, 3.0);
    ck_assert_double_gt(tol, 0.0);
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, 0, tol), 1);
    /* a duality gap */
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, 1e-6, tol),
        0);
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, NAN, tol),
        0);
    /* slack on the support (dual feasible, no gap as passed) */
    f[1] = -0.5;
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, 0, tol), 0);
    /* a negative reduced cost off the support */
    f[1] = 0.0;
    C[5] = -1.0;
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, 0, tol), 0);
    C[5] = 2.0;
    g[2] = NAN;
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, 0, tol), 0);
    g[2] = 0.0;
    /* within the tolerance is accepted */
    f[0] = 0.5 * tol;
    ck_assert_int_eq(
        otk__exact_certified(&cost, NULL, row, f, g, plan, 3, 1, 0, 0, tol), 1);

    /* points: the rows the check scans are computed from the prepared
     * targets */
    double x[3] = {0, 1, 2}, y[3] = {0, 1, 2};
    otk_cost pts = otk_cost_points(3, 3, 1, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    double *yt = malloc((otk__cost_scratch_len(&pts) + 1) * sizeof *yt);
    otk__cost_prepare(&pts, yt);
    f[0] = 0.0;
    ck_assert_int_eq(
        otk__exact_certified(&pts, yt, row, f, g, plan, 3, 1, 0, 0, tol), 1);
    f[2] = 0.5; /* slack on (2, 2) */
    ck_assert_int_eq(
        otk__exact_certified(&pts, yt, row, f, g, plan, 3, 1, 0, 0, tol), 0);
    f[2] = 0.0;
    f[1] = 2.0; /* (1, 1) tight again, but C_10 - f_1 - g_0 = 1 - 2 < 0 */
    g[1] = -2.0;
    ck_assert_int_eq(
        otk__exact_certified(&pts, yt, row, f, g, plan, 3, 1, 0, 0, tol), 0);
    f[1] = 0.5; /* all reduced costs >= 0 again */
    g[1] = -0.5;
    ck_assert_int_eq(
        otk__exact_certified(&pts, yt, row, f, g, plan, 3, 1, 0, 0, tol), 1);
    free(yt);
}
END_TEST

/* A solve of a 2 x 3 problem with these settings, which must write no
 * output and compute nothing when it fails. */
static otk_status try_settings(void *user, const void *settings,
                               const char **bad)
{
    (void)user;
    double C[6] = {0, 1, 2, 3, 4, 5}, f[2] = {7, 7};
    otk_cost cost = otk_cost_dense(2, 3, C);
    otk_solution sol = {.f = f};
    otk_exact_info info;
    otk_status st = exact(&cost, NULL, NULL, settings, &sol, &info);
    *bad = info.outcome.bad_argument;
    if (st < 0) {
        ck_assert(f[0] == 7 && f[1] == 7);
        ck_assert(isnan(info.transport_cost));
    }
    return st;
}

/* Every record of the bounds table against the defaults and the solver's
 * checks (test_bounds_table). */
START_TEST(settings_bounds_table)
{
    size_t count = 0;
    const otk_setting_bounds *t = otk_exact_setting_bounds(&count);
    ck_assert(otk_exact_setting_bounds(NULL) == t);
    static const char *const fields[] = {"max_iter", "mass_tol", "warm_start"};
    otk_exact_settings def;
    memset(&def, 0x5a, sizeof def);
    otk_exact_default_settings(&def);
    ck_assert(def.progress == NULL && def.progress_user == NULL);
    ck_assert_uint_eq(def.max_iter, SIZE_MAX);
    test_bounds_table(t, count, fields, sizeof fields / sizeof *fields, &def,
                      sizeof def, try_settings, NULL);
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    double C[6] = {0, 1, 2, 3, 4, 5}, a[2] = {0.5, 0.5}, b[3] = {0.2, 0.3, 0.5};
    otk_cost cost = otk_cost_dense(2, 3, C);
    otk_exact_info info;
    double f[2] = {7, 7};
    otk_solution sol = {.f = f};
    C[4] = NAN;
    ck_assert_int_eq(exact(&cost, a, b, NULL, &sol, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_int_eq(info.outcome.status, OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost.C");
    ck_assert_uint_eq(info.outcome.bad_index, 4);
    ck_assert(f[0] == 7 && f[1] == 7); /* nothing written */
    C[4] = 4;
    a[1] = -0.5;
    ck_assert_int_eq(exact(&cost, a, b, NULL, NULL, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "a");
    ck_assert_uint_eq(info.outcome.bad_index, 1);
    a[1] = 0.5;
    double zero[3] = {0, 0, 0};
    ck_assert_int_eq(exact(&cost, a, zero, NULL, NULL, &info),
                     OTK_ERR_MASS_MISMATCH);
    ck_assert_str_eq(info.outcome.bad_argument, "b");
    double heavy[3] = {0.2, 0.3, 0.6};
    ck_assert_int_eq(exact(&cost, a, heavy, NULL, NULL, &info),
                     OTK_ERR_MASS_MISMATCH);
    ck_assert_str_eq(info.outcome.bad_argument, "b");
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.mass_tol = 0.2; /* a stated tolerance: within it, b is rescaled */
    ck_assert_int_eq(exact(&cost, a, heavy, &s, NULL, &info), OTK_OPTIMAL);
    ck_assert_int_eq(info.rescaled, 1);
    ck_assert_str_eq(info.outcome.cause, "rescaled");
    ck_assert_double_gt(info.marginal_error, 0.09); /* against the given b */
    ck_assert_int_eq(exact(NULL, a, b, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost");
    ck_assert_int_eq(otk_exact(NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "problem");
    ck_assert_int_eq(OTK_OPTIMAL, OTK_CONVERGED);
}
END_TEST

static Suite *exact_suite(void)
{
    Suite *s = suite_create("exact");
    TCase *tc = tcase_create("exact");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, matches_pot, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, permutation_problems_give_permutations);
    tcase_add_test(tc, one_dimension_is_monotone);
    tcase_add_test(tc, random_problems_are_certified);
    tcase_add_test(tc, sinkhorn_tends_to_exact);
    tcase_add_test(tc, ties_are_deterministic);
    tcase_add_test(tc, pricing_matches_the_scalar_scan);
    tcase_add_test(tc, pivot_limit);
    tcase_add_test(tc, plan_capacity_cuts_the_list);
    tcase_add_test(tc, warm_start_after_cost_change);
    tcase_add_test(tc, warm_start_points);
    tcase_add_test(tc, workspace_arguments);
    tcase_add_test(tc, certificate_rejects_corruption);
    tcase_add_test(tc, settings_bounds_table);
    tcase_add_test(tc, bad_inputs_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(exact_suite()); }
