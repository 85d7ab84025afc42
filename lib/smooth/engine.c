/*
 * The smooth-dual engine (see smooth.h). Notation: the plan is n x m, its
 * column j (n entries) is regularized by (gamma/2) ||t||^2 with at most k
 * nonzeros. Per column:
 *
 *   dual       x = alpha + beta_j - c_j; t = [x]_+ / gamma on the k largest
 *              entries of x (all of them when k >= n), 0 elsewhere;
 *              conjugate value (gamma/2) ||t||^2.
 *   semi-dual  s = alpha - c_j; t = b_j * P(s / (gamma b_j)) where P is the
 *              projection onto the unit simplex (of the k largest entries);
 *              value <s, t> - (gamma/2) ||t||^2; the projection's threshold
 *              theta gives beta_j = -gamma b_j theta.
 *
 * L-BFGS minimizes the negated dual (semi-dual), whose gradient is the
 * plan's marginal violation (T 1 - a, T^T 1 - b) (semi-dual: T 1 - a, the
 * columns being exact), so its L1 norm is the marginal error and the
 * stopping rule is checked on it after every iteration.
 *
 * Columns are split over OpenMP threads, each with its own scratch and
 * gradient accumulator, added in thread order (reproducible for a given
 * thread count).
 */
#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/core.h"
#include "linalg/linalg.h"
#include "smooth/smooth.h"

#define MIN_WORK_PER_THREAD 131072 /* as for Sinkhorn's sweeps */
/* An objective change larger than this times |f| is far above rounding. */
#define RESOLVED_CHANGE 1e-9

/* Per-thread scratch: a column of costs, its work vector, the plan column,
 * selection indices, and a gradient accumulator for alpha. */
typedef struct column_scratch {
    double *c, *v, *t, *grad;
    double *cblock; /* COLUMN_BLOCK columns of costs */
    size_t *idx;
    double f; /* this thread's share of the objective */
} column_scratch;

typedef struct engine {
    const otk_cost *cost;
    otk_cost tcost; /* point clouds transposed: column j = its row j */
    double *xt;     /* d x n transposed sources for tcost */
    size_t n, m, k;
    const double *a, *b; /* weights in use (b rescaled to a's mass) */
    double gamma;
    int dual;
    int threads;
    column_scratch *scratch;
    double *beta_out; /* where column passes put beta_j (or NULL) */
    /* the line search's view of the objective (see evaluate) */
    double *base_x, *base_g, base_f, base_true;
    double last_true; /* true objective at the last evaluated point */
    int have_base;
    /* outcome of the optimization */
    const otk_quadratic_settings *s;
    size_t iterations, evaluations;
    int converged, cancelled;
} engine;

/* Columns handled together: a dense cost is read a row segment (one
 * cache line of 8 doubles) at a time instead of one entry per line. */
#define COLUMN_BLOCK 8

/* Columns j0 .. j0 + count - 1 of the cost into c (n entries each). */
static void load_columns(const engine *e, size_t j0, size_t count, double *c)
{
    const size_t n = e->n, m = e->m;
    if (e->cost->C != NULL) {
        for (size_t i = 0; i < n; i++) {
            const double *src = e->cost->C + i * m + j0;
            for (size_t q = 0; q < count; q++)
                c[q * n + i] = src[q];
        }
        return;
    }
    for (size_t q = 0; q < count; q++)
        otk__cost_row(&e->tcost, e->xt, j0 + q, c + q * n);
}

/* Column j of the cost into c (n entries). */
static void load_column(const engine *e, size_t j, double *c)
{
    if (e->cost->C != NULL) {
        const double *src = e->cost->C + j;
        for (size_t i = 0; i < e->n; i++)
            c[i] = src[i * e->m];
    } else {
        otk__cost_row(&e->tcost, e->xt, j, c);
    }
}

/* The plan column t for the dual; returns its conjugate value. */
static double dual_column(const engine *e, column_scratch *w, size_t len)
{
    const double *x = w->v;
    double *t = w->t, inv = 1.0 / e->gamma, sq = 0.0;
    size_t positive = 0;
    for (size_t i = 0; i < len; i++)
        positive += x[i] > 0.0;
    memset(t, 0, len * sizeof *t);
    if (positive <= e->k) {
        for (size_t i = 0; i < len; i++)
            if (x[i] > 0.0) {
                t[i] = x[i] * inv;
                sq += t[i] * t[i];
            }
    } else {
        otk__top_k(x, len, e->k, w->idx);
        for (size_t r = 0; r < e->k; r++) {
            size_t i = w->idx[r];
            if (x[i] > 0.0) {
                t[i] = x[i] * inv;
                sq += t[i] * t[i];
            }
        }
    }
    return 0.5 * e->gamma * sq;
}

