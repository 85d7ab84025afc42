/*
 * The linear system of a tie structure (see ties.c and ties.h).
 *
 * The system is the optimality condition of an equality-constrained
 * quadratic: with x_ij = alpha_i + beta_j - c_ij,
 *
 *   min  sum_{S entries} x_ij^2 / (2 reg) + sum_j r_j v_j^2 / (2 reg)
 *        - <a, alpha> - <b, beta>
 *   s.t. x_ij = v_j  (i in W_j),
 *
 * the tied plan values w_ij its multipliers. With u_j = v_j - beta_j each
 * tie reads alpha_i - u_j = c_ij: on every tree of the tie forest (rows
 * and tied columns joined by tied entries; an entry closing a cycle has
 * w = 0 and its tie dropped, see otk__tie_system_dense) all alpha and u
 * are one parameter plus known offsets. The quadratic in the remaining
 * unknowns (one per tree, one per row outside the forest, and beta) is
 * solved densely: at most n + m unknowns instead of n + m + the tied
 * entries + the tied columns (a 512 x 512 colour problem's structures:
 * 1024 against 2200-3500, some 10-40 times fewer multiply-adds). The w
 * then follow from the row and slot equations by peeling each tree from
 * its leaves. Each component's pinned row (the potentials' shift, as in
 * the dense system) roots its tree, so that its equation is the one left
 * unmet, and the solution equals the dense system's.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linalg/linalg.h"
#include "smooth/finish.h"
#include "smooth/ties.h"

/* The dense eliminations' largest size. The multiply-adds of all
 * eliminations of one solve are bounded by tb->work_cap (set by the
 * engine with tb->work): the active-set loop may need a solve per change
 * of the structure, and the engine may call the finish again after more
 * L-BFGS iterations. */
#define TIES_MAX_DENSE 4096
#define TIES_LAPACK_FROM 512

/* Solves the N x N system A z = y in place (A row-major, destroyed) by
 * Gaussian elimination with partial pivoting; 0, or -1 if a pivot is
 * negligible. */
static int gauss_solve(double *A, double *y, size_t N)
{
    double scale = 0.0;
    for (size_t q = 0; q < N * N; q++)
        scale = fabs(A[q]) > scale ? fabs(A[q]) : scale;
    for (size_t col = 0; col < N; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < N; r++)
            if (fabs(A[r * N + col]) > fabs(A[piv * N + col]))
                piv = r;
        if (!(fabs(A[piv * N + col]) > 1e-13 * scale))
            return -1;
        if (piv != col) {
            for (size_t q = 0; q < N; q++) {
                double tmp = A[col * N + q];
                A[col * N + q] = A[piv * N + q];
                A[piv * N + q] = tmp;
            }
            double tmp = y[col];
            y[col] = y[piv];
            y[piv] = tmp;
        }
        const double inv = 1.0 / A[col * N + col];
        for (size_t r = col + 1; r < N; r++) {
            const double f = A[r * N + col] * inv;
            if (f == 0.0)
                continue;
            for (size_t q = col; q < N; q++)
                A[r * N + q] -= f * A[col * N + q];
            y[r] -= f * y[col];
        }
    }
    for (size_t r = N; r-- > 0;) {
        double s = y[r];
        for (size_t q = r + 1; q < N; q++)
            s -= A[r * N + q] * y[q];
        y[r] = s / A[r * N + r];
    }
    return 0;
}

/* Solves the N x N system A z = y in place (A row-major, destroyed) by
 * LAPACK's blocked LU from TIES_LAPACK_FROM unknowns on (below, the
 * plain elimination: OpenBLAS's threads cost more than they save there);
 * 0, or -1 if a pivot is negligible against the largest entry (a
 * structure whose equations do not fix the unknowns). */
