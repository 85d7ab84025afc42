/*
 * The finishing step and the certificate of the smooth engine (see
 * finish.h). Notation as in engine.c: alpha (n), beta (m, the dual only),
 * reg the engine's reg; f is the minimized function (the negated dual or
 * semi-dual) and g its gradient, the plan's marginal violation.
 */
#include "smooth/finish.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Conjugate-gradient iterations per Newton step, and their relative
 * residual. */
#define CG_MAX_ITER 2000
#define CG_TOL 1e-14
/* Halvings of a Newton step before it is given up: at a kink Newton's
 * steps were measured to succeed only after 20-35 halvings (steps of
 * 1e-6..1e-10, 30+ evaluations each, most of the finish's cost); the tie
 * solve does better there. */
#define MAX_HALVINGS 12
/* Newton steps in a row that do not halve the certified gap before the
 * step gives up: at a kink of the objective (ties in the top-k selection
 * of an optimal column) the gap of the selected plan does not vanish, and
 * the tie solve takes over after MAX_IDLE_TIES; without a top-k selection
 * (k = n) no tie solve follows, and rows of tiny weight were measured to
 * need more steps to enter a support. */
#define MAX_IDLE_STEPS 30
#define MAX_IDLE_TIES 5
/* Rounds of the tie solve (ties.c). */
#define MAX_TIE_ROUNDS 8
/* An objective change larger than this times |f| is far above rounding
 * (as in engine.c). */
#define RESOLVED_CHANGE 1e-9

void otk__finish_buffers_free(otk__finish_buffers *fb)
{
    free(fb->mem);
    free(fb->rows);
    free(fb->start);
    otk__ties_buffers_free(&fb->ties);
    memset(fb, 0, sizeof *fb);
}

/* The working arrays of a Newton step, nv = n (+ m) each. */
typedef struct newton {
    const otk__finish_problem *p;
    otk__finish_buffers *fb;
    size_t nv;
    double *diag, *shift;      /* the Hessian's diagonal, its regularization */
    double *d, *r, *z, *q, *s; /* CG: step, residual, preconditioned, A s */
    double *xt, *gt, *col;     /* trial point and gradient; a plan column */
    double *ccol;              /* a cost column */
    double *lift; /* per variable: how far it must rise to enter a support */
    size_t evaluations;
} newton;

/* The supports of the plan's columns at x (entries > 0). */
static int read_supports(newton *w, const double *x)
{
    const otk__finish_problem *p = w->p;
    otk__finish_buffers *fb = w->fb;
    size_t used = 0;
    fb->start[0] = 0;
    for (size_t q = 0; q < w->nv; q++)
        w->lift[q] = INFINITY;
    for (size_t j = 0; j < p->m; j++) {
        double beta;
        p->column(p->ctx, x, j, w->col, w->ccol, &beta);
        for (size_t i = 0; i < p->n; i++) {
            /* x_ij = alpha_i + beta_j - c_ij below 0: the rise to enter */
            double rise = w->ccol[i] - beta - x[i];
            w->lift[i] = rise < w->lift[i] ? rise : w->lift[i];
            if (p->dual && rise < w->lift[p->n + j])
                w->lift[p->n + j] = rise;
        }
        for (size_t i = 0; i < p->n; i++) {
            if (!(w->col[i] > 0.0))
                continue;
            if (otk__smooth_grow((void **)&fb->rows, &fb->rows_cap, used + 1,
                                 sizeof *fb->rows) != 0)
                return -1;
            fb->rows[used++] = (uint32_t)i;
        }
        fb->start[j + 1] = used;
    }
    return 0;
}

/* out = (H + diag(shift)) v, H the minimized function's Hessian on the
 * current piece: semi-dual, per column, (I - 1 1^T / |U|) / reg on its
 * support U (the Jacobian of the simplex projection); dual, per column,
 * (e_i + e_beta)(e_i + e_beta)^T / reg for i in U. */
static void hess_apply(const newton *w, const double *v, double *out)
{
    const otk__finish_problem *p = w->p;
    const otk__finish_buffers *fb = w->fb;
    const size_t n = p->n;
    const double inv = 1.0 / p->reg;
    for (size_t q = 0; q < w->nv; q++)
        out[q] = w->shift[q] * v[q];
    for (size_t j = 0; j < p->m; j++) {
        const size_t s0 = fb->start[j], s1 = fb->start[j + 1];
        if (s1 == s0)
            continue;
        double sum = 0.0;
        for (size_t r = s0; r < s1; r++)
            sum += v[fb->rows[r]];
        if (p->dual) {
            const double vb = v[n + j];
            for (size_t r = s0; r < s1; r++)
                out[fb->rows[r]] += (v[fb->rows[r]] + vb) * inv;
            out[n + j] += (sum + (double)(s1 - s0) * vb) * inv;
        } else {
            const double mean = sum / (double)(s1 - s0);
            for (size_t r = s0; r < s1; r++)
                out[fb->rows[r]] += (v[fb->rows[r]] - mean) * inv;
        }
    }
}

