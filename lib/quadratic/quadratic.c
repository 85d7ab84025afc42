/* Quadratically-regularized OT: the smooth-dual engine without sparsity. */
#include "smooth/smooth.h"

void otk_quadratic_default_settings(otk_quadratic_settings *s)
{
    otk__smooth_default_settings(s);
}

otk_status otk_quadratic(const otk_cost *cost, const double *a, const double *b,
                         double gamma, const otk_quadratic_settings *settings,
                         double *alpha, double *beta, otk_plan_entry *plan,
                         size_t capacity, double *P, otk_quadratic_info *info)
{
    /* k = n: every row may be used, no sparsity constraint */
    size_t n = cost != NULL ? cost->n : 0;
    return otk__smooth_solve(cost, a, b, gamma, n > 0 ? n : 1, settings, alpha,
                             beta, plan, capacity, P, info);
}
