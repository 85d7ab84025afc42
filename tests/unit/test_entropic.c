/* Entropic OT: POT oracles, optimality properties, limits, the
 * divergence, the workspace and callback API, and every bad input. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "testutil.h"

/* ---- helpers ---- */

/* A call's problem and solution, as compound literals (valid for the
 * enclosing block). */
#define PROBLEM(cost, a, b, reg) (&(otk_problem){(cost), (a), (b), (reg)})
#define SOLUTION(f_, g_, P_) (&(otk_solution){.f = (f_), .g = (g_), .P = (P_)})

static otk_sinkhorn_settings tight(void)
{
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = 1e-12;
    s.max_iter = 200000;
    return s;
}

/* Numbers recomputed from a dense plan, independently of the solver's
 * final pass. */
typedef struct plan_numbers {
    double marginal_error, transport_cost, kl, mass;
} plan_numbers;

static plan_numbers from_plan(size_t n, size_t m, const double *a,
                              const double *b, const double *C, const double *P)
{
    plan_numbers r = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double row = 0.0;
        for (size_t j = 0; j < m; j++) {
            double p = P[i * m + j], q = a[i] * b[j];
            row += p;
            r.transport_cost += p * C[i * m + j];
            r.kl += (p > 0.0 ? p * log(p / q) : 0.0) - p + q;
        }
        r.marginal_error += fabs(row - a[i]);
        r.mass += row;
    }
    for (size_t j = 0; j < m; j++) {
        double col = 0.0;
        for (size_t i = 0; i < n; i++)
            col += P[i * m + j];
        r.marginal_error += fabs(col - b[j]);
    }
    return r;
}

static double *random_weights(size_t len, unsigned long long *st)
{
    double *w = malloc(len * sizeof *w), s = 0.0;
    ck_assert(w != NULL);
    for (size_t i = 0; i < len; i++)
        s += w[i] = 0.2 + test_uniform(st);
    for (size_t i = 0; i < len; i++)
        w[i] /= s;
    return w;
}

/* Squared-Euclidean cost of 2-D Gaussian clouds, normalized to max 1. */
static double *random_cost(size_t n, size_t m, unsigned long long *st)
{
    double *x = malloc(2 * n * sizeof *x), *y = malloc(2 * m * sizeof *y);
    double *C = malloc(n * m * sizeof *C), mx = 0.0;
    ck_assert(x && y && C);
    test_gaussian_points(x, n, 2, 0.0, st);
    test_gaussian_points(y, m, 2, 1.0, st);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double dx = x[2 * i] - y[2 * j], dy = x[2 * i + 1] - y[2 * j + 1];
            C[i * m + j] = dx * dx + dy * dy;
            mx = fmax(mx, C[i * m + j]);
        }
    for (size_t k = 0; k < n * m; k++)
        C[k] /= mx;
    free(x);
    free(y);
    return C;
}

/* A random_cost of the seed as a dense cost; *C is the caller's to free. */
static otk_cost random_dense(size_t n, size_t m, unsigned long long seed,
                             double **C)
{
    *C = random_cost(n, m, &seed);
    return otk_cost_dense(n, m, *C);
}

/* ---- POT oracles ---- */

static const char *const cases[] = {
    "square5_reg1",         "rect7x4_reg0.1",       "rect30x20_reg0.05",
    "rect20x25_reg0.01",    "square15_reg1e-3",     "points_sqeuclid_12x9",
    "points_euclid_10x8",   "unbalanced_10x8_tau1", "unbalanced_6x6_tau0.3",
    "divergence_points_8x6"};

static void check_against_oracle(const oracle_case *oc, const otk_cost *cost,
                                 const char *label)
{
    const size_t n = oc->n, m = oc->m;
    otk_sinkhorn_settings s = tight();
    s.tau_a = oc->tau_a;
    s.tau_b = oc->tau_b;
    double *f = malloc(n * sizeof *f), *g = malloc(m * sizeof *g);
    double *P = malloc(n * m * sizeof *P);
    ck_assert(f && g && P);
    otk_sinkhorn_info info;
    otk_status st = otk_sinkhorn(PROBLEM(cost, oc->a, oc->b, oc->reg), &s,
                                 SOLUTION(f, g, P), &info);
    ck_assert_msg(st == OTK_CONVERGED, "%s: %s", label, otk_status_name(st));
    ck_assert_int_eq(info.outcome.status, st);
    assert_close_vec("plan", P, oc->P, n * m, 1e-9, 1e-15);
    if (isinf(oc->tau_a) && isinf(oc->tau_b)) {
        /* balanced potentials are defined up to f + t, g - t */
        double shift = 0.0;
        for (size_t i = 0; i < n; i++)
            shift += (oc->f[i] - f[i]) / (double)n;
        for (size_t i = 0; i < n; i++)
            f[i] += shift;
        for (size_t j = 0; j < m; j++)
            g[j] -= shift;
    }
    double scale = 1e-9 * (1.0 + oc->transport_cost);
    assert_close_vec("f", f, oc->f, n, 1e-8, scale);
    assert_close_vec("g", g, oc->g, m, 1e-8, scale);
    assert_close("transport_cost", info.transport_cost, oc->transport_cost,
                 1e-9, 1e-14);
    assert_close("objective", info.objective, oc->objective, 1e-9, 1e-14);
    assert_close("dual_objective", info.dual_objective, oc->dual_objective,
                 1e-9, 1e-14);
    ck_assert_double_le(info.residual, 1e-12);
    free(f);
    free(g);
    free(P);
}

/* The cases with point clouds, and the metric each was made with. */
static const struct {
    const char *name;
    otk_metric metric;
} point_cases[] = {{"points_sqeuclid_12x9", OTK_METRIC_SQEUCLIDEAN},
                   {"points_euclid_10x8", OTK_METRIC_EUCLIDEAN},
                   {"divergence_points_8x6", OTK_METRIC_SQEUCLIDEAN}};
#define N_POINT_CASES (sizeof point_cases / sizeof point_cases[0])

