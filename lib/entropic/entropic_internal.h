/* Private to the entropic module: the workspace layout and the sweeps. */
#ifndef OTK_ENTROPIC_INTERNAL_H
#define OTK_ENTROPIC_INTERNAL_H

#include <otkit/entropic.h>

#include "core/core.h"
#include "linalg/par.h"

struct otk_sinkhorn_workspace {
    size_t n, m;
    double *wa, *wb;     /* weights in use (n, m) */
    double *loga, *logb; /* their logs (-inf for zero weights) */
    double *f, *g;       /* current potentials */
    double *lse;         /* n: last log-sum-exp of each row (a shift guess) */
    double *h;           /* m: log b_j + g_j / reg, or scaled v_j */
    double *colsum;      /* m: column sums accumulated by a sweep */
    double *rowsum;      /* n: row sums of the plan (new f, old g) */
    double *hn, *en, *ccol; /* n: scratch for exact column updates */
    int threads;            /* threads of the current solve */
    double *tbuf;           /* per thread: e (4 rows), crow, acc: 6m */
    double *tsums; /* per thread: OTK__FINAL_SUMS partial sums (after tbuf) */
    int tbuf_threads; /* threads tbuf has room for */
    /* who runs the blocks of the log and of the scaling sweeps (a team or
     * the calling thread, measured: linalg/par.h) */
    otk__par par_log, par_scaling;
    double *yt; /* d x m transposed targets (point clouds) */
    size_t yt_cap;
    double *K;          /* n x m kernel (scaling domain), lazily */
    double K_reg, K_lo; /* what K was built for */
    int K_valid;
    double *newton; /* Newton steps: m x m system and 4 m, lazily */
    size_t newton_cap;
    int g_valid; /* g is that of the last usable solve (warm starts) */
};

/* One problem as the sweeps see it (weights already set in the ws). */
typedef struct sweep_problem {
    const otk_cost *cost;
    double reg;
    double lam_a, lam_b; /* tau / (tau + reg), 1 when balanced */
    double tau_a, tau_b;
    double cost_lo; /* lower bound of the cost (kernel shift) */
    double shift;   /* subtracted from every cost entry: cost_lo when
                       balanced (the iterated f is then f - shift), else 0 */
    double omega;   /* over-relaxation: f <- (1-w) f + w T(g); 1 off */
} sweep_problem;

/* Rows are processed in blocks of this many (one pass over the column
 * accumulator per block instead of per row). */
#define SWEEP_BLOCK 4 /* otk__vdot4 and otk__vaxpy4 take four rows */

/* Block `block` of ws->threads blocks of rows (OTK_PAR_BLOCKS): its rows
 * [i0, i1), its scratch rows e (SWEEP_BLOCK rows of m) and crow (m), and
 * acc, where its column sums go (ws->colsum for block 0), zeroed. */
typedef struct thread_block {
    size_t i0, i1;
    double *e, *crow, *acc;
} thread_block;
thread_block otk__thread_block(otk_sinkhorn_workspace *ws, int block);
/* ws->colsum += the other blocks' accumulators, in block order. */
void otk__reduce_colsums(otk_sinkhorn_workspace *ws);

/* f from g in the log domain, accumulating the row and column sums of the
 * plan (new f, old g) in ws->rowsum and ws->colsum. With omega != 1 the
 * new f is (1 - omega) f + omega T(g) and ws->f must hold the old f. */
void otk__sweep_log(otk_sinkhorn_workspace *ws, const sweep_problem *pb);
/* The same in the scaling domain with the stored kernel (building the new
 * f in ws->hn). Returns 0, or -1 if a scaling left the safe range; ws->f
 * is then unchanged and the caller redoes the sweep in the log domain. */
int otk__sweep_scaling(otk_sinkhorn_workspace *ws, const sweep_problem *pb);
/* Build the kernel exp(-(C - lo)/reg) for a dense cost. Returns 0 or
 * OTK_ERR_NO_MEMORY. */
int otk__build_kernel(otk_sinkhorn_workspace *ws, const sweep_problem *pb);
/* Row i of the cost minus pb->shift: the cost's own row when the shift is
 * 0, else written into row (m entries). */
const double *otk__shifted_row(const sweep_problem *pb, const double *yt,
                               size_t i, double *row);
/* g_j from f exactly (log-sum-exp down column j). */
double otk__column_update(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                          size_t j, int prepare);

/* The final pass (final.c), in two halves. otk__final_rows: the plan's
 * rows from ws->f and ws->h (= log b + g / reg), written into P (n x m)
 * when not NULL, their sums into sums[] and the column sums into
 * ws->colsum. otk__final_info: every number of the info from those sums
 * and the column sums colsum (m). */
enum {
    OTK__FINAL_TRANSPORT, /* sum_ij P_ij (C_ij - shift) */
    OTK__FINAL_TOTAL,     /* sum P */
    OTK__FINAL_FR,        /* sum_i f_i (P 1)_i, f as iterated */
    OTK__FINAL_MARG,      /* the row part of marginal_error */
    OTK__FINAL_RESID,     /* the row part of the residual */
    OTK__FINAL_KL_A,      /* KL(P 1 | a) */
    OTK__FINAL_DUAL,      /* the row part of the dual value */
    OTK__FINAL_SUMS
};
/* The team size of a region run once per solve (par.h): the choice of
 * the sweeps that have been timed more. */
