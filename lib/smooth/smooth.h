/*
 * Private: the smooth-dual engine shared by quadratically-regularized OT
 * and sparsity-constrained OT. Both regularize each column of the plan by
 * (reg/2) ||t||^2, the second with at most k nonzeros; the engine
 * evaluates the dual or semi-dual objective and gradient (a sum over
 * columns, computed from one scan of the cost in storage order), runs
 * L-BFGS on it, and recovers the plan. The only difference between the two
 * modules is k (k >= n: no sparsity constraint). The settings' bounds
 * table, the workspace and the solve live here; lib/quadratic and
 * lib/sparse are their public names.
 */
#ifndef OTK_SMOOTH_H
#define OTK_SMOOTH_H

#include <otkit/quadratic.h>

/*
 * Validate and solve, in ws (NULL: a workspace of the problem's size for
 * this call). otk_quadratic is this with sparse = 0 (k is then n),
 * otk_sparse with sparse = 1 and the caller's k (1 <= k <= n, else "k"
 * is named).
 */
otk_status otk__smooth_run(otk_quadratic_workspace *ws, const otk_problem *pb,
                           size_t k, int sparse,
                           const otk_quadratic_settings *settings,
                           otk_solution *sol, otk_quadratic_info *info);

/* B problems of one dense shape, stacked (otk_quadratic_batch). */
otk_status otk__smooth_batch(size_t B, const otk_problem *pb, size_t k,
                             int sparse, const otk_quadratic_settings *settings,
                             otk_solution *sol, otk_quadratic_info *infos);

const otk_setting_bounds *otk__smooth_setting_bounds(size_t *count);
void otk__smooth_default_settings(otk_quadratic_settings *s);
otk_quadratic_workspace *otk__smooth_workspace_create(size_t n, size_t m);
void otk__smooth_workspace_free(otk_quadratic_workspace *ws);

/* For tests: the minimized function (the negated dual, dual = 1, or
 * semi-dual) at vars (n, or n + m for the dual) and its gradient. Inputs
 * are assumed valid (a, b may be NULL). Returns NaN if memory is short. */
double otk__smooth_eval(const otk_cost *cost, const double *a, const double *b,
                        double reg, size_t k, int dual, const double *vars,
                        double *grad);

#endif
