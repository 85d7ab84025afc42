/*
 * otkit quadratically-regularized OT (Blondel, Seguy, Rolet, AISTATS 2018):
 *
 *     min_P  <P, C> + (gamma/2) ||P||_F^2   s.t.  P 1 = a,  P^T 1 = b,  P >= 0.
 *
 * Unlike the entropic plan, this plan is sparse: most entries are exactly
 * zero. It is solved through one of two smooth concave problems, by L-BFGS
 * (Debian's liblbfgs):
 *
 *   dual       max_{alpha, beta} <alpha, a> + <beta, b>
 *                 - (1/(2 gamma)) sum_ij [alpha_i + beta_j - C_ij]_+^2,
 *              plan P_ij = [alpha_i + beta_j - C_ij]_+ / gamma;
 *   semi-dual  max_alpha <alpha, a> - sum_j max_Omega(alpha - c_j; b_j),
 *              column j of the plan = b_j * proj_simplex((alpha - c_j) /
 *              (gamma b_j)), which meets P^T 1 = b exactly.
 *
 * In both, the gradient is the marginal violation of the plan, so the
 * stopping rule (the L1 marginal error of the returned plan <= tol) is a
 * gradient test. The semi-dual has n variables instead of n + m and each
 * of its steps is at least as good as the best beta for its alpha; it is
 * the default. Plans are recovered column by column and never need an
 * n x m array unless the caller asks for the dense plan.
 *
 * The same engine solves the sparsity-constrained problem (otkit/sparse.h);
 * this header's settings and info serve both.
 */
#ifndef OTKIT_QUADRATIC_H
#define OTKIT_QUADRATIC_H

#include <otkit/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum otk_formulation {
    OTK_FORMULATION_SEMI_DUAL = 0, /* variables alpha (n); default */
    OTK_FORMULATION_DUAL = 1       /* variables alpha (n) and beta (m) */
} otk_formulation;

typedef struct otk_quadratic_settings {
    /* Which smooth problem L-BFGS solves. Default OTK_FORMULATION_SEMI_DUAL.
     */
    otk_formulation formulation;
    /* Stop when the L1 marginal error of the recovered plan is <= tol
     * times the total mass of a (the rule is relative: weights 1e-300 a
     * and 1e-300 b with gamma 1e300 give 1e-300 times the plan of a, b,
     * gamma 1, after the same iterations). Default 1e-9; valid: finite,
     * >= 0. */
    double tol;
    /* L-BFGS iterations. Default 10000; valid: >= 1. */
    size_t max_iter;
    /* L-BFGS memory (pairs kept). Default 10; valid: 1..1000. */
    int history;
    /* Threads for the column passes, as in otk_sinkhorn_settings: 0
     * (default) the OpenMP default, at most one per 131072 cost entries;
     * never more than OTK_MAX_THREADS, 4 per processor, or m. Valid: >= 0.
     */
    int threads;
    /* Called every L-BFGS iteration (error = marginal error, objective =
     * the dual or semi-dual value); nonzero return cancels. */
    otk_progress_fn progress;
    void *progress_user;
} otk_quadratic_settings;

typedef struct otk_quadratic_info {
    /* OTK_CONVERGED; OTK_MAX_ITER; OTK_STALLED (the line search could not
     * make progress before tol: precision exhausted or, for small k in
     * otk_sparse, a nonsmooth objective); OTK_CANCELLED; or an error. */
    otk_status status;
    size_t iterations;     /* L-BFGS iterations */
    size_t evaluations;    /* objective/gradient evaluations */
    double marginal_error; /* ||P 1 - a||_1 + ||P^T 1 - b||_1 */
    double transport_cost; /* <P, C> */
    double objective;      /* primal value <P, C> + (gamma/2) ||P||^2 */
    double dual_objective; /* the dual or semi-dual value at the result */
    size_t nnz;            /* nonzero entries of the plan */
    size_t max_col_nnz;    /* largest number of nonzeros in a column */
    double time_s;
    const char *bad_argument; /* as in otk_sinkhorn_info */
    size_t bad_index;
} otk_quadratic_info;

OTK_API void otk_quadratic_default_settings(otk_quadratic_settings *s);

/*
 * Solve. gamma > 0 (finite, in the units of the cost) with gamma times
 * the total mass at least DBL_MIN and its inverse finite (the plan / mass
 * is solved with the regularization gamma mass), else
 * OTK_ERR_INVALID_ARGUMENT naming "gamma". a, b: weights (NULL: uniform),
 * equal masses within 1e-9 relative. Shifting every cost by one constant
 * changes only the potentials (alpha + constant) and the values (+
 * constant times the mass): a dense cost whose minimum exceeds its spread
 * is solved as C - min C, so a large common offset costs no precision.
 * A result holding a NaN or an infinity is never returned as usable:
 * OTK_ERR_NUMERICAL (the outputs were written but are not to be used).
 * Outputs, each optional (NULL):
 *   alpha (n), beta (m)  the dual potentials (for the semi-dual, beta is
 *                        recovered from the column projections)
 *   plan, capacity       the plan's nonzeros by column then row; at most
 *                        capacity are written, info.nnz tells how many
 *                        there are
 *   P                    the dense n x m plan
 */
OTK_API otk_status otk_quadratic(const otk_cost *cost, const double *a,
                                 const double *b, double gamma,
                                 const otk_quadratic_settings *settings,
                                 double *alpha, double *beta,
                                 otk_plan_entry *plan, size_t capacity,
                                 double *P, otk_quadratic_info *info);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_QUADRATIC_H */
