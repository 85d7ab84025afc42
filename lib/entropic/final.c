/*
 * The final pass's two halves, shared by otk_sinkhorn and the distributed
 * solver (libotkit_mpi): the plan's rows with their sums, and every number
 * of the info from those sums and the column sums. Between the two, the
 * distributed solver adds the ranks' sums together.
 */
#include <math.h>

#include "entropic/entropic_internal.h"
#include "linalg/linalg.h"

typedef struct final_job {
    otk_sinkhorn_workspace *ws;
    const sweep_problem *pb;
    double *P;
} final_job;

/* Block b of the final pass: its rows, its sums into its partial sums. */
static void final_block(void *arg, int b)
{
    const final_job *job = arg;
    otk_sinkhorn_workspace *ws = job->ws;
    const sweep_problem *pb = job->pb;
    double *P = job->P;
    const size_t m = ws->m;
    const double inv = 1.0 / pb->reg, tau_a = pb->tau_a;
    {
        thread_block tb = otk__thread_block(ws, b);
        double transport = 0.0, total = 0.0, fr = 0.0, marg = 0.0;
        double resid = 0.0, kl_a = 0.0, dual = 0.0;
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
        double *part = ws->tsums + (size_t)b * OTK__FINAL_SUMS;
        part[OTK__FINAL_TRANSPORT] = transport;
        part[OTK__FINAL_TOTAL] = total;
        part[OTK__FINAL_FR] = fr;
        part[OTK__FINAL_MARG] = marg;
        part[OTK__FINAL_RESID] = resid;
        part[OTK__FINAL_KL_A] = kl_a;
        part[OTK__FINAL_DUAL] = dual;
    }
}

void otk__final_rows(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                     double *P, double sums[OTK__FINAL_SUMS])
{
    /* each block's sums, added in block order: the same numbers whoever
     * runs the blocks */
    const int nt = ws->threads, team = otk__once_team(ws);
    otk__par_blocks(team, nt, final_block, &(final_job){ws, pb, P});
    for (int k = 0; k < OTK__FINAL_SUMS; k++)
        sums[k] = 0.0;
    for (int b = 0; b < nt; b++)
        for (int k = 0; k < OTK__FINAL_SUMS; k++)
            sums[k] += ws->tsums[(size_t)b * OTK__FINAL_SUMS + k];
    otk__reduce_colsums(ws);
}

void otk__final_info(const otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                     const double *colsum, const double sums[OTK__FINAL_SUMS],
                     double bscale, double mass_a, double mass_b,
                     otk_sinkhorn_info *info)
{
    const double reg = pb->reg;
    double gc = 0.0, kl_b = 0.0, marg = sums[OTK__FINAL_MARG];
    double resid = sums[OTK__FINAL_RESID], dual = sums[OTK__FINAL_DUAL];
    for (size_t j = 0; j < ws->m; j++) {
        double c = colsum[j], bj = ws->wb[j], gj = ws->g[j];
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
    const double total = sums[OTK__FINAL_TOTAL];
    double transport = sums[OTK__FINAL_TRANSPORT] + pb->shift * total;
    double fr = sums[OTK__FINAL_FR] + pb->shift * total;
    dual += pb->shift * mass_a;
    double mass_term = reg * (total - mass_a * mass_b);
    info->transport_cost = transport;
    info->marginal_error = marg;
    info->residual = resid;
    info->neglected_mass = 0.0; /* every entry of the plan is formed */
    /* reg KL(P | ab^T) = sum P (f + g - C) - reg (sum P - sum a sum b) */
    info->objective = fr + gc - mass_term;
    if (!isinf(pb->tau_a))
        info->objective += pb->tau_a * sums[OTK__FINAL_KL_A];
    if (!isinf(pb->tau_b))
        info->objective += pb->tau_b * kl_b;
    info->dual_objective = dual - mass_term;
}
