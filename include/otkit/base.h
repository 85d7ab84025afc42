/*
 * otkit: optimal-transport and bilevel-optimization solvers.
 *
 * This header holds what every solver module shares (otkit/otkit.h, the
 * umbrella, includes it and every solver header):
 *   - the version (compile-time macros and the run-time otk_version()),
 *   - the library-wide status enum otk_status and otk_status_string(),
 *   - the cost description otk_cost (a dense matrix, or two point clouds
 *     and a metric whose cost is computed on the fly),
 *   - the progress-callback record otk_progress.
 *
 * Conventions (see docs/ for the reasoning):
 *   - Sizes: n sources (rows) and m targets (columns); matrices are
 *     row-major and contiguous; double and size_t everywhere.
 *   - The caller owns every array. Inputs are const; optional outputs take
 *     NULL. The library allocates only inside workspaces.
 *   - The library never prints, exits or touches global state. One workspace
 *     per thread is safe; distinct workspaces may be used concurrently.
 *   - Status 0 means converged/optimal, positive values mean "finished but
 *     not converged, the result is usable", negative values are errors.
 */
#ifndef OTKIT_BASE_H
#define OTKIT_BASE_H

#include <stddef.h>

#if defined(_WIN32)
#define OTK_API
#elif defined(__GNUC__)
#define OTK_API __attribute__((visibility("default")))
#else
#define OTK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define OTK_VERSION_MAJOR 0
#define OTK_VERSION_MINOR 1
#define OTK_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, for preprocessor comparisons. */
#define OTK_VERSION_NUMBER                                                     \
    (OTK_VERSION_MAJOR * 10000 + OTK_VERSION_MINOR * 100 + OTK_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH" (the one it was built as,
 * which may differ from the header's when linking dynamically). */
OTK_API const char *otk_version(void);
/* The same as a number, comparable with OTK_VERSION_NUMBER. */
OTK_API unsigned otk_version_number(void);

/*
 * The most threads any solver uses: a `threads` setting (or the OpenMP
 * default, OMP_NUM_THREADS) above min(OTK_MAX_THREADS, 4 x the processors
 * available) is used as that maximum.
 */
#define OTK_MAX_THREADS 1024

/*
 * Outcome of every solver call. The numeric values are pinned: they are
 * part of the ABI and never change meaning.
 */
typedef enum otk_status {
    /* Converged to the requested tolerance (iterative solvers). */
    OTK_CONVERGED = 0,
    /* The same value under the name the exact solver uses: proven optimal. */
    OTK_OPTIMAL = 0,
    /* Stopped at max_iter before reaching tol. Outputs hold the last
     * iterate and the info describes it exactly; usable, not converged. */
    OTK_MAX_ITER = 1,
    /* The progress callback asked to stop. Outputs hold the last iterate. */
    OTK_CANCELLED = 2,
    /* The optimizer could make no further progress (a line search failed)
     * before reaching tol; outputs hold the last iterate. */
    OTK_STALLED = 3,

    /* A size, pointer or setting is invalid; nothing was computed. The
     * solver's info names the offending argument or field. */
    OTK_ERR_INVALID_ARGUMENT = -1,
    /* A workspace or scratch allocation failed. */
    OTK_ERR_NO_MEMORY = -2,
    /* An input array holds NaN, +-inf, or a negative weight. */
    OTK_ERR_INVALID_INPUT = -3,
    /* The marginals have different total masses (balanced problems), or a
     * total mass is zero. */
    OTK_ERR_MASS_MISMATCH = -4,
    /* The iterates or the result became non-finite (overflow/underflow)
     * even after the solver's own safeguards, or an optimality
     * certificate failed: no solver reports such a result as converged,
     * optimal or usable. What the outputs hold then is not to be used. */
    OTK_ERR_NUMERICAL = -5
} otk_status;

/* A one-line English message for a status, naming the setting to change
 * where one helps. Never NULL; unknown values give "unknown status". */
OTK_API const char *otk_status_string(otk_status status);
/* A short lowercase identifier ("converged", "max_iter", ...) used in the
 * tools' summaries. Never NULL. */
OTK_API const char *otk_status_name(otk_status status);

/*
 * Ground cost. A problem's cost is either a dense matrix or two point
 * clouds with a metric; in the latter case the solvers compute cost entries
 * on the fly, a row at a time, and never hold an n x m array.
 *
 *   OTK_METRIC_SQEUCLIDEAN: c(x,y) = scale * ||x - y||_2^2
 *   OTK_METRIC_EUCLIDEAN:   c(x,y) = scale * ||x - y||_2
 *   OTK_METRIC_PNORM:       c(x,y) = scale * ||x - y||_p^p  (p >= 1)
 *
 * Build one with otk_cost_dense() or otk_cost_points(); a zero-filled
 * struct is invalid (scale must be > 0).
 */
typedef enum otk_metric {
    OTK_METRIC_SQEUCLIDEAN = 0,
    OTK_METRIC_EUCLIDEAN = 1,
    OTK_METRIC_PNORM = 2
} otk_metric;

typedef struct otk_cost {
    size_t n;          /* number of sources (rows), >= 1 */
    size_t m;          /* number of targets (columns), >= 1 */
    const double *C;   /* dense n x m row-major costs, or NULL for points */
    const double *x;   /* n x d row-major source points (when C is NULL) */
    const double *y;   /* m x d row-major target points (when C is NULL) */
    size_t d;          /* point dimension, >= 1 (when C is NULL) */
    otk_metric metric; /* how points give costs (when C is NULL) */
    double p;          /* exponent for OTK_METRIC_PNORM, finite, >= 1 */
    double scale;      /* positive factor applied to point costs; 1 */
} otk_cost;

/* A dense cost: C is n x m, row-major, finite. */
OTK_API otk_cost otk_cost_dense(size_t n, size_t m, const double *C);
/* Point clouds x (n x d) and y (m x d) with a metric (p is used only by
 * OTK_METRIC_PNORM); scale = 1. */
OTK_API otk_cost otk_cost_points(size_t n, size_t m, size_t d, const double *x,
                                 const double *y, otk_metric metric, double p);

/*
 * One cost entry c(x_i, y_j) or C[i*m + j]; i < n, j < m. Meant for
 * callers that need a few entries (e.g. to report a cost), not for loops
 * over the whole matrix.
 */
OTK_API double otk_cost_entry(const otk_cost *cost, size_t i, size_t j);

/* One entry of a sparse plan: P[i][j] = value. */
typedef struct otk_plan_entry {
    size_t i, j;
    double value;
} otk_plan_entry;

/* What a progress callback sees. */
typedef struct otk_progress {
    const char *solver; /* "sinkhorn", ... */
    size_t iteration;   /* iterations done so far (all stages) */
    double error;       /* current stopping measure (e.g. marginal L1) */
    double reg;         /* regularization of the current stage */
    double objective;   /* current objective estimate, or NaN */
} otk_progress;

/*
 * Progress callback: called every check of the stopping rule. Return 0 to
 * continue, nonzero to stop the solve, which then ends with OTK_CANCELLED
 * and the outputs of the last iterate.
 */
typedef int (*otk_progress_fn)(void *user, const otk_progress *progress);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_BASE_H */
