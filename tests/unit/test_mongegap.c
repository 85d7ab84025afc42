/* Monge gap: closed-form cases (gradients of convex functions have gap 0,
 * rotations do not), the entropic bounds and limit, the POT oracles,
 * gradients against finite differences, and bad input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <otkit/otkit.h>

#include "core/core.h"
#include "mongegap/mlp.h"
#include "mongegap/mongegap_internal.h"
#include "testutil.h"

enum { N = 40, D = 2 };

static void points(double *x, size_t n, size_t d, unsigned long long seed)
{
    unsigned long long st = seed;
    test_gaussian_points(x, n, d, 0.0, &st);
}

static double gap(const double *x, const double *y, size_t n, size_t d,
                  otk_metric cost, int exact, double reg, double *grad)
{
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.metric = cost;
    s.p = 1.5;
    s.exact = exact;
    s.reg = reg;
    s.sinkhorn.tol = 1e-10;
    s.sinkhorn.max_iter = 200000;
    otk_mg_info info;
    otk_status st = otk_monge_gap(x, y, n, d, &s, grad, &info);
    ck_assert_msg(st == OTK_CONVERGED, "%s", otk_status_name(st));
    ck_assert(isfinite(info.monge_gap));
    assert_close("M = displacement - W", info.monge_gap,
                 info.displacement_cost - info.ot_cost, 1e-12, 1e-15);
    return info.monge_gap;
}

/* For ||x-y||^2, maps that are gradients of convex functions are optimal:
 * exact gap 0; a rotation by 90 degrees is not. */
START_TEST(closed_forms_for_the_squared_cost)
{
    double x[N * D], y[N * D];
    points(x, N, D, 1);
    const double A[4] = {2.0, 0.5, 0.5, 1.0}; /* symmetric positive definite */
    for (int map = 0; map < 3; map++) {
        for (int i = 0; i < N; i++) {
            double u = x[2 * i], v = x[2 * i + 1];
            if (map == 0) { /* translation */
                y[2 * i] = u + 3.0;
                y[2 * i + 1] = v - 1.0;
            } else if (map == 1) { /* x -> A x */
                y[2 * i] = A[0] * u + A[1] * v;
                y[2 * i + 1] = A[2] * u + A[3] * v;
            } else { /* rotation by 90 degrees */
                y[2 * i] = -v;
                y[2 * i + 1] = u;
            }
        }
        double m0 = gap(x, y, N, D, OTK_METRIC_SQEUCLIDEAN, 1, 0.0, NULL);
        if (map < 2)
            ck_assert_double_le(fabs(m0), 1e-12);
        else
            ck_assert_double_gt(m0, 0.1);
    }
}
END_TEST

/* M >= 0 always, for every cost and estimator; the entropic gap lies in
 * [M0 + eps log n, M0 + 2 eps log n] and tends to M0 as eps -> 0. */
START_TEST(bounds_and_limits)
{
    double x[N * D], y[N * D];
    points(x, N, D, 2);
    points(y, N, D, 3);
    const otk_metric costs[] = {OTK_METRIC_SQEUCLIDEAN, OTK_METRIC_EUCLIDEAN,
                                OTK_METRIC_PNORM};
    for (int c = 0; c < 3; c++) {
        double m0 = gap(x, y, N, D, costs[c], 1, 0.0, NULL);
        ck_assert_double_ge(m0, -1e-12);
        double prev = INFINITY;
        const double regs[] = {1.0, 0.3, 0.1};
        for (int k = 0; k < 3; k++) {
            double me = gap(x, y, N, D, costs[c], 0, regs[k], NULL);
            double lo = m0 + regs[k] * log((double)N);
            double hi = m0 + 2.0 * regs[k] * log((double)N);
            ck_assert_msg(me >= lo - 1e-9 && me <= hi + 1e-9,
                          "cost %d reg %g: %g not in [%g, %g]", c, regs[k], me,
                          lo, hi);
            ck_assert_double_lt(me - m0, prev);
            prev = me - m0;
        }
    }
    /* the identity: the entropic gap is about eps log n */
    double me = gap(x, x, N, D, OTK_METRIC_SQEUCLIDEAN, 0, 0.3, NULL);
    ck_assert_double_ge(me, 0.3 * log((double)N) - 1e-9);
    ck_assert_double_le(me, 2 * 0.3 * log((double)N) + 1e-9);
}
END_TEST

/* Against POT: mean cost minus POT's log-domain Sinkhorn value. */
START_TEST(matches_pot)
{
    size_t r, c, n, d;
    double *x = oracle_matrix("mongegap", "sqeuclid_30x2", "x.csv", &n, &d, 1);
    double *y = oracle_matrix("mongegap", "sqeuclid_30x2", "y.csv", &r, &c, 1);
    double *v =
        oracle_matrix("mongegap", "sqeuclid_30x2", "values.csv", &r, &c, 1);
    /* values.csv: reg, displacement, W_eps, monge gap */
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.reg = v[0];
    s.sinkhorn.tol = 1e-12;
    otk_mg_info info;
    ck_assert_int_eq(otk_monge_gap(x, y, n, d, &s, NULL, &info), OTK_CONVERGED);
    assert_close("displacement", info.displacement_cost, v[1], 1e-12, 0);
    assert_close("W_eps", info.ot_cost, v[2], 1e-9, 1e-12);
    assert_close("gap", info.monge_gap, v[3], 1e-8, 1e-12);
    free(x);
    free(y);
    free(v);
}
END_TEST

