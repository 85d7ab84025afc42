/*
 * Private: the plan among ties (see pick.c). At the tie solve's optimal
 * potentials a tied column may keep any r_j of its tied entries; this
 * chooses them for the smallest L1 marginal error.
 */
#ifndef OTK_SMOOTH_PICK_H
#define OTK_SMOOTH_PICK_H

#include <stddef.h>
#include <stdint.h>

struct otk__ties_buffers;

/* x_ij (alpha_i + beta_j - c_ij; the semi-dual's alpha_i - c_ij) of
 * column j's count rows into x. */
typedef void otk__pick_entries_fn(void *ctx, size_t j, const uint32_t *rows,
                                  size_t count, double *x);

typedef struct otk__pick_problem {
    size_t n, m;
    const double *a, *b; /* the weights (unit mass) */
    int dual;
    double reg;
    otk__pick_entries_fn *entries;
    void *ctx;
} otk__pick_problem;

/*
 * The plan of one column on a chosen support from its entries x (count of
 * them) into t (may alias x): [x]_+ / reg (dual), or the projection of
 * x / (reg bj) onto the simplex times bj (semi-dual). idx: count entries of
 * scratch. Returns the semi-dual's threshold theta (beta_j = -reg bj
 * theta), 0 for the dual.
 */
double otk__pick_values(int dual, double reg, double bj, const double *x,
                        size_t count, double *t, size_t *idx);

/*
 * Chooses, in every tied column of tb's picks (ties.h), which r_j of the
 * tied entries the plan keeps, for the smallest L1 marginal error: all
 * choices when there are at most PICK_EXACT of them (pick.c), else 1-swap
 * moves (one kept tied entry for one left out) from the tie solve's choice
 * while they gain. rows: the current plan's row sums (n), updated. Returns
 * 0, or -1 when memory is short (the picks then unchanged).
 */
/* Exchanges tb's picks and its other picks (ties.h). */
void otk__pick_swap(struct otk__ties_buffers *tb);

int otk__pick_search(const otk__pick_problem *p, struct otk__ties_buffers *tb,
                     double *rows);

#endif
