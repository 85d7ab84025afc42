/*
 * Primal network simplex for the transport problem (see simplex.h for the
 * graph). The method and its data structures follow the classic
 * description of the spanning-tree simplex (Ahuja, Magnanti, Orlin,
 * "Network Flows", ch. 11; Kovacs 2015 for the block-search pricing and
 * the thread-list tree update that LEMON and POT use):
 *
 *   - pricing scans the arcs in blocks of about sqrt(n m), cyclically, and
 *     takes the most negative reduced cost of the first block that has one;
 *   - the entering arc closes a cycle with the tree paths from its ends to
 *     their common ancestor ("join"); the leaving arc is the blocking arc
 *     met last when walking the cycle in its direction from the join, which
 *     keeps the tree strongly feasible and rules out cycling;
 *   - the tree is re-hung along the "stem" between the entering and the
 *     leaving arcs, and the potentials of the moved subtree shift by one
 *     constant.
 *
 * The start is the artificial basis: every source sends its supply to the
 * root and the root feeds every target, on arcs of cost ART larger than any
 * path of real arcs, so artificial flow is always priced out first.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exact/pricing.h"
#include "exact/simplex.h"
#include "linalg/linalg.h"

#define DIR_UP 1    /* the node's tree arc points to its parent */
#define DIR_DOWN -1 /* the node's tree arc comes from its parent */
#define NO_ARC SIZE_MAX

struct ns_state {
    const otk_cost *cost;
    size_t n, m, nodes, root, narcs;
    double art_cost;  /* cost of the artificial arcs */
    double eps;       /* reduced costs above -eps count as nonnegative */
    double eps_clean; /* the same once ART is gone */
    double mass;
    size_t block, next_arc;
    /* the tree, per node */
    ptrdiff_t *parent, *thread, *rev_thread, *last_succ, *succ_num, *dirty;
    size_t *pred;     /* arc to the parent */
    signed char *dir; /* DIR_UP or DIR_DOWN */
    double *pi;       /* node potentials */
    double *flow;     /* flow on the arc to the parent */
    /* point clouds: the pricing reads costs a row at a time */
    const double *yt; /* prepared targets (the caller's scratch) */
    double *crow;     /* one cost row (m), the caller's scratch */
    /* the current pivot */
    size_t in_arc;
    ptrdiff_t join, u_in, v_in, u_out;
    double delta;
};

static inline double real_cost(const ns_state *s, size_t i, size_t j)
{
    return s->cost->C != NULL ? s->cost->C[i * s->m + j]
                              : otk__cost_entry(s->cost, i, j);
}

static inline ptrdiff_t arc_source(const ns_state *s, size_t k)
{
    if (k < s->narcs)
        return (ptrdiff_t)(k / s->m);
    size_t u = k - s->narcs;
    return u < s->n ? (ptrdiff_t)u : (ptrdiff_t)s->root;
}

static inline ptrdiff_t arc_target(const ns_state *s, size_t k)
{
    if (k < s->narcs)
        return (ptrdiff_t)(s->n + k % s->m);
    size_t u = k - s->narcs;
    return u < s->n ? (ptrdiff_t)s->root : (ptrdiff_t)u;
}

static inline double arc_cost(const ns_state *s, size_t k)
{
    return k < s->narcs ? real_cost(s, k / s->m, k % s->m) : s->art_cost;
}

void otk__ns_free(ns_state *s)
{
    if (s == NULL)
        return;
    free(s->parent);
    free(s->pred);
    free(s->dir);
    free(s->pi);
    free(s->flow);
    free(s);
}

ns_state *otk__ns_create(size_t n, size_t m)
{
    ns_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    const size_t nodes = n + m + 1;
    s->n = n;
    s->m = m;
    s->nodes = nodes;
    s->root = n + m;
    s->narcs = n * m;
    s->parent = malloc(6 * nodes * sizeof *s->parent);
    s->pred = malloc(nodes * sizeof *s->pred);
    s->dir = malloc(nodes * sizeof *s->dir);
    s->pi = malloc(nodes * sizeof *s->pi);
    s->flow = malloc(nodes * sizeof *s->flow);
    if (!s->parent || !s->pred || !s->dir || !s->pi || !s->flow) {
        otk__ns_free(s);
        return NULL;
    }
    s->thread = s->parent + nodes;
    s->rev_thread = s->thread + nodes;
    s->last_succ = s->rev_thread + nodes;
    s->succ_num = s->last_succ + nodes;
    s->dirty = s->succ_num + nodes;
    double root_block = ceil(sqrt((double)s->narcs));
    s->block = root_block < 10.0 ? 10 : (size_t)root_block;
    if (s->block > s->narcs)
        s->block = s->narcs;
    return s;
}

