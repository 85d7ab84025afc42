/*
 * Sinkhorn driver: settings, validation, epsilon-scaling stages, the
 * iteration loop with its stopping rule, and the final pass that forms the
 * plan and every reported number from the returned potentials.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "entropic/entropic_internal.h"
#include "linalg/linalg.h"

/* Auto rules (docs/entropic.md explains the numbers). */
#define SCALING_MAX_RANGE 100.0 /* use the kernel when range/reg <= this */
#define STAGE_MAX_ITER 200      /* iterations per intermediate stage */
#define STAGE_REL_TOL 1e-3      /* their residual target, times mass */
#define UNDERFLOW_COLSUM 1e-250 /* below: redo the column exactly */
#define MAX_RATE (1.0 - 1e-8)   /* rates used for omega stay below */
#define RATE_AGREE                                                             \
    1.5                /* successive rates that agree: the                     \
                          ratio of their 1 - r within this */
#define STALL_CHECKS 3 /* checks no faster than plain: omega is off */
#define MAX_SPAN 200.0 /* omega's transient: 1 / (2 - omega) its, at most */
#define GROWTH 10.0 /* growth in it, per iteration of span, that ends omega */
#define NEWTON_AFTER 1000  /* projected plain iterations that call Newton */
#define NEWTON_HALVINGS 30 /* backtracking halvings of a Newton step */
#define NEWTON_PHASES 3    /* Newton phases per stage, at most */
#define NEWTON_AGAIN 0.1   /* or more once the residual fell this far */
#define NEWTON_GAP 200     /* or this many iterations went by since one */
#define NEWTON_MAX_STEP 30 /* longest first trial step, in units of reg */

otk_sinkhorn_workspace *otk_sinkhorn_workspace_create(size_t n, size_t m)
{
    if (n == 0 || m == 0 || n > SIZE_MAX / 16 / sizeof(double) ||
        m > SIZE_MAX / 16 / sizeof(double))
        return NULL;
    otk_sinkhorn_workspace *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return NULL;
    ws->n = n;
    ws->m = m;
    /* One block for every O(n + m) vector. */
    double *block = malloc((8 * n + 5 * m) * sizeof *block);
    if (block == NULL) {
        free(ws);
        return NULL;
    }
    ws->wa = block;
    ws->loga = ws->wa + n;
    ws->f = ws->loga + n;
    ws->lse = ws->f + n;
    ws->hn = ws->lse + n;
    ws->en = ws->hn + n;
    ws->ccol = ws->en + n;
    ws->rowsum = ws->ccol + n;
    ws->wb = ws->rowsum + n;
    ws->logb = ws->wb + m;
    ws->g = ws->logb + m;
    ws->h = ws->g + m;
    ws->colsum = ws->h + m;
    return ws;
}

void otk_sinkhorn_workspace_free(otk_sinkhorn_workspace *ws)
{
    if (ws == NULL)
        return;
    free(ws->wa);
    free(ws->tbuf);
    free(ws->yt);
    free(ws->K);
    free(ws->newton);
    free(ws);
}

/* Per-block rows for t blocks (threads); 0 or OTK_ERR_NO_MEMORY. A new
 * count starts the sweeps' measurements afresh; the same one keeps what
 * earlier solves on this workspace measured. */
int otk__reserve_threads(otk_sinkhorn_workspace *ws, int t)
{
    if (t != ws->par_log.parts || t != ws->par_scaling.parts) {
        otk__par_init(&ws->par_log, t);
        otk__par_init(&ws->par_scaling, t);
    }
    ws->threads = t;
    if (t <= ws->tbuf_threads)
        return 0;
    const size_t per = (SWEEP_BLOCK + 2) * ws->m + OTK__FINAL_SUMS;
    if ((size_t)t > SIZE_MAX / sizeof(double) / per)
        return OTK_ERR_NO_MEMORY;
    double *buf = malloc((size_t)t * per * sizeof *buf);
    if (buf == NULL)
        return OTK_ERR_NO_MEMORY;
    free(ws->tbuf);
    ws->tbuf = buf;
    ws->tsums = buf + (size_t)t * (SWEEP_BLOCK + 2) * ws->m;
    ws->tbuf_threads = t;
    return 0;
}

static double lambda(double tau, double reg)
{
    return isinf(tau) ? 1.0 : tau / (tau + reg);
}

/* Residual of the plan (new f, old g): the L1 violation of
 * P 1 = a exp(-f / tau_a) and P^T 1 = b exp(-g / tau_b). Without
 * over-relaxation the row part is zero up to rounding. */
double otk__row_residual(const otk_sinkhorn_workspace *ws,
                         const sweep_problem *pb)
{
    double r = 0.0;
    for (size_t i = 0; i < ws->n; i++) {
        double target = isinf(pb->tau_a)
                            ? ws->wa[i]
                            : ws->wa[i] * exp(-ws->f[i] / pb->tau_a);
        r += fabs(ws->rowsum[i] - target);
    }
    return r;
}

