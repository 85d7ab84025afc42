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

typedef struct otk_sinkhorn_settings {
    /* Stop when the residual (L1, both marginals) is <= tol times the mass
     * ((sum a + sum b) / 2): relative, so that it means the same for a
     * mass of 1e-6 or 1e8 (the residual cannot go below about 1e-16 times
     * the mass). Default 1e-9; valid: finite, >= 0 (0 runs to max_iter). */
    double tol;
    /* Iteration budget over all epsilon-scaling stages. Default 10000;
     * valid: >= 1. Reaching it gives OTK_MAX_ITER. */
    size_t max_iter;
    /* The residual is measured (and the progress callback called) every
     * check_every iterations. Default 10; valid: >= 1. */
    size_t check_every;
    /* KL penalty on the row marginal; INFINITY (default) enforces P 1 = a.
     * Valid: > 0 (finite or INFINITY). */
    double tau_a;
    /* KL penalty on the column marginal; default INFINITY; valid: > 0. */
    double tau_b;
    /* Iteration domain, default OTK_DOMAIN_AUTO. */
    otk_sinkhorn_domain domain;
    /* Epsilon scaling: 0 off, 1 on, -1 auto (default: on when
     * (max C - min C) / reg > 50). Stages use reg_s = max(reg, R * factor^s)
     * starting from R = max C - min C; each stage but the last runs to a
     * residual of max(tol, 1e-3 * mass) or 200 iterations. */
    int eps_scaling;
    /* Factor between successive stage regs. Default 0.5; valid: (0, 1). */
    double eps_scaling_factor;
    /* 1: g holds initial potentials on entry (non-NULL, finite; the first
     * iteration computes f from g, so f is not read) and the solve runs at
     * reg directly: epsilon scaling is skipped, since its stages only
     * exist to produce a good g for reg (a g from a nearby problem, e.g.
     * the previous step of a training loop or of a reg path, is the
     * intended use); 0 (default): start from g = 0. */
    int warm_start;
    /* Over-relaxation omega: f <- (1 - omega) f + omega T(g), the same
     * for g. 1 is plain Sinkhorn; a value in (0, 2) is used as given;
     * 0 (default) is adaptive: plain iterations until the residual's rate
     * r is measured (two successive checks agree), then
     * omega = 2 / (1 + sqrt(1 - r)) (Lehmann et al. 2021), back to plain
     * iterations to measure again if the residual grows or omega does not
     * help; and on small balanced problems (m <= 256, n m^2 <= 4e7), when
     * plain iterations would need more than 1000 iterations to reach tol,
     * Newton steps on g (each trial point counted as an iteration).
     * Problems that are their own transpose (square cost equal to its
     * transpose, same weights and tau on both sides) always use the
     * averaged update g <- (g + T(g)) / 2 instead. Valid: [0, 2). */
    double relaxation;
    /* Threads for the sweeps: 0 (default) uses the OpenMP default (all
     * cores, or OMP_NUM_THREADS) but at most one per 131072 cost entries,
     * so small problems run on the calling thread; k > 0 uses k threads.
     * Results are reproducible for a given thread count. At most
     * min(OTK_MAX_THREADS, 4 x the processors) are used (see base.h).
     * Valid: >= 0. */
    int threads;
    /* Called every check; nonzero return cancels (OTK_CANCELLED).
     * Default NULL. */
    otk_progress_fn progress;
    void *progress_user;
} otk_sinkhorn_settings;

