/*
 * The Sinkhorn sweeps. One sweep reads each cost (or kernel) row once: it
 * computes f_i from g by a log-sum-exp over row i and, with the row still
 * in cache, adds row i of the plan (new f, old g) into the column sums.
 * Those column sums are both the residual of that plan and all the g
 * update needs, so the iteration costs one pass over the cost, not two.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entropic/entropic_internal.h"
#include "linalg/linalg.h"

void otk__sweep_log(otk_sinkhorn_workspace *ws, const sweep_problem *pb)
{
    const size_t n = ws->n, m = ws->m;
    const double reg = pb->reg, inv = 1.0 / reg, lam = pb->lam_a;
    for (size_t j = 0; j < m; j++)
        ws->h[j] = ws->logb[j] + ws->g[j] * inv;
    memset(ws->colsum, 0, m * sizeof *ws->colsum);
    for (size_t i = 0; i < n; i++) {
        const double *c = otk__cost_row(pb->cost, ws->yt, i, ws->crow);
        double mx, sum;
        otk__lse_affine(ws->h, inv, c, ws->e, m, &mx, &sum);
        double lse = mx + log(sum);
        ws->f[i] = -lam * reg * lse;
        if (ws->wa[i] == 0.0)
            continue;
        /* P_ij = a_i exp(t_j + f_i / reg) = a_i e_j exp(mx + f_i / reg);
         * the exponent is written so that it is exact when lam = 1. */
        double w = ws->wa[i] * exp((1.0 - lam) * mx - lam * log(sum));
        otk__axpy(m, w, ws->e, ws->colsum);
    }
}

int otk__build_kernel(otk_sinkhorn_workspace *ws, const sweep_problem *pb)
{
    const size_t n = ws->n, m = ws->m;
    if (ws->K_valid && ws->K_reg == pb->reg && ws->K_lo == pb->cost_lo &&
        ws->K_src == pb->cost->C)
        return 0;
    if (ws->K == NULL) {
        ws->K = malloc(n * m * sizeof *ws->K);
        if (ws->K == NULL)
            return OTK_ERR_NO_MEMORY;
    }
    const double inv = 1.0 / pb->reg;
    for (size_t i = 0; i < n; i++) {
        const double *c = pb->cost->C + i * m;
        double *k = ws->K + i * m;
        for (size_t j = 0; j < m; j++)
            k[j] = (pb->cost_lo - c[j]) * inv;
        otk__exp_shift_sum(k, 0.0, k, m);
    }
    ws->K_valid = 1;
    ws->K_reg = pb->reg;
    ws->K_lo = pb->cost_lo;
    ws->K_src = pb->cost->C;
    return 0;
}

/*
 * With K_ij = exp(-(C_ij - lo)/reg), sigma = max_j g_j and
 * v_j = b_j exp((g_j - sigma)/reg) <= b_j:
 *   f_i = -lam (sigma - lo + reg log (K v)_i),
 *   P_ij = u_i K_ij v_j with u_i = a_i exp((f_i + sigma - lo)/reg).
 */
int otk__sweep_scaling(otk_sinkhorn_workspace *ws, const sweep_problem *pb)
{
    const size_t n = ws->n, m = ws->m;
    const double reg = pb->reg, inv = 1.0 / reg, lam = pb->lam_a;
    double sigma = -INFINITY;
    for (size_t j = 0; j < m; j++)
        if (ws->wb[j] > 0.0 && ws->g[j] > sigma)
            sigma = ws->g[j];
    for (size_t j = 0; j < m; j++)
        ws->h[j] = (ws->g[j] - sigma) * inv;
    otk__exp_shift_sum(ws->h, 0.0, ws->h, m);
    for (size_t j = 0; j < m; j++)
        ws->h[j] *= ws->wb[j];
    memset(ws->colsum, 0, m * sizeof *ws->colsum);
    const double shift = sigma - pb->cost_lo;
    for (size_t i = 0; i < n; i++) {
        const double *k = ws->K + i * m;
        double kv = otk__dot(m, k, ws->h);
        if (!(kv > 1e-280 && kv < 1e280))
            return -1;
        double lkv = log(kv);
        ws->f[i] = -lam * (shift + reg * lkv);
        if (ws->wa[i] == 0.0)
            continue;
        double u = ws->wa[i] * exp((1.0 - lam) * shift * inv - lam * lkv);
        otk__axpy(m, u, k, ws->colsum);
    }
    for (size_t j = 0; j < m; j++)
        ws->colsum[j] *= ws->h[j];
    return 0;
}

double otk__column_update(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                          size_t j, int prepare)
{
    const size_t n = ws->n;
    const double inv = 1.0 / pb->reg;
    if (prepare)
        for (size_t i = 0; i < n; i++)
            ws->hn[i] = ws->loga[i] + ws->f[i] * inv;
    otk__cost_col(pb->cost, j, ws->ccol);
    double mx, sum;
    otk__lse_affine(ws->hn, inv, ws->ccol, ws->en, n, &mx, &sum);
    return -pb->lam_b * pb->reg * (mx + log(sum));
}
