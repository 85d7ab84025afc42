/*
 * otkit Monge gap (Uscidda and Cuturi, ICML 2023): how far a map T is from
 * being an optimal transport map between a measure rho and its image.
 *
 *     M(T) = (1/n) sum_i c(x_i, T(x_i)) - W_c(rho_n, T#rho_n)
 *
 * from paired samples x_i and y_i = T(x_i), i < n, in R^d, with uniform
 * weights 1/n. W_c is either exact (the network simplex of otkit/exact.h;
 * M >= 0, and M = 0 exactly when the pairs are c-cyclically monotone) or
 * entropic (otkit/entropic.h), as in ott-jax's monge_gap_from_samples:
 *
 *     W_eps = <P, C> - eps H(P),   H(P) = -sum_ij P_ij log P_ij,
 *
 * which lies between W_0 + eps log n and W_0 + 2 eps log n, so the
 * entropic gap never reaches 0 (for T = Id it is about eps log n).
 *
 * Costs: otk_metric (base.h): c(x, y) = ||x - y||^2 (sqeuclidean, the
 * default), ||x - y|| (euclidean), or ||x - y||_p^p (pnorm, p >= 1; ott-jax
 * divides by p, otkit does not: the gap is p times ott's for the
 * exact gap or a relative reg, see docs/mongegap.md).
 *
 * The gradient with respect to the mapped points follows from the envelope
 * theorem at the converged plan P (the potentials frozen):
 *
 *     dM/dy_j = (1/n) grad_y c(x_j, y_j) - sum_i P_ij grad_y c(x_i, y_j).
 *
 * Costs are computed from the points on the fly; no n x n array is formed.
 * This header also declares the debiased Sinkhorn divergence's gradient
 * with respect to the points it moves, and map fitting by a residual MLP
 * (otk_mg_fit), which use the same costs. The conventions (settings and
 * bounds tables, info records, progress) are those of docs/api.md.
 */
#ifndef OTKIT_MONGEGAP_H
#define OTKIT_MONGEGAP_H

#include <stdio.h>
#include <otkit/base.h>
#include <otkit/entropic.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Settings (docs/api.md). Every numeric field is in the bounds table
 * otk_mg_setting_bounds(); its comment gives the table's default and
 * valid range. The table also lists sinkhorn.tol and sinkhorn.max_iter
 * (otkit/entropic.h's ranges, this module's defaults) and
 * sinkhorn.warm_start (valid: [0, 0]: every solve has new points); the
 * other fields of `sinkhorn` are checked against otkit/entropic.h's own
 * table, before any work too. A field out of range gives
 * OTK_ERR_INVALID_ARGUMENT with outcome.bad_argument = "settings.FIELD"
 * ("settings.sinkhorn.tol"; "settings.sinkhorn" for a Sinkhorn field not
 * listed here).
 */
typedef struct otk_mg_settings {
    /* The cost c(x, y) (otk_metric, base.h): 0 = OTK_METRIC_SQEUCLIDEAN
     * ||x - y||^2, 1 = euclidean ||x - y||, 2 = pnorm ||x - y||_p^p
     * (otkit's p-norm cost everywhere, without ott-jax's 1/p, see
     * docs/mongegap.md). */
    otk_metric metric; /* Default 0; valid: [0, 2] */
    /* The exponent of OTK_METRIC_PNORM (read only then). */
    double p; /* Default 2; valid: [1, inf) */
    /* 1: exact W (network simplex); 0: entropic. */
    int exact; /* Default 0; valid: [0, 1] */
    /* Entropic regularization: used as given if > 0; 0: relative_reg
     * times the mean cost between the x_i and the y_j. */
    double reg; /* Default 0; valid: [0, inf) */
    /* The reg relative to the mean cost when reg = 0 (ott-jax's
     * relative_epsilon="mean"; 0.01 is the Monge-gap tutorial's). */
    double relative_reg; /* Default 0.01; valid: (0, inf) */
    /* The Sinkhorn solves. otk_mg_default_settings writes the Sinkhorn
     * defaults but sinkhorn.tol = 1e-9 (for accurate gradients). */
    otk_sinkhorn_settings sinkhorn;
} otk_mg_settings;

/*
 * The result of otk_monge_gap and otk_mg_divergence. outcome.status:
 * OTK_CONVERGED, OTK_MAX_ITER with outcome.cause = "inner_max_iter" (a
 * Sinkhorn solve stopped at sinkhorn.max_iter before its tolerance; the
 * numbers are those of its last iterate), OTK_CANCELLED (by
 * sinkhorn.progress), or an error: outcome.bad_argument names the
 * argument ("x", "y", "z", "n", "m", "d", "value"), the settings field,
 * or "reg" (a relative reg of a zero mean cost: all points equal), with
 * outcome.bad_index the first non-finite coordinate of a point array.
 * Numbers not computed are NaN.
 */
