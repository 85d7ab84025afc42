/*
 * The finish at a kink (see finish.h): an optimum where the k-th entry of
 * a column ties with others. There no single top-k selection gives a
 * vanishing gradient; the optimality conditions hold for a convex
 * combination of the tied selections instead.
 *
 * The structure. Per column j, x_i = alpha_i + beta_j - c_ij (the
 * semi-dual's beta_j from its threshold): S_j the entries in the plan
 * strictly above the tie level, W_j the entries within delta of it, r_j =
 * k - |S_j| of them to select. On that structure the optimality
 * conditions are linear in the unknowns alpha, beta, the levels v_j and
 * the plan entries w_ij of the tied entries (the multipliers of the ties),
 * for the dual and the semi-dual alike (the semi-dual's threshold is
 * -beta_j):
 *
 *   rows     sum_{j: i in S_j} x_ij / reg + sum_{j: i in W_j} w_ij = a_i
 *   columns  sum_{S_j} x_ij / reg + sum_{W_j} w_ij = b_j
 *   ties     x_ij = v_j                      (i in W_j)
 *   slots    sum_{W_j} w_ij = r_j v_j / reg
 *
 * one row equation replaced by fixing that row's alpha (the potentials'
 * common shift). Solved densely (Gaussian elimination with partial
 * pivoting) when small enough.
 *
 * The certificate at the solution uses the combination mu_i = w_ij reg /
 * v_j of the tied selections (clipped to [0, 1], at most r_j in all). Each
 * selection L is a piece of the objective; its gradient is an
 * eps-supergradient, eps the piece's shortfall from the maximum, so
 * D* <= D(x) + sum of the shortfalls + <g_mu, x* - x>, the last term
 * bounded as in otk__finish_gap. Where the structure is degenerate (the
 * tie graph has cycles, or several combinations balance the same
 * potentials) the linear solve's weights can leave [0, 1] although a valid
 * combination exists: a maximum flow among the tied entries (flow_mu)
 * finds one whenever one exists, and the better certificate is kept.
 *
 * The active set (refine: entries move in and out of the tie by the signs
 * of their weights and by the order of the entries at the solution) can
 * cycle between a few structures whose points are all worse than the
 * start (the 512 x 512 colour problem of docs/figures.md, figure 1's
 * problems at k = 2). The walk globalizes it: its point only descends, by
 * an exact line search toward each structure's point (f is convex and
 * piecewise quadratic along the segment); where the search stops short at
 * a kink, the structure is read again there; where no step descends, the
 * flow's cut (cut_step) or a component's shift (shift_component) does.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linalg/linalg.h"
#include "smooth/finish.h"
#include "smooth/ties.h"

void otk__ties_buffers_free(otk__ties_buffers *tb)
{
    free(tb->mat);
    free(tb->vec);
    free(tb->mu);
    free(tb->entries);
    free(tb->start);
    free(tb->slots);
    free(tb->parent);
    free(tb->pick_rows);
    free(tb->pick_start);
    free(tb->pick_tied);
    free(tb->pick_end);
    free(tb->cand_rows);
    free(tb->cand_start);
    free(tb->cand_tied);
    free(tb->cand_end);
    free(tb->pick_work);
    free(tb->pick_flags);
    free(tb->pick_idx);
    free(tb->ipiv);
    free(tb->cuts);
    free(tb->walk);
    otk__flow_buffers_free(&tb->flow);
    free(tb->flow_mem);
    free(tb->flow_col);
    free(tb->flow_row);
    free(tb->near);
    free(tb->red);
    free(tb->red_idx);
    free(tb->cols);
    free(tb->gsave);
    memset(tb, 0, sizeof *tb);
}

/* Column j at z: its plan t, costs c and entries x = alpha + beta_j - c
 * (beta_j the dual's variable, or the semi-dual's from its threshold). */
static void column_direct(const otk__finish_problem *p, const double *z,
                          size_t j, double *t, double *c, double *x)
{
    double beta;
    p->column(p->ctx, z, j, t, c, &beta);
    if (p->dual)
        beta = z[p->n + j];
    for (size_t i = 0; i < p->n; i++)
        x[i] = z[i] + beta - c[i];
}

/* The most plan entries whose columns are kept (3 numbers each). */
#define COLUMN_CACHE_MAX ((size_t)1 << 20)

/*
 * Column j at z (as column_direct). The certificate, the active-set step
 * and the component shift each read every column at the same structure's
 * point, and reading one (its top-k selection or projection, its costs) is
 * most of their work: all columns at z are kept once (tb->cols: the point,
 * then per column t, c, x) and copied from there while z is the same.
 */
static void column_at(const otk__finish_problem *p, otk__ties_buffers *tb,
                      const double *z, size_t j, double *t, double *c,
                      double *x)
{
    const size_t n = p->n, m = p->m, nv = n + (p->dual ? m : 0);
    if (n * m > COLUMN_CACHE_MAX) {
        column_direct(p, z, j, t, c, x);
        return;
    }
    if (!tb->cols_ok || memcmp(tb->cols, z, nv * sizeof *z) != 0) {
        tb->cols_ok = 0;
        if (otk__smooth_grow((void **)&tb->cols, &tb->cols_cap, nv + 3 * n * m,
                             sizeof *tb->cols) != 0) {
            column_direct(p, z, j, t, c, x);
            return;
        }
        memcpy(tb->cols, z, nv * sizeof *z);
        for (size_t q = 0; q < m; q++) {
            double *col = tb->cols + nv + 3 * n * q;
            column_direct(p, z, q, col, col + n, col + 2 * n);
        }
        tb->cols_ok = 1;
    }
    const double *col = tb->cols + nv + 3 * n * j;
    memcpy(t, col, n * sizeof *t);
    memcpy(c, col + n, n * sizeof *c);
    memcpy(x, col + 2 * n, n * sizeof *x);
}

static int desc(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return (x < y) - (x > y);
}

/* The k-th largest of x (len entries), by selection (quickselect, the
 * median of three as pivot) on a copy in tmp: the value a sort gives, in
 * linear time (a sort was most of the certificate's work on small k). */
