/*
 * otkit entropic OT: Sinkhorn iterations in the log domain (with a scaling
 * fast path), epsilon scaling, unbalanced marginals, point clouds without
 * an n x m matrix, and the debiased Sinkhorn divergence.
 *
 * Problem (balanced, tau_a = tau_b = infinity):
 *
 *     min_P  <P, C> + reg * KL(P | a b^T)   s.t.  P 1 = a,  P^T 1 = b,
 *
 * with KL(P | Q) = sum_ij P_ij log(P_ij / Q_ij) - P_ij + Q_ij. Unbalanced
 * (finite tau_a and/or tau_b): the constraints are replaced by penalties
 *
 *     + tau_a * KL(P 1 | a) + tau_b * KL(P^T 1 | b).
 *
 * The solution is P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg) with
 * additive potentials f (n) and g (m), which are what the solver iterates
 * on and returns (ott-jax's convention; POT's log-domain potentials are
 * f + reg log a and g + reg log b). In the balanced case f and g are
 * defined up to f + t, g - t. Balanced problems are iterated on C - min C
 * (the same plan; potentials f - min C, g), so a large constant in the
 * cost costs no precision; min C is added back to the returned f, and g
 * is returned (and warm-started) as iterated.
 *
 * Reported quantities (otk_sinkhorn_info), all computed from the returned
 * potentials in one final pass:
 *   transport_cost  <P, C>
 *   objective       the regularized primal value above, at the returned P
 *   dual_objective  <a, phi_a(f)> + <b, phi_b(g)> - reg (sum P - sum a sum b),
 *                   phi(f) = f when tau = inf, tau (1 - exp(-f / tau)) else;
 *                   a lower bound on the optimal value for any f, g
 *   marginal_error  ||P 1 - a||_1 + ||P^T 1 - b||_1
 *   residual        the stopping measure: the L1 violation of the
 *                   optimality conditions P 1 = a exp(-f/tau_a) and
 *                   P^T 1 = b exp(-g/tau_b) (equal to marginal_error
 *                   when balanced)
 *
 * Algorithm (details and reasons in docs/entropic.md): each iteration
 * sweeps the cost once, row by row: it updates f_i by a log-sum-exp over
 * row i and, while the row is in cache, accumulates the column sums that
 * the g update needs. The residual of the iterate (new f, old g) comes from
 * the same sweep, so checking it every check_every iterations costs no
 * extra pass; when it is below tol the solver stops and returns exactly
 * that iterate. A scaling-domain variant (kernel K = exp(-C/reg) stored in
 * the workspace, multiplications instead of exponentials) is used for
 * dense costs when the kernel cannot underflow; if its scalings ever stop
 * being finite it falls back to the log domain from the last good iterate.
 * Epsilon scaling solves a decreasing sequence of reg values, warm
 * starting each from the last, when reg is small relative to the cost.
 *
 * The calling convention (settings, bounds, info, workspaces, threads,
 * ownership) is the library's one, described in docs/api.md.
 */
#ifndef OTKIT_ENTROPIC_H
#define OTKIT_ENTROPIC_H

#include <otkit/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which iteration the solver runs. */
typedef enum otk_sinkhorn_domain {
    /* Scaling domain for dense costs when (max C - min C) / reg <= 100
     * (the kernel and the scalings stay well inside double range), and
     * the log domain otherwise. Point clouds always use the log domain. */
    OTK_DOMAIN_AUTO = 0,
    /* Log-sum-exp updates of f and g: finite for any reg > 0. */
    OTK_DOMAIN_LOG = 1,
    /* Scaling (kernel) updates, dense costs only; stores the n x m kernel
     * in the workspace; falls back to the log domain on under/overflow. */
    OTK_DOMAIN_SCALING = 2
} otk_sinkhorn_domain;

/*
 * Settings (docs/api.md): every numeric field is in the bounds table
 * otk_sinkhorn_setting_bounds(), which gives the defaults and ranges
 * written here.
 */
