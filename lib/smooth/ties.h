/*
 * Private: the finish at a kink of the smooth engine's objective (ties in
 * the top-k selection of an optimal column), see ties.c.
 */
#ifndef OTK_SMOOTH_TIES_H
#define OTK_SMOOTH_TIES_H

#include <stddef.h>
#include <stdint.h>

#include "smooth/flow.h"

struct otk__finish_problem;

/* Entry roles in a column's tie structure (see ties.c): above the tie
 * level (S), or tied (W). */
enum { OTK__TIE_S = 1, OTK__TIE_W = 2 };

/* One entry of a column's structure: its row, role and cost. */
typedef struct column_entry {
    uint32_t i;
    int role;
    double c;
} column_entry;

/* Buffers kept across solves. */
typedef struct otk__ties_buffers {
    double *mat, *vec, *mu;
    size_t mat_cap, vec_cap, mu_cap;
    struct column_entry *entries;
    size_t entries_cap, used;
    size_t *start, *slots, *parent;
    size_t start_cap, slots_cap, parent_cap;
    /* The plan's support chosen at the best point (see otk__ties_finish):
     * column j's candidates are pick_rows[pick_start[j] ..
     * pick_start[j + 1]]: the entries above the tie up to pick_tied[j],
     * the tied ones kept up to pick_end[j], then the tied ones left out.
     * The plan's support is pick_start[j] .. pick_end[j]; an empty range
     * means the usual top-k selection. has_pick is 0 when no tie solve
     * was kept. */
    uint32_t *pick_rows;
    size_t *pick_start, *pick_tied, *pick_end;
    size_t pick_rows_cap, pick_start_cap, pick_tied_cap, pick_end_cap;
    int has_pick;
    /* the other picks (pick.h's otk__pick_swap exchanges them): the
     * search's lists built from all ties at the final potentials */
    uint32_t *cand_rows;
    size_t *cand_start, *cand_tied, *cand_end;
    size_t cand_rows_cap, cand_start_cap, cand_tied_cap, cand_end_cap;
    /* scratch of the search among the ties (pick.c) */
    double *pick_work;
    unsigned char *pick_flags;
    size_t *pick_idx;
    size_t pick_work_cap, pick_flags_cap, pick_idx_cap;
    int *ipiv; /* the LU's pivots */
    /* the eliminations' multiply-adds and their number since the engine
     * last reset them, and the most multiply-adds allowed (one solve's
     * budget, see ties.c) */
    double work, work_cap;
    size_t solves;
    double *cuts; /* n + 2: a column's cumulative weights (combination) */
    size_t ipiv_cap, cuts_cap;
    /* the globalized loop's current point, step, trial point and
     * gradients (4 (n + m), see otk__ties_finish) */
    double *walk;
    size_t walk_cap;
    /* the certificate's flow among the tied entries (flow.h): its graph
     * and scratch */
    otk__flow_buffers flow;
    double *flow_mem;
    size_t *flow_col;
    uint32_t *flow_row;
    size_t flow_mem_cap, flow_col_cap, flow_row_cap;
    unsigned char *near; /* m + n: the cut's side (otk__flow_sink_side) */
    size_t near_cap;
    /* the reduced solve's scratch (tie_system.c) */
    double *red;
    size_t *red_idx;
    size_t red_cap, red_idx_cap;
    /* every column at one point (ties.c's column_at): the point, then per
     * column its plan, costs and entries; cols_ok when it is filled */
    double *cols;
    size_t cols_cap;
    int cols_ok;
    double *gsave; /* nv: the gradient at a structure's point */
    size_t gsave_cap;
} otk__ties_buffers;

void otk__ties_buffers_free(otk__ties_buffers *tb);

/*
 * The linear system of the structure in tb (entries, start, slots; see
 * ties.c) with the potentials' shift of each component kept from x:
 * tb->vec receives alpha (n), beta (m), then per tied column its level v_j
 * and its tied entries' plan values w (in entry order), *nz their number;
 * tb->parent[0 .. n + m) the roots of the structure's components (rows,
 * then columns). 0, or -1 when the system is singular (or too large, or
 * memory is short).
 *
 * otk__tie_system_solve eliminates the ties onto the potentials (see
 * tie_system.c): a dense system of at most n + m unknowns, the tied plan
 * values then read off the tie forest. otk__tie_system_dense solves the
 * whole system by one dense LU (the reference the tests compare with).
 */
int otk__tie_system_solve(const struct otk__finish_problem *p,
                          otk__ties_buffers *tb, const double *x, size_t *nz);
int otk__tie_system_dense(const struct otk__finish_problem *p,
                          otk__ties_buffers *tb, const double *x, size_t *nz);

/*
 * From x with gradient g and value *f of the minimized function and
 * certified gap *gap, until *gap <= target: identifies the tie structure at a
 * few widths and solves each exactly, first as a plain active set (each
 * structure's point taken as it is), then, if that does not certify, as a
 * walk from the same x that only descends (an exact line search toward each
 * structure's point, the structure read again at the kink where it stops,
 * and a cut of the flow below when no step descends). The walk certifies
 * a structure's point with the better of two combinations of the tied
 * selections: the linear solve's weights, and, when those were clipped, a
 * maximum flow among the tied entries (flow.h); the plain loop with the
 * first only. Keeps the point of smallest f and its gap against
 * the best bound of all (x, g, *f, *gap updated) and, for its tied columns
 * when it is a structure's point, the plan's support: the entries above the
 * tie and the r_j tied ones of largest weight mu (ties to the lower row), the
 * k-sparse plan nearest the combination the certificate uses, and the other
 * tied ones (the choices pick.c searches). work: 7 n + 3 m numbers. Returns
 * 1 if x changed, 0 if not, -1 if memory is short.
 */
int otk__ties_finish(const struct otk__finish_problem *p, otk__ties_buffers *tb,
                     double *x, double *g, double *f, double *gap,
                     double target, double *work);

#endif