/* The plan column t for the semi-dual (w->v holds s); returns the value
 * max_Omega(s; bj) and stores beta_j in *beta. */
static double semi_column(const engine *e, column_scratch *w, size_t len,
                          double bj, double *beta)
{
    double *s = w->v, *t = w->t;
    memset(t, 0, len * sizeof *t);
    if (bj == 0.0) { /* an empty column: t = 0, any beta <= -max s */
        double mx = -INFINITY;
        for (size_t i = 0; i < len; i++)
            mx = fmax(mx, s[i]);
        *beta = -mx;
        return 0.0;
    }
    const double scale = 1.0 / (e->gamma * bj);
    double theta;
    if (e->k >= len) {
        /* project s * scale; t = bj [s scale - theta]_+ */
        for (size_t i = 0; i < len; i++)
            t[i] = s[i] * scale;
        theta = otk__simplex_threshold(t, len, 1.0, w->idx, NULL);
        for (size_t i = 0; i < len; i++) {
            double y = t[i] - theta;
            t[i] = y > 0.0 ? bj * y : 0.0;
        }
    } else {
        otk__top_k(s, len, e->k, w->idx);
        /* the k selected values, scaled, packed into grad's tail would
         * alias; use c (the cost column is no longer needed) */
        double *sel = w->c;
        for (size_t r = 0; r < e->k; r++)
            sel[r] = s[w->idx[r]] * scale;
        size_t *idx2 = w->idx + e->k;
        theta = otk__simplex_threshold(sel, e->k, 1.0, idx2, NULL);
        for (size_t r = 0; r < e->k; r++) {
            double y = sel[r] - theta;
            t[w->idx[r]] = y > 0.0 ? bj * y : 0.0;
        }
    }
    *beta = -e->gamma * bj * theta;
    double st = 0.0, tt = 0.0;
    for (size_t i = 0; i < len; i++) {
        st += s[i] * t[i];
        tt += t[i] * t[i];
    }
    return st - 0.5 * e->gamma * tt;
}

/* Compute column j's plan column into w->t from the variables; returns its
 * objective contribution. */
static double column_pass(const engine *e, column_scratch *w,
                          const double *vars, size_t j)
{
    const size_t n = e->n;
    load_column(e, j, w->c);
    const double *alpha = vars;
    if (e->dual) {
        const double bj = vars[n + j];
        for (size_t i = 0; i < n; i++)
            w->v[i] = alpha[i] + bj - w->c[i];
        if (e->beta_out != NULL)
            e->beta_out[j] = bj;
        return dual_column(e, w, n);
    }
    for (size_t i = 0; i < n; i++)
        w->v[i] = alpha[i] - w->c[i];
    double beta;
    double val = semi_column(e, w, n, e->b[j], &beta);
    if (e->beta_out != NULL)
        e->beta_out[j] = beta;
    return val;
}

/* The k largest of the count entries v[set[r]] (ties to the lower index),
 * returned as row indices in scratch after set (set has room for 2n). */
static size_t *select_top_k(column_scratch *w, const double *v, size_t *set,
                            size_t count, size_t k)
{
    double *vals = w->t;
    size_t *pick = set + count;
    for (size_t r = 0; r < count; r++)
        vals[r] = v[set[r]];
    otk__top_k(vals, count, k, pick);
    for (size_t r = 0; r < k; r++)
        pick[r] = set[pick[r]];
    return pick;
}

/*
 * One column of an evaluation, fused: the plan column is never written
 * out; its entries go straight into the thread's gradient. Returns the
 * objective contribution; *colsum receives the column's plan mass.
 *
 *   dual       one pass builds x and lists its positive entries; only when
 *              there are more than k is a selection run, among them.
 *   semi-dual  one pass builds s, another lists the entries that can be in
 *              the projection's support (those above max s - gamma b_j);
 *              only when there are more than k is a selection run, among
 *              them; the threshold then comes from those few entries.
 *
 * This gives the same plan as dual_column/semi_column (which the final
 * plan recovery uses): the top k of all entries restricted to the
 * candidates are the top k of the candidates, with the same tie rule.
 */
