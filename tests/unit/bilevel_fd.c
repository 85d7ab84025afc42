/* Finite-difference checks of bilevel callbacks (see bilevel_fd.h). */
#include "bilevel_fd.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double dotp(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void random_unit(double *v, size_t n, unsigned long long *state)
{
    for (size_t i = 0; i < n; i++)
        v[i] = test_uniform(state) - 0.5;
    double s = sqrt(dotp(v, v, n));
    for (size_t i = 0; i < n; i++)
        v[i] /= s;
}

static void agree(const char *what, double analytic, double numeric,
                  double rtol)
{
    double scale = fmax(fabs(analytic), fabs(numeric));
    ck_assert_msg(fabs(analytic - numeric) <= rtol * scale + 1e-12,
                  "%s: analytic %.12g vs finite difference %.12g", what,
                  analytic, numeric);
}

void bilevel_fd_check(const otk_bilevel_problem *pb, const double *theta,
                      const double *x, double t, double rtol, int directions)
{
    size_t n = pb->n, p = pb->p;
    double *v = malloc(n * sizeof *v), *w = malloc(p * sizeof *w);
    double *xs = malloc(n * sizeof *xs), *ts = malloc(p * sizeof *ts);
    double *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2);
    double *av = malloc(n * sizeof *av), *btq = malloc(p * sizeof *btq);
    double *grad = malloc(n * sizeof *grad);
    ck_assert(v && w && xs && ts && g1 && g2 && av && btq && grad);
    if (pb->lipschitz) {
        double lb, la;
        ck_assert_int_eq(pb->lipschitz(pb->user, theta, &lb, &la), 0);
        ck_assert(lb >= 0 && isfinite(lb) && la >= 0 && isfinite(la));
    }
    unsigned long long state = 12345;
    for (int k = 0; k < directions; k++) {
        random_unit(v, n, &state);
        random_unit(w, p, &state);

        /* ll_grad against ll_value along v */
        ck_assert_int_eq(pb->ll_grad(pb->user, theta, x, grad), 0);
        if (pb->ll_value) {
            double hp, hm;
            for (size_t i = 0; i < n; i++)
                xs[i] = x[i] + t * v[i];
            ck_assert_int_eq(pb->ll_value(pb->user, theta, xs, &hp), 0);
            for (size_t i = 0; i < n; i++)
                xs[i] = x[i] - t * v[i];
            ck_assert_int_eq(pb->ll_value(pb->user, theta, xs, &hm), 0);
            agree("ll_grad", dotp(grad, v, n), (hp - hm) / (2 * t), rtol);
        }

        /* ll_hvp against the difference of ll_grad, entrywise in norm */
        for (size_t i = 0; i < n; i++)
            xs[i] = x[i] + t * v[i];
        ck_assert_int_eq(pb->ll_grad(pb->user, theta, xs, g1), 0);
        for (size_t i = 0; i < n; i++)
            xs[i] = x[i] - t * v[i];
        ck_assert_int_eq(pb->ll_grad(pb->user, theta, xs, g2), 0);
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, av), 0);
        double err = 0, ref = 0;
        for (size_t i = 0; i < n; i++) {
            double fd = (g1[i] - g2[i]) / (2 * t);
            err += (fd - av[i]) * (fd - av[i]);
            ref += av[i] * av[i];
        }
        ck_assert_msg(sqrt(err) <= rtol * sqrt(ref) + 1e-12,
                      "ll_hvp: ||Av - FD|| = %g, ||Av|| = %g", sqrt(err),
                      sqrt(ref));
        /* A is symmetric positive definite: <v, Av> > 0 */
        ck_assert_msg(dotp(v, av, n) > 0, "ll_hvp: <v, Av> <= 0");

        /* cross_t: <B^T q, w> = d/ds <grad_x h(x, theta + s w), q> */
        const double *q = v;
        for (size_t j = 0; j < p; j++)
            ts[j] = theta[j] + t * w[j];
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g1), 0);
        for (size_t j = 0; j < p; j++)
            ts[j] = theta[j] - t * w[j];
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g2), 0);
        ck_assert_int_eq(pb->cross_t(pb->user, theta, x, q, btq), 0);
        agree("cross_t", dotp(btq, w, p),
              (dotp(g1, q, n) - dotp(g2, q, n)) / (2 * t), rtol);
        if (pb->cross_norm) {
            double nb;
            ck_assert_int_eq(pb->cross_norm(pb->user, theta, x, &nb), 0);
            double ratio = sqrt(dotp(btq, btq, p)); /* ||q|| = 1 */
            ck_assert_msg(nb >= ratio * (1 - 1e-12),
                          "cross_norm %g below ||B^T q|| / ||q|| = %g", nb,
                          ratio);
        }

        /* upper: gradient against value along v */
        double gp, gm, g0;
        ck_assert_int_eq(pb->upper(pb->user, x, &g0, grad), 0);
        for (size_t i = 0; i < n; i++)
            xs[i] = x[i] + t * v[i];
        ck_assert_int_eq(pb->upper(pb->user, xs, &gp, NULL), 0);
        for (size_t i = 0; i < n; i++)
            xs[i] = x[i] - t * v[i];
        ck_assert_int_eq(pb->upper(pb->user, xs, &gm, NULL), 0);
        agree("upper gradient", dotp(grad, v, n), (gp - gm) / (2 * t), rtol);
    }
    free(v);
    free(w);
    free(xs);
    free(ts);
    free(g1);
    free(g2);
    free(av);
    free(btq);
    free(grad);
}