static double residual(const otk_sinkhorn_workspace *ws,
                       const sweep_problem *pb)
{
    double r = otk__row_residual(ws, pb);
    for (size_t j = 0; j < ws->m; j++) {
        double target = isinf(pb->tau_b)
                            ? ws->wb[j]
                            : ws->wb[j] * exp(-ws->g[j] / pb->tau_b);
        r += fabs(ws->colsum[j] - target);
    }
    return r;
}

/* The g of the next iteration: T(f) from the column sums (exactly, down
 * the column, where they underflowed), over-relaxed like f. For a
 * symmetric problem (same points and weights on both sides, so f = g at
 * the optimum) the averaged update g <- (g + f)/2 is used instead: it
 * converges in a few iterations where the alternating one can crawl
 * (Feydy et al. 2019). */
static void next_g(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                   int symmetric)
{
    if (symmetric) {
        for (size_t j = 0; j < ws->m; j++)
            ws->g[j] = 0.5 * (ws->g[j] + ws->f[j]);
        return;
    }
    int prepared = 0;
    for (size_t j = 0; j < ws->m; j++) {
        if (ws->wb[j] == 0.0)
            continue;
        double c = ws->colsum[j], T;
        if (c > UNDERFLOW_COLSUM && isfinite(c)) {
            T = pb->lam_b * (ws->g[j] - pb->reg * log(c / ws->wb[j]));
        } else {
            T = otk__column_update(ws, pb, j, !prepared);
            prepared = 1;
        }
        ws->g[j] =
            pb->omega == 1.0 ? T : (1.0 - pb->omega) * ws->g[j] + pb->omega * T;
    }
}

static int want_scaling(const otk_sinkhorn_workspace *ws,
                        const sweep_problem *pb, otk_sinkhorn_domain domain,
                        double range)
{
    if (pb->cost->C == NULL || domain == OTK_DOMAIN_LOG)
        return 0;
    if (domain == OTK_DOMAIN_SCALING)
        return 1;
    double gmin = INFINITY, gmax = -INFINITY;
    for (size_t j = 0; j < ws->m; j++)
        if (ws->wb[j] > 0.0) {
            gmin = fmin(gmin, ws->g[j]);
            gmax = fmax(gmax, ws->g[j]);
        }
    return range / pb->reg <= SCALING_MAX_RANGE &&
           (gmax - gmin) / pb->reg <= SCALING_MAX_RANGE;
}

typedef struct bounds_job {
    otk_sinkhorn_workspace *ws;
    const otk_cost *cost;
} bounds_job;

/* Block b's bounds, into its first two partial sums. */
static void bounds_block(void *arg, int b)
{
    const bounds_job *job = arg;
    otk_sinkhorn_workspace *ws = job->ws;
    thread_block tb = otk__thread_block(ws, b);
    double *part = ws->tsums + (size_t)b * OTK__FINAL_SUMS;
    otk__cost_rows_bounds(job->cost, ws->yt, tb.i0, tb.i1, tb.crow, &part[0],
                          &part[1]);
}

/* The cost's exact min and max (otk__cost_bounds); for point clouds in
 * one pass over all pairs split among the solve's threads, as a sweep. A
 * looser bound would switch epsilon scaling on where it only costs
 * iterations (the bounding box of Gaussian clouds in d = 16 gives about 10
 * times the true max). Needs ws->yt prepared and the threads reserved. */
void otk__ws_cost_bounds(otk_sinkhorn_workspace *ws, const otk_cost *cost,
                         double *lo, double *hi)
{
    if (cost->C != NULL) {
        otk__cost_bounds(cost, lo, hi);
        return;
    }
    const int team = otk__once_team(ws); /* min and max: exact in any order */
    otk__par_blocks(team, ws->threads, bounds_block, &(bounds_job){ws, cost});
    /* each block's bounds count (otk__cost_rows_bounds overwrites) */
    double mn = INFINITY, mx = -INFINITY;
    for (int b = 0; b < ws->threads; b++) {
        mn = fmin(mn, ws->tsums[(size_t)b * OTK__FINAL_SUMS]);
        mx = fmax(mx, ws->tsums[(size_t)b * OTK__FINAL_SUMS + 1]);
    }
    *lo = mn;
    *hi = mx;
}

typedef struct run_state {
    const otk_sinkhorn_settings *s;
    int symmetric;
    size_t iterations;
    double residual;
    otk_sinkhorn_domain domain;
    const otk__call *call; /* for the progress record's elapsed time */
    size_t stage;          /* the current epsilon-scaling stage, from 1 */
} run_state;

/* Over-relaxation factor from the measured rate r of plain Sinkhorn
 * (Lehmann et al. 2021; ott-jax's adaptive momentum). Rates close to 1 are
 * exactly where it matters (r = 1 - 1e-4 gives omega = 1.98 and a rate of
 * about 1 - 1e-2), so r is only kept below 1. */
static double omega_for_rate(double r)
{
    r = fmin(r, MAX_RATE);
    return 2.0 / (1.0 + sqrt(1.0 - r));
}

