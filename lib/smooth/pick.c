/*
 * The plan among ties (see pick.h). The certified potentials fix every
 * column's plan except where its k-th entry ties: there the plan may keep
 * any r_j of the tied entries W_j (the rest of the support S_j above the
 * tie is forced), each choice a k-sparse plan of the same potentials.
 * The choice is a small integer program (L1 marginal error, separable in
 * the rows but coupled through them across columns): solved exactly by
 * enumeration when the choices are few, else by 1-swap local search from
 * the tie solve's choice (the r_j tied entries of largest weight mu).
 *
 * A column's state is a mask over its candidates in the order keep_picks
 * (ties.c) stored them (S_j, then W_j); the search keeps each column's
 * plan values on its candidates, its column sum and the rows' sums, and
 * scores a change by the change of the L1 error on the rows it touches.
 */
#include <math.h>
#include <string.h>

#include "linalg/linalg.h"
#include "smooth/finish.h"
#include "smooth/pick.h"
#include "smooth/ties.h"

/* Enumerate every choice when there are at most this many. */
#define PICK_EXACT 20000.0
/* Passes of 1-swap moves over the tied columns. */
#define PICK_PASSES 50
/* A move must gain this much (unit mass) to count: no cycling on
 * rounding. */
#define PICK_GAIN 1e-15

double otk__pick_values(int dual, double reg, double bj, const double *x,
                        size_t count, double *t, size_t *idx)
{
    if (dual) {
        for (size_t r = 0; r < count; r++)
            t[r] = x[r] > 0.0 ? x[r] / reg : 0.0;
        return 0.0;
    }
    const double scale = 1.0 / (reg * bj);
    for (size_t r = 0; r < count; r++)
        t[r] = x[r] * scale;
    const double theta = otk__simplex_threshold(t, count, 1.0, idx, NULL);
    for (size_t r = 0; r < count; r++) {
        double y = t[r] - theta;
        t[r] = y > 0.0 ? bj * y : 0.0;
    }
    return theta;
}

typedef struct search {
    const otk__pick_problem *p;
    otk__ties_buffers *tb;
    double *rows;
    /* per candidate (offset pick_start[j]): x, the current value, a trial
     * value and gathered inputs; per column its current sum */
    double *x, *val, *trial, *gather, *colsum;
    unsigned char *mask, *best;
    size_t *idx;
} search;

/* Column j's plan for mask into out (its candidates); returns its sum. */
static double column_plan(const search *s, size_t j, const unsigned char *mask,
                          double *out)
{
    const size_t s0 = s->tb->pick_start[j], L = s->tb->pick_start[j + 1] - s0;
    size_t count = 0;
    for (size_t r = 0; r < L; r++)
        if (mask[s0 + r])
            s->gather[count++] = s->x[s0 + r];
    otk__pick_values(s->p->dual, s->p->reg, s->p->b[j], s->gather, count,
                     s->gather, s->idx);
    double sum = 0.0;
    count = 0;
    for (size_t r = 0; r < L; r++) {
        out[s0 + r] = mask[s0 + r] ? s->gather[count++] : 0.0;
        sum += out[s0 + r];
    }
    return sum;
}

/* The change of the L1 error if column j's values became trial. */
static double change(const search *s, size_t j, double trial_sum)
{
    const otk__ties_buffers *tb = s->tb;
    const size_t s0 = tb->pick_start[j], s1 = tb->pick_start[j + 1];
    double d = fabs(trial_sum - s->p->b[j]) - fabs(s->colsum[j] - s->p->b[j]);
    for (size_t e = s0; e < s1; e++) {
        const uint32_t i = tb->pick_rows[e];
        const double now = s->rows[i] - s->p->a[i];
        d += fabs(now - s->val[e] + s->trial[e]) - fabs(now);
    }
    return d;
}

/* Column j takes its trial values. */
static void accept(search *s, size_t j, double trial_sum)
{
    const otk__ties_buffers *tb = s->tb;
    for (size_t e = tb->pick_start[j]; e < tb->pick_start[j + 1]; e++) {
        s->rows[tb->pick_rows[e]] += s->trial[e] - s->val[e];
        s->val[e] = s->trial[e];
    }
    s->colsum[j] = trial_sum;
}

/* Column j's next choice of its tied mask entries (r of them kept, in
 * lexicographic order of the kept positions); 0 when it wrapped to the
 * first. */
static int next_choice(const search *s, size_t j)
{
    const otk__ties_buffers *tb = s->tb;
    unsigned char *w = s->mask + tb->pick_tied[j];
    const size_t len = tb->pick_start[j + 1] - tb->pick_tied[j];
    const size_t r = tb->pick_end[j] - tb->pick_tied[j];
    /* the last kept entry that can move right: the first kept one after
     * a left-out one, scanning from the right */
    size_t tail = 0, q = len;
    while (q > 0 && w[q - 1])
        q--, tail++;
    while (q > 0 && !w[q - 1])
        q--;
    if (q == 0) { /* the kept ones are all at the right: wrap */
        memset(w, 0, len);
        memset(w, 1, r);
        return 0;
    }
    w[q - 1] = 0;
    memset(w + q, 0, len - q);
    memset(w + q, 1, tail + 1);
    return 1;
}