static inline int otk__once_team(const otk_sinkhorn_workspace *ws)
{
    return otk__par_team(ws->par_scaling.count > ws->par_log.count
                             ? &ws->par_scaling
                             : &ws->par_log);
}
/* Per-block rows for t blocks (threads); 0 or OTK_ERR_NO_MEMORY. A new
 * count starts the sweeps' measurements afresh; the same one keeps what
 * earlier solves on this workspace measured. */
int otk__reserve_threads(otk_sinkhorn_workspace *ws, int t);
/* The cost's exact min and max over the workspace's rows (for point
 * clouds one pass over its pairs, split among its threads). Needs ws->yt
 * prepared and the threads reserved. */
void otk__ws_cost_bounds(otk_sinkhorn_workspace *ws, const otk_cost *cost,
                         double *lo, double *hi);
/* The row part of the residual: the L1 violation of P 1 = a exp(-f/tau_a)
 * over the workspace's rows (sinkhorn.c). */
double otk__row_residual(const otk_sinkhorn_workspace *ws,
                         const sweep_problem *pb);
/* pb at reg: reg and the unbalanced damping factors lam_a, lam_b. */
void otk__set_reg(sweep_problem *pb, const otk_sinkhorn_settings *s,
                  double reg);
/* An epsilon-scaling stage's iteration budget (all that is left for the
 * last stage, else at most 200) and residual target (tol_abs for the last,
 * else at least 1e-3 x mass_ref), after `done` iterations. */
void otk__stage_limits(const otk_sinkhorn_settings *s, int last, size_t done,
                       double tol_abs, double mass_ref, size_t *budget,
                       double *tol);
/* The settings (or the defaults) without a warm start (divergence.c). */
void otk__cold_settings(const otk_sinkhorn_settings *settings,
                        otk_sinkhorn_settings *cold);
#define OTK__EPS_SCALING_MIN_RANGE 50.0 /* auto epsilon scaling above this */
/* The first stage's reg: R = max C - min C with epsilon scaling, else reg.
 * A warm start brings potentials for reg itself: the stages that would
 * compute them from coarser regs are skipped. */
double otk__first_reg(const otk_sinkhorn_settings *s, double range, double reg);
void otk__final_rows(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                     double *P, double sums[OTK__FINAL_SUMS]);
void otk__final_info(const otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                     const double *colsum, const double sums[OTK__FINAL_SUMS],
                     double bscale, double mass_a, double mass_b,
                     otk_sinkhorn_info *info);

/* Newton steps on g (newton.c) apply: a balanced problem with m small
 * enough for a dense m x m solve. */
int otk__newton_applies(const otk_sinkhorn_workspace *ws,
                        const sweep_problem *pb);
/* The Newton step dg for g at (ws->f, ws->g), f = T(g) (rows exact), in
 * the workspace's Newton buffer (m entries, followed by m free ones).
 * NULL with *status OTK_ERR_NO_MEMORY, or -1 when the system is singular
 * to working precision (Sinkhorn iterations then go on). */
double *otk__newton_direction(otk_sinkhorn_workspace *ws,
                              const sweep_problem *pb, int *status);

/* The start of an entry point: *where (the caller's info, or local when
 * it passed NULL) gets otk__begin on its outcome and the numbers of a
 * call that has computed nothing (no iterations, NaN). */
otk__call otk__sinkhorn_begin(otk_sinkhorn_info **where,
                              otk_sinkhorn_info *local);
/* Validates settings against the bounds table (settings.c); fails the
 * call naming the field, or returns 0. */
otk_status otk__sinkhorn_validate(otk__call *call,
                                  const otk_sinkhorn_settings *s);

/* The smallest reg / (max C - min C) a solve accepts. */
#define OTK__MIN_REL_REG 1e-10

/* The multiscale path (multiscale.c): whether settings.multiscale picks it
 * for this (checked) problem; the checks it adds to a solve's arguments
 * (OTK_ERR_INVALID_ARGUMENT naming settings.multiscale); and the solve
 * itself, which ends the call. */
int otk__multiscale_wanted(const otk_problem *pr,
                           const otk_sinkhorn_settings *s);
otk_status otk__multiscale_check(otk__call *call, const otk_problem *pr,
                                 const otk_sinkhorn_settings *s);
typedef struct otk__multiscale_args {
    double mass_a, mass_b; /* the checked masses */
    int symmetric;         /* the problem is its own transpose */
    /* the solver of the coarsest level: otk_sinkhorn, passed in so that
     * the two files do not call each other (tests/layering) */
    otk_status (*direct)(const otk_problem *, const otk_sinkhorn_settings *,
                         otk_solution *, otk_sinkhorn_info *);
} otk__multiscale_args;
otk_status otk__multiscale_solve(otk__call *call, otk_sinkhorn_workspace *ws,
                                 const otk_problem *pr,
                                 const otk_sinkhorn_settings *s,
                                 otk_solution *sol,
                                 const otk__multiscale_args *args,
                                 otk_sinkhorn_info *info);

#endif
