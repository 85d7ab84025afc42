/*
 * MAID and the fixed-accuracy baseline (otkit/bilevel.h): the adaptive
 * descent test and the certified backtracking line search, on the shared
 * pieces of run.c.
 */
#include "run.h"

#include "linalg/linalg.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Practical MAID with the quasi-Newton step: a round that fails on the
 * accuracy shrinks eps and delta at once to the size at which the
 * slack (their two loss errors, proportional to eps) would be
 * TIGHTEN_TARGET times the first trial's first-order decrease a z.d,
 * by nu_under at least and by TIGHTEN_MAX at most; halving one round at
 * a time cost TV-2D about 400 LL+CG in its start-up. */
#define TIGHTEN_TARGET 0.25
#define TIGHTEN_MAX 0.125

#define TRIAL_COST_FACTOR 4
#define TRIAL_COST_FLOOR 100

/* Backtracking trials in round j, saturating (a count of SIZE_MAX is
 * "no limit"). */
static size_t trials_in_round(const otk_bilevel_settings *s, size_t j)
{
    size_t base = s->method == OTK_BILEVEL_MAID ? s->max_backtrack : 5;
    return base > SIZE_MAX - j ? SIZE_MAX : base + j;
}

/* Practical MAID's quasi-Newton memory (L-BFGS with settings.qn_pairs
 * pairs): the direction is d = H z instead of z, H the inverse-Hessian
 * estimate from the last steps s = theta - theta_old and hypergradient
 * changes y = z - z_old. On TV-2D the loss falls along a narrow valley
 * that gradient steps cross instead of following (100 steps of 0.1-0.6
 * lowered it by 2e-4 each). */
typedef struct qn_memory {
    size_t p, pairs, count, head; /* slots; pairs held; the next slot */
    double *S, *Y, *rho;          /* pairs x p, pairs x p, pairs */
    double *theta_old, *z_old, *z, *alpha; /* p, p, p, pairs */
    int have_old; /* theta_old, z_old: the last accepted step's start */
    double move;  /* ||theta - theta_old|| of the last accepted step */
} qn_memory;

/* Safeguards of the quasi-Newton direction d = H z. The pairs come from
 * inexact hypergradients: where the loss is flat along a step (logistic
 * regression past its first steps), y = z - z_old is mostly the error of
 * the two z, s.y is tiny and H blows d up (bench section maid's logreg,
 * eps0 1e-3: after steps of length 1.2 to 20, d of length 7080 took theta
 * to +-1000, where exp over- and underflows and the lower level has no
 * constants; test default_maid_stays_finite_and_decreases). A step
 * longer than QN_TRUST times the last accepted one is shortened to that
 * length (the direction stays a descent direction), and a direction whose
 * angle with z has a cosine below QN_MIN_COS is replaced by z, as long
 * as the last accepted step (Zoutendijk's condition: the cosine bounded
 * away from 0 keeps the line search convergent). */
#define QN_TRUST 10
#define QN_MIN_COS 1e-2

/* Adds the pair from theta_old, z_old to theta, z when its curvature
 * s.y is positive. */
static void qn_update(qn_memory *qn, const double *theta, const double *z)
{
    size_t p = qn->p;
    double *sv = qn->S + qn->head * p, *yv = qn->Y + qn->head * p;
    double ss = 0, sy = 0, yy = 0;
    for (size_t j = 0; j < p; j++) {
        sv[j] = theta[j] - qn->theta_old[j];
        yv[j] = z[j] - qn->z_old[j];
        ss += sv[j] * sv[j];
        sy += sv[j] * yv[j];
        yy += yv[j] * yv[j];
    }
    if (!(sy > 1e-10 * sqrt(ss * yy)))
        return;
    qn->rho[qn->head] = 1 / sy;
    qn->head = (qn->head + 1) % qn->pairs;
    if (qn->count < qn->pairs)
        qn->count++;
}

/* d = H z by the two-loop recursion, H_0 = (s.y / y.y) I of the newest
 * pair. */
