/*
 * The communication layer of libotkit_mpi: one context per call (the
 * communicator, this rank's place in the global problem, its timing), the
 * timed collectives the solver uses, the (max, sum) reduction of
 * log-sum-exps, and the agreement on errors that keeps every rank's
 * status the same.
 */
#ifndef OTK_MPI_COMM_H
#define OTK_MPI_COMM_H

#include <mpi.h>
#include <stddef.h>

#include <otkit/mpi.h>

#include "core/core.h"

typedef struct mpi_ctx {
    MPI_Comm comm;
    int rank, size;
    otk_mpi_stats stats; /* this rank's, for the whole call */
    double t0;           /* start of the call */
} mpi_ctx;

/* comm must be a valid intracommunicator. */
void otk__mpi_ctx_init(mpi_ctx *ctx, MPI_Comm comm);
/* Fills compute_s (call time minus comm time) and copies to out. */
void otk__mpi_ctx_stats(mpi_ctx *ctx, otk_mpi_stats *out);

/* MPI errors go to the communicator's error handler (MPI_ERRORS_ARE_FATAL
 * by default: the job ends); the library never replaces it.
 *
 * Exact collectives on small integer or double vectors (MIN, MAX, LOR,
 * SUM of integers): MPI_Allreduce, whose result is then the same on every
 * rank. */
void otk__mpi_allreduce(mpi_ctx *ctx, void *buf, int count, MPI_Datatype type,
                        MPI_Op op);
/* buf (count doubles) becomes the sum over the ranks, the same bits on
 * every rank: reduced to rank 0, then broadcast from it. */
void otk__mpi_sum(mpi_ctx *ctx, double *buf, int count);
/* pairs (2 count doubles: max, sum) become the log-sum-exp of every
 * rank's pairs, exp(max) * sum being the value; the same bits on every
 * rank. (-inf, 0) is the empty sum. */
void otk__mpi_lse_pairs(mpi_ctx *ctx, double *pairs, int count);
/* Concatenates every rank's block (counts[r] items of `item` doubles at
 * offsets displs[r], in items) into all. */
void otk__mpi_allgather(mpi_ctx *ctx, const double *mine, double *all,
                        const int *counts, const int *displs, size_t item);
/* The same scalar on every rank (rank 0's). */
void otk__mpi_bcast(mpi_ctx *ctx, void *buf, int count, MPI_Datatype type);

/*
 * Collective error agreement: every rank passes its own result (0, or an
 * error status with the argument and the global index at fault). When any
 * rank failed, every rank fails call with the record of the lowest rank
 * at fault and returns its status; otherwise returns 0. One collective
 * (and a broadcast of the record when some rank failed).
 */
otk_status otk__mpi_agree(mpi_ctx *ctx, otk__call *call, otk_status st,
                          const char *what, size_t bad);

#endif