static double fused_column(const engine *e, column_scratch *w, const double *x,
                           size_t j, const double *c, double *colsum)
{
    const size_t n = e->n, k = e->k;
    const double gamma = e->gamma, inv = 1.0 / gamma;
    double *grad = w->grad, *v = w->v;
    size_t *set = w->idx, count = 0;
    if (e->dual) {
        const double bj = x[n + j];
        double cs = 0.0, sq = 0.0;
        if (k >= n) { /* quadratic: one vectorizable pass */
            for (size_t i = 0; i < n; i++) {
                double xi = x[i] + bj - c[i];
                double t = xi > 0.0 ? xi * inv : 0.0;
                grad[i] += t;
                cs += t;
                sq += t * t;
            }
            *colsum = cs;
            return 0.5 * gamma * sq;
        }
        for (size_t i = 0; i < n; i++) {
            v[i] = x[i] + bj - c[i];
            if (v[i] > 0.0)
                set[count++] = i;
        }
        if (count > k)
            set = select_top_k(w, v, set, count, k), count = k;
        for (size_t r = 0; r < count; r++) {
            double t = v[set[r]] * inv;
            grad[set[r]] += t;
            cs += t;
            sq += t * t;
        }
        *colsum = cs;
        return 0.5 * gamma * sq;
    }
    const double bj = e->b[j];
    *colsum = bj;
    if (bj == 0.0)
        return 0.0;
    for (size_t i = 0; i < n; i++)
        v[i] = x[i] - c[i];
    /* t = [s - theta]_+ / gamma with sum t = b_j: the simplex threshold of
     * s for the mass gamma b_j */
    count = otk__simplex_candidates(v, n, gamma * bj, set);
    if (count > k)
        set = select_top_k(w, v, set, count, k), count = k;
    size_t support;
    double theta =
        otk__simplex_threshold_on(v, set, count, gamma * bj, &support);
    double val = 0.0;
    for (size_t r = 0; r < support; r++) {
        size_t i = set[r];
        double t = (v[i] - theta) * inv;
        grad[i] += t;
        val += v[i] * t - 0.5 * gamma * t * t;
    }
    return val;
}

static int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* f = -(dual or semi-dual) and its gradient (T 1 - a [, T^T 1 - b]). */
static double objective(engine *e, const double *x, double *g)
{
    const size_t n = e->n, m = e->m;
    e->evaluations++;
#pragma omp parallel num_threads(e->threads) if (e->threads > 1)
    {
        const size_t t = (size_t)thread_index(), nt = (size_t)e->threads;
        column_scratch *w = &e->scratch[t];
        memset(w->grad, 0, n * sizeof *w->grad);
        w->f = 0.0;
        const size_t j_end = m * (t + 1) / nt;
        for (size_t j0 = m * t / nt; j0 < j_end; j0 += COLUMN_BLOCK) {
            size_t count =
                j_end - j0 < COLUMN_BLOCK ? j_end - j0 : COLUMN_BLOCK;
            load_columns(e, j0, count, w->cblock);
            for (size_t q = 0; q < count; q++) {
                double colsum = 0.0;
                w->f +=
                    fused_column(e, w, x, j0 + q, w->cblock + q * n, &colsum);
                if (e->dual)
                    g[n + j0 + q] = colsum - e->b[j0 + q];
            }
        }
    }
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        double gi = -e->a[i];
        for (int t = 0; t < e->threads; t++)
            gi += e->scratch[t].grad[i];
        g[i] = gi;
        f -= x[i] * e->a[i];
    }
    for (int t = 0; t < e->threads; t++)
        f += e->scratch[t].f;
    if (e->dual)
        for (size_t j = 0; j < m; j++)
            f -= x[n + j] * e->b[j];
    return f;
}

/*
 * What L-BFGS sees. Near the optimum the objective changes by about
 * |gradient|^2 / (curvature), far below the rounding of its value (a sum
 * of terms of the size of the potentials): with a marginal error of 1e-9
 * the decrease is 1e-19 and no line search can tell better from worse.
 * The objective is piecewise quadratic, so its change from the last
 * accepted point x_b is the trapezoid integral of the gradient,
 * (g_b + g)/2 . (x - x_b), exact on each quadratic piece and computed from
 * small numbers at full relative precision. Line searches get
 * f_b + that change; the true value is reported separately.
 */
