/*
 * The public entry points of the bilevel solvers (otkit/bilevel.h): the
 * checks of a problem, the outcome record, and the dispatch to the
 * methods (maid.c, hoag.c) over the shared run (run.c).
 */
#include "run.h"
#include "settings.h"

#include "linalg/linalg.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The problem's first missing or invalid field, or NULL. */
static const char *bad_problem_field(const otk_bilevel_problem *pb)
{
    if (pb->n == 0)
        return "n";
    if (pb->p == 0)
        return "p";
    if (!pb->ll_grad)
        return "ll_grad";
    if (!pb->ll_hvp)
        return "ll_hvp";
    if (!pb->cross_t)
        return "cross_t";
    if (!pb->upper)
        return "upper";
    if (!pb->ll_constants)
        return "ll_constants";
    if (!(pb->L_g >= 0) || !isfinite(pb->L_g))
        return "L_g";
    if (!(pb->L_B >= 0) || !isfinite(pb->L_B))
        return "L_B";
    if (!(pb->L_Ainv >= 0) || !isfinite(pb->L_Ainv))
        return "L_Ainv";
    return NULL;
}

/* An info record before any work: no iterations, numbers unknown. */
static void clear_info(otk_bilevel_info *info)
{
    info->iterations = info->accepted = 0;
    info->ll_iterations = info->cg_iterations = 0;
    info->upper_loss = info->grad_norm = info->eps = info->delta = NAN;
}

/* The preamble both entry points share: starts the call on info's
 * outcome, then checks the arguments, the problem, the settings (NULL:
 * the defaults, in *defaults) and the finiteness of the start. Fails the
 * call naming what is wrong, or returns 0 with *s set. */
static otk_status begin_call(otk__call *call, otk_bilevel_info *info,
                             const otk_bilevel_problem *pb,
                             const otk_bilevel_settings **s,
                             otk_bilevel_settings *defaults,
                             const double *theta, const double *x)
{
    *call = otk__begin(&info->outcome);
    clear_info(info);
    if (!pb || !theta || !x)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT,
                         !pb      ? "problem"
                         : !theta ? "theta"
                                  : "x",
                         SIZE_MAX);
    const char *bad = bad_problem_field(pb);
    if (bad)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, bad, SIZE_MAX);
    if (!*s) {
        otk_bilevel_default_settings(defaults);
        *s = defaults;
    }
    otk_status st = otkb_validate_settings(call, *s);
    if (st != OTK_CONVERGED)
        return st;
    if ((*s)->lower_solver == OTK_BILEVEL_LBFGS && !pb->ll_solve &&
        !pb->ll_value)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "ll_value", SIZE_MAX);
    size_t i = otk__first_nonfinite(theta, pb->p);
    if (i < pb->p)
        return otk__fail(call, OTK_ERR_INVALID_INPUT, "theta", i);
    if ((i = otk__first_nonfinite(x, pb->n)) < pb->n)
        return otk__fail(call, OTK_ERR_INVALID_INPUT, "x", i);
    return OTK_CONVERGED;
}

/* The end of a run: its counters and what stopped it into the outcome. */
static otk_status finish_run(otk__call *call, otkb_run *run,
                             otk_bilevel_info *info, otk_status st)
{
    info->ll_iterations = run->ll_iterations;
    info->cg_iterations = run->cg_iterations;
    otkb_run_free(run);
    if (st == OTK_STALLED)
        call->out->cause = run->failed;
    if (st < 0)
        return otk__fail(call, st, run->failed, SIZE_MAX);
    return otk__finish(call, st);
}

otk_status otk_bilevel_solve(const otk_bilevel_problem *problem,
                             const otk_bilevel_settings *settings,
                             double *theta, double *x, otk_bilevel_info *info)
{
    otk_bilevel_info scratch_info;
    info = info ? info : &scratch_info;
    otk__call call;
    otk_bilevel_settings defaults;
    otk_status st =
        begin_call(&call, info, problem, &settings, &defaults, theta, x);
    if (st != OTK_CONVERGED)
        return st;
    if (settings->method == OTK_BILEVEL_MAID && settings->check_descent &&
        !problem->cross_norm)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, "cross_norm",
                         SIZE_MAX);
    info->eps = settings->eps0;
    info->delta = settings->delta0;

    otkb_run run;
    if (otkb_run_init(&run, problem, settings, &call) != OTK_CONVERGED)
        return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    /* Every method works on copies and commits only accepted points, so
     * theta and x hold the last accepted point whatever happens. */
    memcpy(run.theta_keep, theta, problem->p * sizeof *theta);
    memcpy(run.x_keep, x, problem->n * sizeof *x);
    if (settings->method == OTK_BILEVEL_MAID ||
        settings->method == OTK_BILEVEL_FIXED)
        st = otkb_maid_loop(&run, run.theta_keep, run.x_keep, info);
    else
        st = otkb_hoag_loop(&run, run.theta_keep, run.x_keep, info);
    if (st >= 0 || st == OTK_ERR_NUMERICAL) {
        memcpy(theta, run.theta_keep, problem->p * sizeof *theta);
        memcpy(x, run.x_keep, problem->n * sizeof *x);
    }
    return finish_run(&call, &run, info, st);
}