/* The adaptive relaxation's state. Plain iterations measure the rate per
 * iteration between consecutive checks; omega is set once two successive
 * rates agree (the asymptotic rate, not the fast transient of the first
 * checks). Under omega the rate is still measured. After omega's own
 * transient (relax_update) a residual GROWTH times that at the switch
 * sends it back to plain iterations, which measure again; a stall (no faster
 * than plain iterations did for STALL_CHECKS checks in a row: a slower mode has
 * taken over, which needs a larger omega) raises omega once for that mode
 * (slower_mode) where no Newton phases follow, and otherwise, or at the
 * next stall, it goes back to plain iterations and measures again. */
typedef struct relax_state {
    int adaptive, stalls, raised;
    int may_raise; /* no Newton phases here: slower_mode applies */
    double prev_res, prev_rate, plain_rate, switch_res;
    size_t prev_k, switch_k;
} relax_state;

static void back_to_plain(relax_state *rx, sweep_problem *pb)
{
    pb->omega = 1.0;
    rx->prev_rate = NAN;
    rx->stalls = 0;
}

/* Under omega the residual decays at rate lam; for a mode whose plain
 * rate is r, lam solves (lam + omega - 1)^2 = lam omega^2 r while omega is
 * below that mode's optimum (Young's relation for over-relaxation of an
 * alternating scheme; above it |lam| = omega - 1). A stall (lam no better
 * than the plain rate omega was set for) is a slower mode: its r follows
 * from lam, and omega is raised to that mode's optimum instead of
 * measuring plain iterations again, whose first checks would show the
 * same fast transient and give the same omega. Returns 0 when lam tells
 * nothing (at or below omega - 1, or not a slower mode) or omega was
 * already raised once since plain iterations set it (a second stall means
 * the model does not hold: plain iterations measure again). */
static int slower_mode(relax_state *rx, sweep_problem *pb, double lam,
                       double res)
{
    const double w = pb->omega;
    if (!rx->may_raise || rx->raised || !(lam < 1.0 && lam > w - 1.0))
        return 0;
    double r = (lam + w - 1.0) * (lam + w - 1.0) / (lam * w * w);
    if (!(r > rx->plain_rate && r < 1.0))
        return 0;
    rx->plain_rate = r;
    pb->omega = omega_for_rate(r);
    rx->switch_res = res;
    rx->stalls = 0;
    rx->raised = 1;
    return 1;
}

static double relax_update(relax_state *rx, sweep_problem *pb, double res,
                           size_t k)
{
    if (!rx->adaptive)
        return NAN;
    double rate = rx->prev_k > 0 && res < rx->prev_res
                      ? pow(res / rx->prev_res, 1.0 / (double)(k - rx->prev_k))
                      : 1.0;
    if (pb->omega != 1.0) {
        /* The residual measures a step, and omega makes the steps of a
         * slow mode of rate r about 1 / sqrt(1 - r) times larger: after a
         * switch it grows for about 1 / (2 - omega) iterations before it
         * decays. Judged by its first check (tenfold growth ended omega)
         * or its rate then, omega was switched off in a cycle of 40
         * iterations that hardly moved the slow mode. So the transient
         * may grow the residual by GROWTH times its span and counts no
         * stall; after it GROWTH-fold growth ends omega, as before. */
        const double span = fmin(1.0 / (2.0 - pb->omega), MAX_SPAN);
        const int transient = (double)(k - rx->switch_k) < span;
        rx->stalls = rate >= rx->plain_rate && !transient ? rx->stalls + 1 : 0;
        if (res > GROWTH * (transient ? span : 1.0) * rx->switch_res)
            back_to_plain(rx, pb);
        else if (rx->stalls >= STALL_CHECKS && slower_mode(rx, pb, rate, res))
            rx->switch_k = k;
        else if (rx->stalls >= STALL_CHECKS)
            back_to_plain(rx, pb);
    } else if (rate < 1.0) {
        /* agreement in 1 - rate (the quantity omega depends on) */
        double q = (1.0 - rate) / (1.0 - rx->prev_rate);
        if (q > 1.0 / RATE_AGREE && q < RATE_AGREE) {
            rx->plain_rate = fmax(rate, rx->prev_rate);
            pb->omega = omega_for_rate(rx->plain_rate);
            rx->switch_res = res;
            rx->switch_k = k;
            rx->stalls = 0;
            rx->raised = 0;
        }
        rx->prev_rate = rate;
    } else {
        rx->prev_rate = NAN;
    }
    rx->prev_res = res;
    rx->prev_k = k;
    return rate;
}

#define KEEP_GOING 1000 /* not a status: neither done nor failed */

/* The residual of the last sweep's plan, checked and passed to the
 * callback: a status to return, or KEEP_GOING. */
