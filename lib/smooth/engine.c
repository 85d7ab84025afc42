/*
 * The smooth-dual engine (see smooth.h). Notation: the plan is n x m, its
 * column j (n entries) is regularized by (reg/2) ||t||^2 with at most k
 * nonzeros. Inside the engine the potentials keep Blondel's names alpha
 * and beta (the public f and g), as f and g name the objective and its
 * gradient here. Per column:
 *
 *   dual       x = alpha + beta_j - c_j; t = [x]_+ / reg on the k largest
 *              entries of x (all of them when k >= n), 0 elsewhere;
 *              conjugate value (reg/2) ||t||^2.
 *   semi-dual  s = alpha - c_j; t = b_j * P(s / (reg b_j)) where P is the
 *              projection onto the unit simplex (of the k largest entries);
 *              value <s, t> - (reg/2) ||t||^2; the projection's threshold
 *              theta gives beta_j = -reg b_j theta.
 *
 * L-BFGS minimizes the negated dual (semi-dual), whose gradient is the
 * plan's marginal violation (T 1 - a, T^T 1 - b) (semi-dual: T 1 - a, the
 * columns being exact), so its L1 norm is the marginal error and the
 * stopping rule is checked on it after every iteration.
 *
 * Columns are split over OpenMP threads, each with its own scratch and
 * gradient accumulator, added in thread order (reproducible for a given
 * thread count). An evaluation reads each thread's columns row by row in
 * storage order (see objective).
 */
#include <float.h>
#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/exact.h>

#include "core/core.h"
#include "linalg/dispatch.h"
#if OTK_X86_64
#include <immintrin.h>
#endif
#include "linalg/linalg.h"
#include "linalg/par.h"
#include "smooth/finish.h"
#include "smooth/pick.h"
#include "smooth/smooth.h"

/* An objective change larger than this times |f| is far above rounding. */
#define RESOLVED_CHANGE 1e-9

/* Per-thread scratch: a column of costs, its work vector, the plan column,
 * selection indices, and a gradient accumulator for alpha. */
typedef struct column_scratch {
    double *c, *v, *t, *grad;
    double *cblock; /* COLUMN_BLOCK columns of costs */
    size_t *idx;
    uint32_t *rows; /* a column's candidate rows (the column path) */
    size_t j0, j1;  /* this thread's columns */
    /* point clouds: the thread's columns as a cost of their own, whose rows
     * are the segments of the cost's rows that the row scans read */
    otk_cost seg;
    double *seg_yt, *seg_row;
    double f;        /* this thread's share of the objective */
    size_t overflow; /* columns whose candidate list overflowed */
    size_t crowded;  /* column path: columns with many candidates */
} column_scratch;

/* How an evaluation reads the cost (see objective). */
enum { EVAL_DENSE, EVAL_LISTS, EVAL_COLUMNS };

typedef struct engine {
    const otk_cost *cost;
    otk_cost tcost; /* point clouds transposed: column j = its row j */
    double *xt;     /* d x n transposed sources for tcost */
    size_t n, m, k;
    const double *a, *b; /* weights in use (b rescaled to a's mass) */
    double *gb;          /* reg b_j: the semi-dual's simplex mass */
    double reg;   /* the problem's reg times mass (see otk__smooth_run) */
    double mass;  /* a's total mass; the engine's weights sum to 1 */
    double shift; /* dense costs: min C, less which every cost is read */
    int dual;
    int threads;             /* blocks of columns, one scratch each */
    otk__par par;            /* who runs them: a team or the calling thread */
    int mode;                /* EVAL_* */
    column_scratch *scratch; /* in the workspace, as every array here */
    /* per-column candidate lists of the row scan: LIST_CAP rows and
     * values per column, their number (LIST_OVERFLOW: too many), and the
     * semi-dual's running maximum of alpha_i - C_ij */
    uint32_t *list_rows, *list_count;
    /* per column, the rows of its largest entries at the last evaluation
     * (see rows_pass): LIST_CAP slots and their number */
    uint32_t *list_prior, *list_nprior;
    /* per column: the semi-dual's running maximum; the dual's floor (0, or
     * the k-th largest value listed so far) */
    double *list_vals, *list_top;
    double *beta_out; /* where column passes put beta_j (or NULL) */
    /* the line search's view of the objective (see evaluate) */
    double *base_x, *base_g, base_f, base_true;
    double last_true; /* true objective at the last evaluated point */
    int have_base;
    /* outcome of the optimization */
    const otk_quadratic_settings *s;
    const otk__call *call; /* for the progress's elapsed time */
    int sparse;            /* otk_sparse (else otk_quadratic) */
    size_t iterations, evaluations;
    int converged, cancelled;
    /* the hand-over to the finish (see progress): L-BFGS iterations
     * before this run, the objective and iteration at the start of the
     * current window, the window, and the relative decrease below which
     * a window ends the run; handover is set when it did */
    size_t iter_offset, window_iter, window;
    double window_f, creep, scale;
    int handover;
    int at_lp;         /* x is the linear program's potentials (k = 1) */
    double cmin, cmax; /* the range of the costs read */
} engine;

/* The hand-over (see progress): the first window of L-BFGS iterations,
 * the relative gain below which a window ends the run, and the factor of
 * that creep for each later run after an uncertified finish. */
#define HANDOVER_WINDOW 100
#define HANDOVER_CREEP 1e-8
#define HANDOVER_CREEP_FACTOR 1e-2

/* The tie solve's budget of multiply-adds (ties.c) in one solve: this
 * many per cost entry and allowed L-BFGS iteration (an evaluation reads
 * each entry once), at most TIES_WORK_MAX (some seconds with LAPACK),
 * and at least TIES_WORK_MIN_SOLVES eliminations of 2 (n + m) unknowns
 * (a structure with about one tied entry per row). Measured needs of the
 * globalized tie solve: 1.2e8 on figure 1's 32 x 32 problem at k = 2
 * (about 250 solves), 9e9 on the 256 x 16 routing problem at k = 8 (every
 * row tied; the per-entry rule alone allowed 7 of its solves), 1e10-2e10
 * on the 512 x 512 colour problem at k = 8. Those were dense eliminations
 * of the whole tie system; since the ties are eliminated onto the
 * potentials (tie_system.c: at most n unknowns densely) a solve costs some
 * 10-300 times less, and the same budget affords that many more of them
 * (the colour problem at k = 2-4 is certified within it). */
#define TIES_WORK_PER_ENTRY 100.0
#define TIES_WORK_MAX 2e10
#define TIES_WORK_MIN_SOLVES 256.0

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
                c[q * n + i] = src[q] - e->shift;
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
            c[i] = src[i * e->m] - e->shift;
    } else {
        otk__cost_row(&e->tcost, e->xt, j, c);
    }
}

