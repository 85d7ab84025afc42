/* Sparsity-constrained OT: the smooth-dual engine with top-k columns. */
#include <otkit/sparse.h>

#include "smooth/smooth.h"

void otk_sparse_default_settings(otk_sparse_settings *s)
{
    otk__smooth_default_settings(s);
}

otk_status otk_sparse(const otk_cost *cost, const double *a, const double *b,
                      double gamma, size_t k,
                      const otk_sparse_settings *settings, double *alpha,
                      double *beta, otk_plan_entry *plan, size_t capacity,
                      double *P, otk_sparse_info *info)
{
    return otk__smooth_solve(cost, a, b, gamma, k, settings, alpha, beta, plan,
                             capacity, P, info);
}
