/*
 * The distributed pieces of an iteration and of the final pass: each is
 * the single-process computation on this rank's rows, followed by one
 * reduction that leaves the same column sums (and scalars) on every rank.
 */
#include <math.h>
#include <string.h>

#include "linalg/linalg.h"
#include "mpi/dist.h"

void otk__dist_cost_bounds(dist *D, double *lo, double *hi)
{
    double mn, mx;
    otk__ws_cost_bounds(D->ws, &D->cost, &mn, &mx);
    /* the widening of otk__cost_rows_bounds is monotone, so the bounds of
     * the blocks give those of all rows whatever the split */
    double v[2] = {mn, -mx};
    otk__mpi_allreduce(D->ctx, v, 2, MPI_DOUBLE, MPI_MIN);
    *lo = v[0];
    *hi = -v[1];
}

void otk__dist_sweep(dist *D, const sweep_problem *pb)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const size_t m = D->m;
    otk__sweep_log(ws, pb);
    memcpy(D->red, ws->colsum, m * sizeof *D->red);
    D->red[m] = otk__row_residual(ws, pb);
    otk__mpi_sum(D->ctx, D->red, (int)m + 1);
    memcpy(ws->colsum, D->red, m * sizeof *D->red);
    D->row_resid = D->red[m];
}

void otk__dist_exact_columns(dist *D, const sweep_problem *pb, size_t count,
                             double *out)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const double inv = 1.0 / pb->reg;
    for (size_t i = 0; i < D->n_loc; i++)
        ws->hn[i] = ws->loga[i] + ws->f[i] * inv;
    for (size_t k = 0; k < count; k++) {
        otk__cost_col(&D->cost, D->cols_exact[k], ws->ccol);
        for (size_t i = 0; i < D->n_loc && pb->shift != 0.0; i++)
            ws->ccol[i] -= pb->shift;
        otk__lse_affine(ws->hn, inv, ws->ccol, ws->en, D->n_loc,
                        &D->pairs[2 * k], &D->pairs[2 * k + 1]);
    }
    otk__mpi_lse_pairs(D->ctx, D->pairs, (int)count);
    for (size_t k = 0; k < count; k++)
        out[k] =
            -pb->lam_b * pb->reg * (D->pairs[2 * k] + log(D->pairs[2 * k + 1]));
}

/* Zero-weight targets get their c-transform as potential (as in
 * otk_sinkhorn); the same columns on every rank. */
static void free_columns(dist *D, const sweep_problem *pb)
{
    otk_sinkhorn_workspace *ws = D->ws;
    size_t count = 0;
    for (size_t j = 0; j < D->m; j++)
        if (ws->wb[j] == 0.0)
            D->cols_exact[count++] = j;
    if (count == 0)
        return;
    otk__dist_exact_columns(D, pb, count, ws->h);
    for (size_t k = 0; k < count; k++)
        ws->g[D->cols_exact[k]] = ws->h[k];
}

void otk__dist_finalize(dist *D, const sweep_problem *pb, double bscale,
                        double mass_a, double mass_b, double *P,
                        otk_sinkhorn_info *info)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const size_t m = D->m;
    const double inv = 1.0 / pb->reg;
    free_columns(D, pb);
    for (size_t j = 0; j < m; j++)
        ws->h[j] = ws->logb[j] + ws->g[j] * inv;
    /* this rank's rows, then the column sums and the row sums of all */
    double *sums = D->red + m;
    otk__final_rows(ws, pb, P, sums);
    memcpy(D->red, ws->colsum, m * sizeof *D->red);
    otk__mpi_sum(D->ctx, D->red, (int)(m + OTK__FINAL_SUMS));
    otk__final_info(ws, pb, D->red, sums, bscale, mass_a, mass_b, info);
}