/* The plan column t for the dual; returns its conjugate value. */
static double dual_column(const engine *e, column_scratch *w, size_t len)
{
    const double *x = w->v;
    double *t = w->t, inv = 1.0 / e->reg, sq = 0.0;
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
    return 0.5 * e->reg * sq;
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
    const double scale = 1.0 / (e->reg * bj);
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
    *beta = -e->reg * bj * theta;
    double st = 0.0, tt = 0.0;
    for (size_t i = 0; i < len; i++) {
        st += s[i] * t[i];
        tt += t[i] * t[i];
    }
    return st - 0.5 * e->reg * tt;
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

/* ---- candidates and their columns ------------------------------------ */

/* List capacity per column. The semi-dual's lists hold the entries above
 * the running maximum less reg b_j: the final candidates plus some met
 * on the way. On clouds of 500 to 2000 points with reg = 0.1 the final
 * candidates are about 3 a column; from a running maximum of -inf, 9 on
 * average and 18 at most were listed, 30 at most with reg = 1. The
 * dual's hold the positive entries (about 3 a column near the optimum),
 * or for k < LIST_CAP the entries that can be among the k largest. */
#ifndef LIST_CAP
#define LIST_CAP 32
#endif
#define LIST_OVERFLOW UINT32_MAX

/* Keep the entries of column j's list above floor_ (in order); returns
 * their number. */
static uint32_t list_prune(const engine *e, size_t j, double floor_)
{
    uint32_t *rows = e->list_rows + j * LIST_CAP, kept = 0;
    double *vals = e->list_vals + j * LIST_CAP;
    for (uint32_t r = 0; r < e->list_count[j]; r++)
        if (vals[r] > floor_) {
            rows[kept] = rows[r];
            vals[kept++] = vals[r];
        }
    return kept;
}

/* Keep the k ranked first of column j's (full) list, in row order: value
 * descending, ties to the earlier row (rows ascend along the list);
 * returns the value of the k-th, below which no later entry can enter the
 * top k (nor at it: its row is later). */
static double list_keep_top_k(const engine *e, size_t j)
{
    uint32_t *rows = e->list_rows + j * LIST_CAP, kept = 0;
    double *vals = e->list_vals + j * LIST_CAP, kth = INFINITY;
    size_t pick[LIST_CAP];
    unsigned char keep[LIST_CAP] = {0};
    otk__top_k(vals, LIST_CAP, e->k, pick);
    for (size_t r = 0; r < e->k; r++)
        keep[pick[r]] = 1;
    for (uint32_t r = 0; r < LIST_CAP; r++)
        if (keep[r]) {
            kth = vals[r] < kth ? vals[r] : kth;
            rows[kept] = rows[r];
            vals[kept++] = vals[r];
        }
    e->list_count[j] = kept;
    return kth;
}

/* list_add on a full list. The semi-dual drops what its current floor
 * excludes; the dual with k < LIST_CAP keeps the k largest and raises its
 * floor to the k-th (k (1 + log(n / k)) entries of a column pass on
 * average, so the list stays short even when most entries are positive,
 * as after L-BFGS's first, long steps). What still does not fit overflows
 * the list. */
static __attribute__((noinline)) void list_add_full(const engine *e, size_t j,
                                                    size_t i, double v)
{
    uint32_t count = e->list_count[j];
    if (count == LIST_OVERFLOW)
        return;
    if (!e->dual) {
        count = list_prune(e, j, e->list_top[j] - e->gb[j]);
    } else if (e->k < LIST_CAP) {
        e->list_top[j] = list_keep_top_k(e, j);
        if (!(v > e->list_top[j]))
            return;
        count = (uint32_t)e->k;
    }
    if (count >= LIST_CAP) {
        e->list_count[j] = LIST_OVERFLOW;
        return;
    }
    e->list_rows[j * LIST_CAP + count] = (uint32_t)i;
    e->list_vals[j * LIST_CAP + count] = v;
    e->list_count[j] = count + 1;
}

/* Append (row i, value v) to column j's list. */
OTK_INLINE void list_add(const engine *e, size_t j, size_t i, double v)
{
    uint32_t count = e->list_count[j];
    if (count >= LIST_CAP) {
        list_add_full(e, j, i, v);
        return;
    }
    e->list_rows[j * LIST_CAP + count] = (uint32_t)i;
    e->list_vals[j * LIST_CAP + count] = v;
    e->list_count[j] = count + 1;
}

/*
 * The row kernels (row_kernels.h) take ROWS rows at a time: with one row,
 * the per-column loads and stores and the per-entry arithmetic made the
 * pass compute-bound at 2.5 to 4 times a plain pass over the matrix. They
 * are built for the baseline (2 lanes) and AVX2+FMA (4 lanes) and picked
 * at run time, as in vexp.c. (An AVX-512 build measured no faster on the
 * dual and 10% slower on the semi-dual, whose hits it handles 32 entries at
 * a time, on the AMD EPYC of docs/benchmarks.md.)
 */
#define ROWS 4
_Static_assert(ROWS == 4, "row_kernels.h adds the rows pairwise");

typedef struct row_group {
    size_t i;              /* the first row */
    const double *c[ROWS]; /* their cost segments */
    double alpha[ROWS];    /* their alpha (-inf: no such row) */
    double shift;          /* engine.shift, subtracted from every cost */
} row_group;

/* The kernels' copies of a row group's pointers and alphas: read through
 * rg, they are reloaded on every step, as the stores to the column state
 * might alias them. */
#define ROW_LOCALS(rg)                                                         \
    const double *c[ROWS];                                                     \
    double alpha[ROWS];                                                        \
    for (int q_ = 0; q_ < ROWS; q_++) {                                        \
        c[q_] = (rg)->c[q_];                                                   \
        alpha[q_] = (rg)->alpha[q_];                                           \
    }

/* One scalar entry of the candidate scan (see list_rows in
 * row_kernels.h). */
OTK_INLINE void scan1(const engine *e, double c, double ai, const double *beta,
                      size_t i, size_t j)
{
    if (beta != NULL) {
        double x = ai + beta[j] - c;
        if (x > e->list_top[j])
            list_add(e, j, i, x);
        return;
    }
    double s = ai - c, *top = &e->list_top[j];
    *top = s > *top ? s : *top;
    if (s > *top - e->gb[j])
        list_add(e, j, i, s);
}

typedef void (*dual_rows_fn)(const row_group *, const double *, double *,
                             size_t, double *, double[ROWS]);
typedef void (*list_rows_fn)(const engine *, const row_group *, const double *,
                             size_t, size_t);

#define KERN(name) name##_base
#define KTARGET
#define VW 2
#define KMAX(a, b)                                                             \
    ((KERN(vd))((((KERN(vi))(a)) & ((a) > (b))) |                              \
                (((KERN(vi))(b)) & ~((a) > (b)))))
#define KANY(h) (((h)[0] | (h)[1]) != 0)
#define KMASK(h) ((int)((h)[0] & 1) | (int)((h)[1] & 2))
#include "smooth/row_kernels.h"

#if OTK_HAVE_AVX2_VARIANT
#define KERN(name) name##_avx2
#define KTARGET OTK_TARGET_AVX2
#define VW 4
#define KMAX(a, b) ((KERN(vd))_mm256_max_pd((__m256d)(a), (__m256d)(b)))
#define KANY(h) (!_mm256_testz_si256((__m256i)(h), (__m256i)(h)))
#define KMASK(h) _mm256_movemask_pd((__m256d)(h))
#include "smooth/row_kernels.h"
#endif

/* The kernels for this CPU. */
static void pick_kernels(dual_rows_fn *dual, list_rows_fn *list)
{
    *dual = dual_rows_base;
    *list = list_rows_base;
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2()) {
        *dual = dual_rows_avx2;
        *list = list_rows_avx2;
    }
#endif
}

/* Rows i .. i + ROWS - 1 of the cost over this thread's columns (point
 * clouds: computed into the thread's buffers). */
static void row_group_at(const engine *e, column_scratch *w, const double *x,
                         size_t i, row_group *rg)
{
    rg->i = i;
    rg->shift = e->shift;
    for (size_t q = 0; q < ROWS; q++) {
        if (i + q >= e->n) {
            rg->c[q] = rg->c[0];
            rg->alpha[q] = -INFINITY;
            continue;
        }
        rg->alpha[q] = x[i + q];
        if (e->cost->C != NULL)
            rg->c[q] = e->cost->C + (i + q) * e->m + w->j0;
        else
            rg->c[q] = otk__cost_row(&w->seg, w->seg_yt, i + q,
                                     w->seg_row + q * w->seg.m);
    }
}

#define CHAINS 8 /* independent maxima in column_candidates */

/*
 * The candidates of column j from its costs c (the column path) into
 * w->rows and w->t, in row order; returns their number. The same sets as
 * the row scan's lists once cut to the final floor.
 */
static size_t column_candidates(const engine *e, column_scratch *w,
                                const double *x, size_t j, const double *c)
{
    const size_t n = e->n;
    double *vals = w->t, *v = w->v;
    uint32_t *rows = w->rows;
    size_t count = 0;
    if (e->dual) {
        const double bj = x[n + j];
        for (size_t i = 0; i < n; i++) {
            double xi = x[i] + bj - c[i];
            if (xi > 0.0) {
                rows[count] = (uint32_t)i;
                vals[count++] = xi;
            }
        }
        return count;
    }
    /* the maximum in CHAINS independent chains (a single one is bound by
     * the latency of the compare) */
    double mx[CHAINS];
    for (int l = 0; l < CHAINS; l++)
        mx[l] = -INFINITY;
    size_t i = 0;
    for (; i + CHAINS <= n; i += CHAINS)
        for (int l = 0; l < CHAINS; l++) {
            double s = x[i + (size_t)l] - c[i + (size_t)l];
            v[i + (size_t)l] = s;
            mx[l] = s > mx[l] ? s : mx[l];
        }
    for (; i < n; i++) {
        v[i] = x[i] - c[i];
        mx[0] = v[i] > mx[0] ? v[i] : mx[0];
    }
    for (int l = 1; l < CHAINS; l++)
        mx[0] = mx[l] > mx[0] ? mx[l] : mx[0];
    /* theta >= max s - reg b_j: nothing at or below is in the support */
    const double floor_ = mx[0] - e->gb[j];
    for (i = 0; i < n; i++)
        if (v[i] > floor_) {
            rows[count] = (uint32_t)i;
            vals[count++] = v[i];
        }
    return count;
}