static int measure(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                   double tol, run_state *st)
{
    st->residual = residual(ws, pb);
    if (!isfinite(st->residual))
        return OTK_ERR_NUMERICAL;
    if (st->s->progress != NULL) {
        const otk_sinkhorn_progress detail = {.stage = st->stage,
                                              .domain = st->domain};
        otk_progress p = {.solver = "sinkhorn",
                          .iteration = st->iterations,
                          .error = st->residual,
                          .reg = pb->reg,
                          .objective = NAN,
                          .elapsed_s = otk__elapsed(st->call),
                          .detail = &detail};
        if (st->s->progress(st->s->progress_user, &p) != 0)
            return OTK_CANCELLED;
    }
    return st->residual <= tol ? OTK_CONVERGED : KEEP_GOING;
}

/* One log-domain sweep from ws->g, counted and measured. */
static int sweep_measure(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                         double tol, size_t *k, run_state *st)
{
    otk__sweep_log(ws, pb);
    st->domain = OTK_DOMAIN_LOG;
    st->iterations++;
    (*k)++;
    return measure(ws, pb, tol, st);
}

/* The first trial length of the Newton step dg: 1, or less where the step
 * would move two potentials apart by more than NEWTON_MAX_STEP reg. On a
 * nearly disconnected block the linear model can ask for millions of reg,
 * far outside where it holds (the plan changes like exp(dg / reg)). */
static double first_length(const double *dg, size_t m, double reg)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < m; j++) {
        lo = fmin(lo, dg[j]);
        hi = fmax(hi, dg[j]);
    }
    return hi - lo > NEWTON_MAX_STEP * reg ? NEWTON_MAX_STEP * reg / (hi - lo)
                                           : 1.0;
}

/* Newton steps on g (newton.c) from the last sweep's plan, which has exact
 * rows, with backtracking on the residual: each trial point costs a sweep
 * (counted as an iteration, measured as a check). Returns a status, or
 * KEEP_GOING when a step cannot be made, NEWTON_HALVINGS halvings do not
 * reduce the residual (the last measured iterate is then the one the step
 * started from), or a step gains less than plain iterations at the
 * measured rate would in as many sweeps (Newton is not in its quadratic
 * region, or is at the precision floor); Sinkhorn iterations go on from
 * the last measured iterate. */
static int newton_phase(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                        double tol, double rate, size_t *k, size_t budget,
                        run_state *st)
{
    const size_t m = ws->m;
    for (;;) {
        const double res = st->residual;
        int code;
        double *dg = otk__newton_direction(ws, pb, &code);
        if (dg == NULL)
            return code == OTK_ERR_NO_MEMORY ? OTK_ERR_NO_MEMORY : KEEP_GOING;
        double *g0 = dg + m, t = first_length(dg, m, pb->reg);
        memcpy(g0, ws->g, m * sizeof *g0);
        int sweeps = 0;
        for (;; t *= 0.5) {
            if (*k >= budget)
                return OTK_MAX_ITER;
            if (sweeps++ > NEWTON_HALVINGS)
                t = 0.0; /* back to where the step started */
            for (size_t j = 0; j < m; j++)
                ws->g[j] = g0[j] + t * dg[j];
            int r = sweep_measure(ws, pb, tol, k, st);
            if (r != KEEP_GOING)
                return r;
            if (t == 0.0)
                return KEEP_GOING;
            if (st->residual < res)
                break;
        }
        if (st->residual > res * pow(fmin(rate, MAX_RATE), sweeps))
            return KEEP_GOING;
    }
}

/* Worth a Newton phase: plain iterations at the measured rate would need
 * more than NEWTON_AFTER iterations to reach tol. */
static int newton_wanted(const otk_sinkhorn_workspace *ws,
                         const sweep_problem *pb, double rate, double res,
                         double tol)
{
    if (!otk__newton_applies(ws, pb) || isnan(rate))
        return 0;
    return rate >= 1.0 || log(tol / res) / log(rate) > NEWTON_AFTER;
}

/* Another Newton phase may start: fewer than NEWTON_PHASES so far, or the
 * residual fell NEWTON_AGAIN-fold since the last one ended (at res0,
 * iteration k0), or NEWTON_GAP iterations went by. Phases started far
 * from the solution end after a sweep or two; a fixed count of them left
 * plain iterations stuck on a slow mode for thousands of iterations that
 * a later phase ends in two sweeps. */
static int newton_allowed(int phases, double res, double res0, size_t k,
                          size_t k0)
{
    return phases < NEWTON_PHASES || res < NEWTON_AGAIN * res0 ||
           k >= k0 + NEWTON_GAP;
}

/* Iterate at one reg until the residual is <= tol (OTK_CONVERGED), the
 * budget runs out (OTK_MAX_ITER), the callback cancels, or the iterates
 * stop being finite. The potentials on return are those of the last
 * measured plan (new f, old g). Adaptive (settings.relaxation = 0): the
 * relaxation of relax_update, and on small balanced problems where plain
 * iterations would crawl, Newton phases (newton_phase): another one each
 * time the rate measured after the last is still slow (newton_allowed). */
