/*
 * A maximum flow from the columns to the rows of a bipartite graph (see
 * flow.h): Edmonds-Karp, shortest augmenting paths found by breadth-first
 * search in the residual graph. The graphs are the tied entries of a tie
 * structure (a few thousand edges), and every augmentation saturates an
 * edge, so the count stays near the number of edges.
 */
#include "smooth/flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smooth/finish.h"

void otk__flow_buffers_free(otk__flow_buffers *fl)
{
    free(fl->res);
    free(fl->head);
    free(fl->next);
    free(fl->to);
    free(fl->queue);
    free(fl->via);
    memset(fl, 0, sizeof *fl);
}

/* Arc q of the residual graph: its head to[q], capacity res[q]; q ^ 1 is
 * its reverse. */
static void add_arc(otk__flow_buffers *fl, size_t *arcs, size_t u, size_t v,
                    double cap)
{
    size_t q = (*arcs)++;
    fl->to[q] = v;
    fl->res[q] = cap;
    fl->next[q] = fl->head[u];
    fl->head[u] = q;
    q = (*arcs)++;
    fl->to[q] = u;
    fl->res[q] = 0.0;
    fl->next[q] = fl->head[v];
    fl->head[v] = q;
}

double otk__flow_max(otk__flow_buffers *fl, size_t m, size_t n,
                     const double *supply, const double *demand, size_t ne,
                     const size_t *ecol, const uint32_t *erow,
                     const double *cap, double *flow)
{
    const size_t nodes = m + n + 2, src = 0, sink = m + n + 1;
    const size_t arcs_need = 2 * (ne + m + n);
    if (otk__smooth_grow((void **)&fl->res, &fl->res_cap, arcs_need,
                         sizeof *fl->res) != 0 ||
        otk__smooth_grow((void **)&fl->next, &fl->next_cap, arcs_need,
                         sizeof *fl->next) != 0 ||
        otk__smooth_grow((void **)&fl->to, &fl->to_cap, arcs_need,
                         sizeof *fl->to) != 0 ||
        otk__smooth_grow((void **)&fl->head, &fl->head_cap, nodes,
                         sizeof *fl->head) != 0 ||
        otk__smooth_grow((void **)&fl->queue, &fl->queue_cap, nodes,
                         sizeof *fl->queue) != 0 ||
        otk__smooth_grow((void **)&fl->via, &fl->via_cap, nodes,
                         sizeof *fl->via) != 0)
        return NAN;
    for (size_t v = 0; v < nodes; v++)
        fl->head[v] = SIZE_MAX;
    size_t arcs = 0;
    double total = 0.0;
    for (size_t e = 0; e < ne; e++) /* arcs 2e: the entries */
        add_arc(fl, &arcs, 1 + ecol[e], 1 + m + erow[e],
                cap[e] > 0.0 ? cap[e] : 0.0);
    for (size_t j = 0; j < m; j++) {
        add_arc(fl, &arcs, src, 1 + j, supply[j] > 0.0 ? supply[j] : 0.0);
        total += supply[j] > 0.0 ? supply[j] : 0.0;
    }
    for (size_t i = 0; i < n; i++)
        add_arc(fl, &arcs, 1 + m + i, sink, demand[i] > 0.0 ? demand[i] : 0.0);
    /* residuals below this are rounding */
    const double tiny = 1e-15 * (total > 0.0 ? total : 1.0);
    fl->nodes = nodes;
    fl->tiny = tiny;
    double sent = 0.0;
    for (;;) {
        for (size_t v = 0; v < nodes; v++)
            fl->via[v] = SIZE_MAX;
        size_t qh = 0, qt = 0;
        fl->queue[qt++] = src;
        fl->via[src] = arcs; /* marks the source */
        while (qh < qt && fl->via[sink] == SIZE_MAX) {
            const size_t u = fl->queue[qh++];
            for (size_t q = fl->head[u]; q != SIZE_MAX; q = fl->next[q])
                if (fl->res[q] > tiny && fl->via[fl->to[q]] == SIZE_MAX) {
                    fl->via[fl->to[q]] = q;
                    fl->queue[qt++] = fl->to[q];
                }
        }
        if (fl->via[sink] == SIZE_MAX)
            break;
        double push = INFINITY;
        for (size_t v = sink; v != src; v = fl->to[fl->via[v] ^ 1])
            push = fmin(push, fl->res[fl->via[v]]);
        for (size_t v = sink; v != src; v = fl->to[fl->via[v] ^ 1]) {
            fl->res[fl->via[v]] -= push;
            fl->res[fl->via[v] ^ 1] += push;
        }
        sent += push;
    }
    for (size_t e = 0; e < ne; e++) /* the reverse arc holds the flow */
        flow[e] = fl->res[2 * e + 1];
    return sent;
}

void otk__flow_sink_side(otk__flow_buffers *fl, size_t m, size_t n,
                         unsigned char *near)
{
    const size_t sink = m + n + 1;
    /* via: 1 when the node reaches the sink; search backwards from it */
    for (size_t v = 0; v < fl->nodes; v++)
        fl->via[v] = 0;
    size_t qh = 0, qt = 0;
    fl->queue[qt++] = sink;
    fl->via[sink] = 1;
    while (qh < qt) {
        const size_t v = fl->queue[qh++];
        for (size_t q = fl->head[v]; q != SIZE_MAX; q = fl->next[q]) {
            const size_t u = fl->to[q]; /* the arc q ^ 1 goes u -> v */
            if (fl->via[u] == 0 && fl->res[q ^ 1] > fl->tiny) {
                fl->via[u] = 1;
                fl->queue[qt++] = u;
            }
        }
    }
    for (size_t v = 0; v < m + n; v++)
        near[v] = fl->via[1 + v] != 0;
}