/* dM/dy and dS/dy against central differences (entropic: tight solves). */
START_TEST(gradients_match_finite_differences)
{
    enum { n = 12, m = 9, d = 3 };
    double x[n * d], y[n * d], z[m * d], g[n * d];
    points(x, n, d, 5);
    points(y, n, d, 6);
    points(z, m, d, 7);
    const otk_metric costs[] = {OTK_METRIC_SQEUCLIDEAN, OTK_METRIC_EUCLIDEAN,
                                OTK_METRIC_PNORM};
    for (int c = 0; c < 3; c++) {
        otk_mg_settings s;
        otk_mg_default_settings(&s);
        s.metric = costs[c];
        s.p = 1.5;
        s.reg = 0.5;
        s.sinkhorn.tol = 1e-13;
        s.sinkhorn.max_iter = 100000;
        otk_mg_info info;
        ck_assert_int_eq(otk_monge_gap(x, y, n, d, &s, g, &info),
                         OTK_CONVERGED);
        for (int k = 0; k < n * d; k += 5) {
            const double h = 1e-6, keep = y[k];
            double mp, mm;
            y[k] = keep + h;
            ck_assert_int_eq(otk_monge_gap(x, y, n, d, &s, NULL, &info),
                             OTK_CONVERGED);
            mp = info.monge_gap;
            y[k] = keep - h;
            ck_assert_int_eq(otk_monge_gap(x, y, n, d, &s, NULL, &info),
                             OTK_CONVERGED);
            mm = info.monge_gap;
            y[k] = keep;
            assert_close("dM/dy", (mp - mm) / (2 * h), g[k], 1e-5, 1e-8);
        }
        double val;
        ck_assert_int_eq(otk_mg_divergence(y, n, z, m, d, &s, &val, g, NULL),
                         OTK_CONVERGED);
        ck_assert_double_ge(val, -1e-12);
        for (int k = 0; k < n * d; k += 5) {
            const double h = 1e-6, keep = y[k];
            double sp, sm;
            y[k] = keep + h;
            ck_assert_int_eq(
                otk_mg_divergence(y, n, z, m, d, &s, &sp, NULL, NULL),
                OTK_CONVERGED);
            y[k] = keep - h;
            ck_assert_int_eq(
                otk_mg_divergence(y, n, z, m, d, &s, &sm, NULL, NULL),
                OTK_CONVERGED);
            y[k] = keep;
            assert_close("dS/dy", (sp - sm) / (2 * h), g[k], 1e-5, 1e-8);
        }
    }
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    double x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 2, NAN};
    otk_mg_info info;
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 2, NULL, NULL, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "y");
    ck_assert_uint_eq(info.outcome.bad_index, 3);
    y[3] = 3;
    ck_assert_int_eq(otk_monge_gap(x, y, 0, 2, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 0, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "d");
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.metric = OTK_METRIC_PNORM;
    s.p = 0.5;
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 2, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.p");
    otk_mg_default_settings(&s);
    s.relative_reg = 0.0;
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 2, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.relative_reg");
    otk_mg_default_settings(&s);
    double v;
    ck_assert_int_eq(otk_mg_divergence(x, 2, y, 2, 2, &s, &v, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.reg");
}
END_TEST

/* The pnorm cost is otkit's ||x - y||_p^p (no 1/p, unlike ott-jax's
 * PNormP): at p = 2 it is the squared Euclidean cost, and its gradient is
 * the one of that cost. */
START_TEST(pnorm_is_otkits_metric)
{
    double x[N * D], y[N * D], gq[N * D], gp[N * D];
    points(x, N, D, 41);
    points(y, N, D, 42);
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    for (int exact = 0; exact <= 1; exact++) {
        otk_mg_info sq, pn;
        s.exact = exact;
        s.metric = OTK_METRIC_SQEUCLIDEAN;
        ck_assert_int_eq(otk_monge_gap(x, y, N, D, &s, gq, &sq), OTK_CONVERGED);
        s.metric = OTK_METRIC_PNORM;
        s.p = 2.0;
        ck_assert_int_eq(otk_monge_gap(x, y, N, D, &s, gp, &pn), OTK_CONVERGED);
        assert_close("displacement", pn.displacement_cost, sq.displacement_cost,
                     1e-12, 0.0);
        assert_close("gap", pn.monge_gap, sq.monge_gap, 1e-9, 1e-12);
        assert_close("reg", pn.reg, sq.reg, 1e-12, 0.0);
        assert_close_vec("gradient", gp, gq, N * D, 1e-7, 1e-10);
    }
}
END_TEST

/* The estimate's outcome: a Sinkhorn solve stopped at its cap is
 * OTK_MAX_ITER with cause "inner_max_iter" and the numbers of the last
 * iterate; a relative reg of a zero mean cost (all points equal) is
 * refused naming "reg"; a Sinkhorn field this module's table does not
 * list is named "settings.sinkhorn". */
START_TEST(estimate_outcomes)
{
    double x[N * D], y[N * D], v;
    points(x, N, D, 43);
    points(y, N, D, 44);
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.sinkhorn.max_iter = 2;
    otk_mg_info info;
    ck_assert_int_eq(otk_monge_gap(x, y, N, D, &s, NULL, &info), OTK_MAX_ITER);
    ck_assert_int_eq(info.outcome.status, OTK_MAX_ITER);
    ck_assert_str_eq(info.outcome.cause, "inner_max_iter");
    ck_assert_ptr_null(info.outcome.bad_argument);
    ck_assert(isfinite(info.monge_gap) && info.iterations == 2);
    s.reg = 0.5;
    ck_assert_int_eq(otk_mg_divergence(x, N, y, N, D, &s, &v, NULL, &info),
                     OTK_MAX_ITER);
    ck_assert_str_eq(info.outcome.cause, "inner_max_iter");
    ck_assert(info.ot_cost == v && isnan(info.monge_gap));
    otk_mg_default_settings(&s);
    ck_assert_int_eq(otk_monge_gap(x, y, N, D, &s, NULL, &info), OTK_CONVERGED);
    ck_assert_ptr_null(info.outcome.cause);
    ck_assert(info.outcome.time_s >= 0.0);
    double same[N * D] = {0};
    ck_assert_int_eq(otk_monge_gap(same, same, N, D, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "reg");
    ck_assert(isnan(info.monge_gap) && isnan(info.ot_cost));
    s.sinkhorn.check_every = 0;
    ck_assert_int_eq(otk_monge_gap(x, y, N, D, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.sinkhorn");
}
END_TEST

/* A gap of a few pairs, or a 2-step fit of a small map, with the given
 * settings (test_check_bounds_table's solve). */
static otk_status gap_with(void *user, const void *settings, const char **bad)
{
    (void)user;
    double x[8 * 2], y[8 * 2];
    points(x, 8, 2, 45);
    points(y, 8, 2, 46);
    otk_mg_info info;
    otk_status st = otk_monge_gap(x, y, 8, 2, settings, NULL, &info);
    *bad = info.outcome.bad_argument;
    return st;
}

static otk_status fit_with(void *user, const void *settings, const char **bad)
{
    (void)user;
    double x[8 * 2], y[8 * 2];
    points(x, 8, 2, 45);
    points(y, 8, 2, 46);
    otk_mg_fit_settings s = *(const otk_mg_fit_settings *)settings;
    s.steps = s.steps < 2 ? s.steps : 2; /* the checks come first */
    const size_t hidden[1] = {3};
    otk_mg_map *map = otk_mg_map_create(2, hidden, 1, OTK_ACT_TANH, 1);
    ck_assert_ptr_nonnull(map);
    otk_mg_fit_info info;
    otk_status st = otk_mg_fit(map, x, 8, y, 8, &s, &info);
    otk_mg_map_free(map);
    *bad = info.outcome.bad_argument;
    return st;
}

/* Both bounds tables: every numeric field has its record, named as C
 * names it; the defaults are the table's and valid; every value outside
 * a range is refused naming the field. The Sinkhorn fields they list have
 * the entropic module's ranges, or narrower ones inside them; a Sinkhorn
 * field they do not list is checked by the entropic table. */
START_TEST(settings_bounds_tables)
{
    static const char *const gap_fields[] = {"metric",
                                             "p",
                                             "exact",
                                             "reg",
                                             "relative_reg",
                                             "sinkhorn.tol",
                                             "sinkhorn.max_iter",
                                             "sinkhorn.warm_start"};
    static const char *const fit_fields[] = {"gap.metric",
                                             "gap.p",
                                             "gap.exact",
                                             "gap.reg",
                                             "gap.relative_reg",
                                             "gap.sinkhorn.tol",
                                             "gap.sinkhorn.max_iter",
                                             "gap.sinkhorn.warm_start",
                                             "gap.sinkhorn.check_every",
                                             "gap_reg_scale",
                                             "lambda",
                                             "fit_reg",
                                             "relative_fit_reg",
                                             "steps",
                                             "batch",
                                             "lr",
                                             "lr_schedule",
                                             "beta1",
                                             "beta2",
                                             "adam_eps",
                                             "seed",
                                             "validate_every",
                                             "validation_fraction"};
    size_t ng = 0, nf = 0, ns = 0;
    const otk_setting_bounds *tg = otk_mg_setting_bounds(&ng);
    const otk_setting_bounds *tf = otk_mg_fit_setting_bounds(&nf);
    const otk_setting_bounds *ts = otk_sinkhorn_setting_bounds(&ns);
    ck_assert_ptr_eq(otk_mg_setting_bounds(NULL), tg);
    ck_assert_ptr_eq(otk_mg_fit_setting_bounds(NULL), tf);
    otk_mg_settings g;
    memset(&g, 0x5a, sizeof g);
    otk_mg_default_settings(&g);
    ck_assert(g.sinkhorn.progress == NULL);
    test_bounds_table(tg, ng, gap_fields,
                      sizeof gap_fields / sizeof *gap_fields, &g, sizeof g,
                      gap_with, NULL);
    otk_mg_fit_settings f;
    memset(&f, 0x5a, sizeof f);
    otk_mg_fit_default_settings(&f);
    ck_assert(f.progress == NULL && f.progress_user == NULL);
    ck_assert(f.gap.sinkhorn.progress == NULL);
    test_bounds_table(tf, nf, fit_fields,
                      sizeof fit_fields / sizeof *fit_fields, &f, sizeof f,
                      fit_with, NULL);
    /* the listed Sinkhorn fields: the entropic ranges, or inside them */
    for (int fit = 0; fit <= 1; fit++)
        for (size_t r = 0; r < (fit ? nf : ng); r++) {
            const otk_setting_bounds *b = fit ? &tf[r] : &tg[r];
            const char *dot = strstr(b->name, "sinkhorn.");
            if (dot == NULL)
                continue;
            const otk_setting_bounds *e =
                otk_setting_find(ts, ns, dot + strlen("sinkhorn."));
            ck_assert_msg(e != NULL, "%s: no entropic record", b->name);
            ck_assert_int_eq(b->kind, e->kind);
            ck_assert_msg(b->lower >= e->lower && b->upper <= e->upper,
                          "%s: outside the entropic range", b->name);
            if (strcmp(e->name, "warm_start") != 0)
                ck_assert_msg(b->lower == e->lower && b->upper == e->upper &&
                                  b->flags == e->flags,
                              "%s: not the entropic range", b->name);
        }
    /* the estimate solves accurately, the fit as training needs */
    ck_assert(g.sinkhorn.tol == 1e-9 && f.gap.sinkhorn.tol == 1e-3);
    /* a Sinkhorn field the tables do not list, out of its range */
    g.sinkhorn.check_every = 0;
    const char *bad = NULL;
    ck_assert_int_eq(gap_with(NULL, &g, &bad), OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(bad, "settings.sinkhorn");
    f.gap.sinkhorn.relaxation = 2.0;
    ck_assert_int_eq(fit_with(NULL, &f, &bad), OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(bad, "settings.gap.sinkhorn");
}
END_TEST

/* The network's backward pass against finite differences of
 * L = sum_k w_k T(x)_k, for every activation. */
START_TEST(network_gradients_match_finite_differences)
{
    enum { B = 5, DD = 3 };
    double x[B * DD], y[B * DD], w[B * DD];
    points(x, B, DD, 11);
    points(w, B, DD, 12);
    const size_t hidden[2] = {4, 6};
    for (int act = 0; act < 4; act++) {
        otk_mg_map *map =
            otk_mg_map_create(DD, hidden, 2, (otk_activation)act, 5);
        ck_assert_ptr_nonnull(map);
        /* nonzero biases: with zero ones, a point whose ReLU units are all
         * off gives a pre-activation of exactly 0, a kink where central
         * differences see half the slope */
        for (size_t l = 0; l < map->layers; l++)
            for (size_t o = 0; o < map->size[l + 1]; o++)
                otk__mlp_bias(map, l)[o] = 0.1 * sin(3.0 * (double)(o + l));
        double *cache = malloc(otk__mlp_cache_len(map, B) * sizeof *cache);
        double *grad = malloc(map->nparams * sizeof *grad);
        double work[2 * B * 6];
        otk__mlp_forward(map, x, B, y, cache);
        otk__mlp_backward(map, x, B, w, cache, grad, work);
        for (size_t k = 0; k < map->nparams; k += 3) {
            /* central differences at two steps: ReLU's kinks make them
             * disagree when a pre-activation crosses 0; skip those */
            double fd[2];
            for (int q = 0; q < 2; q++) {
                const double h = q == 0 ? 1e-6 : 1e-7, keep = map->params[k];
                double lp = 0.0, lm = 0.0;
                map->params[k] = keep + h;
                otk__mlp_forward(map, x, B, y, cache);
                for (int r = 0; r < B * DD; r++)
                    lp += w[r] * y[r];
                map->params[k] = keep - h;
                otk__mlp_forward(map, x, B, y, cache);
                for (int r = 0; r < B * DD; r++)
                    lm += w[r] * y[r];
                map->params[k] = keep;
                fd[q] = (lp - lm) / (2 * h);
            }
            if (fabs(fd[0] - fd[1]) > 1e-4 * (1.0 + fabs(fd[0])))
                continue;
            char what[64];
            snprintf(what, sizeof what, "activation %d, parameter %zu", act, k);
            assert_close(what, fd[0], grad[k], 1e-6, 1e-8);
        }
        free(cache);
        free(grad);
        otk_mg_map_free(map);
    }
}
END_TEST

/* The loss of a training step, S(T#x, z) + lambda M(T; x), as a function
 * of the network's parameters: otk__mg_step_loss's gradient (the envelope
 * gradients of both terms back-propagated through the MLP, as otk_mg_fit
 * uses it) against central differences of the loss itself, along random
 * directions in parameter space, for the gap under the squared and the
 * Euclidean costs. */
static double step_loss(mg_step *sp, const otk_mg_map *map, const mg_loss *L,
                        otk_mg_fit_progress *p)
{
    int stopped = 1;
    size_t its = 0;
    ck_assert_int_eq(otk__mg_step_loss(sp, map, L, p, &stopped, &its),
                     OTK_CONVERGED);
    ck_assert(!stopped);
    return p->loss;
}

START_TEST(full_loss_gradient_matches_finite_differences)
{
    enum { B = 12, DD = 3 };
    const size_t hidden[2] = {5, 4};
    for (int metric = 0; metric <= 1; metric++) {
        otk_mg_map *map = otk_mg_map_create(DD, hidden, 2, OTK_ACT_GELU, 5);
        ck_assert_ptr_nonnull(map);
        /* a map far from the identity (which is optimal: gap gradient
         * 0): larger weights, nonzero biases */
        for (size_t k = 0; k < map->nparams; k++)
            map->params[k] *= 3.0;
        for (size_t l = 0; l < map->layers; l++)
            for (size_t o = 0; o < map->size[l + 1]; o++)
                otk__mlp_bias(map, l)[o] = 0.3 * sin(3.0 * (double)(o + l));
        mg_step sp;
        ck_assert_int_eq(otk__mg_step_init(&sp, map, B), 0);
        points(sp.xb, B, DD, 21);
        points(sp.zb, B, DD, 22);
        for (size_t k = 0; k < B * DD; k++)
            sp.zb[k] = 0.7 * sp.zb[k] + 0.5;
        otk_mg_settings div, gap;
        otk_mg_default_settings(&div);
        div.sinkhorn.tol = 1e-11;
        div.sinkhorn.max_iter = 1000000;
        gap = div;
        gap.metric = (otk_metric)metric;
        /* regs large enough for plans far from permutations, and lambdas
         * that give the gap a sizeable share of the gradient (the
         * Euclidean gap's is small on this map: a large lambda) */
        mg_loss L = {&div, &gap, 1.0, 0.5, metric ? 5000.0 : 20.0};
        otk_mg_fit_progress p;
        step_loss(&sp, map, &L, &p);
        ck_assert(p.monge_gap > 0.0 && p.fitting > 0.0);
        const size_t np = map->nparams;
        double *g = malloc(2 * np * sizeof *g), *v = g + np;
        memcpy(g, sp.grad, np * sizeof *g);
        /* the gap's share of the gradient is not negligible */
        mg_loss L0 = L;
        L0.lambda = 0.0;
        step_loss(&sp, map, &L0, &p);
        double diff = 0.0, norm = 0.0;
        for (size_t k = 0; k < np; k++) {
            diff += (g[k] - sp.grad[k]) * (g[k] - sp.grad[k]);
            norm += g[k] * g[k];
        }
        ck_assert_msg(diff > 1e-2 * norm, "metric %d: gap share %g", metric,
                      sqrt(diff / norm));
        for (int dir = 0; dir < 4; dir++) {
            points(v, np, 1, 100 + (unsigned long long)dir);
            double *theta = map->params, slope = 0.0;
            for (size_t k = 0; k < np; k++)
                slope += g[k] * v[k];
            const double h = 1e-5;
            double lp, lm;
            for (size_t k = 0; k < np; k++)
                theta[k] += h * v[k];
            lp = step_loss(&sp, map, &L, &p);
            for (size_t k = 0; k < np; k++)
                theta[k] -= 2.0 * h * v[k];
            lm = step_loss(&sp, map, &L, &p);
            for (size_t k = 0; k < np; k++)
                theta[k] += h * v[k];
            char what[64];
            snprintf(what, sizeof what, "metric %d, direction %d", metric, dir);
            assert_close(what, (lp - lm) / (2.0 * h), slope, 1e-6, 1e-9);
        }
        free(g);
        otk__mg_step_free(&sp);
        otk_mg_map_free(map);
    }
}
END_TEST

/* Gaussian to Gaussian: the optimal map is affine, T*(x) = A x + m with A
 * symmetric positive definite. The Monge-gap fit approaches it as it
 * trains and ends far closer to it than the unregularized fit, which
 * matches the target measure with another map. */
static const double MA[4] = {1.5, 0.6, 0.6, 0.8}, MM[2] = {1.0, -0.5};

static double l2_uvp(const otk_mg_map *map, const double *xe, size_t ne)
{
    double *ye = malloc(ne * 2 * sizeof *ye), err = 0.0, var = 0.0;
    double mean[2] = {0, 0}, t[2];
    ck_assert_int_eq(otk_mg_map_apply(map, xe, ne, ye), OTK_CONVERGED);
    for (size_t i = 0; i < ne; i++)
        for (int k = 0; k < 2; k++)
            mean[k] += (MA[2 * k] * xe[2 * i] + MA[2 * k + 1] * xe[2 * i + 1] +
                        MM[k]) /
                       (double)ne;
    for (size_t i = 0; i < ne; i++)
        for (int k = 0; k < 2; k++) {
            t[k] =
                MA[2 * k] * xe[2 * i] + MA[2 * k + 1] * xe[2 * i + 1] + MM[k];
            err += (ye[2 * i + k] - t[k]) * (ye[2 * i + k] - t[k]);
            var += (t[k] - mean[k]) * (t[k] - mean[k]);
        }
    free(ye);
    return 100.0 * err / var;
}

START_TEST(fitting_gaussians)
{
    enum { NS = 1000, NE = 500 };
    double *xs = malloc(NS * 2 * sizeof *xs), *zt = malloc(NS * 2 * sizeof *zt);
    double *xe = malloc(NE * 2 * sizeof *xe), u[2];
    unsigned long long st = 7;
    test_gaussian_points(xs, NS, 2, 0.0, &st);
    test_gaussian_points(xe, NE, 2, 0.0, &st);
    for (int i = 0; i < NS; i++) {
        test_gaussian_points(u, 1, 2, 0.0, &st);
        for (int k = 0; k < 2; k++)
            zt[2 * i + k] = MA[2 * k] * u[0] + MA[2 * k + 1] * u[1] + MM[k];
    }
    const size_t hidden[2] = {32, 32};
    double uvp[2][2];
    for (int reg = 0; reg < 2; reg++) {
        otk_mg_map *map = otk_mg_map_create(2, hidden, 2, OTK_ACT_GELU, 1);
        ck_assert_ptr_nonnull(map);
        otk_mg_fit_settings s;
        otk_mg_fit_default_settings(&s);
        s.lambda = reg ? 1.0 : 0.0;
        s.batch = 64;
        s.lr = 3e-3;
        s.gap_reg_scale = 0; /* 0.05 x the mean cost */
        s.gap.relative_reg = 0.05;
        s.seed = 3;
        s.steps = 50;
        /* the inner defaults (warm starts, tol 1e-3, 1000 iterations a
         * solve): every inner solve converges and the status says so */
        otk_mg_fit_info info;
        ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info),
                         OTK_CONVERGED);
        ck_assert_uint_eq(info.steps, 50);
        ck_assert_uint_eq(info.inner_not_converged, 0);
        uvp[reg][0] = l2_uvp(map, xe, NE);
        s.steps = 100; /* 150 in all (the seed continues the same way) */
        ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info),
                         OTK_CONVERGED);
        uvp[reg][1] = l2_uvp(map, xe, NE);
        ck_assert(isfinite(info.last.loss) && info.last.fitting >= -1e-9);
        otk_mg_map_free(map);
    }
    /* with the Monge gap: closer to T* with training, and far closer
     * than without it */
    ck_assert_double_lt(uvp[1][1], uvp[1][0]);
    ck_assert_double_lt(uvp[1][1], 0.5 * uvp[0][1]);
    ck_assert_double_lt(uvp[1][1], 5.0);
    free(xs);
    free(zt);
    free(xe);
}
END_TEST

/* Cancels at step 2; checks that the record is the fit's (its detail
 * the step's terms) and counts the calls in *user. */
static int cancel_at_2(void *user, const otk_progress *pr)
{
    const otk_mg_fit_progress *p = pr->detail;
    ck_assert_str_eq(pr->solver, "mongegap_fit");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pr->iteration, p->step);
    ck_assert(pr->objective == p->loss && isfinite(p->loss));
    ck_assert(isnan(pr->error) && isnan(pr->reg));
    ck_assert(pr->elapsed_s >= 0.0);
    (*(int *)user)++;
    return p->step == 2;
}

static int cancel_inner(void *user, const otk_progress *p)
{
    (void)user;
    (void)p;
    return 1;
}

/* Inner Sinkhorn solves that stop at their iteration cap do not stop the
 * fit, but its status says so (OTK_MAX_ITER) and counts the steps; a
 * cancel, by the fit's callback or an inner solve's, still wins. */
START_TEST(inner_max_iter_is_reported)
{
    enum { NS = 100, STEPS = 6 };
    double xs[NS * 2], zt[NS * 2], y0[NS * 2], y1[NS * 2];
    points(xs, NS, 2, 31);
    points(zt, NS, 2, 32);
    for (int k = 0; k < NS; k++)
        zt[2 * k] += 2.0;
    const size_t hidden[1] = {8};
    otk_mg_map *map = otk_mg_map_create(2, hidden, 1, OTK_ACT_TANH, 5);
    ck_assert_ptr_nonnull(map);
    ck_assert_int_eq(otk_mg_map_apply(map, xs, NS, y0), OTK_CONVERGED);
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    s.steps = STEPS;
    s.batch = 32;
    s.lr = 1e-2;
    s.gap.sinkhorn.max_iter = 200000;
    otk_mg_fit_info info;
    /* converged inner solves: nothing to report */
    ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info), OTK_CONVERGED);
    ck_assert_uint_eq(info.inner_not_converged, 0);
    /* 3 iterations cannot reach 1e-6: every step's solves stop there */
    s.gap.sinkhorn.max_iter = 3;
    ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info), OTK_MAX_ITER);
    ck_assert_int_eq(info.outcome.status, OTK_MAX_ITER);
    ck_assert_str_eq(info.outcome.cause, "inner_max_iter");
    ck_assert_uint_eq(info.steps, STEPS);
    ck_assert_uint_eq(info.inner_not_converged, STEPS);
    /* four solves a step (the divergence's three and the gap's), 3 each */
    ck_assert_uint_eq(info.sinkhorn_iterations, STEPS * 4 * 3);
    ck_assert(isfinite(info.last.loss) && isfinite(info.last.monge_gap));
    ck_assert_int_eq(otk_mg_map_apply(map, xs, NS, y1),
                     OTK_CONVERGED); /* the steps were taken */
    double moved = 0.0;
    for (int k = 0; k < NS * 2; k++)
        moved = fmax(moved, fabs(y1[k] - y0[k]));
    ck_assert_double_gt(moved, 1e-3);
    /* the same without the gap term: the divergence's solves alone */
    s.lambda = 0.0;
    ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info), OTK_MAX_ITER);
    ck_assert_uint_eq(info.inner_not_converged, STEPS);
    ck_assert_uint_eq(info.sinkhorn_iterations, STEPS * 3 * 3);
    /* a cancel by the fit's callback is reported as such, with the count
     * so far */
    s.lambda = 1.0;
    int calls = 0;
    s.progress = cancel_at_2;
    s.progress_user = &calls;
    ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info), OTK_CANCELLED);
    ck_assert_ptr_null(info.outcome.cause);
    ck_assert_int_eq(calls, 2);
    ck_assert_uint_eq(info.steps, 2);
    ck_assert_uint_eq(info.inner_not_converged, 2);
    /* and a cancel by the inner solves' callback ends the fit before its
     * first step */
    s.progress = NULL;
    s.gap.sinkhorn.max_iter = 1000;
    s.gap.sinkhorn.progress = cancel_inner;
    ck_assert_int_eq(otk_mg_map_apply(map, xs, NS, y0), OTK_CONVERGED);
    ck_assert_int_eq(otk_mg_fit(map, xs, NS, zt, NS, &s, &info), OTK_CANCELLED);
    ck_assert_uint_eq(info.steps, 0);
    ck_assert(isnan(info.last.loss)); /* no step: nothing computed */
    /* a relative reg of a zero mean cost is refused naming it */
    s.gap.sinkhorn.progress = NULL;
    double same[NS * 2] = {0};
    ck_assert_int_eq(otk_mg_fit(map, xs, NS, same, NS, &s, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "fit_reg");
    ck_assert(isnan(info.last.loss) && info.steps == 0);
    ck_assert_int_eq(otk_mg_map_apply(map, xs, NS, y1), OTK_CONVERGED);
    assert_close_vec("not moved", y1, y0, NS * 2, 0.0, 0.0);
    otk_mg_map_free(map);
}
END_TEST

