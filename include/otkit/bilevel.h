/*
 * otkit inexact bilevel optimization: MAID (Salehi, Mukherjee, Roberts,
 * Ehrhardt 2023), an adaptively inexact first-order method, and the
 * baselines it is compared against.
 *
 *     min_theta  f(theta) = g(xhat(theta))
 *     s.t.       xhat(theta) = argmin_x h(x, theta),
 *
 * h smooth and mu-strongly convex in x (n variables), theta the p
 * hyperparameters, g the upper-level loss. With A = d2h/dx2 and
 * B = d2h/dx dtheta (n x p), the hypergradient is
 *
 *     grad f(theta) = -B^T A^{-1} grad g(xhat).
 *
 * MAID never computes it exactly. In its certified mode (settings
 * error_mode, otk_bilevel_error_mode; the default is the practical mode
 * described there, whose convergence rests on the inexact
 * sufficient-decrease line search, not on certificates) it solves the
 * lower level only until
 * ||grad_x h|| <= mu * eps (which certifies ||x - xhat|| <= eps), solves
 * A q = grad g by conjugate gradient to the absolute residual delta, and
 * forms z = -B^T q. A certified bound omega >= ||z - grad f|| decides
 * whether z is trusted (omega <= (1 - eta) ||z||: -z is then a descent
 * direction); otherwise eps and delta shrink by nu_under and z is
 * recomputed. A backtracking line search accepts theta - alpha z only
 * when an upper bound of the new loss lies below a lower bound of the
 * old one by c alpha ||z||^2, so every accepted step provably decreases
 * the true f. After a success eps, delta grow by nu_over and the step by
 * rho_over; after a failed round of backtracking eps and delta shrink.
 * Nothing like a summable accuracy schedule or a step size must be
 * chosen in advance.
 *
 * Baselines (otk_bilevel_method): the same line search with eps and delta
 * held fixed, and HOAG (Pedregosa 2016) with geometric, quadratic or
 * cubic tolerance decrease and its own step-size rule.
 *
 * A problem is a set of callbacks (otk_bilevel_problem). Built-in
 * families with exact derivatives (the quadratic problem with an analytic
 * optimum, TV denoising, multinomial logistic regression) are created by
 * the otk_bilevel_*_create functions below.
 *
 * Cost is counted as in the paper: lower-level iterations plus CG
 * iterations. A solve that is certified on entry costs 0 iterations.
 *
 * Settings, bounds table, info and progress follow docs/api.md.
 */
#ifndef OTKIT_BILEVEL_H
#define OTKIT_BILEVEL_H

#include <otkit/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A bilevel problem. Every callback returns 0 on success; any other value
 * stops the solve with OTK_ERR_NUMERICAL and the callback's name in
 * info.outcome.bad_argument (ll_solve: OTK_STALLED with outcome.cause
 * "ll_solve"). Arrays: x, v, q, grad have n entries; theta and the
 * output of cross_t have p. Callbacks must not keep the pointers.
 */
