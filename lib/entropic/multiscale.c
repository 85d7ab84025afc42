/*
 * Multiscale Sinkhorn for point clouds with the squared Euclidean cost
 * (settings.multiscale; docs/entropic.md, "Multiscale"). The references
 * are GeomLoss's multiscale backend (Feydy 2020: a coarse problem on
 * cluster centres, potentials carried to the points, block-sparse
 * kernels) and Schmitzer's sparse scaling (2019: truncation of the kernel
 * where the potentials say the plan is negligible).
 *
 * A level solves two clouds at reg:
 *   1. both clouds are clustered on one grid (cluster.c);
 *   2. the clusters (centres, masses) are solved at a coarser
 *      reg_c = max(reg, scale (COARSE_CELLS width)^2), recursively, down
 *      to a size that the dense solver takes directly;
 *   3. each point starts from its cluster's potentials, and epsilon
 *      scaling goes from one step below reg_c (the coarse solve did
 *      reg_c) down to reg on the points, each stage with
 *      the pairs of clusters (I, J) whose plan bound
 *        F_I + G_J - scale dist(box_I, box_J)^2 >= -truncation reg
 *      (F, G the largest potentials in the cluster) rebuilt from the
 *      current potentials; only those pairs' cost entries are ever formed.
 * The mass of the plan outside the kept pairs is bounded from the returned
 * potentials, every entry of a dropped pair by the same bound:
 *   neglected <= sum over dropped (I, J) of
 *      Ahat_I Bhat_J exp((F_I + G_J - scale dist(box_I, box_J)^2) / reg),
 *   Ahat_I = sum_{i in I} a_i exp((f_i - F_I) / reg) (Bhat_J likewise),
 * and the reported residual adds twice that bound (it can move row and
 * column sums by as much) to the one measured on the kept pairs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/core.h"
#include "entropic/cluster.h"
#include "entropic/entropic_internal.h"
#include "linalg/linalg.h"

#define POINTS_PER_CLUSTER 8 /* mean cluster size aimed at, at least */
#define MAX_CLUSTERS 20000   /* per side: bounds the cluster pairs */
/* kernel width of reg_c, in cells: at 10^4 points (8 a cell) a width
 * of 1 started the points at 4.3e-3 with 3 stages above reg, 0.5 starts
 * them at 1.08e-3 and takes 1.7 times fewer pair evaluations (the coarse
 * level's own work grows less than that); 0.25 (the coarse level at
 * reg) takes 372 iterations for xy instead of 281 */
#define COARSE_CELLS 0.5
#define DIRECT_PAIRS 250000   /* levels this small use the dense solver */
#define COARSE_REL_TOL 1e-4   /* residual of coarse levels, times mass */
#define STAGE_MAX_ITER 200    /* iterations per intermediate stage */
#define STAGE_REL_TOL 1e-3    /* their residual target, times mass */
#define STAGE_TRUNCATION 10.0 /* their truncation, at most */
#define CUT_BIN 0.5           /* steps of the raised cut (needed_cut) */
#define CUT_BINS 64           /* ... and how many above the current one */
#define REBUILDS 3            /* kept sets rebuilt to meet tol at the end */
/* A row's runs of the gathered block (per-point pruning) are done one by
 * one when they skip more than RUN_COST entries per run, else the whole
 * block is evaluated and the skipped entries zeroed: a vector call on a
 * short run costs about as much as that many entries. */
#define RUN_COST 16
/* settings.multiscale = -1 (docs/entropic.md, "Multiscale"): point
 * clouds in at most AUTO_MAX_DIM dimensions with n m >= AUTO_PAIRS whose
 * truncated kernel is narrow, truncation reg <= AUTO_WIDTH2 times the
 * largest cost (its radius at most a tenth of the clouds' diagonal) */
#define AUTO_PAIRS 1e8
#define AUTO_MAX_DIM 3
#define AUTO_WIDTH2 0.01
#define RATE_AGREE 1.5 /* as the dense solver's adaptive omega */
#define MAX_RATE (1.0 - 1e-8)
#define MAX_RAISES 3            /* omega raised for slower modes, per stage */
#define RAISE_MIN 0.01          /* smaller raises are not worth a transient */
#define UNDERFLOW_COLSUM 1e-250 /* below: T(f) down the columns */
#define ONE_PASS_MIN 1e-200     /* a one-pass row is trusted when its */
#define ONE_PASS_MAX 1e200      /* sum lies in here (otk__exp_affine_sum) */
/* A sweep's scratch per thread, in rows of max(n, m): the column sums,
 * the block's h, costs, exponentials and column sums, its coordinates. */
#define SCRATCH_ROWS(d) (5 + (d))

/* One level: clouds x (n x d) and y (m x d), weights of equal mass, the
 * cost scale |x - y|^2 and reg. */
typedef struct ms_problem {
    size_t n, m, d;
    const double *x, *y, *a, *b;
    double scale, reg, mass;
    int symmetric; /* x = y and a = b: one side, the averaged update */
} ms_problem;

/* What a level is asked for and reports. */
typedef struct ms_run {
    const otk_sinkhorn_settings *s;
    otk_status (*direct)(const otk_problem *, const otk_sinkhorn_settings *,
                         otk_solution *, otk_sinkhorn_info *);
    const otk__call *call; /* progress times (top level only) */
    int top, threads;
    double tol;           /* absolute residual target of the last stage */
    size_t budget;        /* iterations of this level's stages */
    size_t iterations;    /* done at this level */
    size_t stages, stage; /* run at this level; the current one */
    double residual;      /* measured on the kept pairs */
    int max_iter_stage;   /* the budget ran out before the last stage */
    /* the top level's outputs: b's scale, the plan or NULL, the info */
    double bscale;
    double *P;
    otk_sinkhorn_info *info;
} ms_run;

/* The kept pairs of clusters, by row cluster (rowptr, cols) and by
 * column cluster (colptr, rows), each list ascending; each cluster's best
 * partner (best_col: of a row cluster, best_row: of a column cluster),
 * whose pair keeps all its points; the kept point pairs (points). */
typedef struct ms_pairs {
    size_t *rowptr, *colptr;
    uint32_t *cols, *rows;
    uint32_t *best_col, *best_row;
    size_t count, points;
    /* kof: the row-list index of each column-list entry. Per-point
     * pruning (point_kept) as bits: the points of row cluster I have a
     * row of xw[I] words each from word xbase[I] on, bit q for I's q-th
     * pair (a row's kept pairs are found a word at a time); the q-th
     * point of J in pair k of the row list has bit ybit[k] + q of ymask */
    size_t *kof, *xbase, *xw, *ybit;
    uint64_t *xmask, *ymask;
} ms_pairs;

/* A level's state: the clustered sides (one when symmetric), the log
 * weights and potentials in sorted order, the kept pairs and scratch. */
typedef struct ms_level {
    const ms_problem *pb;
    int threads;
    otk__clusters X, Y;
    const otk__clusters *Yp; /* &Y, or &X when symmetric */
    double *lx, *ly;         /* log weights */
    double *f, *g;           /* potentials */
    double *hx, *hy;         /* log w + potential / reg */
    double *colsum;          /* column sums of a sweep's plan */
    double *T;               /* c-transforms, max(n, m) */
    double *Fmax, *Gmax;     /* cluster maxima of f0 and g0 */
    double *Fcur, *Gcur;     /* ... and of f and g (neglected_mass) */
    /* the potentials the kept pairs were built from (aliases when
     * symmetric) and the slack of their test, cut times reg */
    double *f0, *g0, slack;
    double *buf; /* SCRATCH_ROWS max(n, m) per thread */
    size_t buflen;
    /* per thread: the gathered block's column ranges (2 buflen), its
     * segment offsets and rows' bits and a row's runs ((segcap + 1),
     * (segcap + 1), 2 (segcap + 1)) */
    size_t *colidx, *segs, segcap;
    ms_pairs pairs;
    size_t evaluations; /* point pairs formed by the sweeps */
} ms_level;

static void pairs_free(ms_pairs *p)
{
    free(p->rowptr);
    free(p->colptr);
    free(p->cols);
    free(p->rows);
    free(p->best_col);
    free(p->best_row);
    free(p->kof);
    free(p->xbase);
    free(p->xw);
    free(p->ybit);
    free(p->xmask);
    free(p->ymask);
    memset(p, 0, sizeof *p);
}

/* The exponent of the plan bound of the cluster pair (I, J), with the
 * cluster maxima F (of X) and G (of Y). */
static double pair_bound(const ms_level *L, const double *F, const double *G,
                         size_t I, size_t J, double reg)
{
    const double d2 = otk__box_dist2(&L->X, I, L->Yp, J);
    return (F[I] + G[J] - L->pb->scale * d2) / reg;
}

/* Whether the pair of X's cluster I and Y's cluster J keeps all its
 * points (a best partner: no point is left without a column). */
