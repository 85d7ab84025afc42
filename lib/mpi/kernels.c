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
    otk_sinkhorn_workspace *ws = D->ws;
    double mn = INFINITY, mx = -INFINITY;
    /* clang-format off */
#pragma omp parallel num_threads(ws->threads) if (ws->threads > 1) \
    reduction(min : mn) reduction(max : mx)
    /* clang-format on */
    {
        thread_block tb = otk__thread_block(ws);
        otk__cost_rows_bounds(&D->cost, ws->yt, tb.i0, tb.i1, tb.crow, &mn,
                              &mx);
    }
    /* the widening of otk__cost_rows_bounds is monotone, so the bounds of
     * the blocks give those of all rows whatever the split */
    double v[2] = {mn, -mx};
    otk__mpi_allreduce(D->ctx, v, 2, MPI_DOUBLE, MPI_MIN);
    *lo = v[0];
    *hi = -v[1];
}

/* The row part of the residual over this rank's rows. */
static double row_residual(const otk_sinkhorn_workspace *ws,
                           const sweep_problem *pb)
{
    double r = 0.0;
    for (size_t i = 0; i < ws->n; i++) {
        double target = isinf(pb->tau_a)
                            ? ws->wa[i]
                            : ws->wa[i] * exp(-ws->f[i] / pb->tau_a);
        r += fabs(ws->rowsum[i] - target);
    }
    return r;
}

void otk__dist_sweep(dist *D, const sweep_problem *pb)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const size_t m = D->m;
    otk__sweep_log(ws, pb);
    memcpy(D->red, ws->colsum, m * sizeof *D->red);
    D->red[m] = row_residual(ws, pb);
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

/* The sums of the final pass, in the order they travel. */
enum { T_TRANSPORT, T_TOTAL, T_FR, T_MARG, T_RESID, T_KL_A, T_DUAL, T_COUNT };

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

/* This rank's rows of the plan and their sums (t[T_*]); the column sums
 * into ws->colsum. */
static void rows_pass(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                      double *P, double *t)
{
    const size_t m = ws->m;
    const double inv = 1.0 / pb->reg, tau_a = pb->tau_a;
    double transport = 0.0, total = 0.0, fr = 0.0, marg = 0.0, resid = 0.0;
    double kl_a = 0.0, dual = 0.0;
    const int nt = ws->threads;
#pragma omp parallel num_threads(nt) if (nt > 1) \
    reduction(+ : transport, total, fr, marg, resid, kl_a, dual)
    {
        thread_block tb = otk__thread_block(ws);
        for (size_t i = tb.i0; i < tb.i1; i++) {
            const double *c = otk__shifted_row(pb, ws->yt, i, tb.crow);
            double mx, sum, ai = ws->wa[i], fi = ws->f[i];
            otk__lse_affine(ws->h, inv, c, tb.e, m, &mx, &sum);
            double w = ai > 0.0 ? exp(ws->loga[i] + fi * inv + mx) : 0.0;
            double r = w * sum;
            if (P != NULL)
                for (size_t j = 0; j < m; j++)
                    P[i * m + j] = w * tb.e[j];
            if (w > 0.0) {
                transport += w * otk__vdot(m, tb.e, c);
                otk__vaxpy(m, w, tb.e, tb.acc);
            }
            total += r;
            fr += fi * r;
            marg += fabs(r - ai);
            if (isinf(tau_a)) {
                resid += fabs(r - ai);
                dual += ai * fi;
            } else {
                resid += fabs(r - ai * exp(-fi / tau_a));
                kl_a += (r > 0.0 ? r * log(r / ai) : 0.0) - r + ai;
                dual += -ai * tau_a * expm1(-fi / tau_a);
            }
        }
    }
    otk__reduce_colsums(ws);
    const double v[T_COUNT] = {transport, total, fr, marg, resid, kl_a, dual};
    memcpy(t, v, sizeof v);
}

void otk__dist_finalize(dist *D, const sweep_problem *pb, double bscale,
                        double mass_a, double mass_b, double *P,
                        otk_sinkhorn_info *info)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const size_t m = D->m;
    const double reg = pb->reg, inv = 1.0 / reg;
    free_columns(D, pb);
    for (size_t j = 0; j < m; j++)
        ws->h[j] = ws->logb[j] + ws->g[j] * inv;
    double *t = D->red + m;
    rows_pass(ws, pb, P, t);
    memcpy(D->red, ws->colsum, m * sizeof *D->red);
    otk__mpi_sum(D->ctx, D->red, (int)(m + T_COUNT));
    double gc = 0.0, kl_b = 0.0, marg = t[T_MARG], resid = t[T_RESID];
    double dual = t[T_DUAL];
    for (size_t j = 0; j < m; j++) {
        double c = D->red[j], bj = ws->wb[j], gj = ws->g[j];
        gc += gj * c;
        marg += fabs(c - bj * bscale);
        if (isinf(pb->tau_b)) {
            resid += fabs(c - bj);
            dual += bj * gj;
        } else {
            resid += fabs(c - bj * exp(-gj / pb->tau_b));
            kl_b += (c > 0.0 ? c * log(c / bj) : 0.0) - c + bj;
            dual += -bj * pb->tau_b * expm1(-gj / pb->tau_b);
        }
    }
    /* back from C - shift (f - shift) to C and f */
    const double total = t[T_TOTAL];
    const double fr = t[T_FR] + pb->shift * total;
    dual += pb->shift * mass_a;
    double mass_term = reg * (total - mass_a * mass_b);
    info->transport_cost = t[T_TRANSPORT] + pb->shift * total;
    info->marginal_error = marg;
    info->residual = resid;
    info->objective = fr + gc - mass_term;
    if (!isinf(pb->tau_a))
        info->objective += pb->tau_a * t[T_KL_A];
    if (!isinf(pb->tau_b))
        info->objective += pb->tau_b * kl_b;
    info->dual_objective = dual - mass_term;
}