typedef struct otk_mg_info {
    otk_outcome outcome;
    double monge_gap;         /* M (otk_monge_gap) */
    double displacement_cost; /* (1/n) sum c(x_i, y_i) (otk_monge_gap) */
    double ot_cost;           /* W (exact) or W_eps (entropic) */
    double reg;               /* the entropic reg used (0 if exact) */
    size_t iterations;        /* of the inner solves */
} otk_mg_info;

/* Writes the table's defaults (and the Sinkhorn defaults but tol, see
 * above; callbacks NULL). */
OTK_API void otk_mg_default_settings(otk_mg_settings *s);
/* The bounds table of otk_mg_settings (docs/api.md); *count its length. */
OTK_API const otk_setting_bounds *otk_mg_setting_bounds(size_t *count);

/*
 * The Monge gap of the pairs (x_i, y_i): x and y are n x d row-major, n >=
 * 1. grad (n x d) receives dM/dy, or is NULL. NULL settings: the
 * defaults. Returns info->outcome.status (info may be NULL).
 */
OTK_API otk_status otk_monge_gap(const double *x, const double *y, size_t n,
                                 size_t d, const otk_mg_settings *settings,
                                 double *grad, otk_mg_info *info);

/*
 * The debiased Sinkhorn divergence S(mu_y, nu_z) = OT(y, z) - (OT(y, y) +
 * OT(z, z)) / 2 between uniform point clouds y (n x d) and z (m x d), with
 * the settings' cost and reg (settings.reg > 0 required here: else
 * OTK_ERR_INVALID_ARGUMENT naming "settings.reg"), and its gradient with
 * respect to the y_i (grad n x d, or NULL):
 *
 *     dS/dy_i = sum_j P_ij grad_1 c(y_i, z_j) - sum_j Q_ij grad_1 c(y_i, y_j)
 *
 * with P, Q the plans of OT(y, z) and OT(y, y). *value receives S; info
 * (optional) the status of the worst of the three solves, their
 * iterations, reg and ot_cost = S (monge_gap and displacement_cost NaN).
 */
OTK_API otk_status otk_mg_divergence(const double *y, size_t n, const double *z,
                                     size_t m, size_t d,
                                     const otk_mg_settings *settings,
                                     double *value, double *grad,
                                     otk_mg_info *info);

/* ---- Maps T(x) = x + MLP(x) and their fitting ---- */

typedef enum otk_activation {
    OTK_ACT_GELU = 0, /* tanh approximation; the default */
    OTK_ACT_RELU = 1,
    OTK_ACT_LEAKY_RELU = 2, /* slope 0.01 below 0 */
    OTK_ACT_TANH = 3
} otk_activation;

/* A residual map T(x) = x + W_L a(... a(W_1 x + b_1) ...) + b_L on R^d,
 * with `layers` hidden layers. Opaque. */
typedef struct otk_mg_map otk_mg_map;

/* A new map with weights drawn from a truncated normal of variance
 * 1 / fan_in (LeCun, as Flax's default) with the given seed, zero biases.
 * NULL if d == 0, a hidden size is 0, layers > 64, or memory is short. */
OTK_API otk_mg_map *otk_mg_map_create(size_t d, const size_t *hidden,
                                      size_t layers, otk_activation act,
                                      unsigned long seed);
OTK_API void otk_mg_map_free(otk_mg_map *map); /* accepts NULL */
OTK_API size_t otk_mg_map_dim(const otk_mg_map *map);
/* y = T(x) for n points (n x d, row-major); y may not alias x. */
OTK_API otk_status otk_mg_map_apply(const otk_mg_map *map, const double *x,
                                    size_t n, double *y);

/*
 * Text file format (docs/mongegap.md): a line "otkit-map 1", then
 * "d D", "activation NAME", "hidden L H1 ... HL", then for each of the L + 1
 * layers a line "layer OUT IN", OUT lines of IN weights and one line of OUT
 * biases, numbers written with %.17g. Lines have no length limit.
 *
 * Write puts the map on an open stream (the caller decides where: the
 * otk-* tools write to a temporary file and rename it); returns 0 or
 * OTK_ERR_INVALID_ARGUMENT (fp NULL or a write error, as ferror shows).
 * Save opens path with fopen ("w": links followed, mode 0666 less the
 * umask) and writes the map there; it is not atomic. Returns 0 or
 * OTK_ERR_INVALID_ARGUMENT (unwritable path, write error).
 * Read takes a map from a stream at its first line; Load opens path and
 * reads. Both return NULL on any problem, with *status
 * (OTK_ERR_INVALID_INPUT for a malformed file, OTK_ERR_INVALID_ARGUMENT
 * for an unreadable one) and *line (the 1-based line at fault, 0 if none)
 * when those are not NULL.
 */