/* Same seed, same result, bit for bit; the saved map reloads to the same
 * function; damaged files are refused with their line. */
START_TEST(reproducible_and_saved)
{
    enum { NS = 200 };
    double xs[NS * 2], zt[NS * 2], ya[NS * 2], yb[NS * 2];
    points(xs, NS, 2, 21);
    points(zt, NS, 2, 22);
    const size_t hidden[1] = {16};
    otk_mg_map *m[2];
    for (int r = 0; r < 2; r++) {
        m[r] = otk_mg_map_create(2, hidden, 1, OTK_ACT_TANH, 9);
        ck_assert_ptr_nonnull(m[r]);
        otk_mg_fit_settings s;
        otk_mg_fit_default_settings(&s);
        s.steps = 20;
        s.batch = 32;
        s.seed = 4;
        s.gap.sinkhorn.max_iter = 200000; /* as in fitting_gaussians */
        ck_assert_int_eq(otk_mg_fit(m[r], xs, NS, zt, NS, &s, NULL),
                         OTK_CONVERGED);
    }
    ck_assert_int_eq(otk_mg_map_apply(m[0], xs, NS, ya), OTK_CONVERGED);
    ck_assert_int_eq(otk_mg_map_apply(m[1], xs, NS, yb), OTK_CONVERGED);
    assert_close_vec("same seed", yb, ya, NS * 2, 0.0, 0.0);
    char path[] = "/tmp/otk-map-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(otk_mg_map_save(m[0], path), OTK_CONVERGED);
    otk_status st;
    size_t line;
    otk_mg_map *back = otk_mg_map_load(path, &st, &line);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(otk_mg_map_dim(back), 2);
    ck_assert_int_eq(otk_mg_map_apply(back, xs, NS, yb), OTK_CONVERGED);
    assert_close_vec("reloaded", yb, ya, NS * 2, 0.0, 0.0);
    otk_mg_map_free(back);
    /* damage line 6 (the first weights line) */
    FILE *fp = fopen(path, "r");
    char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    char *p = text;
    for (int l = 0; l < 5; l++)
        p = strchr(p, '\n') + 1;
    p[0] = 'x';
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    ck_assert_ptr_null(otk_mg_map_load(path, &st, &line));
    ck_assert_int_eq(st, OTK_ERR_INVALID_INPUT);
    ck_assert_uint_eq(line, 6);
    unlink(path);
    ck_assert_ptr_null(otk_mg_map_load(path, &st, &line));
    ck_assert_int_eq(st, OTK_ERR_INVALID_ARGUMENT);
    otk_mg_map_free(m[0]);
    otk_mg_map_free(m[1]);
}
END_TEST

