/*
 * One distributed Sinkhorn solve on this rank (private to libotkit_mpi).
 * The rank owns rows [row0, row0 + n_loc) of the global problem and
 * holds every target (gathered once); its sweeps run the entropic
 * module's own kernels on a workspace of n_loc rows and m columns, so
 * that each of its rows is computed exactly as otk_sinkhorn computes it.
 */
#ifndef OTK_MPI_DIST_H
#define OTK_MPI_DIST_H

#include "entropic/entropic_internal.h"
#include "mpi/comm.h"

typedef struct dist {
    mpi_ctx *ctx;
    size_t n, m, d;             /* global sizes */
    size_t n_loc, m_loc;        /* this rank's blocks */
    size_t row0, col0;          /* their offsets */
    int *rows, *row_at;         /* per rank: rows and first row */
    int *cols, *col_at;         /* per rank: targets and first target */
    double *y;                  /* m x d: every target */
    otk_cost cost;              /* this rank's rows against every target */
    otk_sinkhorn_workspace *ws; /* n_loc x m */
    double *red;                /* m + OTK__FINAL_SUMS: one reduction */
    double *pairs;              /* 2 m: (max, sum) pairs of columns */
    size_t *cols_exact;         /* m: columns that need an exact update */
    double *f_all;              /* n, symmetric problems: every f */
    double row_resid;           /* last sweep's row residual, all ranks */
    int symmetric;
} dist;

/* Everything a solve needs before iterating: argument checks (collective,
 * the same outcome on every rank), the global sizes and masses, the
 * gathered targets and weights, the workspace and the threads. Returns 0
 * or the agreed error (call failed). */
otk_status otk__dist_setup(dist *D, mpi_ctx *ctx, otk__call *call,
                           const otk_problem *pr,
                           const otk_sinkhorn_settings *s,
                           const otk_solution *sol, double *mass_a,
                           double *mass_b);
void otk__dist_free(dist *D);

/* The global min and max of the cost (exact: MIN/MAX reductions). */
void otk__dist_cost_bounds(dist *D, double *lo, double *hi);

/* One sweep from the (replicated) g: this rank's f, then the column sums
 * and the row residual reduced to every rank (ws->colsum, D->row_resid). */
void otk__dist_sweep(dist *D, const sweep_problem *pb);

/* T(f)_j = -lam_b reg log sum_i a_i exp((f_i - C_ij)/reg) for the
 * columns D->cols_exact[0..count), exactly (one (max, sum) reduction),
 * into out[k]. Every rank must call it with the same columns. */
void otk__dist_exact_columns(dist *D, const sweep_problem *pb, size_t count,
                             double *out);

/* The final pass: the plan of the returned potentials (this rank's rows
 * into P when not NULL) and every number of the info, global. */
void otk__dist_finalize(dist *D, const sweep_problem *pb, double bscale,
                        double mass_a, double mass_b, double *P,
                        otk_sinkhorn_info *info);

#endif