static int pair_full(const ms_level *L, size_t I, size_t J)
{
    return L->pairs.best_col[I] == J || L->pairs.best_row[J] == I;
}

/*
 * Per-point pruning inside a kept pair: point p of one side (X when
 * p_is_x) is kept against cluster q of the other side when its own bound
 *   pot0_p + max0_q - scale dist(p, box_q)^2 >= -slack
 * holds (pot0, max0 the potentials the pairs were built from); a point
 * pair (r, c) of a kept cluster pair (I, J) is formed when r is kept
 * against J and c against I. Every entry the cluster test keeps for its
 * size, f_r + g_c - C_rc >= -slack, passes both, and the rule is the
 * same on both sides: when x = y the kept point pairs stay symmetric, as
 * the averaged update needs.
 */
static int point_kept(const ms_level *L, int p_is_x, size_t p, size_t q)
{
    const otk__clusters *P = p_is_x ? &L->X : L->Yp;
    const otk__clusters *Q = p_is_x ? L->Yp : &L->X;
    const double pot = p_is_x ? L->f0[p] : L->g0[p];
    const double mx = p_is_x ? L->Gmax[q] : L->Fmax[q];
    const double d2 = otk__point_box_dist2(P->pts + p * P->d, Q, q);
    return L->pb->scale * d2 <= pot + mx + L->slack;
}

static void cluster_max(const otk__clusters *c, const double *pot, double *mx)
{
    for (size_t q = 0; q < c->count; q++) {
        double v = -INFINITY;
        for (size_t s = c->start[q]; s < c->start[q + 1]; s++)
            v = fmax(v, pot[s]);
        mx[q] = v;
    }
}

/* For each cluster of one side, the cluster of the other side with mass
 * whose pair bound is largest: that pair is always kept, so that no point
 * is left without a column of positive weight. */
static void best_partners(const ms_level *L, int by_rows, double reg,
                          uint32_t *best)
{
    const otk__clusters *P = by_rows ? &L->X : L->Yp;
    const otk__clusters *Q = by_rows ? L->Yp : &L->X;
    const long np = (long)P->count;
#pragma omp parallel for schedule(dynamic, 16)                                 \
    num_threads(L->threads) if (L->threads > 1)
    for (long p = 0; p < np; p++) {
        double top = -INFINITY;
        uint32_t arg = 0;
        for (size_t q = 0; q < Q->count; q++) {
            if (!(Q->mass[q] > 0.0))
                continue;
            double v = by_rows
                           ? pair_bound(L, L->Fmax, L->Gmax, (size_t)p, q, reg)
                           : pair_bound(L, L->Fmax, L->Gmax, q, (size_t)p, reg);
            if (v > top) {
                top = v;
                arg = (uint32_t)q;
            }
        }
        best[p] = arg;
    }
}

typedef struct keep_rule {
    const ms_level *L;
    double reg, cut; /* kept: bound exponent >= -cut */
    const uint32_t *best_col, *best_row;
} keep_rule;

static int kept(const keep_rule *k, size_t I, size_t J)
{
    return k->best_col[I] == J || k->best_row[J] == I ||
           pair_bound(k->L, k->L->Fmax, k->L->Gmax, I, J, k->reg) >= -k->cut;
}

/* One row cluster's kept columns: counted (cols NULL) or written. */
static size_t row_pairs(const keep_rule *k, size_t I, uint32_t *cols)
{
    size_t c = 0;
    for (size_t J = 0; J < k->L->Yp->count; J++)
        if (kept(k, I, J)) {
            if (cols != NULL)
                cols[c] = (uint32_t)J;
            c++;
        }
    return c;
}

/* The column lists from the row lists (a counting sort, rows ascending). */
static void transpose_pairs(ms_pairs *p, size_t nr, size_t nc)
{
    memset(p->colptr, 0, (nc + 1) * sizeof *p->colptr);
    for (size_t k = 0; k < p->count; k++)
        p->colptr[p->cols[k] + 1]++;
    for (size_t J = 0; J < nc; J++)
        p->colptr[J + 1] += p->colptr[J];
    size_t *fill = malloc(nc * sizeof *fill);
    memcpy(fill, p->colptr, nc * sizeof *fill);
    for (size_t I = 0; I < nr; I++)
        for (size_t k = p->rowptr[I]; k < p->rowptr[I + 1]; k++) {
            p->kof[fill[p->cols[k]]] = k;
            p->rows[fill[p->cols[k]]++] = (uint32_t)I;
        }
    free(fill);
}

static int mask_bit(const uint64_t *mask, size_t b)
{
    return (int)((mask[b >> 6] >> (b & 63)) & 1);
}

static void set_bit(uint64_t *mask, size_t b)
{
    mask[b >> 6] |= UINT64_C(1) << (b & 63);
}

static size_t cluster_size(const otk__clusters *c, size_t q)
{
    return c->start[q + 1] - c->start[q];
}

/* The row of bits of the local-th point of X's cluster I. */
static const uint64_t *x_row(const ms_pairs *p, size_t I, size_t local)
{
    return p->xmask + p->xbase[I] + local * p->xw[I];
}

/* Whether the local-th point of X's cluster I is kept in I's q-th pair,
 * and the local-th point of J in pair k (row list). */
static int x_bit(const ms_pairs *p, size_t I, size_t q, size_t local)
{
    return mask_bit(x_row(p, I, local), q);
}

static int y_bit(const ms_pairs *p, size_t k, size_t local)
{
    return mask_bit(p->ymask, p->ybit[k] + local);
}

/* The bits of row cluster I's pairs; returns its kept point pairs. */
static size_t fill_bits(ms_level *L, size_t I)
{
    ms_pairs *p = &L->pairs;
    const otk__clusters *X = &L->X, *Y = L->Yp;
    size_t total = 0;
    for (size_t k = p->rowptr[I]; k < p->rowptr[I + 1]; k++) {
        const size_t J = p->cols[k], q = k - p->rowptr[I];
        const int full = pair_full(L, I, J);
        size_t rows = 0, cols = 0;
        for (size_t r = X->start[I]; r < X->start[I + 1]; r++)
            if (full || point_kept(L, 1, r, J)) {
                set_bit(p->xmask + p->xbase[I] + (r - X->start[I]) * p->xw[I],
                        q);
                rows++;
            }
        for (size_t c = Y->start[J]; c < Y->start[J + 1]; c++)
            if (full || point_kept(L, 0, c, I)) {
                set_bit(p->ymask, p->ybit[k] + c - Y->start[J]);
                cols++;
            }
        total += rows * cols;
    }
    return total;
}

/* The bits of the per-point pruning of every kept pair; the kept point
 * pairs' count into p->points. Each row cluster's bits start on a word
 * of their own, so that the threads write disjoint words. Returns 0 or
 * -1 (memory). */
static int build_mask(ms_level *L)
{
    ms_pairs *p = &L->pairs;
    const size_t nr = L->X.count;
    p->xbase = malloc((nr + 1) * sizeof *p->xbase);
    p->xw = malloc(nr * sizeof *p->xw);
    p->ybit = malloc(p->count * sizeof *p->ybit);
    if (p->xbase == NULL || p->xw == NULL || p->ybit == NULL)
        return -1;
    size_t words = 0, b = 0;
    for (size_t I = 0; I < nr; I++) {
        p->xw[I] = (p->rowptr[I + 1] - p->rowptr[I] + 63) / 64;
        p->xbase[I] = words;
        words += p->xw[I] * cluster_size(&L->X, I);
        b = (b + 63) & ~(size_t)63;
        for (size_t k = p->rowptr[I]; k < p->rowptr[I + 1]; k++) {
            p->ybit[k] = b;
            b += cluster_size(L->Yp, p->cols[k]);
        }
    }
    p->xbase[nr] = words;
    p->xmask = calloc(words + 1, sizeof *p->xmask);
    p->ymask = calloc(b / 64 + 1, sizeof *p->ymask);
    if (p->xmask == NULL || p->ymask == NULL)
        return -1;
    size_t total = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : total)            \
    num_threads(L->threads) if (L->threads > 1)
    for (long I = 0; I < (long)nr; I++)
        total += fill_bits(L, (size_t)I);
    p->points = total;
    return 0;
}

/* The kept pairs at reg from the current potentials, which become f0 and
 * g0. Returns 0 or -1 (memory). */