/*
 * Column j from its candidates (count rows and values, in row order; the
 * values are reordered): the plan column goes straight into the thread's
 * gradient. Returns the objective contribution; *colsum receives the
 * column's plan mass.
 *
 *   dual       the candidates are the positive x; when there are more than
 *              k, the k largest of them are the plan's support.
 *   semi-dual  the candidates are a superset of the projection's support;
 *              more than k: the k largest of them; the threshold then comes
 *              from those few entries.
 *
 * This gives the same plan as dual_column/semi_column (which the final
 * plan recovery uses): the top k of all entries restricted to the
 * candidates are the top k of the candidates, with the same tie rule
 * (positions in row order rank as the rows).
 */
static double finish_column(const engine *e, column_scratch *w, size_t j,
                            const uint32_t *rows, double *vals, size_t count,
                            double *colsum)
{
    const size_t k = e->k;
    const double reg = e->reg, inv = 1.0 / reg;
    double *grad = w->grad;
    size_t *set = w->idx;
    if (count > k) {
        /* the k largest, taken in row order: the sums below then do not
         * depend on which superset of them the candidates were */
        unsigned char *mark = (unsigned char *)w->v;
        otk__top_k(vals, count, k, set);
        memset(mark, 0, count);
        for (size_t r = 0; r < k; r++)
            mark[set[r]] = 1;
        size_t picked = 0;
        for (size_t r = 0; r < count; r++)
            if (mark[r])
                set[picked++] = r;
        count = k;
    } else {
        for (size_t r = 0; r < count; r++)
            set[r] = r;
    }
    if (e->dual) {
        double cs = 0.0, sq = 0.0;
        if (e->mode != EVAL_DENSE && k < LIST_CAP) {
            /* the support's rows: the next evaluation's first floor */
            for (size_t r = 0; r < count; r++)
                e->list_prior[j * LIST_CAP + r] = rows[set[r]];
            e->list_nprior[j] = (uint32_t)count;
        }
        for (size_t r = 0; r < count; r++) {
            double t = vals[set[r]] * inv;
            grad[rows[set[r]]] += t;
            cs += t;
            sq += t * t;
        }
        *colsum = cs;
        return 0.5 * reg * sq;
    }
    /* t = [s - theta]_+ / reg with sum t = b_j: the simplex threshold of
     * s for the mass reg b_j */
    *colsum = e->b[j];
    size_t support;
    double theta =
        otk__simplex_threshold_on(vals, set, count, e->gb[j], &support);
    double val = 0.0;
    for (size_t r = 0; r < support; r++) {
        double s = vals[set[r]], t = (s - theta) * inv;
        grad[rows[set[r]]] += t;
        val += s * t - 0.5 * reg * t * t;
    }
    return val;
}

/* Column j by the column path from its costs c. */
static double column_from_costs(const engine *e, column_scratch *w,
                                const double *x, size_t j, const double *c,
                                double *colsum)
{
    size_t count = column_candidates(e, w, x, j, c);
    if (count > LIST_CAP / 2)
        w->crowded++;
    return finish_column(e, w, j, w->rows, w->t, count, colsum);
}

/* This thread's columns by the column path, COLUMN_BLOCK at a time. */
static void columns_pass(const engine *e, column_scratch *w, const double *x,
                         double *g)
{
    const size_t n = e->n;
    for (size_t j0 = w->j0; j0 < w->j1; j0 += COLUMN_BLOCK) {
        size_t count = w->j1 - j0 < COLUMN_BLOCK ? w->j1 - j0 : COLUMN_BLOCK;
        load_columns(e, j0, count, w->cblock);
        for (size_t q = 0; q < count; q++) {
            const size_t j = j0 + q;
            double colsum = 0.0;
            if (!e->dual && e->b[j] == 0.0)
                continue; /* an empty column: t = 0 */
            w->f += column_from_costs(e, w, x, j, w->cblock + q * n, &colsum);
            if (e->dual)
                g[n + j] = colsum - e->b[j];
        }
    }
}

/* This thread's columns by one row-major scan of the cost (EVAL_DENSE or
 * EVAL_LISTS). */
static void rows_pass(const engine *e, column_scratch *w, const double *x,
                      double *g)
{
    const size_t n = e->n, j0 = w->j0, len = w->j1 - w->j0;
    const double *beta = e->dual ? x + n : NULL;
    row_group rg;
    dual_rows_fn kernel;
    list_rows_fn scan;
    pick_kernels(&kernel, &scan);
    if (e->mode == EVAL_DENSE) {
        /* the column sums build up in place in the gradient, unscaled:
         * the kernel sums [x]_+, and t = [x]_+ / reg */
        const double inv = 1.0 / e->reg;
        double *colsum = g + n + j0, sq = 0.0, sums[ROWS];
        memset(colsum, 0, len * sizeof *colsum);
        for (size_t i = 0; i < n; i += ROWS) {
            row_group_at(e, w, x, i, &rg);
            kernel(&rg, beta + j0, colsum, len, &sq, sums);
            for (size_t q = 0; q < ROWS && i + q < n; q++)
                w->grad[i + q] = sums[q] * inv;
        }
        for (size_t j = 0; j < len; j++)
            colsum[j] = colsum[j] * inv - e->b[j0 + j];
        w->f = 0.5 * sq * inv;
        return;
    }
    /* The floors start from the rows that held the column's largest
     * entries at the last evaluation, whose entries now are lower bounds:
     * for the semi-dual the maximum (any entry is a lower bound); for the
     * dual with k < LIST_CAP the k-th largest, as k entries are at least
     * that large (an entry equal to it may still rank before it, hence
     * the floor just below it). Usually close, they keep the lists short:
     * for the semi-dual 3 entries a column instead of 9 from -inf. Point
     * costs start from -inf (and 0): an entry computed alone may round
     * differently from the row's, and the bounds must hold exactly. */
    const double *C = e->cost->C;
    for (size_t j = j0; j < w->j1; j++) {
        const uint32_t *prior = e->list_prior + j * LIST_CAP;
        const size_t np = C != NULL ? e->list_nprior[j] : 0;
        double bound = INFINITY;
        for (size_t r = 0; r < np; r++) {
            size_t i = prior[r];
            double c = C[i * e->m + j] - e->shift;
            double v = e->dual ? x[i] + beta[j] - c : x[i] - c;
            bound = v < bound ? v : bound;
        }
        e->list_count[j] = 0;
        if (!e->dual)
            e->list_top[j] = np > 0 ? bound : -INFINITY;
        else if (np > 0 && np == e->k && bound > 0.0)
            e->list_top[j] = nextafter(bound, -INFINITY);
        else
            e->list_top[j] = 0.0; /* the positive entries */
    }
    for (size_t i = 0; i < n; i += ROWS) {
        row_group_at(e, w, x, i, &rg);
        scan(e, &rg, beta, j0, len);
    }
    for (size_t j = j0; j < w->j1; j++) {
        double colsum = 0.0;
        if (!e->dual && e->b[j] == 0.0)
            continue; /* an empty column: t = 0 */
        if (e->list_count[j] == LIST_OVERFLOW) {
            w->overflow++;
            load_column(e, j, w->c);
            w->f += column_from_costs(e, w, x, j, w->c, &colsum);
        } else {
            uint32_t *rows = e->list_rows + j * LIST_CAP;
            double *vals = e->list_vals + j * LIST_CAP;
            size_t count = e->list_count[j];
            if (!e->dual) {
                const double top = e->list_top[j];
                count = list_prune(e, j, top - e->gb[j]);
                for (size_t r = 0; r < count; r++)
                    if (vals[r] == top) {
                        e->list_prior[j * LIST_CAP] = rows[r];
                        e->list_nprior[j] = 1;
                        break;
                    }
            }
            w->f += finish_column(e, w, j, rows, vals, count, &colsum);
        }
        if (e->dual)
            g[n + j] = colsum - e->b[j];
    }
}

/*
 * f = -(dual or semi-dual) and its gradient (T 1 - a [, T^T 1 - b]).
 *
 * How the cost is read (each thread owns a range of columns):
 *
 *   EVAL_DENSE    the quadratic dual (k >= n): every entry contributes
 *                 [alpha_i + beta_j - C_ij]_+ / reg, so the cost is
 *                 streamed in storage order, each thread over its segment
 *                 of every row: contiguous and vectorized (the column path
 *                 reads a cache line per row and 8 columns, which measured
 *                 6 to 17 times slower than a pass over the matrix).
 *   EVAL_LISTS    the others need each column's candidates first (dual:
 *                 x > 0; semi-dual: s > max s - reg b_j). The same scan
 *                 lists them per column; the semi-dual's floor there uses
 *                 the running maximum, a lower bound of the final one, so
 *                 the list is a superset, cut to the exact set when the
 *                 column's maximum is known. Each column is then finished
 *                 from its list; one whose list overflowed LIST_CAP takes
 *                 the column path.
 *   EVAL_COLUMNS  the column path for every column: chosen after an
 *                 evaluation overflowed many lists (wide supports: a large
 *                 reg), left when the candidates are few again.
 *
 * The lists and the column path hand finish_column the same candidates in
 * the same order, so the plan does not depend on the mode.
 */