static int lu_solve(otk__ties_buffers *tb, double *A, double *y, size_t N)
{
    if (N < TIES_LAPACK_FROM)
        return gauss_solve(A, y, N);
    double scale = 0.0;
    for (size_t q = 0; q < N * N; q++)
        scale = fabs(A[q]) > scale ? fabs(A[q]) : scale;
    if (otk__smooth_grow((void **)&tb->ipiv, &tb->ipiv_cap, N,
                         sizeof *tb->ipiv) != 0)
        return -1;
    if (otk__lu_factor(N, A, tb->ipiv) != 0)
        return -1;
    for (size_t q = 0; q < N; q++)
        if (!(fabs(A[q * N + q]) > 1e-13 * scale))
            return -1;
    return otk__lu_apply(N, A, tb->ipiv, y);
}

static size_t find(size_t *parent, size_t v)
{
    while (parent[v] != v)
        v = parent[v] = parent[parent[v]];
    return v;
}

/* Per connected component of the structure (rows and columns joined by
 * its entries), its heaviest row, whose equation gives way to fixing that
 * row's alpha (the potentials' shift on each component). tb->parent
 * receives the roots (n + m), then per root its heaviest row (SIZE_MAX
 * for none), which is returned. */
static const size_t *component_pins(const otk__finish_problem *p,
                                    otk__ties_buffers *tb)
{
    const size_t n = p->n, m = p->m;
    size_t *root = tb->parent;
    for (size_t v = 0; v < n + m; v++)
        root[v] = v;
    for (size_t j = 0; j < m; j++)
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++) {
            size_t u = find(root, tb->entries[e].i), v = find(root, n + j);
            root[u] = v;
        }
    for (size_t v = 0; v < n + m; v++) /* each root: the heaviest row */
        root[v] = find(root, v);
    size_t *heaviest = root + n + m;
    for (size_t v = 0; v < n + m; v++)
        heaviest[v] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t r = root[i];
        if (heaviest[r] == SIZE_MAX || p->a[i] > p->a[heaviest[r]])
            heaviest[r] = i;
    }
    return heaviest;
}

