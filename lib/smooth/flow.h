/*
 * Private: a maximum flow on a bipartite graph, for the tie solve's
 * certificate (ties.c): at fixed potentials, the tied entries' plan that
 * best meets the rows' masses is a flow from the columns (the mass their
 * tied entries carry) to the rows (the mass they still lack), each tied
 * entry carrying at most its own plan value.
 */
#ifndef OTK_SMOOTH_FLOW_H
#define OTK_SMOOTH_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* Buffers kept across solves. */
typedef struct otk__flow_buffers {
    double *res;
    size_t *head, *next, *to, *queue, *via;
    size_t res_cap, head_cap, next_cap, to_cap, queue_cap, via_cap;
    size_t nodes; /* of the last flow: m + n + 2 */
    double tiny;  /* its residuals below this are rounding */
} otk__flow_buffers;

void otk__flow_buffers_free(otk__flow_buffers *fl);

/*
 * The maximum flow from m columns (column j supplies at most supply[j]) to
 * n rows (row i takes at most demand[i]) through ne edges (edge e from
 * column ecol[e] to row erow[e], at most cap[e]); flow[e] receives each
 * edge's flow. Negative capacities count as 0. Returns the flow's value,
 * or NaN if memory is short.
 */
double otk__flow_max(otk__flow_buffers *fl, size_t m, size_t n,
                     const double *supply, const double *demand, size_t ne,
                     const size_t *ecol, const uint32_t *erow,
                     const double *cap, double *flow);

/*
 * After otk__flow_max: marks the columns (near[j]) and rows (near[m + i])
 * that can still reach the sink in the residual graph: the rows short of
 * their demand and those that could pass mass on to them. A cut: no
 * marked column sends flow to an unmarked row, and every edge from an
 * unmarked column to a marked row is full. near: m + n entries.
 */
void otk__flow_sink_side(otk__flow_buffers *fl, size_t m, size_t n,
                         unsigned char *near);

#endif
