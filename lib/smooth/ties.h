/*
 * Private: the finish at a kink of the smooth engine's objective (ties in
 * the top-k selection of an optimal column), see ties.c.
 */
#ifndef OTK_SMOOTH_TIES_H
#define OTK_SMOOTH_TIES_H

#include <stddef.h>
#include <stdint.h>

struct otk__finish_problem;
struct column_entry;

/* Buffers kept across solves. */
typedef struct otk__ties_buffers {
    double *mat, *vec, *mu;
    size_t mat_cap, vec_cap, mu_cap;
    struct column_entry *entries;
    size_t entries_cap, used;
    size_t *start, *slots, *parent;
    size_t start_cap, slots_cap, parent_cap;
    /* The plan's support chosen at the best point (see otk__ties_finish):
     * column j's rows are pick_rows[pick_start[j] .. pick_start[j + 1]],
     * an empty range meaning the usual top-k selection; has_pick is 0
     * when no tie solve was kept. */
    uint32_t *pick_rows;
    size_t *pick_start;
    size_t pick_rows_cap, pick_start_cap;
    int has_pick;
    int *ipiv; /* the LU's pivots */
    /* the eliminations' multiply-adds and their number since the engine
     * last reset them, and the most multiply-adds allowed (one solve's
     * budget, see ties.c) */
    double work, work_cap;
    size_t solves;
    double *cuts; /* n + 2: a column's cumulative weights (combination) */
    size_t ipiv_cap, cuts_cap;
} otk__ties_buffers;

void otk__ties_buffers_free(otk__ties_buffers *tb);

/*
 * From x with gradient g and value *f of the minimized function and
 * certified gap *gap, until *gap <= target: identifies the tie structure at a
 * few widths, solves each exactly, and keeps the point of smallest certified
 * gap (x, g, *f, *gap updated) and, for its tied columns, the plan's support:
 * the entries above the tie and the r_j tied ones of largest weight mu (ties to
 * the lower row), the k-sparse plan nearest the combination the certificate
 * uses. work: 7 n + 3 m numbers. Returns 1 if x changed, 0 if not, -1 if memory
 * is short.
 */
int otk__ties_finish(const struct otk__finish_problem *p, otk__ties_buffers *tb,
                     double *x, double *g, double *f, double *gap,
                     double target, double *work);

#endif