/* ART for a cost scale: it must exceed the cost of any path of real arcs
 * (at most n + m of them), so that a cycle through the root never pays
 * off. Potentials reach ART in magnitude, so reduced costs carry rounding
 * of a few ulp of ART; once ART is gone the tolerance drops to the cost
 * scale. */
static void set_cost(ns_state *s, const ns_cost *c, int with_art)
{
    s->cost = c->cost;
    s->yt = c->yt;
    s->crow = c->crow;
    s->art_cost = !with_art        ? 0.0
                  : c->scale > 0.0 ? 2.0 * c->scale * (double)s->nodes
                                   : 1.0;
    s->eps_clean =
        16.0 * DBL_EPSILON * fmax(c->scale, DBL_MIN) * sqrt((double)s->nodes);
    s->eps = with_art ? 16.0 * DBL_EPSILON * s->art_cost : s->eps_clean;
    s->next_arc = 0;
}

void otk__ns_cold_start(ns_state *s, const ns_cost *c, const double *a,
                        const double *b)
{
    set_cost(s, c, 1);
    const size_t n = s->n, m = s->m, root = s->root;
    s->mass = 0.0;
    s->parent[root] = -1;
    s->pred[root] = NO_ARC;
    s->dir[root] = 0;
    s->pi[root] = 0.0;
    s->flow[root] = 0.0;
    s->thread[root] = 0;
    s->rev_thread[0] = (ptrdiff_t)root;
    s->succ_num[root] = (ptrdiff_t)s->nodes;
    s->last_succ[root] = (ptrdiff_t)root - 1;
    for (size_t u = 0; u < root; u++) {
        s->parent[u] = (ptrdiff_t)root;
        s->pred[u] = s->narcs + u;
        s->thread[u] = (ptrdiff_t)u + 1;
        s->rev_thread[u + 1] = (ptrdiff_t)u;
        s->succ_num[u] = 1;
        s->last_succ[u] = (ptrdiff_t)u;
        if (u < n) { /* source: u -> root carries a_u */
            s->dir[u] = DIR_UP;
            s->pi[u] = -s->art_cost;
            s->flow[u] = a != NULL ? a[u] : 1.0 / (double)n;
            s->mass += s->flow[u];
        } else { /* target: root -> u carries b_u */
            s->dir[u] = DIR_DOWN;
            s->pi[u] = s->art_cost;
            s->flow[u] = b != NULL ? b[u - n] : 1.0 / (double)m;
        }
    }
}

void otk__ns_release(ns_state *s)
{
    s->cost = NULL;
    s->yt = NULL;
    s->crow = NULL;
}

/* Block search: scan from next_arc; at the end of each block, stop if an
 * arc with reduced cost below -eps was seen and take the most negative
 * (the first one in scan order among equals). With full = 1 the whole arc
 * set is scanned. Returns 0 when none. The scan goes by segments, the
 * pieces of a block within one cost row, each priced by one vector
 * min-reduction (otk__ns_row_min), which picks the same arc as the
 * arc-by-arc scan. */
static int find_entering(ns_state *s, int full)
{
    const size_t m = s->m, narcs = s->narcs;
    const double *pi_t = s->pi + s->n;
    double best = -s->eps;
    size_t best_arc = NO_ARC, k = s->next_arc, left = s->block;
    /* point clouds: the row in s->crow, computed once per visit */
    size_t row = SIZE_MAX;
    const double *crow = NULL;
    for (size_t scanned = 0; scanned < narcs;) {
        const size_t i = k / m, j = k % m;
        size_t len = m - j;
        len = len < left ? len : left;
        len = len < narcs - scanned ? len : narcs - scanned;
        if (i != row) {
            crow = otk__cost_row(s->cost, s->yt, i, s->crow);
            row = i;
        }
        size_t at;
        double rc = otk__ns_row_min(crow + j, s->pi[i], pi_t + j, len, &at);
        if (rc < best) {
            best = rc;
            best_arc = k + at;
        }
        scanned += len;
        left -= len;
        k += len;
        if (k == narcs)
            k = 0;
        if (left == 0) {
            if (best_arc != NO_ARC && !full)
                break;
            left = s->block;
        }
    }
    s->next_arc = k;
    s->in_arc = best_arc;
    return best_arc != NO_ARC;
}