static int build_pairs(ms_level *L, double reg, double cut)
{
    const size_t nr = L->X.count, nc = L->Yp->count;
    if (L->f0 != L->f)
        memcpy(L->f0, L->f, L->pb->n * sizeof *L->f0);
    memcpy(L->g0, L->g, L->pb->m * sizeof *L->g0);
    L->slack = cut * reg;
    cluster_max(&L->X, L->f0, L->Fmax);
    cluster_max(L->Yp, L->g0, L->Gmax);
    pairs_free(&L->pairs);
    ms_pairs *p = &L->pairs;
    p->best_col = malloc(nr * sizeof *p->best_col);
    p->best_row = malloc(nc * sizeof *p->best_row);
    p->rowptr = calloc(nr + 1, sizeof *p->rowptr);
    p->colptr = malloc((nc + 1) * sizeof *p->colptr);
    if (!p->best_col || !p->best_row || !p->rowptr || !p->colptr)
        return -1;
    best_partners(L, 1, reg, p->best_col);
    best_partners(L, 0, reg, p->best_row);
    const keep_rule k = {L, reg, cut, p->best_col, p->best_row};
#pragma omp parallel for schedule(dynamic, 16)                                 \
    num_threads(L->threads) if (L->threads > 1)
    for (long I = 0; I < (long)nr; I++)
        p->rowptr[I + 1] = row_pairs(&k, (size_t)I, NULL);
    for (size_t I = 0; I < nr; I++)
        p->rowptr[I + 1] += p->rowptr[I];
    p->count = p->rowptr[nr];
    p->cols = malloc(p->count * sizeof *p->cols);
    p->rows = malloc(p->count * sizeof *p->rows);
    p->kof = malloc(p->count * sizeof *p->kof);
    if (p->cols == NULL || p->rows == NULL || p->kof == NULL)
        return -1;
#pragma omp parallel for schedule(dynamic, 16)                                 \
    num_threads(L->threads) if (L->threads > 1)
    for (long I = 0; I < (long)nr; I++)
        row_pairs(&k, (size_t)I, p->cols + p->rowptr[I]);
    transpose_pairs(p, nr, nc);
    return build_mask(L);
}

/* Adds the term e^x to the histogram of needed_cut by how far x lies
 * below -cut. */
static void bin_term(double *hist, double cut, double x, double term)
{
    const double bin = fmin(fmax(-x - cut, 0.0) / CUT_BIN, CUT_BINS - 1);
    hist[(size_t)bin] += term;
}

/* The bound of the entries that per-point pruning drops inside the kept
 * pair of cluster q (side X when p_is_x) and cluster o of the other side:
 * every point p of q not kept against o bounds its row of the block by
 *   w_p exp((pot_p + M_o - scale dist(p, box_o)^2) / reg) ohat_o
 * with the current potentials (M_o the current maximum on o, ohat_o as
 * Ahat / Bhat in neglected_mass; k the pair in the row list). Terms also
 * go to hist when not NULL. */
static double point_terms(const ms_level *L, int p_is_x, size_t q, size_t o,
                          size_t k, double reg, double *hist, double cut)
{
    const ms_pairs *pp = &L->pairs;
    const otk__clusters *P = p_is_x ? &L->X : L->Yp;
    const otk__clusters *Q = p_is_x ? L->Yp : &L->X;
    const double *pot = p_is_x ? L->f : L->g;
    const double mo = p_is_x ? L->Gcur[o] : L->Fcur[o];
    const double ohat = p_is_x ? L->hy[o] : L->hx[o];
    double sum = 0.0;
    if (!(ohat > 0.0))
        return 0.0;
    for (size_t p = P->start[q]; p < P->start[q + 1]; p++) {
        const size_t local = p - P->start[q];
        const int kept = p_is_x ? x_bit(pp, q, k - pp->rowptr[q], local)
                                : y_bit(pp, k, local);
        if (!(P->w[p] > 0.0) || kept)
            continue;
        const double d2 = otk__point_box_dist2(P->pts + p * P->d, Q, o);
        const double x = (pot[p] + mo - L->pb->scale * d2) / reg;
        const double term = P->w[p] * exp(x) * ohat;
        sum += term;
        if (hist != NULL)
            bin_term(hist, cut, x, term);
    }
    return sum;
}

/* The terms of the bound for row cluster I (header comment): the pairs
 * of clusters it drops, and inside its kept pairs the points that
 * per-point pruning drops (point_terms). With hist, each term is also
 * binned (needed_cut). */
static double row_terms(const ms_level *L, size_t I, double reg, double *hist,
                        double cut)
{
    const ms_pairs *p = &L->pairs;
    const double *ahat = L->hx, *bhat = L->hy;
    size_t k = p->rowptr[I];
    double sum = 0.0;
    for (size_t J = 0; J < L->Yp->count; J++) {
        if (k < p->rowptr[I + 1] && p->cols[k] == J) {
            k++;
            if (!pair_full(L, I, J))
                sum += point_terms(L, 1, I, J, k - 1, reg, hist, cut) +
                       point_terms(L, 0, J, I, k - 1, reg, hist, cut);
            continue;
        }
        if (!(ahat[I] > 0.0 && bhat[J] > 0.0))
            continue;
        const double e = pair_bound(L, L->Fcur, L->Gcur, I, J, reg);
        const double term = ahat[I] * bhat[J] * exp(e);
        sum += term;
        if (hist != NULL)
            bin_term(hist, cut, e, term);
    }
    return sum;
}

/* The bound of the plan mass outside the kept pairs, from the current
 * potentials (header comment); leaves Ahat and Bhat in hx and hy and the
 * current cluster maxima in Fcur and Gcur for needed_cut. */
static double neglected_mass(ms_level *L, double reg)
{
    const otk__clusters *X = &L->X, *Y = L->Yp;
    cluster_max(X, L->f, L->Fcur);
    cluster_max(Y, L->g, L->Gcur);
    /* Ahat and Bhat in hx and hy (free until the next sweep) */
    double *ahat = L->hx, *bhat = L->hy;
    for (size_t q = 0; q < X->count; q++) {
        ahat[q] = 0.0;
        for (size_t s = X->start[q]; s < X->start[q + 1]; s++)
            ahat[q] += X->w[s] * exp((L->f[s] - L->Fcur[q]) / reg);
    }
    for (size_t q = 0; q < Y->count; q++) {
        bhat[q] = 0.0;
        for (size_t s = Y->start[q]; s < Y->start[q + 1]; s++)
            bhat[q] += Y->w[s] * exp((L->g[s] - L->Gcur[q]) / reg);
    }
    double *per_row = L->T;
#pragma omp parallel for schedule(dynamic, 16)                                 \
    num_threads(L->threads) if (L->threads > 1)
    for (long I = 0; I < (long)X->count; I++)
        per_row[I] = row_terms(L, (size_t)I, reg, NULL, 0.0);
    double total = 0.0;
    for (size_t q = 0; q < X->count; q++)
        total += per_row[q];
    return total;
}

/* The smallest cut, above `cut` in steps of CUT_BIN, at which the terms
 * of the bound of what it still drops sum to at most `want`, with the
 * potentials of the last neglected_mass call: a histogram of the terms by
 * how far below the cut they lie. A pair of clusters that a higher cut
 * keeps may still drop points, which this does not foresee: the bound is
 * measured again after the rebuild. Serial (a rebuild at the end is
 * rare), so that the choice does not depend on the threads. */
static double needed_cut(const ms_level *L, double reg, double cut, double want)
{
    double hist[CUT_BINS] = {0.0};
    for (size_t I = 0; I < L->X.count; I++)
        row_terms(L, I, reg, hist, cut);
    size_t keep = CUT_BINS;
    double tail = 0.0;
    while (keep > 0 && tail + hist[keep - 1] <= want)
        tail += hist[--keep];
    return cut + (double)keep * CUT_BIN;
}

/* What a sweep does besides the c-transform T: the rows' mean costs
 * (mean != NULL), or the rows' update pot <- (1 - omega) pot + omega T
 * with the column sums of the plan (new pot, hcol) (pot != NULL). */
typedef struct sweep_extra {
    double *mean;
    double *pot, omega;
    /* the rows' last c-transforms (NULL: none): their log-sum-exps are
     * nearly this sweep's, a shift that lets each row be read once */
    const double *guess;
} sweep_extra;

/* The first bit at or after k, below n, that is set (want 1) or clear
 * (want 0) in w; n when none. */
static size_t next_bit(const uint64_t *w, size_t k, size_t n, int want)
{
    if (k >= n)
        return n;
    size_t i = k >> 6;
    uint64_t x = (want ? w[i] : ~w[i]) & (~UINT64_C(0) << (k & 63));
    while (x == 0) {
        if (++i * 64 >= n)
            return n;
        x = want ? w[i] : ~w[i];
    }
    const size_t b = i * 64 + (size_t)__builtin_ctzll(x);
    return b < n ? b : n;
}

/* Adds the block range [a, b) to the runs, merged with the last one when
 * adjacent. */
static size_t add_run(size_t *run, size_t nrun, size_t a, size_t b)
{
    if (a == b)
        return nrun;
    if (nrun > 0 && run[2 * nrun - 1] == a) {
        run[2 * nrun - 1] = b;
        return nrun;
    }
    run[2 * nrun] = a;
    run[2 * nrun + 1] = b;
    return nrun + 1;
}

/* Adds the columns [c, c + cnt) to the ranges (start, count), merged
 * with the last one when adjacent. */
