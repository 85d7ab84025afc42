/* Quadratically-regularized OT: POT oracles (polished to 1e-13), the two
 * formulations against each other, duality, the gamma -> 0 limit,
 * gradients against finite differences, outputs and bad input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "smooth/smooth.h"
#include "testutil.h"

static const char *const cases[] = {
    "square6_g1",       "rect8x5_g0.1", "rect30x20_g0.05", "rect20x25_g0.01",
    "points_12x9_g0.5", "square10_g10", "square10_g100"};

typedef struct qcase {
    size_t n, m, d;
    double *a, *b, *C, *P, *x, *y;
    double gamma, primal, dual_value;
} qcase;

static double param(const char *name, int column)
{
    char path[1024], line[1024];
    const char *dir = getenv("OTK_TEST_DATA");
    snprintf(path, sizeof path, "%s/quadratic/%s/params.csv",
             dir ? dir : "tests/data", name);
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "missing %s", path);
    ck_assert(fgets(line, sizeof line, fp) && fgets(line, sizeof line, fp));
    fclose(fp);
    char *p = line;
    for (int k = 0; k < column; k++)
        p = strchr(p, ',') + 1;
    return strtod(p, NULL);
}

static qcase load(const char *name)
{
    qcase q;
    size_t r, c;
    q.C = oracle_matrix("quadratic", name, "C.csv", &q.n, &q.m, 1);
    q.a = oracle_matrix("quadratic", name, "a.csv", &r, &c, 1);
    q.b = oracle_matrix("quadratic", name, "b.csv", &r, &c, 1);
    q.P = oracle_matrix("quadratic", name, "P_dual.csv", &r, &c, 1);
    q.x = oracle_matrix("quadratic", name, "x.csv", &r, &q.d, 0);
    q.y = oracle_matrix("quadratic", name, "y.csv", &r, &c, 0);
    q.gamma = param(name, 0);
    q.primal = param(name, 1);
    q.dual_value = param(name, 3);
    return q;
}

static void unload(qcase *q)
{
    free(q->a);
    free(q->b);
    free(q->C);
    free(q->P);
    free(q->x);
    free(q->y);
}

static otk_quadratic_settings tight(otk_formulation form)
{
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    s.formulation = form;
    s.tol = 1e-10;
    return s;
}

START_TEST(matches_pot)
{
    qcase q = load(cases[_i]);
    for (int pass = 0; pass < 4; pass++) {
        if (pass >= 2 && q.x == NULL)
            break;
        otk_cost cost = pass < 2 ? otk_cost_dense(q.n, q.m, q.C)
                                 : otk_cost_points(q.n, q.m, q.d, q.x, q.y,
                                                   OTK_METRIC_SQEUCLIDEAN, 2);
        otk_quadratic_settings s = tight(
            pass % 2 == 0 ? OTK_FORMULATION_SEMI_DUAL : OTK_FORMULATION_DUAL);
        double *P = malloc(q.n * q.m * sizeof *P);
        otk_quadratic_info info;
        otk_status st =
            otk_quadratic(&(otk_problem){&cost, q.a, q.b, q.gamma}, &s,
                          &(otk_solution){NULL, NULL, P, NULL, 0}, &info);
        ck_assert_msg(st == OTK_CONVERGED, "%s pass %d: %s", cases[_i], pass,
                      otk_status_name(st));
        ck_assert_double_le(info.marginal_error, 1e-10);
        assert_close_vec("plan", P, q.P, q.n * q.m, 1e-7, 1e-12);
        assert_close("primal objective", info.objective, q.primal, 1e-9, 0);
        assert_close("dual objective", info.dual_objective, q.dual_value, 1e-9,
                     0);
        free(P);
    }
    unload(&q);
}
END_TEST

/* The semi-dual plan meets the column marginals exactly, both plans
 * agree, and alpha, beta reproduce the dual plan. */
START_TEST(formulations_agree)
{
    qcase q = load("rect30x20_g0.05");
    otk_cost cost = otk_cost_dense(q.n, q.m, q.C);
    double *P[2], alpha[30], beta[20];
    for (int f = 0; f < 2; f++) {
        otk_quadratic_settings s = tight((otk_formulation)f);
        P[f] = malloc(q.n * q.m * sizeof *P[f]);
        ck_assert_int_eq(
            otk_quadratic(&(otk_problem){&cost, q.a, q.b, q.gamma}, &s,
                          &(otk_solution){alpha, beta, P[f], NULL, 0}, NULL),
            OTK_CONVERGED);
        for (size_t i = 0; i < q.n; i++)
            for (size_t j = 0; j < q.m; j++) {
                double x = alpha[i] + beta[j] - q.C[i * q.m + j];
                assert_close("plan from potentials", P[f][i * q.m + j],
                             x > 0 ? x / q.gamma : 0.0, 1e-6, 1e-11);
            }
        if (f == OTK_FORMULATION_SEMI_DUAL)
            for (size_t j = 0; j < q.m; j++) {
                double col = 0.0;
                for (size_t i = 0; i < q.n; i++)
                    col += P[f][i * q.m + j];
                assert_close("exact column", col, q.b[j], 1e-13, 0.0);
            }
    }
    assert_close_vec("dual = semi-dual plan", P[0], P[1], q.n * q.m, 1e-7,
                     1e-12);
    free(P[0]);
    free(P[1]);
    unload(&q);
}
END_TEST