/* The whole system by one dense LU (see ties.h). */
int otk__tie_system_dense(const otk__finish_problem *p, otk__ties_buffers *tb,
                          const double *x, size_t *nz)
{
    const size_t n = p->n, m = p->m;
    const double inv = 1.0 / p->reg;
    size_t N = n + m;
    for (size_t j = 0; j < m; j++)
        if (tb->slots[j] > 0)
            for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++)
                N += tb->entries[e].role == OTK__TIE_W;
    size_t tiecols = 0;
    for (size_t j = 0; j < m; j++)
        tiecols += tb->slots[j] > 0;
    N += tiecols;
    if (N > TIES_MAX_DENSE)
        return -1;
    if (otk__smooth_grow((void **)&tb->mat, &tb->mat_cap, N * N,
                         sizeof *tb->mat) != 0 ||
        otk__smooth_grow((void **)&tb->vec, &tb->vec_cap, N, sizeof *tb->vec) !=
            0)
        return -1;
    double *A = tb->mat, *y = tb->vec;
    memset(A, 0, N * N * sizeof *A);
    memset(y, 0, N * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i] = p->a[i];
    size_t next = n + m; /* the next tie unknown */
    size_t eq = n + m;   /* the next tie equation */
    /* The tied entries' graph (rows and columns joined by them): a tied
     * entry that closes a cycle has a tie equation implied by the others
     * on the cycle (their alternating sum cancels alpha, beta and v) and
     * a plan entry that can move around the cycle, so the system is
     * singular (a degenerate optimum, as the linear program's at k = 1).
     * Its plan entry is set to 0 instead and its tie equation dropped:
     * any plan of the structure is moved to one with that entry 0 by
     * moving mass around the cycle. */
    size_t *cyc = tb->parent;
    for (size_t v = 0; v < n + m; v++)
        cyc[v] = v;
    for (size_t j = 0; j < m; j++) {
        const size_t col = n + j;
        y[col] = p->b[j];
        size_t vj = 0;
        if (tb->slots[j] > 0) {
            vj = next++;
            A[eq * N + vj] = -(double)tb->slots[j] * inv; /* slots */
        }
        const size_t slot_eq = eq;
        if (tb->slots[j] > 0)
            eq++;
        size_t count = 0;
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++) {
            const column_entry ce = tb->entries[e];
            if (ce.role == OTK__TIE_S) {
                A[ce.i * N + ce.i] += inv;
                A[ce.i * N + col] += inv;
                y[ce.i] += ce.c * inv;
                A[col * N + ce.i] += inv;
                A[col * N + col] += inv;
                y[col] += ce.c * inv;
                count++;
            } else if (tb->slots[j] > 0) {
                const size_t w = next++;
                const size_t u = find(cyc, ce.i), v = find(cyc, n + j);
                if (u == v) { /* closes a cycle: w = 0 */
                    A[eq * N + w] = 1.0;
                    y[eq++] = 0.0;
                    count++;
                    continue;
                }
                cyc[u] = v;
                A[ce.i * N + w] += 1.0;
                A[col * N + w] += 1.0;
                A[slot_eq * N + w] = 1.0;
                /* the tie: alpha_i + beta_j - v_j = c_ij */
                A[eq * N + ce.i] = 1.0;
                A[eq * N + col] = 1.0;
                A[eq * N + vj] = -1.0;
                y[eq++] = ce.c;
                count++;
            }
        }
        if (count == 0) { /* no support: keep beta_j */
            memset(A + col * N, 0, N * sizeof *A);
            A[col * N + col] = 1.0;
            y[col] = p->dual ? x[n + j] : 0.0;
        }
    }
    const size_t *heaviest = component_pins(p, tb);
    for (size_t v = 0; v < n + m; v++) {
        size_t i0 = heaviest[v];
        if (i0 == SIZE_MAX)
            continue;
        memset(A + i0 * N, 0, N * sizeof *A);
        A[i0 * N + i0] = 1.0;
        y[i0] = x[i0];
    }
    *nz = N;
    tb->work += (double)N * (double)N * (double)N / 3.0;
    return lu_solve(tb, A, y, N);
}
/* The reduced solve's scratch in tb->red (doubles) and tb->red_idx. */
typedef struct reduced {
    size_t *var;   /* n + m: a node's unknown (rows' alpha, tied columns' u) */
    size_t *adj0;  /* n + m + 1: a node's tree entries adj[adj0[v] ..] */
    size_t *adj;   /* 2 per tree entry */
    size_t *order; /* the forest's nodes, each tree from its root down */
    size_t *up;    /* n + m: a node's entry toward its root (SIZE_MAX) */
    size_t *tree;  /* per entry: 1 on the forest (a tie kept), else 0 */
    size_t *colof; /* per entry: its column */
    /* per column: beta_j's couplings to the other unknowns, at
     * cstart(j) = start[j] + j: their unknowns and weights, the count */
    size_t *cidx, *ccount;
    size_t *pinned; /* per unknown after the betas: 1 if pinned */
    double *off;    /* n + m: a node's offset from its unknown */
    double *dem;    /* n + m: what a node's tied entries must carry */
    double *rhs;    /* n + m: the reduced system's right side, solution */
    double *wv;     /* per entry: its tied plan value */
    double *cw;     /* the couplings' weights (as cidx) */
    double *diag;   /* m: beta_j's own weight */
} reduced;

