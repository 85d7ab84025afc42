/*
 * otkit: optimal-transport and bilevel-optimization solvers.
 *
 * This header holds what every solver module shares (otkit/otkit.h, the
 * umbrella, includes it and every solver header):
 *   - the version (compile-time macros and the run-time otk_version()),
 *   - the library-wide status enum otk_status and otk_status_string(),
 *   - the cost description otk_cost (a dense matrix, or two point clouds
 *     and a metric whose cost is computed on the fly),
 *   - otk_outcome, the first member of every solver's info record,
 *   - the progress-callback record otk_progress (one for every solver),
 *   - settings bounds as data (otk_setting_bounds and its queries),
 *   - otk_problem and otk_solution, the transport solvers' in and out.
 *
 * docs/api.md describes the convention every solver follows.
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
#define OTK_VERSION_MINOR 2
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

/*
 * What every solver's info record starts with (docs/api.md). Each
 * otk_X_info has an otk_outcome named `outcome` as its first member, so
 * code that handles any solver's result can read it the same way.
 */
typedef struct otk_outcome {
    /* The call's result; the function also returns it. */
    otk_status status;
    /* For OTK_ERR_INVALID_ARGUMENT, OTK_ERR_INVALID_INPUT and
     * OTK_ERR_MASS_MISMATCH: the argument or settings field at fault
     * ("reg", "a", "cost.C", "settings.tol", ...), NULL otherwise. */
    const char *bad_argument;
    /* The first bad index of an array argument, else SIZE_MAX. */
    size_t bad_index;
    /* For a positive status (usable but not converged) or a warning: a
     * short identifier of the cause ("ll_max_iter", "inner_max_iter",
     * ...) documented by each solver; NULL when there is none. */
    const char *cause;
    /* Wall-clock seconds of the call. */
    double time_s;
} otk_outcome;

/* What a progress callback sees; the same record for every solver. */
typedef struct otk_progress {
    const char *solver; /* "sinkhorn", "exact", "quadratic", ... */
    size_t iteration;   /* iterations (or steps) done so far */
    double error;       /* current stopping measure (residual), or NaN */
    double reg;         /* regularization of the current stage, or NaN */
    double objective;   /* current objective or loss estimate, or NaN */
    double elapsed_s;   /* wall-clock seconds since the call started */
    /* A solver-specific record with more detail, or NULL; its type is
     * given by `solver` and documented in that solver's header. Valid only
     * during the call. */
    const void *detail;
} otk_progress;

/*
 * Progress callback: called as each solver's header says (at every check
 * of the stopping rule, step, or outer iteration). Return 0 to continue,
 * nonzero to stop the solve, which then ends with OTK_CANCELLED and the
 * outputs of the last iterate.
 */
typedef int (*otk_progress_fn)(void *user, const otk_progress *progress);

/*
 * Settings bounds as data (docs/api.md). Every solver module publishes a
 * table with one record per numeric settings field: its default, its
 * valid range and its meaning. The library validates settings with the
 * table, the tools check their options and print their --help ranges
 * from it, and callers may query it:
 *
 *     size_t count;
 *     const otk_setting_bounds *t = otk_sinkhorn_setting_bounds(&count);
 *     const otk_setting_bounds *tol = otk_setting_find(t, count, "tol");
 *
 * A value v is valid when lower <= v <= upper, with the inequality strict
 * where OTK_BOUND_LOWER_OPEN / OTK_BOUND_UPPER_OPEN is set; NaN never is.
 * Infinite values are valid only if the bound allows them (upper or lower
 * is itself infinite and the bound is closed there, e.g. tau = INFINITY).
 */
typedef enum otk_setting_kind {
    OTK_SETTING_REAL = 0,    /* a double field */
    OTK_SETTING_COUNT = 1,   /* a size_t field */
    OTK_SETTING_INTEGER = 2, /* an int field (also enums and 0/1 flags) */
    OTK_SETTING_ULONG = 3    /* an unsigned long field (seeds) */
} otk_setting_kind;

#define OTK_BOUND_LOWER_OPEN 1u /* lower bound excluded */
#define OTK_BOUND_UPPER_OPEN 2u /* upper bound excluded */

typedef struct otk_setting_bounds {
    const char *name;     /* the field, as in C ("tol", "sinkhorn.tol") */
    const char *argument; /* how errors name it ("settings.tol") */
    otk_setting_kind kind;
    double lower, upper; /* the valid range (see above) */
    unsigned flags;      /* OTK_BOUND_* */
    double default_value;
    const char *meaning; /* one line, for documentation and --help */
    size_t offset;       /* offsetof the field in the settings struct */
} otk_setting_bounds;

/* The record of `name` in a table of `count` records, or NULL. */
OTK_API const otk_setting_bounds *
otk_setting_find(const otk_setting_bounds *table, size_t count,
                 const char *name);
/* 1 if value is inside the bounds (see above), 0 otherwise. */
OTK_API int otk_setting_valid(const otk_setting_bounds *bounds, double value);
/* The valid range as text, e.g. "[1, 1000]", "(0, inf)", "[0, 2)", or for
 * integer kinds with open bounds the equivalent closed ones (">= 1" is
 * written "[1, inf)"). Writes at most len bytes (NUL included) and returns
 * the length the full text needs, like snprintf. */
OTK_API size_t otk_setting_range(const otk_setting_bounds *bounds, char *buf,
                                 size_t len);
/* The field's current value in a settings struct of the table's solver,
 * converted to double (counts above 2^53 lose precision; SIZE_MAX
 * becomes INFINITY, and INFINITY is what means "no limit"). */
OTK_API double otk_setting_get(const otk_setting_bounds *bounds,
                               const void *settings);
/* Writes value into the field of a settings struct, converted to the
 * field's kind (INFINITY into a count is SIZE_MAX, "no limit"; counts above
 * 2^53 are rounded as doubles are). No range check: see otk_setting_valid. */
OTK_API void otk_setting_set(const otk_setting_bounds *bounds, void *settings,
                             double value);

/*
 * A transport problem, for the solvers that take one (docs/api.md):
 * the cost, the weights (NULL: uniform 1/n and 1/m) and the
 * regularization in the units of the cost (ignored by otk_exact).
 */
typedef struct otk_problem {
    const otk_cost *cost;
    const double *a; /* n weights, or NULL */
    const double *b; /* m weights, or NULL */
    double reg;
} otk_problem;

/*
 * Where a transport solver writes its solution; every member may be NULL
 * (or 0) when not wanted. The caller owns every array.
 *   f, g      potentials, n and m (in too, for warm starts)
 *   P         the dense n x m plan, row-major
 *   plan      the plan's nonzero entries in row-major order (by i, then
 *             j), at most `capacity` of them; the info's nnz tells how
 *             many the plan has (more than capacity: the list is cut)
 */
typedef struct otk_solution {
    double *f;
    double *g;
    double *P;
    otk_plan_entry *plan;
    size_t capacity;
} otk_solution;

/*
 * The layout of the public structs, for bindings that declare them
 * themselves (the Python package checks its ctypes Structures against it
 * at import). One record per field: the struct's and the field's names
 * as in C, offsetof and sizeof the field; and one record per struct with
 * field NULL, offset 0 and size = sizeof the struct, before its fields.
 * Static, never freed; *count (may be NULL) gets the number of records.
 */
typedef struct otk_layout_field {
    const char *type;  /* "otk_sinkhorn_settings", ... */
    const char *field; /* "tol", ..., or NULL for the struct itself */
    size_t offset;
    size_t size;
} otk_layout_field;

OTK_API const otk_layout_field *otk_layout(size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_BASE_H */
