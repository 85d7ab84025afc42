/* Helpers shared by the bilevel unit tests (see bilevel_testing.h). */
#include "bilevel_testing.h"
#include "testutil.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

/* ---- vectors ---- */

double bt_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

double bt_sqdist(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

double bt_dist(const double *a, const double *b, size_t n)
{
    return sqrt(bt_sqdist(a, b, n));
}

void bt_randomize(double *v, size_t n, double lo, double hi,
                  unsigned long long *state)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * test_uniform(state);
}

/* ---- finite differences ---- */

/* out = a + t d (n entries): a point of a central difference. */
static void fd_point(double *out, const double *a, double t, const double *d,
                     size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + t * d[i];
}

static void random_unit(double *v, size_t n, unsigned long long *state)
{
    for (size_t i = 0; i < n; i++)
        v[i] = test_uniform(state) - 0.5;
    double s = sqrt(bt_dot(v, v, n));
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
            fd_point(xs, x, t, v, n);
            ck_assert_int_eq(pb->ll_value(pb->user, theta, xs, &hp), 0);
            fd_point(xs, x, -t, v, n);
            ck_assert_int_eq(pb->ll_value(pb->user, theta, xs, &hm), 0);
            agree("ll_grad", bt_dot(grad, v, n), (hp - hm) / (2 * t), rtol);
        }

        /* ll_hvp against the difference of ll_grad, entrywise in norm */
        fd_point(xs, x, t, v, n);
        ck_assert_int_eq(pb->ll_grad(pb->user, theta, xs, g1), 0);
        fd_point(xs, x, -t, v, n);
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
        ck_assert_msg(bt_dot(v, av, n) > 0, "ll_hvp: <v, Av> <= 0");

        /* cross_t: <B^T q, w> = d/ds <grad_x h(x, theta + s w), q> */
        const double *q = v;
        fd_point(ts, theta, t, w, p);
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g1), 0);
        fd_point(ts, theta, -t, w, p);
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g2), 0);
        ck_assert_int_eq(pb->cross_t(pb->user, theta, x, q, btq), 0);
        agree("cross_t", bt_dot(btq, w, p),
              (bt_dot(g1, q, n) - bt_dot(g2, q, n)) / (2 * t), rtol);
        if (pb->cross_norm) {
            double nb;
            ck_assert_int_eq(pb->cross_norm(pb->user, theta, x, &nb), 0);
            double ratio = sqrt(bt_dot(btq, btq, p)); /* ||q|| = 1 */
            ck_assert_msg(nb >= ratio * (1 - 1e-12),
                          "cross_norm %g below ||B^T q|| / ||q|| = %g", nb,
                          ratio);
        }

        /* upper: gradient against value along v */
        double gp, gm, g0;
        ck_assert_int_eq(pb->upper(pb->user, x, &g0, grad), 0);
        fd_point(xs, x, t, v, n);
        ck_assert_int_eq(pb->upper(pb->user, xs, &gp, NULL), 0);
        fd_point(xs, x, -t, v, n);
        ck_assert_int_eq(pb->upper(pb->user, xs, &gm, NULL), 0);
        agree("upper gradient", bt_dot(grad, v, n), (gp - gm) / (2 * t), rtol);
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

/* ---- denoising data ---- */

double *bt_images(size_t count, size_t rows, size_t cols,
                  unsigned long long seed)
{
    double *img = malloc(count * rows * cols * sizeof *img);
    ck_assert_ptr_nonnull(img);
    unsigned long long st = seed;
    for (size_t k = 0; k < count; k++)
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                int inside = r >= rows / 4 + k % 2 && r < 3 * rows / 4 &&
                             c >= cols / 3 && c < cols - k % 3;
                img[(k * rows + r) * cols + c] =
                    (inside ? 0.65 : 0.3) + 0.1 * test_uniform(&st);
            }
    return img;
}

void bt_near_clean(const otk_bilevel_instance *in, double *x,
                   unsigned long long *state)
{
    for (size_t i = 0; i < in->problem.n; i++)
        x[i] = in->clean[i] + 0.01 * (test_uniform(state) - 0.5);
}