START_TEST(matches_pot_dense)
{
    oracle_case oc;
    oracle_load("entropic", cases[_i], &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    check_against_oracle(&oc, &cost, cases[_i]);
    /* a case with points is one of point_cases, so matches_pot_points
     * solves it too */
    int listed = 0;
    for (size_t k = 0; k < N_POINT_CASES; k++)
        listed |= strcmp(point_cases[k].name, cases[_i]) == 0;
    ck_assert_msg((oc.x != NULL) == listed, "%s: %s point_cases", cases[_i],
                  listed ? "has no points but is in" : "has points, not in");
    oracle_free(&oc);
}
END_TEST

/* Every iteration solves a point-cloud case (none is skipped). */
START_TEST(matches_pot_points)
{
    oracle_case oc;
    oracle_load("entropic", point_cases[_i].name, &oc);
    ck_assert_msg(oc.x != NULL && oc.y != NULL, "%s: no points",
                  point_cases[_i].name);
    otk_cost cost = otk_cost_points(oc.n, oc.m, oc.d, oc.x, oc.y,
                                    point_cases[_i].metric, 2.0);
    check_against_oracle(&oc, &cost, point_cases[_i].name);
    oracle_free(&oc);
}
END_TEST

START_TEST(divergence_matches_pot)
{
    oracle_case oc;
    oracle_load("entropic", "divergence_points_8x6", &oc);
    otk_cost cost = otk_cost_points(oc.n, oc.m, oc.d, oc.x, oc.y,
                                    OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_sinkhorn_settings s = tight();
    double div;
    otk_sinkhorn_info info[3];
    ck_assert_int_eq(otk_sinkhorn_divergence(PROBLEM(&cost, oc.a, oc.b, oc.reg),
                                             NULL, NULL, &s, &div, NULL, info),
                     OTK_CONVERGED);
    assert_close("divergence", div, oc.divergence, 1e-9, 1e-13);
    /* the symmetric problems converge fast with the averaged update */
    ck_assert_uint_lt(info[2].iterations, 2000);
    /* the same through dense costs */
    double *Cxx = malloc(oc.n * oc.n * sizeof *Cxx);
    double *Cyy = malloc(oc.m * oc.m * sizeof *Cyy);
    otk_cost xx = otk_cost_points(oc.n, oc.n, oc.d, oc.x, oc.x,
                                  OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_cost yy = otk_cost_points(oc.m, oc.m, oc.d, oc.y, oc.y,
                                  OTK_METRIC_SQEUCLIDEAN, 2.0);
    for (size_t i = 0; i < oc.n; i++)
        for (size_t j = 0; j < oc.n; j++)
            Cxx[i * oc.n + j] = otk_cost_entry(&xx, i, j);
    for (size_t i = 0; i < oc.m; i++)
        for (size_t j = 0; j < oc.m; j++)
            Cyy[i * oc.m + j] = otk_cost_entry(&yy, i, j);
    otk_cost dxy = otk_cost_dense(oc.n, oc.m, oc.C);
    otk_cost dxx = otk_cost_dense(oc.n, oc.n, Cxx);
    otk_cost dyy = otk_cost_dense(oc.m, oc.m, Cyy);
    double div2;
    double *P = malloc(oc.n * oc.m * sizeof *P);
    ck_assert_int_eq(otk_sinkhorn_divergence(PROBLEM(&dxy, oc.a, oc.b, oc.reg),
                                             &dxx, &dyy, &s, &div2,
                                             SOLUTION(NULL, NULL, P), NULL),
                     OTK_CONVERGED);
    assert_close("dense divergence", div2, oc.divergence, 1e-9, 1e-13);
    assert_close_vec("divergence plan", P, oc.P, oc.n * oc.m, 1e-9, 1e-15);
    /* dense costs need the self costs */
    ck_assert_int_eq(otk_sinkhorn_divergence(PROBLEM(&dxy, oc.a, oc.b, oc.reg),
                                             NULL, &dyy, &s, &div2, NULL, info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info[0].outcome.bad_argument, "cost_xx");
    ck_assert_int_eq(otk_sinkhorn_divergence(PROBLEM(&dxy, oc.a, oc.b, oc.reg),
                                             &dyy, &dyy, &s, &div2, NULL, info),
                     OTK_ERR_INVALID_ARGUMENT);
    free(P);
    free(Cxx);
    free(Cyy);
    oracle_free(&oc);
}
END_TEST

/* ---- properties ---- */

START_TEST(divergence_properties)
{
    enum { N = 30, M = 25, D = 2 };
    double x[N * D], y[M * D];
    unsigned long long st = 5;
    test_gaussian_points(x, N, D, 0.0, &st);
    test_gaussian_points(y, M, D, 0.5, &st);
    otk_sinkhorn_settings s = tight();
    const double regs[] = {0.05, 0.5, 5.0};
    for (int k = 0; k < 3; k++) {
        otk_cost cxy =
            otk_cost_points(N, M, D, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
        double div, same;
        ck_assert_int_eq(
            otk_sinkhorn_divergence(PROBLEM(&cxy, NULL, NULL, regs[k]), NULL,
                                    NULL, &s, &div, NULL, NULL),
            OTK_CONVERGED);
        ck_assert_double_gt(div, 0.0);
        otk_cost cxx =
            otk_cost_points(N, N, D, x, x, OTK_METRIC_SQEUCLIDEAN, 2.0);
        ck_assert_int_eq(
            otk_sinkhorn_divergence(PROBLEM(&cxx, NULL, NULL, regs[k]), NULL,
                                    NULL, &s, &same, NULL, NULL),
            OTK_CONVERGED);
        ck_assert_double_le(fabs(same), 1e-12);
    }
}
END_TEST

START_TEST(optimality_and_duality_gap)
{
    enum { N = 60, M = 45 };
    unsigned long long st = 21;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st);
    double *P = malloc(N * M * sizeof *P), g[M];
    otk_cost cost = otk_cost_dense(N, M, C);
    const double tols[] = {1e-3, 1e-6, 1e-12};
    double prev_gap = INFINITY;
    for (int k = 0; k < 3; k++) {
        otk_sinkhorn_settings s = tight();
        s.tol = tols[k];
        s.check_every = 1;
        otk_sinkhorn_info info;
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.05), &s,
                                      SOLUTION(NULL, g, P), &info),
                         OTK_CONVERGED);
        plan_numbers pn = from_plan(N, M, a, b, C, P);
        /* the info describes the plan actually returned */
        assert_close("marginal_error", info.marginal_error, pn.marginal_error,
                     1e-6, 1e-15);
        ck_assert_double_le(info.marginal_error, tols[k] * (1 + 1e-9) + 1e-15);
        assert_close("transport", info.transport_cost, pn.transport_cost, 1e-12,
                     0.0);
        assert_close("objective", info.objective,
                     pn.transport_cost + 0.05 * pn.kl, 1e-10, 1e-14);
        /* weak duality, up to what the marginal violation allows */
        double gmax = 0.0;
        for (int j = 0; j < M; j++)
            gmax = fmax(gmax, fabs(g[j]));
        double gap = info.objective - info.dual_objective;
        ck_assert_double_ge(gap, -gmax * info.marginal_error - 1e-14);
        ck_assert_double_le(fabs(gap), prev_gap + 1e-15);
        prev_gap = fabs(gap);
    }
    ck_assert_double_le(prev_gap, 1e-12);
    free(C);
    free(a);
    free(b);
    free(P);
}
END_TEST

START_TEST(domains_and_threads_agree)
{
    enum { N = 150, M = 120 };
    unsigned long long st = 8;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st);
    double *P0 = malloc(N * M * sizeof *P0), *P1 = malloc(N * M * sizeof *P1);
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s = tight();
    s.domain = OTK_DOMAIN_LOG;
    s.threads = 1;
    otk_sinkhorn_info i0, i1;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.05), &s,
                                  SOLUTION(NULL, NULL, P0), &i0),
                     OTK_CONVERGED);
    ck_assert_int_eq(i0.domain, OTK_DOMAIN_LOG);
    const otk_sinkhorn_domain domains[] = {OTK_DOMAIN_SCALING, OTK_DOMAIN_AUTO,
                                           OTK_DOMAIN_LOG};
    const int threads[] = {1, 2, 3};
    for (int k = 0; k < 3; k++) {
        s.domain = domains[k];
        s.threads = threads[k];
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.05), &s,
                                      SOLUTION(NULL, NULL, P1), &i1),
                         OTK_CONVERGED);
        assert_close_vec("plan", P1, P0, N * M, 1e-9, 1e-16);
        assert_close("objective", i1.objective, i0.objective, 1e-11, 0.0);
    }
    /* auto picks the kernel when range/reg is small */
    s.domain = OTK_DOMAIN_AUTO;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.05), &s, NULL, &i1),
                     OTK_CONVERGED);
    ck_assert_int_eq(i1.domain, OTK_DOMAIN_SCALING);
    free(C);
    free(a);
    free(b);
    free(P0);
    free(P1);
}
END_TEST

