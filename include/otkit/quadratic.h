/*
 * otkit quadratically-regularized OT (Blondel, Seguy, Rolet, AISTATS 2018):
 *
 *     min_P  <P, C> + (reg/2) ||P||_F^2   s.t.  P 1 = a,  P^T 1 = b,  P >= 0.
 *
 * Unlike the entropic plan, this plan is sparse: most entries are exactly
 * zero. It is solved through one of two smooth concave problems, by L-BFGS
 * (Debian's liblbfgs):
 *
 *   dual       max_{f, g} <f, a> + <g, b>
 *                 - (1/(2 reg)) sum_ij [f_i + g_j - C_ij]_+^2,
 *              plan P_ij = [f_i + g_j - C_ij]_+ / reg;
 *   semi-dual  max_f <f, a> - sum_j max_Omega(f - c_j; b_j),
 *              column j of the plan = b_j * proj_simplex((f - c_j) /
 *              (reg b_j)), which meets P^T 1 = b exactly.
 *
 * In both, the gradient is the marginal violation of the plan, so the
 * stopping rule (the L1 marginal error of the returned plan <= tol) is a
 * gradient test. The semi-dual has n variables instead of n + m and each
 * of its steps is at least as good as the best g for its f; it is
 * the default. Plans are recovered column by column and never need an
 * n x m array unless the caller asks for the dense plan.
 *
 * The same engine solves the sparsity-constrained problem (otkit/sparse.h);
 * this header's settings, info and workspace serve both.
 *
 * Names (docs/api.md): reg is Blondel's gamma, f and g are his alpha and
 * beta; the tools accept --gamma as an alias of --reg.
 */
#ifndef OTKIT_QUADRATIC_H
#define OTKIT_QUADRATIC_H

#include <otkit/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum otk_formulation {
    OTK_FORMULATION_SEMI_DUAL = 0, /* variables f (n); default */
    OTK_FORMULATION_DUAL = 1       /* variables f (n) and g (m) */
} otk_formulation;

/*
 * Settings. Every numeric field is in the bounds table
 * (otk_quadratic_setting_bounds); a field out of its range gives
 * OTK_ERR_INVALID_ARGUMENT naming "settings.FIELD".
 */
typedef struct otk_quadratic_settings {
    /* Which smooth problem L-BFGS solves. Default
     * OTK_FORMULATION_SEMI_DUAL; valid: [0, 1] */
    otk_formulation formulation;
    /* L-BFGS runs until the L1 marginal error of the recovered plan is
     * <= tol times the total mass of a (the rule is relative: weights
     * 1e-300 a and 1e-300 b with reg 1e300 give 1e-300 times the plan of
     * a, b, reg 1, after the same iterations), or stalls, or (otk_sparse)
     * creeps (a window of iterations gains too little, docs/quadratic.md);
     * Newton steps on the pieces of the objective and the tie solve then
     * finish, and L-BFGS goes on from an uncertified finish. The solve is
     * converged exactly when the certified relative gap
     * (info.relative_gap) is <= tol. */
    double tol; /* Default 1e-9; valid: [0, inf) */
    /* L-BFGS iterations and Newton steps together. */
    size_t max_iter; /* Default 10000; valid: [1, 2147483647] */
    /* L-BFGS memory (pairs kept). */
    int history; /* Default 10; valid: [1, 1000] */
    /* Threads for the column passes (docs/api.md): 0 the OpenMP default,
     * at most one per 131072 cost entries; never more than
     * OTK_MAX_THREADS, 4 per processor, or m. It fixes the split of the
     * columns; a team or the calling thread runs them, as measured. */
    int threads; /* Default 0; valid: [0, inf) */
    /* 1: start from the potentials in solution->f (and solution->g for
     * the dual), which must then be given and finite ("solution.f",
     * "solution.g"); 0: start from zero. */
    int warm_start; /* Default 0; valid: [0, 1] */
    /* Called every L-BFGS iteration (error = marginal error, objective =
     * the dual or semi-dual value, reg = the problem's reg, detail =
     * NULL); nonzero return cancels. */
    otk_progress_fn progress;
    void *progress_user;
} otk_quadratic_settings;

/*
 * What a solve reports. outcome.cause, for a positive status:
 *   "max_iter"     OTK_MAX_ITER: settings.max_iter iterations and Newton
 *                  steps done, the gap not certified;
 *   "line_search"  OTK_STALLED: neither L-BFGS nor the Newton steps could
 *                  bring the certified relative gap under tol: precision
 *                  exhausted or, for small k in otk_sparse, an optimum at
 *                  a kink (ties in the top-k selection of an optimal
 *                  column, where the selected plan's marginal violation
 *                  does not vanish); info.dual_gap still bounds the
 *                  distance to the maximum;
 *   "progress"     OTK_CANCELLED: the progress callback returned nonzero.
 * The numbers a failed call did not compute are NaN (counts 0).
 */
typedef struct otk_quadratic_info {
    otk_outcome outcome;
    size_t iterations;     /* L-BFGS iterations plus Newton steps */
    size_t evaluations;    /* objective/gradient evaluations */
    double marginal_error; /* ||P 1 - a||_1 + ||P^T 1 - b||_1 */
    double transport_cost; /* <P, C> */
    double objective;      /* primal value <P, C> + (reg/2) ||P||^2 */
    double dual_objective; /* the dual or semi-dual value at the result */
    size_t nnz;            /* nonzero entries of the plan */
    size_t max_col_nnz;    /* largest number of nonzeros in a column */
    /* The certificate: dual_gap >= (the maximum of the dual or
     * semi-dual) - dual_objective, from a supergradient (the plan's
     * marginal violation) and the box the optimality conditions put the
     * optimal potentials in (docs/quadratic.md, "The certificate");
     * relative_gap is dual_gap / max(|dual_objective|, mass (max C - min C
     * + reg mass max b)), the number compared with tol. */
    double dual_gap;
    double relative_gap;
} otk_quadratic_info;