static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x,
                                lbfgsfloatval_t *g, const int nvars,
                                const lbfgsfloatval_t step)
{
    (void)step;
    engine *e = instance;
    double f = objective(e, x, g);
    e->last_true = f;
    if (!e->have_base) {
        memcpy(e->base_x, x, (size_t)nvars * sizeof *x);
        memcpy(e->base_g, g, (size_t)nvars * sizeof *g);
        e->base_f = e->base_true = f;
        e->have_base = 1;
        return f;
    }
    /* Far from the base the true change is well resolved (and the
     * trapezoid may straddle many kinks): use it; near, the trapezoid. */
    double change = f - e->base_true;
    if (fabs(change) <= RESOLVED_CHANGE * fabs(f)) {
        change = 0.0;
        for (int i = 0; i < nvars; i++)
            change += 0.5 * (e->base_g[i] + g[i]) * (x[i] - e->base_x[i]);
    }
    return e->base_f + change;
}

static int progress(void *instance, const lbfgsfloatval_t *x,
                    const lbfgsfloatval_t *g, const lbfgsfloatval_t fx,
                    const lbfgsfloatval_t xnorm, const lbfgsfloatval_t gnorm,
                    const lbfgsfloatval_t step, int nvars, int k, int ls)
{
    (void)x;
    (void)xnorm;
    (void)gnorm;
    (void)step;
    (void)ls;
    engine *e = instance;
    e->iterations = (size_t)k;
    /* the accepted point is the base of the next line search */
    memcpy(e->base_x, x, (size_t)nvars * sizeof *x);
    memcpy(e->base_g, g, (size_t)nvars * sizeof *g);
    e->base_f = fx;
    e->base_true = e->last_true;
    double err = 0.0;
    for (int i = 0; i < nvars; i++)
        err += fabs(g[i]);
    if (e->s->progress != NULL) {
        otk_progress p = {e->k >= e->n ? "quadratic" : "sparse", (size_t)k, err,
                          e->gamma, -fx};
        if (e->s->progress(e->s->progress_user, &p) != 0) {
            e->cancelled = 1;
            return 1;
        }
    }
    if (err <= e->s->tol) {
        e->converged = 1;
        return 1;
    }
    return 0;
}

void otk__smooth_default_settings(otk_quadratic_settings *s)
{
    s->formulation = OTK_FORMULATION_SEMI_DUAL;
    s->tol = 1e-9;
    s->max_iter = 10000;
    s->history = 10;
    s->threads = 0;
    s->progress = NULL;
    s->progress_user = NULL;
}

static otk_status finish(otk_quadratic_info *info, otk_status st,
                         const char *what, size_t bad, double t0)
{
    info->status = st;
    info->bad_argument = what;
    info->bad_index = bad;
    info->time_s = otk__now() - t0;
    return st;
}

static const char *check_settings(const otk_quadratic_settings *s)
{
    if (s->formulation != OTK_FORMULATION_SEMI_DUAL &&
        s->formulation != OTK_FORMULATION_DUAL)
        return "settings.formulation";
    if (!(isfinite(s->tol) && s->tol >= 0.0))
        return "settings.tol";
    if (s->max_iter < 1 || s->max_iter > INT_MAX)
        return "settings.max_iter";
    if (s->history < 1 || s->history > 1000)
        return "settings.history";
    if (s->threads < 0)
        return "settings.threads";
    return NULL;
}

static void free_engine(engine *e)
{
    if (e->scratch != NULL) {
        free(e->scratch[0].c);
        free(e->scratch[0].idx);
    }
    free(e->scratch);
    free(e->xt);
    free(e->base_x);
}

/* Scratch for every thread in one block: c, v, t, grad (n each) and idx
 * (n + k, the semi-dual's top-k projection uses the tail). */