static size_t add_range(size_t *range, size_t n, size_t c, size_t cnt)
{
    if (n > 0 && range[2 * n - 2] + range[2 * n - 1] == c) {
        range[2 * n - 1] += cnt;
        return n;
    }
    range[2 * n] = c;
    range[2 * n + 1] = cnt;
    return n + 1;
}

/* A row cluster's block: the h and transposed coordinates of the kept
 * columns' points kept against row cluster I (the mask) gathered into
 * contiguous scratch (coordinate q at yc + q * stride), with their
 * ranges of consecutive columns in colrun (start, count; *ncolrun of
 * them), segment offsets seg (pair k's points are
 * [seg[k - k0], seg[k - k0 + 1])) and the bit of the cluster's first row
 * point in each pair in rb, so that each row of the cluster runs long
 * vector loops. Returns the block's length. */
static size_t gather(const ms_level *L, int rows_are_x, size_t k0, size_t k1,
                     const double *hcol, double *hb, double *yc, size_t stride,
                     size_t *colrun, size_t *ncolrun, size_t *seg, size_t *rb)
{
    const ms_pairs *p = &L->pairs;
    const otk__clusters *C = rows_are_x ? L->Yp : &L->X;
    const uint32_t *idx = rows_are_x ? p->cols : p->rows;
    size_t len = 0, nrun = 0;
    for (size_t k = k0; k < k1; k++) {
        const size_t J = idx[k], kk = rows_are_x ? k : p->kof[k];
        /* the X cluster's bits come first */
        /* the columns' bits: Y's in the pair, or X's in J's row list */
        const uint64_t *w = rows_are_x ? p->ymask : p->xmask + p->xbase[J];
        const size_t b0 = rows_are_x ? p->ybit[kk] : kk - p->rowptr[J];
        const size_t step = rows_are_x ? 1 : 64 * p->xw[J];
        rb[k - k0] = rows_are_x ? 0 : p->ybit[kk];
        seg[k - k0] = len;
        if (rows_are_x) {
            /* the pair's bits are consecutive: a range of set bits at a
             * time */
            const size_t end = b0 + cluster_size(C, J);
            for (size_t o = next_bit(w, b0, end, 1); o < end;) {
                const size_t e = next_bit(w, o, end, 0);
                nrun = add_range(colrun, nrun, C->start[J] + o - b0, e - o);
                len += e - o;
                o = next_bit(w, e, end, 1);
            }
            continue;
        }
        for (size_t c = C->start[J], o = b0; c < C->start[J + 1];
             c++, o += step)
            if (mask_bit(w, o)) {
                nrun = add_range(colrun, nrun, c, 1);
                len++;
            }
    }
    seg[k1 - k0] = len;
    *ncolrun = nrun;
    for (size_t t = 0, o = 0; t < nrun; t++) {
        const size_t c0 = colrun[2 * t], cnt = colrun[2 * t + 1];
        memcpy(hb + o, hcol + c0, cnt * sizeof *hb);
        for (size_t q = 0; q < C->d; q++)
            memcpy(yc + q * stride + o, C->ptsT + q * C->n + c0,
                   cnt * sizeof *yc);
        o += cnt;
    }
    return len;
}

/* Row r's runs of the block (r the local-th point of row cluster I, nseg
 * pairs): the segments of the pairs that keep r, adjacent ones merged;
 * run t is [run[2t], run[2t+1]). Rows of X read their row of bits a run
 * of pairs at a time; rows of Y test each pair's bit (from rb). Returns
 * the number of runs. */
static size_t row_runs(const ms_level *L, int rows_are_x, size_t I,
                       size_t local, size_t nseg, const size_t *seg,
                       const size_t *rb, size_t *run)
{
    size_t nrun = 0;
    if (rows_are_x) {
        const uint64_t *w = x_row(&L->pairs, I, local);
        for (size_t k = next_bit(w, 0, nseg, 1); k < nseg;) {
            const size_t e = next_bit(w, k, nseg, 0);
            nrun = add_run(run, nrun, seg[k], seg[e]);
            k = next_bit(w, e, nseg, 1);
        }
        return nrun;
    }
    for (size_t k = 0; k < nseg; k++)
        if (mask_bit(L->pairs.ymask, rb[k] + local))
            nrun = add_run(run, nrun, seg[k], seg[k + 1]);
    return nrun;
}

/* c_j = |p - y_j|^2 over the block. */
static void block_distances(size_t d, size_t len, const double *yc,
                            size_t stride, const double *p, double *c)
{
    for (size_t j = 0; j < len; j++) {
        const double dd = yc[j] - p[0];
        c[j] = dd * dd;
    }
    for (size_t q = 1; q < d; q++) {
        const double *yq = yc + q * stride, pq = p[q];
        for (size_t j = 0; j < len; j++) {
            const double dd = yq[j] - pq;
            c[j] += dd * dd;
        }
    }
}

/* One row over its runs: the costs cb and exponentials e of the run
 * entries, e = exp(hb - s cb - *mx) with the shift *mx, and their sum
 * (returned): one pass with the guess when it is finite and the sum
 * trustworthy, else the row's maximum first. */
static double row_exps(size_t nrun, const size_t *run, size_t d,
                       const double *yc, size_t stride, const double *p,
                       const double *hb, double s, double *cb, double *e,
                       double *mx)
{
    for (size_t t = 0; t < nrun; t++) {
        const size_t a = run[2 * t];
        block_distances(d, run[2 * t + 1] - a, yc + a, stride, p, cb + a);
    }
    double sum = 0.0;
    if (isfinite(*mx))
        for (size_t t = 0; t < nrun; t++) {
            const size_t a = run[2 * t];
            sum += otk__exp_affine_sum(hb + a, s, cb + a, *mx, e + a,
                                       run[2 * t + 1] - a);
        }
    if (sum >= ONE_PASS_MIN && sum <= ONE_PASS_MAX)
        return sum;
    double top = -INFINITY;
    for (size_t t = 0; t < nrun; t++) {
        const size_t a = run[2 * t];
        double m_t, s_t;
        otk__lse_affine(hb + a, s, cb + a, e + a, run[2 * t + 1] - a, &m_t,
                        &s_t);
        top = fmax(top, m_t);
    }
    *mx = top;
    if (nrun == 1 || !isfinite(top)) {
        /* one run's lse is the row's */
        sum = 0.0;
        for (size_t t = 0; t < nrun; t++) {
            const size_t a = run[2 * t], len = run[2 * t + 1] - a;
            for (size_t j = 0; j < len; j++)
                sum += e[a + j];
        }
        return sum;
    }
    sum = 0.0;
    for (size_t t = 0; t < nrun; t++) {
        const size_t a = run[2 * t];
        sum += otk__exp_affine_sum(hb + a, s, cb + a, top, e + a,
                                   run[2 * t + 1] - a);
    }
    return sum;
}

/* Row r over the whole block [0, len) when its runs are too many for
 * what they save (RUN_COST): the exponentials of the block, then the
 * entries outside the runs zeroed and their part taken from the sum
 * (those entries are below exp(-cut) of the row's plan, so the
 * difference loses nothing unless the runs hold less than half the sum:
 * then, or when the one-pass sum fails, the runs are done one by one).
 * Returns the row's sum with e, cb and *mx as row_exps leaves them. */
static double row_block(size_t nrun, const size_t *run, size_t len, size_t d,
                        const double *yc, size_t stride, const double *p,
                        const double *hb, double s, double *cb, double *e,
                        double *mx)
{
    const size_t whole[2] = {0, len};
    const double guess = *mx;
    const double all = row_exps(1, whole, d, yc, stride, p, hb, s, cb, e, mx);
    /* four partial sums: a single one is a chain of dependent adds */
    double part[4] = {0.0, 0.0, 0.0, 0.0};
    for (size_t t = 0, a = 0; t <= nrun; t++) {
        const size_t b = t < nrun ? run[2 * t] : len;
        size_t j = a;
        for (; j + 4 <= b; j += 4)
            for (int q = 0; q < 4; q++)
                part[q] += e[j + (size_t)q];
        for (; j < b; j++)
            part[0] += e[j];
        memset(e + a, 0, (b - a) * sizeof *e);
        a = t < nrun ? run[2 * t + 1] : len;
    }
    const double sum = all - ((part[0] + part[1]) + (part[2] + part[3]));
    if (sum >= 0.5 * all)
        return sum;
    *mx = guess;
    return row_exps(nrun, run, d, yc, stride, p, hb, s, cb, e, mx);
}

/* The sum over the runs of x . y. */
static double runs_dot(size_t nrun, const size_t *run, const double *x,
                       const double *y)
{
    double v = 0.0;
    for (size_t t = 0; t < nrun; t++) {
        const size_t a = run[2 * t];
        v += otk__vdot(run[2 * t + 1] - a, x + a, y + a);
    }
    return v;
}

