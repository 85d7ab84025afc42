/*
 * Private: the smooth-dual engine shared by quadratically-regularized OT
 * and sparsity-constrained OT. Both regularize each column of the plan by
 * (gamma/2) ||t||^2, the second with at most k nonzeros; the engine
 * evaluates the dual or semi-dual objective and gradient (a sum over
 * columns, computed from one scan of the cost in storage order), runs
 * L-BFGS on it, and recovers the plan. The only difference between the two
 * modules is k (k >= n: no sparsity constraint).
 */
#ifndef OTK_SMOOTH_H
#define OTK_SMOOTH_H

#include <otkit/quadratic.h>

/* Validate and solve; the public otk_quadratic and otk_sparse are this
 * with k = n and with the caller's k (1 <= k <= n, else "k" is named). */
otk_status otk__smooth_solve(const otk_cost *cost, const double *a,
                             const double *b, double gamma, size_t k,
                             const otk_quadratic_settings *settings,
                             double *alpha, double *beta, otk_plan_entry *plan,
                             size_t capacity, double *P,
                             otk_quadratic_info *info);

void otk__smooth_default_settings(otk_quadratic_settings *s);

/* For tests: the minimized function (the negated dual, dual = 1, or
 * semi-dual) at vars (n, or n + m for the dual) and its gradient. Inputs
 * are assumed valid (a, b may be NULL). Returns NaN if memory is short. */
double otk__smooth_eval(const otk_cost *cost, const double *a, const double *b,
                        double gamma, size_t k, int dual, const double *vars,
                        double *grad);

#endif