static otk_status run_stage(otk_sinkhorn_workspace *ws,
                            const sweep_problem *pb_in, int scaling, double tol,
                            size_t budget, run_state *st)
{
    sweep_problem pb = *pb_in;
    const double relax = st->symmetric ? 1.0 : st->s->relaxation;
    const relax_state fresh = {.adaptive = relax == 0.0,
                               .may_raise = !otk__newton_applies(ws, &pb),
                               .prev_res = NAN,
                               .prev_rate = NAN,
                               .plain_rate = NAN,
                               .switch_res = NAN};
    relax_state rx = fresh;
    int newton_phases = 0;
    double newton_res = INFINITY; /* the residual after the last phase */
    size_t newton_k = 0;          /* and its iteration */
    pb.omega = rx.adaptive ? 1.0 : relax;
    if (scaling && otk__build_kernel(ws, &pb) != 0)
        return OTK_ERR_NO_MEMORY;
    for (size_t k = 1; k <= budget; k++) {
        if (scaling && otk__sweep_scaling(ws, &pb) != 0)
            scaling = 0; /* left the safe range: this and later sweeps in
                            the log domain, from the same g */
        if (!scaling)
            otk__sweep_log(ws, &pb);
        st->domain = scaling ? OTK_DOMAIN_SCALING : OTK_DOMAIN_LOG;
        st->iterations++;
        if (st->iterations % st->s->check_every == 0 || k == budget) {
            int r = measure(ws, &pb, tol, st);
            if (r != KEEP_GOING)
                return (otk_status)r;
            const int plain = pb.omega == 1.0, first = rx.prev_k == 0;
            double rate = relax_update(&rx, &pb, st->residual, k);
            if (plain && !first &&
                newton_allowed(newton_phases, st->residual, newton_res, k,
                               newton_k) &&
                newton_wanted(ws, &pb, rate, st->residual, tol)) {
                newton_phases++;
                pb.omega = 1.0;
                r = newton_phase(ws, &pb, tol, rate, &k, budget, st);
                newton_res = st->residual;
                newton_k = k;
                if (r != KEEP_GOING)
                    return (otk_status)r;
                rx = fresh;
            }
        }
        if (k >= budget)
            return OTK_MAX_ITER;
        next_g(ws, &pb, st->symmetric);
    }
    return OTK_MAX_ITER;
}

/* The final pass: the plan P_ij = a_i b_j exp((f_i + g_j - C_ij)/reg) of
 * the returned potentials, written out if asked, and every number of the
 * info measured on it. bscale maps the internal b back to the caller's. */
static void finalize(otk_sinkhorn_workspace *ws, const sweep_problem *pb,
                     double bscale, double mass_a, double mass_b, double *P,
                     otk_sinkhorn_info *info)
{
    const size_t m = ws->m;
    const double inv = 1.0 / pb->reg;
    int prepared = 0;
    for (size_t j = 0; j < m; j++)
        if (ws->wb[j] == 0.0) { /* free dual variable: its c-transform */
            ws->g[j] = otk__column_update(ws, pb, j, !prepared);
            prepared = 1;
        }
    for (size_t j = 0; j < m; j++)
        ws->h[j] = ws->logb[j] + ws->g[j] * inv;
    double sums[OTK__FINAL_SUMS];
    otk__final_rows(ws, pb, P, sums);
    otk__final_info(ws, pb, ws->colsum, sums, bscale, mass_a, mass_b, info);
}

static void set_weights(otk_sinkhorn_workspace *ws, const double *a,
                        const double *b, double bscale)
{
    for (size_t i = 0; i < ws->n; i++) {
        ws->wa[i] = a != NULL ? a[i] : 1.0 / (double)ws->n;
        ws->loga[i] = log(ws->wa[i]);
    }
    for (size_t j = 0; j < ws->m; j++) {
        ws->wb[j] = (b != NULL ? b[j] : 1.0 / (double)ws->m) / bscale;
        ws->logb[j] = log(ws->wb[j]);
    }
}

/* The same weights on both sides (NULL is uniform). */
static int same_weights(const double *a, const double *b, size_t n)
{
    if (a == b)
        return 1;
    for (size_t i = 0; i < n; i++)
        if ((a != NULL ? a[i] : 1.0 / (double)n) !=
            (b != NULL ? b[i] : 1.0 / (double)n))
            return 0;
    return 1;
}

/* 1 when the (validated) problem is its own transpose: a square cost
 * equal to its transpose (points: the same coordinates on both sides),
 * the same weights and tau on both sides. O(n^2) reads for a dense cost,
 * less than one iteration. */
static int is_symmetric(const otk_cost *cost, const double *a, const double *b,
                        const otk_sinkhorn_settings *s)
{
    if (cost->n != cost->m || s->tau_a != s->tau_b ||
        !same_weights(a, b, cost->n))
        return 0;
    const size_t n = cost->n;
    if (cost->C == NULL)
        return cost->x != NULL && cost->y != NULL &&
               (cost->x == cost->y ||
                memcmp(cost->x, cost->y, n * cost->d * sizeof *cost->x) == 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cost->C[i * n + j] != cost->C[j * n + i])
                return 0;
    return 1;
}