typedef struct otk_bilevel_problem {
    size_t n; /* lower-level variables, >= 1 */
    size_t p; /* hyperparameters, >= 1 */
    void *user;

    /* grad = grad_x h(x, theta). Required. */
    int (*ll_grad)(void *user, const double *theta, const double *x,
                   double *grad);
    /* out = A(x, theta) v, the Hessian of h in x times v. Required. */
    int (*ll_hvp)(void *user, const double *theta, const double *x,
                  const double *v, double *out);
    /* out (p entries) = B(x, theta)^T q. Required. */
    int (*cross_t)(void *user, const double *theta, const double *x,
                   const double *q, double *out);
    /* *g = g(x); grad = grad g(x) (n entries) unless grad is NULL.
     * Required. */
    int (*upper)(void *user, const double *x, double *g, double *grad);
    /* The strong-convexity modulus mu > 0 and the gradient Lipschitz
     * constant L >= mu of h(., theta). Required; mu must be a true lower
     * bound, or the certificates are void. */
    int (*ll_constants)(void *user, const double *theta, double *mu, double *L);
    /* ||B(x, theta)||_2 or an upper bound of it. Needed for the descent
     * test (settings.check_descent); may be NULL when it is off. */
    int (*cross_norm)(void *user, const double *theta, const double *x,
                      double *norm);
    /* Optional: *h = h(x, theta), for the L-BFGS lower solver (which
     * needs it; OTK_BILEVEL_AUTO uses FISTA without it) and to check
     * ll_grad against finite differences. */
    int (*ll_value)(void *user, const double *theta, const double *x,
                    double *h);
    /* Optional: a lower-level solver of the user's own. It must return
     * x with ||x - xhat(theta)|| <= eps (x holds the warm start on entry)
     * and the iterations it used, or nonzero when it cannot. NULL: otkit's
     * lower_solver on ll_grad with ll_constants (and ll_value). */
    int (*ll_solve)(void *user, const double *theta, double eps, double *x,
                    size_t *iterations);

    /* Constants of the omega bound (otk_bilevel_omega). L_g: Lipschitz
     * constant of grad g (>= 0); L_B: of B(., theta) in x; L_Ainv: of
     * A(., theta)^{-1} in x (<= L_A / mu^2). 0 when constant (quadratic
     * problems). */
    double L_g, L_B, L_Ainv;
    /* Optional: L_B and L_Ainv valid at theta, for problems where they
     * depend on it (they usually do); overrides the two fields above. */
    int (*lipschitz)(void *user, const double *theta, double *L_B,
                     double *L_Ainv);
    /* Nonzero when g is convex: the lower bound of f then drops its
     * L_g eps^2 / 2 term (the paper's Remark 3.6). */
    int g_convex;
} otk_bilevel_problem;

typedef enum otk_bilevel_method {
    OTK_BILEVEL_MAID = 0,           /* adaptive eps, delta and step */
    OTK_BILEVEL_FIXED = 1,          /* MAID's line search, eps0, delta0 fixed */
    OTK_BILEVEL_HOAG_GEOMETRIC = 2, /* HOAG, eps <- hoag_decrease * eps */
    OTK_BILEVEL_HOAG_QUADRATIC = 3, /* HOAG, eps = eps0 / (k + 1)^2 */
    OTK_BILEVEL_HOAG_CUBIC = 4      /* HOAG, eps = eps0 / (k + 1)^3 */
} otk_bilevel_method;

/*
 * One row of the trace, reported after every outer iteration (row 0: the
 * start) as the `detail` of the progress callback's otk_progress record
 * (see otk_bilevel_settings.progress).
 */
typedef struct otk_bilevel_trace_row {
    size_t iteration;  /* outer iterations done (0: the start) */
    double upper_loss; /* g(x) at the current theta's lower solution */
    /* The bounds of f from a lower solution of accuracy eps: certified
     * in certified mode (and at every method's row 0); after a practical
     * MAID step g -+ its first-order loss error estimate
     * (otk_bilevel_error_mode), an estimate, not a bound. */
    double upper_bound; /* g + ||grad g|| eps + L_g eps^2 / 2 >= f */
    double lower_bound; /* g - ||grad g|| eps [- L_g eps^2 / 2] <= f */
    double eps;         /* lower-level accuracy of that solution */
    double delta;       /* CG residual accuracy in use */
    double step;        /* step size alpha of the last accepted step */
    /* omega: the certified bound (certified mode, the baselines) or
     * practical mode's estimate (otk_bilevel_error_mode). */
    double omega;         /* hypergradient error bound (NaN: not computed) */
    double grad_norm;     /* ||z||, the inexact hypergradient's norm */
    size_t ll_iterations; /* cumulative lower-level iterations */
    size_t cg_iterations; /* cumulative CG iterations */
    size_t backtracks;    /* line-search trials in this iteration */
    int accepted;         /* 1 when this iteration moved theta */
    double time_s;        /* wall time since the start (= elapsed_s) */
    const double *theta;  /* the current theta, p entries (during the call) */
} otk_bilevel_trace_row;