/* Map files: a 3000-wide layer (lines of about 75 KB) goes through write
 * and read unchanged, and save creates its file with 0666 less the umask. */
/* A header claiming huge layers in a short file is malformed input, found
 * without allocating what it claims (memory grows with the data read). */
START_TEST(map_header_cannot_size_allocations)
{
    static const char text[] = "otkit-map 1\nd 2\nactivation tanh\n"
                               "hidden 2 1000000 1000000\nlayer 1000000 2\n"
                               "0.5 0.25\n";
    FILE *fp = tmpfile();
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, sizeof text - 1, fp), sizeof text - 1);
    rewind(fp);
    otk_status st = OTK_CONVERGED;
    size_t line = 0;
    ck_assert_ptr_null(otk_mg_map_read(fp, &st, &line));
    fclose(fp);
    ck_assert_int_eq(st, OTK_ERR_INVALID_INPUT);
    ck_assert_uint_eq(line, 6); /* the last line read: the file ends there */
}
END_TEST

START_TEST(wide_map_files)
{
    const size_t hidden[] = {3000};
    otk_mg_map *map = otk_mg_map_create(2, hidden, 1, OTK_ACT_TANH, 1);
    ck_assert_ptr_nonnull(map);
    FILE *fp = tmpfile();
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(otk_mg_map_write(map, fp), OTK_CONVERGED);
    rewind(fp);
    otk_status st;
    size_t line = 99;
    otk_mg_map *back = otk_mg_map_read(fp, &st, &line);
    fclose(fp);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(st, OTK_CONVERGED);
    ck_assert_uint_eq(line, 0);
    ck_assert_uint_eq(back->nparams, map->nparams);
    ck_assert_int_eq(
        memcmp(back->params, map->params, map->nparams * sizeof *map->params),
        0);
    otk_mg_map_free(back);
    char dir[] = "/tmp/otk-mapdir-XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/map.txt", dir);
    mode_t old = umask(027);
    ck_assert_int_eq(otk_mg_map_save(map, path), OTK_CONVERGED);
    umask(old);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0640);
    unlink(path);
    rmdir(dir);
    otk_mg_map_free(map);
}
END_TEST

