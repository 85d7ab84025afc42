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
 *
 * The calling convention (settings, bounds table, outcome, workspaces,
 * ownership) is the library's one: docs/api.md. Guide: docs/exact.md.
 */
#ifndef OTKIT_EXACT_H
#define OTKIT_EXACT_H

#include <otkit/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Settings. Every numeric field is in the bounds table
 * (otk_exact_setting_bounds); a field out of range gives
 * OTK_ERR_INVALID_ARGUMENT with outcome.bad_argument = "settings.FIELD".
 */
typedef struct otk_exact_settings {
    /* Pivot budget; reaching it gives OTK_MAX_ITER with the current
     * (feasible, not optimal) plan. SIZE_MAX: no limit. */
    size_t max_iter; /* Default SIZE_MAX; valid: [1, inf) */
    /* Largest relative difference of the total masses accepted: within it
     * b is rescaled to a's mass (info.rescaled = 1); beyond it
     * OTK_ERR_MASS_MISMATCH. */
    double mass_tol; /* Default 1e-9; valid: [0, 1) */
    /* 1: otk_exact_solve starts from the basis the workspace kept (see
     * otk_exact_solve); 0: always from the artificial basis. The
     * one-shot otk_exact has no previous basis and ignores it. */
    int warm_start; /* Default 0; valid: [0, 1] */
    /* Called every 65536 pivots with iteration = pivots so far,
     * objective = the current transport cost, reg = 0, error = NaN and
     * detail = NULL; nonzero return cancels (OTK_CANCELLED). */
    otk_progress_fn progress;
    void *progress_user;
} otk_exact_settings;

/*
 * What a solve did. outcome.cause is one of
 *   "max_iter"     OTK_MAX_ITER: settings.max_iter pivots were made
 *   "cancelled"    OTK_CANCELLED: the progress callback returned nonzero
 *   "rescaled"     a warning with OTK_OPTIMAL: b was rescaled to a's
 *                  mass (within settings.mass_tol)
 *   "certificate"  OTK_ERR_NUMERICAL: the optimality certificate failed
 *   "non_finite"   OTK_ERR_NUMERICAL: a number of the result is not finite
 *   "pivot"        OTK_ERR_NUMERICAL: a pivot found no leaving arc, or
 *                  flow stayed on the artificial arcs
 * or NULL. Numbers a failed call did not compute are NaN.
 */
typedef struct otk_exact_info {
    otk_outcome outcome;   /* status, bad_argument, bad_index, cause, time */
    size_t iterations;     /* pivots of this call */
    size_t nnz;            /* entries of the sparse plan (<= n + m - 1) */
    double transport_cost; /* <P, C> */
    double dual_objective; /* <a, f> + <b, g> */
    double marginal_error; /* ||P 1 - a||_1 + ||P^T 1 - b||_1 (given a, b) */
    int rescaled;          /* 1 if b was rescaled to a's mass */
    int warm_started;      /* 1 if the solve started from the kept basis */
} otk_exact_info;

/* The bounds table of otk_exact_settings' numeric fields (docs/api.md);
 * *count (may be NULL) gets its length. Static, never freed. */
OTK_API const otk_setting_bounds *otk_exact_setting_bounds(size_t *count);

/* The table's defaults; no progress callback. */
OTK_API void otk_exact_default_settings(otk_exact_settings *settings);

/*
 * Solve once. problem: the cost, a, b (nonnegative weights, NULL:
 * uniform; masses must agree within settings.mass_tol); problem->reg is
 * ignored. solution (may be NULL; each member may be NULL):
 *   plan  the nonzero entries of the plan in row-major order (by i, then
 *         j), at most solution->capacity of them (n + m - 1 always
 *         suffice); info.nnz says how many the plan has
 *   P     the dense n x m plan
 *   f, g  dual potentials (outputs only)
 * settings NULL: the defaults. info may be NULL. Returns
 * info->outcome.status (OTK_OPTIMAL on success). OTK_OPTIMAL is reported
 * only after the certificate is checked on the returned plan and
 * potentials: every C_ij - f_i - g_j >= -tol, = 0 within tol on the
 * plan's support, and |<P, C> - <a, f> - <b, g>| <= tol times the mass,
 * with tol = max(1e-10, 64 eps (n + m)) times max |C|; a failed check, or
 * a non-finite number in the result, gives OTK_ERR_NUMERICAL. After
 * OTK_MAX_ITER or OTK_CANCELLED the outputs describe the current feasible
 * basis (some mass may still sit on the artificial arcs: the marginal
 * error shows it). Creates and frees a workspace.
 */
OTK_API otk_status otk_exact(const otk_problem *problem,
                             const otk_exact_settings *settings,
                             otk_solution *solution, otk_exact_info *info);

/* A workspace for repeated solves of one size: the simplex's tree, the
 * weights it was built for and the scratch of a solve. Opaque; one per
 * thread. */
typedef struct otk_exact_workspace otk_exact_workspace;

/* O(n + m) memory (plus a cost row and, for point clouds, the prepared
 * targets, grown on the first solve that needs them). NULL if n or m is 0,
 * n m overflows, or memory is short. */
OTK_API otk_exact_workspace *otk_exact_workspace_create(size_t n, size_t m);
/* Accepts NULL. */
OTK_API void otk_exact_workspace_free(otk_exact_workspace *workspace);

/*
 * As otk_exact, in a workspace whose n and m equal the cost's (else
 * OTK_ERR_INVALID_ARGUMENT naming "cost.n" or "cost.m"; a NULL workspace
 * names "workspace").
 *
 * Warm start: with settings->warm_start = 1 the simplex starts from the
 * basis (spanning tree and its flows) that the workspace kept from its
 * last solve, when that solve returned a status >= 0 (optimal, max_iter
 * or cancelled) and the weights in use now (a, and b after any rescaling)
 * equal that solve's bit for bit. The tree's flows then stay feasible:
 * the potentials are recomputed for the new cost and pivoting goes on
 * from there (info.warm_started = 1), so a cost that changed a little
 * needs few pivots, and a solve stopped by max_iter continues. Otherwise
 * (warm_start = 0, no previous basis, or other weights) the solve starts
 * cold from the artificial basis, exactly as otk_exact does
 * (info.warm_started = 0). A call rejected for its arguments leaves the
 * kept basis alone; a solve that fails after that (out of memory,
 * OTK_ERR_NUMERICAL) discards it. Either start ends at an optimal basis;
 * when the optimum is not unique the two may return different optimal
 * plans. The workspace keeps no pointer to the problem's arrays.
 */
OTK_API otk_status otk_exact_solve(otk_exact_workspace *workspace,
                                   const otk_problem *problem,
                                   const otk_exact_settings *settings,
                                   otk_solution *solution,
                                   otk_exact_info *info);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_EXACT_H */