/*
 * How MAID judges a hypergradient (settings.error_mode).
 *
 * OTK_BILEVEL_PRACTICAL (the default): omega is an a-posteriori estimate,
 * 2 nu/(1 - nu) ||z_c - z|| with nu = nu_under, z the hypergradient at
 * (eps, delta) and z_c the one at the accuracies eps/nu, delta/nu just
 * before (warm-started: z_c costs a CG solve to a looser residual, z
 * continues from it); it estimates the error of z if that error is
 * proportional to the accuracies; the CG stops no later than at
 * ||A q - grad g|| <= 0.1 ||grad g||, so q is never just its warm start.
 * The line search is the paper's inexact sufficient-decrease test with
 * the loss error of each lower solution x estimated to first order,
 * e(x) = min(3 |q . grad_x h(x)|, ||q|| ||grad_x h(x)||) (g(x) - f =
 * grad g . (x - xhat) ~ q . grad_x h(x), times a safety factor for q's
 * error, capped by its Cauchy-Schwarz bound, which is never above the
 * certified ||grad g|| eps): it accepts
 * theta - a z when g(x_new) + e(x_new) <= g(x) - e(x) - c a ||z||^2, so a
 * loss that is low only because its solve was loose cannot be accepted.
 * After a step whose two errors sum to at most a tenth of the decrease,
 * eps and delta relax by 1/nu_under instead of nu_over. A trial whose
 * loss fell by less than the errors, when they are at most half of
 * a ||z||^2, shrinks the step instead of the accuracy (it went past the
 * line's minimum), and a trial's lower solve starts from x plus the last
 * accepted step's change of x, scaled to the step (while eps is no
 * tighter than when that change was measured). With qn_pairs > 0 (the
 * default) the steps follow L-BFGS directions H z instead of z (see
 * qn_pairs and docs/bilevel.md).
 * The lower level stops at ||grad_x h|| <= max(mu, ll_mu_floor) eps,
 * which is MAID's certificate where mu >= ll_mu_floor and a plain
 * gradient-norm stop (HOAG's kind) where mu is tiny. Nothing here is
 * certified: convergence in this mode rests on the inexact
 * sufficient-decrease line search, as in the paper's experiments with
 * estimated constants, not on the bounds of Theorem 2.1.
 *
 * OTK_BILEVEL_CERTIFIED: the paper's Algorithm 3.1 with the certified
 * omega of otk_bilevel_omega, the lower-level stop ||grad_x h|| <= mu eps
 * and a line search between the certified bounds of f, so that every
 * accepted step provably decreases the true f. Often far more expensive:
 * the certified omega can be 10^3 to 10^5 times the true error.
 */
typedef enum otk_bilevel_error_mode {
    OTK_BILEVEL_PRACTICAL = 0,
    OTK_BILEVEL_CERTIFIED = 1
} otk_bilevel_error_mode;

/* otkit's lower-level solver (when the problem has no ll_solve). */
typedef enum otk_bilevel_lower_solver {
    OTK_BILEVEL_FISTA = 0, /* strongly convex FISTA, step 1/L */
    OTK_BILEVEL_GD = 1,    /* gradient descent, step 2/(L + mu) */
    /* L-BFGS (liblbfgs, history 6 (its default), backtracking Wolfe line
     * search) on ll_value and ll_grad, which it then needs; an iteration is one
     * evaluation of both. FISTA finishes a solve it cannot. */
    OTK_BILEVEL_LBFGS = 2,
    /* The default: L-BFGS for a solve whose mu (ll_constants) is below
     * ll_mu_floor, when the problem has ll_value, else FISTA. With mu/L
     * that small FISTA's momentum is plain FISTA's and its rate
     * sublinear, while L-BFGS follows the curvature where it is
     * (logistic regression with small weights: 5 times fewer
     * iterations, docs/bilevel.md); TV, FoE and the quadratic families
     * have mu above the floor and keep FISTA. */
    OTK_BILEVEL_AUTO = 3
} otk_bilevel_lower_solver;