/* The Hessian's diagonal and its regularization: a relative 1e-10 of the
 * largest diagonal entry everywhere (the Hessian is singular along the
 * potentials' common shift), and the curvature of one entry (1 / reg)
 * where the piece has none (a row in no support, or the semi-dual's
 * one-entry supports), so that such a variable takes a gradient step of
 * the size of one plan entry. */
static void hess_diag(newton *w, double gnorm)
{
    const otk__finish_problem *p = w->p;
    const otk__finish_buffers *fb = w->fb;
    const size_t n = p->n;
    const double inv = 1.0 / p->reg;
    memset(w->diag, 0, w->nv * sizeof *w->diag);
    for (size_t j = 0; j < p->m; j++) {
        const size_t s0 = fb->start[j], s1 = fb->start[j + 1];
        const double u = (double)(s1 - s0);
        for (size_t r = s0; r < s1; r++)
            w->diag[fb->rows[r]] += p->dual ? inv : (1.0 - 1.0 / u) * inv;
        if (p->dual)
            w->diag[n + j] = u * inv;
    }
    double big = 0.0;
    for (size_t q = 0; q < w->nv; q++)
        big = w->diag[q] > big ? w->diag[q] : big;
    for (size_t q = 0; q < w->nv; q++) {
        w->shift[q] = (1e-10 + gnorm) * big + (w->diag[q] > 0.0 ? 0.0 : inv);
        w->diag[q] += w->shift[q];
    }
}

static double dot(const double *u, const double *v, size_t len)
{
    double s = 0.0;
    for (size_t q = 0; q < len; q++)
        s += u[q] * v[q];
    return s;
}

/* d = -(H + shift)^-1 g by preconditioned conjugate gradients (Jacobi). */
static void newton_direction(newton *w, const double *g)
{
    const size_t nv = w->nv;
    memset(w->d, 0, nv * sizeof *w->d);
    for (size_t q = 0; q < nv; q++) {
        w->r[q] = -g[q];
        w->z[q] = w->r[q] / w->diag[q];
    }
    memcpy(w->s, w->z, nv * sizeof *w->s);
    const double stop = CG_TOL * CG_TOL * dot(w->r, w->r, nv);
    double rz = dot(w->r, w->z, nv);
    for (int it = 0; it < CG_MAX_ITER && dot(w->r, w->r, nv) > stop; it++) {
        hess_apply(w, w->s, w->q);
        double sq = dot(w->s, w->q, nv);
        if (!(sq > 0.0))
            break;
        double step = rz / sq;
        for (size_t q = 0; q < nv; q++) {
            w->d[q] += step * w->s[q];
            w->r[q] -= step * w->q[q];
            w->z[q] = w->r[q] / w->diag[q];
        }
        double rz_new = dot(w->r, w->z, nv);
        for (size_t q = 0; q < nv; q++)
            w->s[q] = w->z[q] + (rz_new / rz) * w->s[q];
        rz = rz_new;
    }
}

/* A variable of positive weight in no support (a row, or the dual's
 * column, that carries no mass) has no curvature: the objective grows
 * linearly in it until it enters a support. Newton's step would move it by
 * the size of its weight; it is moved to where it enters instead, plus
 * what one entry of its weight needs (reg times the weight). */
static void lift_idle(newton *w)
{
    const otk__finish_problem *p = w->p;
    const otk__finish_buffers *fb = w->fb;
    memset(w->col, 0, p->n * sizeof *w->col); /* 1: the row is in a support */
    for (size_t r = 0; r < fb->start[p->m]; r++)
        w->col[fb->rows[r]] = 1.0;
    for (size_t i = 0; i < p->n; i++)
        if (w->col[i] == 0.0 && p->a[i] > 0.0 && isfinite(w->lift[i]))
            w->d[i] = w->lift[i] + p->reg * p->a[i];
    if (!p->dual)
        return;
    for (size_t j = 0; j < p->m; j++)
        if (fb->start[j + 1] == fb->start[j] && p->b[j] > 0.0 &&
            isfinite(w->lift[p->n + j]))
            w->d[p->n + j] = w->lift[p->n + j] + p->reg * p->b[j];
}

