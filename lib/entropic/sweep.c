/*
 * The Sinkhorn sweeps. One sweep reads each cost (or kernel) row once: it
 * computes f_i from g by a log-sum-exp over row i and, with the row's
 * exponentials kept (read back from their cached end), adds row i of the
 * plan (new f, old g) into the column sums.
 * Those column sums are both the residual of that plan and all the g
 * update needs, so the iteration costs one pass over the cost, not two.
 *
 * Rows are split into one contiguous block per thread; each thread sums
 * its columns into its own accumulator and the accumulators are added in
 * thread order, so a run is reproducible for a given thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entropic/entropic_internal.h"
#include "linalg/linalg.h"

/* A one-pass row is trusted when its sum lies in this range (see
 * otk__exp_affine_sum). */
#define ONE_PASS_MIN 1e-200
#define ONE_PASS_MAX 1e200

thread_block otk__thread_block(otk_sinkhorn_workspace *ws, int block)
{
    const size_t t = (size_t)block, nt = (size_t)ws->threads;
    const size_t m = ws->m;
    double *base = ws->tbuf + t * (SWEEP_BLOCK + 2) * m;
    thread_block b = {ws->n * t / nt, ws->n * (t + 1) / nt, base,
                      base + SWEEP_BLOCK * m,
                      t == 0 ? ws->colsum : base + (SWEEP_BLOCK + 1) * m};
    memset(b.acc, 0, m * sizeof *b.acc);
    return b;
}

void otk__reduce_colsums(otk_sinkhorn_workspace *ws)
{
    for (int t = 1; t < ws->threads; t++) {
        const double *acc = ws->tbuf + (size_t)t * (SWEEP_BLOCK + 2) * ws->m +
                            (SWEEP_BLOCK + 1) * ws->m;
        otk__vaxpy(ws->m, 1.0, acc, ws->colsum);
    }
}

/* acc += sum_r w_r row_r over `rows` consecutive rows of length m. The
 * rows were just written front to back and their weights need the whole
 * rows' sums, so this cannot be fused into the pass that wrote them; read
 * back to front, the rows' cached end (L2: about 1 MiB of a block's 32 m
 * bytes) is used before it is evicted. Same sums, column by column. */