START_TEST(points_equal_dense)
{
    enum { N = 40, M = 30, D = 3 };
    double x[N * D], y[M * D];
    unsigned long long st = 99;
    test_gaussian_points(x, N, D, 0.0, &st);
    test_gaussian_points(y, M, D, 0.7, &st);
    double *a = random_weights(N, &st), *b = random_weights(M, &st);
    const otk_metric metrics[] = {OTK_METRIC_SQEUCLIDEAN, OTK_METRIC_EUCLIDEAN,
                                  OTK_METRIC_PNORM};
    for (int k = 0; k < 3; k++) {
        otk_cost pts = otk_cost_points(N, M, D, x, y, metrics[k], 1.5);
        double C[N * M], Pd[N * M], Pp[N * M], fd[N], fp[N];
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < M; j++)
                C[i * M + j] = otk_cost_entry(&pts, i, j);
        otk_cost dense = otk_cost_dense(N, M, C);
        otk_sinkhorn_settings s = tight();
        otk_sinkhorn_info id, ip;
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&dense, a, b, 0.3), &s,
                                      SOLUTION(fd, NULL, Pd), &id),
                         OTK_CONVERGED);
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&pts, a, b, 0.3), &s,
                                      SOLUTION(fp, NULL, Pp), &ip),
                         OTK_CONVERGED);
        assert_close_vec("plan", Pp, Pd, N * M, 1e-9, 1e-16);
        /* the potentials' free constant may differ from the dense path's
         * (another domain, another summation) */
        assert_close_shifted("f", fp, fd, N, 1e-9, 1e-12);
        assert_close("cost", ip.transport_cost, id.transport_cost, 1e-10, 0);
    }
    free(a);
    free(b);
}
END_TEST

/* In d = 64 with reg = 0.1 x the mean cost, range/reg is about 10: no
 * epsilon scaling, for point clouds as for the same cost given dense. (The
 * bounding box of the clouds, which bounded the range before, is about 10
 * times the true max there and turned on 9 annealing stages.) */
START_TEST(points_in_high_dimension_do_not_anneal)
{
    enum { N = 150, M = 120, D = 64 };
    double *x = malloc(N * D * sizeof *x), *y = malloc(M * D * sizeof *y);
    double *C = malloc(N * M * sizeof *C), *Pd = malloc(N * M * sizeof *Pd);
    double *Pp = malloc(N * M * sizeof *Pp), fd[N], fp[N];
    unsigned long long st = 64;
    test_gaussian_points(x, N, D, 0.0, &st);
    test_gaussian_points(y, M, D, 0.3, &st);
    otk_cost pts = otk_cost_points(N, M, D, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    double mean = 0.0, mx = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            C[i * M + j] = otk_cost_entry(&pts, i, j);
            mean += C[i * M + j] / (N * M);
            mx = fmax(mx, C[i * M + j]);
        }
    const double reg = 0.1 * mean;
    ck_assert_double_lt(mx / reg, 50.0); /* below the auto threshold */
    otk_cost dense = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    otk_sinkhorn_info id, ip, ip0;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&dense, NULL, NULL, reg), &s,
                                  SOLUTION(fd, NULL, Pd), &id),
                     OTK_CONVERGED);
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&pts, NULL, NULL, reg), &s,
                                  SOLUTION(fp, NULL, Pp), &ip),
                     OTK_CONVERGED);
    ck_assert_uint_eq(id.stages, 1);
    ck_assert_uint_eq(ip.stages, 1);
    /* the same iterations as with epsilon scaling off */
    s.eps_scaling = 0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&pts, NULL, NULL, reg), &s, NULL, &ip0),
        OTK_CONVERGED);
    ck_assert_uint_eq(ip.iterations, ip0.iterations);
    ck_assert_uint_le(ip.iterations, id.iterations + 10);
    /* the bounds pass split among threads decides the same way */
    s.eps_scaling = -1;
    s.threads = 3;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&pts, NULL, NULL, reg), &s, NULL, &ip0),
        OTK_CONVERGED);
    ck_assert_uint_eq(ip0.stages, 1);
    ck_assert_uint_eq(ip0.iterations, ip.iterations);
    /* and the dense path's result */
    assert_close_vec("plan", Pp, Pd, N * M, 1e-8, 1e-16);
    assert_close_shifted("f", fp, fd, N, 1e-8, 1e-10);
    assert_close("cost", ip.transport_cost, id.transport_cost, 1e-10, 0);
    free(x);
    free(y);
    free(C);
    free(Pd);
    free(Pp);
}
END_TEST

/* 1-D points with uniform weights and n = m: for a convex cost the
 * sorted matching is optimal, so the exact OT cost is known. */
START_TEST(small_reg_approaches_exact)
{
    enum { N = 30 };
    double x[N], y[N];
    unsigned long long st = 4;
    for (int i = 0; i < N; i++) {
        x[i] = (double)i + 0.1 * test_uniform(&st);
        y[i] = (double)i + 0.1 * test_uniform(&st);
    }
    /* already sorted, so the sorted matching pairs i with i */
    double exact = 0.0, maxc = 0.0;
    for (int i = 0; i < N; i++)
        exact += (x[i] - y[i]) * (x[i] - y[i]) / N;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            maxc = fmax(maxc, (x[i] - y[j]) * (x[i] - y[j]));
    otk_cost cost = otk_cost_points(N, N, 1, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    double prev = INFINITY;
    const double rel[] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5};
    for (int k = 0; k < 5; k++) {
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        /* At 1e-4 the plan is nearly a permutation whose rows talk to
         * their neighbours through kernel entries ~ e^-12: Sinkhorn's rate
         * is then close to 1 and 1e-9 would take millions of iterations. */
        s.tol = rel[k] == 1e-4 ? 1e-5 : 1e-9;
        otk_sinkhorn_info info;
        otk_status st2 = otk_sinkhorn(PROBLEM(&cost, NULL, NULL, rel[k] * maxc),
                                      &s, NULL, &info);
        ck_assert_msg(st2 == OTK_CONVERGED, "reg %g: %s", rel[k],
                      otk_status_name(st2));
        ck_assert(isfinite(info.objective) && isfinite(info.dual_objective));
        double err = info.transport_cost - exact;
        ck_assert_double_ge(err, -1e-9); /* nothing beats the exact cost */
        ck_assert_double_lt(err, prev);
        prev = err;
    }
    ck_assert_double_le(prev, 1e-3 * exact);
    ck_assert_double_ge(exact, 1e-4); /* the bound above is not vacuous */
}
END_TEST

START_TEST(tiny_reg_stays_finite_without_scaling)
{
    enum { N = 50, M = 40 };
    unsigned long long st = 13;
    double *C = random_cost(N, M, &st);
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.eps_scaling = 0;
    s.max_iter = 200;
    double f[N], g[M], *P = malloc(N * M * sizeof *P);
    otk_sinkhorn_info info;
    otk_status r = otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-4), &s,
                                SOLUTION(f, g, P), &info);
    ck_assert_int_eq(r, OTK_MAX_ITER);
    ck_assert_int_eq(info.domain, OTK_DOMAIN_LOG);
    ck_assert_uint_eq(info.iterations, 200);
    for (int i = 0; i < N; i++)
        ck_assert(isfinite(f[i]));
    for (int j = 0; j < M; j++)
        ck_assert(isfinite(g[j]));
    for (int k = 0; k < N * M; k++)
        ck_assert(isfinite(P[k]) && P[k] >= 0.0);
    ck_assert(isfinite(info.objective) && isfinite(info.marginal_error));
    /* and with epsilon scaling (the default) it converges */
    otk_sinkhorn_default_settings(&s);
    s.max_iter = 100000;
    s.tol = 1e-8;
    r = otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-4), &s, SOLUTION(f, g, P),
                     &info);
    ck_assert_int_eq(r, OTK_CONVERGED);
    ck_assert_uint_gt(info.stages, 5);
    double transport = 0.0;
    for (int k = 0; k < N * M; k++)
        transport += P[k] * C[k];
    assert_close("transport", info.transport_cost, transport, 1e-10, 0.0);
    free(C);
    free(P);
}
END_TEST