/* The fit's default gap reg keeps the gap's gradient alive in high
 * dimension: at d = 16 on a batch of 256, the gradient of the entropic gap
 * at that reg is a fair share of the gradient of its displacement term
 * alone (an entropic plan that is the identity permutation to rounding
 * cancels the two exactly). With the mean cost as the scale (ott-jax's
 * 0.01 x mean) the plan is a permutation and the share vanishes. */
static double gap_grad_share(int scale, double relative)
{
    enum { B = 256, DG = 16 };
    static double x[B * DG], y[B * DG], g[B * DG];
    points(x, B, DG, 41);
    const size_t hidden[2] = {64, 64};
    otk_mg_map *map = otk_mg_map_create(DG, hidden, 2, OTK_ACT_GELU, 3);
    ck_assert_ptr_nonnull(map);
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    s.steps = 1;
    s.gap_reg_scale = scale;
    s.gap.relative_reg = relative;
    otk_mg_fit_info info;
    ck_assert_int_ge(otk_mg_fit(map, x, B, x, B, &s, &info), 0);
    ck_assert_int_eq(otk_mg_map_apply(map, x, B, y), OTK_CONVERGED);
    otk_mg_map_free(map);
    double own = 0.0, all = 0.0;
    for (size_t k = 0; k < B * DG; k++)
        own += pow(2.0 * (y[k] - x[k]) / B, 2); /* d/dy of mean |x_i-y_i|^2 */
    otk_mg_settings gs;
    otk_mg_default_settings(&gs);
    gs.reg = info.gap_reg;
    gs.sinkhorn.tol = 1e-6;
    gs.sinkhorn.max_iter = 100000;
    otk_mg_info gi;
    ck_assert_int_eq(otk_monge_gap(x, y, B, DG, &gs, g, &gi), OTK_CONVERGED);
    for (size_t k = 0; k < B * DG; k++)
        all += g[k] * g[k];
    return sqrt(all / own);
}

