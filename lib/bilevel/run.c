/*
 * The pieces every bilevel method uses (run.h): certified lower-level
 * solves, the inexact hypergradient, the omega bound, the function-value
 * bounds, the budget, trial steps and the trace.
 */
#include "run.h"

#include "linalg/linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- certified lower-level solve and inexact hypergradient ---- */

typedef struct at_theta {
    const otk_bilevel_problem *pb;
    const double *theta;
    const double *x; /* for the Hessian-vector product */
} at_theta;

static int grad_at(void *user, const double *x, double *grad)
{
    const at_theta *a = user;
    return a->pb->ll_grad(a->pb->user, a->theta, x, grad);
}

static int hvp_at(void *user, const double *v, double *out)
{
    const at_theta *a = user;
    return a->pb->ll_hvp(a->pb->user, a->theta, a->x, v, out);
}

/* A solve may use at most its cap and what is left of the budget, so the
 * budget is not overshot by up to one whole solve. */
static size_t solve_cap(const otkb_run *run, size_t cap)
{
    double budget = run->s->budget;
    if (budget > 0) {
        double left =
            budget - (double)(run->ll_iterations + run->cg_iterations);
        if (left < (double)cap)
            cap = left > 0 ? (size_t)left : 0;
    }
    return cap;
}

/* A solve that stopped unreached: the budget ended it (OTK_MAX_ITER, the
 * normal end of a run: its cap was what was left of the budget, and it is
 * used up) or anything else did, its own cap or a stop short of any cap
 * (CG's recurrence met delta but the recomputed residual did not; an
 * indefinite Hessian): OTK_STALLED, named. */
static otk_status cap_reached(otkb_run *run, size_t cap, size_t own_cap,
                              const char *name)
{
    if (cap < own_cap && otkb_over_budget(run))
        return OTK_MAX_ITER;
    run->failed = name;
    return OTK_STALLED;
}

static otk_status numerical(otkb_run *run, const char *callback)
{
    run->failed = callback;
    return OTK_ERR_NUMERICAL;
}

static otk_status ll_solve_into(otkb_run *run, const double *theta, double eps,
                                double *x)
{
    const otk_bilevel_problem *pb = run->pb;
    size_t its = 0;
    if (pb->ll_solve) {
        int rc = pb->ll_solve(pb->user, theta, eps, x, &its);
        run->ll_iterations += its;
        run->solve_residual = NAN;
        if (rc != 0) {
            run->failed = "ll_solve";
            return OTK_STALLED;
        }
        return OTK_CONVERGED;
    }
    double mu, L;
    if (pb->ll_constants(pb->user, theta, &mu, &L) != 0 || !(mu > 0) ||
        !(L >= mu) || !isfinite(L))
        return numerical(run, "ll_constants");
    at_theta a = {pb, theta, NULL};
    size_t own = run->s->ll_max_iter;
    if (run->trial_cap > 0 && run->trial_cap < own)
        own = run->trial_cap;
    size_t cap = solve_cap(run, own);
    /* practical mode: ||grad h|| <= max(mu, floor) eps, i.e. the
     * certificate's eps scaled up where mu is below the floor */
    if (run->s->error_mode == OTK_BILEVEL_PRACTICAL && mu < run->s->ll_mu_floor)
        eps *= run->s->ll_mu_floor / mu;
    otk_bilevel_lower_solver solver = run->s->lower_solver;
    if (solver == OTK_BILEVEL_AUTO)
        solver = mu < run->s->ll_mu_floor && pb->ll_value ? OTK_BILEVEL_LBFGS
                                                          : OTK_BILEVEL_FISTA;
    otk__solve_result r = {0, INFINITY, 0, 0};
    run->solve_step = solver == OTK_BILEVEL_FISTA ? 1 / L : 0;
    if (solver == OTK_BILEVEL_GD)
        r = otk__scgd(grad_at, &a, pb->n, mu, L, eps, cap, x, run->scratch);
    else if (solver == OTK_BILEVEL_LBFGS) {
        /* its last gradient where FISTA leaves its own */
        r = otkb_lbfgs(pb, theta, mu * eps, cap, x, run->scratch + 2 * pb->n);
        run->ll_iterations += r.iterations;
        if (!r.reached && !r.error && r.iterations < cap) {
            /* a line search that failed short of the stop (rounding):
             * FISTA, which needs no function values, does the rest */
            run->solve_step = 1 / L;
            r = otk__scfista(grad_at, &a, pb->n, mu, L, eps, cap - r.iterations,
                             x, run->scratch);
        } else
            r.iterations = 0; /* counted */
    }
    if (solver == OTK_BILEVEL_FISTA)
        r = otk__scfista(grad_at, &a, pb->n, mu, L, eps, cap, x, run->scratch);
    run->ll_iterations += r.iterations;
    run->solve_residual = r.residual;
    if (r.error)
        return numerical(run, "ll_grad");
    if (!r.reached)
        return cap_reached(run, cap, own, "ll_max_iter");
    return OTK_CONVERGED;
}

/* Solves into a copy and commits only a certified result, so x is never
 * left as an uncertified iterate when a solve fails or is capped. */