static void qn_direction(qn_memory *qn, const double *z, double *d)
{
    size_t p = qn->p, m = qn->count;
    memcpy(d, z, p * sizeof *d);
    for (size_t i = 0; i < m; i++) {
        size_t c = (qn->head + qn->pairs - 1 - i) % qn->pairs;
        qn->alpha[c] = qn->rho[c] * otk__dot(p, qn->S + c * p, d);
        for (size_t j = 0; j < p; j++)
            d[j] -= qn->alpha[c] * qn->Y[c * p + j];
    }
    size_t newest = (qn->head + qn->pairs - 1) % qn->pairs;
    const double *yn = qn->Y + newest * p;
    double gamma = 1 / (qn->rho[newest] * otk__dot(p, yn, yn));
    for (size_t j = 0; j < p; j++)
        d[j] *= gamma;
    for (size_t i = m; i-- > 0;) {
        size_t c = (qn->head + qn->pairs - 1 - i) % qn->pairs;
        double b = qn->rho[c] * otk__dot(p, qn->Y + c * p, d);
        for (size_t j = 0; j < p; j++)
            d[j] += (qn->alpha[c] - b) * qn->S[c * p + j];
    }
}

/* Zeroes the components of the direction d at which theta sits on its
 * bound and the step theta - a d would leave it (theta is clipped there,
 * so they do not move) and returns z . d over the rest, the step's
 * first-order decrease per unit a. */
static double clip_direction(size_t p, const double *theta, double bound,
                             const double *z, double *d)
{
    for (size_t t = 0; t < p; t++)
        if ((theta[t] <= -bound && d[t] > 0) || (theta[t] >= bound && d[t] < 0))
            d[t] = 0;
    return otk__dot(p, z, d);
}

/* Practical MAID's next backtracking trial after step a raised the loss
 * from g0 to g (or lowered it by less than a z2 / 2): the minimum of the
 * parabola through g0 with slope -z2 and through g at a, within
 * [a / 10, rho a]. */
static double interpolated_step(double a, double z2, double g0, double g,
                                double rho)
{
    double curv = g - g0 + a * z2; /* c a^2 of the parabola */
    double t = curv > 0 ? a * z2 / (2 * curv) : rho;
    return a * fmin(fmax(t, 0.1), rho);
}

/* The loop of otkb_maid_loop; qn: practical MAID's quasi-Newton memory,
 * else NULL. */
static otk_status maid_loop(otkb_run *run, double *theta, double *x,
                            otk_bilevel_info *info, qn_memory *qn)
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
                                       &row)) != OTK_CONVERGED) {
                /* quasi-Newton: no descent direction at the tightest
                 * accuracy eps_min allows, or at the tightest accuracy
                 * the caps allow (the accepted point stands) */
                if (qn && st == OTK_STALLED && k > 0)
                    goto floor;
                goto cut;
            }
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
            /* z2: the first-order decrease per unit step, z . d for the
             * direction d (z itself, or H z); dnorm = ||d|| */
            double z2 = row.grad_norm * row.grad_norm, dnorm = row.grad_norm;
            if (qn) {
                memcpy(qn->z, run->z, p * sizeof *run->z);
                if (j == 0 && qn->have_old)
                    qn_update(qn, theta, qn->z);
                /* the line search steps along run->z: d there */
                int newton = qn->count > 0;
                if (newton)
                    qn_direction(qn, qn->z, run->z);
                double slope =
                    clip_direction(p, theta, s->theta_bound, qn->z, run->z);
                dnorm = sqrt(otk__dot(p, run->z, run->z));
                if (newton && !(slope > QN_MIN_COS * dnorm * row.grad_norm)) {
                    /* not a descent direction, or too far from one */
                    newton = 0;
                    memcpy(run->z, qn->z, p * sizeof *run->z);
                    slope =
                        clip_direction(p, theta, s->theta_bound, qn->z, run->z);
                    dnorm = sqrt(otk__dot(p, run->z, run->z));
                    if (j == 0 && qn->move > 0 && dnorm > 0)
                        alpha = qn->move / dnorm;
                }
                double trust = QN_TRUST * qn->move;
                if (newton && qn->move > 0 && dnorm > trust) {
                    for (size_t t = 0; t < p; t++)
                        run->z[t] *= trust / dnorm;
                    slope *= trust / dnorm;
                    dnorm = trust;
                }
                z2 = slope;
                if (newton && j == 0)
                    alpha = 1; /* the quasi-Newton step */
            }
            size_t trials = trials_in_round(s, j);
            double a = alpha;
            int warm_trial = retry;
            retry = 0;
            /* the step of the lowest computed loss among this round's
             * trials that did not raise it: the next round starts there */
            double best_g = INFINITY, best_a = 0;
            /* the factor eps and delta shrink by when the round fails */
            double tighten = s->nu_under;
            double a_next = a;
            for (size_t i = 0; i < trials; i++, a = a_next) {
                a_next = a * s->rho_under;
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
                    double r = a * dnorm / step_move;
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
                    if (qn) {
                        memcpy(qn->theta_old, theta, p * sizeof *theta);
                        memcpy(qn->z_old, qn->z, p * sizeof *theta);
                        qn->have_old = 1;
                        double m2 = 0;
                        for (size_t t = 0; t < p; t++) {
                            double d = run->theta_trial[t] - theta[t];
                            m2 += d * d;
                        }
                        qn->move = sqrt(m2);
                    }
                    memcpy(theta, run->theta_trial, p * sizeof *theta);
                    if (practical && adaptive) {
                        for (size_t t = 0; t < n; t++)
                            run->x_step[t] = run->x_trial[t] - x[t];
                        step_move = a * dnorm;
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
                /* quasi-Newton: the next trial at the minimum of the
                 * parabola the trial gave */
                if (qn)
                    a_next = interpolated_step(a, z2, row.upper_loss, g_new,
                                               s->rho_under);
                if (g_new <= row.upper_loss && g_new < best_g) {
                    best_g = g_new;
                    best_a = a;
                }
                double slack = err + (row.upper_loss - lower);
                if (qn && i == 0)
                    tighten =
                        fmin(fmax(TIGHTEN_TARGET * a * z2 / slack, TIGHTEN_MAX),
                             s->nu_under);
                /* quasi-Newton: a rise smaller than the slack, at a step
                 * whose first-order decrease is below the slack too, is
                 * noise of the loose solves; no shorter step can be
                 * accepted at this accuracy, so the accuracy is
                 * tightened */
                if (qn && g_new > row.upper_loss && a * z2 < slack) {
                    alpha = best_a > 0 ? best_a : a;
                    retry = 1;
                    break;
                }
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
                /* quasi-Newton without a pair yet (the curvature along the
                 * steps so far was not positive): the step stays */
                if (!(qn && qn->count == 0))
                    alpha *= fast ? s->rho_fast : s->rho_over;
                if (adaptive) {
                    double relax = loose ? 1 / s->nu_under : s->nu_over;
                    eps *= relax;
                    delta *= relax;
                }
            } else if (adaptive) {
                if (eps <= s->eps_min && delta <= s->delta_min) {
                    run->failed = "eps_min";
                    goto floor;
                }
                eps = fmax(eps * tighten, s->eps_min);
                delta = fmax(delta * tighten, s->delta_min);
            }
            if (otkb_over_budget(run))
                break;
        }
        /* a failed iteration restarts the quasi-Newton memory (L-BFGS's
         * usual remedy: its pairs described another region; on a small
         * logistic regression with theta at its bounds the steps kept
         * failing without it) */
        if (qn && !row.accepted)
            qn->count = 0;
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

