/*
 * otk-sinkhorn-mpi's data movement: rank 0 has read the CSV (or .npy)
 * files; it sends every rank its even block of the sources and of the
 * targets, and gathers the blocks of the results back.
 */
#ifndef OTK_SINKHORN_MPI_SCATTER_H
#define OTK_SINKHORN_MPI_SCATTER_H

#include <mpi.h>
#include <stddef.h>

#include <otkit/otkit.h>

/* One rank's share of the problem. */
typedef struct blocks {
    int rank, size;
    size_t n, m, d;     /* global */
    size_t i0, n_loc;   /* this rank's sources */
    size_t j0, m_loc;   /* this rank's targets */
    int *rows, *row_at; /* per rank, in doubles of one row (scatter) */
    int *cols, *col_at;
    double *x, *y, *a, *b; /* this rank's blocks; a, b NULL when uniform */
    otk_cost cost;
} blocks;

/* From rank 0's problem (pb valid there only, ok its load result):
 * the sizes go to every rank, then each its blocks. Returns 0; -1 when
 * rank 0 could not load (it has reported), or -2 when a block would be
 * empty or memory is short somewhere (the lowest such rank says so, as
 * prog: message). Collective. */
int otkcli_scatter(blocks *B, MPI_Comm comm, int ok, const otk_cost *cost,
                   const double *a, const double *b, const char *prog);
void otkcli_blocks_free(blocks *B);

/* Gathers every rank's len_r items of `item` doubles (in rank order, the
 * blocks' own order) into all on rank 0 (ignored elsewhere). */
void otkcli_gather(const blocks *B, MPI_Comm comm, const double *mine, int rows,
                   size_t item, double *all);

/* 1 on every rank when any rank passes a nonzero flag. */
int otkcli_any(MPI_Comm comm, int flag);

#endif