typedef struct eval_job {
    engine *e;
    const double *x;
    double *g;
} eval_job;

/* Block b of an evaluation: its columns (otk__par_blocks). */
static void eval_block(void *arg, int b)
{
    const eval_job *job = arg;
    engine *e = job->e;
    const double *x = job->x;
    double *g = job->g;
    const size_t n = e->n;
    {
        column_scratch *w = &e->scratch[b];
        memset(w->grad, 0, n * sizeof *w->grad);
        w->f = 0.0;
        w->overflow = w->crowded = 0;
        if (e->mode == EVAL_COLUMNS)
            columns_pass(e, w, x, g);
        else
            rows_pass(e, w, x, g);
    }
}

static double objective(engine *e, const double *x, double *g)
{
    const size_t n = e->n, m = e->m;
    e->evaluations++;
    const int team = otk__par_begin(&e->par);
    otk__par_blocks(team, e->threads, eval_block, &(eval_job){e, x, g});
    otk__par_end(&e->par);
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        double gi = -e->a[i];
        for (int t = 0; t < e->threads; t++)
            gi += e->scratch[t].grad[i];
        g[i] = gi;
        f -= x[i] * e->a[i];
    }
    size_t overflow = 0, crowded = 0;
    for (int t = 0; t < e->threads; t++) {
        f += e->scratch[t].f;
        overflow += e->scratch[t].overflow;
        crowded += e->scratch[t].crowded;
    }
    if (e->dual)
        for (size_t j = 0; j < m; j++)
            f -= x[n + j] * e->b[j];
    /* a column path per overflowed list costs a cache line per row: past
     * m/8 of them the blocked column path is cheaper */
    if (e->mode == EVAL_LISTS && overflow > m / 8)
        e->mode = EVAL_COLUMNS;
    else if (e->mode == EVAL_COLUMNS && crowded <= m / 16)
        e->mode = EVAL_LISTS;
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
    e->iterations = e->iter_offset + (size_t)k;
    /* the accepted point is the base of the next line search */
    memcpy(e->base_x, x, (size_t)nvars * sizeof *x);
    memcpy(e->base_g, g, (size_t)nvars * sizeof *g);
    e->base_f = fx;
    e->base_true = e->last_true;
    double err = 0.0;
    for (int i = 0; i < nvars; i++)
        err += fabs(g[i]);
    if (e->s->progress != NULL) {
        /* in the caller's units (see otk__smooth_run) */
        otk_progress p = {.solver = e->sparse ? "sparse" : "quadratic",
                          .iteration = (size_t)k,
                          .error = err * e->mass,
                          .reg = e->reg / e->mass,
                          .objective = (e->shift - fx) * e->mass,
                          .elapsed_s = otk__elapsed(e->call),
                          .detail = NULL};
        if (e->s->progress(e->s->progress_user, &p) != 0) {
            e->cancelled = 1;
            return 1;
        }
    }
    if (err <= e->s->tol) {
        e->converged = 1;
        return 1;
    }
    /* L-BFGS creeps along the kinks of a piecewise-quadratic objective
     * without failing a line search: when a window of iterations gains
     * less than creep times the problem's scale, the finish takes over
     * (engine_run) */
    if ((size_t)k >= e->window_iter + e->window) {
        const int creeping = e->window_f - fx <= e->creep * e->scale;
        e->window_iter = (size_t)k;
        e->window_f = fx;
        if (creeping && e->sparse && e->k < e->n) {
            e->handover = 1;
            return 1;
        }
    }
    return 0;
}

/* ---- the workspace ---------------------------------------------------- */

struct otk_quadratic_workspace {
    size_t n, m;
    double *x;         /* L-BFGS's variables, n + m */
    double *base_x;    /* the line search's base point and gradient */
    size_t *row_next;  /* n: the row-major plan's next position per row */
    double *mem;       /* weights, lists, scratch (see engine_bind) */
    uint32_t *mem_u32; /* list rows and counts, candidate rows */
    size_t *mem_idx;   /* selection indices */
    column_scratch *scratch;
    double *xt;              /* point clouds: the transposed sources */
    otk__finish_buffers fin; /* the finishing step's arrays */
    size_t mem_cap, u32_cap, idx_cap, scratch_cap, xt_cap;
};

/* Grows *p to at least need elements of size bytes (keeping nothing of
 * its contents); 0, or -1 when memory is short. */
static int reserve(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    void *q = malloc(need * size);
    if (q == NULL)
        return -1;
    free(*p);
    *p = q;
    *cap = need;
    return 0;
}

void otk__smooth_workspace_free(otk_quadratic_workspace *ws)
{
    if (ws == NULL)
        return;
    free(ws->x);
    free(ws->base_x);
    free(ws->row_next);
    free(ws->mem);
    free(ws->mem_u32);
    free(ws->mem_idx);
    free(ws->scratch);
    free(ws->xt);
    otk__finish_buffers_free(&ws->fin);
    free(ws);
}

/* The workspace's arrays of fixed size (n and m); the rest is sized by
 * engine_reserve. */
static otk_quadratic_workspace *workspace_new(size_t n, size_t m)
{
    if (n == 0 || m == 0 || n > SIZE_MAX / 4 - m)
        return NULL;
    otk_quadratic_workspace *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return NULL;
    ws->n = n;
    ws->m = m;
    /* malloc's alignment (16 bytes) is what liblbfgs's SSE builds want */
    ws->x = malloc((n + m) * sizeof *ws->x);
    ws->base_x = malloc(2 * (n + m) * sizeof *ws->base_x);
    ws->row_next = malloc(n * sizeof *ws->row_next);
    if (ws->x == NULL || ws->base_x == NULL || ws->row_next == NULL) {
        otk__smooth_workspace_free(ws);
        return NULL;
    }
    return ws;
}

/* Threads for n x m (see otk_quadratic_settings.threads). */
static int engine_threads(int requested, size_t n, size_t m)
{
    int threads = otk__threads_for_work(requested, n * m);
    if ((size_t)threads > m)
        threads = (int)m;
    return threads;
}

/*
 * Sizes the workspace for nt threads and the cost (point clouds: their
 * dimension): the weights (a, b, reg b), the column lists (m LIST_CAP
 * rows and values, their counts and priors), every thread's scratch (c,
 * v, t, grad (n each), the column block, rows (n), idx (2n + 1: the
 * semi-dual's top-k projection in recover uses the tail)) and, for point
 * clouds, every thread's transposed targets and row segments.
 */
static int engine_reserve(otk_quadratic_workspace *ws, const otk_cost *cost,
                          size_t nt)
{
    const size_t n = ws->n, m = ws->m, per = (4 + COLUMN_BLOCK) * n;
    const size_t d = cost != NULL && cost->C == NULL ? cost->d : 0;
    size_t xt = 0;
    if (d > 0) {
        otk_cost t = *cost;
        t.n = cost->m;
        t.m = cost->n;
        t.x = cost->y;
        t.y = cost->x;
        xt = otk__cost_scratch_len(&t);
    }
    if (reserve((void **)&ws->mem, &ws->mem_cap,
                n + 2 * m + m * (LIST_CAP + 1) + nt * per +
                    (d > 0 ? (d + ROWS) * m : 0),
                sizeof *ws->mem) != 0 ||
        reserve((void **)&ws->mem_u32, &ws->u32_cap,
                m * (2 * LIST_CAP + 2) + nt * n, sizeof *ws->mem_u32) != 0 ||
        reserve((void **)&ws->mem_idx, &ws->idx_cap, nt * (2 * n + 1),
                sizeof *ws->mem_idx) != 0 ||
        reserve((void **)&ws->scratch, &ws->scratch_cap, nt,
                sizeof *ws->scratch) != 0 ||
        reserve((void **)&ws->xt, &ws->xt_cap, xt > 0 ? xt : 1,
                sizeof *ws->xt) != 0)
        return -1;
    return 0;
}

otk_quadratic_workspace *otk__smooth_workspace_create(size_t n, size_t m)
{
    otk_quadratic_workspace *ws = workspace_new(n, m);
    /* what a dense cost with the default threads needs */
    if (ws != NULL &&
        engine_reserve(ws, NULL, (size_t)engine_threads(0, n, m)) != 0) {
        otk__smooth_workspace_free(ws);
        return NULL;
    }
    return ws;
}