typedef struct otk_sinkhorn_info {
    otk_status status;
    size_t iterations;          /* iterations over all stages */
    size_t stages;              /* epsilon-scaling stages run (1 without) */
    otk_sinkhorn_domain domain; /* domain of the last iteration */
    double marginal_error;      /* ||P1 - a||_1 + ||P^T 1 - b||_1 */
    double residual;            /* stopping measure, see the header comment */
    double transport_cost;      /* <P, C> */
    double objective;           /* regularized primal value at P */
    double dual_objective;      /* dual value at (f, g) */
    double time_s;              /* wall-clock seconds of the call */
    /* When status is OTK_ERR_INVALID_ARGUMENT, OTK_ERR_INVALID_INPUT or
     * OTK_ERR_MASS_MISMATCH: the argument or settings field at fault
     * ("reg", "settings.tol", "a", ...), and for arrays the first bad
     * index (else SIZE_MAX). NULL otherwise. */
    const char *bad_argument;
    size_t bad_index;
} otk_sinkhorn_info;

/* Fill s with the defaults listed above. */
OTK_API void otk_sinkhorn_default_settings(otk_sinkhorn_settings *s);

/*
 * One-shot solve.
 *   cost      dense or point-cloud cost (otk_cost_dense/otk_cost_points)
 *   a, b      nonnegative weights, n and m; NULL means uniform 1/n, 1/m.
 *             Balanced problems need equal masses (relative difference
 *             <= 1e-9, else OTK_ERR_MASS_MISMATCH).
 *   reg       > 0, finite and not subnormal (DBL_MIN at least), in the
 *             units of the cost, and at least
 *             1e-10 * (max C - min C) (below, potentials / reg exceed what
 *             double precision can resolve: OTK_ERR_INVALID_ARGUMENT)
 *   settings  NULL for defaults
 *   f, g      out (in too with warm_start): potentials, n and m, or NULL.
 *             Potentials of zero-weight points are their c-transforms.
 *   P         out: dense n x m plan, or NULL (never formed then)
 *   info      out, or NULL
 * Returns info->status. Allocates O(n + m) scratch (plus n x m for the
 * kernel in the scaling domain); use a workspace to avoid repeating that.
 */
OTK_API otk_status otk_sinkhorn(const otk_cost *cost, const double *a,
                                const double *b, double reg,
                                const otk_sinkhorn_settings *settings,
                                double *f, double *g, double *P,
                                otk_sinkhorn_info *info);

/* Workspace for repeated solves of one size (new costs, weights, regs,
 * warm starts). Opaque; one per thread. */
typedef struct otk_sinkhorn_workspace otk_sinkhorn_workspace;

/* Returns NULL if n or m is 0 or memory is short. */
OTK_API otk_sinkhorn_workspace *otk_sinkhorn_workspace_create(size_t n,
                                                              size_t m);
/* Accepts NULL. */
OTK_API void otk_sinkhorn_workspace_free(otk_sinkhorn_workspace *w);
/* As otk_sinkhorn(); cost->n and cost->m must equal the workspace's. */
OTK_API otk_status otk_sinkhorn_solve(otk_sinkhorn_workspace *w,
                                      const otk_cost *cost, const double *a,
                                      const double *b, double reg,
                                      const otk_sinkhorn_settings *settings,
                                      double *f, double *g, double *P,
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
 *   cost_xy   the n x m problem
 *   cost_xx   n x n cost between the sources, cost_yy m x m between the
 *             targets. For point clouds both may be NULL: they are then
 *             built from cost_xy's points and metric. Dense costs need them.
 *   f, g, P   NULL, or the potentials and plan of the xy problem, as
 *             otk_sinkhorn() would return them
 *   info      NULL, or an array of 3 infos (xy, xx, yy solves)
 * settings.warm_start is not supported here (it is treated as 0).
 * The status is the worst of the three solves (an error if any failed,
 * else OTK_MAX_ITER/OTK_CANCELLED if any did not converge).
 */
OTK_API otk_status otk_sinkhorn_divergence(
    const otk_cost *cost_xy, const otk_cost *cost_xx, const otk_cost *cost_yy,
    const double *a, const double *b, double reg,
    const otk_sinkhorn_settings *settings, double *divergence, double *f,
    double *g, double *P, otk_sinkhorn_info info[3]);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_ENTROPIC_H */