START_TEST(default_gap_reg_keeps_the_gradient_in_high_dimension)
{
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    double share = gap_grad_share(s.gap_reg_scale, s.gap.relative_reg);
    ck_assert_msg(share > 0.05, "default: gap gradient share %g", share);
    double old = gap_grad_share(0, 0.01);
    ck_assert_msg(old < 1e-2, "mean-cost scale: share %g", old);
}
END_TEST

/* The fit's default gap reg on a batch that is the whole sample (so the
 * mean cost and the median margin do not depend on the batch's order),
 * from the initial map's images: max(0.3 x margin, 0.01 x mean cost),
 * computed here from the definitions. In 2-D the tutorial's floor holds,
 * unscaled by the relative reg. */
START_TEST(default_gap_reg_floor_is_the_tutorials)
{
    enum { B = 64 };
    double x[B * D], y[B * D], z[B * D], margin[B];
    points(x, B, D, 51);
    points(z, B, D, 52);
    const size_t hidden[1] = {8};
    otk_mg_map *map = otk_mg_map_create(D, hidden, 1, OTK_ACT_GELU, 4);
    ck_assert_ptr_nonnull(map);
    ck_assert_int_eq(otk_mg_map_apply(map, x, B, y), OTK_CONVERGED);
    double mean = 0.0;
    for (int i = 0; i < B; i++) {
        double own = 0.0, best = INFINITY;
        for (int k = 0; k < D; k++)
            own += pow(x[i * D + k] - y[i * D + k], 2);
        for (int j = 0; j < B; j++) {
            double cij = 0.0;
            for (int k = 0; k < D; k++)
                cij += pow(x[i * D + k] - y[j * D + k], 2);
            mean += cij / (B * B);
            if (j != i)
                best = fmin(best, fabs(cij - own));
        }
        margin[i] = best;
    }
    for (int i = 1; i < B; i++) /* sort for the lower median */
        for (int k = i; k > 0 && margin[k - 1] > margin[k]; k--) {
            double t = margin[k];
            margin[k] = margin[k - 1];
            margin[k - 1] = t;
        }
    const double want = fmax(0.3 * margin[(B - 1) / 2], 0.01 * mean);
    ck_assert_double_gt(0.01 * mean, 0.3 * margin[(B - 1) / 2]);
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    s.steps = 1;
    s.batch = B;
    otk_mg_fit_info info;
    ck_assert_int_ge(otk_mg_fit(map, x, B, z, B, &s, &info), 0);
    assert_close("gap reg", info.gap_reg, want, 1e-12, 0.0);
    otk_mg_map_free(map);
}
END_TEST

