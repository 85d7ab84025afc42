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
 * Costs: c(x, y) = ||x - y||^2 (sqeuclidean, the default), ||x - y||
 * (euclidean), or h(x - y) = ||x - y||_p^p / p (pnorm, p >= 1).
 *
 * The gradient with respect to the mapped points follows from the envelope
 * theorem at the converged plan P (the potentials frozen):
 *
 *     dM/dy_j = (1/n) grad_y c(x_j, y_j) - sum_i P_ij grad_y c(x_i, y_j).
 *
 * Costs are computed from the points on the fly; no n x n array is formed.
 * This header also declares the debiased Sinkhorn divergence's gradient
 * with respect to the points it moves, and map fitting by a residual MLP
 * (otk_mg_fit), which use the same costs.
 */
#ifndef OTKIT_MONGEGAP_H
#define OTKIT_MONGEGAP_H

#include <stdio.h>
#include <otkit/base.h>
#include <otkit/entropic.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum otk_mg_cost {
    OTK_MG_SQEUCLIDEAN = 0, /* ||x - y||^2 */
    OTK_MG_EUCLIDEAN = 1,   /* ||x - y|| */
    OTK_MG_PNORM = 2        /* ||x - y||_p^p / p */
} otk_mg_cost;

typedef struct otk_mg_settings {
    otk_mg_cost cost; /* default OTK_MG_SQEUCLIDEAN */
    double p;         /* for OTK_MG_PNORM; default 2; valid: >= 1 */
    /* 1: exact W (network simplex); 0 (default): entropic. */
    int exact;
    /* Entropic regularization. If reg > 0 it is used as given; else
     * relative_reg times the mean cost between the x_i and the y_j is used
     * (ott-jax's relative_epsilon="mean"). Defaults reg = 0,
     * relative_reg = 0.01 (the Monge-gap tutorial's choice). */
    double reg, relative_reg;
    /* The Sinkhorn solves (tol default 1e-9 here, for accurate gradients;
     * warm_start is handled by the fitting workspace). */
    otk_sinkhorn_settings sinkhorn;
} otk_mg_settings;

typedef struct otk_mg_info {
    otk_status status;        /* of the inner OT solve, or an error */
    double monge_gap;         /* M */
    double displacement_cost; /* (1/n) sum c(x_i, y_i) */
    double ot_cost;           /* W (exact) or W_eps (entropic) */
    double reg;               /* the entropic reg used (0 if exact) */
    size_t iterations;        /* of the inner solve */
    double time_s;
    const char *bad_argument; /* as in the other infos */
    size_t bad_index;
} otk_mg_info;

OTK_API void otk_mg_default_settings(otk_mg_settings *s);

/*
 * The Monge gap of the pairs (x_i, y_i): x and y are n x d row-major, n >=
 * 1. grad (n x d) receives dM/dy, or is NULL. Returns info->status.
 */
OTK_API otk_status otk_monge_gap(const double *x, const double *y, size_t n,
                                 size_t d, const otk_mg_settings *settings,
                                 double *grad, otk_mg_info *info);

/*
 * The debiased Sinkhorn divergence S(mu_y, nu_z) = OT(y, z) - (OT(y, y) +
 * OT(z, z)) / 2 between uniform point clouds y (n x d) and z (m x d), with
 * the settings' cost and reg (absolute reg > 0 required here), and its
 * gradient with respect to the y_i (grad n x d, or NULL):
 *
 *     dS/dy_i = sum_j P_ij grad_1 c(y_i, z_j) - sum_j Q_ij grad_1 c(y_i, y_j)
 *
 * with P, Q the plans of OT(y, z) and OT(y, y). *value receives S; info
 * (optional) the status and iterations of the worst of the three solves.
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

typedef struct otk_mg_fit_progress {
    size_t step;      /* 1-based */
    double loss;      /* fitting + lambda * monge_gap on this step's batch */
    double fitting;   /* S(T#source batch, target batch) */
    double monge_gap; /* M(T; source batch) */
} otk_mg_fit_progress;

typedef struct otk_mg_fit_settings {
    /* The Monge gap's cost and estimator (gap.exact must be 0: training
     * needs the entropic gradient) and its reg: gap.reg if > 0, else
     * gap.relative_reg times the mean cost between the first batches,
     * then fixed for the whole run (the tutorial's choice). */
    otk_mg_settings gap;
    /* Weight of the Monge gap, >= 0; 0 fits without it. Default 1. */
    double lambda;
    /* Reg of the fitting loss, the debiased Sinkhorn divergence with the
     * squared Euclidean cost: fit_reg if > 0, else relative_fit_reg (0.1)
     * times the mean cost within the first target batch. */
    double fit_reg, relative_fit_reg;
    size_t steps; /* default 1000 */
    size_t batch; /* points per batch, default 256 (capped at the data) */
    double lr;    /* Adam step, default 1e-3 */
    double beta1, beta2, adam_eps; /* 0.9, 0.999, 1e-8 */
    unsigned long seed;            /* batch sampling (GSL mt19937); default 0 */
    /* Called after every step; nonzero return cancels (OTK_CANCELLED). */
    int (*progress)(void *user, const otk_mg_fit_progress *p);
    void *progress_user;
} otk_mg_fit_settings;

typedef struct otk_mg_fit_info {
    /* OTK_CONVERGED: all steps done, every inner solve converged;
     * OTK_MAX_ITER: all steps done, but one or more inner solves stopped at
     * their iteration cap (gap.sinkhorn.max_iter) before their tolerance
     * (their steps still used the last iterate; see inner_not_converged);
     * OTK_CANCELLED by the progress callback (or by gap.sinkhorn's, which
     * the inner solves call); or an error. */
    otk_status status;
    size_t steps;               /* steps done */
    otk_mg_fit_progress last;   /* the last step's loss terms */
    double fit_reg, gap_reg;    /* the regs used */
    size_t sinkhorn_iterations; /* over all steps */
    /* Steps in which the divergence's or the gap's Sinkhorn solve (or
     * both) stopped without reaching its tolerance. */
    size_t inner_not_converged;
    double time_s;
    const char *bad_argument;
    size_t bad_index;
} otk_mg_fit_info;

OTK_API void otk_mg_fit_default_settings(otk_mg_fit_settings *s);

/*
 * Fit map (in place) by minimizing S(T#mu, nu) + lambda M(T; mu) over
 * mini-batches with Adam, mu and nu the empirical measures of source
 * (ns x d) and target (nt x d). Each step draws a batch of each (without
 * replacement within the batch), and back-propagates the envelope
 * gradients of S and M through the network. Reproducible for a given
 * seed and thread count.
 */
OTK_API otk_status otk_mg_fit(otk_mg_map *map, const double *source, size_t ns,
                              const double *target, size_t nt,
                              const otk_mg_fit_settings *settings,
                              otk_mg_fit_info *info);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_MONGEGAP_H */
