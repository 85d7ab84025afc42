/*
 * HOAG (Pedregosa, ICML 2016) as the baseline MAID is compared against:
 * a decreasing tolerance schedule fixed in advance (geometric, quadratic
 * or cubic) used for both the lower-level accuracy and the CG residual,
 * absolute stopping rules as in the MAID authors' port, and HOAG's
 * step-size rule.
 *
 * HOAG decides about a step only after solving at the new point; here the
 * decision is made right after that solve, which is the same sequence of
 * computations, so theta and x always hold an accepted point.
 */
#include "run.h"

#include "linalg/linalg.h"

#include <math.h>
#include <string.h>

/* HOAG's constants: the tolerance slack C and the rejection threshold. */
#define HOAG_C 0.25
#define HOAG_REJECT_RATIO 1.2
#define HOAG_EPS_FLOOR 1e-12

static double schedule(const otk_bilevel_settings *s, size_t k, double eps)
{
    double kk = (double)(k + 1);
    switch (s->method) {
    case OTK_BILEVEL_HOAG_GEOMETRIC: eps *= s->hoag_decrease; break;
    case OTK_BILEVEL_HOAG_QUADRATIC: eps = s->eps0 / (kk * kk); break;
    default: eps = s->eps0 / (kk * kk * kk); break;
    }
    return fmax(eps, HOAG_EPS_FLOOR);
}

otk_status otkb_hoag_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info)
{
    const otk_bilevel_problem *pb = run->pb;
    const otk_bilevel_settings *s = run->s;
    size_t n = pb->n, p = pb->p;
    double eps = s->eps0, L_lambda = 0;
    otk_bilevel_trace_row row = {0};
    double g, gnorm_g;
    otk_status st = otkb_start(run, theta, x, eps, eps, &row, &gnorm_g, info);
    if (st != OTK_CONVERGED)
        return st;
    g = row.upper_loss;

    size_t k;
    for (k = 0; k < s->max_iter; k++) {
        /* The hypergradient at theta, both tolerances eps. */
        if ((st = otkb_hypergradient(run, theta, eps, eps, x, run->z, &g,
                                     &gnorm_g)) != OTK_CONVERGED)
            goto cut;
        double zn = sqrt(otk__dot(p, run->z, run->z));
        row.grad_norm = info->grad_norm = zn;
        row.omega = otkb_omega(pb, theta, x, eps, eps, gnorm_g);
        if (s->grad_tol > 0 && zn <= s->grad_tol)
            return OTK_CONVERGED;
        if (k == 0) /* HOAG's first step length, 1 / L_lambda */
            L_lambda = 1 / otkb_first_step(zn, p);

        double alpha = 1 / L_lambda;
        double eps_old = eps;
        eps = schedule(s, k, eps);
        double g_new, gn_new;
        if ((st = otkb_try_step(run, theta, alpha, eps, x, &g_new, &gn_new)) !=
            OTK_CONVERGED)
            goto cut;
        double incr = 0;
        for (size_t t = 0; t < p; t++)
            incr += (run->theta_trial[t] - theta[t]) *
                    (run->theta_trial[t] - theta[t]);
        incr = sqrt(incr);

        row.backtracks = 1;
        row.accepted = 1;
        if (g_new <= g + HOAG_C * eps + eps_old * (HOAG_C + 1) * incr -
                         L_lambda * incr * incr) {
            L_lambda *= 0.95; /* a good step: try longer ones */
        } else if (g_new >= HOAG_REJECT_RATIO * g) {
            L_lambda *= 2; /* a bad step: reject and solve more accurately */
            eps = fmax(eps / 2, HOAG_EPS_FLOOR);
            row.accepted = 0;
        }
        if (row.accepted) {
            memcpy(theta, run->theta_trial, p * sizeof *theta);
            memcpy(x, run->x_trial, n * sizeof *x);
            g = g_new;
            gnorm_g = gn_new;
            row.step = alpha;
            info->accepted++;
        }
        row.iteration = k + 1;
        row.upper_loss = info->upper_loss = g;
        /* the bounds describe x, solved to eps only when it moved */
        double eps_x = row.accepted ? eps : eps_old;
        row.upper_bound = otkb_upper_bound(pb, g, gnorm_g, eps_x);
        row.lower_bound = otkb_lower_bound(pb, g, gnorm_g, eps_x);
        row.eps = row.delta = info->eps = info->delta = eps;
        info->iterations = k + 1;
        if (otkb_emit(run, &row, theta))
            return OTK_CANCELLED;
        if (otkb_over_budget(run))
            return OTK_MAX_ITER;
    }
    return OTK_MAX_ITER;

cut:
    if (st == OTK_MAX_ITER) /* the budget ended a solve: close the trace */
        otkb_close_trace(run, &row, k, eps, eps, theta, info);
    return st;
}