static void find_join(ns_state *s)
{
    ptrdiff_t u = arc_source(s, s->in_arc), v = arc_target(s, s->in_arc);
    while (u != v) {
        if (s->succ_num[u] < s->succ_num[v])
            u = s->parent[u];
        else
            v = s->parent[v];
    }
    s->join = u;
}

/* The entering arc rises from flow 0: flow goes source -> target, up the
 * target's path to the join and down to the source. The blocking arcs are
 * those that path runs against; the last one met from the join wins (the
 * strongly-feasible-tree rule). Returns 0 if nothing blocks (impossible
 * for a transport problem; reported as a numerical failure). */
static int find_leaving(ns_state *s)
{
    const ptrdiff_t first = arc_source(s, s->in_arc);
    const ptrdiff_t second = arc_target(s, s->in_arc);
    double delta = INFINITY;
    int side = 0;
    for (ptrdiff_t u = first; u != s->join; u = s->parent[u])
        if (s->dir[u] == DIR_UP) { /* flow runs parent -> u against it */
            double d = fmax(s->flow[u], 0.0);
            if (d < delta) {
                delta = d;
                s->u_out = u;
                side = 1;
            }
        }
    for (ptrdiff_t u = second; u != s->join; u = s->parent[u])
        if (s->dir[u] == DIR_DOWN) { /* flow runs u -> parent against it */
            double d = fmax(s->flow[u], 0.0);
            if (d <= delta) {
                delta = d;
                s->u_out = u;
                side = 2;
            }
        }
    if (side == 0)
        return 0;
    s->delta = delta;
    s->u_in = side == 1 ? first : second;
    s->v_in = side == 1 ? second : first;
    return 1;
}

static void change_flow(ns_state *s)
{
    const double delta = s->delta;
    if (delta <= 0.0)
        return;
    for (ptrdiff_t u = arc_source(s, s->in_arc); u != s->join; u = s->parent[u])
        s->flow[u] -= s->dir[u] * delta;
    for (ptrdiff_t u = arc_target(s, s->in_arc); u != s->join; u = s->parent[u])
        s->flow[u] += s->dir[u] * delta;
}

/* Re-hang the tree: u_in's subtree (which contains u_out's former subtree
 * path) moves under v_in through the entering arc, reversing the stem from
 * u_in up to u_out; then thread lists, subtree sizes and last successors
 * are patched along the two paths to the join. */
