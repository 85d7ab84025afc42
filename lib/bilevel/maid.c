/*
 * MAID and the fixed-accuracy baseline (otkit/bilevel.h), and the shared
 * pieces every method uses: certified lower-level solves, the inexact
 * hypergradient, the omega bound and the trace.
 */
#include "bilevel_internal.h"

#include "../core/core.h"
#include "../linalg/linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SOLVE_CAP 2000

void otk_bilevel_default_settings(otk_bilevel_settings *s)
{
    memset(s, 0, sizeof *s);
    s->method = OTK_BILEVEL_MAID;
    s->eps0 = 1e-1;
    s->delta0 = 1e-1;
    s->alpha0 = 1e-2;
    s->rho_under = 0.5;
    s->rho_over = 10.0 / 9.0;
    s->nu_under = 0.5;
    s->nu_over = 1.05;
    s->eta = 1e-4;
    s->check_descent = 1;
    s->armijo_c = 1e-8;
    s->max_backtrack = 10;
    s->max_rounds = 3;
    s->max_refinements = 60;
    s->eps_min = 1e-14;
    s->delta_min = 1e-14;
    s->max_iter = 1000;
    s->budget = 1e6;
    s->grad_tol = 0;
    s->ll_max_iter = DEFAULT_SOLVE_CAP;
    s->cg_max_iter = DEFAULT_SOLVE_CAP;
    s->hoag_decrease = 0.9;
    s->theta_bound = 1000;
}

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

static otk_status ll_solve_into(otkb_run *run, const double *theta, double eps,
                                double *x);

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
 * normal end of a run) or its own cap (OTK_STALLED, named). */
static otk_status cap_reached(otkb_run *run, size_t cap, size_t own_cap,
                              const char *name)
{
    if (cap < own_cap)
        return OTK_MAX_ITER;
    run->failed = name;
    return OTK_STALLED;
}

/* Solves into a copy and commits only a certified result, so x is never
 * left as an uncertified iterate when a solve fails or is capped. */
otk_status otkb_ll_solve(otkb_run *run, const double *theta, double eps,
                         double *x)
{
    memcpy(run->x_solve, x, run->pb->n * sizeof *x);
    otk_status st = ll_solve_into(run, theta, eps, run->x_solve);
    if (st == OTK_CONVERGED)
        memcpy(x, run->x_solve, run->pb->n * sizeof *x);
    return st;
}

static otk_status ll_solve_into(otkb_run *run, const double *theta, double eps,
                                double *x)
{
    const otk_bilevel_problem *pb = run->pb;
    size_t its = 0;
    if (pb->ll_solve) {
        int rc = pb->ll_solve(pb->user, theta, eps, x, &its);
        run->ll_iterations += its;
        if (rc != 0) {
            run->failed = "ll_solve";
            return OTK_STALLED;
        }
        return OTK_CONVERGED;
    }
    double mu, L;
    if (pb->ll_constants(pb->user, theta, &mu, &L) != 0) {
        run->failed = "ll_constants";
        return OTK_ERR_NUMERICAL;
    }
    if (!(mu > 0) || !(L >= mu) || !isfinite(L)) {
        run->failed = "ll_constants";
        return OTK_ERR_NUMERICAL;
    }
    at_theta a = {pb, theta, NULL};
    size_t cap = solve_cap(run, run->ll_max_iter);
    otk__solve_result r =
        run->s->lower_solver == OTK_BILEVEL_GD
            ? otk__scgd(grad_at, &a, pb->n, mu, L, eps, cap, x, run->scratch)
            : otk__scfista(grad_at, &a, pb->n, mu, L, eps, cap, x,
                           run->scratch);
    run->ll_iterations += r.iterations;
    if (r.error) {
        run->failed = "ll_grad";
        return OTK_ERR_NUMERICAL;
    }
    if (!r.reached)
        return cap_reached(run, cap, run->ll_max_iter, "ll_max_iter");
    return OTK_CONVERGED;
}