static int reduced_bind(const otk__finish_problem *p, otk__ties_buffers *tb,
                        reduced *r)
{
    const size_t nm = p->n + p->m, used = tb->used;
    if (otk__smooth_grow((void **)&tb->red_idx, &tb->red_idx_cap,
                         6 * nm + 2 + 5 * used + p->m,
                         sizeof *tb->red_idx) != 0 ||
        otk__smooth_grow((void **)&tb->red, &tb->red_cap,
                         3 * nm + 2 * used + 2 * p->m + 1,
                         sizeof *tb->red) != 0)
        return -1;
    r->var = tb->red_idx;
    r->adj0 = r->var + nm;
    r->adj = r->adj0 + nm + 1;
    r->order = r->adj + 2 * used;
    r->up = r->order + nm;
    r->tree = r->up + nm;
    r->colof = r->tree + used;
    r->cidx = r->colof + used;
    r->ccount = r->cidx + used + p->m;
    r->pinned = r->ccount + p->m;
    r->off = tb->red;
    r->dem = r->off + nm;
    r->rhs = r->dem + nm;
    r->wv = r->rhs + nm;
    r->cw = r->wv + used + 1;
    r->diag = r->cw + used + p->m;
    return 0;
}

/* The other end of column j's entry e from node v. */
static size_t other_end(const otk__ties_buffers *tb, size_t n, size_t e,
                        size_t j, size_t v)
{
    return v == tb->entries[e].i ? n + j : tb->entries[e].i;
}

/* The tree of the tie forest holding v, from v (its unknown R, offsets
 * from it along the ties alpha_i - u_j = c_ij) into r->order at *nord. */
static void tree_from(const otk__finish_problem *p, const otk__ties_buffers *tb,
                      reduced *r, const size_t *colof, size_t v, size_t R,
                      size_t *nord)
{
    const size_t n = p->n;
    size_t head = *nord;
    r->var[v] = R;
    r->off[v] = 0.0;
    r->up[v] = SIZE_MAX;
    r->order[(*nord)++] = v;
    while (head < *nord) {
        const size_t u = r->order[head++];
        for (size_t q = r->adj0[u]; q < r->adj0[u + 1]; q++) {
            const size_t e = r->adj[q], j = colof[e];
            const size_t w = other_end(tb, n, e, j, u);
            if (r->var[w] != SIZE_MAX)
                continue;
            r->var[w] = R;
            /* alpha_i - u_j = c_ij */
            r->off[w] = w < n ? r->off[u] + tb->entries[e].c
                              : r->off[u] - tb->entries[e].c;
            r->up[w] = e;
            r->order[(*nord)++] = w;
        }
    }
}

/* (z_u + beta_j + k0)^2 * wgt / 2 into the reduced system: u's diagonal
 * in S (the unknowns after the betas, Rr of them), the coupling to beta_j
 * in column j's list, beta_j's diagonal. */
static void add_square(reduced *r, const otk__ties_buffers *tb, double *S,
                       size_t Rr, size_t m, size_t u, size_t j, double k0,
                       double wgt)
{
    const size_t q = u - m, at = tb->start[j] + j + r->ccount[j]++;
    S[q * Rr + q] += wgt;
    r->cidx[at] = q;
    r->cw[at] = wgt;
    r->diag[j] += wgt;
    r->rhs[u] -= k0 * wgt;
    r->rhs[j] -= k0 * wgt;
}

/*
 * Solves the reduced system (R unknowns, the first m the betas, into
 * r->rhs). The betas' block is diagonal (a beta meets only rows'
 * unknowns), so they are eliminated first, a few multiply-adds per
 * column's entries (a Schur complement, positive definite as the system
 * without its pinned rows), and the rest (at most n unknowns, S) is solved
 * densely. 0, or -1 when singular.
 */
