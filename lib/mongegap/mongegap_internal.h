/* Private to the Monge-gap module: costs and plan gradients. */
#ifndef OTK_MONGEGAP_INTERNAL_H
#define OTK_MONGEGAP_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <otkit/entropic.h>
#include <otkit/mongegap.h>

#include "core/core.h"

/* The bounds tables' checks (settings.c): fail the call naming
 * "settings.FIELD", or return 0. */
otk_status otk__mg_validate(otk__call *call, const otk_mg_settings *s);
otk_status otk__mg_fit_validate(otk__call *call, const otk_mg_fit_settings *s);
/* The point clouds x (n x d) and y (m x d) of a call and their cost
 * (*cost): fails the call naming x_name, y_name or the size at fault, or
 * returns 0. */
otk_status otk__mg_points(otk__call *call, const otk_mg_settings *s,
                          const double *x, size_t n, const double *y, size_t m,
                          size_t d, const char *x_name, const char *y_name,
                          otk_cost *cost);
/* The start of a public entry: info's numbers reset (NaN), the clock
 * started, and the settings (the defaults, written into *defaults, when
 * *settings is NULL) validated. Returns 0 or the failure. */
otk_status otk__mg_enter(otk__call *call, otk_mg_info *info,
                         const otk_mg_settings **settings,
                         otk_mg_settings *defaults);
/* Ends a call whose result is st from the inner Sinkhorn solves:
 * OTK_MAX_ITER gets the cause "inner_max_iter". Returns st. */
otk_status otk__mg_end(otk__call *call, otk_status st);
/* The settings' cost between point clouds x (n x d) and y (m x d). */
otk_cost otk__mg_cost(const otk_mg_settings *s, size_t n, size_t m, size_t d,
                      const double *x, const double *y);
/* out += weight * grad_u c(u, v) (d entries); grad_v c = -grad_u c. */
void otk__mg_grad_first(const otk_mg_settings *s, const double *u,
                        const double *v, size_t d, double weight, double *out);
/* Mean of the cost over all pairs. */
double otk__mg_mean_cost(const otk_cost *c);
double otk__mg_competitor_cost(const otk_cost *c);
/*
 * For the entropic plan P of cost c (uniform weights, potentials f, g at
 * reg), add sign * sum_j P_ij grad_u c(x_i, y_j) to grad_rows[i] and
 * -sign * sum_i P_ij grad_u c(x_i, y_j) to grad_cols[j] (either may be
 * NULL, or both the same array). scratch: otk__cost_scratch_max(m, d) + m
 * doubles for c's m columns in R^d.
 */
void otk__mg_add_plan_grad(const otk_mg_settings *s, const otk_cost *c,
                           double reg, const double *f, const double *g,
                           double sign, double *grad_rows, double *grad_cols,
                           double *scratch);

/* The warm start of one of a training loop's problems (warm.c): the rows
 * u (n x d) and f of its last converged solve, from which the next
 * solve's g at new column points is the entropic c-transform. */
typedef struct mg_warm {
    double *u, *f, *g, *t; /* t: n doubles of scratch */
    double *C;             /* n x m: the solve's dense cost */
    double *yt; /* otk__cost_scratch_max(max(n, m), d): points' scratch */
    size_t n, m, d;
    int ready; /* u and f hold a converged solve */
} mg_warm;

/* 0, or -1 when memory is short (then nothing is held). */
int otk__mg_warm_init(mg_warm *w, size_t n, size_t m, size_t d);
void otk__mg_warm_free(mg_warm *w); /* accepts a zeroed w */
/* A Sinkhorn solve of the cost c (uniform weights) at reg with the
 * settings' Sinkhorn settings; with w, warm-started from w when it is
 * ready (no epsilon scaling then), and w keeps this solve when it
 * converges. sol may be NULL. */
otk_status otk__mg_solve(otk_sinkhorn_workspace *ws, const otk_mg_settings *s,
                         const otk_cost *c, double reg, mg_warm *w,
                         otk_solution *sol, otk_sinkhorn_info *info);

/* Which of mg_scratch's warm starts: the gap's problem and the
 * divergence's three. */
enum { MG_WARM_GAP, MG_WARM_YZ, MG_WARM_YY, MG_WARM_ZZ, MG_WARM_COUNT };

/* Workspaces for repeated entropic solves between clouds of n and m
 * points (a training loop allocates them once). */