typedef struct otk_sinkhorn_settings {
    /* Stop when the residual (L1, both marginals) is <= tol times the mass
     * ((sum a + sum b) / 2): relative, so that it means the same for a
     * mass of 1e-6 or 1e8 (the residual cannot go below about 1e-16 times
     * the mass); 0 runs to max_iter. Default 1e-9; valid: [0, inf). */
    double tol;
    /* Iteration budget over all epsilon-scaling stages; reaching it gives
     * OTK_MAX_ITER. Default 10000; valid: [1, inf). */
    size_t max_iter;
    /* The residual is measured (and the progress callback called) every
     * check_every iterations. Default 10; valid: [1, inf). */
    size_t check_every;
    /* KL penalty on the row marginal; INFINITY enforces P 1 = a.
     * Default INFINITY; valid: (0, inf]. */
    double tau_a;
    /* KL penalty on the column marginal; INFINITY enforces P^T 1 = b.
     * Default INFINITY; valid: (0, inf]. */
    double tau_b;
    /* Iteration domain (OTK_DOMAIN_SCALING needs a dense cost, else
     * OTK_ERR_INVALID_ARGUMENT naming settings.domain).
     * Default OTK_DOMAIN_AUTO; valid: [0, 2]. */
    otk_sinkhorn_domain domain;
    /* Epsilon scaling: 0 off, 1 on, -1 auto (on when
     * (max C - min C) / reg > 50). Stages use reg_s = max(reg, R * factor^s)
     * starting from R = max C - min C; each stage but the last runs to a
     * residual of max(tol, 1e-3 * mass) or 200 iterations.
     * Default -1; valid: [-1, 1]. */
    int eps_scaling;
    /* Factor between successive stage regs. Default 0.5; valid: (0, 1). */
    double eps_scaling_factor;
    /* 1: start from the potentials g of solution->g (non-NULL, finite;
     * the first iteration computes f from g, so f is not read), or, when
     * solution->g is NULL, from the g that the workspace's last usable
     * solve returned (none: OTK_ERR_INVALID_ARGUMENT naming
     * "solution.g"). The solve then runs at reg directly: epsilon scaling
     * is skipped, since its stages only exist to produce a good g for reg
     * (a g from a nearby problem, e.g. the previous step of a training
     * loop or of a reg path, is the intended use). 0: start from g = 0.
     * Default 0; valid: [0, 1]. */
    int warm_start;
    /* Over-relaxation omega: f <- (1 - omega) f + omega T(g), the same
     * for g. 1 is plain Sinkhorn; a value in (0, 2) is used as given;
     * 0 is adaptive: plain iterations until the residual's rate
     * r is measured (two successive checks agree), then
     * omega = 2 / (1 + sqrt(1 - r)) (Lehmann et al. 2021), back to plain
     * iterations to measure again if the residual grows or omega does not
     * help; and on small balanced problems (m <= 512, n m^2 <= 4e7), when
     * plain iterations would need more than 1000 iterations to reach tol,
     * Newton steps on g (each trial point counted as an iteration).
     * Problems that are their own transpose (square cost equal to its
     * transpose -- for point clouds the same coordinates on both sides --,
     * the same weights and tau on both sides; a self-transport problem
     * such as the divergence's OT(a, a)) are detected and always use the
     * averaged update g <- (g + T(g)) / 2 instead.
     * Default 0; valid: [0, 2). */
    double relaxation;
    /* Threads for the sweeps: 0 uses the OpenMP default (all cores, or
     * OMP_NUM_THREADS) but at most one per 131072 cost entries, so small
     * problems run on the calling thread; k > 0 asks for k threads. Any
     * value is clamped to min(OTK_MAX_THREADS, 4 x the processors) (see
     * base.h). Results are reproducible for a given thread count: it
     * fixes the split of the rows; whether a team of that many threads or
     * the calling thread alone runs the sweeps is measured during the
     * solve (docs/api.md, "Threads").
     * Default 0; valid: [0, inf). */
    int threads;
    /* Multiscale path for large point clouds (docs/entropic.md,
     * "Multiscale"): the points are clustered on a grid, the clusters are
     * solved first (recursively, as coarser point clouds), and epsilon
     * scaling then runs on the points with the kernel truncated to the
     * pairs of clusters where the potentials allow plan entries above
     * exp(-truncation) times a b^T. Needs point clouds with the squared
     * Euclidean metric, a balanced problem and warm_start = 0 (else
     * OTK_ERR_INVALID_ARGUMENT naming settings.multiscale). The plan
     * outside the kept pairs is bounded from the returned potentials
     * (info.neglected_mass), and the residual adds twice that bound to
     * the one measured on the kept pairs, so that it bounds the full
     * plan's. iterations counts the sweeps on the points (not those of the
     * coarse levels), stages the epsilon-scaling stages on the points.
     * 1 on, 0 off, -1 auto: on for such problems in at most 3-D when
     * n m >= 1e8 and truncation reg <= 0.01 scale diam^2 (diam: the
     * diagonal of the box of both clouds; the truncated kernel's radius
     * is then at most a tenth of it), else the dense solver.
     * Default -1; valid: [-1, 1]. */
    int multiscale;
    /* Multiscale: a pair of clusters is kept when its bound on the plan
     * entries (divided by a_i b_j) is at least exp(-truncation). When the
     * neglected mass keeps the residual above tol at the end, the pairs
     * are rebuilt from the final potentials with the cut raised until
     * the bound meets tol (3 times at most; then the solve ends with
     * OTK_STALLED, cause "truncation"). Intermediate epsilon-scaling
     * stages use at most 10.
     * Default 10; valid: (0, inf). */
    double truncation;
    /* Called at every check (every check_every iterations, at each
     * Newton trial point, and on the multiscale path at the check that
     * ends each stage) with an otk_progress whose solver is "sinkhorn",
     * error the residual, reg the current stage's reg, objective NaN, and
     * detail an otk_sinkhorn_progress (below). Nonzero return cancels
     * (OTK_CANCELLED). Default NULL. */
    otk_progress_fn progress;
    /* Passed to progress. Default NULL. */
    void *progress_user;
} otk_sinkhorn_settings;