/* Weak duality along the iterations, and the gap closing. */
static int check_duality(void *user, const otk_progress *p)
{
    double *best_dual = user;
    ck_assert(isfinite(p->objective) && isfinite(p->error));
    *best_dual = fmax(*best_dual, p->objective);
    return 0;
}

START_TEST(duality_gap_closes)
{
    qcase q = load("rect20x25_g0.01");
    otk_cost cost = otk_cost_dense(q.n, q.m, q.C);
    for (int f = 0; f < 2; f++) {
        otk_quadratic_settings s = tight((otk_formulation)f);
        double best = -INFINITY;
        s.progress = check_duality;
        s.progress_user = &best;
        otk_quadratic_info info;
        ck_assert_int_eq(otk_quadratic(&(otk_problem){&cost, q.a, q.b, q.gamma},
                                       &s, NULL, &info),
                         OTK_CONVERGED);
        /* every dual value is below the optimum (the oracle's primal) */
        ck_assert_double_le(best, q.primal * (1 + 1e-12));
        assert_close("gap", info.objective - info.dual_objective, 0.0, 0.0,
                     1e-9 * q.primal);
    }
    unload(&q);
}
END_TEST

/* gamma -> 0: the transport cost tends to exact OT's. */
START_TEST(small_gamma_approaches_exact)
{
    qcase q = load("rect30x20_g0.05");
    otk_cost cost = otk_cost_dense(q.n, q.m, q.C);
    otk_exact_info ex;
    otk_problem exact_pb = {.cost = &cost, .a = q.a, .b = q.b};
    ck_assert_int_eq(otk_exact(&exact_pb, NULL, NULL, &ex), OTK_OPTIMAL);
    double prev = INFINITY;
    const double gammas[] = {1.0, 0.1, 0.01, 0.001};
    for (int k = 0; k < 4; k++) {
        otk_quadratic_settings s = tight(OTK_FORMULATION_SEMI_DUAL);
        s.tol = 1e-9;
        otk_quadratic_info info;
        otk_status st = otk_quadratic(
            &(otk_problem){&cost, q.a, q.b, gammas[k]}, &s, NULL, &info);
        ck_assert_msg(st == OTK_CONVERGED, "gamma %g: %s", gammas[k],
                      otk_status_name(st));
        double gap = info.transport_cost - ex.transport_cost;
        ck_assert_double_ge(gap, -1e-8);
        /* decreasing, until the plan is exact OT's and the gap is what
         * the stopping tolerance leaves */
        ck_assert_msg(gap < prev || fabs(gap) <= 1e-9 * ex.transport_cost,
                      "gamma %g: gap %g after %g", gammas[k], gap, prev);
        prev = gap;
    }
    ck_assert_double_le(prev, 1e-3 * ex.transport_cost);
    unload(&q);
}
END_TEST

/* Gradients of both objectives (and their top-k versions) against
 * central finite differences, away from kinks. */
START_TEST(gradients_match_finite_differences)
{
    qcase q = load("rect8x5_g0.1");
    otk_cost cost = otk_cost_dense(q.n, q.m, q.C);
    const size_t n = q.n, m = q.m;
    unsigned long long st = 9;
    double vars[13], g[13], gp[13], gm[13];
    for (size_t i = 0; i < n + m; i++)
        vars[i] = 0.3 * (test_uniform(&st) - 0.5);
    const size_t ks[] = {n, 3, 1};
    for (int dual = 0; dual < 2; dual++)
        for (int t = 0; t < 3; t++) {
            size_t nv = n + (dual ? m : 0);
            otk__smooth_eval(&cost, q.a, q.b, q.gamma, ks[t], dual, vars, g);
            for (size_t v = 0; v < nv; v++) {
                const double h = 1e-6, keep = vars[v];
                vars[v] = keep + h;
                double fp = otk__smooth_eval(&cost, q.a, q.b, q.gamma, ks[t],
                                             dual, vars, gp);
                vars[v] = keep - h;
                double fm = otk__smooth_eval(&cost, q.a, q.b, q.gamma, ks[t],
                                             dual, vars, gm);
                vars[v] = keep;
                char what[64];
                snprintf(what, sizeof what, "d/dvar %zu (dual %d, k %zu)", v,
                         dual, ks[t]);
                assert_close(what, (fp - fm) / (2 * h), g[v], 1e-5, 1e-7);
            }
        }
    unload(&q);
}
END_TEST