/*
 * Lays the engine out in the workspace (sized by engine_reserve): the
 * weights (a times a_scale; b times b_scale; reg b), the lists and every
 * thread's scratch, and prepares point clouds.
 */
static void engine_bind(engine *e, otk_quadratic_workspace *ws, const double *a,
                        const double *b, double a_scale, double b_scale)
{
    const size_t n = e->n, m = e->m, nt = (size_t)e->threads;
    const size_t per = (4 + COLUMN_BLOCK) * n, lists = m;
    const int points = e->cost->C == NULL;
    const size_t d = points ? e->cost->d : 0;
    e->mode = e->dual && e->k >= n ? EVAL_DENSE : EVAL_LISTS;
    e->scratch = ws->scratch;
    memset(e->scratch, 0, nt * sizeof *e->scratch);
    e->base_x = ws->base_x;
    e->base_g = e->base_x + n + (e->dual ? m : 0);
    double *wa = ws->mem, *wb = wa + n, *next = wb + m;
    for (size_t i = 0; i < n; i++)
        wa[i] = (a != NULL ? a[i] : 1.0 / (double)n) * a_scale;
    for (size_t j = 0; j < m; j++)
        wb[j] = (b != NULL ? b[j] : 1.0 / (double)m) * b_scale;
    e->a = wa;
    e->b = wb;
    e->gb = next;
    next += m;
    for (size_t j = 0; j < m; j++)
        e->gb[j] = e->reg * wb[j];
    e->list_vals = next;
    e->list_top = next + lists * LIST_CAP;
    next += lists * (LIST_CAP + 1);
    e->list_rows = ws->mem_u32;
    e->list_count = ws->mem_u32 + lists * LIST_CAP;
    e->list_prior = e->list_count + lists;
    e->list_nprior = e->list_prior + lists * LIST_CAP;
    for (size_t j = 0; j < lists; j++)
        e->list_nprior[j] = 0;
    for (size_t t = 0; t < nt; t++) {
        column_scratch *w = &e->scratch[t];
        w->c = next + t * per;
        w->v = w->c + n;
        w->t = w->v + n;
        w->grad = w->t + n;
        w->cblock = w->grad + n;
        w->idx = ws->mem_idx + t * (2 * n + 1);
        w->rows = ws->mem_u32 + lists * (2 * LIST_CAP + 2) + t * n;
        w->j0 = m * t / nt;
        w->j1 = m * (t + 1) / nt;
    }
    next += nt * per;
    if (!points)
        return;
    for (size_t t = 0; t < nt; t++) {
        /* the thread's columns: targets j0 .. j1 - 1 */
        column_scratch *w = &e->scratch[t];
        w->seg = *e->cost;
        w->seg.m = w->j1 - w->j0;
        w->seg.y = e->cost->y + w->j0 * d;
        w->seg_yt = next;
        w->seg_row = next + d * w->seg.m;
        next += (d + ROWS) * w->seg.m;
        otk__cost_prepare(&w->seg, w->seg_yt);
    }
    /* column j of the cost is row j of the transposed problem */
    e->tcost = *e->cost;
    e->tcost.n = e->cost->m;
    e->tcost.m = e->cost->n;
    e->tcost.x = e->cost->y;
    e->tcost.y = e->cost->x;
    e->xt = ws->xt;
    otk__cost_prepare(&e->tcost, e->xt);
}

/* ---- settings --------------------------------------------------------- */

/* clang-format off */
#define FIELD(name, kind, lo, hi, flags, def, meaning)                         \
    {#name, "settings." #name, kind, lo, hi, flags, def, meaning,              \
     offsetof(otk_quadratic_settings, name)}
static const otk_setting_bounds bounds[] = {
    FIELD(formulation, OTK_SETTING_INTEGER, 0, 1, 0,
          OTK_FORMULATION_SEMI_DUAL, "0 semi-dual, 1 dual"),
    FIELD(tol, OTK_SETTING_REAL, 0, INFINITY, OTK_BOUND_UPPER_OPEN, 1e-9,
          "L1 marginal error, relative to the mass, to stop at"),
    FIELD(max_iter, OTK_SETTING_COUNT, 1, INT_MAX, 0, 10000,
          "L-BFGS iterations"),
    FIELD(history, OTK_SETTING_INTEGER, 1, 1000, 0, 10,
          "L-BFGS memory (pairs kept)"),
    FIELD(threads, OTK_SETTING_INTEGER, 0, INFINITY, 0, 0,
          "threads (0: the OpenMP default on large problems)"),
    FIELD(warm_start, OTK_SETTING_INTEGER, 0, 1, 0, 0,
          "1: start from the solution's f (and g for the dual)"),
};
#undef FIELD
/* clang-format on */
#define BOUNDS_COUNT (sizeof bounds / sizeof bounds[0])

_Static_assert(sizeof(otk_formulation) == sizeof(int), "enum size");

OTK__DEFINE_BOUNDS_QUERY(otk__smooth_setting_bounds, bounds)

OTK__DEFINE_DEFAULT_SETTINGS(otk__smooth_default_settings,
                             otk_quadratic_settings, bounds)

/* ---- the solve -------------------------------------------------------- */

/*
 * Column j of the returned plan into w->t: the top-k selection of the
 * final variables, or where the tie solve chose the support among tied
 * entries (ties.h), the plan on that support: [x]_+ / reg (dual), or the
 * projection of its entries onto the simplex of mass b_j (semi-dual).
 */
static void plan_column(const engine *e, const otk_quadratic_workspace *ws,
                        column_scratch *w, const double *vars, size_t j)
{
    const otk__ties_buffers *tb = &ws->fin.ties;
    column_pass(e, w, vars, j);
    if (!tb->has_pick || tb->pick_start[j] == tb->pick_end[j])
        return;
    const uint32_t *rows = tb->pick_rows + tb->pick_start[j];
    const size_t count = tb->pick_end[j] - tb->pick_start[j];
    load_column(e, j, w->c);
    const double beta = e->dual ? vars[e->n + j] : 0.0;
    double *sel = w->v;
    for (size_t r = 0; r < count; r++)
        sel[r] = vars[rows[r]] + beta - w->c[rows[r]];
    double theta =
        otk__pick_values(e->dual, e->reg, e->b[j], sel, count, sel, w->idx);
    memset(w->t, 0, e->n * sizeof *w->t);
    for (size_t r = 0; r < count; r++)
        w->t[rows[r]] = sel[r];
    if (!e->dual && e->beta_out != NULL)
        e->beta_out[j] = -e->reg * e->b[j] * theta;
}

/* The L1 marginal error of the plan plan_column returns (unit mass), and
 * its row sums into rows (n). */
static double plan_error(const engine *e, const otk_quadratic_workspace *ws,
                         const double *vars, double *rows)
{
    column_scratch *w = &e->scratch[0];
    double err = 0.0;
    memset(rows, 0, e->n * sizeof *rows);
    for (size_t j = 0; j < e->m; j++) {
        plan_column(e, ws, w, vars, j);
        double colsum = 0.0;
        for (size_t i = 0; i < e->n; i++) {
            colsum += w->t[i];
            rows[i] += w->t[i];
        }
        err += fabs(colsum - e->b[j]);
    }
    for (size_t i = 0; i < e->n; i++)
        err += fabs(rows[i] - e->a[i]);
    return err;
}

typedef struct pick_ctx {
    const engine *e;
    const double *vars;
} pick_ctx;

/* The search's entries x_ij (pick.h) of column j's rows. */
static void pick_entries(void *ctx, size_t j, const uint32_t *rows,
                         size_t count, double *x)
{
    const pick_ctx *pc = ctx;
    const engine *e = pc->e;
    double *c = e->scratch[0].c;
    load_column(e, j, c);
    const double beta = e->dual ? pc->vars[e->n + j] : 0.0;
    for (size_t r = 0; r < count; r++)
        x[r] = pc->vars[rows[r]] + beta - c[rows[r]];
}

/* Entries count as tied within this fraction of the problem's scale (the
 * cost range plus reg b_max) of their column's k-th largest entry. */
#define TIE_TOL 1e-9
/* The search's plan replaces the others only if its marginal error is
 * smaller by this much (unit mass): equal errors keep the earlier plan. */
#define PICK_KEEP 1e-12

/*
 * The search's candidate lists (ties.h's cand_*) at vars: for every column
 * whose k-th largest entry x ties with others and has a nonzero plan
 * value, the entries above the tie, then r_j = k - (their number) tied
 * ones kept (those of the tie solve's choice first, then the lowest rows),
 * then the other tied ones. Returns the number of such columns, or -1 when
 * memory is short.
 */