/* The detail record of a Sinkhorn progress call (otk_progress.detail). */
typedef struct otk_sinkhorn_progress {
    size_t stage;               /* epsilon-scaling stage, 1 for the first */
    otk_sinkhorn_domain domain; /* domain of the last sweep */
    /* multiscale path (0 for the dense solver): the point pairs whose
     * cost the current stage's sweeps form, and the point pairs formed by
     * the sweeps on the points so far (coarse levels not counted) */
    size_t kept_pairs;
    size_t pair_evaluations;
} otk_sinkhorn_progress;

/*
 * What a solve reports. outcome.cause, for OTK_MAX_ITER:
 *   "max_iter"        max_iter ran out at the requested reg
 *   "max_iter_stage"  max_iter ran out in an earlier epsilon-scaling stage
 *                     (the returned f is one row update at reg from it)
 * and for OTK_STALLED (multiscale only):
 *   "truncation"      the neglected mass keeps the residual above tol
 * NULL otherwise. Numbers a failed call did not compute are NaN (counts 0).
 */
typedef struct otk_sinkhorn_info {
    otk_outcome outcome;        /* status, bad_argument, ... (base.h) */
    size_t iterations;          /* iterations over all stages */
    size_t stages;              /* epsilon-scaling stages run (1 without) */
    otk_sinkhorn_domain domain; /* domain of the last iteration */
    double marginal_error;      /* ||P1 - a||_1 + ||P^T 1 - b||_1 */
    double residual;            /* stopping measure, see the header comment */
    double transport_cost;      /* <P, C> */
    double objective;           /* regularized primal value at P */
    double dual_objective;      /* dual value at (f, g) */
    double neglected_mass;      /* bound of the plan mass that was not
                                   formed: 0, or for the multiscale path
                                   the truncation's (see settings) */
} otk_sinkhorn_info;

/* The settings bounds table (docs/api.md): one record per numeric field
 * of otk_sinkhorn_settings; *count receives the number of records. */
OTK_API const otk_setting_bounds *otk_sinkhorn_setting_bounds(size_t *count);

