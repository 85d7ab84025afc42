/*
 * otkit over MPI: the point-cloud log-domain Sinkhorn solver with the
 * points distributed over the ranks of a communicator (libotkit_mpi,
 * pkg-config otkit-mpi). libotkit itself never depends on MPI; this
 * library is built only when MPI is found (meson option `mpi`).
 *
 * Layout (docs/distributed.md explains the choice): every rank passes the
 * problem's *local blocks*. Rank r owns n_r consecutive source points
 * (rows) and m_r consecutive target points; the global problem is the
 * concatenation of the blocks in rank order (n = sum n_r, m = sum m_r).
 * Every rank needs n_r >= 1 and m_r >= 1. At the start of a call the
 * targets and their weights are gathered on every rank (m (d + 1)
 * doubles, once per call); then each iteration sweeps the rank's own rows
 * against all targets and reduces the column sums of the plan (m doubles)
 * to one copy that every rank holds. The potentials g are therefore the
 * same on every rank, and every rank returns its own block of them.
 *
 * Results are those of otk_sinkhorn() on the global problem with the same
 * settings, to rounding: the same iterations, stages and statuses, and
 * potentials that differ only by the rounding of the column sums, which
 * are added in another order (the tests require 1e-12 relative); with one
 * rank, bit for bit. Two
 * differences, both of settings.relaxation = 0 (adaptive): there are no
 * Newton steps (otk_sinkhorn takes them only when m <= 512, where one
 * process is the right tool), and the over-relaxation's decisions rest on
 * residuals that may differ in the last bits.
 *
 * Every rank must call with the same reg, settings (the callback and
 * threads aside), metric, p, d, and NULL-ness of a and b; a mismatch is
 * OTK_ERR_INVALID_ARGUMENT naming "settings" on every rank. Errors are
 * collective: when one rank meets bad input or runs out of memory, every
 * rank returns the same status, bad_argument and bad_index (that of the
 * lowest rank at fault, with global indices), and no rank is left
 * waiting. Residuals and stopping decisions are computed once and sent
 * to every rank, so all ranks run the same iterations.
 *
 * Only the calling thread makes MPI calls (settings.threads > 1 runs
 * OpenMP threads inside the rank that never do): MPI_THREAD_FUNNELED is
 * enough. MPI errors go to the communicator's error handler, which the
 * library never replaces.
 */
#ifndef OTKIT_MPI_H
#define OTKIT_MPI_H

#include <mpi.h>

#include <otkit/entropic.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where one rank's time went (this rank's numbers, not reduced). */
typedef struct otk_mpi_stats {
    double comm_s;     /* seconds inside MPI calls (waiting included) */
    double compute_s;  /* the rest of the call */
    size_t messages;   /* collective operations this rank took part in */
    double bytes;      /* payload bytes this rank contributed to them */
    size_t iterations; /* iterations over all solves of the call */
} otk_mpi_stats;

/*
 * The Sinkhorn solve of otk_sinkhorn() with distributed points.
 *   comm      the ranks that share the problem (every one must call)
 *   local     this rank's blocks: local->cost from otk_cost_points(n_r,
 *             m_r, d, x_r, y_r, metric, p) (dense costs are
 *             OTK_ERR_INVALID_ARGUMENT naming "cost.C"), a (n_r) and b
 *             (m_r) this rank's weights or NULL for uniform 1/n, 1/m of
 *             the global sizes (NULL on one rank means NULL on all), and
 *             reg
 *   settings  as otk_sinkhorn(); domain must be AUTO or LOG (point clouds
 *             are always solved in the log domain); warm_start reads this
 *             rank's block of g from local_solution->g (a warm start
 *             from a workspace does not exist here); the progress
 *             callback is called on every rank with the same numbers,
 *             and a cancellation on any rank cancels all
 *   local_solution  NULL, or where to write this rank's f (n_r), its
 *             block of g (m_r) and its rows of the plan P (n_r x m, the
 *             columns in global order)
 *   info      the global numbers, identical on every rank, or NULL
 *   stats     this rank's time and traffic, or NULL
 */
OTK_API otk_status otk_sinkhorn_mpi(MPI_Comm comm, const otk_problem *local,
                                    const otk_sinkhorn_settings *settings,
                                    otk_solution *local_solution,
                                    otk_sinkhorn_info *info,
                                    otk_mpi_stats *stats);

/*
 * The debiased Sinkhorn divergence of otk_sinkhorn_divergence() for
 * distributed point clouds: the xy solve, then x against x and y against
 * y, each distributed as above (the self problems are symmetric and use
 * the averaged update, as otk_sinkhorn does). divergence (required) is
 * the same on every rank; local_solution receives the xy solve's blocks;
 * info, when not NULL, 3 records (xy, xx, yy). warm_start is ignored.
 */
OTK_API otk_status
otk_sinkhorn_divergence_mpi(MPI_Comm comm, const otk_problem *local,
                            const otk_sinkhorn_settings *settings,
                            double *divergence, otk_solution *local_solution,
                            otk_sinkhorn_info info[3], otk_mpi_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_MPI_H */
