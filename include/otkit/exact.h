/*
 * otkit exact OT: the unregularized transport problem
 *
 *     min_P  <P, C>   s.t.  P 1 = a,  P^T 1 = b,  P >= 0,
 *
 * solved by a primal network simplex on the bipartite transport graph
 * (the algorithm of the LEMON library that POT's ot.emd uses: block-search
 * pivoting, a spanning-tree basis stored as parent/thread lists, the
 * leaving-arc rule of strongly feasible trees). It is the ground truth the
 * regularized solvers converge to.
 *
 * The optimal plan is a vertex of the transport polytope: at most
 * n + m - 1 nonzero entries, returned as a sparse list (and optionally as
 * a dense matrix). The dual potentials f (n), g (m) certify optimality:
 * f_i + g_j <= C_ij for every pair, with equality on the plan's support,
 * and <a, f> + <b, g> = <P, C>. They are shifted so that <a, f> = <b, g>.
 *
 * Costs: a dense matrix, or point clouds whose costs are computed on the
 * fly (memory O((n + m)(d + 1)) besides the outputs; no n x m array). The
 * pricing computes each row it scans in full (about d flops per entry,
 * vectorized), so a pivot costs a few rows of cost evaluation.
 */
#ifndef OTKIT_EXACT_H
#define OTKIT_EXACT_H

#include <otkit/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otk_exact_settings {
    /* Pivot budget; reaching it gives OTK_MAX_ITER with the current
     * (feasible, not optimal) plan. Default SIZE_MAX (no limit); valid: >= 1.
     */
    size_t max_iter;
    /* Largest relative difference of the total masses accepted: within it
     * b is rescaled to a's mass (info.rescaled = 1); beyond it
     * OTK_ERR_MASS_MISMATCH. Default 1e-9; valid: [0, 1). */
    double mass_tol;
    /* Called every 65536 pivots with the current transport cost as
     * progress->objective; nonzero return cancels (OTK_CANCELLED). */
    otk_progress_fn progress;
    void *progress_user;
} otk_exact_settings;

typedef struct otk_exact_info {
    otk_status status;     /* OTK_OPTIMAL, OTK_MAX_ITER, OTK_CANCELLED, error */
    size_t iterations;     /* pivots */
    size_t nnz;            /* entries of the sparse plan (<= n + m - 1) */
    double transport_cost; /* <P, C> */
    double dual_objective; /* <a, f> + <b, g> */
    double marginal_error; /* ||P 1 - a||_1 + ||P^T 1 - b||_1 (given a, b) */
    int rescaled;          /* 1 if b was rescaled to a's mass */
    double time_s;
    /* As in otk_sinkhorn_info: the argument or field at fault, and the
     * first bad index of an array (else SIZE_MAX). */
    const char *bad_argument;
    size_t bad_index;
} otk_exact_info;

OTK_API void otk_exact_default_settings(otk_exact_settings *s);

/*
 * Solve. a, b: nonnegative weights (NULL: uniform); masses must agree
 * within settings.mass_tol. Outputs, each optional (NULL):
 *   plan  room for n + m - 1 entries; the nonzero entries of the optimal
 *         plan, by increasing i then j; info.nnz says how many
 *   P     dense n x m plan
 *   f, g  dual potentials
 * Returns info->status (OTK_OPTIMAL on success). OTK_OPTIMAL is reported
 * only after the certificate is checked on the returned plan and
 * potentials: every C_ij - f_i - g_j >= -tol, = 0 within tol on the
 * plan's support, and |<P, C> - <a, f> - <b, g>| <= tol times the mass,
 * with tol = max(1e-10, 64 eps (n + m)) times max |C|; a failed check, or
 * a non-finite number in the result, gives OTK_ERR_NUMERICAL.
 */
OTK_API otk_status otk_exact(const otk_cost *cost, const double *a,
                             const double *b,
                             const otk_exact_settings *settings,
                             otk_plan_entry *plan, double *P, double *f,
                             double *g, otk_exact_info *info);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_EXACT_H */
