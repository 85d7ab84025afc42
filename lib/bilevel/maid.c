/*
 * MAID and the fixed-accuracy baseline (otkit/bilevel.h): the adaptive
 * descent test and the certified backtracking line search, on the shared
 * pieces of run.c.
 */
#include "run.h"

#include "linalg/linalg.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Practical mode's a-posteriori error estimate of z (at eps, delta) from
 * z_c (at eps/nu, delta/nu): if the error is proportional to the
 * accuracies, err(z_c) - err(z) ~ (1 - nu)/nu err(z) <= ||z_c - z||; the
 * factor 2 is the safety margin. */
static double practical_omega(const otkb_run *run)
{
    double nu = run->s->nu_under, d2 = 0;
    for (size_t j = 0; j < run->pb->p; j++) {
        double d = run->z_coarse[j] - run->z[j];
        d2 += d * d;
    }
    return 2 * nu / (1 - nu) * sqrt(d2);
}

/* One hypergradient at theta into run->z, with row's g, omega and ||z||.
 * Practical mode with the descent test: z_c first at eps/nu, delta/nu
 * (reused from the previous refinement when *have_coarse), then z
 * warm-started from it. When the last line search left x accurate to
 * both, the pair sees CG's error only. */
static otk_status one_gradient(otkb_run *run, const double *theta, double eps,
                               double delta, double *x, double *gnorm_g,
                               int *have_coarse, otk_bilevel_trace_row *row)
{
    const otk_bilevel_problem *pb = run->pb;
    const otk_bilevel_settings *s = run->s;
    int practical = s->error_mode == OTK_BILEVEL_PRACTICAL;
    int test = s->method == OTK_BILEVEL_MAID && s->check_descent;
    otk_status st;
    if (practical && test && !*have_coarse) {
        st = otkb_hypergradient(run, theta, eps / s->nu_under,
                                delta / s->nu_under, x, run->z_coarse,
                                &row->upper_loss, gnorm_g);
        if (st != OTK_CONVERGED)
            return st;
    }
    st = otkb_hypergradient(run, theta, eps, delta, x, run->z, &row->upper_loss,
                            gnorm_g);
    if (st != OTK_CONVERGED)
        return st;
    row->grad_norm = sqrt(otk__dot(pb->p, run->z, run->z));
    row->omega = practical && test
                     ? practical_omega(run)
                     : otkb_omega(pb, theta, x, eps, delta, *gnorm_g);
    /* a refinement after this one starts from this z */
    memcpy(run->z_coarse, run->z, pb->p * sizeof *run->z);
    *have_coarse = 1;
    return OTK_CONVERGED;
}

/* Algorithm 3.2: the hypergradient at theta, refining eps and delta until
 * the descent test omega <= (1 - eta) ||z|| holds (MAID only). On return
 * x is the lower solution at accuracy *eps and row holds g, omega, ||z||. */
static otk_status inexact_gradient(otkb_run *run, const double *theta,
                                   double *eps, double *delta, double *x,
                                   double *gnorm_g, otk_bilevel_trace_row *row)
{
    const otk_bilevel_settings *s = run->s;
    int test = s->method == OTK_BILEVEL_MAID && s->check_descent;
    int have_coarse = 0;
    for (size_t r = 0;; r++) {
        otk_status st = one_gradient(run, theta, *eps, *delta, x, gnorm_g,
                                     &have_coarse, row);
        if (st != OTK_CONVERGED)
            return st;
        if (!test)
            return OTK_CONVERGED;
        if (isnan(row->omega)) {
            run->failed = "cross_norm";
            return OTK_ERR_NUMERICAL;
        }
        if (row->omega <= (1 - s->eta) * row->grad_norm)
            return OTK_CONVERGED;
        if (r >= s->max_refinements ||
            (*eps <= s->eps_min && *delta <= s->delta_min)) {
            run->failed = "max_refinements";
            return OTK_STALLED;
        }
        *eps = fmax(*eps * s->nu_under, s->eps_min);
        *delta = fmax(*delta * s->nu_under, s->delta_min);
        if (otkb_over_budget(run))
            return OTK_MAX_ITER;
    }
}

/* Practical mode cuts a trial's lower-level solve at this many times the
 * last accepted trial's (at least the floor): the step went where the
 * lower level is much harder (logistic regression: tiny weights) and is
 * rejected like a step that raises the loss. */
/* Practical MAID's CG residual is at most this fraction of ||grad g||:
 * an absolute delta above ||grad g|| would accept the warm start (or 0)
 * as the adjoint, and both z of the error estimate would be that same
 * stale vector, estimating an error of 0. */
#define CG_REL_CAP 0.1

/* Practical MAID relaxes eps and delta by 1/nu_under instead of nu_over
 * after a step whose two loss errors sum to at most this fraction of the
 * loss decrease: a tight eps0 then loosens in a few steps, not hundreds. */
#define LOOSE_FRACTION 0.1