/*
 * T_r = -reg log sum_c exp(hcol_c - scale |p_r - q_c|^2 / reg) for every
 * sorted point r of one side (X when rows_are_x, else Y) over the kept
 * points c of the other side (the kept pairs of clusters, pruned per
 * point), and what ex asks (NULL: nothing); the column sums go to
 * L->colsum. Row clusters are split statically among the threads and the
 * sums added in thread order: reproducible for a given thread count.
 */
static void sweep(ms_level *L, int rows_are_x, const double *hcol, double reg,
                  double *T, const sweep_extra *ex)
{
    const otk__clusters *R = rows_are_x ? &L->X : L->Yp;
    const otk__clusters *C = rows_are_x ? L->Yp : &L->X;
    const size_t *ptr = rows_are_x ? L->pairs.rowptr : L->pairs.colptr;
    const double scale = L->pb->scale, s = scale / reg;
    const size_t bl = L->buflen, d = L->pb->d, stride = SCRATCH_ROWS(d) * bl;
    const size_t sc = 2 * (L->segcap + 1);
    double *mean = ex != NULL ? ex->mean : NULL;
    double *pot = ex != NULL ? ex->pot : NULL;
    const double omega = ex != NULL ? ex->omega : 1.0;
    const double *guess = ex != NULL ? ex->guess : NULL;
    if (pot != NULL)
        for (int t = 0; t < L->threads; t++)
            memset(L->buf + (size_t)t * stride, 0, C->n * sizeof *L->buf);
#pragma omp parallel num_threads(L->threads) if (L->threads > 1)
    {
        size_t t = 0;
#ifdef _OPENMP
        t = (size_t)omp_get_thread_num();
#endif
        /* per thread: acc, hb, cb, e, ab, then d rows of coordinates */
        double *acc = L->buf + t * stride, *hb = acc + bl, *cb = hb + bl;
        double *e = cb + bl, *ab = e + bl, *yc = ab + bl;
        size_t *colrun = L->colidx + t * 2 * bl;
        size_t *seg = L->segs + t * 2 * sc, *rb = seg + sc / 2;
        size_t *run = seg + sc;
#pragma omp for schedule(static)
        for (long I = 0; I < (long)R->count; I++) {
            const size_t k0 = ptr[I], k1 = ptr[I + 1];
            size_t ncolrun;
            const size_t len = gather(L, rows_are_x, k0, k1, hcol, hb, yc, bl,
                                      colrun, &ncolrun, seg, rb);
            if (pot != NULL)
                memset(ab, 0, len * sizeof *ab);
            for (size_t r = R->start[I]; r < R->start[I + 1]; r++) {
                size_t nrun = row_runs(L, rows_are_x, (size_t)I,
                                       r - R->start[I], k1 - k0, seg, rb, run);
                size_t kept = 0;
                for (size_t q = 0; q < nrun; q++)
                    kept += run[2 * q + 1] - run[2 * q];
                double mx = guess != NULL ? -guess[r] / reg : NAN;
                const double *pr = R->pts + r * d;
                /* the whole block (zeros outside the runs) when the runs
                 * save less than their calls cost */
                const int whole = nrun > 1 && len - kept <= RUN_COST * nrun;
                const double sum = whole ? row_block(nrun, run, len, d, yc, bl,
                                                     pr, hb, s, cb, e, &mx)
                                         : row_exps(nrun, run, d, yc, bl, pr,
                                                    hb, s, cb, e, &mx);
                if (whole) {
                    run[0] = 0;
                    run[1] = len;
                    nrun = 1;
                }
                T[r] = -reg * (mx + log(sum));
                if (mean != NULL)
                    mean[r] = sum > 0.0
                                  ? scale * runs_dot(nrun, run, e, cb) / sum
                                  : 0.0;
                if (pot != NULL) {
                    /* P_rc = w_r exp(delta / reg) e_c / sum */
                    double delta =
                        omega == 1.0 ? 0.0 : (1.0 - omega) * (pot[r] - T[r]);
                    pot[r] = T[r] + delta;
                    const double coef = R->w[r] * exp(delta / reg) / sum;
                    for (size_t q = 0; q < nrun; q++) {
                        const size_t a = run[2 * q];
                        otk__vaxpy(run[2 * q + 1] - a, coef, e + a, ab + a);
                    }
                }
            }
            if (pot != NULL)
                for (size_t q = 0, o = 0; q < ncolrun; q++) {
                    const size_t cnt = colrun[2 * q + 1];
                    otk__vaxpy(cnt, 1.0, ab + o, acc + colrun[2 * q]);
                    o += cnt;
                }
        }
    }
    L->evaluations += L->pairs.points;
    if (pot == NULL)
        return;
    memcpy(L->colsum, L->buf, C->n * sizeof *L->colsum);
    for (int t = 1; t < L->threads; t++)
        otk__vaxpy(C->n, 1.0, L->buf + (size_t)t * stride, L->colsum);
}

static void set_h(size_t len, const double *logw, const double *pot, double reg,
                  double *h)
{
    for (size_t k = 0; k < len; k++)
        h[k] = logw[k] + pot[k] / reg;
}

/* sum_k |w_k exp((pot_k - T_k) / reg) - w_k|: how far the plan's sums on
 * this side are from the weights when T is the side's c-transform. */
static double side_residual(size_t len, const double *w, const double *pot,
                            const double *T, double reg)
{
    double r = 0.0;
    for (size_t k = 0; k < len; k++)
        r += fabs(w[k] * expm1((pot[k] - T[k]) / reg));
    return r;
}

/* The adaptive over-relaxation (settings.relaxation = 0), a smaller copy
 * of the dense solver's: plain iterations until two successive measured
 * rates agree, then omega = 2 / (1 + sqrt(1 - r)); back to plain when the
 * residual grows tenfold. Under omega the rate lam is still measured:
 * while omega is below a mode's optimum, Young's relation
 * (lam + omega - 1)^2 = lam omega^2 r gives that mode's plain rate r, and
 * when two successive lam agree and r says omega is too small, omega is
 * raised to r's optimum (up to MAX_RAISES times a stage). The first plain
 * checks of a stage see a fast transient: at reg 1e-3 on 3-D clouds they
 * measure r = 0.976 where the slow mode's is 0.995, and omega = 1.73 then
 * gives 0.967 per iteration instead of 0.87. */
typedef struct ms_relax {
    int adaptive, raises;
    double omega, prev_res, prev_rate, switch_res;
    size_t prev_k;
} ms_relax;

static double omega_for_rate(double r)
{
    return 2.0 / (1.0 + sqrt(1.0 - fmin(r, MAX_RATE)));
}

static int rates_agree(double rate, double prev)
{
    const double q = (1.0 - rate) / (1.0 - prev);
    return q > 1.0 / RATE_AGREE && q < RATE_AGREE;
}

/* Under omega: raise it when two agreeing rates say a slower mode
 * decays (above). */
static void raise_for_slow_mode(ms_relax *rx, double lam, double prev,
                                double res)
{
    const double w = rx->omega;
    if (rx->raises >= MAX_RAISES || !(lam < 1.0 && lam > w - 1.0) ||
        !rates_agree(lam, prev))
        return;
    const double r = (lam + w - 1.0) * (lam + w - 1.0) / (lam * w * w);
    const double w_new = omega_for_rate(r);
    if (!(r < 1.0) || !(w_new > w + RAISE_MIN))
        return;
    rx->omega = w_new;
    rx->switch_res = res;
    rx->raises++;
    rx->prev_rate = NAN; /* the next rates are those of the new omega */
}

static void relax_update(ms_relax *rx, double res, size_t k)
{
    if (!rx->adaptive)
        return;
    double rate = rx->prev_k > 0 && res < rx->prev_res && res > 0.0
                      ? pow(res / rx->prev_res, 1.0 / (double)(k - rx->prev_k))
                      : 1.0;
    if (rx->omega != 1.0) {
        if (isnan(rx->switch_res))
            rx->switch_res = res;
        if (res > 10.0 * rx->switch_res) {
            rx->omega = 1.0;
            rx->prev_rate = NAN;
        } else {
            const double prev = rx->prev_rate;
            rx->prev_rate = rate;
            if (!isnan(prev))
                raise_for_slow_mode(rx, rate, prev, res);
        }
    } else if (rate < 1.0) {
        if (rates_agree(rate, rx->prev_rate)) {
            rx->omega = omega_for_rate(fmax(rate, rx->prev_rate));
            rx->switch_res = res;
            rate = NAN; /* the rates under omega start afresh */
        }
        rx->prev_rate = rate;
    } else {
        rx->prev_rate = NAN;
    }
    rx->prev_res = res;
    rx->prev_k = k;
}

#define KEEP_GOING 1000 /* not a status */

/* The residual of this iteration's plan, passed to the callback (top
 * level) when report is set or the stage ends here. */
