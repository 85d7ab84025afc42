/* Rank 0's problem in even blocks to every rank, and the results back. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scatter.h"

int otkcli_any(MPI_Comm comm, int flag)
{
    MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_LOR, comm);
    return flag;
}

/* Even blocks: rank r gets [total r / P, total (r + 1) / P). */
static void even(size_t total, int P, int *count, int *at)
{
    for (int r = 0; r < P; r++) {
        at[r] = (int)(total * (size_t)r / (size_t)P);
        count[r] = (int)(total * (size_t)(r + 1) / (size_t)P) - at[r];
    }
}

/* What rank 0 tells everyone first. */
typedef struct header {
    int ok, has_a, has_b, metric;
    unsigned long long n, m, d;
    double p;
} header;

/* Every rank's error: the lowest rank reports it; returns nonzero on all
 * ranks when some rank failed. */
static int failed(const blocks *B, MPI_Comm comm, const char *msg,
                  const char *prog)
{
    int first = msg != NULL ? B->rank : B->size;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == B->rank)
        fprintf(stderr, "%s: rank %d: %s\n", prog, B->rank, msg);
    return first < B->size;
}

static void scatter_block(const blocks *B, MPI_Comm comm, const double *all,
                          const int *count, const int *at, size_t item,
                          double *mine)
{
    MPI_Datatype row;
    MPI_Type_contiguous((int)item, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    MPI_Scatterv(all, count, at, row, mine, count[B->rank], row, 0, comm);
    MPI_Type_free(&row);
}

int otkcli_scatter(blocks *B, MPI_Comm comm, int ok, const otk_cost *cost,
                   const double *a, const double *b, const char *prog)
{
    memset(B, 0, sizeof *B);
    MPI_Comm_rank(comm, &B->rank);
    MPI_Comm_size(comm, &B->size);
    header h = {0};
    if (B->rank == 0 && ok)
        h = (header){1,       a != NULL, b != NULL, (int)cost->metric,
                     cost->n, cost->m,   cost->d,   cost->p};
    MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, 0, comm);
    if (!h.ok)
        return -1;
    const size_t P = (size_t)B->size;
    B->n = h.n;
    B->m = h.m;
    B->d = h.d;
    char msg[160];
    const char *why = NULL;
    if (h.n < P || h.m < P) {
        snprintf(msg, sizeof msg,
                 "%llu sources and %llu targets cannot be split over %zu "
                 "ranks: every rank needs one of each",
                 h.n, h.m, P);
        why = B->rank == 0 ? msg : NULL;
    } else if (h.n * h.d > INT_MAX || h.m * h.d > INT_MAX) {
        why =
            B->rank == 0 ? "the points have more than 2^31 coordinates" : NULL;
    }
    if (failed(B, comm, why, prog))
        return -2;
    B->rows = malloc(4 * P * sizeof *B->rows);
    if (B->rows != NULL) {
        B->row_at = B->rows + P;
        B->cols = B->row_at + P;
        B->col_at = B->cols + P;
        even(h.n, B->size, B->rows, B->row_at);
        even(h.m, B->size, B->cols, B->col_at);
        B->i0 = (size_t)B->row_at[B->rank];
        B->n_loc = (size_t)B->rows[B->rank];
        B->j0 = (size_t)B->col_at[B->rank];
        B->m_loc = (size_t)B->cols[B->rank];
        B->x = malloc(B->n_loc * B->d * sizeof *B->x);
        B->y = malloc(B->m_loc * B->d * sizeof *B->y);
        B->a = h.has_a ? malloc(B->n_loc * sizeof *B->a) : NULL;
        B->b = h.has_b ? malloc(B->m_loc * sizeof *B->b) : NULL;
    }
    int short_of = B->rows == NULL || !B->x || !B->y || (h.has_a && !B->a) ||
                   (h.has_b && !B->b);
    if (failed(B, comm, short_of ? "out of memory" : NULL, prog))
        return -2;
    const double *x = B->rank == 0 ? cost->x : NULL;
    const double *y = B->rank == 0 ? cost->y : NULL;
    scatter_block(B, comm, x, B->rows, B->row_at, B->d, B->x);
    scatter_block(B, comm, y, B->cols, B->col_at, B->d, B->y);
    if (h.has_a)
        scatter_block(B, comm, a, B->rows, B->row_at, 1, B->a);
    if (h.has_b)
        scatter_block(B, comm, b, B->cols, B->col_at, 1, B->b);
    B->cost = otk_cost_points(B->n_loc, B->m_loc, B->d, B->x, B->y,
                              (otk_metric)h.metric, h.p);
    return 0;
}

void otkcli_blocks_free(blocks *B)
{
    free(B->rows);
    free(B->x);
    free(B->y);
    free(B->a);
    free(B->b);
}

void otkcli_gather(const blocks *B, MPI_Comm comm, const double *mine, int rows,
                   size_t item, double *all)
{
    const int *count = rows ? B->rows : B->cols;
    const int *at = rows ? B->row_at : B->col_at;
    MPI_Datatype row;
    MPI_Type_contiguous((int)item, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    MPI_Gatherv(mine, count[B->rank], row, all, count, at, row, 0, comm);
    MPI_Type_free(&row);
}