/*
 * Settings (docs/api.md). Every numeric field is in the bounds table
 * otk_bilevel_setting_bounds(); its comment gives the table's default and
 * valid range. Besides the ranges, armijo_c < eta is required, and
 * method OTK_BILEVEL_MAID with check_descent needs problem->cross_norm.
 * A field out of range gives OTK_ERR_INVALID_ARGUMENT with
 * outcome.bad_argument = "settings.FIELD".
 */
typedef struct otk_bilevel_settings {
    /* The method (otk_bilevel_method), 0 = OTK_BILEVEL_MAID. */
    otk_bilevel_method method; /* Default 0; valid: [0, 4] */
    /* otkit's lower-level solver (otk_bilevel_lower_solver), 3 = auto. */
    otk_bilevel_lower_solver lower_solver; /* Default 3; valid: [0, 3] */
    /* Initial lower-level accuracy. The HOAG baselines use eps for both
     * accuracies. */
    double eps0; /* Default 0.1; valid: (0, inf) */
    /* Initial CG residual. */
    double delta0; /* Default 0.1; valid: (0, inf) */
    /* How MAID judges a hypergradient and a step
     * (otk_bilevel_error_mode), 0 = OTK_BILEVEL_PRACTICAL. The lower-level
     * stop of every method follows it too. */
    otk_bilevel_error_mode error_mode; /* Default 0; valid: [0, 1] */
    /* Initial step size; 0: HOAG's first step 1 / L_lambda with L_lambda
     * = ||z_0|| / sqrt(p) (1 when ||z_0|| <= 1e-3), z_0 the first
     * hypergradient. HOAG always starts so; 0.01 is the paper's. */
    double alpha0; /* Default 0; valid: [0, inf) */
    /* Step shrink per backtrack. */
    double rho_under; /* Default 0.5; valid: (0, 1) */
    /* Step growth after an accepted step (10/9), once any line search
     * has needed a second trial. */
    double rho_over; /* Default 1.1111111111111112; valid: [1, inf) */
    /* Step growth after an accepted step while every line search so far
     * accepted its first trial (a short alpha0 grows fast; the first
     * backtrack switches to rho_over for the rest of the run). */
    double rho_fast; /* Default 1.5; valid: [1, inf) */
    /* Practical MAID's step direction: d = H z with H the L-BFGS
     * inverse-Hessian estimate from the last qn_pairs steps and
     * hypergradient changes (pairs of positive curvature only), first
     * trial alpha = 1, backtracking to the minimum of the parabola each
     * trial gives (within [alpha/10, rho_under alpha]), and a round that
     * fails on the accuracy shrinks eps, delta straight to the size its
     * slack calls for (by 1/8 at most). The direction is safeguarded
     * (its pairs come from inexact hypergradients): a step longer than 10
     * times the last accepted one is shortened to that length, and a
     * direction whose cosine with z is below 0.01 is replaced by z, as
     * long as the last step. 0: steepest descent -z with the
     * growth rules above (certified mode and the fixed baseline always
     * step so). */
    size_t qn_pairs; /* Default 8; valid: [0, 100] */
    /* Accuracy tightening. */
    double nu_under; /* Default 0.5; valid: (0, 1) */
    /* Accuracy relaxing after an accepted step. */
    double nu_over; /* Default 1.05; valid: [1, inf) */
    /* Descent test omega <= (1 - eta) ||z||. */
    double eta; /* Default 1e-4; valid: (0, 1) */
    /* 1 turns the descent test on (MAID), 0 off. FIXED never applies it. */
    int check_descent; /* Default 1; valid: [0, 1] */
    /* Sufficient-decrease fraction c, also below eta (eta^2 in the
     * reference). */
    double armijo_c; /* Default 1e-8; valid: (0, 1) */
    /* Backtracking trials in round j: max_backtrack + j (the fixed
     * baseline uses 5 + j, as in the reference). */
    size_t max_backtrack; /* Default 10; valid: [1, inf) */
    /* Rounds of backtracking per outer iteration. */
    size_t max_rounds; /* Default 3; valid: [1, inf) */
    /* Refinements of eps and delta while computing one hypergradient. */
    size_t max_refinements; /* Default 60; valid: [0, inf) */
    /* The floor of eps. */
    double eps_min; /* Default 1e-14; valid: [0, inf) */
    /* The floor of delta. */
    double delta_min; /* Default 1e-14; valid: [0, inf) */
    /* Outer iterations (0: only the start's lower solve). */
    size_t max_iter; /* Default 1000; valid: [0, inf) */
    /* The budget of lower-level + CG iterations (0 or INFINITY: none). */
    double budget; /* Default 1e6; valid: [0, inf] */
    /* Stop when ||z|| <= grad_tol (0: never, not even at z = 0, which
     * only means the accuracies are too loose to see a gradient). */
    double grad_tol; /* Default 0; valid: [0, inf) */
    /* The cap of one lower-level (FISTA, GD or L-BFGS) solve. */
    size_t ll_max_iter; /* Default 100000; valid: [1, inf) */
    /* The cap of one CG solve. */
    size_t cg_max_iter; /* Default 100000; valid: [1, inf) */
    /* 1: CG starts from the previous hypergradient's q (the adjoint
     * changes little between outer iterations); 0: from q = 0 (the
     * reference code). Every method. */
    int cg_warm_start; /* Default 1; valid: [0, 1] */
    /* Practical mode's lower-level stop ||grad_x h|| <= max(mu,
     * ll_mu_floor) eps (see otk_bilevel_error_mode). */
    double ll_mu_floor; /* Default 0.01; valid: [0, inf) */
    /* HOAG's geometric decrease factor. */
    double hoag_decrease; /* Default 0.9; valid: (0, 1) */
    /* Each theta_i is clipped to [-theta_bound, theta_bound] after a
     * step (as in the reference's HOAG port; INFINITY: no clipping). */
    double theta_bound; /* Default 1000; valid: (0, inf] */
    /* Called after every outer iteration (row 0: the start) with an
     * otk_progress whose solver is "bilevel", iteration the outer
     * iterations done, error = grad_norm (NaN at row 0), reg = NaN,
     * objective = upper_loss, elapsed_s, and detail pointing at the
     * otk_bilevel_trace_row (theta included). Nonzero return cancels the
     * solve with OTK_CANCELLED (theta and x: the last accepted point).
     * NULL: none. */
    otk_progress_fn progress;
    void *progress_user;
} otk_bilevel_settings;