/* The bounds table of otk_quadratic_settings (docs/api.md); count gets
 * its number of records (count may be NULL). otk_sparse uses it too. */
OTK_API const otk_setting_bounds *otk_quadratic_setting_bounds(size_t *count);

/* The table's defaults, no progress callback. */
OTK_API void otk_quadratic_default_settings(otk_quadratic_settings *s);

/*
 * Solve (docs/api.md: problem, solution, info; each may be NULL but the
 * problem). problem->reg > 0 (finite, in the units of the cost; Blondel's
 * gamma) with reg times the total mass at least DBL_MIN and its inverse
 * finite (the plan / mass is solved with the regularization reg mass),
 * else OTK_ERR_INVALID_ARGUMENT naming "reg". a, b: weights (NULL:
 * uniform), equal masses within 1e-9 relative. Shifting every cost by one
 * constant changes only the potentials (f + constant) and the values (+
 * constant times the mass): a dense cost whose minimum exceeds its spread
 * is solved as C - min C, so a large common offset costs no precision.
 * A result holding a NaN or an infinity is never returned as usable:
 * OTK_ERR_NUMERICAL (the outputs were written but are not to be used).
 * Outputs (members of the solution, each optional):
 *   f (n), g (m)      the dual potentials (for the semi-dual, g is
 *                     recovered from the column projections); in too
 *                     with settings.warm_start
 *   P                 the dense n x m plan
 *   plan, capacity    the plan's nonzeros in row-major order (by i, then
 *                     j); at most capacity are written, info.nnz tells
 *                     how many there are
 */
OTK_API otk_status otk_quadratic(const otk_problem *problem,
                                 const otk_quadratic_settings *settings,
                                 otk_solution *solution,
                                 otk_quadratic_info *info);

/*
 * A workspace for repeated solves of n x m problems (docs/api.md), shared
 * by otk_quadratic_solve and otk_sparse_solve (otk_sparse_workspace is
 * the same type). It holds every array a solve needs except the L-BFGS
 * history, which liblbfgs allocates per solve (2 history (n + m)
 * numbers): buffers that depend on the problem (the point dimension, the
 * number of threads) are sized at the first solve that needs them and
 * kept, so repeated solves of one kind allocate nothing else. One
 * workspace per thread. NULL when n or m is 0 or memory is short.
 */
typedef struct otk_quadratic_workspace otk_quadratic_workspace;
OTK_API otk_quadratic_workspace *otk_quadratic_workspace_create(size_t n,
                                                                size_t m);
OTK_API void otk_quadratic_workspace_free(otk_quadratic_workspace *ws);
/* As otk_quadratic(); the cost's n and m must equal the workspace's, else
 * OTK_ERR_INVALID_ARGUMENT naming "cost.n" or "cost.m" (a NULL ws: as
 * otk_quadratic, with a workspace for this call). */
OTK_API otk_status otk_quadratic_solve(otk_quadratic_workspace *ws,
                                       const otk_problem *problem,
                                       const otk_quadratic_settings *settings,
                                       otk_solution *solution,
                                       otk_quadratic_info *info);

/*
 * B independent problems of one shape n x m in one call (docs/quadratic.md,
 * "Batches"), for many small problems such as routing tokens to experts.
 * problem describes them stacked:
 *   cost      dense only (point clouds: OTK_ERR_INVALID_ARGUMENT naming
 *             "cost.C"); cost.n, cost.m are one problem's shape and cost.C
 *             holds B blocks: problem q's cost is cost.C + q n m
 *   a, b      B x n and B x m stacked weights, or NULL: uniform for all
 *   reg       one value for every problem
 * solution, stacked the same way (each member optional): f (B x n),
 * g (B x m), P (B x n x m); plan holds B lists of capacity entries each,
 * problem q's at plan + q capacity (capacity is per problem, the array
 * has B capacity entries; infos[q].nnz tells how many problem q has).
 * With settings.warm_start, each problem starts from its own f (and g).
 * infos: NULL or an array of B, infos[q] exactly as the one-by-one call
 * would fill it. A bad argument of one problem (a NaN cost, a negative
 * weight, unequal masses) fails that problem only, its info naming it
 * ("cost.C", bad_index within its block); the others are solved. What
 * the problems share (B >= 1, problem, a dense cost, the sizes) is
 * checked first: a failure there fails every info and solves nothing.
 * settings.threads threads (0: the OpenMP default; at most B) share the
 * problems, one workspace per thread created once per call; each solve
 * runs on one thread, so problem q's result equals, bit for bit, that of
 * otk_quadratic on its block with settings.threads = 1, whatever the
 * thread count. The progress callback is called from the thread solving
 * a problem, concurrently when threads > 1 (it must be thread-safe).
 * The status is the worst of the B solves: the first failed problem's
 * error if any failed, else the first non-converged problem's positive
 * status if any did not converge, else OTK_CONVERGED.
 */
OTK_API otk_status otk_quadratic_batch(size_t B, const otk_problem *problem,
                                       const otk_quadratic_settings *settings,
                                       otk_solution *solution,
                                       otk_quadratic_info *infos);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_QUADRATIC_H */