/* The change of f from (x, f, g) to (xt, ft, gt): the true change when
 * well above rounding, else the trapezoid of the gradients, exact on a
 * quadratic piece (see evaluate in engine.c). */
static double change(const newton *w, const double *x, double f,
                     const double *g, double ft)
{
    double ch = ft - f;
    if (fabs(ch) > RESOLVED_CHANGE * fabs(ft))
        return ch;
    ch = 0.0;
    for (size_t q = 0; q < w->nv; q++)
        ch += 0.5 * (g[q] + w->gt[q]) * (w->xt[q] - x[q]);
    return ch;
}

/* A backtracking line search along d from x (Armijo); on success x, *f, g
 * become the accepted point's and 1 is returned. */
static int line_search(newton *w, double *x, double *f, double *g)
{
    const otk__finish_problem *p = w->p;
    const double slope = dot(g, w->d, w->nv);
    if (!(slope < 0.0))
        return 0;
    double step = 1.0;
    for (int h = 0; h < MAX_HALVINGS; h++, step *= 0.5) {
        for (size_t q = 0; q < w->nv; q++)
            w->xt[q] = x[q] + step * w->d[q];
        double ft = p->value(p->ctx, w->xt, w->gt);
        w->evaluations++;
        if (!isfinite(ft))
            continue;
        if (change(w, x, *f, g, ft) <= 1e-4 * step * slope) {
            memcpy(x, w->xt, w->nv * sizeof *x);
            memcpy(g, w->gt, w->nv * sizeof *g);
            *f = ft;
            return 1;
        }
    }
    return 0;
}

/* Lays out the working arrays in fb->mem. */
static int newton_bind(newton *w, const otk__finish_problem *p,
                       otk__finish_buffers *fb)
{
    w->p = p;
    w->fb = fb;
    w->nv = p->n + (p->dual ? p->m : 0);
    w->evaluations = 0;
    if (otk__smooth_grow((void **)&fb->mem, &fb->mem_cap,
                         10 * w->nv + 9 * p->n + 3 * p->m,
                         sizeof *fb->mem) != 0 ||
        otk__smooth_grow((void **)&fb->start, &fb->start_cap, p->m + 1,
                         sizeof *fb->start) != 0)
        return -1;
    double *next = fb->mem;
    double **arrays[] = {&w->diag, &w->shift, &w->d,  &w->r,  &w->z,
                         &w->q,    &w->s,     &w->xt, &w->gt, &w->lift};
    for (size_t q = 0; q < sizeof arrays / sizeof arrays[0]; q++) {
        *arrays[q] = next;
        next += w->nv;
    }
    w->col = next;
    w->ccol = next + p->n;
    return 0;
}

otk__finish_result otk__smooth_finish(const otk__finish_problem *p,
                                      otk__finish_buffers *fb, double *x,
                                      double *g, double target,
                                      size_t max_steps)
{
    otk__finish_result res = {0};
    newton w;
    fb->ties.has_pick = 0;
    double f = p->value(p->ctx, x, g);
    res.evaluations = 1;
    if (newton_bind(&w, p, fb) != 0) {
        res.no_memory = 1;
        res.gap = otk__finish_gap(p, x, g);
        res.value = f;
        return res;
    }
    res.gap = otk__finish_gap(p, x, g);
    double best = res.gap;
    size_t idle = 0;
    const size_t max_idle = p->k < p->n ? MAX_IDLE_TIES : MAX_IDLE_STEPS;
    while (!(res.gap <= target) && res.newton < max_steps && idle < max_idle) {
        if (read_supports(&w, x) != 0) {
            res.no_memory = 1;
            break;
        }
        double gnorm = 0.0;
        for (size_t q = 0; q < w.nv; q++)
            gnorm += fabs(g[q]);
        hess_diag(&w, gnorm);
        newton_direction(&w, g);
        lift_idle(&w);
        if (!line_search(&w, x, &f, g))
            break;
        res.newton++;
        res.gap = otk__finish_gap(p, x, g);
        idle = res.gap < 0.5 * best ? 0 : idle + 1;
        best = res.gap < best ? res.gap : best;
    }
    /* at a kink: the tie structure solved exactly, again from each better
     * point */
    for (int round = 0; round < MAX_TIE_ROUNDS && !(res.gap <= target) &&
                        p->k < p->n && !res.no_memory;
         round++) {
        int moved = otk__ties_finish(p, &fb->ties, x, g, &f, &res.gap, target,
                                     w.ccol + p->n);
        res.no_memory = moved < 0;
        if (moved <= 0)
            break;
    }
    res.evaluations += w.evaluations;
    res.value = f;
    return res;
}