static void add_rows(size_t m, size_t rows, const double *w, const double *x,
                     double *acc)
{
    if (rows == SWEEP_BLOCK) {
        otk__vaxpy4_back(m, w, x, acc);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        if (w[r] != 0.0)
            otk__vaxpy(m, w[r], x + r * m, acc);
}

const double *otk__shifted_row(const sweep_problem *pb, const double *yt,
                               size_t i, double *row)
{
    const double *c = otk__cost_row(pb->cost, yt, i, row);
    if (pb->shift == 0.0)
        return c;
    /* C_ij - min C is exact where C_ij is within a factor 2 of min C
     * (Sterbenz), which is what keeps large offsets harmless */
    for (size_t j = 0; j < pb->cost->m; j++)
        row[j] = c[j] - pb->shift;
    return row;
}

/* A sweep's blocks (otk__par_blocks): what they read, and what the
 * scaling sweep's blocks report. */
typedef struct sweep_job {
    otk_sinkhorn_workspace *ws;
    const sweep_problem *pb;
    double shift;  /* the scaling sweep's exponent shift */
    int failed;    /* a scaling left the safe range (atomic) */
    size_t redone; /* log sweep: rows computed twice (atomic) */
} sweep_job;

/* Block b of a log-domain sweep. */
static void log_block(void *arg, int b)
{
    sweep_job *job = arg;
    size_t redone = 0;
    otk_sinkhorn_workspace *ws = job->ws;
    const sweep_problem *pb = job->pb;
    const size_t m = ws->m;
    const double reg = pb->reg, inv = 1.0 / reg, lam = pb->lam_a;
    {
        thread_block tb = otk__thread_block(ws, b);
        for (size_t i0 = tb.i0; i0 < tb.i1; i0 += SWEEP_BLOCK) {
            size_t rows = tb.i1 - i0 < SWEEP_BLOCK ? tb.i1 - i0 : SWEEP_BLOCK;
            double w[SWEEP_BLOCK] = {0}, sums[SWEEP_BLOCK];
            /* Last sweep's log-sum-exp is nearly this one's: use it as
             * the shift and read the rows once, a tile of columns at a
             * time for the whole block; fall back to the two-pass
             * max-then-sum for a row whose guess was too far off. */
            otk__cost_rows_exp(pb->cost, ws->yt, i0, rows, pb->shift, ws->h,
                               inv, ws->lse + i0, tb.e, sums, tb.crow);
            for (size_t r = 0; r < rows; r++) {
                size_t i = i0 + r;
                double *e = tb.e + r * m;
                double shift = ws->lse[i], sum = sums[r];
                if (!(sum >= ONE_PASS_MIN && sum <= ONE_PASS_MAX)) {
                    /* the one pass skips a row without a guess */
                    redone += isfinite(shift);
                    const double *c = otk__shifted_row(pb, ws->yt, i, tb.crow);
                    otk__lse_affine(ws->h, inv, c, e, m, &shift, &sum);
                }
                double log_sum = log(sum);
                ws->lse[i] = shift + log_sum;
                /* T = the plain update; delta = over-relaxation's step */
                double T = -lam * reg * ws->lse[i];
                double delta =
                    pb->omega == 1.0 ? 0.0 : (1.0 - pb->omega) * (ws->f[i] - T);
                ws->f[i] = T + delta;
                /* P_ij = a_i e_j exp(shift + f_i / reg), with the exponent
                 * written so that it is exact when lam = 1, delta = 0. */
                w[r] = ws->wa[i] *
                       exp(delta * inv + (1.0 - lam) * shift - lam * log_sum);
                ws->rowsum[i] = w[r] * sum;
            }
            add_rows(m, rows, w, tb.e, tb.acc);
        }
    }
    __atomic_fetch_add(&job->redone, redone, __ATOMIC_RELAXED);
}

void otk__sweep_log(otk_sinkhorn_workspace *ws, const sweep_problem *pb)
{
    const size_t m = ws->m;
    const double inv = 1.0 / pb->reg;
    for (size_t j = 0; j < m; j++)
        ws->h[j] = ws->logb[j] + ws->g[j] * inv;
    sweep_job job = {ws, pb, 0.0, 0, 0};
    const int team = otk__par_begin(&ws->par_log);
    otk__par_blocks(team, ws->threads, log_block, &job);
    /* a row computed twice (its guess was off) costs about a row more
     * (1.9 times the instructions) */
    otk__par_end_work(&ws->par_log, 1.0 + (double)job.redone / (double)ws->n);
    otk__reduce_colsums(ws);
}

/* Block b of the kernel's rows. */
static void kernel_block(void *arg, int b)
{
    const sweep_job *job = arg;
    const otk_sinkhorn_workspace *ws = job->ws;
    const sweep_problem *pb = job->pb;
    const size_t n = ws->n, m = ws->m, t = (size_t)b, nt = (size_t)ws->threads;
    const double inv = 1.0 / pb->reg, lo = pb->cost_lo;
    for (size_t i = n * t / nt; i < n * (t + 1) / nt; i++) {
        const double *c = pb->cost->C + i * m;
        double *k = ws->K + i * m;
        for (size_t j = 0; j < m; j++)
            k[j] = (lo - c[j]) * inv;
        otk__exp_shift_sum(k, 0.0, k, m);
    }
}

int otk__build_kernel(otk_sinkhorn_workspace *ws, const sweep_problem *pb)
{
    const size_t n = ws->n, m = ws->m;
    if (ws->K_valid && ws->K_reg == pb->reg && ws->K_lo == pb->cost_lo)
        return 0;
    if (ws->K == NULL) {
        ws->K = malloc(n * m * sizeof *ws->K);
        if (ws->K == NULL)
            return OTK_ERR_NO_MEMORY;
    }
    const int team = otk__par_team(&ws->par_scaling);
    otk__par_blocks(team, ws->threads, kernel_block,
                    &(sweep_job){ws, pb, 0.0, 0, 0});
    ws->K_valid = 1;
    ws->K_reg = pb->reg;
    ws->K_lo = pb->cost_lo;
    return 0;
}

static void scaling_block(void *arg, int b);

/*
 * With K_ij = exp(-(C_ij - lo)/reg), sigma = max_j g_j and
 * v_j = b_j exp((g_j - sigma)/reg) <= b_j:
 *   f_i = -lam (sigma - lo + reg log (K v)_i),
 *   P_ij = u_i K_ij v_j with u_i = a_i exp((f_i + sigma - lo)/reg).
 */
int otk__sweep_scaling(otk_sinkhorn_workspace *ws, const sweep_problem *pb)
{
    const size_t n = ws->n, m = ws->m;
    const double inv = 1.0 / pb->reg;
    double sigma = -INFINITY;
    for (size_t j = 0; j < m; j++)
        if (ws->wb[j] > 0.0 && ws->g[j] > sigma)
            sigma = ws->g[j];
    for (size_t j = 0; j < m; j++)
        ws->h[j] = (ws->g[j] - sigma) * inv;
    otk__exp_shift_sum(ws->h, 0.0, ws->h, m);
    for (size_t j = 0; j < m; j++)
        ws->h[j] *= ws->wb[j];
    sweep_job job = {ws, pb, sigma - (pb->cost_lo - pb->shift), 0, 0};
    const int team = otk__par_begin(&ws->par_scaling);
    otk__par_blocks(team, ws->threads, scaling_block, &job);
    otk__par_end(&ws->par_scaling);
    if (job.failed)
        return -1;
    memcpy(ws->f, ws->hn, n * sizeof *ws->f);
    otk__reduce_colsums(ws);
    for (size_t j = 0; j < m; j++)
        ws->colsum[j] *= ws->h[j];
    return 0;
}

/* Block b of a scaling-domain sweep. */
static void scaling_block(void *arg, int b)
{
    sweep_job *job = arg;
    otk_sinkhorn_workspace *ws = job->ws;
    const sweep_problem *pb = job->pb;
    const size_t m = ws->m;
    const double reg = pb->reg, inv = 1.0 / reg, lam = pb->lam_a;
    const double shift = job->shift;
    {
        thread_block tb = otk__thread_block(ws, b);
        int bad = 0;
        /* Blocks of rows: their K v in one pass over v, their column
         * updates in one pass over the accumulator. */
        for (size_t i0 = tb.i0; i0 < tb.i1 && !bad; i0 += SWEEP_BLOCK) {
            const double *k = ws->K + i0 * m;
            size_t rows = tb.i1 - i0 < SWEEP_BLOCK ? tb.i1 - i0 : SWEEP_BLOCK;
            double kv[SWEEP_BLOCK], u[SWEEP_BLOCK] = {0};
            if (rows == SWEEP_BLOCK)
                otk__vdot4(m, k, ws->h, kv);
            else
                for (size_t r = 0; r < rows; r++)
                    kv[r] = otk__vdot(m, k + r * m, ws->h);
            for (size_t r = 0; r < rows && !bad; r++) {
                size_t i = i0 + r;
                bad = !(kv[r] > 1e-280 && kv[r] < 1e280);
                double lkv = log(kv[r]);
                double T = -lam * (shift + reg * lkv);
                double delta =
                    pb->omega == 1.0 ? 0.0 : (1.0 - pb->omega) * (ws->f[i] - T);
                ws->hn[i] = T + delta; /* f is kept until the sweep succeeds */
                ws->lse[i] = NAN;      /* no shift guess for the log domain */
                u[r] = ws->wa[i] *
                       exp(delta * inv + (1.0 - lam) * shift * inv - lam * lkv);
                ws->rowsum[i] = u[r] * kv[r];
            }
            add_rows(m, rows, u, k, tb.acc);
        }
        if (bad)
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
    }
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
    for (size_t i = 0; i < n && pb->shift != 0.0; i++)
        ws->ccol[i] -= pb->shift;
    double mx, sum;
    otk__lse_affine(ws->hn, inv, ws->ccol, ws->en, n, &mx, &sum);
    return -pb->lam_b * pb->reg * (mx + log(sum));
}