/* Fill s with the defaults listed above (callbacks NULL). */
OTK_API void otk_sinkhorn_default_settings(otk_sinkhorn_settings *s);

/*
 * One-shot solve.
 *   problem   the cost (dense or points: otk_cost_dense/otk_cost_points),
 *             the weights a (n) and b (m), nonnegative, NULL meaning
 *             uniform 1/n, 1/m (balanced problems need equal masses:
 *             relative difference <= 1e-9, else OTK_ERR_MASS_MISMATCH),
 *             and reg: > 0, finite and not subnormal (DBL_MIN at least),
 *             in the units of the cost, and at least
 *             1e-10 * (max C - min C) (below, potentials / reg exceed what
 *             double precision can resolve: OTK_ERR_INVALID_ARGUMENT)
 *   settings  NULL for defaults
 *   solution  NULL, or where to write: f (n) and g (m), the potentials
 *             (g is read too with warm_start; potentials of zero-weight
 *             points are their c-transforms), and P, the dense n x m plan
 *             (never formed when NULL). Sinkhorn plans are dense: the
 *             sparse list (plan, capacity) is ignored.
 *   info      out, or NULL
 * Returns info->outcome.status. Allocates O(n + m) scratch (plus n x m
 * for the kernel in the scaling domain); use a workspace to avoid
 * repeating that.
 */
OTK_API otk_status otk_sinkhorn(const otk_problem *problem,
                                const otk_sinkhorn_settings *settings,
                                otk_solution *solution,
                                otk_sinkhorn_info *info);

/* Workspace for repeated solves of one size (new costs, weights, regs,
 * warm starts). Opaque; one per thread. It keeps the g of its last usable
 * solve (for warm_start) and no pointer to the caller's arrays. */
typedef struct otk_sinkhorn_workspace otk_sinkhorn_workspace;

/* Returns NULL if n or m is 0 or memory is short. */
OTK_API otk_sinkhorn_workspace *otk_sinkhorn_workspace_create(size_t n,
                                                              size_t m);
/* Accepts NULL. */
OTK_API void otk_sinkhorn_workspace_free(otk_sinkhorn_workspace *ws);
/* As otk_sinkhorn(); problem->cost->n and ->m must equal the workspace's
 * (else OTK_ERR_INVALID_ARGUMENT naming "cost.n" or "cost.m"). */
OTK_API otk_status otk_sinkhorn_solve(otk_sinkhorn_workspace *ws,
                                      const otk_problem *problem,
                                      const otk_sinkhorn_settings *settings,
                                      otk_solution *solution,
                                      otk_sinkhorn_info *info);

/*
 * Debiased Sinkhorn divergence
 *
 *   S(a, b) = OT(a, b) - (OT(a, a) + OT(b, b)) / 2 + reg (sum a - sum b)^2 / 2
 *
 * where OT is the regularized objective above at the optimum (the dual
 * value, which the solver drives to the primal one). Nonnegative for
 * positive-definite kernels such as exp(-||x-y||^2/reg), zero when the
 * inputs are identical.
 *   xy        the n x m problem (cost, a, b, reg)
 *   cost_xx   n x n cost between the sources, cost_yy m x m between the
 *             targets. For point clouds both may be NULL: they are then
 *             built from xy's points and metric. Dense costs need them.
 *             The self-transport problems are detected as symmetric (see
 *             settings.relaxation) when their costs are.
 *   divergence  out, required
 *   solution  NULL, or where the xy problem's f, g and P go, as
 *             otk_sinkhorn() writes them
 *   info      NULL, or an array of 3 infos (xy, xx, yy solves); an
 *             argument error is reported in info[0]
 * settings.warm_start is not supported here (it is treated as 0).
 * The status is the worst of the three solves (an error if any failed,
 * else OTK_MAX_ITER/OTK_CANCELLED if any did not converge).
 */
OTK_API otk_status otk_sinkhorn_divergence(
    const otk_problem *xy, const otk_cost *cost_xx, const otk_cost *cost_yy,
    const otk_sinkhorn_settings *settings, double *divergence,
    otk_solution *solution, otk_sinkhorn_info info[3]);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_ENTROPIC_H */