static int alloc_engine(engine *e)
{
    const size_t n = e->n, per = (4 + COLUMN_BLOCK) * n;
    const size_t nt = (size_t)e->threads;
    e->scratch = calloc(nt, sizeof *e->scratch);
    double *block = malloc(nt * per * sizeof *block);
    size_t *idx = malloc(nt * (2 * n + 1) * sizeof *idx);
    if (e->scratch == NULL || block == NULL || idx == NULL) {
        free(block);
        free(idx);
        return -1;
    }
    for (size_t t = 0; t < nt; t++) {
        column_scratch *w = &e->scratch[t];
        w->c = block + t * per;
        w->v = w->c + n;
        w->t = w->v + n;
        w->grad = w->t + n;
        w->cblock = w->grad + n;
        w->idx = idx + t * (2 * n + 1);
    }
    /* block and idx are freed through scratch[0] */
    const size_t nvars = n + (e->dual ? e->m : 0);
    e->base_x = malloc(2 * nvars * sizeof *e->base_x);
    if (e->base_x == NULL)
        return -1;
    e->base_g = e->base_x + nvars;
    if (e->cost->C == NULL) {
        /* column j of the cost is row j of the transposed problem */
        e->tcost = *e->cost;
        e->tcost.n = e->cost->m;
        e->tcost.m = e->cost->n;
        e->tcost.x = e->cost->y;
        e->tcost.y = e->cost->x;
        e->xt = malloc(otk__cost_scratch_len(&e->tcost) * sizeof *e->xt);
        if (e->xt == NULL)
            return -1;
        otk__cost_prepare(&e->tcost, e->xt);
    }
    return 0;
}

/* The plan of the final variables, its numbers, and the outputs. */
static void recover(engine *e, const double *vars, const double *b_user,
                    double *beta, otk_plan_entry *plan, size_t capacity,
                    double *P, otk_quadratic_info *info)
{
    const size_t n = e->n, m = e->m;
    column_scratch *w = &e->scratch[0];
    double *rows = w->grad; /* row sums */
    memset(rows, 0, n * sizeof *rows);
    if (P != NULL)
        memset(P, 0, n * m * sizeof *P);
    e->beta_out = beta;
    double transport = 0.0, sq = 0.0, err = 0.0;
    size_t nnz = 0, max_col = 0;
    for (size_t j = 0; j < m; j++) {
        column_pass(e, w, vars, j);
        load_column(e, j, w->c); /* the semi-dual's top-k reuses c */
        double colsum = 0.0;
        size_t col_nnz = 0;
        for (size_t i = 0; i < n; i++) {
            double t = w->t[i];
            if (t == 0.0)
                continue;
            if (plan != NULL && nnz < capacity) {
                plan[nnz].i = i;
                plan[nnz].j = j;
                plan[nnz].value = t;
            }
            if (P != NULL)
                P[i * m + j] = t;
            nnz++;
            col_nnz++;
            colsum += t;
            rows[i] += t;
            transport += t * w->c[i];
            sq += t * t;
        }
        max_col = col_nnz > max_col ? col_nnz : max_col;
        err += fabs(colsum - (b_user != NULL ? b_user[j] : 1.0 / (double)m));
    }
    e->beta_out = NULL;
    for (size_t i = 0; i < n; i++)
        err += fabs(rows[i] - e->a[i]);
    info->nnz = nnz;
    info->max_col_nnz = max_col;
    info->transport_cost = transport;
    info->objective = transport + 0.5 * e->gamma * sq;
    info->marginal_error = err;
}

