/*
 * otkit sparsity-constrained OT (Liu, Puigcerver, Blondel, ICLR 2023):
 *
 *     min_P  <P, C> + (reg/2) ||P||_F^2   s.t.  P 1 = a,  P^T 1 = b,
 *            P >= 0,  at most k nonzeros in every column of P.
 *
 * The problem is not convex; like the paper, otkit solves the convex dual
 * or semi-dual of its relaxation and reads the plan off the gradient:
 *
 *   dual       regularizer conjugate (1/(2 reg)) sum of the k largest
 *              [x_i]_+^2: plan column = [x]_+ / reg on the top k entries
 *              of x = f + g_j - c_j;
 *   semi-dual  column j = b_j * the sparse projection onto the simplex of
 *              (f - c_j) / (reg b_j): its k largest entries projected
 *              onto the simplex, zeros elsewhere.
 *
 * The maximum is certified (info.dual_gap, info.relative_gap; converged
 * only when relative_gap <= tol), also where it is a kink of the
 * objective (ties in the top-k selection of an optimal column): the tie
 * structure's optimality conditions are solved exactly (docs/quadratic.md,
 * "The finish and the certificate"). The semi-dual is the dual maximized
 * over g, so both have the same maximum for every k (docs/quadratic.md,
 * "Dual and semi-dual").
 *
 * Every column of the returned plan has at most k nonzeros, but its
 * marginals are met only approximately in general (exactly for k >= the
 * column supports of the quadratic solution): at a kink the optimality
 * conditions hold for a convex combination of tied selections, which has
 * more nonzeros. Among the k-sparse plans of the optimal potentials otkit
 * returns the tie solve's choice or the plain top-k selection, whichever
 * has the smaller marginal error; info.marginal_error is the measured
 * violation, info.objective that plan's primal value. k = n (all rows) is
 * quadratic OT; k = 1 is the linear program's semi-dual, whose potentials
 * are optimal for exact OT (otkit starts from the network simplex's). For
 * at most k nonzeros per row, transpose the problem (swap a and b,
 * transpose C).
 *
 * Top-k is found by partial selection in expected O(n) per column, ties
 * broken towards the lower row index. Settings, their bounds table, info
 * and workspace are those of otkit/quadratic.h (docs/api.md: the
 * convention; reg is Blondel's gamma, f and g his alpha and beta).
 */
#ifndef OTKIT_SPARSE_H
#define OTKIT_SPARSE_H

#include <otkit/quadratic.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef otk_quadratic_settings otk_sparse_settings;
typedef otk_quadratic_info otk_sparse_info;
typedef otk_quadratic_workspace otk_sparse_workspace;

/* The same table as otk_quadratic_setting_bounds. */
OTK_API const otk_setting_bounds *otk_sparse_setting_bounds(size_t *count);
OTK_API void otk_sparse_default_settings(otk_sparse_settings *s);

/* As otk_quadratic, with k (1 <= k <= n, else OTK_ERR_INVALID_ARGUMENT
 * naming "k") nonzeros per column at most; a plan capacity of k * m
 * always suffices. */
OTK_API otk_status otk_sparse(const otk_problem *problem, size_t k,
                              const otk_sparse_settings *settings,
                              otk_solution *solution, otk_sparse_info *info);

/* The workspace of otk_quadratic_workspace_create (the same type). */
OTK_API otk_sparse_workspace *otk_sparse_workspace_create(size_t n, size_t m);
OTK_API void otk_sparse_workspace_free(otk_sparse_workspace *ws);
/* As otk_sparse() in a workspace (see otk_quadratic_solve). */
OTK_API otk_status otk_sparse_solve(otk_sparse_workspace *ws,
                                    const otk_problem *problem, size_t k,
                                    const otk_sparse_settings *settings,
                                    otk_solution *solution,
                                    otk_sparse_info *info);

/* B problems of one shape in one call, as otk_quadratic_batch, with k
 * nonzeros per column at most in every problem; capacity k * m per
 * problem always suffices. */
OTK_API otk_status otk_sparse_batch(size_t B, const otk_problem *problem,
                                    size_t k,
                                    const otk_sparse_settings *settings,
                                    otk_solution *solution,
                                    otk_sparse_info *infos);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_SPARSE_H */