typedef struct otk_bilevel_info {
    /* outcome.status: OTK_CONVERGED (grad_tol > 0 met, or practical
     * MAID's quasi-Newton steps found no acceptable step or descent
     * direction at the tightest accuracy it can reach: theta is
     * stationary to that precision; see qn_pairs), OTK_MAX_ITER
     * (max_iter or budget reached: the normal end), OTK_STALLED with
     * outcome.cause naming why ("ll_max_iter" or "cg_max_iter": a solve
     * could not reach the requested accuracy within its cap, or CG
     * stopped short of it before its cap and the budget, or the
     * problem's own ll_solve failed: "ll_solve"; "eps_min" or
     * "max_refinements": no acceptable step or descent direction before
     * the accuracy floor; "fixed_accuracy": the fixed baseline can
     * certify no step at its accuracy), OTK_CANCELLED, or an error.
     * outcome.bad_argument names, for OTK_ERR_INVALID_ARGUMENT, the
     * argument ("problem", "theta", "x", "z", "eps", "delta"), the problem's
     * field ("n", "p", a missing callback, "L_g", ...) or the setting
     * ("settings.eps0"); for OTK_ERR_INVALID_INPUT the non-finite start
     * ("theta" or "x", with outcome.bad_index); for OTK_ERR_NUMERICAL the
     * callback that failed or returned a non-finite or invalid value
     * ("ll_grad", "ll_constants", "upper", "cross_t", "cross_norm",
     * ...). theta and x always hold the last accepted point. */
    otk_outcome outcome;
    size_t iterations;    /* outer iterations */
    size_t accepted;      /* accepted steps */
    double upper_loss;    /* g at the returned x */
    size_t ll_iterations; /* total lower-level iterations */
    size_t cg_iterations; /* total CG iterations */
    double eps, delta;    /* accuracies at the end */
    double grad_norm;     /* ||z|| of the last hypergradient */
} otk_bilevel_info;