otk_status otk__smooth_solve(const otk_cost *cost, const double *a,
                             const double *b, double gamma, size_t k,
                             const otk_quadratic_settings *settings,
                             double *alpha, double *beta, otk_plan_entry *plan,
                             size_t capacity, double *P,
                             otk_quadratic_info *info)
{
    const double t0 = otk__now();
    otk_quadratic_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    info->marginal_error = info->transport_cost = NAN;
    info->objective = info->dual_objective = NAN;
    otk_quadratic_settings defaults;
    if (settings == NULL) {
        otk__smooth_default_settings(&defaults);
        settings = &defaults;
    }
    const char *what = check_settings(settings);
    size_t bad = SIZE_MAX;
    otk_status st;
    if (what != NULL)
        return finish(info, OTK_ERR_INVALID_ARGUMENT, what, bad, t0);
    if (!(isfinite(gamma) && gamma > 0.0))
        return finish(info, OTK_ERR_INVALID_ARGUMENT, "gamma", bad, t0);
    if ((st = otk__check_cost(cost, &what, &bad)) != OTK_CONVERGED)
        return finish(info, st, what, bad, t0);
    const size_t n = cost->n, m = cost->m;
    if (k < 1 || k > n)
        return finish(info, OTK_ERR_INVALID_ARGUMENT, "k", bad, t0);
    const int dual = settings->formulation == OTK_FORMULATION_DUAL;
    if (n + (dual ? m : 0) > INT_MAX)
        return finish(info, OTK_ERR_INVALID_ARGUMENT, "cost.n", bad, t0);
    double mass_a, mass_b;
    if ((st = otk__check_weights(a, n, &mass_a, &bad)) != OTK_CONVERGED)
        return finish(info, st, "a", bad, t0);
    if ((st = otk__check_weights(b, m, &mass_b, &bad)) != OTK_CONVERGED)
        return finish(info, st, "b", bad, t0);
    if (!otk__masses_match(mass_a, mass_b))
        return finish(info, OTK_ERR_MASS_MISMATCH, "b", SIZE_MAX, t0);

    engine e = {0};
    e.cost = cost;
    e.n = n;
    e.m = m;
    e.k = k;
    e.gamma = gamma;
    e.dual = dual;
    e.s = settings;
    e.threads = otk__threads(settings->threads);
    size_t per_thread = n * m / MIN_WORK_PER_THREAD;
    if (settings->threads == 0 && (size_t)e.threads > per_thread)
        e.threads = per_thread > 1 ? (int)per_thread : 1;
    if ((size_t)e.threads > m)
        e.threads = (int)m;
    const int nvars = (int)(n + (dual ? m : 0));
    double *wa = malloc((n + m) * sizeof *wa);
    lbfgsfloatval_t *x = lbfgs_malloc(nvars);
    if (wa == NULL || x == NULL || alloc_engine(&e) != 0) {
        free(wa);
        lbfgs_free(x);
        free_engine(&e);
        return finish(info, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX, t0);
    }
    double *wb = wa + n;
    for (size_t i = 0; i < n; i++)
        wa[i] = a != NULL ? a[i] : 1.0 / (double)n;
    for (size_t j = 0; j < m; j++)
        wb[j] = (b != NULL ? b[j] : 1.0 / (double)m) * (mass_a / mass_b);
    e.a = wa;
    e.b = wb;
    memset(x, 0, (size_t)nvars * sizeof *x);

    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.m = settings->history;
    param.max_iterations = (int)settings->max_iter;
    param.epsilon = 0.0; /* our own test, on the marginal error */
    /* Backtracking to the (weak) Wolfe conditions: measured more robust
     * than More-Thuente on these piecewise-quadratic objectives, which
     * made More-Thuente stop far from the optimum at small gamma. */
    param.linesearch = LBFGS_LINESEARCH_BACKTRACKING_WOLFE;
    lbfgsfloatval_t fx = 0.0;
    int ret = lbfgs(nvars, x, &fx, evaluate, progress, &e, &param);
    if (e.converged)
        st = OTK_CONVERGED;
    else if (e.cancelled)
        st = OTK_CANCELLED;
    else if (ret == LBFGSERR_MAXIMUMITERATION)
        st = OTK_MAX_ITER;
    else if (ret == LBFGSERR_OUTOFMEMORY)
        st = OTK_ERR_NO_MEMORY;
    else
        st = OTK_STALLED; /* a line search failed, or no step was taken */
    info->iterations = e.iterations;
    info->evaluations = e.evaluations;
    /* the true value at the result (fx is the line search's view) */
    info->dual_objective = -objective(&e, x, e.base_g);
    if (st >= 0) {
        recover(&e, x, b, beta, plan, capacity, P, info);
        if (st == OTK_STALLED && info->marginal_error <= settings->tol)
            st = OTK_CONVERGED; /* stopped exactly at the optimum */
        if (alpha != NULL)
            memcpy(alpha, x, n * sizeof *alpha);
        if (beta != NULL && dual)
            memcpy(beta, x + n, m * sizeof *beta);
    }
    free(wa);
    lbfgs_free(x);
    free_engine(&e);
    return finish(info, st, NULL, SIZE_MAX, t0);
}

double otk__smooth_eval(const otk_cost *cost, const double *a, const double *b,
                        double gamma, size_t k, int dual, const double *vars,
                        double *grad)
{
    const size_t n = cost->n, m = cost->m;
    engine e = {0};
    e.cost = cost;
    e.n = n;
    e.m = m;
    e.k = k;
    e.gamma = gamma;
    e.dual = dual;
    e.threads = 1;
    double *w = malloc((n + m) * sizeof *w);
    if (w == NULL || alloc_engine(&e) != 0) {
        free(w);
        free_engine(&e);
        return NAN;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = a != NULL ? a[i] : 1.0 / (double)n;
    for (size_t j = 0; j < m; j++)
        w[n + j] = b != NULL ? b[j] : 1.0 / (double)m;
    e.a = w;
    e.b = w + n;
    double f = objective(&e, vars, grad);
    free(w);
    free_engine(&e);
    return f;
}