static double kth_largest(const double *x, size_t len, size_t k, double *tmp)
{
    memcpy(tmp, x, len * sizeof *tmp);
    size_t lo = 0, hi = len - 1;
    const size_t want = (k < len ? k : len) - 1;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        double a = tmp[lo], b = tmp[mid], c = tmp[hi];
        double piv = a > b ? (b > c   ? b
                              : a > c ? c
                                      : a)
                           : (a > c   ? a
                              : b > c ? c
                                      : b);
        size_t i = lo, j = hi;
        while (i <= j) { /* descending: >= piv left, <= piv right */
            while (tmp[i] > piv)
                i++;
            while (tmp[j] < piv)
                j--;
            if (i <= j) {
                double t = tmp[i];
                tmp[i] = tmp[j];
                tmp[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (want <= j && j != SIZE_MAX)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            break;
    }
    return tmp[want];
}

/* Column j's structure at x (see the top) with tie width delta times the
 * level: appends its entries, sets its slots; 0, or -1 if memory is
 * short. */
static int column_structure(const otk__finish_problem *p, otk__ties_buffers *tb,
                            size_t j, const double *xcol, const double *c,
                            const double *t, double delta, double *tmp)
{
    const size_t n = p->n, k = p->k;
    double level = k < n ? kth_largest(xcol, n, k, tmp) : 0.0;
    double width = delta * fabs(level);
    int ties = k < n && level > width && level > 0.0;
    size_t in_s = 0, in_w = 0;
    for (size_t i = 0; i < n; i++) {
        int role = 0;
        if (ties && xcol[i] > level + width)
            role = OTK__TIE_S;
        else if (ties && xcol[i] >= level - width)
            role = OTK__TIE_W;
        else if (!ties && t[i] > 0.0)
            role = OTK__TIE_S;
        if (role == 0)
            continue;
        if (otk__smooth_grow((void **)&tb->entries, &tb->entries_cap,
                             tb->used + 1, sizeof *tb->entries) != 0)
            return -1;
        tb->entries[tb->used++] = (column_entry){(uint32_t)i, role, c[i]};
        in_s += role == OTK__TIE_S;
        in_w += role == OTK__TIE_W;
    }
    tb->slots[j] = 0;
    if (in_w > 0 && in_s < k && in_w > k - in_s) {
        tb->slots[j] = k - in_s;
        return 0;
    }
    /* no real tie: the plan's entries only */
    size_t keep = tb->start[j];
    for (size_t e = tb->start[j]; e < tb->used; e++) {
        column_entry ce = tb->entries[e];
        if (t[ce.i] > 0.0) {
            ce.role = OTK__TIE_S;
            tb->entries[keep++] = ce;
        }
    }
    tb->used = keep;
    return 0;
}

/* The simplex threshold of the values u (count) for the mass z: sum of
 * [u - theta]_+ = z (u sorted into tmp). */
static double threshold(const double *u, size_t count, double z, double *tmp)
{
    memcpy(tmp, u, count * sizeof *tmp);
    qsort(tmp, count, sizeof *tmp, desc);
    double cum = 0.0, theta = tmp[0] - z;
    for (size_t r = 0; r < count; r++) {
        cum += tmp[r];
        double th = (cum - z) / (double)(r + 1);
        if (tmp[r] > th)
            theta = th;
    }
    return theta;
}

/* The semi-dual's column value on the entries u (count) with mass b:
 * max over t in the simplex of mass b on them of <u, t> - (reg/2)|t|^2,
 * and its threshold. */
static double piece_value(const otk__finish_problem *p, const double *u,
                          size_t count, double b, double *theta, double *tmp)
{
    *theta = threshold(u, count, p->reg * b, tmp);
    double val = 0.0;
    for (size_t r = 0; r < count; r++) {
        double t = (u[r] - *theta) / p->reg;
        if (t > 0.0)
            val += u[r] * t - 0.5 * p->reg * t * t;
    }
    return val;
}

/* The certificate of the structure's combination at the point z (see the
 * top). g receives the combination's gradient of the minimized function;
 * the shortfalls are returned. */
static double combination(const otk__finish_problem *p, otk__ties_buffers *tb,
                          const double *z, const double *mu, double *g,
                          double *colbuf, double *ccol, double *tcol,
                          double *tmp)
{
    const size_t n = p->n, m = p->m, k = p->k;
    const double inv = 1.0 / p->reg;
    double eps = 0.0;
    for (size_t i = 0; i < n; i++)
        g[i] = -p->a[i];
    if (p->dual)
        for (size_t j = 0; j < m; j++)
            g[n + j] = -p->b[j];
    for (size_t j = 0; j < m; j++) {
        column_at(p, tb, z, j, tcol, ccol, colbuf);
        const size_t s0 = tb->start[j], s1 = tb->start[j + 1];
        if (tb->slots[j] == 0) { /* the selected plan (no tie) */
            for (size_t i = 0; i < n; i++) {
                g[i] += tcol[i];
                if (p->dual)
                    g[n + j] += tcol[i];
            }
            continue;
        }
        if (p->dual) {
            /* delta_k(x) minus the combination's value */
            double top = 0.0, have = 0.0;
            for (size_t i = 0; i < n; i++)
                tmp[i] = colbuf[i] > 0.0 ? colbuf[i] * colbuf[i] : 0.0;
            qsort(tmp, n, sizeof *tmp, desc);
            for (size_t r = 0; r < k && r < n; r++)
                top += tmp[r];
            for (size_t e = s0; e < s1; e++) {
                const column_entry ce = tb->entries[e];
                double xv = colbuf[ce.i] > 0.0 ? colbuf[ce.i] : 0.0;
                double wgt = ce.role == OTK__TIE_S ? 1.0 : mu[e];
                g[ce.i] += wgt * xv * inv;
                g[n + j] += wgt * xv * inv;
                have += wgt * xv * xv;
            }
            eps += 0.5 * inv * (top - have);
            continue;
        }
        /* the semi-dual: the selections of the combination, from the
         * cumulative mu (systematic sampling: the subset hit by u + q) */
        double best, th;
        {
            size_t cnt = 0;
            double lvl = k < n ? kth_largest(colbuf, n, k, tmp) : -INFINITY;
            for (size_t i = 0; i < n && cnt < k; i++)
                if (colbuf[i] > lvl)
                    ccol[cnt++] = colbuf[i];
            for (size_t i = 0; i < n && cnt < k; i++)
                if (colbuf[i] == lvl)
                    ccol[cnt++] = colbuf[i];
            best = piece_value(p, ccol, cnt, p->b[j], &th, tmp);
        }
        double *cuts = tb->cuts;
        size_t ncut = 0, nw = 0;
        double cum = 0.0;
        cuts[ncut++] = 0.0;
        for (size_t e = s0; e < s1; e++)
            if (tb->entries[e].role == OTK__TIE_W) {
                cum += mu[e];
                double fr = cum - floor(cum);
                cuts[ncut++] = fr;
                nw++;
            }
        cuts[ncut++] = 1.0;
        qsort(cuts, ncut, sizeof *cuts, desc);
        for (size_t q = 0; q + 1 < ncut; q++) {
            const double lam = cuts[q] - cuts[q + 1];
            if (!(lam > 0.0))
                continue;
            const double u = 0.5 * (cuts[q] + cuts[q + 1]);
            /* the selection: S and the tied entries whose interval
             * [cum_before, cum_after) holds u + an integer */
            size_t cnt = 0;
            double c0 = 0.0;
            for (size_t e = s0; e < s1; e++) {
                const column_entry ce = tb->entries[e];
                int in = ce.role == OTK__TIE_S;
                if (ce.role == OTK__TIE_W) {
                    double c1 = c0 + mu[e];
                    in = floor(c1 - u) - floor(c0 - u) > 0.0;
                    c0 = c1;
                }
                tcol[e - s0] = in ? 1.0 : 0.0;
                if (in)
                    ccol[cnt++] = colbuf[ce.i];
            }
            if (cnt == 0)
                continue;
            double val = piece_value(p, ccol, cnt, p->b[j], &th, tmp);
            eps += lam * (best - val);
            for (size_t e = s0; e < s1; e++)
                if (tcol[e - s0] > 0.0) {
                    double t = (colbuf[tb->entries[e].i] - th) * inv;
                    if (t > 0.0)
                        g[tb->entries[e].i] += lam * t;
                }
        }
        (void)nw;
    }
    return eps;
}

/* mu per entry from the solution (w reg / v; 1 on S, and on every entry
 * of a column without ties) into raw; clipped to [0, 1], at most r per
 * column, into mu. Returns the number of weights clipped. */
static size_t structure_mu(const otk__finish_problem *p, otk__ties_buffers *tb,
                           const double *sol, double *raw, double *mu)
{
    const size_t n = p->n, m = p->m;
    size_t next = n + m, clipped = 0;
    for (size_t j = 0; j < m; j++) {
        const size_t s0 = tb->start[j], s1 = tb->start[j + 1];
        const double v = tb->slots[j] > 0 ? sol[next++] : 0.0;
        double sum = 0.0;
        for (size_t e = s0; e < s1; e++) {
            raw[e] = mu[e] = 1.0;
            if (tb->slots[j] == 0 || tb->entries[e].role != OTK__TIE_W)
                continue;
            raw[e] = v > 0.0 ? sol[next] * p->reg / v : 0.0;
            next++;
            mu[e] = raw[e] < 0.0 ? 0.0 : raw[e] > 1.0 ? 1.0 : raw[e];
            clipped += mu[e] != raw[e];
            sum += mu[e];
        }
        if (tb->slots[j] > 0 && sum > (double)tb->slots[j]) {
            clipped++;
            for (size_t e = s0; e < s1; e++)
                if (tb->entries[e].role == OTK__TIE_W)
                    mu[e] *= (double)tb->slots[j] / sum;
        }
    }
    return clipped;
}

/*
 * The combination of the tied selections that best meets the rows' masses
 * at z, by a maximum flow (flow.h): per tied column j the level v_j (its
 * k-th largest entry), the mass r_j v_j / reg that its tied entries carry,
 * each at most its own plan value; per row the mass a_i less what the
 * entries above the ties (and the columns without ties) give it. mu is the
 * flow over each entry's plan value (1 on S). Where the linear solve's
 * weights leave [0, 1] (a degenerate structure: several combinations
 * balance the same potentials) this one still meets the masses when some
 * combination does. Returns 0, or -1 if memory is short.
 */
static int flow_mu(const otk__finish_problem *p, otk__ties_buffers *tb,
                   const double *z, double *mu, double *xcol, double *ccol,
                   double *tcol, double *tmp)
{
    const size_t n = p->n, m = p->m, k = p->k;
    const double inv = 1.0 / p->reg;
    size_t ne = 0;
    for (size_t j = 0; j < m; j++)
        if (tb->slots[j] > 0)
            for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++)
                ne += tb->entries[e].role == OTK__TIE_W;
    if (otk__smooth_grow((void **)&tb->flow_mem, &tb->flow_mem_cap,
                         n + m + 2 * ne + 1, sizeof *tb->flow_mem) != 0 ||
        otk__smooth_grow((void **)&tb->flow_col, &tb->flow_col_cap, ne + 1,
                         sizeof *tb->flow_col) != 0 ||
        otk__smooth_grow((void **)&tb->flow_row, &tb->flow_row_cap, ne + 1,
                         sizeof *tb->flow_row) != 0)
        return -1;
    double *demand = tb->flow_mem, *supply = demand + n, *cap = supply + m;
    double *flow = cap + ne;
    for (size_t i = 0; i < n; i++)
        demand[i] = p->a[i];
    size_t q = 0;
    for (size_t j = 0; j < m; j++) {
        column_at(p, tb, z, j, tcol, ccol, xcol);
        supply[j] = 0.0;
        const size_t s0 = tb->start[j], s1 = tb->start[j + 1];
        if (tb->slots[j] == 0) {
            for (size_t i = 0; i < n; i++)
                demand[i] -= tcol[i];
            continue;
        }
        const double level = kth_largest(xcol, n, k, tmp);
        supply[j] = (double)tb->slots[j] * fmax(level, 0.0) * inv;
        for (size_t e = s0; e < s1; e++) {
            const column_entry ce = tb->entries[e];
            const double t = fmax(xcol[ce.i], 0.0) * inv;
            if (ce.role == OTK__TIE_S) {
                demand[ce.i] -= t;
                continue;
            }
            tb->flow_col[q] = j;
            tb->flow_row[q] = ce.i;
            cap[q++] = t;
        }
    }
    double sent = otk__flow_max(&tb->flow, m, n, supply, demand, ne,
                                tb->flow_col, tb->flow_row, cap, flow);
    if (isnan(sent))
        return -1;
    q = 0;
    for (size_t j = 0; j < m; j++)
        for (size_t e = tb->start[j]; e < tb->start[j + 1]; e++) {
            mu[e] = 1.0;
            if (tb->slots[j] == 0 || tb->entries[e].role != OTK__TIE_W)
                continue;
            const double w = cap[q] > 0.0 ? flow[q] / cap[q] : 0.0;
            mu[e] = w < 0.0 ? 0.0 : w > 1.0 ? 1.0 : w;
            q++;
        }
    return 0;
}

/*
 * The certificate at the structure's point z: the linear solve's
 * combination (*mu), or, when its weights were clipped (clipped > 0: a
 * degenerate structure), the better of it and the flow's (flow_mu, into
 * the buffer after it); *mu then points to the one kept, *eps and *gap
 * receive its shortfalls and certified gap. gz receives the linear one's
 * gradient (shift_component reads it). Returns 0, or -1 if memory is short.
 */
static int certify(const otk__finish_problem *p, otk__ties_buffers *tb,
                   const double *z, double **mu, size_t clipped, double *gz,
                   double *xcol, double *ccol, double *tcol, double *tmp,
                   double *eps, double *gap)
{
    double *alt = *mu + tb->used + 1, eps_f = 0.0, gap_f = INFINITY;
    if (clipped > 0) {
        if (flow_mu(p, tb, z, alt, xcol, ccol, tcol, tmp) != 0)
            return -1;
        eps_f = combination(p, tb, z, alt, gz, xcol, ccol, tcol, tmp);
        gap_f = otk__finish_gap(p, z, gz) + eps_f;
    }
    *eps = combination(p, tb, z, *mu, gz, xcol, ccol, tcol, tmp);
    *gap = otk__finish_gap(p, z, gz) + *eps;
    if (gap_f < *gap) {
        *mu = alt;
        *eps = eps_f;
        *gap = gap_f;
    }
    return 0;
}

/*
 * The structure's next guess at the solution z (an active-set step), into
 * the entries after tb->used (then moved down): per tied column, a tied
 * entry of weight above 1 joins S, one below 0 leaves, an S entry that
 * fell to the level and an outside entry that rose to it join the tie;
 * per column without ties whose selection at z differs (an outside entry
 * above its smallest), those two tie. Returns the number of changes, or
 * -1 if memory is short.
 */
static long refine(const otk__finish_problem *p, otk__ties_buffers *tb,
                   const double *z, const double *raw, double *xcol,
                   double *ccol, double *tcol, unsigned char *mark,
                   double act_rel)
{
    const size_t n = p->n, m = p->m, k = p->k, old_used = tb->used;
    long changes = 0;
    size_t out = old_used, next = n + m;
    for (size_t j = 0; j < m; j++) {
        column_at(p, tb, z, j, tcol, ccol, xcol);
        const size_t s0 = tb->start[j], s1 = tb->start[j + 1];
        memset(mark, 0, n);
        size_t new_start = out, in_s = 0, in_w = 0;
        double level = tb->slots[j] > 0 ? tb->vec[next++] : NAN;
        const double tol = 1e-9 * (fabs(level) + p->reg * p->b[j]);
        if (otk__smooth_grow((void **)&tb->entries, &tb->entries_cap,
                             out + n + 1, sizeof *tb->entries) != 0)
            return -1;
        if (tb->slots[j] > 0) {
            for (size_t e = s0; e < s1; e++) {
                column_entry ce = tb->entries[e];
                int role = ce.role;
                if (role == OTK__TIE_W) {
                    next++;
                    if (raw[e] > 1.0 + 1e-12)
                        role = OTK__TIE_S, changes++;
                    else if (raw[e] < -1e-12)
                        role = 0, changes++;
                } else if (xcol[ce.i] <= level + tol) {
                    role = OTK__TIE_W, changes++;
                }
                mark[ce.i] = 1;
                if (role == 0)
                    continue;
                ce.role = role;
                in_s += role == OTK__TIE_S;
                in_w += role == OTK__TIE_W;
                tb->entries[out++] = ce;
            }
            for (size_t i = 0; i < n; i++)
                if (!mark[i] && xcol[i] >= level - tol) {
                    tb->entries[out++] =
                        (column_entry){(uint32_t)i, OTK__TIE_W, ccol[i]};
                    in_w++;
                    changes++;
                }
        } else {
            size_t low = SIZE_MAX, high = SIZE_MAX;
            /* an entry at its activation level 0 (to act_rel of the
             * column's scale: rounding, as where shift_component stops;
             * the walk's) joins a column with a free slot */
            const double act = act_rel * p->reg * p->b[j];
            for (size_t e = s0; e < s1; e++) {
                size_t i = tb->entries[e].i;
                mark[i] = 1;
                if (low == SIZE_MAX || xcol[i] < xcol[tb->entries[low].i])
                    low = e;
            }
            for (size_t i = 0; i < n; i++)
                if (!mark[i] && xcol[i] > -act &&
                    (high == SIZE_MAX || xcol[i] > xcol[high]))
                    high = i;
            for (size_t e = s0; e < s1; e++)
                tb->entries[out++] = tb->entries[e];
            in_s = s1 - s0;
            if (high != SIZE_MAX && s1 - s0 >= k && xcol[high] > 0.0 &&
                xcol[high] > xcol[tb->entries[low].i]) {
                tb->entries[new_start + (low - s0)].role = OTK__TIE_W;
                tb->entries[out++] =
                    (column_entry){(uint32_t)high, OTK__TIE_W, ccol[high]};
                in_s--;
                in_w = 2;
                changes++;
            } else if (high != SIZE_MAX && s1 - s0 < k) {
                tb->entries[out++] =
                    (column_entry){(uint32_t)high, OTK__TIE_S, ccol[high]};
                in_s++;
                changes++;
            }
        }
        tb->start[j] = new_start;
        tb->slots[j] = in_w > 0 && in_s < k && in_w > k - in_s ? k - in_s : 0;
        if (tb->slots[j] == 0)
            for (size_t e = new_start; e < out; e++)
                tb->entries[e].role = OTK__TIE_S;
    }
    /* move the new structure down */
    const size_t shift = old_used;
    memmove(tb->entries, tb->entries + shift,
            (out - shift) * sizeof *tb->entries);
    for (size_t j = 0; j < m; j++)
        tb->start[j] -= shift;
    tb->used = out - shift;
    tb->start[m] = tb->used;
    return changes;
}

/*
 * When the structure is settled but a component (of the last solve) does
 * not balance its mass (its pinned row's equation unmet), the objective
 * is linear in that component's common shift (alpha + c on its rows, beta
 * - c on its columns) until an entry between it and the rest reaches its
 * column's activation level (the tie level, the smallest selected entry
 * of a full column, or 0). The most unbalanced component is shifted that
 * far, so that the next structure links it. Returns 1 if shifted.
 */
static int shift_component(const otk__finish_problem *p, otk__ties_buffers *tb,
                           double *z, const double *gz, double *xcol,
                           double *ccol, double *tcol, double *imbalance)
{
    const size_t n = p->n, m = p->m, k = p->k;
    const size_t *root = tb->parent;
    for (size_t v = 0; v < n + m; v++)
        imbalance[v] = 0.0;
    for (size_t i = 0; i < n; i++)
        imbalance[root[i]] += gz[i];
    if (p->dual)
        for (size_t j = 0; j < m; j++)
            imbalance[root[n + j]] += gz[n + j];
    size_t worst = SIZE_MAX;
    for (size_t v = 0; v < n + m; v++)
        if (root[v] == v && fabs(imbalance[v]) > 1e-13 &&
            (worst == SIZE_MAX || fabs(imbalance[v]) > fabs(imbalance[worst])))
            worst = v;
    if (worst == SIZE_MAX)
        return 0;
    const double sgn = imbalance[worst] < 0.0 ? 1.0 : -1.0;
    double c = INFINITY;
    for (size_t j = 0; j < m; j++) {
        column_at(p, tb, z, j, tcol, ccol, xcol);
        const size_t s0 = tb->start[j], s1 = tb->start[j + 1];
        double level = s1 - s0 >= k || tb->slots[j] > 0 ? INFINITY : 0.0;
        for (size_t e = s0; e < s1; e++)
            if (level > 0.0 || tb->slots[j] > 0)
                level = fmin(level, xcol[tb->entries[e].i]);
        const int col_in = root[n + j] == worst;
        for (size_t i = 0; i < n; i++) {
            const int row_in = root[i] == worst;
            /* sgn > 0 raises entries of its rows in other columns; sgn < 0
             * raises other rows' entries in its columns */
            if ((sgn > 0.0 && row_in && !col_in) ||
                (sgn < 0.0 && !row_in && col_in)) {
                double need = level - xcol[i];
                if (need > 0.0 && need < c)
                    c = need;
            }
        }
    }
    if (!isfinite(c))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (root[i] == worst)
            z[i] += sgn * c;
    if (p->dual)
        for (size_t j = 0; j < m; j++)
            if (root[n + j] == worst)
                z[n + j] -= sgn * c;
    return 1;
}

/* Keeps the structure's plan support (see ties.h) for the tied columns. */
static int keep_picks(const otk__finish_problem *p, otk__ties_buffers *tb,
                      const double *mu)
{
    const size_t m = p->m;
    if (otk__smooth_grow((void **)&tb->pick_start, &tb->pick_start_cap, m + 1,
                         sizeof *tb->pick_start) != 0 ||
        otk__smooth_grow((void **)&tb->pick_tied, &tb->pick_tied_cap, m,
                         sizeof *tb->pick_tied) != 0 ||
        otk__smooth_grow((void **)&tb->pick_end, &tb->pick_end_cap, m,
                         sizeof *tb->pick_end) != 0 ||
        otk__smooth_grow((void **)&tb->pick_rows, &tb->pick_rows_cap,
                         tb->used + 1, sizeof *tb->pick_rows) != 0)
        return -1;
    size_t out = 0;
    for (size_t j = 0; j < m; j++) {
        tb->pick_start[j] = tb->pick_tied[j] = tb->pick_end[j] = out;
        const size_t s0 = tb->start[j], s1 = tb->start[j + 1];
        if (tb->slots[j] == 0)
            continue;
        for (size_t e = s0; e < s1; e++)
            if (tb->entries[e].role == OTK__TIE_S)
                tb->pick_rows[out++] = tb->entries[e].i;
        /* the r largest mu, one at a time (entries come in row order) */
        const size_t first = out;
        tb->pick_tied[j] = first;
        for (size_t r = 0; r < tb->slots[j]; r++) {
            size_t best = SIZE_MAX;
            for (size_t e = s0; e < s1; e++) {
                if (tb->entries[e].role != OTK__TIE_W)
                    continue;
                int taken = 0;
                for (size_t q = first; q < out; q++)
                    taken |= tb->pick_rows[q] == tb->entries[e].i;
                if (!taken && (best == SIZE_MAX || mu[e] > mu[best]))
                    best = e;
            }
            if (best != SIZE_MAX)
                tb->pick_rows[out++] = tb->entries[best].i;
        }
        tb->pick_end[j] = out;
        /* the tied entries left out, in row order */
        for (size_t e = s0; e < s1; e++) {
            if (tb->entries[e].role != OTK__TIE_W)
                continue;
            int taken = 0;
            for (size_t q = first; q < tb->pick_end[j]; q++)
                taken |= tb->pick_rows[q] == tb->entries[e].i;
            if (!taken)
                tb->pick_rows[out++] = tb->entries[e].i;
        }
    }
    tb->pick_start[m] = out;
    tb->has_pick = 1;
    return 0;
}

/* Active-set steps of the tie structure per width, and the steps in a
 * row that gain nothing before a width is given up. */
#define MAX_REFINE 200
#define MAX_STUCK 3
/* Structures in a row that do not shrink the gap before the plain active
 * set gives way to the walk (see plain_active_set). */
#define PLAIN_IDLE 20
/* Evaluations of the exact line search along one step. */
#define SEGMENT_EVALS 40

static double dotv(const double *u, const double *v, size_t len)
{
    double s = 0.0;
    for (size_t q = 0; q < len; q++)
        s += u[q] * v[q];
    return s;
}

/* The point xc + t dir into xt, its value and gradient (gt). */
static double segment_at(const otk__finish_problem *p, size_t nv,
                         const double *xc, const double *dir, double t,
                         double *xt, double *gt)
{
    for (size_t q = 0; q < nv; q++)
        xt[q] = xc[q] + t * dir[q];
    return p->value(p->ctx, xt, gt);
}

/*
 * The globalization of the active set: the minimized function f is convex
 * and piecewise quadratic, so along the segment xc + t dir, t in [0, 1],
 * its derivative <g, dir> is nondecreasing and piecewise linear, and its
 * minimum is where that derivative changes sign. Regula falsi (Illinois) on
 * the derivative finds it; the step kept is the last point whose
 * derivative is still negative (f then strictly below f(xc)), or t = 1
 * when the derivative there is <= 0. Returns t (0: dir does not descend),
 * with the point in xl, gl, *fl.
 */
static double segment_min(const otk__finish_problem *p, size_t nv,
                          const double *xc, const double *gc, const double *dir,
                          double *xt, double *gt, double *xl, double *gl,
                          double *fl)
{
    const double s0 = dotv(gc, dir, nv);
    if (!(s0 < 0.0))
        return 0.0;
    double ft = segment_at(p, nv, xc, dir, 1.0, xt, gt);
    if (!isfinite(ft))
        return 0.0;
    double shi = dotv(gt, dir, nv);
    if (shi <= 0.0) {
        memcpy(xl, xt, nv * sizeof *xl);
        memcpy(gl, gt, nv * sizeof *gl);
        *fl = ft;
        return 1.0;
    }
    double lo = 0.0, hi = 1.0, slo = s0, tl = 0.0;
    int side = 0;
    for (int it = 0; it < SEGMENT_EVALS && hi - lo > 1e-15; it++) {
        double t = lo + (hi - lo) * slo / (slo - shi);
        if (!(t > lo && t < hi))
            t = 0.5 * (lo + hi);
        ft = segment_at(p, nv, xc, dir, t, xt, gt);
        if (!isfinite(ft))
            break;
        const double st = dotv(gt, dir, nv);
        if (st < 0.0) {
            lo = t;
            slo = st;
            tl = t;
            memcpy(xl, xt, nv * sizeof *xl);
            memcpy(gl, gt, nv * sizeof *gl);
            *fl = ft;
            if (side < 0)
                shi *= 0.5;
            side = -1;
            if (-st <= 1e-12 * -s0)
                break;
        } else if (st > 0.0) {
            hi = t;
            shi = st;
            if (side > 0)
                slo *= 0.5;
            side = 1;
        } else {
            memcpy(xl, xt, nv * sizeof *xl);
            memcpy(gl, gt, nv * sizeof *gl);
            *fl = ft;
            return t;
        }
    }
    return tl;
}

/* The structure of every column at z, tie width delta times the level. */
static int read_structure(const otk__finish_problem *p, otk__ties_buffers *tb,
                          const double *z, double delta, double *xcol,
                          double *ccol, double *tcol, double *tmp)
{
    tb->used = 0;
    for (size_t j = 0; j < p->m; j++) {
        tb->start[j] = tb->used;
        column_at(p, tb, z, j, tcol, ccol, xcol);
        if (column_structure(p, tb, j, xcol, ccol, tcol, delta, tmp) != 0)
            return -1;
    }
    tb->start[p->m] = tb->used;
    return 0;
}

/* One structure's point and its bound (see structure_point). */
typedef struct structure_out {
    double fz, gap, eps; /* f at z, its certified gap, the shortfalls */
    double *raw, *mu;    /* the weights (structure_mu), the kept ones */
} structure_out;

/*
 * Solves the structure (the potentials' shift kept from pin) into z with
 * its value, its gradient gz (the linear combination's, see certify) and
 * its certificate (with the flow's combination when use_flow: the walk's;
 * the plain active set certifies where it can without it, and cheaper), and
 * keeps the bound: every solved structure bounds the optimum (f* >= fz - gap),
 * the best point (smallest f, into x, g, *f, its picks) is kept, and its gap
 * (*gap) is its distance to the best bound
 * (*lower). Returns 1 when done, 0 when the structure's system is singular
 * or its point not finite, 2 when the budget is spent, -1 if memory is
 * short.
 */
static int structure_point(const otk__finish_problem *p, otk__ties_buffers *tb,
                           const double *pin, int use_flow, double *z,
                           double *gz, double *x, double *g, double *f,
                           double *gap, double *lower, double *work,
                           structure_out *o)
{
    const size_t n = p->n, nv = n + (p->dual ? p->m : 0);
    double *xcol = work, *ccol = work + n, *tcol = work + 2 * n;
    double *tmp = work + 3 * n;
    size_t N = 0;
    if (tb->work > tb->work_cap)
        return 2;
    if (otk__tie_system_solve(p, tb, pin, &N) != 0)
        return 0;
    tb->solves++;
    if (otk__smooth_grow((void **)&tb->mu, &tb->mu_cap, 3 * (tb->used + 1),
                         sizeof *tb->mu) != 0)
        return -1;
    o->raw = tb->mu;
    o->mu = tb->mu + tb->used + 1;
    memcpy(z, tb->vec, nv * sizeof *z);
    const size_t clipped =
        structure_mu(p, tb, tb->vec, o->raw, o->mu) * (size_t)use_flow;
    /* the true gradient at z kept for x (certify writes gz) */
    if (otk__smooth_grow((void **)&tb->gsave, &tb->gsave_cap, nv + 1,
                         sizeof *tb->gsave) != 0)
        return -1;
    o->fz = p->value(p->ctx, z, tb->gsave);
    if (!isfinite(o->fz))
        return 0;
    if (certify(p, tb, z, &o->mu, clipped, gz, xcol, ccol, tcol, tmp, &o->eps,
                &o->gap) != 0)
        return -1;
    *lower = fmax(*lower, o->fz - o->gap);
    if (o->fz <= *f) {
        memcpy(x, z, nv * sizeof *x);
        memcpy(g, tb->gsave, nv * sizeof *g);
        *f = o->fz;
        if (keep_picks(p, tb, o->mu) != 0)
            return -1;
    }
    *gap = fmin(*gap, *f - *lower);
    return 1;
}

/*
 * The active set without the walk (the previous session's loop): each
 * structure's point is taken as it is, whether f descends or not. It
 * cycles on some problems, but on costs with few distinct values it
 * certifies degenerate optima that the walk's descent rule stops short
 * of; it runs first, and gives way to the walk after PLAIN_IDLE
 * structures that do not shrink the gap.
 */
static int plain_active_set(const otk__finish_problem *p, otk__ties_buffers *tb,
                            double *x, double *g, double *f, double *gap,
                            double target, double *work)
{
    const size_t n = p->n, m = p->m;
    static const double deltas[] = {1e-10, 1e-6, 1e-3, 0.1};
    double *xcol = work, *ccol = work + n, *tcol = work + 2 * n;
    double *tmp = work + 3 * n, *z = work + 4 * n, *gz = z + n + m;
    int improved = 0;
    double lower = *f - *gap; /* the best lower bound on f* */
    if (otk__smooth_grow((void **)&tb->start, &tb->start_cap, m + 1,
                         sizeof *tb->start) != 0 ||
        otk__smooth_grow((void **)&tb->slots, &tb->slots_cap, m,
                         sizeof *tb->slots) != 0 ||
        otk__smooth_grow((void **)&tb->parent, &tb->parent_cap, 2 * (n + m),
                         sizeof *tb->parent) != 0 ||
        otk__smooth_grow((void **)&tb->cuts, &tb->cuts_cap, n + 2,
                         sizeof *tb->cuts) != 0)
        return -1;
    for (size_t d = 0;
         d < sizeof deltas / sizeof deltas[0] && !(*gap <= target); d++) {
        if (read_structure(p, tb, x, deltas[d], xcol, ccol, tcol, tmp) != 0)
            return -1;
        const double *start = x;
        double gap_before[2] = {NAN, NAN};
        int idle = 0;
        for (int it = 0; it < MAX_REFINE && idle < PLAIN_IDLE; it++) {
            const double was = *gap;
            structure_out o;
            const int r = structure_point(p, tb, start, 0, z, gz, x, g, f, gap,
                                          &lower, work, &o);
            if (r < 0)
                return -1;
            if (r == 2)
                return improved;
            if (r == 0)
                break;
            double *raw = o.raw;
            improved |= *gap < was;
            idle = *gap < was ? 0 : idle + 1;
            /* an active set that alternates between structures (the same
             * gap every other step) has nothing more to find */
            if (it >= 2 && o.gap == gap_before[1])
                break;
            gap_before[1] = gap_before[0];
            gap_before[0] = o.gap;
            if (*gap <= target)
                return improved;
            /* the refined structure needs the solution (tb->vec) and raw:
             * keep them until it is built */
            long changes = refine(p, tb, z, raw, xcol, ccol, tcol,
                                  (unsigned char *)tmp, 0.0);
            if (changes < 0)
                return -1;
            if (changes == 0) {
                /* the structure kept; tb->parent still holds its roots */
                if (!shift_component(p, tb, z, gz, xcol, ccol, tcol,
                                     gz + n + m))
                    break;
                changes = refine(p, tb, z, raw, xcol, ccol, tcol,
                                 (unsigned char *)tmp, 0.0);
                if (changes < 0)
                    return -1;
            }
            start = z;
        }
    }
    return improved;
}

/*
 * When the step toward the structure's point does not descend: the flow
 * among the tied entries at xc (flow_mu) may leave rows short of their
 * mass. Then the rows that can still reach the sink, with (dual) their
 * columns, form a cut (flow.h): raising those rows' alpha (and lowering
 * those columns' beta) moves no entry between them, and every entry that
 * rises is full and every entry that falls carries nothing, so f falls at
 * the rate of the shortfall until an entry reaches a level. The exact line
 * search along that shift (at most `scale`, the problem's scale) finds
 * how far. Returns 1 if xc moved (gc, *fc updated), 0 if not, -1 if memory
 * is short.
 */
static int cut_step(const otk__finish_problem *p, otk__ties_buffers *tb,
                    double *xc, double *gc, double *fc, double *dir, double *xt,
                    double *gt, double *xl, double *gl, double scale,
                    double *xcol, double *ccol, double *tcol, double *tmp)
{
    const size_t n = p->n, m = p->m, nv = n + (p->dual ? m : 0);
    if (otk__smooth_grow((void **)&tb->near, &tb->near_cap, n + m,
                         sizeof *tb->near) != 0)
        return -1;
    double *scratch = tb->mu + 2 * (tb->used + 1);
    if (flow_mu(p, tb, xc, scratch, xcol, ccol, tcol, tmp) != 0)
        return -1;
    otk__flow_sink_side(&tb->flow, m, n, tb->near);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        dir[i] = tb->near[m + i] ? scale : 0.0;
        any |= tb->near[m + i];
    }
    for (size_t j = 0; p->dual && j < m; j++)
        dir[n + j] = tb->near[j] ? -scale : 0.0;
    if (!any)
        return 0;
    double fl = *fc;
    const double t = segment_min(p, nv, xc, gc, dir, xt, gt, xl, gl, &fl);
    if (!(t > 0.0 && fl < *fc))
        return 0;
    memcpy(xc, xl, nv * sizeof *xc);
    memcpy(gc, gl, nv * sizeof *gc);
    *fc = fl;
    return 1;
}