otk_status otkb_ll_solve(otkb_run *run, const double *theta, double eps,
                         double *x)
{
    memcpy(run->x_solve, x, run->pb->n * sizeof *x);
    otk_status st = ll_solve_into(run, theta, eps, run->x_solve);
    if (st == OTK_CONVERGED) {
        memcpy(x, run->x_solve, run->pb->n * sizeof *x);
        run->ll_residual = run->solve_residual;
        if (!run->pb->ll_solve) {
            /* the solvers leave their last gradient in the scratch */
            const double *gr = run->s->lower_solver == OTK_BILEVEL_GD
                                   ? run->scratch
                                   : run->scratch + 2 * run->pb->n;
            memcpy(run->res_grad, gr, run->pb->n * sizeof *gr);
            run->res_step = run->solve_step;
        }
    }
    return st;
}

otk_status otkb_upper(otkb_run *run, const double *x, double *g,
                      double *grad_norm)
{
    const otk_bilevel_problem *pb = run->pb;
    if (pb->upper(pb->user, x, g, run->grad_g) != 0 || !isfinite(*g))
        return numerical(run, "upper");
    *grad_norm = sqrt(otk__dot(pb->n, run->grad_g, run->grad_g));
    return OTK_CONVERGED;
}

otk_status otkb_hypergradient(otkb_run *run, const double *theta, double eps,
                              double delta, double *x, double *z, double *g,
                              double *grad_g_norm)
{
    const otk_bilevel_problem *pb = run->pb;
    otk_status st = otkb_ll_solve(run, theta, eps, x);
    if (st != OTK_CONVERGED)
        return st;
    if ((st = otkb_upper(run, x, g, grad_g_norm)) != OTK_CONVERGED)
        return st;
    /* The adjoint changes little between outer iterations, so the last
     * q is a good start; q = 0 is the reference code's. */
    if (!run->s->cg_warm_start)
        memset(run->q, 0, pb->n * sizeof *run->q);
    at_theta a = {pb, theta, x};
    if (run->cg_rel_cap > 0)
        delta = fmin(delta, run->cg_rel_cap * *grad_g_norm);
    size_t cap = solve_cap(run, run->s->cg_max_iter);
    otk__solve_result r = otk__cg(hvp_at, &a, pb->n, run->grad_g, run->q, delta,
                                  cap, run->scratch);
    run->cg_iterations += r.iterations;
    if (r.error)
        return numerical(run, "ll_hvp");
    if (!r.reached)
        return cap_reached(run, cap, run->s->cg_max_iter, "cg_max_iter");
    run->q_norm = sqrt(otk__dot(pb->n, run->q, run->q));
    if (pb->cross_t(pb->user, theta, x, run->q, z) != 0)
        return numerical(run, "cross_t");
    for (size_t j = 0; j < pb->p; j++)
        z[j] = -z[j];
    if (otk__first_nonfinite(z, pb->p) < pb->p)
        return numerical(run, "cross_t");
    return OTK_CONVERGED;
}

double otkb_omega(const otk_bilevel_problem *pb, const double *theta,
                  const double *x, double eps, double delta, double grad_g_norm)
{
    double mu, L, nb, L_B = pb->L_B, L_Ainv = pb->L_Ainv;
    if (!pb->cross_norm || pb->ll_constants(pb->user, theta, &mu, &L) != 0 ||
        pb->cross_norm(pb->user, theta, x, &nb) != 0 || !(mu > 0))
        return NAN;
    if (pb->lipschitz && pb->lipschitz(pb->user, theta, &L_B, &L_Ainv) != 0)
        return NAN;
    double c =
        pb->L_g * nb / mu + L_Ainv * grad_g_norm * nb + L_B * grad_g_norm / mu;
    return c * eps + nb / mu * delta + L_B * pb->L_g / mu * eps * eps;
}

/* The certified bounds of f(theta) from a lower solution of accuracy eps
 * (descent lemma; Remark 3.6 for convex g). */
double otkb_upper_bound(const otk_bilevel_problem *pb, double g,
                        double grad_norm, double eps)
{
    return g + grad_norm * eps + 0.5 * pb->L_g * eps * eps;
}

double otkb_lower_bound(const otk_bilevel_problem *pb, double g,
                        double grad_norm, double eps)
{
    return g - grad_norm * eps - (pb->g_convex ? 0 : 0.5 * pb->L_g * eps * eps);
}

/* The safety factor of the first-order loss error estimate (run.h): on
 * the conditioned quadratic family |q . grad_x h| measured 2 to 4 times
 * the true |g - f| at loose accuracies; with 1 accepted steps raised the
 * true f there (test_practical_true_decrease), with 3 none did. */
#define LOSS_ERROR_FACTOR 3