void bt_check_denoise_instance(const otk_bilevel_instance *in, size_t images,
                               size_t rows, size_t cols, size_t p)
{
    const otk_bilevel_problem *pb = &in->problem;
    ck_assert_uint_eq(pb->n, images * rows * cols);
    ck_assert_uint_eq(pb->p, p);
    ck_assert_uint_eq(in->images, images);
    ck_assert_uint_eq(in->rows, rows);
    ck_assert_uint_eq(in->cols, cols);
    for (size_t i = 0; i < pb->n; i++)
        ck_assert_double_eq(in->x0[i], 0.0);
    ck_assert(isnan(in->f_star));
    ck_assert_ptr_null(in->theta_star);
    ck_assert_ptr_null(pb->ll_solve);
    ck_assert_double_eq(pb->L_g, 1.0 / (double)images);
    ck_assert_int_eq(pb->g_convex, 1);
}

/* ---- theta out of range ---- */

void bt_expect_callbacks_fail(const otk_bilevel_instance *in,
                              const double *theta)
{
    const otk_bilevel_problem *pb = &in->problem;
    const double *y = in->noisy;
    double *out = malloc((pb->n + pb->p) * sizeof *out), h, mu, L, nb, lb, la;
    ck_assert_ptr_nonnull(out);
    ck_assert_int_ne(pb->ll_grad(pb->user, theta, y, out), 0);
    ck_assert_int_ne(pb->ll_hvp(pb->user, theta, y, y, out), 0);
    ck_assert_int_ne(pb->cross_t(pb->user, theta, y, y, out), 0);
    ck_assert_int_ne(pb->ll_value(pb->user, theta, y, &h), 0);
    ck_assert_int_ne(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    ck_assert_int_ne(pb->cross_norm(pb->user, theta, y, &nb), 0);
    ck_assert_ptr_nonnull(pb->lipschitz);
    ck_assert_int_ne(pb->lipschitz(pb->user, theta, &lb, &la), 0);
    free(out);
}

void bt_expect_plain_denoising(const otk_bilevel_instance *in,
                               const double *theta, const char *what)
{
    const otk_bilevel_problem *pb = &in->problem;
    double *out = malloc(pb->n * sizeof *out), mu, L;
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(pb->ll_grad(pb->user, theta, in->noisy, out), 0);
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    assert_close(what, L, mu, 1e-15, 0);
    free(out);
}

/* ---- constants ---- */

void bt_rayleigh_random(const otk_bilevel_instance *in, const double *theta,
                        double even, double odd, unsigned long long *state,
                        double *mu, double *L)
{
    const otk_bilevel_problem *pb = &in->problem;
    const size_t n = pb->n;
    double *x = malloc(n * sizeof *x), *v = malloc(n * sizeof *v);
    double *av = malloc(n * sizeof *av);
    ck_assert(x && v && av);
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, mu, L), 0);
    ck_assert_double_gt(*mu, 0);
    ck_assert_double_ge(*L, *mu);
    for (int k = 0; k < 20; k++) {
        double scale = k % 2 ? odd : even;
        for (size_t i = 0; i < n; i++)
            x[i] = in->noisy[i] + scale * (test_uniform(state) - 0.5);
        bt_randomize(v, n, -1, 1, state);
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, av), 0);
        double rq = bt_dot(v, av, n) / bt_dot(v, v, n);
        ck_assert_msg(rq >= *mu * (1 - 1e-12) && rq <= *L * (1 + 1e-12),
                      "Rayleigh quotient %g outside [%g, %g]", rq, *mu, *L);
    }
    free(x);
    free(v);
    free(av);
}

void bt_constant_attains_mu(const otk_bilevel_instance *in, const double *theta,
                            double mu, double rtol)
{
    const otk_bilevel_problem *pb = &in->problem;
    const size_t n = pb->n;
    double *v = malloc(n * sizeof *v), *av = malloc(n * sizeof *av);
    ck_assert(v && av);
    for (size_t i = 0; i < n; i++)
        v[i] = 1.0;
    ck_assert_int_eq(pb->ll_hvp(pb->user, theta, in->noisy, v, av), 0);
    assert_close("constant v attains mu", bt_dot(v, av, n) / bt_dot(v, v, n),
                 mu, rtol, 0);
    free(v);
    free(av);
}

double bt_power_hvp(const otk_bilevel_problem *pb, const double *theta,
                    const double *x, double *v, double *av, int iters)
{
    const size_t n = pb->n;
    double lmax = 0;
    for (int it = 0; it < iters; it++) {
        double nv = sqrt(bt_dot(v, v, n));
        for (size_t i = 0; i < n; i++)
            v[i] /= nv;
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, av), 0);
        lmax = bt_dot(v, av, n);
        memcpy(v, av, n * sizeof *v);
    }
    return lmax;
}