static int check(const ms_level *L, ms_run *run, double res, double reg,
                 double tol, int report)
{
    run->residual = res;
    if (isnan(res))
        return OTK_ERR_NUMERICAL;
    /* a stage's last check is reported too, so that the callback sees
     * every stage's end (its kept pairs, its iterations) */
    if ((report || res <= tol) && run->top && run->s->progress != NULL) {
        const otk_sinkhorn_progress detail = {.stage = run->stage,
                                              .domain = OTK_DOMAIN_LOG,
                                              .kept_pairs = L->pairs.points,
                                              .pair_evaluations =
                                                  L->evaluations};
        otk_progress p = {.solver = "sinkhorn",
                          .iteration = run->iterations,
                          .error = res,
                          .reg = reg,
                          .objective = NAN,
                          .elapsed_s = otk__elapsed(run->call),
                          .detail = &detail};
        if (run->s->progress(run->s->progress_user, &p) != 0)
            return OTK_CANCELLED;
    }
    return res <= tol ? OTK_CONVERGED : KEEP_GOING;
}

/* Symmetric: T(g) for g <- (g + T(g)) / 2; the measured plan is (g, g),
 * whose row and column sums are equal. */
static int symmetric_iteration(ms_level *L, ms_run *run, double reg, double tol,
                               int report)
{
    const size_t n = L->pb->n;
    set_h(n, L->lx, L->g, reg, L->hy);
    const sweep_extra ex = {NULL, NULL, 1.0, L->g};
    sweep(L, 1, L->hy, reg, L->T, &ex);
    run->iterations++;
    return check(L, run, 2.0 * side_residual(n, L->X.w, L->g, L->T, reg), reg,
                 tol, report);
}

/* f <- (1 - w) f + w T(g), then T(f) for the next g; the measured plan
 * is (new f, old g). */
static int iteration(ms_level *L, ms_run *run, double reg, double tol,
                     double omega, int report)
{
    const size_t n = L->pb->n, m = L->pb->m;
    const double *b = L->Yp->w;
    set_h(m, L->ly, L->g, reg, L->hy);
    const sweep_extra ex = {NULL, L->f, omega, L->f};
    sweep(L, 1, L->hy, reg, L->T, &ex);
    double rows =
        omega == 1.0 ? 0.0 : side_residual(n, L->X.w, L->f, L->T, reg);
    run->iterations++;
    /* T(f) from the column sums c_j = b_j exp((g_j - T_j) / reg), or down
     * the columns where they cannot give it */
    int from_sums = 1;
    for (size_t j = 0; j < m && from_sums; j++)
        from_sums = b[j] > 0.0 && L->colsum[j] > UNDERFLOW_COLSUM &&
                    isfinite(L->colsum[j]);
    double cols = 0.0;
    if (from_sums) {
        for (size_t j = 0; j < m; j++) {
            cols += fabs(L->colsum[j] - b[j]);
            L->T[j] = L->g[j] - reg * log(L->colsum[j] / b[j]);
        }
    } else {
        set_h(n, L->lx, L->f, reg, L->hx);
        sweep(L, 0, L->hx, reg, L->T, NULL);
        cols = side_residual(m, b, L->g, L->T, reg);
    }
    return check(L, run, rows + cols, reg, tol, report);
}

/* The next g from the c-transform an iteration left in L->T. */
static void advance_g(ms_level *L, double omega)
{
    const size_t m = L->pb->m;
    if (L->pb->symmetric)
        for (size_t k = 0; k < m; k++)
            L->g[k] = 0.5 * (L->g[k] + L->T[k]);
    else
        for (size_t j = 0; j < m; j++)
            L->g[j] = (1.0 - omega) * L->g[j] + omega * L->T[j];
}

static ms_relax relax_start(const otk_sinkhorn_settings *s, int sym)
{
    ms_relax rx = {s->relaxation == 0.0 && !sym, 0, 1.0, NAN, NAN, NAN, 0};
    if (!rx.adaptive && !sym)
        rx.omega = s->relaxation;
    return rx;
}

/* A new stage: its rates start afresh (its first residual jumps), omega
 * stays, and its divergence guard is set at the first check. */
static void relax_new_stage(ms_relax *rx)
{
    rx->raises = 0;
    rx->prev_rate = NAN;
    rx->prev_res = NAN;
    rx->prev_k = 0;
    rx->switch_res = NAN;
}

/* Iterations at one reg on the current kept pairs until the residual is
 * <= tol, the budget runs out or the callback cancels; rx carries the
 * relaxation over the calls of one stage. */
static otk_status run_stage(ms_level *L, ms_run *run, double reg, double tol,
                            size_t budget, ms_relax *rx)
{
    const otk_sinkhorn_settings *s = run->s;
    const int sym = L->pb->symmetric;
    for (size_t k = 1; k <= budget; k++) {
        /* every iteration's residual comes nearly free from its sweep (the
         * column sums, one pass over the rows), so each is tested; the
         * callback and the relaxation's rates see every check_every-th
         * over the whole run, and the stage's last, as in the dense
         * solver */
        const int report =
            (run->iterations + 1) % s->check_every == 0 || k == budget;
        int r = sym ? symmetric_iteration(L, run, reg, tol, report)
                    : iteration(L, run, reg, tol, rx->omega, report);
        if (r != KEEP_GOING)
            return (otk_status)r;
        if (report && !sym)
            relax_update(rx, run->residual, run->iterations);
        /* the last measured plan is the one returned */
        if (k < budget)
            advance_g(L, rx->omega);
    }
    return OTK_MAX_ITER;
}

/* The epsilon-scaling stages on the points of a level with pairs rebuilt
 * for each; the last is final_stage. */
static otk_status final_stage(ms_level *L, ms_run *run, double cut,
                              ms_relax *rx);

static otk_status level_stages(ms_level *L, ms_run *run, double reg_c)
{
    const ms_problem *pb = L->pb;
    const otk_sinkhorn_settings *s = run->s;
    /* omega carries over the stages: the slow mode's plain rate only
     * nears 1 as reg falls, so the last stage's omega is a lower estimate
     * of the next one's optimum, which the raises then find */
    ms_relax rx = relax_start(s, pb->symmetric);
    for (double reg_s = reg_c * s->eps_scaling_factor;;
         reg_s *= s->eps_scaling_factor) {
        const int last = reg_s <= pb->reg * (1.0 + 1e-12);
        if (last)
            reg_s = pb->reg;
        run->stage = ++run->stages;
        /* an intermediate stage stops at STAGE_REL_TOL: a narrower kernel
         * drops far less mass than that, and the last stage rebuilds */
        const double cut =
            last ? s->truncation : fmin(s->truncation, STAGE_TRUNCATION);
        if (build_pairs(L, reg_s, cut) != 0)
            return OTK_ERR_NO_MEMORY;
        relax_new_stage(&rx);
        if (last)
            return final_stage(L, run, cut, &rx);
        size_t left = run->budget - run->iterations;
        size_t budget = left < STAGE_MAX_ITER ? left : STAGE_MAX_ITER;
        double tol = fmax(run->tol, STAGE_REL_TOL * pb->mass);
        otk_status st = run_stage(L, run, reg_s, tol, budget, &rx);
        if (st < 0 || st == OTK_CANCELLED)
            return st;
        if (run->iterations >= run->budget) {
            /* the rows at reg from this g, as the dense solver does */
            if (build_pairs(L, pb->reg, s->truncation) != 0)
                return OTK_ERR_NO_MEMORY;
            set_h(pb->m, L->ly, L->g, pb->reg, L->hy);
            sweep(L, 1, L->hy, pb->reg, L->f, NULL);
            run->max_iter_stage = 1;
            return OTK_MAX_ITER;
        }
        advance_g(L, 1.0);
    }
}

/* The last stage: iterate to the tolerance; at the top level the
 * residual must hold with twice the neglected mass added, else the kept
 * pairs are rebuilt from the new potentials with the cut raised so that
 * the bound comes to a 16th of tol (needed_cut; REBUILDS times, then
 * OTK_STALLED: tol is below what the truncation can certify). */
static otk_status final_stage(ms_level *L, ms_run *run, double cut,
                              ms_relax *rx)
{
    const double reg = L->pb->reg, tol = run->tol;
    double bound = 0.0;
    for (int round = 0;; round++) {
        double target = fmax(tol - 2.0 * bound, 0.5 * tol);
        otk_status st = run_stage(L, run, reg, run->top ? target : tol,
                                  run->budget - run->iterations, rx);
        if (!run->top || st != OTK_CONVERGED)
            return st;
        bound = neglected_mass(L, reg);
        if (run->residual + 2.0 * bound <= tol)
            return OTK_CONVERGED;
        if (round == REBUILDS)
            return OTK_STALLED;
        if (2.0 * bound > 0.25 * tol) {
            cut = needed_cut(L, reg, cut, tol / 16.0);
            if (build_pairs(L, reg, cut) != 0)
                return OTK_ERR_NO_MEMORY;
        }
    }
}

