/*
 * Newton steps on g for small balanced problems, where Sinkhorn's linear
 * rate can be 1 - 1e-8 (nearly disconnected plans, docs/entropic.md).
 *
 * With f = T(g) (rows exact), the semi-dual F(g) = <a, f> + <b, g> has the
 * gradient b - c (c the column sums of the plan) and the Hessian
 * -L / reg, where L is the Laplacian of the graph with weights
 * W_jk = sum_i P_ij P_ik / r_i (r the row sums). The Newton step solves
 * L dg = reg (b - c). Forming L from W's off-diagonal entries, with the
 * diagonal as their sums, keeps the tiny eigenvalues of nearly disconnected
 * blocks (the slow modes) free of the cancellation that
 * diag(c) - P^T diag(1/r) P would suffer.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entropic/entropic_internal.h"
#include "linalg/linalg.h"

#define NEWTON_MAX_M 512    /* the m x m system stays small */
#define NEWTON_MAX_WORK 4e7 /* n m^2 flops per step, about 10 sweeps */

int otk__newton_applies(const otk_sinkhorn_workspace *ws,
                        const sweep_problem *pb)
{
    return isinf(pb->tau_a) && isinf(pb->tau_b) && ws->m <= NEWTON_MAX_M &&
           (double)ws->n * (double)ws->m * (double)ws->m <= NEWTON_MAX_WORK;
}

/* Room for L (m x m), a plan row, c, dg and the saved g. */
static double *newton_buffer(otk_sinkhorn_workspace *ws)
{
    const size_t need = ws->m * ws->m + 4 * ws->m;
    if (ws->newton_cap < need) {
        double *buf = malloc(need * sizeof *buf);
        if (buf == NULL)
            return NULL;
        free(ws->newton);
        ws->newton = buf;
        ws->newton_cap = need;
    }
    return ws->newton;
}

/* In-place Cholesky of the m x m matrix A (lower triangle), then the solve
 * of A x = x. A pivot at or below floor is rounding noise: a block of the
 * plan that is disconnected to working precision. Its unknown is held at 0
 * (the solve is that of the other unknowns' system), since the right
 * side's own rounding divided by such a pivot asks for steps of 1e9 reg
 * in a meaningless direction, which backtracking can only shrink to
 * nothing, and which depends on how the build rounds. Returns -1 when a
 * pivot is not finite. */
static int cholesky_solve(double *A, size_t m, double *x, double floor)
{
    for (size_t j = 0; j < m; j++) {
        double d = A[j * m + j];
        for (size_t k = 0; k < j; k++)
            d -= A[j * m + k] * A[j * m + k];
        if (!isfinite(d))
            return -1;
        d = d > floor ? sqrt(d) : 0.0;
        A[j * m + j] = d;
        for (size_t i = j + 1; i < m; i++) {
            double s = A[i * m + j];
            for (size_t k = 0; k < j; k++)
                s -= A[i * m + k] * A[j * m + k];
            A[i * m + j] = d > 0.0 ? s / d : 0.0;
        }
    }
    for (size_t i = 0; i < m; i++) { /* L y = x */
        double s = x[i];
        for (size_t k = 0; k < i; k++)
            s -= A[i * m + k] * x[k];
        x[i] = A[i * m + i] > 0.0 ? s / A[i * m + i] : 0.0;
    }
    for (size_t i = m; i-- > 0;) { /* L^T x = y */
        double s = x[i];
        for (size_t k = i + 1; k < m; k++)
            s -= A[k * m + i] * x[k];
        x[i] = A[i * m + i] > 0.0 ? s / A[i * m + i] : 0.0;
    }
    return 0;
}

double *otk__newton_direction(otk_sinkhorn_workspace *ws,
                              const sweep_problem *pb, int *status)
{
    const size_t n = ws->n, m = ws->m;
    const double reg = pb->reg, inv = 1.0 / reg;
    double *L = newton_buffer(ws);
    *status = L == NULL ? OTK_ERR_NO_MEMORY : 0;
    if (L == NULL)
        return NULL;
    double *p = L + m * m, *c = p + m, *dg = c + m;
    memset(L, 0, m * m * sizeof *L);
    memset(c, 0, m * sizeof *c);
    for (size_t i = 0; i < n; i++) {
        if (ws->wa[i] == 0.0)
            continue;
        const double *row = otk__shifted_row(pb, ws->yt, i, ws->tbuf);
        double r = 0.0;
        for (size_t j = 0; j < m; j++) {
            p[j] = ws->wb[j] > 0.0 ? exp(ws->loga[i] + ws->logb[j] +
                                         (ws->f[i] + ws->g[j] - row[j]) * inv)
                                   : 0.0;
            r += p[j];
            c[j] += p[j];
        }
        if (!(r > 0.0))
            continue;
        for (size_t j = 0; j < m; j++) /* W += p p^T / r, lower part */
            if (p[j] > 0.0)
                for (size_t k = 0; k < j; k++)
                    L[j * m + k] += p[j] * p[k] / r;
    }
    /* L = diag(row sums of W) - W; plus s 1 1^T / m, which removes the
     * null space (the constant) without changing the step, since the
     * right side sums to 0 */
    double s = 0.0;
    for (size_t j = 0; j < m; j++) {
        double d = 0.0;
        for (size_t k = 0; k < m; k++)
            d += k < j ? L[j * m + k] : k > j ? L[k * m + j] : 0.0;
        L[j * m + j] = d;
        s = fmax(s, d);
    }
    for (size_t j = 0; j < m; j++) {
        for (size_t k = 0; k < j; k++)
            L[j * m + k] = -L[j * m + k] + s / (double)m;
        L[j * m + j] += s / (double)m;
        dg[j] = ws->wb[j] > 0.0 ? reg * (ws->wb[j] - c[j]) : 0.0;
    }
    if (!(s > 0.0) ||
        cholesky_solve(L, m, dg, s * (double)m * DBL_EPSILON) != 0) {
        *status = -1;
        return NULL;
    }
    return dg;
}