OTK_API otk_status otk_mg_map_write(const otk_mg_map *map, FILE *fp);
OTK_API otk_status otk_mg_map_save(const otk_mg_map *map, const char *path);
OTK_API otk_mg_map *otk_mg_map_read(FILE *fp, otk_status *status, size_t *line);
OTK_API otk_mg_map *otk_mg_map_load(const char *path, otk_status *status,
                                    size_t *line);

/* The detail record of the fit's progress callback (otk_progress.detail
 * when otk_progress.solver is "mongegap_fit"), and the last step's terms
 * in otk_mg_fit_info. */
typedef struct otk_mg_fit_progress {
    size_t step;      /* 1-based */
    double loss;      /* fitting + lambda * monge_gap on this step's batch */
    double fitting;   /* S(T#source batch, target batch) */
    double monge_gap; /* M(T; source batch) */
} otk_mg_fit_progress;

/*
 * Fit settings (docs/api.md). Every numeric field is in the bounds table
 * otk_mg_fit_setting_bounds(), which lists the fields of `gap` under
 * dotted names ("gap.reg", "gap.sinkhorn.tol") with the fit's defaults;
 * a field out of range gives OTK_ERR_INVALID_ARGUMENT with
 * outcome.bad_argument = "settings.FIELD" ("settings.gap.reg";
 * "settings.gap.sinkhorn" for a Sinkhorn field the table does not list).
 */
typedef struct otk_mg_fit_settings {
    /* The Monge gap's cost and its reg: gap.reg if > 0, else
     * gap.relative_reg times the scale gap_reg_scale names, measured on
     * the first batches, then fixed for the whole run (the tutorial's
     * choice). gap.exact
     * must be 0 (its range here is [0, 0]: training needs the entropic
     * gradient). gap.sinkhorn holds the settings of every inner solve
     * of a step (the divergence's three and the gap's), with the fit's
     * defaults (docs/mongegap.md, "Inner solves"):
     *   tol 1e-3: the L1 marginal residual relative to the batch's mass
     *     (1), raised to at least 16 b DBL_EPSILON for a batch of b
     *     points, the least the residual's rounding allows;
     *   max_iter 1000: each solve's budget within a step;
     *   warm_start 1 (valid [0, 1]): each solve starts from the previous
     *     step's potentials extended to the new points by their entropic
     *     c-transform, without epsilon scaling; a cold solve (the first
     *     step, or after a solve that stopped at its cap) uses
     *     epsilon scaling as sinkhorn.eps_scaling says;
     *   check_every 2 (listed in the table): warm starts converge in a
     *     few iterations. */
    otk_mg_settings gap;
    /* The scale of gap.relative_reg (docs/mongegap.md, "The gap's reg"):
     * 0 the mean cost between x_i and T(x_j) (ott-jax's, with
     * gap.relative_reg 0.01); 1 the median over i of
     * min_{j != i} |c(x_i, T(x_j)) - c(x_i, T(x_i))|, the cost margin of
     * each point's nearest competitor, which stays comparable to the
     * plan's cost differences as the dimension grows (with the mean cost
     * the plan is a permutation to rounding for d >= 8 and the gap's
     * gradient vanishes). With scale 1 the reg is
     * max(gap.relative_reg x margin, 0.01 x mean cost): never below the
     * tutorial's reg, which low dimensions keep (there the margin is
     * small). The fit's default gap.relative_reg (0.3) is for scale 1. */
    int gap_reg_scale; /* Default 1; valid: [0, 1] */
    /* Weight of the Monge gap; 0 fits without it. */
    double lambda; /* Default 1; valid: [0, inf) */
    /* Reg of the fitting loss, the debiased Sinkhorn divergence with the
     * squared Euclidean cost: used as given if > 0; 0: relative_fit_reg
     * times the mean cost within the first target batch. */
    double fit_reg;          /* Default 0; valid: [0, inf) */
    double relative_fit_reg; /* Default 0.3; valid: (0, inf) */
    /* Adam steps. */
    size_t steps; /* Default 1500; valid: [1, inf) */
    /* Points per batch (capped at the data's). */
    size_t batch; /* Default 256; valid: [2, inf) */
    /* Adam's step and moment parameters. */
    double lr; /* Default 3e-3; valid: (0, inf) */
    /* The step size over the run: 0 constant lr; 1 cosine, lr at the
     * first step down to 0 at the last, lr (1 + cos(pi (t - 1) / steps))
     * / 2 at step t (docs/mongegap.md, "Optimizer schedule"). */
    int lr_schedule; /* Default 1; valid: [0, 1] */
    double beta1;    /* Default 0.9; valid: [0, 1) */
    double beta2;    /* Default 0.999; valid: [0, 1) */
    double adam_eps; /* Default 1e-8; valid: (0, inf) */
    /* Batch sampling (GSL mt19937). */
    unsigned long seed; /* Default 0; valid: [0, inf) */
    /* Validation (docs/mongegap.md, "Validation"): 0 none; K > 0 holds
     * validation_fraction of the source and of the target rows out of
     * training (at random, at least 2 of each, leaving at least 2 of
     * each to train on, else OTK_ERR_INVALID_ARGUMENT naming "source" or
     * "target"), and after every K-th step and the last computes the
     * loss of the map on one fixed batch of the held-out rows (batch
     * points, or fewer if fewer are held out) at the fit's regs and
     * inner settings. A fit that runs all its steps returns the map of
     * the check with the lowest loss (info.best_step); that loss need
     * not track the distance to the OT map (measured in
     * docs/mongegap.md), hence off by default. */
    size_t validate_every;      /* Default 0; valid: [0, inf) */
    double validation_fraction; /* Default 0.1; valid: (0, 1) */
    /* Called after every step with an otk_progress whose solver is
     * "mongegap_fit", iteration the steps done, objective = the step's
     * loss, error and reg NaN, elapsed_s, and detail pointing at the
     * step's otk_mg_fit_progress. Nonzero return cancels the fit
     * (OTK_CANCELLED; the map keeps that step). NULL: none. */
    otk_progress_fn progress;
    void *progress_user;
} otk_mg_fit_settings;