START_TEST(unbalanced_limits)
{
    enum { N = 20, M = 15 };
    unsigned long long st = 31;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st);
    double Pb[N * M], Pu[N * M];
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s = tight();
    otk_sinkhorn_info ib, iu;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.1), &s,
                                  SOLUTION(NULL, NULL, Pb), &ib),
                     OTK_CONVERGED);
    /* the plan tends to the balanced one as tau grows, by O(reg / tau) */
    double prev = INFINITY;
    const double taus[] = {1.0, 10.0, 100.0};
    for (int k = 0; k < 3; k++) {
        s.tau_a = s.tau_b = taus[k];
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.1), &s,
                                      SOLUTION(NULL, NULL, Pu), &iu),
                         OTK_CONVERGED);
        double diff = 0.0;
        for (int q = 0; q < N * M; q++)
            diff = fmax(diff, fabs(Pu[q] - Pb[q]));
        ck_assert_double_lt(diff, prev);
        prev = diff;
    }
    ck_assert_double_lt(prev, 1e-3);
    /* one-sided: tau_a finite, columns still exact */
    s.tau_a = 0.5;
    s.tau_b = INFINITY;
    for (int j = 0; j < M; j++)
        b[j] *= 2.0; /* masses may differ when one side is penalized */
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.1), &s,
                                  SOLUTION(NULL, NULL, Pu), &iu),
                     OTK_CONVERGED);
    for (int j = 0; j < M; j++) {
        double col = 0.0;
        for (int i = 0; i < N; i++)
            col += Pu[i * M + j];
        assert_close("column", col, b[j], 1e-9, 1e-14);
    }
    ck_assert_double_le(iu.dual_objective, iu.objective + 1e-10);
    free(C);
    free(a);
    free(b);
}
END_TEST

START_TEST(zero_weights)
{
    enum { N = 12, M = 10 };
    unsigned long long st = 17;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st);
    a[3] = 0.0;
    b[0] = 0.0;
    b[7] = 0.0;
    double ma = 0.0, mb = 0.0;
    for (int i = 0; i < N; i++)
        ma += a[i];
    for (int j = 0; j < M; j++)
        mb += b[j];
    for (int i = 0; i < N; i++)
        a[i] /= ma;
    for (int j = 0; j < M; j++)
        b[j] /= mb;
    double P[N * M], f[N], g[M];
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s = tight();
    otk_sinkhorn_info info;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, a, b, 0.05), &s, SOLUTION(f, g, P), &info),
        OTK_CONVERGED);
    for (int j = 0; j < M; j++)
        ck_assert_double_eq(P[3 * M + j], 0.0);
    for (int i = 0; i < N; i++)
        ck_assert(P[i * M] == 0.0 && P[i * M + 7] == 0.0);
    for (int i = 0; i < N; i++)
        ck_assert(isfinite(f[i]));
    for (int j = 0; j < M; j++)
        ck_assert(isfinite(g[j]));
    /* a zero-weight target's potential is its c-transform */
    double t[N];
    for (int i = 0; i < N; i++)
        t[i] = a[i] > 0 ? log(a[i]) + (f[i] - C[i * M + 7]) / 0.05 : -INFINITY;
    double mx = -INFINITY, sum = 0.0;
    for (int i = 0; i < N; i++)
        mx = fmax(mx, t[i]);
    for (int i = 0; i < N; i++)
        sum += exp(t[i] - mx);
    assert_close("c-transform", g[7], -0.05 * (mx + log(sum)), 1e-12, 1e-14);
    plan_numbers pn = from_plan(N, M, a, b, C, P);
    assert_close("objective", info.objective, pn.transport_cost + 0.05 * pn.kl,
                 1e-10, 1e-14);
    free(C);
    free(a);
    free(b);
}
END_TEST

/* ---- API: workspace, warm start, callbacks, limits ---- */

static int cancel_at_first(void *user, const otk_progress *p)
{
    int *calls = user;
    (*calls)++;
    ck_assert_str_eq(p->solver, "sinkhorn");
    ck_assert(isfinite(p->error));
    return 1;
}

static int count_calls(void *user, const otk_progress *p)
{
    (void)p;
    (*(int *)user)++;
    return 0;
}

START_TEST(workspace_warm_start_and_callbacks)
{
    enum { N = 50, M = 40 };
    unsigned long long st = 23;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st);
    double f[N], g[M], f2[N], g2[M];
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s = tight();
    s.tol = 1e-10;
    otk_sinkhorn_info one, ws_info;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.02), &s,
                                  SOLUTION(f, g, NULL), &one),
                     OTK_CONVERGED);
    otk_sinkhorn_workspace *w = otk_sinkhorn_workspace_create(N, M);
    ck_assert_ptr_nonnull(w);
    for (int rep = 0; rep < 2; rep++) { /* reuse gives the same result */
        ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, a, b, 0.02), &s,
                                            SOLUTION(f2, g2, NULL), &ws_info),
                         OTK_CONVERGED);
        assert_close_vec("f", f2, f, N, 0.0, 0.0);
        ck_assert_uint_eq(ws_info.iterations, one.iterations);
    }
    /* warm start from the solution: done at the first check */
    s.warm_start = 1;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, a, b, 0.02), &s,
                                        SOLUTION(f2, g2, NULL), &ws_info),
                     OTK_CONVERGED);
    ck_assert_uint_le(ws_info.iterations, s.check_every);
    /* warm start across a slightly changed cost converges faster than
     * cold */
    for (int k = 0; k < N * M; k++)
        C[k] *= 1.0 + 1e-4 * test_uniform(&st);
    memcpy(g2, g, sizeof g);
    otk_sinkhorn_info cold, warm;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, a, b, 0.02), &s,
                                        SOLUTION(f2, g2, NULL), &warm),
                     OTK_CONVERGED);
    s.warm_start = 0;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, a, b, 0.02), &s,
                                        SOLUTION(f2, g2, NULL), &cold),
                     OTK_CONVERGED);
    ck_assert_uint_lt(warm.iterations, cold.iterations);
    /* cancel from the callback */
    int calls = 0;
    s.progress = cancel_at_first;
    s.progress_user = &calls;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, a, b, 0.02), &s,
                                        SOLUTION(f2, g2, NULL), &ws_info),
                     OTK_CANCELLED);
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(ws_info.iterations, s.check_every);
    ck_assert(isfinite(ws_info.marginal_error) && isfinite(f2[0]));
    /* the callback runs once per check */
    calls = 0;
    s.progress = count_calls;
    s.eps_scaling = 0;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, a, b, 0.02), &s,
                                        SOLUTION(f2, g2, NULL), &ws_info),
                     OTK_CONVERGED);
    ck_assert_uint_eq((size_t)calls,
                      (ws_info.iterations + s.check_every - 1) / s.check_every);
    /* wrong size for the workspace */
    otk_cost small = otk_cost_dense(N - 1, M, C);
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&small, NULL, NULL, 0.02),
                                        NULL, NULL, &ws_info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(ws_info.outcome.bad_argument, "cost.n");
    otk_sinkhorn_workspace_free(w);
    otk_sinkhorn_workspace_free(NULL);
    ck_assert_ptr_null(otk_sinkhorn_workspace_create(0, 3));
    free(C);
    free(a);
    free(b);
}
END_TEST