static long tie_lists(const engine *e, otk__ties_buffers *tb,
                      const double *vars)
{
    const size_t n = e->n, m = e->m, k = e->k;
    column_scratch *w = &e->scratch[0];
    if (k >= n)
        return 0;
    if (otk__smooth_grow((void **)&tb->cand_start, &tb->cand_start_cap, m + 1,
                         sizeof *tb->cand_start) != 0 ||
        otk__smooth_grow((void **)&tb->cand_tied, &tb->cand_tied_cap, m,
                         sizeof *tb->cand_tied) != 0 ||
        otk__smooth_grow((void **)&tb->cand_end, &tb->cand_end_cap, m,
                         sizeof *tb->cand_end) != 0 ||
        otk__smooth_grow((void **)&tb->pick_flags, &tb->pick_flags_cap, n,
                         sizeof *tb->pick_flags) != 0)
        return -1;
    unsigned char *flag = tb->pick_flags;
    const double tau = TIE_TOL * e->scale;
    size_t out = 0;
    long tied = 0;
    for (size_t j = 0; j < m; j++) {
        tb->cand_start[j] = tb->cand_tied[j] = tb->cand_end[j] = out;
        column_pass(e, w, vars, j); /* the plain plan */
        size_t nonzero = 0;
        for (size_t i = 0; i < n; i++)
            nonzero += w->t[i] != 0.0;
        if (nonzero < k) /* the k-th entry has no mass: nothing to choose */
            continue;
        load_column(e, j, w->c);
        const double beta = e->dual ? vars[n + j] : 0.0;
        double *x = w->v;
        for (size_t i = 0; i < n; i++)
            x[i] = vars[i] + beta - w->c[i];
        otk__top_k(x, n, k, w->idx);
        double kth = INFINITY;
        for (size_t q = 0; q < k; q++)
            kth = fmin(kth, x[w->idx[q]]);
        size_t above = 0, near = 0;
        for (size_t i = 0; i < n; i++) {
            flag[i] = x[i] > kth + tau ? 1 : x[i] >= kth - tau ? 2 : 0;
            above += flag[i] == 1;
            near += flag[i] == 2;
        }
        if (above + near <= k)
            continue;
        if (otk__smooth_grow((void **)&tb->cand_rows, &tb->cand_rows_cap,
                             out + above + near, sizeof *tb->cand_rows) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (flag[i] == 1)
                tb->cand_rows[out++] = (uint32_t)i;
        tb->cand_tied[j] = out;
        const size_t r = k - above;
        if (tb->has_pick) /* the tie solve's choice: flag 3 */
            for (size_t q = tb->pick_start[j]; q < tb->pick_end[j]; q++)
                if (flag[tb->pick_rows[q]] == 2)
                    flag[tb->pick_rows[q]] = 3;
        for (unsigned char want = 3; want >= 2; want--)
            for (size_t i = 0; i < n && out - tb->cand_tied[j] < r; i++)
                if (flag[i] == want) {
                    tb->cand_rows[out++] = (uint32_t)i;
                    flag[i] = 4;
                }
        tb->cand_end[j] = out;
        for (size_t i = 0; i < n; i++)
            if (flag[i] == 2 || flag[i] == 3)
                tb->cand_rows[out++] = (uint32_t)i;
        tied++;
    }
    tb->cand_start[m] = out;
    return tied;
}

/*
 * The returned plan: of the plain top-k selection, the tie solve's choice
 * and the search among all ties at vars (pick.c, from the tie solve's
 * choice), the one of smallest marginal error.
 */
static void choose_plan(const engine *e, otk_quadratic_workspace *ws,
                        const double *vars)
{
    otk__ties_buffers *tb = &ws->fin.ties;
    double *rows = e->scratch[0].grad;
    const int had = tb->has_pick;
    tb->has_pick = 0;
    double best = plan_error(e, ws, vars, rows);
    int keep = 0;
    if (had) {
        tb->has_pick = 1;
        double err = plan_error(e, ws, vars, rows);
        keep = err < best;
        best = keep ? err : best;
    }
    tb->has_pick = had;
    if (tie_lists(e, tb, vars) > 0) {
        otk__pick_swap(tb);
        tb->has_pick = 1;
        plan_error(e, ws, vars, rows);
        pick_ctx pc = {e, vars};
        const otk__pick_problem pp = {e->n,    e->m,   e->a,         e->b,
                                      e->dual, e->reg, pick_entries, &pc};
        /* short of memory the search leaves its first choice */
        (void)otk__pick_search(&pp, tb, rows);
        double err = plan_error(e, ws, vars, rows);
        if (err < best - PICK_KEEP)
            keep = 1;
        else
            otk__pick_swap(tb); /* back to the tie solve's choice */
    }
    tb->has_pick = keep;
}

/*
 * The plan of the final variables, its numbers, and the outputs, in the
 * caller's units: plan entries times the mass, costs plus the shift. The
 * columns come in order, so the row-major list takes two passes: the
 * first counts each row's entries (and fills P and the numbers), the
 * second writes each entry at its row's next position.
 */
static void recover(engine *e, otk_quadratic_workspace *ws, const double *vars,
                    const otk_problem *pb, double *g, otk_solution *sol,
                    otk_quadratic_info *info)
{
    const size_t n = e->n, m = e->m;
    column_scratch *w = &e->scratch[0];
    double *rows = w->grad; /* row sums */
    double *P = sol != NULL ? sol->P : NULL;
    size_t *row_count = ws->row_next;
    memset(rows, 0, n * sizeof *rows);
    memset(row_count, 0, n * sizeof *row_count);
    if (P != NULL)
        memset(P, 0, n * m * sizeof *P);
    e->beta_out = g;
    double transport = 0.0, sq = 0.0, err = 0.0, total = 0.0;
    size_t nnz = 0, max_col = 0;
    for (size_t j = 0; j < m; j++) {
        plan_column(e, ws, w, vars, j);
        load_column(e, j, w->c); /* the semi-dual's top-k reuses c */
        double colsum = 0.0;
        size_t col_nnz = 0;
        for (size_t i = 0; i < n; i++) {
            double t = w->t[i] * e->mass;
            if (w->t[i] == 0.0)
                continue;
            if (P != NULL)
                P[i * m + j] = t;
            row_count[i]++;
            col_nnz++;
            colsum += t;
            rows[i] += t;
            transport += t * w->c[i];
            sq += w->t[i] * w->t[i];
        }
        nnz += col_nnz;
        total += colsum;
        max_col = col_nnz > max_col ? col_nnz : max_col;
        err += fabs(colsum - (pb->b != NULL ? pb->b[j] : 1.0 / (double)m));
    }
    e->beta_out = NULL;
    for (size_t i = 0; i < n; i++)
        err += fabs(rows[i] - (pb->a != NULL ? pb->a[i] : 1.0 / (double)n));
    info->nnz = nnz;
    info->max_col_nnz = max_col;
    /* <P, C> = <P, C - shift> + shift sum P; (reg/2) ||P||^2 with P =
     * mass T and e->reg = reg mass is (e->reg mass / 2) ||T||^2 */
    info->transport_cost = transport + e->shift * total;
    info->objective = info->transport_cost + 0.5 * e->reg * e->mass * sq;
    info->marginal_error = err;
    if (sol == NULL || sol->plan == NULL || sol->capacity == 0)
        return;
    size_t start = 0; /* row counts to the rows' first positions */
    for (size_t i = 0; i < n; i++) {
        size_t c = row_count[i];
        row_count[i] = start;
        start += c;
    }
    for (size_t j = 0; j < m; j++) {
        plan_column(e, ws, w, vars, j);
        for (size_t i = 0; i < n; i++) {
            if (w->t[i] == 0.0)
                continue;
            size_t at = row_count[i]++;
            if (at < sol->capacity)
                sol->plan[at] = (otk_plan_entry){i, j, w->t[i] * e->mass};
        }
    }
}

/*
 * Two changes of units make the engine's arithmetic independent of the
 * scale of the masses and of a common offset of the costs.
 *
 * Mass: with P = mass T, <P, C> + (reg/2) ||P||^2 = mass (<T, C> +
 * (reg mass / 2) ||T||^2), so T solves the problem of unit mass with
 * reg mass for reg; the potentials (f_i + g_j - C_ij = reg P_ij = reg
 * mass T_ij) are the same, the values scale by mass. The stopping rule is
 * checked on T: tol is relative to the mass.
 *
 * Offset: for any feasible plan <P, C - u 1^T - 1 v^T> = <P, C> - <a, u> -
 * <b, v>, so shifting rows by u and columns by v changes neither the plan
 * nor the sparsity pattern (k per column), and maps potentials as f - u,
 * g - v. The engine uses the common shift u = min C (v = 0), one
 * subtraction per cost read, when the offset exceeds the spread max C -
 * min C: then the entries share their leading digits, which cancel in
 * f - C (a constant 1e16 left nothing of the plan), and read as C - min C
 * they are exact. Below, the shift would gain at most a bit; the cost is
 * then read as given (shift 0), so that such problems start L-BFGS where
 * they always did (f = 0). The potentials are mapped back (f + shift) and
 * the values gain shift times the mass. Point costs are not shifted: they
 * are >= 0 and 0 for coinciding points, and their minimum is not known
 * without a pass over all pairs.
 */
static double cost_shift(const otk_cost *cost)
{
    if (cost->C == NULL)
        return 0.0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t q = 0; q < cost->n * cost->m; q++) {
        lo = cost->C[q] < lo ? cost->C[q] : lo;
        hi = cost->C[q] > hi ? cost->C[q] : hi;
    }
    return fabs(lo) > hi - lo ? lo : 0.0;
}