int otk__ties_finish(const otk__finish_problem *p, otk__ties_buffers *tb,
                     double *x, double *g, double *f, double *gap,
                     double target, double *work)
{
    const size_t n = p->n, m = p->m, nv = n + (p->dual ? m : 0);
    static const double deltas[] = {1e-10, 1e-6, 1e-3, 0.1};
    double *xcol = work, *ccol = work + n, *tcol = work + 2 * n;
    double *tmp = work + 3 * n, *z = work + 4 * n, *gz = z + n + m;
    if (otk__smooth_grow((void **)&tb->start, &tb->start_cap, m + 1,
                         sizeof *tb->start) != 0 ||
        otk__smooth_grow((void **)&tb->slots, &tb->slots_cap, m,
                         sizeof *tb->slots) != 0 ||
        otk__smooth_grow((void **)&tb->parent, &tb->parent_cap, 2 * (n + m),
                         sizeof *tb->parent) != 0 ||
        otk__smooth_grow((void **)&tb->cuts, &tb->cuts_cap, n + 2,
                         sizeof *tb->cuts) != 0 ||
        otk__smooth_grow((void **)&tb->walk, &tb->walk_cap, 7 * nv,
                         sizeof *tb->walk) != 0)
        return -1;
    int improved = 0;
    tb->cols_ok = 0; /* the buffers outlive a problem */
    /* the walk: its point xc (value fc, gradient gc) only descends */
    double *xc = tb->walk, *gc = xc + nv, *dir = gc + nv, *xt = dir + nv;
    double *gt = xt + nv, *xl = gt + nv, *gl = xl + nv;
    double fc = *f;
    double bmax = 0.0;
    for (size_t j = 0; j < m; j++)
        bmax = fmax(bmax, p->b[j]);
    const double scale = (p->cmax - p->cmin) + p->reg * bmax;
    memcpy(xc, x, nv * sizeof *xc);
    memcpy(gc, g, nv * sizeof *gc);
    /* first the plain active set (cheap where it certifies: the finish
     * calls this again from each better point); the walk only when it
     * gains nothing, from the same point, keeping the best point in x */
    improved = plain_active_set(p, tb, x, g, f, gap, target, work);
    if (improved != 0 || *gap <= target)
        return improved;
    double lower = *f - *gap; /* the best lower bound on f* */
    for (size_t d = 0;
         d < sizeof deltas / sizeof deltas[0] && !(*gap <= target); d++) {
        if (read_structure(p, tb, xc, deltas[d], xcol, ccol, tcol, tmp) != 0)
            return -1;
        int stuck = 0;
        const double *pin = xc; /* the point whose alpha the solve keeps */
        for (int it = 0; it < MAX_REFINE && stuck < MAX_STUCK; it++) {
            const double was = *gap;
            structure_out o;
            const int r = structure_point(p, tb, pin, 1, z, gz, x, g, f, gap,
                                          &lower, work, &o);
            if (r < 0)
                return -1;
            if (r == 2)
                return improved;
            if (r == 0)
                break;
            double *raw = o.raw;
            improved |= *gap < was;
            if (*gap <= target)
                return improved;
            /* the step from xc to the structure's point, as far as f
             * descends along it */
            for (size_t q = 0; q < nv; q++)
                dir[q] = z[q] - xc[q];
            double fl = fc;
            const double t =
                segment_min(p, nv, xc, gc, dir, xt, gt, xl, gl, &fl);
            const int moved = t > 0.0 && fl < fc;
            if (moved) {
                memcpy(xc, xl, nv * sizeof *xc);
                memcpy(gc, gl, nv * sizeof *gc);
                fc = fl;
                stuck = 0;
                if (fc < *f) { /* a better point, not a structure's */
                    memcpy(x, xc, nv * sizeof *x);
                    memcpy(g, gc, nv * sizeof *g);
                    *f = fc;
                    tb->has_pick = 0;
                    *gap = fmin(*gap, *f - lower);
                    improved |= *gap < was;
                }
            } else {
                stuck++;
            }
            if (!moved) {
                const int cut = cut_step(p, tb, xc, gc, &fc, dir, xt, gt, xl,
                                         gl, scale, xcol, ccol, tcol, tmp);
                if (cut < 0)
                    return -1;
                if (cut > 0) {
                    stuck = 0;
                    if (fc < *f) {
                        memcpy(x, xc, nv * sizeof *x);
                        memcpy(g, gc, nv * sizeof *g);
                        *f = fc;
                        tb->has_pick = 0;
                        *gap = fmin(*gap, *f - lower);
                        improved |= *gap < was;
                    }
                    if (read_structure(p, tb, xc, deltas[d], xcol, ccol, tcol,
                                       tmp) != 0)
                        return -1;
                    pin = xc;
                    continue;
                }
            }
            pin = xc;
            if (moved && t < 1.0) {
                /* stopped short of z, at a kink: the structure there */
                if (read_structure(p, tb, xc, deltas[d], xcol, ccol, tcol,
                                   tmp) != 0)
                    return -1;
                continue;
            }
            /* at z (or no step): the active-set step from z's solution
             * (tb->vec and raw are kept until it is built) */
            long changes = refine(p, tb, z, raw, xcol, ccol, tcol,
                                  (unsigned char *)tmp, 1e-12);
            if (changes < 0)
                return -1;
            if (changes == 0) {
                /* the structure kept; tb->parent still holds its roots */
                if (!shift_component(p, tb, z, gz, xcol, ccol, tcol,
                                     gz + n + m))
                    break;
                /* f falls linearly along the shift: z moved is the walk's
                 * next point when it is lower */
                double fs = p->value(p->ctx, z, gt);
                if (fs < fc) {
                    memcpy(xc, z, nv * sizeof *xc);
                    memcpy(gc, gt, nv * sizeof *gc);
                    fc = fs;
                    stuck = 0;
                } else {
                    pin = z;
                }
                changes = refine(p, tb, z, raw, xcol, ccol, tcol,
                                 (unsigned char *)tmp, 1e-12);
                if (changes < 0)
                    return -1;
            }
        }
    }
    return improved;
}