/* Writes the bounds table's defaults (progress callback NULL). */
OTK_API void otk_bilevel_default_settings(otk_bilevel_settings *s);

/* The "paper" preset: the defaults with the paper's MAID (certified
 * mode, alpha0 = 0.01, growth 10/9 from the start, CG from q = 0,
 * steepest-descent steps: qn_pairs = 0). */
OTK_API void otk_bilevel_paper_settings(otk_bilevel_settings *s);

/* The bounds table of otk_bilevel_settings (docs/api.md): one record per
 * numeric field, *count of them (count may be NULL). Static; never
 * freed. */
OTK_API const otk_setting_bounds *otk_bilevel_setting_bounds(size_t *count);

/*
 * Run the chosen method from theta (p entries, updated in place) and the
 * lower-level warm start x (n entries, in place: on return the lower-level
 * solution at theta to accuracy info->eps). settings NULL: the defaults.
 * info may be NULL. Allocates O(n + p) scratch.
 */
OTK_API otk_status otk_bilevel_solve(const otk_bilevel_problem *problem,
                                     const otk_bilevel_settings *settings,
                                     double *theta, double *x,
                                     otk_bilevel_info *info);

/*
 * The building block, for checking and for callers who drive their own
 * loop: solves the lower level at theta to accuracy eps from the warm
 * start x (in place; x changes only when the solve is certified), solves
 * A q = grad g to residual delta (q: n entries, out, may be NULL) and
 * writes z = -B^T q (p entries). Of the settings (NULL: the defaults)
 * it uses lower_solver, ll_max_iter and cg_max_iter; the budget does
 * not apply. info (may be NULL) gets the outcome as otk_bilevel_solve
 * reports it (a cap reached: OTK_STALLED with its cause), the
 * iterations of this call, upper_loss = g(x), grad_norm = ||z||, eps
 * and delta. eps and delta must be > 0 and finite.
 */
OTK_API otk_status otk_bilevel_hypergradient(
    const otk_bilevel_problem *problem, const otk_bilevel_settings *settings,
    const double *theta, double eps, double delta, double *x, double *q,
    double *z, otk_bilevel_info *info);

/*
 * The true upper loss f(theta) = g(xhat(theta)), for confirming a value
 * that a run reports (trace rows and info.upper_loss are g at a lower
 * solution of accuracy eps, inexact by construction). Solves the lower
 * level at theta from the warm start x (n entries, in place; changed
 * only when certified) until ||grad_x h|| <= mu eps, which certifies
 * ||x - xhat(theta)|| <= eps, and writes *loss = g(x) and, unless
 * loss_error is NULL, *loss_error = ||grad g(x)|| eps + L_g eps^2 / 2,
 * so that |f(theta) - *loss| <= *loss_error (the descent lemma). eps
 * must be > 0 and finite; 1e-10 or the precision floor near it is
 * "tight" for the built-in families. Of the settings (NULL: the
 * defaults) it uses lower_solver and ll_max_iter; the budget does not
 * apply. info (may be NULL): the outcome (a cap reached: OTK_STALLED
 * with cause "ll_max_iter" or "ll_solve", *loss and *loss_error NaN),
 * ll_iterations, upper_loss = *loss and eps.
 */
OTK_API otk_status otk_bilevel_evaluate(const otk_bilevel_problem *problem,
                                        const otk_bilevel_settings *settings,
                                        const double *theta, double eps,
                                        double *x, double *loss,
                                        double *loss_error,
                                        otk_bilevel_info *info);