/* ||op(x) v - op(x2) v|| / scale for op = cross_t or ll_hvp (len entries
 * out), which have the same signature. */
static double op_quotient(int (*op)(void *, const double *, const double *,
                                    const double *, double *),
                          const otk_bilevel_problem *pb, const double *theta,
                          const double *x, const double *x2, const double *v,
                          size_t len, double scale)
{
    double *o1 = malloc(len * sizeof *o1), *o2 = malloc(len * sizeof *o2);
    ck_assert(o1 && o2);
    ck_assert_int_eq(op(pb->user, theta, x, v, o1), 0);
    ck_assert_int_eq(op(pb->user, theta, x2, v, o2), 0);
    double q = bt_dist(o1, o2, len) / scale;
    free(o1);
    free(o2);
    return q;
}

void bt_quotients(const otk_bilevel_problem *pb, const double *theta,
                  const double *x, const double *x2, const double *v,
                  double *qB, double *qA)
{
    const size_t n = pb->n;
    const double scale = bt_dist(x, x2, n) * sqrt(bt_dot(v, v, n));
    if (qB)
        *qB = op_quotient(pb->cross_t, pb, theta, x, x2, v, pb->p, scale);
    if (qA)
        *qA = op_quotient(pb->ll_hvp, pb, theta, x, x2, v, n, scale);
}

void bt_b_norms(const otk_bilevel_problem *pb, const double *theta,
                const double *x, double *fro, double *l2n)
{
    const size_t n = pb->n, p = pb->p;
    double *v = calloc(n, sizeof *v), *row = malloc(p * sizeof *row);
    double *G = calloc(p * p, sizeof *G), *e = malloc(p * sizeof *e);
    double *ge = malloc(p * sizeof *ge);
    ck_assert(v && row && G && e && ge);
    for (size_t i = 0; i < n; i++) {
        v[i] = 1;
        ck_assert_int_eq(pb->cross_t(pb->user, theta, x, v, row), 0);
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++)
                G[a * p + b] += row[a] * row[b];
        v[i] = 0;
    }
    double tr = 0, lmax = 0;
    for (size_t a = 0; a < p; a++) {
        tr += G[a * p + a];
        e[a] = 1;
    }
    for (int it = 0; it < 500; it++) {
        for (size_t a = 0; a < p; a++) {
            ge[a] = 0;
            for (size_t b = 0; b < p; b++)
                ge[a] += G[a * p + b] * e[b];
        }
        lmax = bt_dot(e, ge, p) / bt_dot(e, e, p);
        double ne = sqrt(bt_dot(ge, ge, p));
        for (size_t a = 0; a < p; a++)
            e[a] = ge[a] / ne;
    }
    *fro = sqrt(tr);
    *l2n = sqrt(lmax);
    free(v);
    free(row);
    free(G);
    free(e);
    free(ge);
}

/* ---- solves ---- */

otk_bilevel_settings bt_caps(size_t cap)
{
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.ll_max_iter = s.cg_max_iter = cap;
    return s;
}

void bt_expect_run(otk_status st, const otk_bilevel_info *info)
{
    const otk_outcome *o = &info->outcome;
    ck_assert_msg(
        st == OTK_MAX_ITER || st == OTK_CONVERGED || st == OTK_STALLED,
        "%s (%s)", otk_status_name(st), o->bad_argument ? o->bad_argument : "");
    ck_assert_int_eq(o->status, st);
    ck_assert_ptr_null(o->bad_argument);
    if (st == OTK_STALLED)
        ck_assert_ptr_nonnull(o->cause);
    ck_assert_uint_gt(info->accepted, 0);
}

/* ---- bad input ---- */

const double bt_bad_pixels[BT_BAD_PIXELS] = {NAN, INFINITY, -INFINITY, -0.01,
                                             1.01};

otk_bilevel_instance *bt_garbage(otk_bilevel_instance *in)
{
    memset(in, 0xab, sizeof *in);
    return in;
}

void bt_expect_failure(otk_status st, otk_status want, otk_bilevel_instance *in,
                       size_t k)
{
    ck_assert_msg(st == want, "case %zu: %s, expected %s", k,
                  otk_status_name(st), otk_status_name(want));
    ck_assert_ptr_null(in->data);
    ck_assert_ptr_null(in->theta0);
    ck_assert_ptr_null(in->x0);
    ck_assert_ptr_null(in->clean);
    otk_bilevel_instance_free(in); /* must be harmless */
}
