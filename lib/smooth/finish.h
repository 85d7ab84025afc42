/*
 * Private: the finishing step and the certificate of the smooth engine.
 *
 * The dual and the semi-dual are concave and piecewise quadratic. L-BFGS
 * identifies the pieces near the maximum but stalls at their kinks; the
 * finishing step is a semismooth Newton method: on the piece at the
 * current point (the supports of the plan's columns) the objective is a
 * quadratic whose Hessian is known in closed form, and its maximizer
 * solves a linear system (conjugate gradients on the supports, never an
 * n x m matrix); a backtracking line search on the true objective keeps
 * every step ascending, and the supports are read again at the new point,
 * until the certificate below is small enough or no step ascends.
 *
 * The certificate. For a concave D and any supergradient g at x,
 * D(x*) <= D(x) + <g, x* - x>. The plan's marginal violation is a
 * supergradient, and the optimality conditions bound an optimal point
 * (see otk__finish_gap), so sum_v |g_v| r_v, with r_v the distance from
 * x_v to the interval known to hold x*_v, bounds D* - D(x).
 */
#ifndef OTK_SMOOTH_FINISH_H
#define OTK_SMOOTH_FINISH_H

#include <stddef.h>
#include <stdint.h>

#include "smooth/ties.h"

/* The problem as the finishing step sees it (the engine's units: weights
 * of mass 1, reg times the mass, costs less the engine's shift). */
typedef struct otk__finish_problem {
    size_t n, m;
    int dual;            /* variables alpha, beta (else alpha) */
    size_t k;            /* nonzeros per column (n: no constraint) */
    double reg;          /* the engine's reg */
    const double *a, *b; /* weights, each of mass 1 */
    double cmin, cmax;   /* the range of the costs */
    void *ctx;
    /* the minimized function (the negated dual or semi-dual) and its
     * gradient at x */
    double (*value)(void *ctx, const double *x, double *g);
    /* plan column j at x into t, its costs into c (n entries each) and
     * its beta_j (the semi-dual's: from the projection's threshold) */
    void (*column)(void *ctx, const double *x, size_t j, double *t, double *c,
                   double *beta);
} otk__finish_problem;

/* Buffers kept across solves (in the engine's workspace). */
typedef struct otk__finish_buffers {
    double *mem;
    size_t mem_cap;
    uint32_t *rows; /* the supports' rows, column by column */
    size_t rows_cap;
    size_t *start; /* m + 1: column j's rows are rows[start[j] ..] */
    size_t start_cap;
    otk__ties_buffers ties;
} otk__finish_buffers;

void otk__finish_buffers_free(otk__finish_buffers *fb);

/* Grows *p to at least need elements of size bytes, keeping its contents
 * (a buffer kept across solves); 0, or -1 when memory is short. */
int otk__smooth_grow(void **p, size_t *cap, size_t need, size_t size);

/* What the finishing step did. */
typedef struct otk__finish_result {
    size_t newton;      /* Newton steps taken */
    size_t evaluations; /* objective evaluations */
    double gap;         /* the certified bound on D* - D(x) */
    double value;       /* the minimized function at x */
    int no_memory;
} otk__finish_result;

/*
 * From x (n, or n + m for the dual; updated in place), Newton steps until
 * the certified gap is <= target or max_steps are done or no step
 * ascends. g receives the gradient at the final x.
 */
otk__finish_result otk__smooth_finish(const otk__finish_problem *p,
                                      otk__finish_buffers *fb, double *x,
                                      double *g, double target,
                                      size_t max_steps);

/* The certified bound on D* - D(x) from the gradient g (of the minimized
 * function) at x. */
double otk__finish_gap(const otk__finish_problem *p, const double *x,
                       const double *g);

#endif
