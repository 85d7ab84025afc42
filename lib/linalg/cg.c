/* Conjugate gradient to an absolute residual (see linalg.h). */
#include "linalg.h"

#include <math.h>
#include <string.h>

otk__solve_result otk__cg(otk__matvec_fn matvec, void *user, size_t len,
                          const double *b, double *q, double tol,
                          size_t max_iter, double *scratch)
{
    otk__solve_result res = {0, INFINITY, 0, 0};
    double *r = scratch, *d = scratch + len, *ad = scratch + 2 * len;
    double *aq = scratch + 3 * len;

    /* r = b - A q; no product for the usual q = 0 */
    int zero = 1;
    for (size_t i = 0; i < len && zero; i++)
        zero = q[i] == 0.0;
    if (!zero && (res.error = matvec(user, q, aq)) != 0)
        return res;
    for (size_t i = 0; i < len; i++)
        r[i] = zero ? b[i] : b[i] - aq[i];
    double rr = otk__dot(len, r, r);
    memcpy(d, r, len * sizeof *d);
    while (sqrt(rr) > tol && res.iterations < max_iter) {
        if ((res.error = matvec(user, d, ad)) != 0)
            return res;
        double dad = otk__dot(len, d, ad);
        if (!(dad > 0)) /* not positive definite, or NaN: stop honestly */
            break;
        double step = rr / dad;
        otk__axpy(len, step, d, q);
        otk__axpy(len, -step, ad, r);
        double rr_new = otk__dot(len, r, r);
        double beta = rr_new / rr;
        for (size_t i = 0; i < len; i++)
            d[i] = r[i] + beta * d[i];
        rr = rr_new;
        res.iterations++;
    }
    /* The recurrence drifts from the true residual in floating point;
     * the certificate needs the real one. */
    if ((res.error = matvec(user, q, aq)) != 0)
        return res;
    double tr = 0;
    for (size_t i = 0; i < len; i++)
        tr += (b[i] - aq[i]) * (b[i] - aq[i]);
    res.residual = sqrt(tr);
    res.reached = res.residual <= tol;
    return res;
}
