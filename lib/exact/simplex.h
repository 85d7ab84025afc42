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

typedef struct ns_state ns_state;

/* Set up for n x m with weights a (n) and b (m) of equal mass (the caller
 * rescales). NULL when memory is short. */
ns_state *otk__ns_create(const otk_cost *cost, const double *a,
                         const double *b);
void otk__ns_free(ns_state *s);

/* Pivot until optimal, max_iter pivots, or a cancelling callback. Returns
 * OTK_OPTIMAL, OTK_MAX_ITER or OTK_CANCELLED; *pivots is set. */
otk_status otk__ns_solve(ns_state *s, const otk_exact_settings *settings,
                         size_t *pivots);

/* Results: the tree's real arcs with positive flow (at most n + m - 1),
 * in increasing (i, j) order; returns their number. */
size_t otk__ns_plan(const ns_state *s, otk_plan_entry *plan);
/* Dual potentials f_i = -pi_i, g_j = pi_{n+j}, unshifted. */
void otk__ns_potentials(const ns_state *s, double *f, double *g);
/* Total flow left on artificial arcs (0 up to rounding when feasible). */
double otk__ns_artificial_flow(const ns_state *s);

#endif