/*
 * The fit's result. outcome.status: OTK_CONVERGED (all steps done, every
 * inner solve converged); OTK_MAX_ITER with outcome.cause =
 * "inner_max_iter" (all steps done, but in inner_not_converged of them a
 * Sinkhorn solve stopped at gap.sinkhorn.max_iter before its tolerance;
 * those steps used the last iterate); OTK_CANCELLED by the progress
 * callback or by gap.sinkhorn's (which the inner solves call; that step
 * is not taken); or an error, outcome.bad_argument naming "map",
 * "source", "target" (with outcome.bad_index for a non-finite
 * coordinate), the settings field, or "fit_reg" / "gap_reg" (a relative
 * reg of a zero mean cost: the first batch's points all equal). Numbers
 * not computed are NaN.
 */
typedef struct otk_mg_fit_info {
    otk_outcome outcome;
    size_t steps;               /* steps done */
    otk_mg_fit_progress last;   /* the last step's loss terms */
    double fit_reg, gap_reg;    /* the regs used */
    size_t sinkhorn_iterations; /* over all steps and checks */
    /* Steps in which the divergence's or the gap's Sinkhorn solve (or
     * both), or that step's validation check, stopped without reaching
     * its tolerance. */
    size_t inner_not_converged;
    /* With validation: the step whose map is returned (0 without) and
     * its loss on the held-out batch (NaN without). */
    size_t best_step;
    double validation_loss;
} otk_mg_fit_info;

/* Writes the table's defaults (callbacks NULL). */
OTK_API void otk_mg_fit_default_settings(otk_mg_fit_settings *s);
/* The bounds table of otk_mg_fit_settings; *count its length. */
OTK_API const otk_setting_bounds *otk_mg_fit_setting_bounds(size_t *count);

/*
 * Fit map (in place) by minimizing S(T#mu, nu) + lambda M(T; mu) over
 * mini-batches with Adam, mu and nu the empirical measures of source
 * (ns x d) and target (nt x d). Each step draws a batch of each (without
 * replacement within the batch), and back-propagates the envelope
 * gradients of S and M through the network (with validate_every > 0,
 * the batches come from the rows not held out, and the best check's map
 * is returned). Reproducible for a given seed and thread count.
 */
OTK_API otk_status otk_mg_fit(otk_mg_map *map, const double *source, size_t ns,
                              const double *target, size_t nt,
                              const otk_mg_fit_settings *settings,
                              otk_mg_fit_info *info);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_MONGEGAP_H */