double otkb_loss_error(const otkb_run *run, double grad_norm, double eps)
{
    if (isfinite(run->ll_residual) && isfinite(run->q_norm)) {
        size_t n = run->pb->n;
        /* q . grad_x h(x) with grad_x h(x) = (I - s A) grad_x h(y) for
         * x = y - s grad_x h(y), the solver's last step, and A q ~ grad g */
        double c = otk__dot(n, run->q, run->res_grad) -
                   run->res_step * otk__dot(n, run->grad_g, run->res_grad);
        return fmin(LOSS_ERROR_FACTOR * fabs(c),
                    run->q_norm * run->ll_residual);
    }
    return otkb_upper_bound(run->pb, 0, grad_norm, eps);
}

double otkb_first_step(double grad_norm, size_t p)
{
    return grad_norm > 1e-3 ? sqrt((double)p) / grad_norm : 1;
}

/* ---- run bookkeeping ---- */

otk_status otkb_run_init(otkb_run *run, const otk_bilevel_problem *pb,
                         const otk_bilevel_settings *s, otk__call *call)
{
    memset(run, 0, sizeof *run);
    run->pb = pb;
    run->s = s;
    run->call = call;
    size_t n = pb->n, p = pb->p;
    run->block = malloc((11 * n + 4 * p) * sizeof(double));
    if (!run->block)
        return OTK_ERR_NO_MEMORY;
    run->scratch = run->block;        /* 4 n: CG's or FISTA's */
    run->q = run->block + 4 * n;      /* n */
    run->grad_g = run->block + 5 * n; /* n */
    run->x_trial = run->block + 6 * n;
    run->x_keep = run->block + 7 * n;
    run->x_solve = run->block + 8 * n;
    run->res_grad = run->block + 9 * n;
    run->x_step = run->block + 10 * n;
    run->z = run->block + 11 * n;
    run->theta_trial = run->z + p;
    run->theta_keep = run->z + 2 * p;
    run->z_coarse = run->z + 3 * p;
    memset(run->q, 0, n * sizeof *run->q); /* the first CG starts at 0 */
    run->ll_residual = run->q_norm = NAN;  /* none yet */
    return OTK_CONVERGED;
}

void otkb_run_free(otkb_run *run)
{
    free(run->block);
    run->block = NULL;
}

int otkb_over_budget(const otkb_run *run)
{
    return run->s->budget > 0 &&
           (double)(run->ll_iterations + run->cg_iterations) >= run->s->budget;
}

otk_status otkb_try_step(otkb_run *run, const double *theta, double alpha,
                         double eps, const double *x, double *g,
                         double *grad_norm)
{
    const size_t p = run->pb->p;
    const double bound = run->s->theta_bound;
    for (size_t t = 0; t < p; t++)
        run->theta_trial[t] =
            fmin(fmax(theta[t] - alpha * run->z[t], -bound), bound);
    if (x != run->x_trial) /* x_trial itself: warm from the last trial */
        memcpy(run->x_trial, x, run->pb->n * sizeof *x);
    otk_status st = otkb_ll_solve(run, run->theta_trial, eps, run->x_trial);
    if (st != OTK_CONVERGED)
        return st;
    return otkb_upper(run, run->x_trial, g, grad_norm);
}

/* ---- the trace ---- */

otk_status otkb_start(otkb_run *run, const double *theta, double *x, double eps,
                      double delta, otk_bilevel_trace_row *row,
                      double *grad_norm, otk_bilevel_info *info)
{
    /* Start from a certified lower solution, so the first comparison is
     * between bounds, not against an unsolved guess. */
    otk_status st = otkb_ll_solve(run, theta, eps, x);
    if (st != OTK_CONVERGED)
        return st;
    if ((st = otkb_upper(run, x, &row->upper_loss, grad_norm)) != OTK_CONVERGED)
        return st;
    row->upper_bound =
        otkb_upper_bound(run->pb, row->upper_loss, *grad_norm, eps);
    row->lower_bound =
        otkb_lower_bound(run->pb, row->upper_loss, *grad_norm, eps);
    row->eps = eps;
    row->delta = delta;
    row->step = row->omega = row->grad_norm = NAN;
    info->upper_loss = row->upper_loss;
    return otkb_emit(run, row, theta) ? OTK_CANCELLED : OTK_CONVERGED;
}

int otkb_emit(otkb_run *run, otk_bilevel_trace_row *row, const double *theta)
{
    row->ll_iterations = run->ll_iterations;
    row->cg_iterations = run->cg_iterations;
    row->time_s = otk__elapsed(run->call);
    row->theta = theta;
    if (!run->s->progress)
        return 0;
    otk_progress pr = {
        .solver = "bilevel",
        .iteration = row->iteration,
        .error = row->grad_norm,
        .reg = NAN,
        .objective = row->upper_loss,
        .elapsed_s = row->time_s,
        .detail = row,
    };
    return run->s->progress(run->s->progress_user, &pr);
}

void otkb_close_trace(otkb_run *run, otk_bilevel_trace_row *row, size_t k,
                      double eps, double delta, const double *theta,
                      otk_bilevel_info *info)
{
    row->iteration = k + 1;
    row->accepted = 0;
    row->eps = eps;
    row->delta = delta;
    info->iterations = k + 1;
    /* the run ends here anyway: a cancel changes nothing */
    (void)otkb_emit(run, row, theta);
}
