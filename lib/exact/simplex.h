/*
 * Private: the network simplex on the bipartite transport graph.
 *
 * Nodes 0..n-1 are the sources (supply a_i), n..n+m-1 the targets (demand
 * b_j), and node n+m an artificial root. Arc k < n*m is the real arc
 * (k / m) -> n + (k % m) with cost C[k]; arc n*m + u joins node u and the
 * root (u -> root for a source, root -> u for a target) and carries the
 * initial flow. The basis is a spanning tree rooted at the root, stored per
 * node: parent, the arc to the parent and its direction and flow, the
 * preorder thread and its inverse, subtree sizes and last successors. The
 * flow of a non-tree arc is always 0 (real arcs have no upper bound), so
 * no per-arc array exists: memory is O(n + m).
 */
#ifndef OTK_EXACT_SIMPLEX_H
#define OTK_EXACT_SIMPLEX_H

#include <stddef.h>

#include <otkit/exact.h>

#include "core/core.h"

typedef struct ns_state ns_state;

/* The tree arrays for n x m (n m and n + m checked by the caller). NULL
 * when memory is short. */
ns_state *otk__ns_create(size_t n, size_t m);
void otk__ns_free(ns_state *s);

/*
 * The cost of the next solve: cost, its prepared targets yt and a row
 * buffer crow of m doubles (both unused for a dense cost), and
 * scale = max |C|. Kept only until otk__ns_release.
 */
typedef struct ns_cost {
    const otk_cost *cost;
    const double *yt;
    double *crow;
    double scale;
} ns_cost;

/* Cold start: the artificial basis for weights a (n) and b (m) of equal
 * mass (the caller rescales). */
void otk__ns_cold_start(ns_state *s, const ns_cost *c, const double *a,
                        const double *b);
/* Warm start: the current tree and flows (feasible for the same weights)
 * with potentials recomputed for the new cost. */
void otk__ns_warm_start(ns_state *s, const ns_cost *c);
/* Forgets the cost (the workspace keeps no caller pointer). */
void otk__ns_release(ns_state *s);

/* Pivot until optimal, max_iter pivots, or a cancelling callback (given
 * the call, for elapsed times). Returns OTK_OPTIMAL, OTK_MAX_ITER,
 * OTK_CANCELLED or OTK_ERR_NUMERICAL (no leaving arc); *pivots is set. */
otk_status otk__ns_solve(ns_state *s, const otk_exact_settings *settings,
                         const otk__call *call, size_t *pivots);

/* Results: the tree's real arcs with positive flow (at most n + m - 1),
 * in increasing (i, j) order; returns their number. */
size_t otk__ns_plan(const ns_state *s, otk_plan_entry *plan);
/* Dual potentials f_i = -pi_i, g_j = pi_{n+j}, unshifted. */
void otk__ns_potentials(const ns_state *s, double *f, double *g);
/* Total flow left on artificial arcs (0 up to rounding when feasible). */
double otk__ns_artificial_flow(const ns_state *s);

#endif