otk_status otkb_upper(otkb_run *run, const double *x, double *g,
                      double *grad_norm)
{
    const otk_bilevel_problem *pb = run->pb;
    if (pb->upper(pb->user, x, g, run->grad_g) != 0 || !isfinite(*g)) {
        run->failed = "upper";
        return OTK_ERR_NUMERICAL;
    }
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
    /* q_0 = 0 as in the reference: a warm start from the previous q
     * would tie successive hypergradients together. */
    memset(run->q, 0, pb->n * sizeof *run->q);
    at_theta a = {pb, theta, x};
    size_t cap = solve_cap(run, run->cg_max_iter);
    otk__solve_result r = otk__cg(hvp_at, &a, pb->n, run->grad_g, run->q, delta,
                                  cap, run->scratch);
    run->cg_iterations += r.iterations;
    if (r.error) {
        run->failed = "ll_hvp";
        return OTK_ERR_NUMERICAL;
    }
    if (!r.reached)
        return cap_reached(run, cap, run->cg_max_iter, "cg_max_iter");
    if (pb->cross_t(pb->user, theta, x, run->q, z) != 0) {
        run->failed = "cross_t";
        return OTK_ERR_NUMERICAL;
    }
    for (size_t j = 0; j < pb->p; j++)
        z[j] = -z[j];
    if (otk__first_nonfinite(z, pb->p) < pb->p) {
        run->failed = "cross_t";
        return OTK_ERR_NUMERICAL;
    }
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

/* ---- run bookkeeping ---- */

otk_status otkb_run_init(otkb_run *run, const otk_bilevel_problem *pb,
                         const otk_bilevel_settings *s)
{
    memset(run, 0, sizeof *run);
    run->pb = pb;
    run->s = s;
    run->ll_max_iter = s->ll_max_iter ? s->ll_max_iter : DEFAULT_SOLVE_CAP;
    run->cg_max_iter = s->cg_max_iter ? s->cg_max_iter : DEFAULT_SOLVE_CAP;
    size_t n = pb->n, p = pb->p;
    run->block = malloc((9 * n + 3 * p) * sizeof(double));
    if (!run->block)
        return OTK_ERR_NO_MEMORY;
    run->scratch = run->block;        /* 4 n: CG's or FISTA's */
    run->q = run->block + 4 * n;      /* n */
    run->grad_g = run->block + 5 * n; /* n */
    run->x_trial = run->block + 6 * n;
    run->x_keep = run->block + 7 * n;
    run->x_solve = run->block + 8 * n;
    run->z = run->block + 9 * n;
    run->theta_trial = run->z + p;
    run->theta_keep = run->z + 2 * p;
    run->start = otk__now();
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

int otkb_emit(otkb_run *run, otk_bilevel_trace_row *row, const double *theta)
{
    row->ll_iterations = run->ll_iterations;
    row->cg_iterations = run->cg_iterations;
    row->time_s = otk__now() - run->start;
    if (!run->s->trace)
        return 0;
    return run->s->trace(run->s->trace_user, row, theta);
}

void otkb_clip(const otk_bilevel_settings *s, double *theta, size_t p)
{
    for (size_t j = 0; j < p; j++)
        theta[j] = fmin(fmax(theta[j], -s->theta_bound), s->theta_bound);
}

/* ---- validation ---- */

static otk_status check_problem(const otk_bilevel_problem *pb,
                                const otk_bilevel_settings *s,
                                otk_bilevel_info *info)
{
#define BAD(name)                                                              \
    do {                                                                       \
        info->bad_argument = name;                                             \
        return OTK_ERR_INVALID_ARGUMENT;                                       \
    } while (0)
    if (pb->n == 0)
        BAD("n");
    if (pb->p == 0)
        BAD("p");
    if (!pb->ll_grad)
        BAD("ll_grad");
    if (!pb->ll_hvp)
        BAD("ll_hvp");
    if (!pb->cross_t)
        BAD("cross_t");
    if (!pb->upper)
        BAD("upper");
    if (!pb->ll_constants)
        BAD("ll_constants");
    if (!(pb->L_g >= 0) || !isfinite(pb->L_g))
        BAD("L_g");
    if (!(pb->L_B >= 0) || !isfinite(pb->L_B))
        BAD("L_B");
    if (!(pb->L_Ainv >= 0) || !isfinite(pb->L_Ainv))
        BAD("L_Ainv");
    if (!s)
        return OTK_CONVERGED;
    if ((unsigned)s->method > OTK_BILEVEL_HOAG_CUBIC)
        BAD("method");
    if ((unsigned)s->lower_solver > OTK_BILEVEL_GD)
        BAD("lower_solver");
    if (!(s->eps0 > 0) || !isfinite(s->eps0))
        BAD("eps0");
    if (!(s->delta0 > 0) || !isfinite(s->delta0))
        BAD("delta0");
    if (!(s->alpha0 > 0) || !isfinite(s->alpha0))
        BAD("alpha0");
    if (!(s->rho_under > 0 && s->rho_under < 1))
        BAD("rho_under");
    if (!(s->rho_over >= 1) || !isfinite(s->rho_over))
        BAD("rho_over");
    if (!(s->nu_under > 0 && s->nu_under < 1))
        BAD("nu_under");
    if (!(s->nu_over >= 1) || !isfinite(s->nu_over))
        BAD("nu_over");
    if (!(s->eta > 0 && s->eta < 1))
        BAD("eta");
    if (!(s->armijo_c > 0 && s->armijo_c < s->eta))
        BAD("armijo_c");
    if (s->max_backtrack == 0)
        BAD("max_backtrack");
    if (s->max_rounds == 0)
        BAD("max_rounds");
    if (!(s->eps_min >= 0) || !(s->delta_min >= 0))
        BAD("eps_min");
    if (!(s->budget >= 0))
        BAD("budget");
    if (!(s->grad_tol >= 0))
        BAD("grad_tol");
    if (!(s->hoag_decrease > 0 && s->hoag_decrease < 1))
        BAD("hoag_decrease");
    if (!(s->theta_bound > 0))
        BAD("theta_bound");
    if (s->method == OTK_BILEVEL_MAID && s->check_descent && !pb->cross_norm)
        BAD("cross_norm");
    return OTK_CONVERGED;
#undef BAD
}

/* ---- MAID and the fixed-accuracy baseline ---- */

/* Algorithm 3.2: the hypergradient at theta, refining eps and delta until
 * the descent test omega <= (1 - eta) ||z|| holds (MAID only). On return
 * x is the lower solution at accuracy *eps and row holds g, omega, ||z||. */
static otk_status inexact_gradient(otkb_run *run, const double *theta,
                                   double *eps, double *delta, double *x,
                                   double *gnorm_g, otk_bilevel_trace_row *row)
{
    const otk_bilevel_problem *pb = run->pb;
    const otk_bilevel_settings *s = run->s;
    int test = s->method == OTK_BILEVEL_MAID && s->check_descent;
    for (size_t r = 0;; r++) {
        otk_status st = otkb_hypergradient(run, theta, *eps, *delta, x, run->z,
                                           &row->upper_loss, gnorm_g);
        if (st != OTK_CONVERGED)
            return st;
        row->grad_norm = sqrt(otk__dot(pb->p, run->z, run->z));
        row->omega = otkb_omega(pb, theta, x, *eps, *delta, *gnorm_g);
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

static otk_status maid_loop(otkb_run *run, double *theta, double *x,
                            otk_bilevel_info *info)
{
    const otk_bilevel_problem *pb = run->pb;
    const otk_bilevel_settings *s = run->s;
    size_t n = pb->n, p = pb->p;
    int adaptive = s->method == OTK_BILEVEL_MAID;
    double eps = s->eps0, delta = s->delta0, alpha = s->alpha0;
    otk_bilevel_trace_row row = {0};
    double gnorm_g = 0;
    otk_status st;

    /* Start from a certified lower solution, so the first comparison is
     * between bounds, not against an unsolved guess. */
    if ((st = otkb_ll_solve(run, theta, eps, x)) != OTK_CONVERGED)
        return st;
    if ((st = otkb_upper(run, x, &row.upper_loss, &gnorm_g)) != OTK_CONVERGED)
        return st;
    row.upper_bound = otkb_upper_bound(pb, row.upper_loss, gnorm_g, eps);
    row.lower_bound = otkb_lower_bound(pb, row.upper_loss, gnorm_g, eps);
    row.eps = eps;
    row.delta = delta;
    row.step = NAN;
    row.omega = NAN;
    row.grad_norm = NAN;
    info->upper_loss = row.upper_loss;
    if (otkb_emit(run, &row, theta))
        return OTK_CANCELLED;

    size_t k;
    for (k = 0; k < s->max_iter; k++) {
        row.backtracks = 0;
        row.accepted = 0;
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
            double lower = otkb_lower_bound(pb, row.upper_loss, gnorm_g, eps);
            double z2 = row.grad_norm * row.grad_norm;
            size_t trials = (adaptive ? s->max_backtrack : 5) + j;
            double a = alpha;
            for (size_t i = 0; i < trials; i++, a *= s->rho_under) {
                for (size_t t = 0; t < p; t++)
                    run->theta_trial[t] = theta[t] - a * run->z[t];
                otkb_clip(s, run->theta_trial, p);
                memcpy(run->x_trial, x, n * sizeof *x);
                row.backtracks++;
                st = otkb_ll_solve(run, run->theta_trial, eps, run->x_trial);
                if (st != OTK_CONVERGED)
                    goto cut;
                double g_new, gn_new;
                if ((st = otkb_upper(run, run->x_trial, &g_new, &gn_new)) !=
                    OTK_CONVERGED)
                    goto cut;
                double upper = otkb_upper_bound(pb, g_new, gn_new, eps);
                if (upper - lower <= -s->armijo_c * a * z2) {
                    memcpy(theta, run->theta_trial, p * sizeof *theta);
                    memcpy(x, run->x_trial, n * sizeof *x);
                    row.upper_loss = g_new;
                    row.upper_bound = upper;
                    row.lower_bound = otkb_lower_bound(pb, g_new, gn_new, eps);
                    gnorm_g = gn_new;
                    alpha = a;
                    row.accepted = 1;
                    break;
                }
                if (otkb_over_budget(run))
                    break;
            }
            if (row.accepted) {
                row.step = alpha;
                info->accepted++;
                info->upper_loss = row.upper_loss;
                alpha *= s->rho_over;
                if (adaptive) {
                    eps *= s->nu_over;
                    delta *= s->nu_over;
                }
            } else if (adaptive) {
                if (eps <= s->eps_min && delta <= s->delta_min) {
                    run->failed = "eps_min";
                    info->iterations = k + 1;
                    return OTK_STALLED;
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
        row.eps = row.accepted && adaptive ? eps / s->nu_over : eps;
        row.delta = row.accepted && adaptive ? delta / s->nu_over : delta;
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
    if (st == OTK_MAX_ITER) {
        row.iteration = k + 1;
        row.accepted = 0;
        row.eps = eps;
        row.delta = delta;
        info->iterations = k + 1;
        otkb_emit(run, &row, theta);
    }
    return st;
}

otk_status otk_bilevel_solve(const otk_bilevel_problem *problem,
                             const otk_bilevel_settings *settings,
                             double *theta, double *x, otk_bilevel_info *info)
{
    otk_bilevel_info scratch_info;
    if (!info)
        info = &scratch_info;
    memset(info, 0, sizeof *info);
    info->upper_loss = NAN;
    info->grad_norm = NAN;
    double t0 = otk__now();
    otk_bilevel_settings defaults;
    if (!settings) {
        otk_bilevel_default_settings(&defaults);
        settings = &defaults;
    }
    if (!problem || !theta || !x) {
        info->bad_argument = !problem ? "problem" : !theta ? "theta" : "x";
        return info->status = OTK_ERR_INVALID_ARGUMENT;
    }
    otk_status st = check_problem(problem, settings, info);
    if (st != OTK_CONVERGED)
        return info->status = st;
    if (otk__first_nonfinite(theta, problem->p) < problem->p) {
        info->bad_argument = "theta";
        return info->status = OTK_ERR_INVALID_INPUT;
    }
    if (otk__first_nonfinite(x, problem->n) < problem->n) {
        info->bad_argument = "x";
        return info->status = OTK_ERR_INVALID_INPUT;
    }
    info->eps = settings->eps0;
    info->delta = settings->delta0;

    otkb_run run;
    if (otkb_run_init(&run, problem, settings) != OTK_CONVERGED)
        return info->status = OTK_ERR_NO_MEMORY;
    /* Every method works on copies and commits only accepted points, so
     * theta and x hold the last accepted point whatever happens. */
    memcpy(run.theta_keep, theta, problem->p * sizeof *theta);
    memcpy(run.x_keep, x, problem->n * sizeof *x);
    if (settings->method == OTK_BILEVEL_MAID ||
        settings->method == OTK_BILEVEL_FIXED)
        st = maid_loop(&run, run.theta_keep, run.x_keep, info);
    else
        st = otkb_hoag_loop(&run, run.theta_keep, run.x_keep, info);
    if (st >= 0 || st == OTK_ERR_NUMERICAL) {
        memcpy(theta, run.theta_keep, problem->p * sizeof *theta);
        memcpy(x, run.x_keep, problem->n * sizeof *x);
    }
    if (st < 0 || st == OTK_STALLED)
        info->bad_argument = run.failed;
    info->ll_iterations = run.ll_iterations;
    info->cg_iterations = run.cg_iterations;
    info->time_s = otk__now() - t0;
    otkb_run_free(&run);
    return info->status = st;
}

/* ---- public building blocks ---- */

otk_status otk_bilevel_hypergradient(const otk_bilevel_problem *problem,
                                     const double *theta, double eps,
                                     double delta, size_t ll_max_iter,
                                     size_t cg_max_iter, double *x, double *q,
                                     double *z, size_t *ll_iterations,
                                     size_t *cg_iterations)
{
    otk_bilevel_info info;
    if (!problem || !theta || !x || !z || !(eps > 0) || !(delta > 0))
        return OTK_ERR_INVALID_ARGUMENT;
    if (check_problem(problem, NULL, &info) != OTK_CONVERGED)
        return OTK_ERR_INVALID_ARGUMENT;
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.ll_max_iter = ll_max_iter;
    s.cg_max_iter = cg_max_iter;
    s.budget = 0;
    otkb_run run;
    if (otkb_run_init(&run, problem, &s) != OTK_CONVERGED)
        return OTK_ERR_NO_MEMORY;
    double g, gn;
    otk_status st = otkb_hypergradient(&run, theta, eps, delta, x, z, &g, &gn);
    if (q)
        memcpy(q, run.q, problem->n * sizeof *q);
    if (ll_iterations)
        *ll_iterations += run.ll_iterations;
    if (cg_iterations)
        *cg_iterations += run.cg_iterations;
    otkb_run_free(&run);
    return st;
}

double otk_bilevel_omega(const otk_bilevel_problem *problem,
                         const double *theta, const double *x, double eps,
                         double delta)
{
    if (!problem || !problem->upper || !theta || !x)
        return NAN;
    double *grad = malloc(problem->n * sizeof *grad), g;
    if (!grad)
        return NAN;
    double omega = NAN;
    if (problem->upper(problem->user, x, &g, grad) == 0) {
        double gn = sqrt(otk__dot(problem->n, grad, grad));
        omega = otkb_omega(problem, theta, x, eps, delta, gn);
    }
    free(grad);
    return omega;
}