START_TEST(max_iter_reports_the_returned_plan)
{
    enum { N = 30, M = 20 };
    unsigned long long st = 41;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st);
    double P[N * M];
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.max_iter = 7; /* not a multiple of check_every */
    s.tol = 0.0;
    otk_sinkhorn_info info;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.01), &s,
                                  SOLUTION(NULL, NULL, P), &info),
                     OTK_MAX_ITER);
    ck_assert_uint_eq(info.iterations, 7);
    plan_numbers pn = from_plan(N, M, a, b, C, P);
    assert_close("marginal_error", info.marginal_error, pn.marginal_error, 1e-9,
                 1e-16);
    ck_assert_double_gt(info.marginal_error, 1e-6);
    assert_close("residual", info.residual, info.marginal_error, 1e-9, 1e-16);
    free(C);
    free(a);
    free(b);
}
END_TEST

/* ---- the API convention ---- */

/* A one-shot solve of a 2 x 2 problem with the given settings. */
static otk_status solve_2x2(void *user, const void *settings, const char **bad)
{
    (void)user;
    static const double C[4] = {0, 1, 1, 0};
    otk_cost cost = otk_cost_dense(2, 2, C);
    otk_sinkhorn_info info;
    otk_status st =
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1.0), settings, NULL, &info);
    *bad = info.outcome.bad_argument;
    return st;
}

START_TEST(settings_bounds_table)
{
    size_t count = 0;
    const otk_setting_bounds *t = otk_sinkhorn_setting_bounds(&count);
    ck_assert_ptr_eq(otk_sinkhorn_setting_bounds(NULL), t);
    /* every numeric field of otk_sinkhorn_settings has its record */
    static const char *const fields[] = {
        "tol",        "max_iter",   "check_every", "tau_a",
        "tau_b",      "domain",     "eps_scaling", "eps_scaling_factor",
        "warm_start", "relaxation", "threads",     "multiscale",
        "truncation"};
    otk_sinkhorn_settings def;
    memset(&def, 0x5a, sizeof def);
    otk_sinkhorn_default_settings(&def);
    ck_assert(def.progress == NULL && def.progress_user == NULL);
    const char *bad = "unset";
    ck_assert_int_eq(solve_2x2(NULL, &def, &bad), OTK_CONVERGED);
    ck_assert_ptr_null(bad);
    test_bounds_table(t, count, fields, sizeof fields / sizeof *fields, &def,
                      sizeof def, solve_2x2, NULL);
}
END_TEST

typedef struct progress_log {
    int calls;
    double last_elapsed;
    size_t last_stage;
    int scaling_seen;
} progress_log;

/* Checks each record as it comes: detail present, stages and elapsed
 * time never going back. */
static int log_progress(void *user, const otk_progress *p)
{
    progress_log *lg = user;
    const otk_sinkhorn_progress *d = p->detail;
    ck_assert_str_eq(p->solver, "sinkhorn");
    ck_assert_ptr_nonnull(d);
    ck_assert(isnan(p->objective) && isfinite(p->error));
    ck_assert(isfinite(p->elapsed_s) && p->elapsed_s >= lg->last_elapsed);
    ck_assert_uint_ge(d->stage, lg->last_stage > 0 ? lg->last_stage : 1);
    ck_assert(d->domain == OTK_DOMAIN_LOG || d->domain == OTK_DOMAIN_SCALING);
    lg->scaling_seen |= d->domain == OTK_DOMAIN_SCALING;
    lg->calls++;
    lg->last_elapsed = p->elapsed_s;
    lg->last_stage = d->stage;
    return 0;
}

START_TEST(progress_records_stage_domain_and_time)
{
    double *C;
    const otk_cost cost = random_dense(30, 20, 77, &C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    progress_log lg = {0, 0.0, 0, 0};
    s.progress = log_progress;
    s.progress_user = &lg;
    s.eps_scaling = 1;
    otk_sinkhorn_info info;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-2), &s, NULL, &info),
        OTK_CONVERGED);
    ck_assert_uint_gt(info.stages, 1);
    ck_assert_uint_eq(lg.last_stage, info.stages);
    ck_assert_int_gt(lg.calls, 0);
    ck_assert_double_ge(info.outcome.time_s, lg.last_elapsed);
    /* a large reg runs in the scaling domain, and the record says so */
    lg = (progress_log){0, 0.0, 0, 0};
    s.eps_scaling = 0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1.0), &s, NULL, &info),
        OTK_CONVERGED);
    ck_assert_int_eq(info.domain, OTK_DOMAIN_SCALING);
    ck_assert_int_eq(lg.scaling_seen, 1);
    ck_assert_uint_eq(lg.last_stage, 1);
    free(C);
}
END_TEST

/* warm_start with no g in the solution starts from the workspace's last
 * usable g; a fresh workspace has none. The sparse plan of a solution is
 * ignored. */
START_TEST(warm_start_from_the_workspace)
{
    enum { N = 40, M = 30 };
    double *C;
    const otk_cost cost = random_dense(N, M, 91, &C);
    otk_sinkhorn_settings s = tight();
    s.tol = 1e-10;
    s.warm_start = 1;
    otk_sinkhorn_workspace *w = otk_sinkhorn_workspace_create(N, M);
    ck_assert_ptr_nonnull(w);
    otk_sinkhorn_info info, cold, warm;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 0.05), &s,
                                        NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.g");
    /* an argument error leaves the workspace as it was */
    s.warm_start = 0;
    double f[N], g[M], f1[N], g1[M];
    otk_plan_entry plan[3] = {{7, 7, 7.0}, {7, 7, 7.0}, {7, 7, 7.0}};
    otk_solution sol = {f, g, NULL, plan, 3};
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 0.05), &s,
                                        &sol, &cold),
                     OTK_CONVERGED);
    for (int k = 0; k < 3; k++)
        ck_assert(plan[k].i == 7 && plan[k].j == 7 && plan[k].value == 7.0);
    /* the same problem again from the workspace's g: done at once */
    s.warm_start = 1;
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 0.05), &s,
                                        NULL, &warm),
                     OTK_CONVERGED);
    ck_assert_uint_le(warm.iterations, s.check_every);
    /* an argument error found late (reg below 1e-10 x the cost's range)
     * keeps the workspace's g too */
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 1e-12),
                                        &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "reg");
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 0.05), &s,
                                        NULL, &warm),
                     OTK_CONVERGED);
    ck_assert_uint_le(warm.iterations, s.check_every);
    /* (g is then what the workspace holds) */
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 0.05), &s,
                                        SOLUTION(NULL, g, NULL), &warm),
                     OTK_CONVERGED);
    /* a slightly changed cost: the workspace's g and the same g passed in
     * give the same solve */
    for (int k = 0; k < N * M; k++)
        C[k] *= 1.0 + 1e-3 * sin((double)k);
    otk_sinkhorn_workspace *w2 = otk_sinkhorn_workspace_create(N, M);
    ck_assert_ptr_nonnull(w2);
    memcpy(g1, g, sizeof g);
    ck_assert_int_eq(otk_sinkhorn_solve(w2, PROBLEM(&cost, NULL, NULL, 0.05),
                                        &s, SOLUTION(f1, g1, NULL), &cold),
                     OTK_CONVERGED);
    ck_assert_int_eq(otk_sinkhorn_solve(w, PROBLEM(&cost, NULL, NULL, 0.05), &s,
                                        SOLUTION(f, NULL, NULL), &warm),
                     OTK_CONVERGED);
    ck_assert_uint_eq(warm.iterations, cold.iterations);
    ck_assert_uint_gt(warm.iterations, 0);
    assert_close_vec("f", f, f1, N, 0.0, 0.0);
    otk_sinkhorn_workspace_free(w);
    otk_sinkhorn_workspace_free(w2);
    free(C);
}
END_TEST