static void update_tree(ns_state *s)
{
    ptrdiff_t *parent = s->parent, *thread = s->thread;
    ptrdiff_t *rev = s->rev_thread, *last = s->last_succ, *num = s->succ_num;
    const ptrdiff_t u_in = s->u_in, v_in = s->v_in, u_out = s->u_out;
    const ptrdiff_t join = s->join;
    const ptrdiff_t old_rev = rev[u_out];
    const ptrdiff_t old_num = num[u_out];
    const ptrdiff_t old_last = last[u_out];
    const ptrdiff_t v_out = parent[u_out];
    const signed char in_dir =
        u_in == arc_source(s, s->in_arc) ? DIR_UP : DIR_DOWN;

    if (u_in == u_out) {
        /* Only u_in's own arc changes: move its subtree next to v_in in
         * the thread unless it already follows v_in. */
        parent[u_in] = v_in;
        s->pred[u_in] = s->in_arc;
        s->dir[u_in] = in_dir;
        s->flow[u_in] = s->delta;
        if (thread[v_in] != u_out) {
            ptrdiff_t after = thread[old_last];
            thread[old_rev] = after;
            rev[after] = old_rev;
            after = thread[v_in];
            thread[v_in] = u_out;
            rev[u_out] = v_in;
            thread[old_last] = after;
            rev[after] = old_last;
        }
    } else {
        /* Where the thread resumes after the moved nodes. */
        ptrdiff_t resume = old_rev == v_in ? thread[old_last] : thread[v_in];
        /* Walk the stem from u_in to u_out: each stem node's subtree is cut
         * out of the thread and spliced after the previous one, and its
         * parent becomes the previous stem node. */
        ptrdiff_t stem = u_in, par_stem = v_in, next_stem;
        ptrdiff_t tail = last[u_in], before, after = thread[tail];
        size_t ndirty = 0;
        thread[v_in] = u_in;
        s->dirty[ndirty++] = v_in;
        while (stem != u_out) {
            next_stem = parent[stem];
            thread[tail] = next_stem;
            s->dirty[ndirty++] = tail;
            before = rev[stem];
            thread[before] = after;
            rev[after] = before;
            parent[stem] = par_stem;
            par_stem = stem;
            stem = next_stem;
            tail = last[stem] == last[par_stem] ? rev[par_stem] : last[stem];
            after = thread[tail];
        }
        parent[u_out] = par_stem;
        thread[tail] = resume;
        rev[resume] = tail;
        last[u_out] = tail;
        if (old_rev != v_in) {
            thread[old_rev] = after;
            rev[after] = old_rev;
        }
        for (size_t k = 0; k < ndirty; k++)
            rev[thread[s->dirty[k]]] = s->dirty[k];
        /* The stem's tree arcs shift by one node (with their flows and
         * reversed directions), sizes and last successors are rebuilt. */
        ptrdiff_t acc_num = 0, stem_last = last[u_out];
        for (ptrdiff_t u = u_out, p = parent[u]; u != u_in;
             u = p, p = parent[u]) {
            s->pred[u] = s->pred[p];
            s->dir[u] = (signed char)-s->dir[p];
            s->flow[u] = s->flow[p];
            acc_num += num[u] - num[p];
            num[u] = acc_num;
            last[p] = stem_last;
        }
        s->pred[u_in] = s->in_arc;
        s->dir[u_in] = in_dir;
        s->flow[u_in] = s->delta;
        num[u_in] = old_num;
    }

    /* Last successors on the path from v_in up, then from v_out up. */
    const ptrdiff_t up_limit = last[join] == v_in ? join : -1;
    const ptrdiff_t moved_last = last[u_out];
    for (ptrdiff_t u = v_in; u != -1 && last[u] == v_in; u = parent[u])
        last[u] = moved_last;
    if (join != old_rev && v_in != old_rev) {
        for (ptrdiff_t u = v_out; u != up_limit && last[u] == old_last;
             u = parent[u])
            last[u] = old_rev;
    } else if (moved_last != old_last) {
        for (ptrdiff_t u = v_out; u != up_limit && last[u] == old_last;
             u = parent[u])
            last[u] = moved_last;
    }
    /* Subtree sizes between the two ends and the join. */
    for (ptrdiff_t u = v_in; u != join; u = parent[u])
        num[u] += old_num;
    for (ptrdiff_t u = v_out; u != join; u = parent[u])
        num[u] -= old_num;
}

/* The moved subtree's potentials shift so that the entering arc's reduced
 * cost becomes zero. */
static void update_potentials(ns_state *s)
{
    const ptrdiff_t u_in = s->u_in;
    double sigma =
        s->pi[s->v_in] - s->pi[u_in] - s->dir[u_in] * arc_cost(s, s->in_arc);
    ptrdiff_t end = s->thread[s->last_succ[u_in]];
    for (ptrdiff_t u = u_in; u != end; u = s->thread[u])
        s->pi[u] += sigma;
}

/* Potentials from scratch along the tree (thread order visits parents
 * first), so rounding from many incremental shifts does not pile up. */
static void recompute_potentials(ns_state *s)
{
    for (ptrdiff_t u = s->thread[s->root]; u != (ptrdiff_t)s->root;
         u = s->thread[u]) {
        double c = arc_cost(s, s->pred[u]);
        s->pi[u] = s->pi[s->parent[u]] - s->dir[u] * c;
    }
}

