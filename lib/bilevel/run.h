/*
 * One bilevel solve's state and the pieces every method uses (run.c):
 * certified lower-level solves, the inexact hypergradient, the omega
 * bound and the function-value bounds, the budget, trial steps and the
 * trace. The methods (maid.c, hoag.c) build on these; the public entry
 * points (solve.c) run the methods. No file here calls back up.
 */
#ifndef OTK_BILEVEL_RUN_H
#define OTK_BILEVEL_RUN_H

#include <otkit/bilevel.h>

#include "core/core.h"
#include "linalg/linalg.h"

typedef struct otkb_run {
    const otk_bilevel_problem *pb;
    const otk_bilevel_settings *s;
    otk__call *call;                     /* the public call: its clock */
    size_t ll_iterations, cg_iterations; /* cumulative */
    size_t trial_cap; /* > 0: a tighter cap of the next lower-level solve */
    /* ||grad_x h|| at the last committed lower solution (otkb_ll_solve;
     * NaN after the problem's own ll_solve, which reports none) and ||q||
     * of the last adjoint (otkb_hypergradient): practical mode's loss
     * error estimate (otkb_loss_error). */
    double ll_residual, q_norm;
    double solve_residual; /* the residual of the solve under way */
    /* n: grad_x h at the last committed solve's final check point y,
     * and the step s from y to the returned x (FISTA: 1/L; GD: 0) */
    double *res_grad, res_step, solve_step;
    /* > 0: CG also stops no later than at ||A q - grad g|| <= cg_rel_cap
     * ||grad g|| (practical MAID), so q is an adjoint, not its warm start,
     * even when delta exceeds ||grad g||. */
    double cg_rel_cap;
    /* What stopped the run: the cause of OTK_STALLED, or the callback of
     * OTK_ERR_NUMERICAL. */
    const char *failed;
    double *block;      /* the one allocation holding the arrays below */
    double *scratch;    /* 4 n: CG's or FISTA's scratch */
    double *q, *grad_g; /* n each: the adjoint and grad g at the last x */
    double *x_trial, *x_keep, *x_solve; /* n each */
    double
        *x_step; /* n: practical MAID, x's change at the last accepted step */
    double *z, *theta_trial, *theta_keep; /* p each */
    double *z_coarse; /* p: practical mode's looser hypergradient */
} otkb_run;

otk_status otkb_run_init(otkb_run *run, const otk_bilevel_problem *pb,
                         const otk_bilevel_settings *s, otk__call *call);
void otkb_run_free(otkb_run *run);

/* Solves the lower level at theta to accuracy eps in place (x: warm start
 * in; changed only when certified). OTK_STALLED when the cap is hit,
 * OTK_MAX_ITER when the budget is, OTK_ERR_NUMERICAL on a callback
 * error; run->failed names the cause. */
otk_status otkb_ll_solve(otkb_run *run, const double *theta, double eps,
                         double *x);
/* *g = g(x), run->grad_g = grad g(x), *grad_norm = its norm. */
otk_status otkb_upper(otkb_run *run, const double *x, double *g,
                      double *grad_norm);
/* Lower solve to eps, CG to delta, z = -B^T q (z: p entries); *g and
 * *grad_g_norm describe g at the new x. */
otk_status otkb_hypergradient(otkb_run *run, const double *theta, double eps,
                              double delta, double *x, double *z, double *g,
                              double *grad_g_norm);
double otkb_omega(const otk_bilevel_problem *pb, const double *theta,
                  const double *x, double eps, double delta,
                  double grad_g_norm);
double otkb_upper_bound(const otk_bilevel_problem *pb, double g,
                        double grad_norm, double eps);
double otkb_lower_bound(const otk_bilevel_problem *pb, double g,
                        double grad_norm, double eps);
/* Practical mode's estimate of |g(x) - f(theta)| for the last committed
 * lower solution x (run->grad_g: grad g at x): to first order x - xhat =
 * A^{-1} grad_x h(x), so g(x) - f = grad g . (x - xhat) = q . grad_x h(x)
 * with q = A^{-1} grad g, the last adjoint. The estimate is 3 |q . grad_x
 * h(x)| (a safety factor for q's own error), capped by the first-order
 * bound ||q|| ||grad_x h(x)||, itself never above the certified ||grad
 * g|| eps (||q|| <= ||grad g|| / mu, ||grad_x h|| <= mu eps). Without a
 * residual (the problem's own ll_solve) or an adjoint yet: the certified
 * half-width ||grad g|| eps + L_g eps^2 / 2. */
double otkb_loss_error(const otkb_run *run, double grad_norm, double eps);
/* HOAG's first step 1 / L_lambda, L_lambda = ||z_0|| / sqrt(p) (1 when
 * ||z_0|| <= 1e-3): the step that would move theta by sqrt(p), one unit
 * per hyperparameter on average. */
double otkb_first_step(double grad_norm, size_t p);
/* OTK_BILEVEL_LBFGS (lbfgs.c): L-BFGS on h(., theta) (ll_value and
 * ll_grad) from x until ||grad_x h|| <= tol, at most max_iter evaluations
 * of both after the check at the start (which, as in otk__scfista, costs
 * no iteration). x: warm start in, the last accepted point out; grad
 * (n): grad_x h there; residual: its norm. Not reached when the cap ends
 * it or a line search fails (rounding near the optimum), with x still
 * the best point found. */
otk__solve_result otkb_lbfgs(const otk_bilevel_problem *pb, const double *theta,
                             double tol, size_t max_iter, double *x,
                             double *grad);
/* Lower-level + CG iterations have reached settings.budget. */
int otkb_over_budget(const otkb_run *run);

/* A trial step: run->theta_trial = theta - alpha run->z, clipped to
 * theta_bound; run->x_trial = the lower solution there to accuracy eps
 * (warm-started from x, which may be run->x_trial itself); *g and
 * *grad_norm describe g at it. */
otk_status otkb_try_step(otkb_run *run, const double *theta, double alpha,
                         double eps, const double *x, double *g,
                         double *grad_norm);

/* The start of every method: a certified lower solution at theta (x in
 * place) to accuracy eps, g there (*grad_norm: ||grad g||), the trace's
 * row 0 in *row (delta as given) and info->upper_loss. OTK_CANCELLED
 * when the progress callback says so. */
otk_status otkb_start(otkb_run *run, const double *theta, double *x, double eps,
                      double delta, otk_bilevel_trace_row *row,
                      double *grad_norm, otk_bilevel_info *info);
/* Fills the cumulative counters, time and theta of row and calls the
 * progress callback; nonzero: cancel. */
int otkb_emit(otkb_run *run, otk_bilevel_trace_row *row, const double *theta);
/* The row of outer iteration k that the budget cut short, so that the
 * trace ends where the run's counters do. */
void otkb_close_trace(otkb_run *run, otk_bilevel_trace_row *row, size_t k,
                      double eps, double delta, const double *theta,
                      otk_bilevel_info *info);

/* The methods (on copies of the caller's theta and x): MAID and
 * the fixed-accuracy baseline (maid.c), HOAG with the settings' tolerance
 * schedule (hoag.c). */
otk_status otkb_maid_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info);
otk_status otkb_hoag_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info);

#endif /* OTK_BILEVEL_RUN_H */