/* OTK_MAX_ITER says where the budget ran out; other outcomes have no
 * cause. */
START_TEST(max_iter_cause)
{
    double *C;
    const otk_cost cost = random_dense(30, 20, 5, &C);
    /* reg 1e-3 of a cost of range 1: epsilon scaling is on by default */
    const struct {
        int eps_scaling;
        size_t max_iter;
        otk_status status;
        const char *cause;
    } runs[] = {{-1, 10000, OTK_CONVERGED, NULL},
                {-1, 5, OTK_MAX_ITER, "max_iter_stage"}, /* in stage 1 */
                {0, 5, OTK_MAX_ITER, "max_iter"}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        s.eps_scaling = runs[r].eps_scaling;
        s.max_iter = runs[r].max_iter;
        otk_sinkhorn_info info;
        ck_assert_int_eq(
            otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-3), &s, NULL, &info),
            runs[r].status);
        ck_assert_pstr_eq(info.outcome.cause, runs[r].cause);
        ck_assert_uint_eq(info.stages > 1, r == 0);
    }
    free(C);
}
END_TEST

/* ---- bad input ---- */

static void expect_error(const otk_cost *cost, const double *a, const double *b,
                         double reg, const otk_sinkhorn_settings *s,
                         otk_status want, const char *what, size_t index)
{
    double f[4] = {7, 7, 7, 7}, g[4] = {7, 7, 7, 7}, P[16];
    for (int k = 0; k < 16; k++)
        P[k] = 7;
    otk_sinkhorn_info info;
    otk_status st =
        otk_sinkhorn(PROBLEM(cost, a, b, reg), s, SOLUTION(f, g, P), &info);
    ck_assert_msg(st == want, "%s: got %s, want %s", what, otk_status_name(st),
                  otk_status_name(want));
    ck_assert_int_eq(info.outcome.status, st);
    ck_assert_msg(
        info.outcome.bad_argument != NULL &&
            strcmp(info.outcome.bad_argument, what) == 0,
        "bad_argument %s, want %s",
        info.outcome.bad_argument ? info.outcome.bad_argument : "(null)", what);
    ck_assert_uint_eq(info.outcome.bad_index, index);
    ck_assert_ptr_null(info.outcome.cause);
    ck_assert(info.outcome.time_s >= 0.0);
    /* nothing was computed */
    ck_assert_uint_eq(info.iterations, 0);
    ck_assert(isnan(info.objective) && isnan(info.dual_objective) &&
              isnan(info.transport_cost) && isnan(info.marginal_error) &&
              isnan(info.residual));
    for (int k = 0; k < 4; k++) /* nothing was written */
        ck_assert(f[k] == 7 && g[k] == 7);
    for (int k = 0; k < 16; k++)
        ck_assert(P[k] == 7);
}

START_TEST(bad_inputs_are_rejected)
{
    double C[16], a[4] = {0.25, 0.25, 0.25, 0.25}, b[4] = {0.1, 0.2, 0.3, 0.4};
    for (int k = 0; k < 16; k++)
        C[k] = (double)((k * 7) % 5);
    otk_cost cost = otk_cost_dense(4, 4, C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    const size_t none = SIZE_MAX;
    C[6] = NAN;
    expect_error(&cost, a, b, 1.0, &s, OTK_ERR_INVALID_INPUT, "cost.C", 6);
    C[6] = INFINITY;
    expect_error(&cost, a, b, 1.0, &s, OTK_ERR_INVALID_INPUT, "cost.C", 6);
    C[6] = 1.0;
    a[2] = NAN;
    expect_error(&cost, a, b, 1.0, &s, OTK_ERR_INVALID_INPUT, "a", 2);
    a[2] = 0.25;
    b[1] = -0.2;
    expect_error(&cost, a, b, 1.0, &s, OTK_ERR_INVALID_INPUT, "b", 1);
    b[1] = 0.2;
    double zero[4] = {0, 0, 0, 0};
    expect_error(&cost, zero, b, 1.0, &s, OTK_ERR_MASS_MISMATCH, "a", none);
    double heavy[4] = {0.5, 0.5, 0.5, 0.5};
    expect_error(&cost, heavy, b, 1.0, &s, OTK_ERR_MASS_MISMATCH, "b", none);
    expect_error(&cost, a, b, 0.0, &s, OTK_ERR_INVALID_ARGUMENT, "reg", none);
    expect_error(&cost, a, b, -1.0, &s, OTK_ERR_INVALID_ARGUMENT, "reg", none);
    expect_error(&cost, a, b, NAN, &s, OTK_ERR_INVALID_ARGUMENT, "reg", none);
    expect_error(&cost, a, b, INFINITY, &s, OTK_ERR_INVALID_ARGUMENT, "reg",
                 none);
    expect_error(NULL, a, b, 1.0, &s, OTK_ERR_INVALID_ARGUMENT, "cost", none);
    /* subnormal: 1 / reg overflows (even on a cost of range 0) */
    const double flat_c[4] = {0, 0, 0, 0};
    otk_cost flat = otk_cost_dense(2, 2, flat_c);
    expect_error(&flat, a, b, 1e-310, &s, OTK_ERR_INVALID_ARGUMENT, "reg",
                 none);
    /* below 1e-10 x the cost range (4 here) */
    expect_error(&cost, a, b, 3e-10, &s, OTK_ERR_INVALID_ARGUMENT, "reg", none);
    /* warm start needs a finite g */
    otk_sinkhorn_default_settings(&s);
    s.warm_start = 1;
    otk_sinkhorn_info info;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 1.0), &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.g");
    double g[4] = {0, NAN, 0, 0};
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 1.0), &s,
                                  SOLUTION(NULL, g, NULL), &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.g");
    ck_assert_uint_eq(info.outcome.bad_index, 1);
    /* no problem, no workspace */
    ck_assert_int_eq(otk_sinkhorn(NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "problem");
    ck_assert_int_eq(
        otk_sinkhorn_solve(NULL, PROBLEM(&cost, a, b, 1.0), NULL, NULL, &info),
        OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "workspace");
    /* the scaling domain needs a dense cost */
    double x[4] = {0, 1, 2, 3};
    otk_cost pts = otk_cost_points(4, 4, 1, x, x, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_sinkhorn_default_settings(&s);
    s.domain = OTK_DOMAIN_SCALING;
    expect_error(&pts, a, b, 1.0, &s, OTK_ERR_INVALID_ARGUMENT,
                 "settings.domain", none);
    /* unequal masses are fine when unbalanced */
    otk_sinkhorn_default_settings(&s);
    s.tau_a = s.tau_b = 1.0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, heavy, b, 1.0), &s, NULL, NULL),
        OTK_CONVERGED);
}
END_TEST

/* One small problem of small_problems_converge_with_defaults: kind 0 (xy),
 * 1 (self) or 2 (divergence), dense when asked, solved with the defaults.
 * Returns the largest iteration count of its solves, or fails. */