floor:
    /* No step or descent direction even at the accuracy floor (eps_min,
     * or for the quasi-Newton steps the accuracy a hypergradient's solves
     * can reach within their caps); the trace gets this iteration's row
     * too. Steepest descent rarely gets here before its step budget, the
     * quasi-Newton steps do once theta is stationary to the floor's
     * precision (||z|| ~ 1e-14 on the quadratic family, 1e-8 on a small
     * TV-2D): their normal end, reported as convergence. */
    row.iteration = info->iterations = k + 1;
    row.eps = eps;
    row.delta = delta;
    if (otkb_emit(run, &row, theta))
        return OTK_CANCELLED;
    return qn ? OTK_CONVERGED : OTK_STALLED;

cut:
    /* A solve ended by the budget still gets its row: the trace then ends
     * where the run's counters do. */
    if (st == OTK_MAX_ITER)
        otkb_close_trace(run, &row, k, eps, delta, theta, info);
    return st;
}

otk_status otkb_maid_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info)
{
    const otk_bilevel_settings *s = run->s;
    if (s->method != OTK_BILEVEL_MAID ||
        s->error_mode != OTK_BILEVEL_PRACTICAL || s->qn_pairs == 0)
        return maid_loop(run, theta, x, info, NULL);
    size_t p = run->pb->p, m = s->qn_pairs;
    qn_memory qn = {.p = p, .pairs = m};
    double *block = malloc(((2 * m + 3) * p + 2 * m) * sizeof *block);
    if (!block)
        return OTK_ERR_NO_MEMORY;
    qn.S = block;
    qn.Y = qn.S + m * p;
    qn.theta_old = qn.Y + m * p;
    qn.z_old = qn.theta_old + p;
    qn.z = qn.z_old + p;
    qn.rho = qn.z + p;
    qn.alpha = qn.rho + m;
    otk_status st = maid_loop(run, theta, x, info, &qn);
    free(block);
    return st;
}