/* The certified bound omega >= ||z - grad f(theta)|| of the paper's
 * Theorem 2.1 for a lower solution x with accuracy eps and a CG residual
 * delta: c eps + (||B|| / mu) delta + (L_B L_g / mu) eps^2 with
 * c = L_g ||B|| / mu + L_Ainv ||grad g|| ||B|| + L_B ||grad g|| / mu.
 * Needs problem->cross_norm. NaN on a callback error. */
OTK_API double otk_bilevel_omega(const otk_bilevel_problem *problem,
                                 const double *theta, const double *x,
                                 double eps, double delta);

/* ---------------------------------------------------------------------
 * Built-in problem families. Each create function fills an instance that
 * owns its data; free it with otk_bilevel_instance_free.
 */
typedef struct otk_bilevel_instance {
    otk_bilevel_problem problem; /* problem.user points into the instance */
    double *theta0;              /* suggested start (p entries) */
    double *x0;                  /* suggested lower-level start (n) */
    /* The analytic optimum and its value when known (quadratic family),
     * else NULL and NaN. */
    double *theta_star;
    double f_star;
    /* Denoising families: the clean images (values in [0,1]) and the
     * noisy ones (not clipped), n entries each, images stacked; their
     * count and size. Other families: NULL and 0. */
    const double *clean, *noisy;
    size_t images, rows, cols;
    void *data; /* private */
} otk_bilevel_instance;

OTK_API void otk_bilevel_instance_free(otk_bilevel_instance *instance);

/* Peak signal-to-noise ratio, 20 log10(1 / RMSE), after clipping both
 * to [0, 1], over len entries. */
OTK_API double otk_bilevel_psnr(const double *image, const double *clean,
                                size_t len);

/*
 * The quadratic problem with an analytic solution (paper section 4.1):
 * A1, A2, A3 (rows x dim) with U[0,1) entries, x1, x2, theta_e in
 * U[0,1)^dim, b1 = A1 x1 + 0.01 y1, b2 = A2 x2 + A3 theta_e + 0.01 y2
 * (y standard normal), drawn from GSL's mt19937 with the seed;
 *     g(x) = 1/2 ||A1 x - b1||^2,  h(x, theta) = 1/2 ||A2 x + A3 theta -
 * b2||^2. theta* solves the least-squares problem min ||M theta - d|| with M =
 * A1 (A2^T A2)^{-1} A2^T A3 (computed with LAPACK). Start theta0 = 1, x0 = x2.
 * rows >= dim >= 1 (the reference uses 1000 x 10).
 */
OTK_API otk_status otk_bilevel_quadratic_create(size_t rows, size_t dim,
                                                unsigned long seed,
                                                otk_bilevel_instance *out);

/*
 * The same family with a stated conditioning: A1 = Q, A2 = Q D, A3 = Q D
 * S, Q (rows x dim) orthonormal from Gaussian draws, D = diag U[1, 2),
 * S = diag cond^(-i / (2 (dim - 1))), i = 0..dim-1, then x1, x2,
 * theta_e, b1, b2 as above (GSL mt19937 with the seed). Then M = Q S:
 * the upper-level Hessian M^T M has condition number exactly cond, the
 * lower level's is at most 4. The paper's uniform draws give condition
 * numbers of 10^3 to 10^6 (1000 x 10: about 1.3e6), where no first-order
 * method gets near theta* in a few thousand steps; this family is for
 * showing convergence itself. cond >= 1 and finite, rows >= dim >= 1.
 */
OTK_API otk_status otk_bilevel_quadratic_conditioned_create(
    size_t rows, size_t dim, double cond, unsigned long seed,
    otk_bilevel_instance *out);

/*
 * TV denoising of 1-D signals (the authors' prototype): `signals` signals
 * of `length` samples, each zero with one box of height 1 (centre uniform
 * in [length/4, length], half-width uniform in [length/8, 3 length/8],
 * clipped to the signal), plus N(0, noise^2) noise, from GSL's mt19937
 * with the seed. Three hyperparameters, N = signals:
 *     h(x, theta) = (1/N) [1/2 ||x - y||^2 + e^theta0 TV_nu(x)
 *                          + 1/2 e^theta2 ||x||^2],  nu = e^theta1,
 *     TV_nu(x) = sum_i sqrt((x_{i+1} - x_i)^2 + nu^2) within each signal,
 *     g(x) = (1/N) 1/2 ||x - x_true||^2.
 * Start theta0 = (-5, -5, -5), x0 = 0. length >= 2, signals >= 1,
 * noise >= 0.
 */