otk__call otk__sinkhorn_begin(otk_sinkhorn_info **where,
                              otk_sinkhorn_info *local)
{
    if (*where == NULL)
        *where = local;
    otk_sinkhorn_info *info = *where;
    otk__call call = otk__begin(&info->outcome);
    info->iterations = 0;
    info->stages = 0;
    info->domain = OTK_DOMAIN_AUTO;
    info->objective = info->dual_objective = info->transport_cost = NAN;
    info->marginal_error = info->residual = info->neglected_mass = NAN;
    return call;
}

/* The arguments of a solve, checked in the documented order: settings,
 * reg, the cost and weights (with the masses of a balanced problem), the
 * workspace's size, and what the settings ask of them. */
static otk_status check_args(otk__call *call, const otk_sinkhorn_workspace *ws,
                             const otk_problem *pr,
                             const otk_sinkhorn_settings *s,
                             const otk_solution *sol, double *mass_a,
                             double *mass_b)
{
    otk_status st = otk__sinkhorn_validate(call, s);
    if (st != OTK_CONVERGED)
        return st;
    /* A subnormal reg makes 1 / reg overflow. */
    if (!(isnormal(pr->reg) && pr->reg > 0.0))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "reg", SIZE_MAX);
    const int balanced = isinf(s->tau_a) && isinf(s->tau_b);
    st = otk__check_transport(call, pr->cost, pr->a, pr->b, balanced, 1e-9,
                              mass_a, mass_b);
    if (st != OTK_CONVERGED)
        return st;
    if (pr->cost->n != ws->n || pr->cost->m != ws->m)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT,
                         pr->cost->n != ws->n ? "cost.n" : "cost.m", SIZE_MAX);
    if (s->domain == OTK_DOMAIN_SCALING && pr->cost->C == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "settings.domain",
                         SIZE_MAX);
    st = otk__multiscale_check(call, pr, s);
    if (st != OTK_CONVERGED)
        return st;
    if (s->warm_start) {
        const double *g = sol != NULL ? sol->g : NULL;
        if (g == NULL && !ws->g_valid)
            return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "solution.g",
                             SIZE_MAX);
        size_t bad = g != NULL ? otk__first_nonfinite(g, ws->m) : SIZE_MAX;
        if (bad != SIZE_MAX)
            return otk__fail(call, OTK_ERR_INVALID_INPUT, "solution.g", bad);
    }
    return OTK_CONVERGED;
}

/* What a solve needs before it can bound the cost: the weights, the
 * transposed targets of point clouds and the threads. Returns 0 or
 * OTK_ERR_NO_MEMORY. */
static otk_status setup(otk_sinkhorn_workspace *ws, const otk_problem *pr,
                        const otk_sinkhorn_settings *s, double bscale)
{
    const otk_cost *cost = pr->cost;
    set_weights(ws, pr->a, pr->b, bscale);
    size_t yt_len = otk__cost_scratch_len(cost);
    if (yt_len > ws->yt_cap) {
        free(ws->yt);
        ws->yt = malloc(yt_len * sizeof *ws->yt);
        ws->yt_cap = ws->yt == NULL ? 0 : yt_len;
        if (ws->yt == NULL)
            return OTK_ERR_NO_MEMORY;
    }
    otk__cost_prepare(cost, ws->yt);
    ws->K_valid = 0; /* the cost's contents may have changed in place */
    /* A parallel region per sweep only pays off on large problems; on
     * small ones threads spend their time waiting for each other (and far
     * more when another process holds a core: the sweeps then measure
     * whether to run their blocks on the calling thread, linalg/par.h). */
    int threads = otk__threads_for_work(s->threads, ws->n * ws->m);
    if (otk__reserve_threads(ws, threads) != 0)
        return OTK_ERR_NO_MEMORY;
    for (size_t i = 0; i < ws->n; i++)
        ws->lse[i] = NAN;
    return OTK_CONVERGED;
}

/* The starting g, once no argument error can happen: g0, the workspace's
 * (a warm start without a g), or 0. */
static void start_g(otk_sinkhorn_workspace *ws, const otk_sinkhorn_settings *s,
                    const double *g0)
{
    if (s->warm_start && g0 != NULL)
        memcpy(ws->g, g0, ws->m * sizeof *g0);
    else if (!s->warm_start)
        memset(ws->g, 0, ws->m * sizeof *ws->g);
    ws->g_valid = 0; /* until this solve returns a usable g */
}

void otk__set_reg(sweep_problem *pb, const otk_sinkhorn_settings *s, double reg)
{
    pb->reg = reg;
    pb->lam_a = lambda(s->tau_a, reg);
    pb->lam_b = lambda(s->tau_b, reg);
}

void otk__stage_limits(const otk_sinkhorn_settings *s, int last, size_t done,
                       double tol_abs, double mass_ref, size_t *budget,
                       double *tol)
{
    size_t left = s->max_iter - done;
    *budget = last || left < STAGE_MAX_ITER ? left : STAGE_MAX_ITER;
    *tol = last ? tol_abs : fmax(tol_abs, STAGE_REL_TOL * mass_ref);
}