/* An accuracy argument: > 0 and finite. */
static int bad_accuracy(double a) { return !(a > 0) || isinf(a); }

/*
 * The start of the building blocks (hypergradient, evaluate): the checks
 * of every call, then the output they cannot do without (out, named
 * out_name), the accuracies eps and, when given, *delta, and a run on *s,
 * a copy of the settings without the budget (the blocks have none; *s
 * must outlive the run).
 */
static otk_status begin_block(otk__call *call, otk_bilevel_info *info,
                              const otk_bilevel_problem *problem,
                              const otk_bilevel_settings *settings,
                              const double *theta, const double *x,
                              const void *out, const char *out_name, double eps,
                              const double *delta, otk_bilevel_settings *s,
                              otkb_run *run)
{
    otk_bilevel_settings defaults;
    otk_status st =
        begin_call(call, info, problem, &settings, &defaults, theta, x);
    if (st != OTK_CONVERGED)
        return st;
    if (!out)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, out_name, SIZE_MAX);
    if (bad_accuracy(eps))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "eps", SIZE_MAX);
    if (delta && bad_accuracy(*delta))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "delta", SIZE_MAX);
    *s = *settings;
    s->budget = 0;
    if (otkb_run_init(run, problem, s, call) != OTK_CONVERGED)
        return otk__fail(call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    return OTK_CONVERGED;
}

otk_status otk_bilevel_hypergradient(const otk_bilevel_problem *problem,
                                     const otk_bilevel_settings *settings,
                                     const double *theta, double eps,
                                     double delta, double *x, double *q,
                                     double *z, otk_bilevel_info *info)
{
    otk_bilevel_info scratch_info;
    info = info ? info : &scratch_info;
    otk__call call;
    otk_bilevel_settings s;
    otkb_run run;
    otk_status st = begin_block(&call, info, problem, settings, theta, x, z,
                                "z", eps, &delta, &s, &run);
    if (st != OTK_CONVERGED)
        return st;
    double g, grad_g_norm;
    st = otkb_hypergradient(&run, theta, eps, delta, x, z, &g, &grad_g_norm);
    if (st == OTK_CONVERGED) {
        info->upper_loss = g;
        info->grad_norm = sqrt(otk__dot(problem->p, z, z));
    }
    info->eps = eps;
    info->delta = delta;
    if (q)
        memcpy(q, run.q, problem->n * sizeof *q);
    return finish_run(&call, &run, info, st);
}

otk_status otk_bilevel_evaluate(const otk_bilevel_problem *problem,
                                const otk_bilevel_settings *settings,
                                const double *theta, double eps, double *x,
                                double *loss, double *loss_error,
                                otk_bilevel_info *info)
{
    otk_bilevel_info scratch_info;
    info = info ? info : &scratch_info;
    double scratch_error;
    loss_error = loss_error ? loss_error : &scratch_error;
    *loss_error = NAN;
    if (loss)
        *loss = NAN;
    otk__call call;
    otk_bilevel_settings s;
    otkb_run run;
    otk_status st = begin_block(&call, info, problem, settings, theta, x, loss,
                                "loss", eps, NULL, &s, &run);
    if (st != OTK_CONVERGED)
        return st;
    s.error_mode = OTK_BILEVEL_CERTIFIED; /* the stop that certifies eps */
    info->eps = eps;
    double g, grad_g_norm;
    st = otkb_ll_solve(&run, theta, eps, x);
    if (st == OTK_CONVERGED)
        st = otkb_upper(&run, x, &g, &grad_g_norm);
    if (st == OTK_CONVERGED) {
        *loss = info->upper_loss = g;
        /* the half-width of the certified bounds of f (run.c) */
        *loss_error = otkb_upper_bound(problem, g, grad_g_norm, eps) - g;
    }
    return finish_run(&call, &run, info, st);
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
