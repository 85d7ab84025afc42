/* Strongly convex FISTA and gradient descent with an a-posteriori
 * certificate (see linalg.h). */
#include "linalg.h"

#include <math.h>
#include <string.h>

otk__solve_result otk__scfista(otk__gradient_fn gradient, void *user,
                               size_t len, double mu, double L, double eps,
                               size_t max_iter, double *x, double *scratch)
{
    otk__solve_result res = {0, INFINITY, 0, 0};
    double *x_prev = scratch, *z = scratch + len, *grad = scratch + 2 * len;
    /* t_0 = 1 makes the first extrapolation weight 0 (plain FISTA's
     * start); t_0 = 0 would send the first extrapolated point back to x_0
     * and waste an iteration. */
    double tau = 1.0 / L, q = tau * mu, t = 1;

    memcpy(x_prev, x, len * sizeof *x);
    memcpy(z, x, len * sizeof *z);
    for (;;) {
        if ((res.error = gradient(user, z, grad)) != 0)
            return res;
        double gnorm = sqrt(otk__dot(len, grad, grad));
        if (!isfinite(gnorm))
            return res; /* not reached; the caller reports it */
        if (gnorm <= mu * eps || res.iterations >= max_iter) {
            res.residual = gnorm;
            res.reached = gnorm <= mu * eps;
            /* x = z - tau grad: certified when reached, the last iterate
             * otherwise */
            for (size_t i = 0; i < len; i++)
                x[i] = z[i] - tau * grad[i];
            return res;
        }
        /* x_{k+1} = z - tau grad(z); z = x_{k+1} + beta (x_{k+1} - x_k) */
        memcpy(x_prev, x, len * sizeof *x);
        for (size_t i = 0; i < len; i++)
            x[i] = z[i] - tau * grad[i];
        double a = 1 - q * t * t;
        double t_next = 0.5 * (a + sqrt(a * a + 4 * t * t));
        double beta = (t - 1) * (1 - t_next * q) / (t_next * (1 - q));
        if (!(q < 1)) /* mu == L: one gradient step is exact */
            beta = 0;
        for (size_t i = 0; i < len; i++)
            z[i] = x[i] + beta * (x[i] - x_prev[i]);
        t = t_next;
        res.iterations++;
    }
}

otk__solve_result otk__scgd(otk__gradient_fn gradient, void *user, size_t len,
                            double mu, double L, double eps, size_t max_iter,
                            double *x, double *scratch)
{
    otk__solve_result res = {0, INFINITY, 0, 0};
    double *grad = scratch, step = 2.0 / (L + mu);
    for (;;) {
        if ((res.error = gradient(user, x, grad)) != 0)
            return res;
        double gnorm = sqrt(otk__dot(len, grad, grad));
        if (!isfinite(gnorm))
            return res;
        res.residual = gnorm;
        if (gnorm <= mu * eps) {
            res.reached = 1;
            return res;
        }
        if (res.iterations >= max_iter)
            return res;
        otk__axpy(len, -step, grad, x);
        res.iterations++;
    }
}