static size_t solve_small(int t, int kind, size_t n, size_t m, size_t d,
                          const double *x, const double *y, const double *a,
                          const double *b, double reg, int dense)
{
    otk_cost c = otk_cost_points(n, m, d, x, kind == 1 ? x : y,
                                 OTK_METRIC_SQEUCLIDEAN, 2.0);
    double *C = NULL, div;
    if (dense) {
        C = malloc(n * m * sizeof *C);
        ck_assert(C != NULL);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                C[i * m + j] = otk_cost_entry(&c, i, j);
        c = otk_cost_dense(n, m, C);
    }
    otk_sinkhorn_info info[3] = {0};
    otk_status status =
        kind == 2 ? otk_sinkhorn_divergence(PROBLEM(&c, a, b, reg), NULL, NULL,
                                            NULL, &div, NULL, info)
                  : otk_sinkhorn(PROBLEM(&c, a, kind == 1 ? a : b, reg), NULL,
                                 NULL, info);
    ck_assert_msg(status == OTK_CONVERGED,
                  "problem %d (kind %d, %zu x %zu, d %zu, reg %g): %s after "
                  "%zu iterations, residual %g",
                  t, kind, n, m, d, reg, otk_status_name(status),
                  info[0].iterations, info[0].residual);
    free(C);
    size_t its = 0;
    for (int k = 0; k < (kind == 2 ? 3 : 1); k++)
        its = info[k].iterations > its ? info[k].iterations : its;
    return its;
}

static int compare_size(const void *p, const void *q)
{
    size_t u = *(const size_t *)p, v = *(const size_t *)q;
    return (u > v) - (u < v);
}

/* One random problem as a user meets it (n, m in lo..lo + span - 1, d in
 * 1..8, reg from 1e-3 to 1 times the mean cost, uniform or random
 * weights; general, self-transport or the divergence), solved with the
 * defaults `variants` times (1 to 3): as is, with reg scaled by 1 + 1e-12
 * and with the points moved by 1e-13, the same problem to working
 * precision rounded differently (as a build with other optimizations
 * would). Writes each solve's iteration count to its. */
static void solve_random(int t, unsigned long long *st,
                         unsigned long long *jitter, size_t lo, size_t span,
                         int dense, int variants, size_t *its)
{
    size_t n = lo + (size_t)((double)span * test_uniform(st));
    size_t m = lo + (size_t)((double)span * test_uniform(st));
    size_t d = 1 + (size_t)(8 * test_uniform(st));
    int kind = (int)(3 * test_uniform(st)); /* xy, self, divergence */
    if (kind == 1)
        m = n;
    double *x = malloc(n * d * sizeof *x), *y = malloc(m * d * sizeof *y);
    ck_assert(x && y);
    for (size_t k = 0; k < n * d; k++)
        x[k] = 2.0 * test_uniform(st) - 1.0;
    for (size_t k = 0; k < m * d; k++)
        y[k] = 2.0 * test_uniform(st) - 1.0;
    int weighted = test_uniform(st) < 0.5;
    double *a = weighted ? random_weights(n, st) : NULL;
    double *b = weighted ? random_weights(m, st) : NULL;
    otk_cost c = otk_cost_points(n, m, d, x, kind == 1 ? x : y,
                                 OTK_METRIC_SQEUCLIDEAN, 2.0);
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            mean += otk_cost_entry(&c, i, j) / (double)(n * m);
    double reg = mean * pow(10.0, -3.0 * test_uniform(st));
    dense = dense && kind != 2;
    its[0] = solve_small(t, kind, n, m, d, x, y, a, b, reg, dense);
    if (variants > 1)
        its[1] = solve_small(t, kind, n, m, d, x, y, a, b, reg * (1.0 + 1e-12),
                             dense);
    if (variants > 2) {
        for (size_t k = 0; k < n * d; k++)
            x[k] += 1e-13 * (2.0 * test_uniform(jitter) - 1.0);
        for (size_t k = 0; k < m * d; k++)
            y[k] += 1e-13 * (2.0 * test_uniform(jitter) - 1.0);
        its[2] = solve_small(t, kind, n, m, d, x, y, a, b, reg, dense);
    }
    free(x);
    free(y);
    free(a);
    free(b);
}

/* The sorted counts its[0..count) are well within the default budget:
 * the slowest at most a fifth of it. */
static void assert_well_within_budget(size_t *its, size_t count)
{
    qsort(its, count, sizeof *its, compare_size);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    size_t worst = its[count - 1], median = its[count / 2];
    ck_assert_msg(worst <= s.max_iter / 5,
                  "worst %zu iterations (median %zu), budget %zu", worst,
                  median, s.max_iter);
}

/* Many small random problems (solve_random, n, m in 2..20) all converge
 * with the default settings and well within the budget, also when
 * rounded differently. Many have nearly disconnected plans, on which
 * plain Sinkhorn's rate is as slow as 1 - 1e-8 (docs/entropic.md); the
 * slow modes are Newton's. Every other general or self-transport problem
 * is dense. */
START_TEST(small_problems_converge_with_defaults)
{
    enum { PROBLEMS = 300, VARIANTS = 3 };
    static size_t its[PROBLEMS * VARIANTS];
    unsigned long long st = 20261201, jitter = 5;
    for (int t = 0; t < PROBLEMS; t++)
        solve_random(t, &st, &jitter, 2, 19, t % 2 == 1, VARIANTS,
                     its + VARIANTS * t);
    assert_well_within_budget(its, PROBLEMS * VARIANTS);
}
END_TEST

/* The same for point clouds of about 300 points (n, m in 280..320), where
 * the slow modes of nearly disconnected plans used to cycle: the adaptive
 * relaxation switched a large omega off at its first check, since the
 * residual measures the size of a step and grows while omega makes the
 * steps larger, and Newton phases stopped at m = 256 (9240 iterations
 * among 500 such problems, some beyond the budget). */
START_TEST(point_clouds_converge_with_defaults)
{
    enum { PROBLEMS = 24 };
    size_t its[PROBLEMS];
    unsigned long long st = 6, jitter = 5;
    for (int t = 0; t < PROBLEMS; t++)
        solve_random(t, &st, &jitter, 280, 41, 0, 1, its + t);
    assert_well_within_budget(its, PROBLEMS);
}
END_TEST

/* Point clouds too large for Newton steps (m > 256), where the adaptive
 * over-relaxation alone must deal with a slow mode: the solve converges
 * with the defaults, its plan (recomputed here from the returned
 * potentials) meets the marginals to tol, and it takes well below the
 * iterations that re-measuring plain iterations after each stall costs
 * (those found the same fast transient and the same omega again, in a
 * cycle of 40 iterations that brought the slow mode down by a few
 * percent: 1140 iterations here). */
START_TEST(relaxation_handles_slow_modes)
{
    enum { N = 300, D = 3, PROBLEMS = 1 };
    static double x[N * D], y[N * D], f[N], g[N], P[N * N];
    unsigned long long st = 424242;
    size_t total = 0;
    for (int t = 0; t < PROBLEMS; t++) {
        test_gaussian_points(x, N, D, 0.0, &st);
        test_gaussian_points(y, N, D, 0.0, &st);
        otk_cost c =
            otk_cost_points(N, N, D, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        otk_sinkhorn_info info;
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&c, NULL, NULL, 0.1), &s,
                                      SOLUTION(f, g, P), &info),
                         OTK_CONVERGED);
        double err = 0.0;
        for (size_t i = 0; i < N; i++) {
            double r = 0.0, col = 0.0;
            for (size_t j = 0; j < N; j++) {
                r += exp((f[i] + g[j] - otk_cost_entry(&c, i, j)) / 0.1) /
                     (N * N);
                col += P[j * N + i];
            }
            err += fabs(r - 1.0 / N) + fabs(col - 1.0 / N);
        }
        ck_assert_double_le(err, 3e-9);
        total += info.iterations;
    }
    ck_assert_msg(total <= 800, "%zu iterations for %d problems", total,
                  PROBLEMS);
}
END_TEST

