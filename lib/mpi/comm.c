/* Timed collectives, the (max, sum) reduction and the error agreement. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mpi/comm.h"

void otk__mpi_ctx_init(mpi_ctx *ctx, MPI_Comm comm)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->comm = comm;
    MPI_Comm_rank(comm, &ctx->rank);
    MPI_Comm_size(comm, &ctx->size);
    ctx->t0 = otk__now();
}

void otk__mpi_ctx_stats(mpi_ctx *ctx, otk_mpi_stats *out)
{
    ctx->stats.compute_s = otk__now() - ctx->t0 - ctx->stats.comm_s;
    if (out != NULL)
        *out = ctx->stats;
}

/* Books one collective of `bytes` payload that started at t. */
static void book(mpi_ctx *ctx, double t, double bytes)
{
    ctx->stats.comm_s += otk__now() - t;
    ctx->stats.messages++;
    ctx->stats.bytes += bytes;
}

static double type_bytes(MPI_Datatype type, int count)
{
    int size = 0;
    MPI_Type_size(type, &size);
    return (double)size * count;
}

void otk__mpi_allreduce(mpi_ctx *ctx, void *buf, int count, MPI_Datatype type,
                        MPI_Op op)
{
    double t = otk__now();
    MPI_Allreduce(MPI_IN_PLACE, buf, count, type, op, ctx->comm);
    book(ctx, t, type_bytes(type, count));
}

void otk__mpi_bcast(mpi_ctx *ctx, void *buf, int count, MPI_Datatype type)
{
    double t = otk__now();
    MPI_Bcast(buf, count, type, 0, ctx->comm);
    book(ctx, t, type_bytes(type, count));
}

/* Reduce to rank 0 then broadcast: MPI_Allreduce may give different ranks
 * results that differ in the last bit (the standard only recommends
 * otherwise), and every rank must take the same decisions. */
static void reduce_bcast(mpi_ctx *ctx, double *buf, int count,
                         MPI_Datatype type, MPI_Op op)
{
    double t = otk__now();
    if (ctx->rank == 0)
        MPI_Reduce(MPI_IN_PLACE, buf, count, type, op, 0, ctx->comm);
    else
        MPI_Reduce(buf, NULL, count, type, op, 0, ctx->comm);
    MPI_Bcast(buf, count, type, 0, ctx->comm);
    book(ctx, t, 2.0 * type_bytes(type, count));
}

void otk__mpi_sum(mpi_ctx *ctx, double *buf, int count)
{
    reduce_bcast(ctx, buf, count, MPI_DOUBLE, MPI_SUM);
}

/*
 * (max, sum) pairs: (m1, s1) + (m2, s2) = (M, s1 e^(m1 - M) + s2 e^(m2 - M))
 * with M = max(m1, m2). Each exponential is <= 1, so nothing overflows,
 * and a pair far below the other contributes what it can (its underflow
 * is below the rounding of the larger). Commutative exactly; associative
 * to rounding, which is all that distinguishes rank counts.
 */
static void lse_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const double *a = in;
    double *b = inout;
    for (int k = 0; k < *len; k++, a += 2, b += 2) {
        double hi = fmax(a[0], b[0]), lo = fmin(a[0], b[0]);
        double s_hi = a[0] >= b[0] ? a[1] : b[1];
        double s_lo = a[0] >= b[0] ? b[1] : a[1];
        if (isinf(hi) && hi < 0.0) {
            b[0] = -INFINITY;
            b[1] = 0.0;
            continue;
        }
        b[0] = hi;
        b[1] = s_hi + s_lo * exp(lo - hi);
    }
}

void otk__mpi_lse_pairs(mpi_ctx *ctx, double *pairs, int count)
{
    MPI_Datatype pair;
    MPI_Op op;
    MPI_Type_contiguous(2, MPI_DOUBLE, &pair);
    MPI_Type_commit(&pair);
    MPI_Op_create(lse_op, 1, &op);
    reduce_bcast(ctx, pairs, count, pair, op);
    MPI_Op_free(&op);
    MPI_Type_free(&pair);
}

void otk__mpi_allgather(mpi_ctx *ctx, const double *mine, double *all,
                        const int *counts, const int *displs, size_t item)
{
    MPI_Datatype row;
    MPI_Type_contiguous((int)item, MPI_DOUBLE, &row);
    MPI_Type_commit(&row);
    double t = otk__now();
    MPI_Allgatherv(mine, counts[ctx->rank], row, all, counts, displs, row,
                   ctx->comm);
    book(ctx, t, type_bytes(row, counts[ctx->rank]));
    MPI_Type_free(&row);
}

/* The names an error can carry (static, as outcome.bad_argument must be):
 * a record received from another rank is mapped back to one of these. */
static const char *const names[] = {
    "problem",         "cost",       "cost.n",     "cost.m",      "cost.d",
    "cost.x",          "cost.y",     "cost.C",     "cost.metric", "cost.p",
    "cost.scale",      "a",          "b",          "reg",         "settings",
    "settings.domain", "solution.g", "divergence", "comm"};

static const char *intern(const char *what)
{
    if (what[0] == '\0')
        return NULL;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(names[k], what) == 0)
            return names[k];
    size_t count = 0;
    const otk_setting_bounds *b = otk_sinkhorn_setting_bounds(&count);
    for (size_t k = 0; k < count; k++)
        if (strcmp(b[k].argument, what) == 0)
            return b[k].argument;
    return "comm"; /* not a name this library gives */
}

typedef struct error_record {
    int status;
    unsigned long long bad;
    char what[48];
} error_record;

otk_status otk__mpi_agree(mpi_ctx *ctx, otk__call *call, otk_status st,
                          const char *what, size_t bad)
{
    int first = st < 0 ? ctx->rank : ctx->size;
    otk__mpi_allreduce(ctx, &first, 1, MPI_INT, MPI_MIN);
    if (first == ctx->size)
        return OTK_CONVERGED;
    error_record rec = {(int)st, bad == SIZE_MAX ? ULLONG_MAX : bad, ""};
    if (what != NULL)
        snprintf(rec.what, sizeof rec.what, "%s", what);
    double t = otk__now();
    MPI_Bcast(&rec, (int)sizeof rec, MPI_BYTE, first, ctx->comm);
    book(ctx, t, (double)sizeof rec);
    size_t index = rec.bad == ULLONG_MAX ? SIZE_MAX : (size_t)rec.bad;
    return otk__fail(call, (otk_status)rec.status, intern(rec.what), index);
}