static double current_cost(const ns_state *s)
{
    double total = 0.0;
    for (size_t u = 0; u < s->root; u++)
        if (s->pred[u] < s->narcs)
            total += s->flow[u] * arc_cost(s, s->pred[u]);
    return total;
}

/*
 * Once no artificial arc carries flow and all the root's children are of
 * one kind (all sources or all targets), a cycle through the root meets an
 * artificial arc against its direction with zero flow, so artificial arcs
 * can never carry flow again and their cost no longer matters. Setting it
 * to 0 removes ART from every potential: reduced costs are then differences
 * of small path sums, and the tolerance drops to the cost scale. At the
 * optimum this state is always reached (a root child of each kind would
 * leave an arc of reduced cost about -2 ART between them).
 */
static void try_drop_art(ns_state *s)
{
    if (s->art_cost == 0.0)
        return;
    int kinds = 0;
    double art_flow = 0.0;
    for (ptrdiff_t u = s->thread[s->root]; u != (ptrdiff_t)s->root;
         u = s->thread[s->last_succ[u]]) { /* the root's children */
        kinds |= (size_t)u < s->n ? 1 : 2;
        art_flow += fabs(s->flow[u]);
    }
    if (kinds == 3 || art_flow > 1e-14 * s->mass)
        return;
    s->art_cost = 0.0;
    s->eps = s->eps_clean;
    recompute_potentials(s);
}

/* The tree and its flows do not depend on the cost; ART stays only if it
 * had not been dropped (once dropped, artificial arcs carry no flow for
 * any cost, see try_drop_art). */
void otk__ns_warm_start(ns_state *s, const ns_cost *c)
{
    set_cost(s, c, s->art_cost != 0.0);
    recompute_potentials(s);
}

otk_status otk__ns_solve(ns_state *s, const otk_exact_settings *settings,
                         const otk__call *call, size_t *pivots)
{
    size_t it = 0;
    otk_status st = OTK_OPTIMAL;
    for (;;) {
        if (!find_entering(s, 0)) {
            /* Confirm with clean potentials and a full scan. */
            recompute_potentials(s);
            try_drop_art(s);
            if (!find_entering(s, 1))
                break;
        }
        if (it >= settings->max_iter) {
            st = OTK_MAX_ITER;
            break;
        }
        find_join(s);
        if (!find_leaving(s)) {
            st = OTK_ERR_NUMERICAL;
            break;
        }
        change_flow(s);
        update_tree(s);
        update_potentials(s);
        it++;
        if (it % s->nodes == 0) {
            recompute_potentials(s);
            try_drop_art(s);
        }
        if (settings->progress != NULL && it % 65536 == 0) {
            otk_progress p = {.solver = "exact",
                              .iteration = it,
                              .error = NAN,
                              .reg = 0.0,
                              .objective = current_cost(s),
                              .elapsed_s = otk__elapsed(call),
                              .detail = NULL};
            if (settings->progress(settings->progress_user, &p) != 0) {
                st = OTK_CANCELLED;
                break;
            }
        }
    }
    *pivots = it;
    return st;
}

static int by_row_then_column(const void *x, const void *y)
{
    const otk_plan_entry *p = x, *q = y;
    if (p->i != q->i)
        return p->i < q->i ? -1 : 1;
    return p->j < q->j ? -1 : p->j > q->j;
}

size_t otk__ns_plan(const ns_state *s, otk_plan_entry *plan)
{
    size_t count = 0;
    for (size_t u = 0; u < s->root; u++) {
        size_t k = s->pred[u];
        if (k < s->narcs && s->flow[u] > 0.0) {
            plan[count].i = k / s->m;
            plan[count].j = k % s->m;
            plan[count].value = s->flow[u];
            count++;
        }
    }
    qsort(plan, count, sizeof *plan, by_row_then_column);
    return count;
}

void otk__ns_potentials(const ns_state *s, double *f, double *g)
{
    for (size_t i = 0; i < s->n; i++)
        f[i] = -s->pi[i];
    for (size_t j = 0; j < s->m; j++)
        g[j] = s->pi[s->n + j];
}

double otk__ns_artificial_flow(const ns_state *s)
{
    double total = 0.0;
    for (size_t u = 0; u < s->root; u++)
        if (s->pred[u] >= s->narcs)
            total += fabs(s->flow[u]);
    return total;
}