START_TEST(sparse_plan_output_and_capacity)
{
    qcase q = load("rect30x20_g0.05");
    otk_cost cost = otk_cost_dense(q.n, q.m, q.C);
    otk_quadratic_settings s = tight(OTK_FORMULATION_SEMI_DUAL);
    otk_plan_entry plan[600];
    double *P = malloc(q.n * q.m * sizeof *P);
    otk_quadratic_info info;
    ck_assert_int_eq(otk_quadratic(&(otk_problem){&cost, q.a, q.b, q.gamma}, &s,
                                   &(otk_solution){NULL, NULL, P, plan, 600},
                                   &info),
                     OTK_CONVERGED);
    size_t dense_nnz = 0, max_col = 0;
    for (size_t j = 0; j < q.m; j++) {
        size_t col = 0;
        for (size_t i = 0; i < q.n; i++)
            col += P[i * q.m + j] > 0.0;
        dense_nnz += col;
        max_col = col > max_col ? col : max_col;
    }
    ck_assert_uint_eq(info.nnz, dense_nnz);
    ck_assert_uint_eq(info.max_col_nnz, max_col);
    for (size_t e = 0; e < info.nnz; e++) {
        ck_assert_double_eq(P[plan[e].i * q.m + plan[e].j], plan[e].value);
        /* row-major: by i, then j */
        if (e > 0)
            ck_assert(
                plan[e - 1].i < plan[e].i ||
                (plan[e - 1].i == plan[e].i && plan[e - 1].j < plan[e].j));
    }
    /* too little room: the first entries, and the true count */
    otk_plan_entry few[5];
    ck_assert_int_eq(otk_quadratic(&(otk_problem){&cost, q.a, q.b, q.gamma}, &s,
                                   &(otk_solution){NULL, NULL, NULL, few, 5},
                                   &info),
                     OTK_CONVERGED);
    ck_assert_uint_eq(info.nnz, dense_nnz);
    for (int e = 0; e < 5; e++)
        ck_assert(few[e].i == plan[e].i && few[e].j == plan[e].j &&
                  few[e].value == plan[e].value);
    free(P);
    unload(&q);
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    double C[6] = {0, 1, 2, 3, 4, 5}, a[2] = {0.5, 0.5}, b[3] = {0.2, 0.3, 0.5};
    otk_cost cost = otk_cost_dense(2, 3, C);
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    otk_quadratic_info info;
    double alpha[2] = {7, 7};
    ck_assert_int_eq(otk_quadratic(&(otk_problem){&cost, a, b, 0.0}, &s,
                                   &(otk_solution){alpha, NULL, NULL, NULL, 0},
                                   &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "reg");
    ck_assert(alpha[0] == 7 && alpha[1] == 7);
    ck_assert_int_eq(
        otk_quadratic(&(otk_problem){&cost, a, b, NAN}, &s, NULL, &info),
        OTK_ERR_INVALID_ARGUMENT);
    C[2] = INFINITY;
    ck_assert_int_eq(
        otk_quadratic(&(otk_problem){&cost, a, b, 1.0}, &s, NULL, &info),
        OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost.C");
    C[2] = 2;
    b[2] = 0.6;
    ck_assert_int_eq(
        otk_quadratic(&(otk_problem){&cost, a, b, 1.0}, &s, NULL, &info),
        OTK_ERR_MASS_MISMATCH);
    b[2] = -0.5;
    ck_assert_int_eq(
        otk_quadratic(&(otk_problem){&cost, a, b, 1.0}, &s, NULL, &info),
        OTK_ERR_INVALID_INPUT);
    b[2] = 0.5;
    const char *fields[] = {"settings.formulation", "settings.tol",
                            "settings.max_iter", "settings.history",
                            "settings.threads"};
    for (int f = 0; f < 5; f++) {
        otk_quadratic_default_settings(&s);
        switch (f) {
        case 0: s.formulation = (otk_formulation)5; break;
        case 1: s.tol = -1; break;
        case 2: s.max_iter = 0; break;
        case 3: s.history = 0; break;
        default: s.threads = -1;
        }
        ck_assert_int_eq(
            otk_quadratic(&(otk_problem){&cost, a, b, 1.0}, &s, NULL, &info),
            OTK_ERR_INVALID_ARGUMENT);
        ck_assert_str_eq(info.outcome.bad_argument, fields[f]);
    }
    /* a pivot-style budget: max_iter gives a usable plan and says so */
    otk_quadratic_default_settings(&s);
    s.max_iter = 1;
    s.tol = 0.0;
    ck_assert_int_eq(
        otk_quadratic(&(otk_problem){&cost, a, b, 0.01}, &s, NULL, &info),
        OTK_MAX_ITER);
    ck_assert_str_eq(info.outcome.cause, "max_iter");
    ck_assert(isfinite(info.marginal_error));
}
END_TEST

/* The bounds table: every field listed, the defaults are the table's and
 * valid, and every value outside a range is refused by both solvers
 * naming the field, before any output is written. */
START_TEST(settings_bounds_table)
{
    size_t count = 0, count2 = 0;
    const otk_setting_bounds *t = otk_quadratic_setting_bounds(&count);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(otk_sparse_setting_bounds(&count2), t);
    ck_assert_uint_eq(count2, count);
    ck_assert_ptr_eq(otk_quadratic_setting_bounds(NULL), t);
    static const char *fields[] = {"formulation", "tol",     "max_iter",
                                   "history",     "threads", "warm_start"};
    ck_assert_uint_eq(count, sizeof fields / sizeof *fields);
    for (size_t f = 0; f < count; f++)
        ck_assert_msg(otk_setting_find(t, count, fields[f]), "no %s",
                      fields[f]);
    otk_quadratic_settings def;
    memset(&def, 0x5a, sizeof def);
    otk_quadratic_default_settings(&def);
    ck_assert(def.progress == NULL && def.progress_user == NULL);
    double C[6] = {0, 1, 2, 3, 4, 5};
    otk_cost cost = otk_cost_dense(2, 3, C);
    const otk_problem pb = {&cost, NULL, NULL, 1.0};
    for (size_t r = 0; r < count; r++) {
        const otk_setting_bounds *b = &t[r];
        char arg[64];
        snprintf(arg, sizeof arg, "settings.%s", b->name);
        ck_assert_str_eq(b->argument, arg);
        ck_assert_msg(otk_setting_get(b, &def) == b->default_value,
                      "%s: default %.17g, table %.17g", b->name,
                      otk_setting_get(b, &def), b->default_value);
        ck_assert_msg(otk_setting_valid(b, b->default_value), "%s", b->name);
        double v[4];
        int k = test_setting_outside(b, v);
        ck_assert_msg(k > 0, "%s: no out-of-range value tested", b->name);
        for (int i = 0; i < k; i++) {
            otk_quadratic_settings s = def;
            otk_setting_set(b, &s, v[i]);
            ck_assert_msg(!otk_setting_valid(b, otk_setting_get(b, &s)),
                          "%s = %g counts as valid", b->name, v[i]);
            for (int sparse = 0; sparse < 2; sparse++) {
                double f[2] = {7, 7};
                otk_solution sol = {.f = f};
                otk_quadratic_info info;
                otk_status st = sparse ? otk_sparse(&pb, 1, &s, &sol, &info)
                                       : otk_quadratic(&pb, &s, &sol, &info);
                ck_assert_int_eq(st, OTK_ERR_INVALID_ARGUMENT);
                ck_assert_int_eq(info.outcome.status, st);
                ck_assert_msg(info.outcome.bad_argument &&
                                  strcmp(info.outcome.bad_argument, arg) == 0,
                              "%s = %g: bad_argument %s", b->name, v[i],
                              info.outcome.bad_argument);
                ck_assert(f[0] == 7 && f[1] == 7);
                ck_assert(isnan(info.marginal_error) && isnan(info.objective));
            }
        }
    }
}
END_TEST

/* Sizes n x m of the workspace tests, and their problem. */
enum { WN = 12, WM = 9 };

static void workspace_problem(double *C, double *a, double *b)
{
    unsigned long long st = 11;
    double x[WN * 2], y[WM * 2];
    test_gaussian_points(x, WN, 2, 0.0, &st);
    test_gaussian_points(y, WM, 2, 0.5, &st);
    for (size_t i = 0; i < WN; i++)
        for (size_t j = 0; j < WM; j++) {
            double dx = x[2 * i] - y[2 * j], dy = x[2 * i + 1] - y[2 * j + 1];
            C[i * WM + j] = dx * dx + dy * dy;
        }
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < WN; i++)
        sa += a[i] = 1.0 + test_uniform(&st);
    for (size_t j = 0; j < WM; j++)
        sb += b[j] = 1.0 + test_uniform(&st);
    for (size_t i = 0; i < WN; i++)
        a[i] /= sa;
    for (size_t j = 0; j < WM; j++)
        b[j] /= sb;
}

/*
 * Workspaces: repeated solves in one workspace (dense costs, then point
 * clouds, which grow it) give what the one-shot call gives, bit for bit;
 * a warm start from the optimum converges at once with the same plan; a
 * warm start from elsewhere converges to the cold solve's plan. Loop:
 * (k = n, k = 2) x (semi-dual, dual).
 */
START_TEST(workspace_and_warm_start)
{
    const int sparse = _i / 2;
    double C[WN * WM], a[WN], b[WM];
    workspace_problem(C, a, b);
    otk_cost cost = otk_cost_dense(WN, WM, C);
    const otk_problem pb = {&cost, a, b, 0.2};
    otk_quadratic_settings s = tight((otk_formulation)(_i % 2));
    s.max_iter = 5000;
    /* sparse: k < n, at least the quadratic plan's column supports (so
     * that the solve converges; smaller k may stall) */
    otk_quadratic_info iq;
    ck_assert_int_eq(otk_quadratic(&pb, &s, NULL, &iq), OTK_CONVERGED);
    const size_t k = sparse ? iq.max_col_nnz : WN;
    ck_assert_uint_lt(iq.max_col_nnz, WN);
    double f0[WN], g0[WM], P0[WN * WM], f1[WN], g1[WM], P1[WN * WM];
    otk_solution one = {f0, g0, P0, NULL, 0}, ws_sol = {f1, g1, P1, NULL, 0};
    otk_quadratic_info i0, i1;
    otk_status st0 = sparse ? otk_sparse(&pb, k, &s, &one, &i0)
                            : otk_quadratic(&pb, &s, &one, &i0);
    ck_assert_int_eq(st0, OTK_CONVERGED);
    otk_quadratic_workspace *ws = otk_quadratic_workspace_create(WN, WM);
    ck_assert_ptr_nonnull(ws);
    for (int rep = 0; rep < 2; rep++) {
        otk_status st1 = sparse
                             ? otk_sparse_solve(ws, &pb, k, &s, &ws_sol, &i1)
                             : otk_quadratic_solve(ws, &pb, &s, &ws_sol, &i1);
        ck_assert_int_eq(st1, st0);
        ck_assert_uint_eq(i1.iterations, i0.iterations);
        assert_close_vec("workspace plan", P1, P0, WN * WM, 0.0, 0.0);
        assert_close_vec("workspace f", f1, f0, WN, 0.0, 0.0);
        assert_close_vec("workspace g", g1, g0, WM, 0.0, 0.0);
    }
    /* from the optimum: no step is needed, and the result is the same */
    s.warm_start = 1;
    otk_status st1 = sparse ? otk_sparse_solve(ws, &pb, k, &s, &ws_sol, &i1)
                            : otk_quadratic_solve(ws, &pb, &s, &ws_sol, &i1);
    ck_assert_int_eq(st1, OTK_CONVERGED);
    ck_assert_uint_le(i1.iterations, 1);
    assert_close_vec("warm plan", P1, P0, WN * WM, 1e-9, 1e-12);
    assert_close("warm objective", i1.objective, i0.objective, 1e-12, 0);
    /* from perturbed potentials: the cold solve's plan again */
    unsigned long long state = 3;
    for (size_t i = 0; i < WN; i++)
        f1[i] = f0[i] + 0.01 * (test_uniform(&state) - 0.5);
    for (size_t j = 0; j < WM; j++)
        g1[j] = g0[j] + 0.01 * (test_uniform(&state) - 0.5);
    st1 = sparse ? otk_sparse_solve(ws, &pb, k, &s, &ws_sol, &i1)
                 : otk_quadratic_solve(ws, &pb, &s, &ws_sol, &i1);
    if (!sparse) { /* convex: one optimum */
        ck_assert_int_eq(st1, OTK_CONVERGED);
        assert_close_vec("warm from elsewhere", P1, P0, WN * WM, 1e-6, 1e-10);
    } else {
        ck_assert_int_ge(st1, 0);
    }
    /* the same workspace on point clouds of the same sizes */
    double x[WN * 3], y[WM * 3];
    test_gaussian_points(x, WN, 3, 0.0, &state);
    test_gaussian_points(y, WM, 3, 1.0, &state);
    otk_cost pts = otk_cost_points(WN, WM, 3, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    const otk_problem pp = {&pts, NULL, NULL, 0.5};
    s.warm_start = 0;
    st0 = sparse ? otk_sparse(&pp, k, &s, &one, &i0)
                 : otk_quadratic(&pp, &s, &one, &i0);
    st1 = sparse ? otk_sparse_solve(ws, &pp, k, &s, &ws_sol, &i1)
                 : otk_quadratic_solve(ws, &pp, &s, &ws_sol, &i1);
    ck_assert_int_ge(st0, 0);
    ck_assert_int_eq(st1, st0);
    assert_close_vec("points plan", P1, P0, WN * WM, 0.0, 0.0);
    otk_quadratic_workspace_free(ws);
}
END_TEST

/* What a workspace and a warm start refuse: other sizes, a warm start
 * without (finite) potentials. */
START_TEST(workspace_and_warm_start_refusals)
{
    ck_assert_ptr_null(otk_quadratic_workspace_create(0, 3));
    ck_assert_ptr_null(otk_sparse_workspace_create(3, 0));
    otk_quadratic_workspace_free(NULL);
    double C[WN * WM], a[WN], b[WM], f[WN], g[WM];
    workspace_problem(C, a, b);
    otk_cost cost = otk_cost_dense(WN, WM, C);
    const otk_problem pb = {&cost, a, b, 0.2};
    otk_quadratic_info info;
    otk_sparse_workspace *ws = otk_sparse_workspace_create(WN, WM + 1);
    ck_assert_int_eq(otk_sparse_solve(ws, &pb, 2, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost.m");
    otk_sparse_workspace_free(ws);
    ws = otk_quadratic_workspace_create(WN + 1, WM);
    ck_assert_int_eq(otk_quadratic_solve(ws, &pb, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "cost.n");
    otk_quadratic_workspace_free(ws);
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    s.warm_start = 1;
    ck_assert_int_eq(otk_quadratic(&pb, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.f");
    for (size_t i = 0; i < WN; i++)
        f[i] = 0.0;
    otk_solution sol = {.f = f};
    s.formulation = OTK_FORMULATION_DUAL;
    ck_assert_int_eq(otk_quadratic(&pb, &s, &sol, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.g");
    sol.g = g;
    for (size_t j = 0; j < WM; j++)
        g[j] = 0.0;
    g[4] = NAN;
    ck_assert_int_eq(otk_quadratic(&pb, &s, &sol, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.g");
    ck_assert_uint_eq(info.outcome.bad_index, 4);
    g[4] = 0.0;
    f[3] = INFINITY;
    ck_assert_int_eq(otk_sparse(&pb, 3, &s, &sol, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "solution.f");
    ck_assert_uint_eq(info.outcome.bad_index, 3);
    /* warm from zero potentials is the cold start */
    f[3] = 0.0;
    double P0[WN * WM], P1[WN * WM];
    sol.P = P1;
    ck_assert_int_eq(otk_quadratic(&pb, &s, &sol, &info), OTK_CONVERGED);
    s.warm_start = 0;
    ck_assert_int_eq(otk_quadratic(&pb, &s, &(otk_solution){.P = P0}, &info),
                     OTK_CONVERGED);
    assert_close_vec("warm from 0 = cold", P1, P0, WN * WM, 0.0, 0.0);
}
END_TEST

/* The progress record: the solver's name, iterations counting up, the
 * problem's reg, elapsed time growing, no detail. */
typedef struct seen {
    const char *solver;
    size_t calls, last_iteration;
    double last_elapsed, reg;
    int bad;
} seen;

static int watch(void *user, const otk_progress *p)
{
    seen *w = user;
    w->solver = p->solver;
    w->bad |= p->iteration != w->last_iteration + 1;
    w->bad |= !(p->elapsed_s >= w->last_elapsed) || p->detail != NULL;
    w->bad |= p->reg != w->reg;
    w->last_iteration = p->iteration;
    w->last_elapsed = p->elapsed_s;
    w->calls++;
    return w->calls == 3; /* cancel at the third */
}

START_TEST(progress_record_and_cancel)
{
    double C[WN * WM], a[WN], b[WM];
    workspace_problem(C, a, b);
    otk_cost cost = otk_cost_dense(WN, WM, C);
    const otk_problem pb = {&cost, a, b, 0.01};
    for (int sparse = 0; sparse < 2; sparse++) {
        seen w = {.reg = pb.reg};
        otk_quadratic_settings s = tight(OTK_FORMULATION_SEMI_DUAL);
        s.progress = watch;
        s.progress_user = &w;
        otk_quadratic_info info;
        otk_status st = sparse ? otk_sparse(&pb, 3, &s, NULL, &info)
                               : otk_quadratic(&pb, &s, NULL, &info);
        ck_assert_int_eq(st, OTK_CANCELLED);
        ck_assert_str_eq(info.outcome.cause, "progress");
        ck_assert_uint_eq(w.calls, 3);
        ck_assert_int_eq(w.bad, 0);
        ck_assert_str_eq(w.solver, sparse ? "sparse" : "quadratic");
        ck_assert(isfinite(info.marginal_error));
        ck_assert_double_le(w.last_elapsed, info.outcome.time_s);
    }
}
END_TEST

/* One solve of quadratic (k = n) or sparse OT, every output kept. */
typedef struct solved {
    otk_status st;
    double *alpha, *beta, *P;
    otk_quadratic_info info;
} solved;

static solved solve_dense(const otk_cost *cost, const double *a,
                          const double *b, double gamma, size_t k, int form)
{
    solved r;
    otk_quadratic_settings s = tight((otk_formulation)form);
    r.alpha = malloc(cost->n * sizeof *r.alpha);
    r.beta = malloc(cost->m * sizeof *r.beta);
    r.P = malloc(cost->n * cost->m * sizeof *r.P);
    r.st = otk_sparse(&(otk_problem){cost, a, b, gamma}, k, &s,
                      &(otk_solution){r.alpha, r.beta, r.P, NULL, 0}, &r.info);
    return r;
}

static void solved_free(solved *r)
{
    free(r->alpha);
    free(r->beta);
    free(r->P);
}

/* The formulations and k of the scaling tests: loop index -> both. */
static size_t scaling_k(int loop, size_t n) { return loop / 2 ? 2 : n; }

/*
 * Masses scale out: weights s a, s b with gamma / s give the plan s P and
 * the same potentials as a, b with gamma, for s down to 1e-300 (the
 * stopping rule is relative to the mass; an absolute one called the zero
 * plan of tiny masses converged). gamma / s times s a rounds differently
 * from gamma a, hence agreement to 1e-6 rather than exactly.
 */
START_TEST(masses_scale_out)
{
    qcase q = load("rect8x5_g0.1");
    otk_cost cost = otk_cost_dense(q.n, q.m, q.C);
    const size_t k = scaling_k(_i, q.n);
    const int form = _i % 2;
    solved ref = solve_dense(&cost, q.a, q.b, q.gamma, k, form);
    const double scales[] = {1e-300, 1e-150, 1e150};
    double *sa = malloc(q.n * sizeof *sa), *sb = malloc(q.m * sizeof *sb);
    double *sP = malloc(q.n * q.m * sizeof *sP);
    for (int c = 0; c < 3; c++) {
        const double sc = scales[c];
        for (size_t i = 0; i < q.n; i++)
            sa[i] = q.a[i] * sc;
        for (size_t j = 0; j < q.m; j++)
            sb[j] = q.b[j] * sc;
        solved r = solve_dense(&cost, sa, sb, q.gamma / sc, k, form);
        ck_assert_msg(r.st == ref.st, "scale %g: %s, unscaled %s", sc,
                      otk_status_name(r.st), otk_status_name(ref.st));
        assert_close("dual_objective", r.info.dual_objective,
                     ref.info.dual_objective * sc, 1e-6, 0.0);
        if (k < q.n) {
            /* k = 2 is optimal at a kink: the maximum is unique, the
             * maximizing potentials and the tied selection are not (the
             * tie solve may settle on another one after other roundings) */
            ck_assert(r.info.relative_gap <= 1e-10);
            solved_free(&r);
            continue;
        }
        for (size_t e = 0; e < q.n * q.m; e++)
            sP[e] = ref.P[e] * sc;
        assert_close_vec("plan", r.P, sP, q.n * q.m, 1e-6, 0.0);
        assert_close_vec("alpha", r.alpha, ref.alpha, q.n, 1e-6, 1e-12);
        assert_close_vec("beta", r.beta, ref.beta, q.m, 1e-6, 1e-12);
        assert_close("transport_cost", r.info.transport_cost,
                     ref.info.transport_cost * sc, 1e-6, 0.0);
        assert_close("objective", r.info.objective, ref.info.objective * sc,
                     1e-6, 0.0);
        assert_close("marginal_error", r.info.marginal_error,
                     ref.info.marginal_error * sc, 1e-3, 1e-10 * sc);
        solved_free(&r);
    }
    free(sa);
    free(sb);
    free(sP);
    solved_free(&ref);
    unload(&q);
}
END_TEST

/* Masses of 1e-310 with gamma = 1: gamma times the mass is below the
 * normal range, and the solve says so instead of returning a zero plan as
 * converged; nothing non-finite is ever reported as a result. */
START_TEST(underflowing_mass_is_rejected)
{
    double C[4] = {1, 2, 3, 1}, w[2] = {1e-310, 1e-310};
    otk_cost cost = otk_cost_dense(2, 2, C);
    solved r = solve_dense(&cost, w, w, 1.0, scaling_k(_i, 2), _i % 2);
    ck_assert_int_eq(r.st, OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(r.info.outcome.bad_argument, "reg");
    solved_free(&r);
}
END_TEST

/*
 * A common offset of the costs changes nothing but the potentials (alpha
 * + offset) and the values (+ offset times the mass): a constant cost of
 * 1e16 gives the plan 1/(n m) (it gave inf), and integer costs plus 1e15
 * (exact in doubles) the plan of the integer costs.
 */
START_TEST(cost_offset_is_invisible)
{
    const size_t n = 4, m = 3, k = scaling_k(_i, n);
    const int form = _i % 2;
    double C0[12], C1[12], Cc[12];
    unsigned long long state = 7;
    for (size_t e = 0; e < n * m; e++) {
        C0[e] = floor(8.0 * test_uniform(&state));
        C1[e] = C0[e] + 1e15;
        Cc[e] = 1e16;
    }
    otk_cost c0 = otk_cost_dense(n, m, C0), c1 = otk_cost_dense(n, m, C1);
    otk_cost cc = otk_cost_dense(n, m, Cc);
    solved r0 = solve_dense(&c0, NULL, NULL, 0.5, k, form);
    solved r1 = solve_dense(&c1, NULL, NULL, 0.5, k, form);
    ck_assert_int_eq(r0.st, OTK_CONVERGED);
    ck_assert_int_eq(r1.st, OTK_CONVERGED);
    assert_close_vec("plan", r1.P, r0.P, n * m, 1e-9, 1e-12);
    /* potentials up to (alpha + t, beta - t); 1e15 has a spacing of 0.125 */
    for (size_t i = 0; i < n; i++)
        r1.alpha[i] -= 1e15;
    assert_close_shifted("alpha - offset", r1.alpha, r0.alpha, n, 0.0, 0.25);
    double mass1 = 0.0; /* the dual's plan meets the marginals to tol */
    for (size_t e = 0; e < n * m; e++)
        mass1 += r1.P[e];
    assert_close("transport_cost", r1.info.transport_cost,
                 r0.info.transport_cost + 1e15 * mass1, 1e-15, 0.0);
    solved_free(&r0);
    solved_free(&r1);
    if (k == n) { /* k < n on a constant cost: any k rows tie */
        solved rc = solve_dense(&cc, NULL, NULL, 1.0, k, form);
        ck_assert_int_eq(rc.st, OTK_CONVERGED);
        for (size_t e = 0; e < n * m; e++)
            assert_close("constant-cost plan", rc.P[e], 1.0 / (n * m), 1e-12,
                         0.0);
        assert_close("transport_cost", rc.info.transport_cost, 1e16, 1e-15,
                     0.0);
        assert_close("dual_objective", rc.info.dual_objective, 1e16, 1e-15,
                     0.0);
        solved_free(&rc);
    }
}
END_TEST

/* Tiny weights (1e-7 of the others) on a 30 x 20 cloud at reg 0.01:
 * L-BFGS alone stalls with marginal errors near 5e-4 (the rows of tiny
 * weight carry no mass and barely move); the Newton finish lifts them
 * into a support and certifies the optimum. Both formulations reach the
 * same value, and each is within its certified gap of the other (the
 * maxima coincide for quadratic OT). */
START_TEST(tiny_weights_are_certified)
{
    enum { N = 30, M = 20 };
    double x[N * 2], y[M * 2], a[N], b[M], C[N * M];
    unsigned long long state = 11;
    test_gaussian_points(x, N, 2, 0.0, &state);
    test_gaussian_points(y, M, 2, 0.0, &state);
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < N; i++)
        sa += a[i] = i < 5 ? 1e-7 : 0.5 + test_uniform(&state);
    for (size_t j = 0; j < M; j++)
        sb += b[j] = j < 3 ? 1e-7 : 0.5 + test_uniform(&state);
    for (size_t i = 0; i < N; i++)
        a[i] /= sa;
    for (size_t j = 0; j < M; j++)
        b[j] /= sb;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            double dx = x[2 * i] - y[2 * j], dy = x[2 * i + 1] - y[2 * j + 1];
            C[i * M + j] = dx * dx + dy * dy;
        }
    otk_cost cost = otk_cost_dense(N, M, C);
    double value[2], gap[2];
    for (int form = 0; form < 2; form++) {
        solved r = solve_dense(&cost, a, b, 0.01, N, form);
        ck_assert_msg(r.st == OTK_CONVERGED, "%s", otk_status_name(r.st));
        ck_assert(r.info.relative_gap <= 1e-9);
        ck_assert(r.info.dual_gap >= 0.0);
        ck_assert(r.info.marginal_error <= 1e-8);
        value[form] = r.info.dual_objective;
        gap[form] = r.info.dual_gap;
        solved_free(&r);
    }
    ck_assert(fabs(value[0] - value[1]) <= gap[0] + gap[1] + 1e-15);
}
END_TEST

static Suite *quadratic_suite(void)
{
    Suite *s = suite_create("quadratic");
    TCase *tc = tcase_create("quadratic");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, matches_pot, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, formulations_agree);
    tcase_add_test(tc, duality_gap_closes);
    tcase_add_test(tc, small_gamma_approaches_exact);
    tcase_add_test(tc, gradients_match_finite_differences);
    tcase_add_test(tc, sparse_plan_output_and_capacity);
    tcase_add_test(tc, bad_inputs_are_rejected);
    /* loops: (k = n, k = 2) x (semi-dual, dual) */
    tcase_add_loop_test(tc, masses_scale_out, 0, 4);
    tcase_add_loop_test(tc, underflowing_mass_is_rejected, 0, 4);
    tcase_add_loop_test(tc, cost_offset_is_invisible, 0, 4);
    tcase_add_loop_test(tc, workspace_and_warm_start, 0, 4);
    tcase_add_test(tc, settings_bounds_table);
    tcase_add_test(tc, workspace_and_warm_start_refusals);
    tcase_add_test(tc, progress_record_and_cancel);
    tcase_add_test(tc, tiny_weights_are_certified);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(quadratic_suite()); }