static int eliminate_betas(otk__ties_buffers *tb, reduced *r, double *S,
                           size_t R, size_t m)
{
    const size_t Rr = R - m;
    double *rhs = r->rhs, *rr = rhs + m;
    for (size_t j = 0; j < m; j++) {
        const double d = r->diag[j];
        if (!(d != 0.0))
            return -1;
        const size_t c0 = tb->start[j] + j, c1 = c0 + r->ccount[j];
        for (size_t a = c0; a < c1; a++) {
            const size_t p = r->cidx[a];
            if (r->pinned[p])
                continue;
            const double f = r->cw[a] / d;
            for (size_t b = c0; b < c1; b++)
                S[p * Rr + r->cidx[b]] -= f * r->cw[b];
            rr[p] -= f * rhs[j];
        }
    }
    tb->work += (double)Rr * (double)Rr * (double)Rr / 3.0;
    if (lu_solve(tb, S, rr, Rr) != 0)
        return -1;
    for (size_t j = 0; j < m; j++) {
        double v = rhs[j];
        const size_t c0 = tb->start[j] + j, c1 = c0 + r->ccount[j];
        for (size_t a = c0; a < c1; a++)
            v -= r->cw[a] * rr[r->cidx[a]];
        rhs[j] = v / r->diag[j];
    }
    return 0;
}

