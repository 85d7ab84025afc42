/* Private plumbing shared by the bilevel module's files. */
#ifndef OTK_BILEVEL_INTERNAL_H
#define OTK_BILEVEL_INTERNAL_H

#include <otkit/bilevel.h>

/* Every built-in family keeps its data in a struct whose first member is
 * this, so otk_bilevel_instance_free can release it without knowing the
 * family. */
typedef struct otkb_owner {
    void (*destroy)(void *self);
} otkb_owner;

/* Zeroes *out and allocates theta0 (p) and x0 (n, zero-filled); sets
 * f_star to NaN. On failure frees what it took and returns
 * OTK_ERR_NO_MEMORY. */
otk_status otkb_instance_init(otk_bilevel_instance *out, size_t n, size_t p);

/* One solve's state, shared by the MAID loop (maid.c) and HOAG (hoag.c). */
typedef struct otkb_run {
    const otk_bilevel_problem *pb;
    const otk_bilevel_settings *s;
    size_t ll_max_iter, cg_max_iter;
    size_t ll_iterations, cg_iterations; /* cumulative */
    const char *failed; /* what stopped the run, for info.bad_argument */
    double start;       /* otk__now() at the start */
    double *block;      /* the one allocation holding the arrays below */
    double *scratch;    /* 4 n: CG's or FISTA's scratch */
    double *q, *grad_g; /* n each: the adjoint and grad g at the last x */
    double *x_trial, *x_keep, *x_solve;   /* n each */
    double *z, *theta_trial, *theta_keep; /* p each */
} otkb_run;

otk_status otkb_run_init(otkb_run *run, const otk_bilevel_problem *pb,
                         const otk_bilevel_settings *s);
void otkb_run_free(otkb_run *run);

/* Solves the lower level at theta to accuracy eps in place (x: warm start
 * in). OTK_STALLED when the cap is hit, OTK_ERR_NUMERICAL on a callback
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
/* Lower-level + CG iterations have reached settings.budget. */
int otkb_over_budget(const otkb_run *run);
/* Fills the cumulative counters and time of row and calls the trace
 * callback; nonzero: cancel. */
int otkb_emit(otkb_run *run, otk_bilevel_trace_row *row, const double *theta);
/* Clips theta to [-theta_bound, theta_bound]. */
void otkb_clip(const otk_bilevel_settings *s, double *theta, size_t p);

/* HOAG with the settings' tolerance schedule (hoag.c). */
otk_status otkb_hoag_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info);

#endif /* OTK_BILEVEL_INTERNAL_H */