/* The inputs a solve checks after the settings: reg, the transport
 * problem, k, the sizes and the warm start's potentials. */
static otk_status check_inputs(otk__call *call,
                               const otk_quadratic_workspace *ws,
                               const otk_problem *pb, size_t *k, int sparse,
                               const otk_quadratic_settings *s,
                               const otk_solution *sol, double mass[2])
{
    otk_status st;
    if (pb == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "problem", SIZE_MAX);
    if ((st = otk__check_reg(call, pb->reg)) != OTK_CONVERGED ||
        (st = otk__check_transport(call, pb->cost, pb->a, pb->b, 1, 1e-9,
                                   &mass[0], &mass[1])) != OTK_CONVERGED)
        return st;
    const size_t n = pb->cost->n, m = pb->cost->m;
    if (!sparse)
        *k = n; /* every row may be used: no sparsity constraint */
    if (*k < 1 || *k > n)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "k", SIZE_MAX);
    const int dual = s->formulation == OTK_FORMULATION_DUAL;
    if (n + (dual ? m : 0) > INT_MAX)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.n", SIZE_MAX);
    /* the plan / mass is solved with reg mass (see cost_shift) */
    const double reg = pb->reg * mass[0];
    if (!(reg >= DBL_MIN && isfinite(1.0 / reg)))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "reg", SIZE_MAX);
    if (ws != NULL && ws->n != n)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.n", SIZE_MAX);
    if (ws != NULL && ws->m != m)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.m", SIZE_MAX);
    if (!s->warm_start)
        return OTK_CONVERGED;
    const double *f = sol != NULL ? sol->f : NULL;
    const double *g = sol != NULL ? sol->g : NULL;
    if (f == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "solution.f",
                         SIZE_MAX);
    if (dual && g == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "solution.g",
                         SIZE_MAX);
    size_t bad = otk__first_nonfinite(f, n);
    if (bad != SIZE_MAX)
        return otk__fail(call, OTK_ERR_INVALID_INPUT, "solution.f", bad);
    if (dual && (bad = otk__first_nonfinite(g, m)) != SIZE_MAX)
        return otk__fail(call, OTK_ERR_INVALID_INPUT, "solution.g", bad);
    return OTK_CONVERGED;
}

/* The numbers of an info before a solve: NaN until computed. */
static void info_reset(otk_quadratic_info *info)
{
    info->iterations = info->evaluations = 0;
    info->nnz = info->max_col_nnz = 0;
    info->marginal_error = info->transport_cost = NAN;
    info->dual_gap = info->relative_gap = NAN;
    info->objective = info->dual_objective = NAN;
}