static void exact(search *s, size_t m, double err)
{
    const otk__ties_buffers *tb = s->tb;
    size_t L = tb->pick_start[m];
    double best = err;
    memcpy(s->best, s->mask, L);
    for (;;) {
        size_t j = 0;
        for (; j < m; j++) { /* the odometer: columns wrap and carry */
            if (tb->pick_end[j] == tb->pick_tied[j] ||
                tb->pick_end[j] - tb->pick_tied[j] ==
                    tb->pick_start[j + 1] - tb->pick_tied[j])
                continue; /* no choice */
            int more = next_choice(s, j);
            double sum = column_plan(s, j, s->mask, s->trial);
            err += change(s, j, sum);
            accept(s, j, sum);
            if (more)
                break;
        }
        if (j == m)
            break; /* back at the first choice */
        if (err < best - PICK_GAIN) {
            best = err;
            memcpy(s->best, s->mask, L);
        }
    }
    memcpy(s->mask, s->best, L);
    for (size_t j = 0; j < m; j++) {
        double sum = column_plan(s, j, s->mask, s->trial);
        accept(s, j, sum);
    }
}

static void local(search *s, size_t m)
{
    const otk__ties_buffers *tb = s->tb;
    for (int pass = 0; pass < PICK_PASSES; pass++) {
        int moved = 0;
        for (size_t j = 0; j < m; j++) {
            unsigned char *w = s->mask + tb->pick_tied[j];
            const size_t len = tb->pick_start[j + 1] - tb->pick_tied[j];
            for (size_t p = 0; p < len; p++) {
                if (!w[p])
                    continue;
                for (size_t q = 0; q < len && w[p]; q++) {
                    if (w[q])
                        continue;
                    w[p] = 0, w[q] = 1;
                    double sum = column_plan(s, j, s->mask, s->trial);
                    if (change(s, j, sum) < -PICK_GAIN) {
                        accept(s, j, sum);
                        moved = 1;
                    } else {
                        w[p] = 1, w[q] = 0;
                    }
                }
            }
        }
        if (!moved)
            break;
    }
}

#define SWAP(T, x, y)                                                          \
    do {                                                                       \
        T tmp_ = x;                                                            \
        x = y;                                                                 \
        y = tmp_;                                                              \
    } while (0)

void otk__pick_swap(otk__ties_buffers *tb)
{
    SWAP(uint32_t *, tb->pick_rows, tb->cand_rows);
    SWAP(size_t *, tb->pick_start, tb->cand_start);
    SWAP(size_t *, tb->pick_tied, tb->cand_tied);
    SWAP(size_t *, tb->pick_end, tb->cand_end);
    SWAP(size_t, tb->pick_rows_cap, tb->cand_rows_cap);
    SWAP(size_t, tb->pick_start_cap, tb->cand_start_cap);
    SWAP(size_t, tb->pick_tied_cap, tb->cand_tied_cap);
    SWAP(size_t, tb->pick_end_cap, tb->cand_end_cap);
}
#undef SWAP

int otk__pick_search(const otk__pick_problem *p, otk__ties_buffers *tb,
                     double *rows)
{
    const size_t m = p->m, L = tb->pick_start[m];
    size_t widest = 0;
    double choices = 1.0;
    for (size_t j = 0; j < m; j++) {
        const size_t len = tb->pick_start[j + 1] - tb->pick_start[j];
        widest = len > widest ? len : widest;
        const size_t w = tb->pick_start[j + 1] - tb->pick_tied[j];
        const size_t r = tb->pick_end[j] - tb->pick_tied[j];
        double c = 1.0; /* w choose r */
        for (size_t q = 0; q < r; q++)
            c = c * (double)(w - q) / (double)(q + 1);
        choices *= c;
    }
    if (choices <= 1.0)
        return 0;
    if (otk__smooth_grow((void **)&tb->pick_work, &tb->pick_work_cap,
                         3 * L + widest + m, sizeof *tb->pick_work) != 0 ||
        otk__smooth_grow((void **)&tb->pick_flags, &tb->pick_flags_cap, 2 * L,
                         sizeof *tb->pick_flags) != 0 ||
        otk__smooth_grow((void **)&tb->pick_idx, &tb->pick_idx_cap, widest,
                         sizeof *tb->pick_idx) != 0)
        return -1;
    search s = {p,
                tb,
                rows,
                tb->pick_work,
                tb->pick_work + L,
                tb->pick_work + 2 * L,
                tb->pick_work + 3 * L,
                tb->pick_work + 3 * L + widest,
                tb->pick_flags,
                tb->pick_flags + L,
                tb->pick_idx};
    double err = 0.0;
    for (size_t j = 0; j < m; j++) {
        const size_t s0 = tb->pick_start[j];
        p->entries(p->ctx, j, tb->pick_rows + s0, tb->pick_start[j + 1] - s0,
                   s.x + s0);
        for (size_t e = s0; e < tb->pick_start[j + 1]; e++)
            s.mask[e] = e < tb->pick_end[j];
        s.colsum[j] = column_plan(&s, j, s.mask, s.val);
        err += fabs(s.colsum[j] - p->b[j]);
    }
    for (size_t i = 0; i < p->n; i++)
        err += fabs(rows[i] - p->a[i]);
    if (choices <= PICK_EXACT)
        exact(&s, m, err);
    else
        local(&s, m);
    /* the picks in keep_picks's layout: the kept tied rows first */
    uint32_t *order = (uint32_t *)s.idx;
    for (size_t j = 0; j < m; j++) {
        const size_t t0 = tb->pick_tied[j], t1 = tb->pick_start[j + 1];
        size_t out = 0;
        for (int keep = 1; keep >= 0; keep--)
            for (size_t e = t0; e < t1; e++)
                if (s.mask[e] == keep)
                    order[out++] = tb->pick_rows[e];
        memcpy(tb->pick_rows + t0, order, out * sizeof *order);
    }
    return 0;
}
