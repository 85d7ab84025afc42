/*
 * otkit sparsity-constrained OT (Liu, Puigcerver, Blondel, ICLR 2023):
 *
 *     min_P  <P, C> + (gamma/2) ||P||_F^2   s.t.  P 1 = a,  P^T 1 = b,
 *            P >= 0,  at most k nonzeros in every column of P.
 *
 * The problem is not convex; like the paper, otkit solves the convex dual
 * or semi-dual of its relaxation and reads the plan off the gradient:
 *
 *   dual       regularizer conjugate (1/(2 gamma)) sum of the k largest
 *              [x_i]_+^2: plan column = [x]_+ / gamma on the top k entries
 *              of x = alpha + beta_j - c_j;
 *   semi-dual  column j = b_j * the sparse projection onto the simplex of
 *              (alpha - c_j) / (gamma b_j): its k largest entries projected
 *              onto the simplex, zeros elsewhere.
 *
 * Every column of the returned plan has at most k nonzeros, but its
 * marginals are met only approximately in general (exactly for k >= the
 * column supports of the quadratic solution); info.marginal_error is the
 * measured violation, never hidden. k = n (all rows) is quadratic OT;
 * with the semi-dual, k = 1 is the linear program's semi-dual, whose
 * potentials are optimal for exact OT. For at most k nonzeros per row,
 * transpose the problem (swap a and b, transpose C).
 *
 * Top-k is found by partial selection in expected O(n) per column, ties
 * broken towards the lower row index. Settings and info are those of
 * otkit/quadratic.h.
 */
#ifndef OTKIT_SPARSE_H
#define OTKIT_SPARSE_H

#include <otkit/quadratic.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef otk_quadratic_settings otk_sparse_settings;
typedef otk_quadratic_info otk_sparse_info;

OTK_API void otk_sparse_default_settings(otk_sparse_settings *s);

/* As otk_quadratic, with k (1 <= k <= n) nonzeros per column at most; a
 * plan capacity of k * m always suffices. */
OTK_API otk_status otk_sparse(const otk_cost *cost, const double *a,
                              const double *b, double gamma, size_t k,
                              const otk_sparse_settings *settings,
                              double *alpha, double *beta, otk_plan_entry *plan,
                              size_t capacity, double *P,
                              otk_sparse_info *info);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_SPARSE_H */