/* The epsilon-scaling stages from reg_s down to reg (one stage at reg
 * without scaling); pb->reg is that of the last stage run. */
static otk_status run_stages(otk_sinkhorn_workspace *ws, sweep_problem *pb,
                             double reg, double reg_s, double range,
                             double tol_abs, double mass_ref, run_state *rs)
{
    const otk_sinkhorn_settings *s = rs->s;
    for (;;) {
        int last = reg_s <= reg;
        if (last)
            reg_s = reg;
        otk__set_reg(pb, s, reg_s);
        size_t budget;
        double tol;
        otk__stage_limits(s, last, rs->iterations, tol_abs, mass_ref, &budget,
                          &tol);
        int scaling = want_scaling(ws, pb, s->domain, range);
        rs->stage++;
        otk_status st = run_stage(ws, pb, scaling, tol, budget, rs);
        if (st < 0 || st == OTK_CANCELLED || last ||
            rs->iterations >= s->max_iter)
            return !last && st == OTK_CONVERGED ? OTK_MAX_ITER : st;
        next_g(ws, pb, rs->symmetric);
        reg_s *= s->eps_scaling_factor;
    }
}

/* The first stage's reg: R = max C - min C with epsilon scaling, else reg.
 * A warm start brings potentials for reg itself: the stages that would
 * compute them from coarser regs are skipped. */
double otk__first_reg(const otk_sinkhorn_settings *s, double range, double reg)
{
    int scaled =
        !s->warm_start &&
        (s->eps_scaling == 1 ||
         (s->eps_scaling == -1 && range / reg > OTK__EPS_SCALING_MIN_RANGE));
    return scaled && range > reg ? range : reg;
}

/* Stopped in an earlier stage (max_iter or cancelled): its f is the
 * c-transform at a larger reg, which would give a meaningless plan at
 * this one. One log-domain row update at the requested reg makes the rows
 * exact again; the info then measures that plan. It belongs to the final
 * pass and is not counted in iterations, which never exceed max_iter. */
static void rows_at_reg(otk_sinkhorn_workspace *ws, sweep_problem *pb,
                        double reg, run_state *rs)
{
    otk__set_reg(pb, rs->s, reg);
    pb->omega = 1.0;
    otk__sweep_log(ws, pb);
    rs->domain = OTK_DOMAIN_LOG;
}

/* The returned potentials: f back from C - shift to C. */
static void write_potentials(const otk_sinkhorn_workspace *ws, double shift,
                             otk_solution *sol)
{
    if (sol != NULL && sol->f != NULL)
        for (size_t i = 0; i < ws->n; i++)
            sol->f[i] = ws->f[i] + shift;
    if (sol != NULL && sol->g != NULL)
        memcpy(sol->g, ws->g, ws->m * sizeof *sol->g);
}

/* A solve's arguments, for the part that runs with a crew. */
typedef struct solve_job {
    otk__call *call;
    otk_sinkhorn_workspace *ws;
    const otk_problem *pr;
    const otk_sinkhorn_settings *s;
    otk_solution *sol;
    double mass_a, mass_b, bscale;
    otk_sinkhorn_info *info;
} solve_job;

static int solve_set_up(void *arg);

/* A solve of checked arguments, from the setup to the final pass;
 * ends the call. */
