/* Input validation shared by every solver: the library checks everything
 * before doing any work, and reports the first bad entry. */
#include <math.h>

#include "core/core.h"

size_t otk__first_nonfinite(const double *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isfinite(v[i]))
            return i;
    return SIZE_MAX;
}

otk_status otk__finite_result(otk_status st, const double *v, size_t len)
{
    if (st < 0 || v == NULL)
        return st;
    return otk__first_nonfinite(v, len) == SIZE_MAX ? st : OTK_ERR_NUMERICAL;
}

otk_status otk__check_weights(const double *w, size_t len, double *mass,
                              size_t *bad)
{
    *bad = SIZE_MAX;
    if (w == NULL) {
        *mass = 1.0;
        return OTK_CONVERGED;
    }
    double total = 0.0;
    for (size_t i = 0; i < len; i++) {
        if (!isfinite(w[i]) || w[i] < 0.0) {
            *bad = i;
            return OTK_ERR_INVALID_INPUT;
        }
        total += w[i];
    }
    *mass = total;
    if (!(total > 0.0) || !isfinite(total))
        return OTK_ERR_MASS_MISMATCH;
    return OTK_CONVERGED;
}

int otk__masses_match(double mass_a, double mass_b)
{
    return fabs(mass_a - mass_b) <= 1e-9 * fmax(mass_a, mass_b);
}

otk_status otk__check_cost(const otk_cost *cost, const char **what, size_t *bad)
{
    *bad = SIZE_MAX;
    if (cost == NULL) {
        *what = "cost";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (cost->n == 0 || cost->m == 0) {
        *what = cost->n == 0 ? "cost.n" : "cost.m";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (cost->n > SIZE_MAX / cost->m) {
        *what = "cost.n";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (cost->C != NULL) {
        *bad = otk__first_nonfinite(cost->C, cost->n * cost->m);
        if (*bad != SIZE_MAX) {
            *what = "cost.C";
            return OTK_ERR_INVALID_INPUT;
        }
        return OTK_CONVERGED;
    }
    if (cost->x == NULL || cost->y == NULL) {
        *what = cost->x == NULL ? "cost.x" : "cost.y";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (cost->d == 0 || cost->n > SIZE_MAX / cost->d ||
        cost->m > SIZE_MAX / cost->d) {
        *what = "cost.d";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (cost->metric != OTK_METRIC_SQEUCLIDEAN &&
        cost->metric != OTK_METRIC_EUCLIDEAN &&
        cost->metric != OTK_METRIC_PNORM) {
        *what = "cost.metric";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (cost->metric == OTK_METRIC_PNORM &&
        !(isfinite(cost->p) && cost->p >= 1.0)) {
        *what = "cost.p";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    if (!(isfinite(cost->scale) && cost->scale > 0.0)) {
        *what = "cost.scale";
        return OTK_ERR_INVALID_ARGUMENT;
    }
    *bad = otk__first_nonfinite(cost->x, cost->n * cost->d);
    if (*bad != SIZE_MAX) {
        *what = "cost.x";
        return OTK_ERR_INVALID_INPUT;
    }
    *bad = otk__first_nonfinite(cost->y, cost->m * cost->d);
    if (*bad != SIZE_MAX) {
        *what = "cost.y";
        return OTK_ERR_INVALID_INPUT;
    }
    return OTK_CONVERGED;
}
