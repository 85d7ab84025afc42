/* Exact gradient descent on the quadratic family (gd_reference.h). */
#include "gd_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POWER_STEPS 100

typedef struct gd_work {
    const otk_bilevel_problem *pb;
    otk_bilevel_settings s;
    double *x; /* the lower-level warm start (n) */
} gd_work;

static double norm(const double *v, size_t len)
{
    double s = 0;
    for (size_t i = 0; i < len; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* grad f(theta) into out (p), to rounding; -1 when a solve fails. */
static int exact_gradient(gd_work *w, const double *theta, double *out)
{
    double scale = fmax(1, norm(w->x, w->pb->n));
    otk_status st = otk_bilevel_hypergradient(
        w->pb, &w->s, theta, 1e-9 * scale, 1e-9 * scale, w->x, NULL, out, NULL);
    return st == OTK_CONVERGED ? 0 : -1;
}

/* lambda_max of the constant Hessian H, H v = grad f(theta0 + v) -
 * grad f(theta0), by power iteration from (1, ..., 1). */
static double hessian_norm(gd_work *w, const double *theta0, const double *g0,
                           double *v, double *t)
{
    size_t p = w->pb->p;
    double lambda = NAN;
    for (size_t i = 0; i < p; i++)
        v[i] = 1;
    for (int k = 0; k < POWER_STEPS; k++) {
        double nv = norm(v, p);
        if (!(nv > 0))
            return NAN;
        for (size_t i = 0; i < p; i++)
            t[i] = theta0[i] + v[i] / nv;
        if (exact_gradient(w, t, v) != 0)
            return NAN;
        for (size_t i = 0; i < p; i++)
            v[i] -= g0[i];
        lambda = norm(v, p);
    }
    return lambda;
}

double otkmaid_gd_gap(const otk_bilevel_instance *in, size_t iterations)
{
    const otk_bilevel_problem *pb = &in->problem;
    size_t n = pb->n, p = pb->p;
    if (!in->theta_star)
        return NAN;
    gd_work w = {pb, {0}, malloc(n * sizeof(double))};
    double *theta = malloc(p * sizeof *theta), *g = malloc(p * sizeof *g);
    double *v = malloc(p * sizeof *v), *t = malloc(p * sizeof *t);
    double gap = NAN;
    if (!w.x || !theta || !g || !v || !t)
        goto done;
    otk_bilevel_default_settings(&w.s);
    memcpy(w.x, in->x0, n * sizeof *w.x);
    memcpy(theta, in->theta0, p * sizeof *theta);
    if (exact_gradient(&w, theta, g) != 0)
        goto done;
    double L = hessian_norm(&w, theta, g, v, t);
    if (!(L > 0))
        goto done;
    for (size_t k = 0; k < iterations; k++) {
        if (exact_gradient(&w, theta, g) != 0)
            goto done;
        for (size_t i = 0; i < p; i++)
            theta[i] -= g[i] / L;
    }
    double f;
    if (otk_bilevel_evaluate(pb, &w.s, theta, 1e-9 * fmax(1, norm(w.x, n)), w.x,
                             &f, NULL, NULL) == OTK_CONVERGED)
        gap = (f - in->f_star) / in->f_star;
done:
    free(w.x);
    free(theta);
    free(g);
    free(v);
    free(t);
    return gap;
}