OTK_API otk_status otk_bilevel_tv1d_create(size_t signals, size_t length,
                                           double noise, unsigned long seed,
                                           otk_bilevel_instance *out);

/*
 * TV denoising of 2-D images with smoothed anisotropic TV and two
 * hyperparameters (paper's TV experiment): the caller gives `count` clean
 * images of rows x cols (row-major, stacked, values in [0,1]); N(0,
 * noise^2) noise is added from GSL's mt19937 with the seed. N = count,
 * lambda = e^theta0, nu = e^theta1:
 *     h(x, theta) = (1/N) [1/2 ||x - y||^2 + (lambda/2) TV_nu(x)],
 *     TV_nu(x) = sum phi_nu(D_v x) + sum phi_nu(D_h x),
 *     phi_nu(t) = sqrt(t^2 + nu^2), forward differences, no wrap-around,
 *     g(x) = (1/N) 1/2 ||x - x_true||^2.
 * Start theta0 = (-5, -5), x0 = 0. rows, cols >= 2.
 */
OTK_API otk_status otk_bilevel_tv2d_create(const double *images, size_t count,
                                           size_t rows, size_t cols,
                                           double noise, unsigned long seed,
                                           otk_bilevel_instance *out);

/*
 * Multinomial logistic regression with one l2 weight per parameter
 * (HOAG's and the paper's MNIST experiment). W is features x classes,
 * row-major, no bias; theta has features * classes entries:
 *     h(W, theta) = mean_i CE(softmax(x_i W), y_i) + 1/2 sum_j e^theta_j W_j^2,
 *     g(W) = mean over the validation set of CE.
 * Labels are integers in [0, classes). Start theta0 = -3, W0 = 0.
 * classes >= 2, n_train, n_val, features >= 1.
 */
OTK_API otk_status otk_bilevel_logreg_create(const double *x_train,
                                             const int *y_train, size_t n_train,
                                             const double *x_val,
                                             const int *y_val, size_t n_val,
                                             size_t features, size_t classes,
                                             otk_bilevel_instance *out);

/*
 * A Field-of-Experts denoiser (the paper's FoE experiment, scaled down):
 * `filters` learned filters c_k of filter_size x filter_size taps on the
 * images of otk_bilevel_tv2d_create (same data and noise conventions),
 * 'valid' filtering in the CNN convention (a correlation, no padding):
 * (c_k * x)(i, j) = sum_ab c_k[a][b] x(i + a, j + b), N = count:
 *     h(x, theta) = (1/N) [1/2 ||x - y||^2
 *                   + 1/2 e^theta_0 sum_k e^theta_k sum phi_nu_k(c_k * x)],
 *     nu_k = e^theta_{K+k}, phi_nu(t) = sqrt(t^2 + nu^2),
 *     g(x) = (1/N) 1/2 ||x - x_true||^2.
 * theta = (global log-scale, K log-weights, K log-smoothings, the K
 * filters' taps row by row): 1 + 2K + K s^2 entries. Start: log-scale and
 * log-weights -3, log-smoothings -3, taps Xavier-normal with their mean
 * removed (GSL mt19937 with the seed, after the noise). rows, cols >=
 * filter_size >= 2, filters >= 1.
 */
OTK_API otk_status otk_bilevel_foe_create(const double *images, size_t count,
                                          size_t rows, size_t cols,
                                          double noise, size_t filters,
                                          size_t filter_size,
                                          unsigned long seed,
                                          otk_bilevel_instance *out);

#ifdef __cplusplus
}
#endif

#endif /* OTKIT_BILEVEL_H */
