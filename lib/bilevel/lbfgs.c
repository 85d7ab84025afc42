/*
 * The L-BFGS lower-level solver (OTK_BILEVEL_LBFGS, run.h): liblbfgs on
 * h(., theta) with the bilevel module's stop ||grad_x h|| <= tol and its
 * iteration cap counted in evaluations of h and grad_x h.
 */
#include "run.h"

#include "linalg/linalg.h"

#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct lbfgs_run {
    const otk_bilevel_problem *pb;
    const double *theta;
    double tol;
    size_t cap, evaluations;
    double h0;           /* h at the start, for liblbfgs's first call */
    int first;           /* liblbfgs's first call is at the start: known */
    int error;           /* a callback's nonzero return */
    double *grad, gnorm; /* grad_x h at the last accepted point */
} lbfgs_run;

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x,
                                lbfgsfloatval_t *g, const int n,
                                const lbfgsfloatval_t step)
{
    (void)step;
    lbfgs_run *r = instance;
    if (r->first) {
        r->first = 0;
        memcpy(g, r->grad, (size_t)n * sizeof *g);
        return r->h0;
    }
    /* Past the cap (or after an error) every trial is refused: the line
     * search fails without calling back, and liblbfgs returns its last
     * accepted point. */
    if (r->error || r->evaluations >= r->cap)
        return INFINITY;
    r->evaluations++;
    double h;
    /* a trial so far out that h overflows is a failed trial, not an
     * error; a real error shows in the gradient */
    if (r->pb->ll_value(r->pb->user, r->theta, x, &h) != 0 || !isfinite(h))
        return INFINITY;
    if ((r->error = r->pb->ll_grad(r->pb->user, r->theta, x, g)) != 0)
        return INFINITY;
    return h;
}

static int progress(void *instance, const lbfgsfloatval_t *x,
                    const lbfgsfloatval_t *g, const lbfgsfloatval_t fx,
                    const lbfgsfloatval_t xnorm, const lbfgsfloatval_t gnorm,
                    const lbfgsfloatval_t step, int n, int k, int ls)
{
    (void)x;
    (void)fx;
    (void)xnorm;
    (void)step;
    (void)k;
    (void)ls;
    lbfgs_run *r = instance;
    memcpy(r->grad, g, (size_t)n * sizeof *g);
    r->gnorm = gnorm;
    return gnorm <= r->tol; /* nonzero stops liblbfgs at this x */
}

otk__solve_result otkb_lbfgs(const otk_bilevel_problem *pb, const double *theta,
                             double tol, size_t max_iter, double *x,
                             double *grad)
{
    otk__solve_result res = {0, INFINITY, 0, 0};
    lbfgs_run r = {pb, theta, tol, max_iter, 0, 0, 1, 0, grad, 0};
    if ((res.error = pb->ll_grad(pb->user, theta, x, grad)) != 0)
        return res;
    r.gnorm = sqrt(otk__dot(pb->n, grad, grad));
    if (!isfinite(r.gnorm))
        return res;
    if (r.gnorm > tol && max_iter > 0 && pb->n <= (size_t)INT_MAX) {
        if ((res.error = pb->ll_value(pb->user, theta, x, &r.h0)) != 0)
            return res;
        lbfgs_parameter_t param;
        lbfgs_parameter_init(&param);
        param.epsilon = 0; /* our own test, in progress */
        param.max_iterations = 0;
        /* backtracking to the Wolfe conditions: as robust as More-Thuente
         * here and as cheap (logistic regression, bench section maid) */
        param.linesearch = LBFGS_LINESEARCH_BACKTRACKING_WOLFE;
        lbfgsfloatval_t fx;
        /* x stays at the last accepted point whatever stops liblbfgs */
        (void)lbfgs((int)pb->n, x, &fx, evaluate, progress, &r, &param);
        res.error = r.error;
    }
    res.iterations = r.evaluations;
    res.residual = r.gnorm;
    res.reached = !res.error && r.gnorm <= tol;
    return res;
}