/* The system with the ties eliminated (see the top). */
int otk__tie_system_solve(const otk__finish_problem *p, otk__ties_buffers *tb,
                          const double *x, size_t *nz)
{
    const size_t n = p->n, m = p->m, nm = n + m;
    const double inv = 1.0 / p->reg;
    reduced r;
    if (reduced_bind(p, tb, &r) != 0)
        return -1;
    size_t *colof = r.colof;
    /* the forest: the same entries kept as otk__tie_system_dense */
    size_t N = nm, *cyc = tb->parent;
    for (size_t v = 0; v < nm; v++) {
        cyc[v] = v;
        r.adj0[v] = 0;
    }
    r.adj0[nm] = 0;
    for (size_t j = 0; j < m; j++) {
        N += tb->slots[j] > 0;
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++) {
            const column_entry ce = tb->entries[e];
            colof[e] = j;
            r.tree[e] = 0;
            if (ce.role != OTK__TIE_W || tb->slots[j] == 0)
                continue;
            N++;
            const size_t u = find(cyc, ce.i), v = find(cyc, n + j);
            if (u == v)
                continue; /* closes a cycle: w = 0 */
            cyc[u] = v;
            r.tree[e] = 1;
            r.adj0[ce.i + 1]++;
            r.adj0[n + j + 1]++;
        }
    }
    for (size_t v = 0; v < nm; v++)
        r.adj0[v + 1] += r.adj0[v];
    for (size_t v = 0; v < nm; v++)
        r.up[v] = r.adj0[v]; /* the next free slot */
    for (size_t e = 0; e < tb->used; e++)
        if (r.tree[e]) {
            r.adj[r.up[tb->entries[e].i]++] = e;
            r.adj[r.up[n + colof[e]]++] = e;
        }
    const size_t *heaviest = component_pins(p, tb);
    /* the unknowns: beta_j is j; then one per tree (rooted at its
     * component's pinned row when that row is on it), one per row off the
     * forest */
    size_t R = m, nord = 0;
    for (size_t v = 0; v < nm; v++)
        r.var[v] = SIZE_MAX;
    for (size_t v = 0; v < nm; v++) {
        const size_t i0 = heaviest[v];
        if (i0 != SIZE_MAX && r.adj0[i0 + 1] > r.adj0[i0])
            tree_from(p, tb, &r, colof, i0, R++, &nord);
    }
    for (size_t v = 0; v < nm; v++) {
        if (r.var[v] != SIZE_MAX || r.adj0[v + 1] == r.adj0[v])
            continue;
        tree_from(p, tb, &r, colof, v, R++, &nord);
    }
    for (size_t i = 0; i < n; i++)
        if (r.var[i] == SIZE_MAX) {
            r.var[i] = R++;
            r.off[i] = 0.0;
        }
    if (R - m > TIES_MAX_DENSE) /* the dense part */
        return -1;
    const size_t Rr = R - m; /* the unknowns after the betas */
    if (otk__smooth_grow((void **)&tb->mat, &tb->mat_cap, Rr * Rr,
                         sizeof *tb->mat) != 0 ||
        otk__smooth_grow((void **)&tb->vec, &tb->vec_cap, N, sizeof *tb->vec) !=
            0)
        return -1;
    double *S = tb->mat, *rhs = r.rhs;
    memset(S, 0, Rr * Rr * sizeof *S);
    memset(rhs, 0, R * sizeof *rhs);
    memset(r.pinned, 0, Rr * sizeof *r.pinned);
    for (size_t i = 0; i < n; i++)
        rhs[r.var[i]] += p->a[i];
    for (size_t j = 0; j < m; j++) {
        rhs[j] += p->b[j];
        r.ccount[j] = 0;
        r.diag[j] = 0.0;
        size_t count = 0;
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++) {
            const column_entry ce = tb->entries[e];
            if (ce.role == OTK__TIE_S) {
                add_square(&r, tb, S, Rr, m, r.var[ce.i], j, r.off[ce.i] - ce.c,
                           inv);
                count++;
            } else if (tb->slots[j] > 0) {
                count++;
            }
        }
        if (tb->slots[j] > 0) /* r_j v_j^2 / (2 reg), v_j = u_j + beta_j */
            add_square(&r, tb, S, Rr, m, r.var[n + j], j, r.off[n + j],
                       (double)tb->slots[j] * inv);
        if (count == 0) { /* no support: keep beta_j */
            r.diag[j] = 1.0;
            rhs[j] = p->dual ? x[n + j] : 0.0;
        }
    }
    /* the off-diagonal couplings of the unknowns after the betas (two
     * entries of one column share its beta, not each other) are none:
     * S is diagonal until the betas are eliminated */
    for (size_t v = 0; v < nm; v++) {
        const size_t i0 = heaviest[v];
        if (i0 == SIZE_MAX)
            continue;
        const size_t q = r.var[i0] - m;
        memset(S + q * Rr, 0, Rr * sizeof *S);
        S[q * Rr + q] = 1.0;
        r.pinned[q] = 1;
        rhs[m + q] = x[i0] - r.off[i0];
    }
    if (eliminate_betas(tb, &r, S, R, m) != 0)
        return -1;
    /* the potentials, the levels, and what each node's ties carry */
    double *z = tb->vec;
    for (size_t i = 0; i < n; i++) {
        z[i] = rhs[r.var[i]] + r.off[i];
        r.dem[i] = p->a[i];
    }
    for (size_t j = 0; j < m; j++)
        z[n + j] = rhs[j];
    for (size_t j = 0; j < m; j++) {
        r.dem[n + j] = 0.0;
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++) {
            const column_entry ce = tb->entries[e];
            if (ce.role == OTK__TIE_S)
                r.dem[ce.i] -= (z[ce.i] + z[n + j] - ce.c) * inv;
        }
        if (tb->slots[j] > 0) {
            const double vj = rhs[r.var[n + j]] + r.off[n + j] + z[n + j];
            r.off[n + j] = vj; /* the level, read back below */
            r.dem[n + j] = (double)tb->slots[j] * vj * inv;
        }
    }
    /* the tied plan values: each tree peeled from its leaves (the root's
     * equation, the pinned row's, is the one left) */
    double *wv = r.wv;
    for (size_t q = nord; q-- > 0;) {
        const size_t u = r.order[q], e = r.up[u];
        if (e == SIZE_MAX)
            continue;
        const size_t j = colof[e];
        wv[e] = r.dem[u];
        r.dem[other_end(tb, n, e, j, u)] -= wv[e];
    }
    size_t next = nm;
    for (size_t j = 0; j < m; j++) {
        if (tb->slots[j] == 0)
            continue;
        z[next++] = r.off[n + j];
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++)
            if (tb->entries[e].role == OTK__TIE_W)
                z[next++] = r.tree[e] ? wv[e] : 0.0;
    }
    *nz = N;
    return 0;
}