/* A warm start from the solution needs no epsilon-scaling stages. */
START_TEST(warm_start_skips_eps_scaling)
{
    enum { N = 40, M = 30 };
    unsigned long long st = 7;
    double *C = random_cost(N, M, &st), f[N], g[M];
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.eps_scaling = 1;
    otk_sinkhorn_info cold, warm;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-3), &s,
                                  SOLUTION(f, g, NULL), &cold),
                     OTK_CONVERGED);
    ck_assert_uint_gt(cold.stages, 1);
    s.warm_start = 1;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-3), &s,
                                  SOLUTION(f, g, NULL), &warm),
                     OTK_CONVERGED);
    ck_assert_uint_eq(warm.stages, 1);
    ck_assert_uint_le(warm.iterations, s.check_every);
    free(C);
}
END_TEST

/* Shift invariance: a constant cost, and a cost of 1e8 plus small
 * variations, solve like the unshifted cost in every domain (same plan,
 * f shifted by the offset, g unchanged). */
START_TEST(large_cost_offsets_are_harmless)
{
    enum { N = 12, M = 9 };
    const double offset = 1e8;
    unsigned long long st = 99;
    double *C0 = random_cost(N, M, &st), C[N * M];
    for (int k = 0; k < N * M; k++) {
        C[k] = C0[k] + offset;
        C0[k] = C[k] - offset; /* exact: the oracle sees the same numbers */
    }
    double constant[4] = {offset, offset, offset, offset};
    const otk_sinkhorn_domain domains[] = {OTK_DOMAIN_AUTO, OTK_DOMAIN_LOG,
                                           OTK_DOMAIN_SCALING};
    for (int dm = 0; dm < 3; dm++) {
        otk_sinkhorn_settings s = tight();
        s.domain = domains[dm];
        double P[4], f[2], g[2];
        otk_cost one = otk_cost_dense(2, 2, constant);
        otk_sinkhorn_info info;
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&one, NULL, NULL, 1.0), &s,
                                      SOLUTION(f, g, P), &info),
                         OTK_CONVERGED);
        for (int k = 0; k < 4; k++)
            assert_close("constant plan", P[k], 0.25, 1e-14, 0.0);
        assert_close("constant cost", info.transport_cost, offset, 1e-15, 0.0);
        double P0[N * M], P1[N * M], f0[N], g0[M], f1[N], g1[M];
        otk_cost c0 = otk_cost_dense(N, M, C0), c1 = otk_cost_dense(N, M, C);
        otk_sinkhorn_info i0, i1;
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&c0, NULL, NULL, 0.05), &s,
                                      SOLUTION(f0, g0, P0), &i0),
                         OTK_CONVERGED);
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&c1, NULL, NULL, 0.05), &s,
                                      SOLUTION(f1, g1, P1), &i1),
                         OTK_CONVERGED);
        assert_close_vec("plan", P1, P0, N * M, 1e-10, 1e-15);
        for (int i = 0; i < N; i++)
            f1[i] -= offset;
        /* f carries the offset: its resolution is the ulp of 1e8 */
        assert_close_shifted("f", f1, f0, N, 0.0, 4.0 * offset * DBL_EPSILON);
        assert_close_shifted("g", g1, g0, M, 1e-8, 1e-10);
        assert_close("transport_cost", i1.transport_cost - offset,
                     i0.transport_cost, 1e-6, 1e-9);
    }
    free(C0);
}
END_TEST

/* tol is relative to the mass: scaling both weights by s gives the plan
 * scaled by s, converged to the same relative accuracy, for tiny and huge
 * masses alike. */
START_TEST(tolerance_is_relative_to_mass)
{
    enum { N = 20, M = 15 };
    unsigned long long st = 5;
    double *C = random_cost(N, M, &st), *a = random_weights(N, &st);
    double *b = random_weights(M, &st), P1[N * M], Ps[N * M];
    double as[N], bs[M];
    otk_cost cost = otk_cost_dense(N, M, C);
    otk_sinkhorn_info one, scaled;
    ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, a, b, 0.05), NULL,
                                  SOLUTION(NULL, NULL, P1), &one),
                     OTK_CONVERGED);
    const double masses[] = {1e-6, 1e8};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N; i++)
            as[i] = masses[k] * a[i];
        for (int j = 0; j < M; j++)
            bs[j] = masses[k] * b[j];
        ck_assert_int_eq(otk_sinkhorn(PROBLEM(&cost, as, bs, 0.05), NULL,
                                      SOLUTION(NULL, NULL, Ps), &scaled),
                         OTK_CONVERGED);
        ck_assert_double_le(scaled.marginal_error, 2e-9 * masses[k]);
        for (int q = 0; q < N * M; q++)
            Ps[q] /= masses[k];
        assert_close_vec("plan / mass", Ps, P1, N * M, 1e-7, 1e-12);
    }
    free(C);
    free(a);
    free(b);
}
END_TEST

static Suite *entropic_suite(void)
{
    Suite *s = suite_create("entropic");
    TCase *oracle = tcase_create("pot_oracles");
    tcase_set_timeout(oracle, 120);
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(oracle, matches_pot_dense, 0, ncases);
    tcase_add_loop_test(oracle, matches_pot_points, 0, (int)N_POINT_CASES);
    tcase_add_test(oracle, divergence_matches_pot);
    suite_add_tcase(s, oracle);
    TCase *props = tcase_create("properties");
    tcase_set_timeout(props, 120);
    tcase_add_test(props, divergence_properties);
    tcase_add_test(props, optimality_and_duality_gap);
    tcase_add_test(props, domains_and_threads_agree);
    tcase_add_test(props, points_equal_dense);
    tcase_add_test(props, points_in_high_dimension_do_not_anneal);
    tcase_add_test(props, small_reg_approaches_exact);
    tcase_add_test(props, tiny_reg_stays_finite_without_scaling);
    tcase_add_test(props, unbalanced_limits);
    tcase_add_test(props, zero_weights);
    tcase_add_test(props, small_problems_converge_with_defaults);
    tcase_add_test(props, relaxation_handles_slow_modes);
    tcase_add_test(props, point_clouds_converge_with_defaults);
    tcase_add_test(props, warm_start_skips_eps_scaling);
    tcase_add_test(props, large_cost_offsets_are_harmless);
    tcase_add_test(props, tolerance_is_relative_to_mass);
    suite_add_tcase(s, props);
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 120);
    tcase_add_test(api, workspace_warm_start_and_callbacks);
    tcase_add_test(api, max_iter_reports_the_returned_plan);
    tcase_add_test(api, bad_inputs_are_rejected);
    tcase_add_test(api, settings_bounds_table);
    tcase_add_test(api, progress_records_stage_domain_and_time);
    tcase_add_test(api, warm_start_from_the_workspace);
    tcase_add_test(api, max_iter_cause);
    suite_add_tcase(s, api);
    return s;
}

int main(void) { return run_suite(entropic_suite()); }