/* The starting point: zero, or the caller's potentials less the shift. */
static void start_point(const engine *e, const otk_quadratic_settings *s,
                        const otk_solution *sol, double *x)
{
    const size_t n = e->n, m = e->dual ? e->m : 0;
    if (!s->warm_start) {
        memset(x, 0, (n + m) * sizeof *x);
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = sol->f[i] - e->shift;
    if (m > 0)
        memcpy(x + n, sol->g, m * sizeof *x);
}

/* L-BFGS on the engine from x; the status of its end. */
static otk_status minimize(engine *e, const otk_quadratic_settings *s,
                           double *x, int nvars)
{
    if (s->warm_start) {
        /* a start already within tol (say the optimum) needs no step */
        double err = 0.0;
        objective(e, x, e->base_g);
        for (int i = 0; i < nvars; i++)
            err += fabs(e->base_g[i]);
        if (err <= s->tol)
            return OTK_CONVERGED;
    }
    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.m = s->history;
    param.epsilon = 0.0; /* our own test, on the marginal error */
    /* Backtracking to the (weak) Wolfe conditions: measured more robust
     * than More-Thuente on these piecewise-quadratic objectives, which
     * made More-Thuente stop far from the optimum at small reg. */
    param.linesearch = LBFGS_LINESEARCH_BACKTRACKING_WOLFE;
    param.max_iterations = (int)(s->max_iter - e->iter_offset);
    e->have_base = 0;
    e->handover = 0;
    e->window_iter = 0;
    e->window_f = INFINITY;
    lbfgsfloatval_t fx = 0.0;
    int ret = lbfgs(nvars, x, &fx, evaluate, progress, e, &param);
    if (e->converged)
        return OTK_CONVERGED;
    if (e->handover)
        return OTK_STALLED;
    if (e->cancelled)
        return OTK_CANCELLED;
    if (ret == LBFGSERR_MAXIMUMITERATION)
        return OTK_MAX_ITER;
    if (ret == LBFGSERR_OUTOFMEMORY)
        return OTK_ERR_NO_MEMORY;
    return OTK_STALLED; /* a line search failed, or no step was taken */
}

/* The cause of a positive status (see otk_quadratic_info). */
static const char *stop_cause(otk_status st)
{
    switch (st) {
    case OTK_MAX_ITER: return "max_iter";
    case OTK_STALLED: return "line_search";
    case OTK_CANCELLED: return "progress";
    default: return NULL;
    }
}

/* ---- the finishing step (finish.h) ----------------------------------- */

static double finish_value(void *ctx, const double *x, double *g)
{
    return objective(ctx, x, g);
}

static void finish_column_at(void *ctx, const double *x, size_t j, double *t,
                             double *c, double *beta)
{
    engine *e = ctx;
    column_scratch *w = &e->scratch[0];
    e->beta_out = beta - j;
    column_pass(e, w, x, j);
    e->beta_out = NULL;
    memcpy(t, w->t, e->n * sizeof *t);
    load_column(e, j, c); /* the semi-dual's top-k reuses w->c */
}

/*
 * k = 1: the semi-dual is the linear program's (plus (reg/2) sum b_j^2),
 * piecewise linear, and the dual's maximum is the same; the network
 * simplex's potentials (f, g) are optimal for both (the dual's beta is g_j
 * + reg b_j, where every column's largest entry reg b_j is tied on its
 * support). They replace x when better; the tie solve then certifies
 * them. (The exact solver allocates its own workspace.)
 */
static void lp_start(engine *e, double *x)
{
    const size_t n = e->n, m = e->m, nv = n + (e->dual ? m : 0);
    double *f = malloc((2 * n + 2 * m) * sizeof *f);
    if (f == NULL)
        return;
    double *gpot = f + n, *trial = gpot + m;
    const otk_problem lp = {e->cost, e->a, e->b, 1.0};
    otk_status st =
        otk_exact(&lp, NULL, &(otk_solution){f, gpot, NULL, NULL, 0}, NULL);
    if (st == OTK_OPTIMAL) {
        for (size_t i = 0; i < n; i++)
            trial[i] = f[i] - e->shift;
        for (size_t j = 0; e->dual && j < m; j++)
            trial[n + j] = gpot[j] + e->reg * e->b[j];
        double *g = e->base_g;
        double now = objective(e, x, g), lp_value = objective(e, trial, g);
        if (lp_value <= now)
            memcpy(x, trial, nv * sizeof *x);
    }
    free(f);
}

/* The range of the costs the engine reads (point clouds: a pass over the
 * columns). */
static void cost_range(const engine *e, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    column_scratch *w = &e->scratch[0];
    for (size_t j = 0; j < e->m; j++) {
        load_column(e, j, w->c);
        for (size_t i = 0; i < e->n; i++) {
            *lo = w->c[i] < *lo ? w->c[i] : *lo;
            *hi = w->c[i] > *hi ? w->c[i] : *hi;
        }
    }
}

/*
 * After L-BFGS: Newton steps on the pieces (finish.h) within what is left
 * of max_iter, until the certified gap is within tol of the scale of the
 * problem (see otk_quadratic_info.relative_gap). The status: converged
 * exactly when certified; else L-BFGS's iteration cap, or stalled.
 */
static otk_status finish(engine *e, otk_quadratic_workspace *ws, double *x,
                         otk_status st, otk_quadratic_info *info)
{
    otk__finish_problem p = {.n = e->n,
                             .m = e->m,
                             .dual = e->dual,
                             .k = e->k < e->n ? e->k : e->n,
                             .reg = e->reg,
                             .a = e->a,
                             .b = e->b,
                             .ctx = e,
                             .value = finish_value,
                             .column = finish_column_at};
    p.cmin = e->cmin;
    p.cmax = e->cmax;
    double bmax = 0.0;
    for (size_t j = 0; j < e->m; j++)
        bmax = e->b[j] > bmax ? e->b[j] : bmax;
    double *g = e->base_g;
    double value = e->shift - objective(e, x, g);
    const double scale = fmax(fabs(value), (p.cmax - p.cmin) + e->reg * bmax);
    size_t left =
        e->s->max_iter > e->iterations ? e->s->max_iter - e->iterations : 0;
    /* the linear program's potentials are optimal: no Newton step can
     * gain, so the tie solve alone certifies them */
    if (e->at_lp)
        left = 0;
    e->at_lp = 0;
    otk__finish_result r =
        otk__smooth_finish(&p, &ws->fin, x, g, e->s->tol * scale, left);
    if (r.no_memory)
        return OTK_ERR_NO_MEMORY;
    e->iterations += r.newton;
    info->dual_gap = r.gap * e->mass;
    value = e->shift - r.value;
    info->relative_gap =
        r.gap / fmax(fabs(value), (p.cmax - p.cmin) + e->reg * bmax);
    if (info->relative_gap <= e->s->tol)
        return OTK_CONVERGED;
    if (r.newton >= left && st == OTK_MAX_ITER)
        return OTK_MAX_ITER;
    return OTK_STALLED;
}

/* The solve in a bound engine: minimize, then the outputs. */
static otk_status engine_run(engine *e, otk_quadratic_workspace *ws,
                             const otk_problem *pb,
                             const otk_quadratic_settings *s, otk_solution *sol,
                             otk_quadratic_info *info)
{
    const size_t n = e->n, m = e->m;
    const int nvars = (int)(n + (e->dual ? m : 0));
    double *x = ws->x;
    start_point(e, s, sol, x);
    cost_range(e, &e->cmin, &e->cmax);
    double bmax = 0.0;
    for (size_t j = 0; j < m; j++)
        bmax = e->b[j] > bmax ? e->b[j] : bmax;
    e->scale = (e->cmax - e->cmin) + e->reg * bmax;
    e->window = HANDOVER_WINDOW;
    e->creep = HANDOVER_CREEP;
    ws->fin.ties.work = 0.0;
    ws->fin.ties.solves = 0;
    const double tie_unknowns = 2.0 * (double)(n + m);
    ws->fin.ties.work_cap =
        fmin(TIES_WORK_MAX, fmax(TIES_WORK_PER_ENTRY * (double)s->max_iter *
                                     (double)n * (double)m,
                                 TIES_WORK_MIN_SOLVES * tie_unknowns *
                                     tie_unknowns * tie_unknowns / 3.0));
    /* k = 1: the network simplex's potentials are optimal (lp_start);
     * the finish certifies them, and L-BFGS runs only if it does not */
    otk_status st = OTK_STALLED;
    if (e->k == 1) {
        lp_start(e, x);
        e->handover = 1;
        e->at_lp = 1;
    } else {
        st = minimize(e, s, x, nvars);
    }
    for (;;) {
        if (st == OTK_CONVERGED || st == OTK_MAX_ITER || st == OTK_STALLED)
            st = finish(e, ws, x, st, info);
        /* the finish did not certify a creeping run's point: L-BFGS goes
         * on from it, with a longer window and a finer creep */
        if (st != OTK_STALLED || !e->handover || e->iterations >= s->max_iter)
            break;
        e->iter_offset = e->iterations;
        e->window *= 2;
        e->creep *= HANDOVER_CREEP_FACTOR;
        st = minimize(e, s, x, nvars);
    }
    info->iterations = e->iterations;
    info->evaluations = e->evaluations;
    /* the true value at the result (fx is the line search's view) */
    info->dual_objective = (e->shift - objective(e, x, e->base_g)) * e->mass;
    if (st < 0)
        return st;
    double *g = sol != NULL ? sol->g : NULL;
    choose_plan(e, ws, x);
    recover(e, ws, x, pb, e->dual ? NULL : g, sol, info);
    for (size_t i = 0; i < n; i++)
        x[i] += e->shift; /* f of C from f of C - shift */
    if (sol != NULL && sol->f != NULL)
        memcpy(sol->f, x, n * sizeof *x);
    if (g != NULL && e->dual)
        memcpy(g, x + n, m * sizeof *g);
    const double numbers[] = {info->marginal_error, info->transport_cost,
                              info->objective, info->dual_objective};
    st = otk__finite_result(st, numbers, 4);
    st = otk__finite_result(st, x, (size_t)nvars);
    return otk__finite_result(st, g, m);
}

/* engine_run's arguments, for otk__crew_run. */
typedef struct run_job {
    engine *e;
    otk_quadratic_workspace *ws;
    const otk_problem *pb;
    const otk_quadratic_settings *s;
    otk_solution *sol;
    otk_quadratic_info *info;
} run_job;

static int run_in_crew(void *arg)
{
    const run_job *j = arg;
    return engine_run(j->e, j->ws, j->pb, j->s, j->sol, j->info);
}

otk_status otk__smooth_run(otk_quadratic_workspace *ws, const otk_problem *pb,
                           size_t k, int sparse,
                           const otk_quadratic_settings *settings,
                           otk_solution *sol, otk_quadratic_info *info)
{
    otk_quadratic_info local;
    if (info == NULL)
        info = &local;
    otk__call call = otk__begin(&info->outcome);
    info_reset(info);
    otk_quadratic_settings defaults;
    if (settings == NULL) {
        otk__smooth_default_settings(&defaults);
        settings = &defaults;
    }
    double mass[2];
    otk_status st =
        otk__validate_settings(&call, bounds, BOUNDS_COUNT, settings);
    if (st == OTK_CONVERGED)
        st = check_inputs(&call, ws, pb, &k, sparse, settings, sol, mass);
    if (st != OTK_CONVERGED)
        return st;
    const otk_cost *cost = pb->cost;
    /* The engine solves for the plan T = P / mass of unit mass, whose
     * problem is the same with reg mass for reg, and reads C - min C:
     * see cost_shift. */
    engine e = {0};
    e.cost = cost;
    e.n = cost->n;
    e.m = cost->m;
    e.k = k;
    e.sparse = sparse;
    e.mass = mass[0];
    e.reg = pb->reg * mass[0];
    e.shift = cost_shift(cost);
    e.dual = settings->formulation == OTK_FORMULATION_DUAL;
    e.s = settings;
    e.call = &call;
    e.threads = engine_threads(settings->threads, e.n, e.m);
    otk__par_init(&e.par, e.threads);
    otk_quadratic_workspace *own = ws == NULL ? workspace_new(e.n, e.m) : NULL;
    otk_quadratic_workspace *w = ws != NULL ? ws : own;
    if (w == NULL || engine_reserve(w, cost, (size_t)e.threads) != 0) {
        otk__smooth_workspace_free(own);
        return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    }
    engine_bind(&e, w, pb->a, pb->b, 1.0 / mass[0], 1.0 / mass[1]);
    /* all the evaluations in one parallel region */
    run_job job = {&e, w, pb, settings, sol, info};
    st = (otk_status)otk__crew_run(e.threads, run_in_crew, &job);
    otk__smooth_workspace_free(own);
    call.out->cause = stop_cause(st);
    return otk__finish(&call, st);
}

double otk__smooth_eval(const otk_cost *cost, const double *a, const double *b,
                        double reg, size_t k, int dual, const double *vars,
                        double *grad)
{
    engine e = {0};
    e.cost = cost;
    e.n = cost->n;
    e.m = cost->m;
    e.k = k;
    e.reg = reg;
    e.dual = dual;
    e.threads = 1;
    otk_quadratic_workspace *ws = workspace_new(e.n, e.m);
    if (ws == NULL || engine_reserve(ws, cost, 1) != 0) {
        otk__smooth_workspace_free(ws);
        return NAN;
    }
    engine_bind(&e, ws, a, b, 1.0, 1.0);
    double f = objective(&e, vars, grad);
    otk__smooth_workspace_free(ws);
    return f;
}
