/*
 * CSV into every OT solver, through the tools' shared layer
 * (tools/common/problem.c): the input is a control byte, a parameter
 * byte, then up to four CSV texts separated by '@':
 *   cost mode:   cost @ a @ b
 *   points mode: x @ y @ a @ b
 * (a missing or empty a, b means uniform weights). The control byte
 * picks the mode, metric, reg scale, Sinkhorn domain and smooth-OT
 * formulation; the parameter byte the p of pnorm and the k of sparse OT.
 * Each solver runs with a small iteration cap so that one input is fast.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "fuzz.h"
#include "common/problem.h"

/* Problems larger than this are loaded but not solved (time per input). */
enum { MAX_ENTRIES = 1024, MAX_POINT_WORK = 8192 };

typedef struct choice {
    int points, metric, domain, dual;
    double reg_scale, p;
    unsigned k;
} choice;

static choice decode(uint8_t control, uint8_t param)
{
    static const double reg_scales[4] = {1.0, 0.1, 1e-2, 1e-3};
    choice c;
    c.points = control & 1;
    c.metric = ((control >> 1) & 3) % 3;
    c.reg_scale = reg_scales[(control >> 3) & 3];
    c.domain = ((control >> 5) & 3) % 3;
    c.dual = (control >> 7) & 1;
    c.p = 1.0 + 0.5 * (param & 15);
    c.k = 1u + (param >> 4);
    return c;
}

/* Split [data, data + size) at the first count - 1 '@' bytes; each part
 * goes to its own scratch file; parts[k] is NULL when part k is missing
 * or empty. */
static void split_parts(const uint8_t *data, size_t size, const char **parts,
                        int count)
{
    for (int k = 0; k < count; k++) {
        parts[k] = NULL;
        if (data == NULL)
            continue;
        const uint8_t *at = k + 1 < count ? memchr(data, '@', size) : NULL;
        size_t len = at != NULL ? (size_t)(at - data) : size;
        if (len > 0)
            parts[k] = fuzz_scratch_file(k, data, len);
        if (at != NULL) {
            size -= len + 1;
            data = at + 1;
        } else
            data = NULL;
    }
}

/* With OTK_FUZZ_STRICT set in the environment: abort when a solver
 * reports success (status 0) with a non-finite potential or plan entry,
 * which the headers rule out. Opt-in, since it checks numerical
 * robustness rather than memory safety. */
static void check_result(otk_status st, const otkcli_problem *pb,
                         const double *f, const double *g, const double *P)
{
    static int strict = -1;
    if (strict < 0)
        strict = getenv("OTK_FUZZ_STRICT") != NULL;
    if (!strict || st != OTK_CONVERGED)
        return;
    size_t n = pb->cost.n, m = pb->cost.m;
    for (size_t k = 0; k < n * m; k++)
        if (!isfinite(P[k]) || (k < n && !isfinite(f[k])) ||
            (k < m && !isfinite(g[k])))
            abort();
}

/* A reg in the units of the cost: reg_scale times its mean magnitude. */
static double pick_reg(const otk_cost *cost, double scale)
{
    double sum = 0.0;
    for (size_t i = 0; i < cost->n; i++)
        for (size_t j = 0; j < cost->m; j++) {
            double c = otk_cost_entry(cost, i, j);
            sum += c < 0 ? -c : c;
        }
    double mean = sum / (double)(cost->n * cost->m);
    return mean > 0.0 ? scale * mean : scale;
}

static void run_sinkhorn(const otkcli_problem *pb, const choice *c, double reg,
                         double *f, double *g, double *P)
{
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.max_iter = 200;
    s.threads = 1;
    s.domain = (otk_sinkhorn_domain)c->domain;
    otk_sinkhorn_info info;
    check_result(otk_sinkhorn(&(otk_problem){&pb->cost, pb->a, pb->b, reg}, &s,
                              &(otk_solution){.f = f, .g = g, .P = P}, &info),
                 pb, f, g, P);
    if (pb->cost.C == NULL) {
        otk_sinkhorn_info three[3];
        double div;
        s.max_iter = 100;
        otk_sinkhorn_divergence(&(otk_problem){&pb->cost, pb->a, pb->b, reg},
                                NULL, NULL, &s, &div, NULL, three);
    }
}

static void run_exact(const otkcli_problem *pb, double *f, double *g, double *P)
{
    size_t n = pb->cost.n, m = pb->cost.m;
    otk_plan_entry *plan = malloc((n + m) * sizeof *plan);
    if (plan == NULL)
        return;
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.max_iter = 2000;
    otk_exact_info info;
    check_result(otk_exact(&pb->cost, pb->a, pb->b, &s, plan, P, f, g, &info),
                 pb, f, g, P);
    free(plan);
}

static void run_smooth(const otkcli_problem *pb, const choice *c, double gamma,
                       double *f, double *g, double *P)
{
    size_t n = pb->cost.n, m = pb->cost.m;
    size_t k = c->k <= n ? c->k : n;
    otk_plan_entry *plan = malloc(k * m * sizeof *plan);
    if (plan == NULL)
        return;
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    s.max_iter = 30;
    s.threads = 1;
    s.formulation = c->dual ? OTK_FORMULATION_DUAL : OTK_FORMULATION_SEMI_DUAL;
    otk_quadratic_info info;
    check_result(otk_quadratic(&pb->cost, pb->a, pb->b, gamma, &s, f, g, plan,
                               k * m, P, &info),
                 pb, f, g, P);
    check_result(otk_sparse(&pb->cost, pb->a, pb->b, gamma, k, &s, f, g, plan,
                            k * m, P, &info),
                 pb, f, g, P);
    free(plan);
}

static void solve_all(const otkcli_problem *pb, const choice *c)
{
    size_t n = pb->cost.n, m = pb->cost.m;
    double *f = malloc(n * sizeof *f), *g = malloc(m * sizeof *g);
    double *P = malloc(n * m * sizeof *P);
    if (f != NULL && g != NULL && P != NULL) {
        double reg = pick_reg(&pb->cost, c->reg_scale);
        run_sinkhorn(pb, c, reg, f, g, P);
        run_exact(pb, f, g, P);
        run_smooth(pb, c, reg, f, g, P);
    }
    free(f);
    free(g);
    free(P);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const char *const metric_names[3] = {"sqeuclidean", "euclidean",
                                                "pnorm"};
    choice c = decode(data[0], data[1]);
    const char *parts[4];
    split_parts(data + 2, size - 2, parts, c.points ? 4 : 3);
    otkcli_problem_args args = {0};
    args.metric = metric_names[c.metric];
    args.p = c.p;
    if (c.points) {
        args.x_path = parts[0];
        args.y_path = parts[1];
        args.a_path = parts[2];
        args.b_path = parts[3];
    } else {
        args.cost_path = parts[0];
        args.a_path = parts[1];
        args.b_path = parts[2];
    }
    otkcli_error err;
    otkcli_problem pb;
    if (otkcli_problem_check_args(&args, &err) != 0 ||
        otkcli_problem_load(&args, &pb, &err) != 0)
        return 0;
    size_t n = pb.cost.n, m = pb.cost.m;
    size_t d = pb.cost.C == NULL ? pb.cost.d : 1;
    if (n * m <= MAX_ENTRIES && n * m * d <= MAX_POINT_WORK)
        solve_all(&pb, &c);
    otkcli_problem_free(&pb);
    return 0;
}