/* A fit of the 2-D Gaussian problem of fitting_gaussians with a
 * constant step too large to settle, validated every 10 steps. */
static otk_status validated_fit(const double *xs, const double *zt, size_t n,
                                size_t steps, otk_mg_map **map,
                                otk_mg_fit_info *info)
{
    const size_t hidden[2] = {16, 16};
    *map = otk_mg_map_create(2, hidden, 2, OTK_ACT_GELU, 1);
    ck_assert_ptr_nonnull(*map);
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    s.batch = 64;
    s.lr = 0.05;
    s.lr_schedule = 0;
    s.seed = 5;
    s.steps = steps;
    s.validate_every = 10;
    s.validation_fraction = 0.2;
    return otk_mg_fit(*map, xs, n, zt, n, &s, info);
}

START_TEST(validation_keeps_the_best_map)
{
    enum { NS = 600 };
    double *xs = malloc(NS * 2 * sizeof *xs), *zt = malloc(NS * 2 * sizeof *zt);
    double *ya = malloc(2 * NS * 2 * sizeof *ya), *yb = ya + NS * 2, u[2];
    ck_assert(xs && zt && ya);
    unsigned long long st = 11;
    test_gaussian_points(xs, NS, 2, 0.0, &st);
    for (int i = 0; i < NS; i++) {
        test_gaussian_points(u, 1, 2, 0.0, &st);
        for (int k = 0; k < 2; k++)
            zt[2 * i + k] = MA[2 * k] * u[0] + MA[2 * k + 1] * u[1] + MM[k];
    }
    otk_mg_map *a, *b;
    otk_mg_fit_info ia, ib, ic;
    ck_assert_int_eq(validated_fit(xs, zt, NS, 80, &a, &ia), OTK_CONVERGED);
    ck_assert_uint_eq(ia.steps, 80);
    ck_assert_uint_eq(ia.best_step % 10, 0);
    ck_assert(ia.best_step >= 10 && ia.best_step < 80); /* not the last */
    ck_assert(isfinite(ia.validation_loss));
    /* the same run stopped at the best check (a constant step: the same
     * first steps) returns the same map and loss: the fit kept the best
     * check's map, not its last step's */
    ck_assert_int_eq(validated_fit(xs, zt, NS, ia.best_step, &b, &ib),
                     OTK_CONVERGED);
    ck_assert_uint_eq(ib.best_step, ia.best_step);
    ck_assert_double_eq(ib.validation_loss, ia.validation_loss);
    ck_assert_int_eq(otk_mg_map_apply(a, xs, NS, ya), OTK_CONVERGED);
    ck_assert_int_eq(otk_mg_map_apply(b, xs, NS, yb), OTK_CONVERGED);
    assert_close_vec("best map", yb, ya, NS * 2, 0.0, 0.0);
    /* without validation: no best step, and all the rows train */
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    ck_assert_uint_eq(s.validate_every, 0);
    s.steps = 2;
    s.batch = 8;
    ck_assert_int_eq(otk_mg_fit(a, xs, NS, zt, NS, &s, &ic), OTK_CONVERGED);
    ck_assert_uint_eq(ic.best_step, 0);
    ck_assert(isnan(ic.validation_loss));
    /* too few rows to hold 2 out and train on 2 */
    otk_mg_map_free(b);
    s.validate_every = 1;
    ck_assert_int_eq(otk_mg_fit(a, xs, 3, zt, NS, &s, &ic),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(ic.outcome.bad_argument, "source");
    ck_assert_int_eq(otk_mg_fit(a, xs, NS, zt, 3, &s, &ic),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(ic.outcome.bad_argument, "target");
    otk_mg_map_free(a);
    free(xs);
    free(zt);
    free(ya);
}
END_TEST

static Suite *mongegap_suite(void)
{
    Suite *s = suite_create("mongegap");
    TCase *tc = tcase_create("mongegap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, closed_forms_for_the_squared_cost);
    tcase_add_test(tc, bounds_and_limits);
    tcase_add_test(tc, matches_pot);
    tcase_add_test(tc, gradients_match_finite_differences);
    tcase_add_test(tc, bad_inputs_are_rejected);
    tcase_add_test(tc, network_gradients_match_finite_differences);
    tcase_add_test(tc, full_loss_gradient_matches_finite_differences);
    tcase_add_test(tc, fitting_gaussians);
    tcase_add_test(tc, reproducible_and_saved);
    tcase_add_test(tc, wide_map_files);
    tcase_add_test(tc, map_header_cannot_size_allocations);
    tcase_add_test(tc, inner_max_iter_is_reported);
    tcase_add_test(tc, pnorm_is_otkits_metric);
    tcase_add_test(tc, estimate_outcomes);
    tcase_add_test(tc, settings_bounds_tables);
    tcase_add_test(tc, default_gap_reg_keeps_the_gradient_in_high_dimension);
    tcase_add_test(tc, validation_keeps_the_best_map);
    tcase_add_test(tc, default_gap_reg_floor_is_the_tutorials);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mongegap_suite()); }
