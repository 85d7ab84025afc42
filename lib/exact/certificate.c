/* The exact solver's optimality certificate (certificate.h). */
#include <float.h>
#include <math.h>

#include "exact/certificate.h"
#include "linalg/linalg.h"

double otk__exact_tolerance(size_t n, size_t m, double lo, double hi)
{
    return fmax(1e-10, 64.0 * DBL_EPSILON * (double)(n + m)) *
           fmax(fmax(fabs(lo), fabs(hi)), DBL_MIN);
}

int otk__exact_certified(const otk_cost *cost, const double *yt, double *row,
                         const double *f, const double *g,
                         const otk_plan_entry *plan, size_t nnz, double mass,
                         double transport, double dual, double tol)
{
    if (!(fabs(transport - dual) <= tol * mass))
        return 0;
    for (size_t k = 0; k < nnz; k++) {
        double rc = otk__cost_entry(cost, plan[k].i, plan[k].j) - f[plan[k].i] -
                    g[plan[k].j];
        if (!(fabs(rc) <= tol))
            return 0;
    }
    for (size_t i = 0; i < cost->n; i++) {
        const double *c = otk__cost_row(cost, yt, i, row);
        for (size_t j = 0; j < cost->m; j++)
            if (!(c[j] - f[i] - g[j] >= -tol))
                return 0;
    }
    return 1;
}