static otk_status solve_checked(otk__call *call, otk_sinkhorn_workspace *ws,
                                const otk_problem *pr,
                                const otk_sinkhorn_settings *s,
                                otk_solution *sol, double mass_a, double mass_b,
                                otk_sinkhorn_info *info)
{
    const int balanced = isinf(s->tau_a) && isinf(s->tau_b);
    /* b rescaled to a's mass when balanced */
    const double bscale = balanced ? mass_b / mass_a : 1.0;
    if (balanced)
        mass_b = mass_a;
    if (setup(ws, pr, s, bscale) != 0)
        return otk__fail(call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    /* every pass over the cost from here on: one parallel region */
    solve_job job = {call, ws, pr, s, sol, mass_a, mass_b, bscale, info};
    return (otk_status)otk__crew_run(ws->threads, solve_set_up, &job);
}

/* The rest of a solve once set up, from the cost's bounds to the final
 * pass; ends the call. */
static int solve_set_up(void *arg)
{
    const solve_job *job = arg;
    otk__call *call = job->call;
    otk_sinkhorn_workspace *ws = job->ws;
    const otk_problem *pr = job->pr;
    const otk_sinkhorn_settings *s = job->s;
    otk_solution *sol = job->sol;
    otk_sinkhorn_info *info = job->info;
    const otk_cost *cost = pr->cost;
    const double reg = pr->reg, mass_a = job->mass_a, mass_b = job->mass_b;
    const double bscale = job->bscale;
    const int balanced = isinf(s->tau_a) && isinf(s->tau_b);
    double lo, hi;
    otk__ws_cost_bounds(ws, cost, &lo, &hi);
    const double range = hi - lo;
    /* The iterations work with potentials / reg, of magnitude range / reg;
     * beyond 1e10 double precision cannot represent the plan. */
    if (reg < OTK__MIN_REL_REG * range)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "reg", SIZE_MAX);
    start_g(ws, s, sol != NULL ? sol->g : NULL);
    /* tol is relative to the mass: the residual of a problem of mass M
     * cannot go below about eps M, and 1e-9 absolute would be no test at
     * all for a mass of 1e-6 */
    const double mass_ref = 0.5 * (mass_a + mass_b);
    const double tol_abs = s->tol * mass_ref;
    /* A problem that is its own transpose has f = g at the optimum: the
     * averaged update converges where the alternating one can crawl. */
    run_state rs = {
        s, is_symmetric(cost, pr->a, pr->b, s), 0, NAN, OTK_DOMAIN_LOG, call,
        0};
    /* Shift invariance: a balanced problem with C - min C has the same plan,
     * and f - min C; iterating on it keeps potentials and costs small, so
     * an offset such as 1e8 costs no precision. */
    sweep_problem pb = {
        cost, reg, 1.0, 1.0, s->tau_a, s->tau_b, lo, balanced ? lo : 0.0, 1.0};
    otk_status st = run_stages(ws, &pb, reg, otk__first_reg(s, range, reg),
                               range, tol_abs, mass_ref, &rs);
    info->stages = rs.stage;
    if (st == OTK_ERR_NO_MEMORY)
        return otk__fail(call, st, NULL, SIZE_MAX);
    if (st == OTK_MAX_ITER)
        call->out->cause = pb.reg != reg ? "max_iter_stage" : "max_iter";
    if (pb.reg != reg)
        rows_at_reg(ws, &pb, reg, &rs);
    info->iterations = rs.iterations;
    info->domain = rs.domain;
    finalize(ws, &pb, bscale, mass_a, mass_b, sol != NULL ? sol->P : NULL,
             info);
    if (st >= 0 && !(isfinite(info->objective) && isfinite(info->residual)))
        st = OTK_ERR_NUMERICAL;
    /* The final pass re-measures the returned plan; a converged status
     * must hold there too, up to the rounding of a different summation. */
    if (st == OTK_CONVERGED &&
        !(info->residual <= 2.0 * tol_abs + 1e-12 * mass_ref))
        st = OTK_ERR_NUMERICAL;
    ws->g_valid = st >= 0;
    write_potentials(ws, pb.shift, sol);
    return otk__finish(call, st);
}

/* The common part of both entry points, after otk__begin. */
static otk_status solve_in(otk__call *call, otk_sinkhorn_workspace *ws,
                           const otk_problem *problem,
                           const otk_sinkhorn_settings *settings,
                           otk_solution *solution, otk_sinkhorn_info *info)
{
    otk_sinkhorn_settings defaults;
    if (settings == NULL) {
        otk_sinkhorn_default_settings(&defaults);
        settings = &defaults;
    }
    double mass_a, mass_b;
    otk_status st =
        check_args(call, ws, problem, settings, solution, &mass_a, &mass_b);
    if (st != OTK_CONVERGED)
        return st;
    if (otk__multiscale_wanted(problem, settings)) {
        const otk__multiscale_args args = {
            mass_a, mass_b,
            is_symmetric(problem->cost, problem->a, problem->b, settings),
            otk_sinkhorn};
        return otk__multiscale_solve(call, ws, problem, settings, solution,
                                     &args, info);
    }
    return solve_checked(call, ws, problem, settings, solution, mass_a, mass_b,
                         info);
}

otk_status otk_sinkhorn_solve(otk_sinkhorn_workspace *ws,
                              const otk_problem *problem,
                              const otk_sinkhorn_settings *settings,
                              otk_solution *solution, otk_sinkhorn_info *info)
{
    otk_sinkhorn_info local;
    otk__call call = otk__sinkhorn_begin(&info, &local);
    if (ws == NULL || problem == NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT,
                         ws == NULL ? "workspace" : "problem", SIZE_MAX);
    return solve_in(&call, ws, problem, settings, solution, info);
}

otk_status otk_sinkhorn(const otk_problem *problem,
                        const otk_sinkhorn_settings *settings,
                        otk_solution *solution, otk_sinkhorn_info *info)
{
    otk_sinkhorn_info local;
    otk__call call = otk__sinkhorn_begin(&info, &local);
    /* the sizes the workspace needs; solve_in checks the rest */
    const otk_cost *cost = problem != NULL ? problem->cost : NULL;
    if (cost == NULL || cost->n == 0 || cost->m == 0)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT,
                         problem == NULL ? "problem"
                         : cost == NULL  ? "cost"
                         : cost->n == 0  ? "cost.n"
                                         : "cost.m",
                         SIZE_MAX);
    otk_sinkhorn_workspace *ws =
        otk_sinkhorn_workspace_create(problem->cost->n, problem->cost->m);
    if (ws == NULL)
        return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    otk_status st = solve_in(&call, ws, problem, settings, solution, info);
    otk_sinkhorn_workspace_free(ws);
    return st;
}