/* The corner and size of the box of both clouds. */
static void bounding_box(const ms_problem *pb, double *origin, double *extent)
{
    otk__points_box(pb->x, pb->n, pb->y, pb->m, pb->d, origin, extent);
    for (size_t k = 0; k < pb->d; k++)
        extent[k] -= origin[k];
}

/* The cell width for about POINTS_PER_CLUSTER points per cell of the box
 * (flat directions count as a thousandth of the widest). */
static double first_width(const ms_problem *pb, const double *extent)
{
    double widest = 0.0, vol = 1.0;
    for (size_t k = 0; k < pb->d; k++)
        widest = fmax(widest, extent[k]);
    if (widest == 0.0)
        return 1.0;
    for (size_t k = 0; k < pb->d; k++)
        vol *= fmax(extent[k], 1e-3 * widest);
    /* more points per cluster on large clouds: the kept pairs of clusters
     * (two indices each) and the O(clusters^2) tests that find them stay
     * bounded */
    double pts = (double)(pb->n > pb->m ? pb->n : pb->m);
    double per = fmax(POINTS_PER_CLUSTER, pts / MAX_CLUSTERS);
    double w = pow(vol * per / pts, 1.0 / (double)pb->d);
    return fmax(w, 1e-6 * widest);
}

/* Both clouds on one grid, widened until the cluster pairs are at most a
 * quarter of the point pairs (so that each level shrinks). *width gets
 * the cell width. */
static otk_status cluster_level(ms_level *L, double *width)
{
    const ms_problem *pb = L->pb;
    double *box = malloc(2 * pb->d * sizeof *box);
    if (box == NULL)
        return OTK_ERR_NO_MEMORY;
    bounding_box(pb, box, box + pb->d);
    double w = first_width(pb, box + pb->d);
    otk_status st = OTK_ERR_NO_MEMORY;
    for (int tries = 0; tries < 64; tries++, w *= 2.0) {
        otk__clusters_free(&L->X);
        otk__clusters_free(&L->Y);
        L->Yp = pb->symmetric ? &L->X : &L->Y;
        if (otk__cluster_grid(pb->x, pb->a, pb->n, pb->d, box, box + pb->d, w,
                              &L->X) != 0 ||
            (!pb->symmetric &&
             otk__cluster_grid(pb->y, pb->b, pb->m, pb->d, box, box + pb->d, w,
                               &L->Y) != 0))
            continue;
        /* cluster indices are 32-bit in the pair lists */
        if (L->X.count <= UINT32_MAX && L->Yp->count <= UINT32_MAX &&
            (double)L->X.count * (double)L->Yp->count <=
                0.25 * (double)pb->n * (double)pb->m) {
            st = OTK_CONVERGED;
            break;
        }
    }
    *width = w;
    free(box);
    return st;
}

static void level_free(ms_level *L)
{
    otk__clusters_free(&L->X);
    otk__clusters_free(&L->Y);
    if (L->ly != L->lx)
        free(L->ly);
    free(L->lx);
    if (L->f != L->g)
        free(L->f);
    free(L->g);
    free(L->hx);
    free(L->hy);
    free(L->T);
    free(L->Fmax);
    free(L->Gmax);
    free(L->Fcur);
    free(L->Gcur);
    if (L->g0 != L->f0)
        free(L->g0);
    free(L->f0);
    free(L->colidx);
    free(L->segs);
    free(L->buf);
    free(L->colsum);
    pairs_free(&L->pairs);
}

/* The level's arrays, after clustering. 0 or -1 (memory). */
static int level_alloc(ms_level *L)
{
    const size_t n = L->pb->n, m = L->pb->m, big = n > m ? n : m;
    L->buflen = big;
    L->lx = malloc(n * sizeof *L->lx);
    L->ly = L->pb->symmetric ? L->lx : malloc(m * sizeof *L->ly);
    L->g = malloc(m * sizeof *L->g);
    /* a symmetric level has f = g throughout */
    L->f = L->pb->symmetric ? L->g : malloc(n * sizeof *L->f);
    L->hx = malloc(big * sizeof *L->hx);
    L->hy = malloc(big * sizeof *L->hy);
    L->T = malloc(big * sizeof *L->T);
    L->Fmax = malloc(L->X.count * sizeof *L->Fmax);
    L->Gmax = malloc(L->Yp->count * sizeof *L->Gmax);
    L->Fcur = malloc(L->X.count * sizeof *L->Fcur);
    L->Gcur = malloc(L->Yp->count * sizeof *L->Gcur);
    L->g0 = malloc(m * sizeof *L->g0);
    L->f0 = L->pb->symmetric ? L->g0 : malloc(n * sizeof *L->f0);
    L->segcap = L->X.count > L->Yp->count ? L->X.count : L->Yp->count;
    L->colidx = malloc(2 * big * (size_t)L->threads * sizeof *L->colidx);
    L->segs =
        malloc(4 * (L->segcap + 1) * (size_t)L->threads * sizeof *L->segs);
    L->colsum = malloc(big * sizeof *L->colsum);
    L->buf = malloc(SCRATCH_ROWS(L->pb->d) * big * (size_t)L->threads *
                    sizeof *L->buf);
    if (!L->lx || !L->ly || !L->f || !L->g || !L->hx || !L->hy || !L->T ||
        !L->Fmax || !L->Gmax || !L->Fcur || !L->Gcur || !L->f0 || !L->g0 ||
        !L->colidx || !L->segs || !L->buf || !L->colsum)
        return -1;
    for (size_t i = 0; i < n; i++)
        L->lx[i] = log(L->X.w[i]);
    for (size_t j = 0; j < m && !L->pb->symmetric; j++)
        L->ly[j] = log(L->Y.w[j]);
    return 0;
}

/* A level small enough for the dense point-cloud solver, to a coarse
 * tolerance (its result is a starting point). */
static otk_status direct_solve(const ms_problem *pb, ms_run *run, double *f,
                               double *g)
{
    otk_cost cost = otk_cost_points(pb->n, pb->m, pb->d, pb->x, pb->y,
                                    OTK_METRIC_SQEUCLIDEAN, 2.0);
    cost.scale = pb->scale;
    otk_sinkhorn_settings s = *run->s;
    s.multiscale = 0;
    s.warm_start = 0;
    s.tol = run->tol / pb->mass;
    s.max_iter = run->budget;
    s.progress = NULL;
    const otk_problem p = {&cost, pb->a, pb->b, pb->reg};
    otk_solution sol = {f, g, NULL, NULL, 0};
    otk_sinkhorn_info info;
    otk_status st = run->direct(&p, &s, &sol, &info);
    run->iterations += info.iterations;
    return st;
}

static otk_status level_solve(const ms_problem *pb, ms_run *run, double *f,
                              double *g);

/* The level's starting potentials: those of its clusters, solved as a
 * level of their own at reg_c. */
static otk_status coarse_start(ms_level *L, const ms_run *run, double reg_c)
{
    const ms_problem *pb = L->pb;
    const ms_problem cp = {
        L->X.count,  L->Yp->count, pb->d, L->X.center, L->Yp->center, L->X.mass,
        L->Yp->mass, pb->scale,    reg_c, pb->mass,    pb->symmetric};
    ms_run cr = {.s = run->s,
                 .direct = run->direct,
                 .threads = run->threads,
                 .tol = COARSE_REL_TOL * pb->mass,
                 .budget = run->s->max_iter};
    double *fc = malloc(cp.n * sizeof *fc), *gc = malloc(cp.m * sizeof *gc);
    otk_status st = OTK_ERR_NO_MEMORY;
    if (fc != NULL && gc != NULL)
        st = level_solve(&cp, &cr, fc, gc);
    if (st >= 0) {
        /* a symmetric level iterates on g alone */
        const double *fs = pb->symmetric ? gc : fc;
        for (size_t i = 0; i < pb->n; i++)
            L->f[i] = fs[L->X.of[i]];
        for (size_t j = 0; j < pb->m; j++)
            L->g[j] = gc[L->Yp->of[j]];
        st = OTK_CONVERGED;
    }
    free(fc);
    free(gc);
    return st;
}

/* The kept entries of the plan into the dense n x m P (zero elsewhere). */
static void write_plan(const ms_level *L, double *P)
{
    const ms_problem *pb = L->pb;
    const size_t m = pb->m, d = pb->d;
    const otk__clusters *X = &L->X, *Y = L->Yp;
    memset(P, 0, pb->n * m * sizeof *P);
    for (size_t I = 0; I < X->count; I++)
        for (size_t r = X->start[I]; r < X->start[I + 1]; r++)
            for (size_t k = L->pairs.rowptr[I]; k < L->pairs.rowptr[I + 1];
                 k++) {
                const uint32_t J = L->pairs.cols[k];
                if (!x_bit(&L->pairs, I, k - L->pairs.rowptr[I],
                           r - X->start[I]))
                    continue;
                for (size_t c = Y->start[J]; c < Y->start[J + 1]; c++) {
                    if (!y_bit(&L->pairs, k, c - Y->start[J]))
                        continue;
                    double d2 = 0.0;
                    for (size_t q = 0; q < d; q++) {
                        double dd = X->pts[r * d + q] - Y->pts[c * d + q];
                        d2 += dd * dd;
                    }
                    P[X->perm[r] * m + Y->perm[c]] =
                        exp(L->lx[r] + L->ly[c] +
                            (L->f[r] + L->g[c] - pb->scale * d2) / pb->reg);
                }
            }
}