/* Practical MAID: a trial whose loss fell by less than the slack, although
 * the slack is below this fraction of the step's first-order decrease
 * a ||z||^2, is a step past the line's minimum (a decrease of that order was
 * there to certify): the step is shrunk, not the accuracy tightened. */
#define STEP_BLAME 0.5

#define TRIAL_COST_FACTOR 4
#define TRIAL_COST_FLOOR 100

/* Backtracking trials in round j, saturating (a count of SIZE_MAX is
 * "no limit"). */
static size_t trials_in_round(const otk_bilevel_settings *s, size_t j)
{
    size_t base = s->method == OTK_BILEVEL_MAID ? s->max_backtrack : 5;
    return base > SIZE_MAX - j ? SIZE_MAX : base + j;
}

otk_status otkb_maid_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info)
{
    const otk_bilevel_problem *pb = run->pb;
    const otk_bilevel_settings *s = run->s;
    size_t n = pb->n, p = pb->p;
    int adaptive = s->method == OTK_BILEVEL_MAID;
    /* The line search compares bounds of f: the certified ones, g -+
     * ||grad g|| eps, or in practical mode g -+ the estimate of each
     * solve's first-order loss error (otkb_loss_error), so a step is
     * accepted only when the loss falls by more than its own error. */
    int practical = s->error_mode == OTK_BILEVEL_PRACTICAL;
    if (practical && adaptive)
        run->cg_rel_cap = CG_REL_CAP;
    int fast = 1;         /* every line search so far took its first trial */
    size_t trial_ll = 0;  /* lower-level cost of the last accepted trial */
    double step_move = 0; /* a ||z|| of the last accepted step (x_step) */
    double step_eps = 0;  /* the accuracy x_step was measured at */
    double eps = s->eps0, delta = s->delta0, alpha = s->alpha0;
    otk_bilevel_trace_row row = {0};
    double gnorm_g = 0;
    otk_status st = otkb_start(run, theta, x, eps, delta, &row, &gnorm_g, info);
    if (st != OTK_CONVERGED)
        return st;
    /* the first trial is measured against the start's solve */
    trial_ll = run->ll_iterations > TRIAL_COST_FLOOR ? run->ll_iterations
                                                     : TRIAL_COST_FLOOR;

    size_t k;
    for (k = 0; k < s->max_iter; k++) {
        row.backtracks = 0;
        row.accepted = 0;
        int loose = 0, retry = 0; /* retry: the last round failed on the
                                   * accuracy at step alpha */
        for (size_t j = 0; j < s->max_rounds && !row.accepted; j++) {
            if ((st = inexact_gradient(run, theta, &eps, &delta, x, &gnorm_g,
                                       &row)) != OTK_CONVERGED)
                goto cut;
            info->grad_norm = row.grad_norm;
            info->upper_loss = row.upper_loss;
            info->eps = eps;
            info->delta = delta;
            if (s->grad_tol > 0 && row.grad_norm <= s->grad_tol)
                return OTK_CONVERGED;
            if (k == 0 && j == 0 && s->alpha0 == 0)
                alpha = otkb_first_step(row.grad_norm, p);
            double lower =
                practical ? row.upper_loss - otkb_loss_error(run, gnorm_g, eps)
                          : otkb_lower_bound(pb, row.upper_loss, gnorm_g, eps);
            double z2 = row.grad_norm * row.grad_norm;
            size_t trials = trials_in_round(s, j);
            double a = alpha;
            int warm_trial = retry;
            retry = 0;
            /* the step of the lowest computed loss among this round's
             * trials that did not raise it: the next round starts there */
            double best_g = INFINITY, best_a = 0;
            for (size_t i = 0; i < trials; i++, a *= s->rho_under) {
                row.backtracks++;
                double g_new, gn_new;
                size_t ll_before = run->ll_iterations;
                /* practical: a trial solve far dearer than the last
                 * accepted one is a step into a harder region; cut it */
                if (practical && trial_ll > 0)
                    run->trial_cap = TRIAL_COST_FACTOR * trial_ll;
                /* the round's first trial after one that failed on the
                 * accuracy at this step starts from that trial's x */
                const double *warm = i == 0 && warm_trial ? run->x_trial : x;
                if (warm == x && step_move > 0 && eps >= step_eps) {
                    /* x moves along with theta: start from x plus the
                     * last accepted step's change of x, scaled to this
                     * step's length; only while eps is not tighter than
                     * when that change was measured (its error is of the
                     * order of that eps) */
                    double r = a * row.grad_norm / step_move;
                    for (size_t t = 0; t < n; t++)
                        run->x_trial[t] = x[t] + r * run->x_step[t];
                    warm = run->x_trial;
                }
                st = otkb_try_step(run, theta, a, eps, warm, &g_new, &gn_new);
                run->trial_cap = 0;
                size_t cost = run->ll_iterations - ll_before;
                /* a trial point whose lower level cannot be solved within
                 * the cap is rejected like a trial that raises f */
                if (st == OTK_STALLED && run->failed &&
                    strcmp(run->failed, "ll_max_iter") == 0) {
                    run->failed = NULL;
                    continue;
                }
                if (st != OTK_CONVERGED)
                    goto cut;
                double err = practical ? otkb_loss_error(run, gn_new, eps)
                                       : otkb_upper_bound(pb, 0, gn_new, eps);
                if (g_new + err - lower <= -s->armijo_c * a * z2) {
                    memcpy(theta, run->theta_trial, p * sizeof *theta);
                    if (practical && adaptive) {
                        for (size_t t = 0; t < n; t++)
                            run->x_step[t] = run->x_trial[t] - x[t];
                        step_move = a * row.grad_norm;
                        step_eps = eps;
                    }
                    memcpy(x, run->x_trial, n * sizeof *x);
                    /* the losses' errors are far below the decrease:
                     * the accuracy is tighter than the step needs */
                    loose = practical && adaptive &&
                            err + (row.upper_loss - lower) <=
                                LOOSE_FRACTION * (row.upper_loss - g_new);
                    row.upper_loss = g_new;
                    row.upper_bound = g_new + err;
                    row.lower_bound =
                        practical ? g_new - err
                                  : otkb_lower_bound(pb, g_new, gn_new, eps);
                    gnorm_g = gn_new;
                    alpha = a;
                    trial_ll =
                        cost > TRIAL_COST_FLOOR ? cost : TRIAL_COST_FLOOR;
                    row.accepted = 1;
                    break;
                }
                /* The computed loss did not rise, but fell by less than
                 * the bounds' slack (or not at all: a short step leaves a
                 * loosely solved x where it is): a shorter step only
                 * shrinks the decrease while the slack stays, so the
                 * accuracy, not the step, is tightened, and the next round
                 * starts from the best step tried so far. In practical
                 * mode, when the slack is small against the step's
                 * first-order decrease a ||z||^2, the step went past the
                 * line's minimum and is shrunk instead (STEP_BLAME). A
                 * rise shrinks the step. */
                if (g_new <= row.upper_loss && g_new < best_g) {
                    best_g = g_new;
                    best_a = a;
                }
                double slack = err + (row.upper_loss - lower);
                if (adaptive && g_new <= row.upper_loss &&
                    !(practical && slack <= STEP_BLAME * a * z2)) {
                    alpha = best_a;
                    retry = 1;
                    break;
                }
                if (otkb_over_budget(run))
                    break;
            }
            if (!row.accepted && !retry && practical && adaptive &&
                best_a > 0) {
                alpha = best_a;
                retry = 1;
            }
            if (row.backtracks > 1)
                fast = 0; /* the step has found its scale */
            if (row.accepted) {
                row.step = alpha;
                info->accepted++;
                info->upper_loss = row.upper_loss;
                alpha *= fast ? s->rho_fast : s->rho_over;
                if (adaptive) {
                    double relax = loose ? 1 / s->nu_under : s->nu_over;
                    eps *= relax;
                    delta *= relax;
                }
            } else if (adaptive) {
                if (eps <= s->eps_min && delta <= s->delta_min) {
                    /* the trace gets this iteration's row too */
                    run->failed = "eps_min";
                    row.iteration = info->iterations = k + 1;
                    row.eps = eps;
                    row.delta = delta;
                    return otkb_emit(run, &row, theta) ? OTK_CANCELLED
                                                       : OTK_STALLED;
                }
                eps = fmax(eps * s->nu_under, s->eps_min);
                delta = fmax(delta * s->nu_under, s->delta_min);
            }
            if (otkb_over_budget(run))
                break;
        }
        /* With fixed accuracies a failed iteration would be repeated
         * identically forever: no step can be certified at eps0. */
        if (!row.accepted && !adaptive && !otkb_over_budget(run)) {
            row.iteration = k + 1;
            row.eps = eps;
            row.delta = delta;
            info->iterations = k + 1;
            run->failed = "fixed_accuracy";
            if (otkb_emit(run, &row, theta))
                return OTK_CANCELLED;
            return OTK_STALLED;
        }
        /* The row reports the accuracy the iteration's x was solved to;
         * the relaxed eps applies from the next iteration. */
        row.iteration = k + 1;
        double relaxed = loose ? 1 / s->nu_under : s->nu_over;
        row.eps = row.accepted && adaptive ? eps / relaxed : eps;
        row.delta = row.accepted && adaptive ? delta / relaxed : delta;
        info->iterations = k + 1;
        info->eps = eps;
        info->delta = delta;
        if (otkb_emit(run, &row, theta))
            return OTK_CANCELLED;
        if (otkb_over_budget(run))
            return OTK_MAX_ITER;
    }
    return OTK_MAX_ITER;

cut:
    /* A solve ended by the budget still gets its row: the trace then ends
     * where the run's counters do. */
    if (st == OTK_MAX_ITER)
        otkb_close_trace(run, &row, k, eps, delta, theta, info);
    return st;
}