typedef struct mg_scratch {
    otk_sinkhorn_workspace *nn, *nm, *mm;
    double *pot;  /* 4 (n + m) potentials */
    double *rows; /* otk__mg_add_plan_grad's scratch for max(n, m) */
    size_t n, m;
    mg_warm *warm; /* MG_WARM_COUNT warm starts, or NULL: cold solves */
} mg_scratch;

/* 0, or -1 when memory is short (then nothing is held). */
int otk__mg_scratch_init(mg_scratch *sc, size_t n, size_t m, size_t d);
/* Warm starts for points in R^d from now on: 0, or -1 when memory is
 * short (then the solves stay cold). */
int otk__mg_scratch_warm(mg_scratch *sc, size_t d);
void otk__mg_scratch_free(mg_scratch *sc);

/* The buffers of a training step (step.c) on batches of b points. */
typedef struct mg_step {
    size_t b, d;
    double *xb, *zb, *yb;  /* batches: source, target, mapped (b x d) */
    double *g_fit, *g_gap; /* gradients with respect to yb */
    double *cache, *work;  /* network passes */
    double *grad;          /* the loss's gradient (map->nparams) */
    mg_scratch sc;
} mg_step;

/* The terms of a step's loss: S(T#x, z) at div_reg with the settings div
 * (the squared Euclidean cost), plus lambda times the gap under gap's
 * cost at gap_reg. */
typedef struct mg_loss {
    const otk_mg_settings *div, *gap;
    double div_reg, gap_reg, lambda;
} mg_loss;

/* 0, or -1 when memory is short (then nothing is held). */
int otk__mg_step_init(mg_step *st, const otk_mg_map *map, size_t b);
void otk__mg_step_free(mg_step *st);
/* The loss of map on the batches st->xb and st->zb into p (fitting,
 * monge_gap, loss; step untouched) and its gradient into st->grad.
 * *stopped: 1 when an inner solve stopped at its cap (the step is still
 * usable); *iterations grows by the solves' iterations. Returns 0, an
 * error or OTK_CANCELLED (then st->grad is not computed). */
otk_status otk__mg_step_loss(mg_step *st, const otk_mg_map *map,
                             const mg_loss *L, otk_mg_fit_progress *p,
                             int *stopped, size_t *iterations);

/* The entropic gap of valid inputs at a given reg, with its gradient
 * (grad may be NULL); fills info's numbers. */
otk_status otk__mg_entropic_gap(const otk_mg_settings *s, const double *x,
                                const double *y, size_t n, size_t d, double reg,
                                mg_scratch *sc, double *grad,
                                otk_mg_info *info);
/* The divergence of valid inputs at a given reg and its gradient with
 * respect to y (grad may be NULL); *iterations counts the three solves. */
otk_status otk__mg_divergence_core(const otk_mg_settings *s, const double *y,
                                   size_t n, const double *z, size_t m,
                                   size_t d, double reg, mg_scratch *sc,
                                   double *value, double *grad,
                                   size_t *iterations);

/* Validation during a fit (validate.c). */
typedef struct mg_valid {
    mg_step step;     /* the held-out batch in step.xb and step.zb */
    double *best;     /* the parameters of the best check */
    double best_loss; /* its loss (INFINITY before the first check) */
    size_t best_step; /* its step (0 before the first check) */
} mg_valid;

/* The fit's samples and their row orders: training draws from the first
 * ns - hs rows of perm_s (nt - ht of perm_t). */
typedef struct mg_split {
    const double *source, *target;
    size_t ns, nt, hs, ht, batch;
    size_t *perm_s, *perm_t;
} mg_split;

/* The rows held out of n for a fraction (at least 2). */
size_t otk__mg_holdout(size_t n, double fraction);
/* Holds out sp->hs source and sp->ht target rows at random (moved to the
 * ends of the permutations) and keeps a batch of them; 0, or -1 when
 * memory is short (then otk__mg_valid_free still applies). */
int otk__mg_valid_init(mg_valid *v, const otk_mg_map *map, gsl_rng *rng,
                       const mg_split *sp);
void otk__mg_valid_free(mg_valid *v); /* accepts a zeroed v */
/* The loss of map on the held-out batch after `step`; keeps the map when
 * it is the best so far. *stopped and *iterations as otk__mg_step_loss. */
otk_status otk__mg_valid_check(mg_valid *v, const otk_mg_map *map,
                               const mg_loss *L, size_t step, int *stopped,
                               size_t *iterations);

#endif