/* The top level's final pass: every number of the info measured on the
 * kept pairs' plan of the returned potentials, plus the bound of what
 * lies outside. */
static otk_status final_pass(ms_level *L, ms_run *run)
{
    const ms_problem *pb = L->pb;
    const size_t n = pb->n, m = pb->m;
    const double reg = pb->reg;
    otk_sinkhorn_info *info = run->info;
    double *mean = malloc(n * sizeof *mean);
    if (mean == NULL)
        return OTK_ERR_NO_MEMORY;
    set_h(m, L->ly, L->g, reg, L->hy);
    const sweep_extra ex = {mean, NULL, 1.0, L->f};
    sweep(L, 1, L->hy, reg, L->T, &ex);
    double transport = 0.0, total = 0.0, fr = 0.0, gc = 0.0, marg = 0.0;
    double resid = 0.0, dual = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = L->X.w[i], r = a * exp((L->f[i] - L->T[i]) / reg);
        transport += r * mean[i];
        total += r;
        fr += L->f[i] * r;
        marg += fabs(r - a);
        resid += fabs(r - a);
        dual += a * L->f[i];
    }
    free(mean);
    set_h(n, L->lx, L->f, reg, L->hx);
    sweep(L, 0, L->hx, reg, L->T, NULL);
    for (size_t j = 0; j < m; j++) {
        double b = L->Yp->w[j], c = b * exp((L->g[j] - L->T[j]) / reg);
        gc += L->g[j] * c;
        marg += fabs(c - b * run->bscale);
        resid += fabs(c - b);
        dual += b * L->g[j];
    }
    const double bound = neglected_mass(L, reg);
    const double mass_term = reg * (total - pb->mass * pb->mass);
    info->transport_cost = transport;
    info->marginal_error = marg;
    info->residual = resid + 2.0 * bound;
    info->neglected_mass = bound;
    info->objective = fr + gc - mass_term;
    info->dual_objective = dual - mass_term;
    if (run->P != NULL)
        write_plan(L, run->P);
    return OTK_CONVERGED;
}

/* Solves one level; f (n) and g (m) in the level's own point order. */
static otk_status level_solve(const ms_problem *pb, ms_run *run, double *f,
                              double *g)
{
    if (!run->top && (double)pb->n * (double)pb->m <= DIRECT_PAIRS)
        return direct_solve(pb, run, f, g);
    ms_level L;
    memset(&L, 0, sizeof L);
    L.pb = pb;
    L.threads = run->threads;
    double width;
    otk_status st = cluster_level(&L, &width);
    if (st == OTK_CONVERGED && level_alloc(&L) != 0)
        st = OTK_ERR_NO_MEMORY;
    const double cell = COARSE_CELLS * width;
    const double reg_c = fmax(pb->reg, pb->scale * cell * cell);
    if (st == OTK_CONVERGED)
        st = coarse_start(&L, run, reg_c);
    if (st == OTK_CONVERGED)
        st = level_stages(&L, run, reg_c);
    if (st >= 0 && run->top) {
        otk_status fp = final_pass(&L, run);
        st = fp != OTK_CONVERGED ? fp : st;
    }
    if (st >= 0) {
        for (size_t i = 0; i < pb->n; i++)
            f[L.X.perm[i]] = L.f[i];
        for (size_t j = 0; j < pb->m; j++)
            g[L.Yp->perm[j]] = L.g[j];
    }
    level_free(&L);
    return st;
}

/* scale times the squared diagonal of the box of both clouds: no cost
 * entry is larger. */
static double range_bound(const ms_problem *pb);

int otk__multiscale_wanted(const otk_problem *pr,
                           const otk_sinkhorn_settings *s)
{
    const otk_cost *c = pr->cost;
    if (s->multiscale != -1)
        return s->multiscale == 1;
    if (!(c->C == NULL && c->metric == OTK_METRIC_SQEUCLIDEAN &&
          isinf(s->tau_a) && isinf(s->tau_b) && !s->warm_start &&
          c->d <= AUTO_MAX_DIM && (double)c->n * (double)c->m >= AUTO_PAIRS))
        return 0;
    const ms_problem pb = {c->n, c->m,     c->d,    c->x, c->y, NULL,
                           NULL, c->scale, pr->reg, 0.0,  0};
    return s->truncation * pr->reg <= AUTO_WIDTH2 * range_bound(&pb);
}

otk_status otk__multiscale_check(otk__call *call, const otk_problem *pr,
                                 const otk_sinkhorn_settings *s)
{
    const otk_cost *c = pr->cost;
    if (s->multiscale != 1)
        return OTK_CONVERGED;
    /* the truncation bound is that of the squared Euclidean cost; the
     * iteration is the balanced one; a warm start would skip the coarse
     * levels that make the kept pairs */
    if (c->C != NULL || c->metric != OTK_METRIC_SQEUCLIDEAN ||
        !isinf(s->tau_a) || !isinf(s->tau_b) || s->warm_start)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "settings.multiscale",
                         SIZE_MAX);
    return OTK_CONVERGED;
}

static double range_bound(const ms_problem *pb)
{
    double *box = malloc(2 * pb->d * sizeof *box), diag2 = 0.0;
    if (box == NULL)
        return INFINITY;
    bounding_box(pb, box, box + pb->d);
    for (size_t k = 0; k < pb->d; k++)
        diag2 += box[pb->d + k] * box[pb->d + k];
    free(box);
    return pb->scale * diag2;
}

otk_status otk__multiscale_solve(otk__call *call, otk_sinkhorn_workspace *ws,
                                 const otk_problem *pr,
                                 const otk_sinkhorn_settings *s,
                                 otk_solution *sol,
                                 const otk__multiscale_args *args,
                                 otk_sinkhorn_info *info)
{
    const double mass_a = args->mass_a, mass_b = args->mass_b;
    const otk_cost *cost = pr->cost;
    const size_t n = cost->n, m = cost->m;
    /* b rescaled to a's mass, as the dense solver does */
    const double bscale = mass_b / mass_a;
    double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return otk__fail(call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    }
    for (size_t i = 0; i < n; i++)
        a[i] = pr->a != NULL ? pr->a[i] : 1.0 / (double)n;
    for (size_t j = 0; j < m; j++)
        b[j] = (pr->b != NULL ? pr->b[j] : 1.0 / (double)m) / bscale;
    const ms_problem pb = {n, m,           cost->d, cost->x, cost->y,        a,
                           b, cost->scale, pr->reg, mass_a,  args->symmetric};
    ms_run run = {.s = s,
                  .direct = args->direct,
                  .call = call,
                  .top = 1,
                  .threads = otk__threads_for_work(s->threads, n * m),
                  .tol = s->tol * mass_a,
                  .budget = s->max_iter,
                  .bscale = bscale,
                  .P = sol != NULL ? sol->P : NULL,
                  .info = info};
    /* as the dense solver: potentials / reg must stay resolvable */
    const int reg_ok = pr->reg >= OTK__MIN_REL_REG * range_bound(&pb);
    otk_status st = reg_ok ? level_solve(&pb, &run, ws->f, ws->g)
                           : OTK_ERR_INVALID_ARGUMENT;
    free(a);
    free(b);
    if (!reg_ok)
        return otk__fail(call, st, "reg", SIZE_MAX);
    if (st < 0)
        return otk__fail(call, st, NULL, SIZE_MAX);
    info->iterations = run.iterations;
    info->stages = run.stages;
    info->domain = OTK_DOMAIN_LOG;
    if (st == OTK_MAX_ITER)
        call->out->cause = run.max_iter_stage ? "max_iter_stage" : "max_iter";
    if (st == OTK_STALLED)
        call->out->cause = "truncation";
    st = otk__finite_result(st, ws->f, n);
    st = otk__finite_result(st, ws->g, m);
    if (st >= 0 && !(isfinite(info->objective) && isfinite(info->residual)))
        st = OTK_ERR_NUMERICAL;
    if (st == OTK_CONVERGED &&
        !(info->residual <= 2.0 * run.tol + 1e-12 * mass_a))
        st = OTK_ERR_NUMERICAL;
    ws->g_valid = st >= 0;
    if (sol != NULL && sol->f != NULL)
        memcpy(sol->f, ws->f, n * sizeof *sol->f);
    if (sol != NULL && sol->g != NULL)
        memcpy(sol->g, ws->g, m * sizeof *sol->g);
    return otk__finish(call, st);
}
