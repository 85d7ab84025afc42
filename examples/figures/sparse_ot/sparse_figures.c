/*
 * sparse_figures: the computations behind the figures of
 * Liu, Puigcerver, Blondel, "Sparsity-Constrained Optimal Transport"
 * (ICLR 2023), done with otkit (exact, entropic, quadratic and
 * sparsity-constrained solvers). It writes CSV files and PPM images into
 * OUT_DIR; plot_figures.py turns them into PNGs. Nothing here plots.
 *
 *   sparse_figures OUT_DIR PHOTO_DIR
 *
 * PHOTO_DIR holds chelsea.ppm and coffee.ppm (examples/data). Settings
 * follow the paper's notebooks as recorded in the project notes
 * (notes/sparse_quadratic_ot.md, section 6); docs/figures.md lists them.
 *
 * Files written (all CSV have a header line):
 *   summary.csv          one row per solve: figure, case, method, k, reg,
 *                        status, iterations, marginal_error (L1),
 *                        transport_cost, objective, dual_objective and
 *                        relative_gap (the certificate of the quadratic
 *                        and sparse solves, NaN otherwise), nnz (exact
 *                        nonzeros), nnz_thr (entries > 1e-10), max_col_nnz,
 *                        time_s
 *   fig1_<case>_ab.csv   the 1-D histograms a, b
 *   fig1_<case>_<method>.csv, fig2_<method>.csv
 *                        dense plans, one row of the plan per line
 *   fig2_points.csv      the 2-D source and target points
 *   fig3_metrics.csv     colour transfer: per method/k, density, squared L2
 *                        marginal errors, <T,C>, <T_EMD,C>, empty rows,
 *                        certified relative gap
 *   fig3_<img>_<method>.ppm
 *                        downscaled photos recoloured by the barycentric map
 *                        (<img> = chelsea or coffee; method orig, emd,
 *                        quadratic, k<K>)
 *   fig4_trace.csv       L-BFGS progress of every k of the colour problem:
 *                        k, iteration, marginal_error, objective, time_s
 *   fig5_routing.csv     token-to-expert routing (256 tokens, 16 experts,
 *                        capacity 16): per method (top1, top1-capacity,
 *                        sinkhorn-capacity, sparse at k = 8, 16, 32)
 *                        status, certified relative gap, marginal error,
 *                        dropped tokens, largest expert load, time
 *   fig5_loads.csv       method, k, expert, load (tokens it processes)
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include <otkit/otkit.h>

#include "../figure_util.h"

static FILE *summary;

static void write_matrix(const char *name, size_t n, size_t m, const double *P)
{
    FILE *fp = figure_open(name);
    for (size_t j = 0; j < m; j++)
        fprintf(fp, "%sc%zu", j ? "," : "", j);
    fputc('\n', fp);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++)
            fprintf(fp, "%s%.17g", j ? "," : "", P[i * m + j]);
        fputc('\n', fp);
    }
    figure_close(fp);
}

/* Plan statistics the solvers' infos do not all give: exact nonzeros,
 * entries above the notebooks' 1e-10 threshold, largest column count. */
typedef struct plan_stats {
    size_t nnz, nnz_thr, max_col_nnz;
} plan_stats;

static plan_stats stats_of(size_t n, size_t m, const double *P)
{
    plan_stats s = {0, 0, 0};
    for (size_t j = 0; j < m; j++) {
        size_t col = 0;
        for (size_t i = 0; i < n; i++) {
            double v = P[i * m + j];
            if (v != 0.0) {
                s.nnz++;
                col++;
            }
            if (v > 1e-10)
                s.nnz_thr++;
        }
        if (col > s.max_col_nnz)
            s.max_col_nnz = col;
    }
    return s;
}

/* The certificate of a smooth solve (NaN for exact and entropic). */
typedef struct certificate {
    double dual_objective, relative_gap;
} certificate;

static const certificate no_certificate = {NAN, NAN};

static void summary_row(const char *fig, const char *tag, const char *method,
                        size_t k, double reg, otk_status st, size_t iters,
                        double merr, double cost, double obj, certificate cert,
                        size_t n, size_t m, const double *P, double time_s)
{
    plan_stats ps = stats_of(n, m, P);
    fprintf(summary,
            "%s,%s,%s,%zu,%.6g,%s,%zu,%.6e,%.10g,%.10g,%.12g,%.3e,%zu,%zu,%zu,"
            "%.4f\n",
            fig, tag, method, k, reg, otk_status_name(st), iters, merr, cost,
            obj, cert.dual_objective, cert.relative_gap, ps.nnz, ps.nnz_thr,
            ps.max_col_nnz, time_s);
    fflush(summary);
    fprintf(stderr,
            "  %-5s %-12s %-10s k=%-4zu %-9s it=%-6zu merr=%.3e "
            "<P,C>=%.6g nnz=%zu maxcol=%zu %.2fs\n",
            fig, tag, method, k, otk_status_name(st), iters, merr, cost, ps.nnz,
            ps.max_col_nnz, time_s);
}

/* ---- the solvers, each returning a dense plan and a summary row ---- */

static void run_exact(const char *fig, const char *tag, const otk_cost *c,
                      const double *a, const double *b, double *P)
{
    otk_exact_info info;
    otk_problem pb = {.cost = c, .a = a, .b = b};
    otk_solution sol = {.P = P};
    otk_status st = otk_exact(&pb, NULL, &sol, &info);
    if (st < 0)
        figure_die(otk_status_string(st));
    summary_row(fig, tag, "exact", 0, 0.0, st, info.iterations,
                info.marginal_error, info.transport_cost, info.transport_cost,
                no_certificate, c->n, c->m, P, info.outcome.time_s);
}

static void run_sinkhorn(const char *fig, const char *tag, const otk_cost *c,
                         const double *a, const double *b, double reg,
                         double *P)
{
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.threads = 1;
    s.max_iter = 100000;
    otk_sinkhorn_info info;
    otk_status st = otk_sinkhorn(&(otk_problem){c, a, b, reg}, &s,
                                 &(otk_solution){.P = P}, &info);
    if (st < 0)
        figure_die(otk_status_string(st));
    summary_row(fig, tag, "entropic", 0, reg, st, info.iterations,
                info.marginal_error, info.transport_cost, info.objective,
                no_certificate, c->n, c->m, P, info.outcome.time_s);
}

/* Progress recorder for figure 4 (and the colour sweep). */
typedef struct trace {
    FILE *fp;
    size_t k;
    double t0;
} trace;

static int record(void *user, const otk_progress *p)
{
    trace *t = user;
    fprintf(t->fp, "%zu,%zu,%.6e,%.12g,%.5f\n", t->k, p->iteration, p->error,
            p->objective, figure_now() - t->t0);
    return 0;
}

/* k = 0: otk_quadratic; else otk_sparse with k. max_iter 0: the default,
 * so that every plan comes from a certified optimum or a stall. */
static otk_status run_smooth(const char *fig, const char *tag,
                             const otk_cost *c, const double *a,
                             const double *b, double reg, size_t k,
                             otk_formulation form, double tol, size_t max_iter,
                             trace *tr, double *P, otk_quadratic_info *info)
{
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    s.formulation = form;
    s.tol = tol;
    if (max_iter > 0)
        s.max_iter = max_iter;
    s.threads = 1;
    if (tr != NULL) {
        s.progress = record;
        s.progress_user = tr;
        tr->t0 = figure_now();
    }
    otk_status st =
        k == 0 ? otk_quadratic(&(otk_problem){c, a, b, reg}, &s,
                               &(otk_solution){NULL, NULL, P, NULL, 0}, info)
               : otk_sparse(&(otk_problem){c, a, b, reg}, k, &s,
                            &(otk_solution){NULL, NULL, P, NULL, 0}, info);
    if (st < 0)
        figure_die(otk_status_string(st));
    char method[32];
    if (k == 0)
        snprintf(method, sizeof method, "quadratic%s",
                 form == OTK_FORMULATION_DUAL ? "-dual" : "");
    else
        snprintf(method, sizeof method, "sparse%s",
                 form == OTK_FORMULATION_DUAL ? "-dual" : "");
    summary_row(fig, tag, method, k, reg, st, info->iterations,
                info->marginal_error, info->transport_cost, info->objective,
                (certificate){info->dual_objective, info->relative_gap}, c->n,
                c->m, P, info->outcome.time_s);
    return st;
}

/* ---- figure 1: 1-D plans ---- */

static void bump(size_t n, double mean, double sd, double *h)
{
    for (size_t i = 0; i < n; i++)
        h[i] = exp(-((double)i - mean) * ((double)i - mean) / (2 * sd * sd));
}

static void normalise(size_t n, double *h)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += h[i];
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
}

static void figure1(void)
{
    enum { N = 32 };
    static double a[N], b[N], t[N], C[N * N], P[N * N];
    double cmax = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            C[i * N + j] = ((double)i - (double)j) * ((double)i - (double)j);
            if (C[i * N + j] > cmax)
                cmax = C[i * N + j];
        }
    for (size_t i = 0; i < N * N; i++)
        C[i] /= cmax;
    otk_cost cost = otk_cost_dense(N, N, C);
    const char *cases[2] = {"gaussian", "bigaussian"};
    for (int c = 0; c < 2; c++) {
        if (c == 0) {
            bump(N, 10, 4, a);
            normalise(N, a);
            bump(N, 16, 5, b);
            normalise(N, b);
        } else {
            bump(N, 16, 5, a);
            normalise(N, a);
            bump(N, 8, 5, b);
            bump(N, 24, 5, t);
            for (size_t i = 0; i < N; i++)
                b[i] = 0.5 * b[i] + 0.5 * t[i];
            normalise(N, b);
        }
        char name[128];
        snprintf(name, sizeof name, "fig1_%s_ab.csv", cases[c]);
        FILE *fp = figure_open(name);
        fprintf(fp, "a,b\n");
        for (size_t i = 0; i < N; i++)
            fprintf(fp, "%.17g,%.17g\n", a[i], b[i]);
        figure_close(fp);

        otk_quadratic_info qi;
        run_exact("fig1", cases[c], &cost, a, b, P);
        snprintf(name, sizeof name, "fig1_%s_exact.csv", cases[c]);
        write_matrix(name, N, N, P);
        /* KL: POT's smooth dual with reg 2e-3; the entropic problem has
         * the same plan, solved here by Sinkhorn */
        run_sinkhorn("fig1", cases[c], &cost, a, b, 2e-3, P);
        snprintf(name, sizeof name, "fig1_%s_entropic.csv", cases[c]);
        write_matrix(name, N, N, P);
        /* L2: POT's smooth dual, reg 0.1 */
        run_smooth("fig1", cases[c], &cost, a, b, 0.1, 0, OTK_FORMULATION_DUAL,
                   1e-9, 0, NULL, P, &qi);
        snprintf(name, sizeof name, "fig1_%s_quadratic.csv", cases[c]);
        write_matrix(name, N, N, P);
        /* column-2-sparse semi-dual, reg 1, to the certified optimum */
        run_smooth("fig1", cases[c], &cost, a, b, 1.0, 2,
                   OTK_FORMULATION_SEMI_DUAL, 1e-9, 0, NULL, P, &qi);
        snprintf(name, sizeof name, "fig1_%s_k2.csv", cases[c]);
        write_matrix(name, N, N, P);
    }
}

/* ---- figure 2: 2-D point clouds, five methods ---- */

static void figure2(void)
{
    enum { N = 20 };
    static double x[N * 2], y[N * 2], P[N * N];
    /* P = sqrtm([[1, -0.8], [-0.6, 1]]) (principal root, as in the notes) */
    const double S[2][2] = {{0.92766, -0.43119}, {-0.32339, 0.92766}};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 0);
    for (size_t i = 0; i < N; i++) {
        x[2 * i] = gsl_ran_gaussian(rng, 1.0);
        x[2 * i + 1] = gsl_ran_gaussian(rng, 1.0);
    }
    for (size_t i = 0; i < N; i++) {
        double z0 = gsl_ran_gaussian(rng, 1.0), z1 = gsl_ran_gaussian(rng, 1.0);
        y[2 * i] = z0 * S[0][0] + z1 * S[1][0] + 4.0;
        y[2 * i + 1] = z0 * S[0][1] + z1 * S[1][1] + 4.0;
    }
    gsl_rng_free(rng);
    FILE *fp = figure_open("fig2_points.csv");
    fprintf(fp, "set,x0,x1\n");
    for (size_t i = 0; i < N; i++)
        fprintf(fp, "source,%.17g,%.17g\n", x[2 * i], x[2 * i + 1]);
    for (size_t i = 0; i < N; i++)
        fprintf(fp, "target,%.17g,%.17g\n", y[2 * i], y[2 * i + 1]);
    figure_close(fp);

    /* squared Euclidean, not normalised; uniform weights (NULL) */
    otk_cost cost = otk_cost_points(N, N, 2, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_quadratic_info qi;
    run_exact("fig2", "2d", &cost, NULL, NULL, P);
    write_matrix("fig2_exact.csv", N, N, P);
    run_sinkhorn("fig2", "2d", &cost, NULL, NULL, 0.1, P);
    write_matrix("fig2_entropic.csv", N, N, P);
    run_smooth("fig2", "2d", &cost, NULL, NULL, 10.0, 0, OTK_FORMULATION_DUAL,
               1e-9, 0, NULL, P, &qi);
    write_matrix("fig2_quadratic.csv", N, N, P);
    run_smooth("fig2", "2d", &cost, NULL, NULL, 1.0, 2,
               OTK_FORMULATION_SEMI_DUAL, 1e-9, 0, NULL, P, &qi);
    write_matrix("fig2_k2.csv", N, N, P);
    run_smooth("fig2", "2d", &cost, NULL, NULL, 1.0, 1,
               OTK_FORMULATION_SEMI_DUAL, 1e-9, 0, NULL, P, &qi);
    write_matrix("fig2_k1.csv", N, N, P);
}

/* ---- figures 3 and 4: colour transfer between the two photos ---- */

typedef struct image {
    size_t w, h;
    double *rgb; /* w*h*3 in [0, 1] */
} image;

static int header_int(FILE *fp, long *v)
{
    int c;
    while ((c = fgetc(fp)) != EOF) {
        if (c == '#') {
            while ((c = fgetc(fp)) != EOF && c != '\n')
                ;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            ungetc(c, fp);
            return fscanf(fp, "%ld", v) == 1 ? 0 : -1;
        }
    }
    return -1;
}

/* Read an 8-bit P6 photo and box-average it down by an integer factor so
 * that it is at most `width` pixels wide. */
static image read_ppm_small(const char *path, size_t width)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "sparse_figures: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    char magic[3] = {0};
    long w, h, maxval;
    if (fread(magic, 1, 2, fp) != 2 || strcmp(magic, "P6") != 0 ||
        header_int(fp, &w) || header_int(fp, &h) || header_int(fp, &maxval) ||
        w < 1 || h < 1 || maxval != 255 || fgetc(fp) == EOF)
        figure_die("not an 8-bit binary PPM (P6)");
    size_t npix = (size_t)w * (size_t)h;
    unsigned char *raw = figure_xmalloc(3 * npix);
    if (fread(raw, 3, npix, fp) != npix)
        figure_die("truncated PPM");
    fclose(fp);
    size_t f = ((size_t)w + width - 1) / width;
    image im = {(size_t)w / f, (size_t)h / f, NULL};
    im.rgb = figure_xmalloc(im.w * im.h * 3 * sizeof *im.rgb);
    for (size_t r = 0; r < im.h; r++)
        for (size_t c = 0; c < im.w; c++)
            for (size_t ch = 0; ch < 3; ch++) {
                double s = 0.0;
                for (size_t dr = 0; dr < f; dr++)
                    for (size_t dc = 0; dc < f; dc++)
                        s += raw[3 * ((r * f + dr) * (size_t)w + c * f + dc) +
                                 ch];
                im.rgb[3 * (r * im.w + c) + ch] = s / (double)(f * f) / 255.0;
            }
    free(raw);
    return im;
}

static void write_ppm(const char *name, size_t w, size_t h, const double *rgb)
{
    FILE *fp = figure_open(name);
    fprintf(fp, "P6\n%zu %zu\n255\n", w, h);
    for (size_t i = 0; i < 3 * w * h; i++) {
        double v = rgb[i] < 0 ? 0 : rgb[i] > 1 ? 1 : rgb[i];
        fputc((int)lround(255.0 * v), fp);
    }
    figure_close(fp);
}

/* A palette: `n` colours sampled from the image's pixels (the notebook's
 * "rand" quantisation), every pixel labelled with its nearest palette
 * colour, weights = label frequencies + 1e-9 renormalised, colours sorted
 * by decreasing weight. */
typedef struct palette {
    size_t n;
    double *col;   /* n x 3 */
    double *w;     /* n */
    size_t *label; /* one per pixel */
} palette;

static const double *sort_w; /* qsort has no user pointer in C11 */
static int cmp_desc(const void *pa, const void *pb)
{
    size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
    if (sort_w[ia] != sort_w[ib])
        return sort_w[ia] > sort_w[ib] ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

static palette make_palette(const image *im, size_t n, unsigned long seed)
{
    size_t npix = im->w * im->h;
    size_t *all = figure_xmalloc(npix * sizeof *all),
           *pick = figure_xmalloc(n * sizeof *pick);
    for (size_t i = 0; i < npix; i++)
        all[i] = i;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    gsl_ran_choose(rng, pick, n, all, npix, sizeof *all);
    gsl_rng_free(rng);
    double *col = figure_xmalloc(3 * n * sizeof *col);
    for (size_t i = 0; i < n; i++)
        memcpy(col + 3 * i, im->rgb + 3 * pick[i], 3 * sizeof *col);
    size_t *label = figure_xmalloc(npix * sizeof *label);
    double *w = figure_xmalloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = 0.0;
    for (size_t p = 0; p < npix; p++) {
        const double *px = im->rgb + 3 * p;
        size_t best = 0;
        double bd = INFINITY;
        for (size_t i = 0; i < n; i++) {
            double d0 = px[0] - col[3 * i], d1 = px[1] - col[3 * i + 1],
                   d2 = px[2] - col[3 * i + 2];
            double d = d0 * d0 + d1 * d1 + d2 * d2;
            if (d < bd) {
                bd = d;
                best = i;
            }
        }
        label[p] = best;
        w[best] += 1.0;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = w[i] / (double)npix + 1e-9;
    normalise(n, w);
    /* sort by decreasing weight and relabel */
    size_t *order = figure_xmalloc(n * sizeof *order),
           *rank = figure_xmalloc(n * sizeof *rank);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_w = w;
    qsort(order, n, sizeof *order, cmp_desc);
    palette pal = {n, figure_xmalloc(3 * n * sizeof(double)),
                   figure_xmalloc(n * sizeof(double)), label};
    for (size_t r = 0; r < n; r++) {
        rank[order[r]] = r;
        memcpy(pal.col + 3 * r, col + 3 * order[r], 3 * sizeof(double));
        pal.w[r] = w[order[r]];
    }
    for (size_t p = 0; p < npix; p++)
        label[p] = rank[label[p]];
    free(all);
    free(pick);
    free(col);
    free(w);
    free(order);
    free(rank);
    return pal;
}

/* Recolour both photos with the barycentric maps of plan P (n x m):
 * source colour i -> sum_j P_ij y_j / sum_j P_ij (kept as is when row i
 * carries no mass, counted in *empty_rows), target colour j -> sum_i P_ij
 * x_i / sum_i P_ij; write fig3_<img>_<tag>.ppm for both; return the
 * squared L2 marginal errors. */
static void recolour(const char *tag, const image *ia, const palette *pa,
                     const image *ib, const palette *pb, const double *P,
                     double *sq_a, double *sq_b, size_t *empty_rows)
{
    size_t n = pa->n, m = pb->n;
    double *ma = figure_xmalloc(3 * n * sizeof *ma),
           *mb = figure_xmalloc(3 * m * sizeof *mb);
    double *rs = figure_xmalloc(n * sizeof *rs),
           *cs = figure_xmalloc(m * sizeof *cs);
    memset(ma, 0, 3 * n * sizeof *ma);
    memset(mb, 0, 3 * m * sizeof *mb);
    memset(rs, 0, n * sizeof *rs);
    memset(cs, 0, m * sizeof *cs);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double v = P[i * m + j];
            if (v == 0.0)
                continue;
            rs[i] += v;
            cs[j] += v;
            for (int ch = 0; ch < 3; ch++) {
                ma[3 * i + ch] += v * pb->col[3 * j + ch];
                mb[3 * j + ch] += v * pa->col[3 * i + ch];
            }
        }
    *sq_a = *sq_b = 0.0;
    *empty_rows = 0;
    for (size_t i = 0; i < n; i++) {
        *sq_a += (pa->w[i] - rs[i]) * (pa->w[i] - rs[i]);
        for (int ch = 0; ch < 3; ch++)
            ma[3 * i + ch] =
                rs[i] > 0 ? ma[3 * i + ch] / rs[i] : pa->col[3 * i + ch];
        if (!(rs[i] > 0))
            (*empty_rows)++;
    }
    for (size_t j = 0; j < m; j++) {
        *sq_b += (pb->w[j] - cs[j]) * (pb->w[j] - cs[j]);
        for (int ch = 0; ch < 3; ch++)
            mb[3 * j + ch] =
                cs[j] > 0 ? mb[3 * j + ch] / cs[j] : pb->col[3 * j + ch];
    }
    const image *ims[2] = {ia, ib};
    const palette *pals[2] = {pa, pb};
    const double *maps[2] = {ma, mb};
    const char *names[2] = {"chelsea", "coffee"};
    for (int t = 0; t < 2; t++) {
        size_t npix = ims[t]->w * ims[t]->h;
        double *out = figure_xmalloc(3 * npix * sizeof *out);
        for (size_t p = 0; p < npix; p++)
            memcpy(out + 3 * p, maps[t] + 3 * pals[t]->label[p],
                   3 * sizeof *out);
        char name[128];
        snprintf(name, sizeof name, "fig3_%s_%s.ppm", names[t], tag);
        write_ppm(name, ims[t]->w, ims[t]->h, out);
        free(out);
    }
    free(ma);
    free(mb);
    free(rs);
    free(cs);
}

static void figure34(const char *photo_dir, size_t ncolors)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/chelsea.ppm", photo_dir);
    image ia = read_ppm_small(path, 150);
    snprintf(path, sizeof path, "%s/coffee.ppm", photo_dir);
    image ib = read_ppm_small(path, 150);
    write_ppm("fig3_chelsea_orig.ppm", ia.w, ia.h, ia.rgb);
    write_ppm("fig3_coffee_orig.ppm", ib.w, ib.h, ib.rgb);
    palette pa = make_palette(&ia, ncolors, 1),
            pb = make_palette(&ib, ncolors, 2);
    const size_t n = pa.n, m = pb.n;
    otk_cost cost =
        otk_cost_points(n, m, 3, pa.col, pb.col, OTK_METRIC_SQEUCLIDEAN, 2.0);
    double *P = figure_xmalloc(n * m * sizeof *P);
    FILE *met = figure_open("fig3_metrics.csv");
    fprintf(met, "method,k,status,iterations,density,sq_err_a,sq_err_b,"
                 "l1_err,transport_cost,emd_cost,empty_rows,time_s,"
                 "relative_gap\n");
    FILE *tr = figure_open("fig4_trace.csv");
    fprintf(tr, "k,iteration,marginal_error,objective,time_s\n");

    double sa, sb;
    size_t empty;
    otk_exact_info ei;
    otk_problem exact_pb = {.cost = &cost, .a = pa.w, .b = pb.w};
    otk_solution exact_sol = {.P = P};
    otk_status st = otk_exact(&exact_pb, NULL, &exact_sol, &ei);
    if (st < 0)
        figure_die(otk_status_string(st));
    summary_row("fig3", "colour", "exact", 0, 0.0, st, ei.iterations,
                ei.marginal_error, ei.transport_cost, ei.transport_cost,
                no_certificate, n, m, P, ei.outcome.time_s);
    const double emd = ei.transport_cost;
    recolour("emd", &ia, &pa, &ib, &pb, P, &sa, &sb, &empty);
    plan_stats ps = stats_of(n, m, P);
    fprintf(met,
            "exact,0,%s,%zu,%.6e,%.6e,%.6e,%.6e,%.10g,%.10g,%zu,%.4f,nan\n",
            otk_status_name(st), ei.iterations,
            (double)ps.nnz_thr / (double)(n * m), sa, sb, ei.marginal_error,
            ei.transport_cost, emd, empty, ei.outcome.time_s);

    /* reg = 1 semi-dual, as the notebook's k sweep; the tolerance is
     * tight so that the marginal error shows what each k can reach */
    const double reg = 1.0;
    size_t ks[] = {1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 0};
    ks[sizeof ks / sizeof *ks - 1] = n;
    for (size_t q = 0; q < sizeof ks / sizeof *ks; q++) {
        size_t k = ks[q];
        if (k > n || (k == n && q + 1 < sizeof ks / sizeof *ks))
            continue; /* beyond n, or n itself before its turn */
        trace t = {tr, k, 0.0};
        otk_quadratic_info qi;
        st = run_smooth("fig3", "colour", &cost, pa.w, pb.w, reg, k,
                        OTK_FORMULATION_SEMI_DUAL, 1e-9, 0, &t, P, &qi);
        char tag[32];
        snprintf(tag, sizeof tag, "k%zu", k);
        recolour(tag, &ia, &pa, &ib, &pb, P, &sa, &sb, &empty);
        ps = stats_of(n, m, P);
        fprintf(met,
                "sparse,%zu,%s,%zu,%.6e,%.6e,%.6e,%.6e,%.10g,%.10g,%zu,%.4f,"
                "%.3e\n",
                k, otk_status_name(st), qi.iterations,
                (double)ps.nnz_thr / (double)(n * m), sa, sb, qi.marginal_error,
                qi.transport_cost, emd, empty, qi.outcome.time_s,
                qi.relative_gap);
        fflush(met);
    }
    /* the quadratic solver itself, as a check of k = n */
    otk_quadratic_info qi;
    st = run_smooth("fig3", "colour", &cost, pa.w, pb.w, reg, 0,
                    OTK_FORMULATION_SEMI_DUAL, 1e-9, 0, NULL, P, &qi);
    recolour("quadratic", &ia, &pa, &ib, &pb, P, &sa, &sb, &empty);
    ps = stats_of(n, m, P);
    fprintf(met,
            "quadratic,%zu,%s,%zu,%.6e,%.6e,%.6e,%.6e,%.10g,%.10g,%zu,%.4f,"
            "%.3e\n",
            n, otk_status_name(st), qi.iterations,
            (double)ps.nnz_thr / (double)(n * m), sa, sb, qi.marginal_error,
            qi.transport_cost, emd, empty, qi.outcome.time_s, qi.relative_gap);
    figure_close(met);
    figure_close(tr);
    free(P);
    free(ia.rgb);
    free(ib.rgb);
    free(pa.col);
    free(pa.w);
    free(pa.label);
    free(pb.col);
    free(pb.w);
    free(pb.label);
}

/* ---- figure 5: token-to-expert routing (V-MoE) ---- */

enum { R_TOKENS = 256, R_EXPERTS = 16, R_DIM = 16, R_CAPACITY = 16 };

/* Expert loads and dropped tokens of a hard assignment (expert[i] of token
 * i, or -1): with `capacity` > 0, tokens beyond an expert's capacity are
 * dropped in token order (first come, first served). */
static void route_hard(const char *method, const int *expert, size_t capacity,
                       FILE *loads, FILE *sum)
{
    size_t load[R_EXPERTS] = {0}, dropped = 0, max_load = 0;
    for (size_t i = 0; i < R_TOKENS; i++) {
        if (expert[i] < 0 || (capacity > 0 && load[expert[i]] >= capacity)) {
            dropped++;
            continue;
        }
        load[expert[i]]++;
    }
    for (size_t j = 0; j < R_EXPERTS; j++) {
        fprintf(loads, "%s,0,%zu,%zu\n", method, j, load[j]);
        max_load = load[j] > max_load ? load[j] : max_load;
    }
    fprintf(sum, "%s,0,converged,nan,nan,%zu,%zu,0\n", method, dropped,
            max_load);
}

/* Row-wise argmax of an n x m matrix (the larger, the better). */
static void argmax_rows(const double *S, int *expert)
{
    for (size_t i = 0; i < R_TOKENS; i++) {
        int best = 0;
        for (size_t j = 1; j < R_EXPERTS; j++)
            if (S[i * R_EXPERTS + j] > S[i * R_EXPERTS + (size_t)best])
                best = (int)j;
        expert[i] = best;
    }
}

static void figure5(void)
{
    static double tok[R_TOKENS * R_DIM], ex[R_EXPERTS * R_DIM],
        C[R_TOKENS * R_EXPERTS], S[R_TOKENS * R_EXPERTS],
        P[R_TOKENS * R_EXPERTS];
    static int expert[R_TOKENS];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    for (size_t i = 0; i < R_TOKENS * R_DIM; i++)
        tok[i] = gsl_ran_gaussian(rng, 1.0);
    for (size_t i = 0; i < R_EXPERTS * R_DIM; i++)
        ex[i] = gsl_ran_gaussian(rng, 1.0);
    gsl_rng_free(rng);
    /* router scores <token, expert> / sqrt(dim); the cost is minus them */
    for (size_t i = 0; i < R_TOKENS; i++)
        for (size_t j = 0; j < R_EXPERTS; j++) {
            double sc = 0.0;
            for (size_t d = 0; d < R_DIM; d++)
                sc += tok[i * R_DIM + d] * ex[j * R_DIM + d];
            S[i * R_EXPERTS + j] = sc / sqrt((double)R_DIM);
            C[i * R_EXPERTS + j] = -S[i * R_EXPERTS + j];
        }
    FILE *loads = figure_open("fig5_loads.csv");
    fprintf(loads, "method,k,expert,load\n");
    FILE *sum = figure_open("fig5_routing.csv");
    fprintf(sum, "method,k,status,relative_gap,marginal_error,dropped,"
                 "max_load,time_s\n");
    argmax_rows(S, expert);
    route_hard("top1", expert, 0, loads, sum);
    route_hard("top1-capacity", expert, R_CAPACITY, loads, sum);
    /* entropic OT with uniform marginals balances the experts; each token
     * then goes to its largest entry, and capacity drops the excess */
    otk_cost cost = otk_cost_dense(R_TOKENS, R_EXPERTS, C);
    run_sinkhorn("fig5", "routing", &cost, NULL, NULL, 0.05, P);
    argmax_rows(P, expert);
    route_hard("sinkhorn-capacity", expert, R_CAPACITY, loads, sum);
    /* k-sparse OT: at most k tokens per expert (column); a token is routed
     * to every expert whose column holds it, dropped when its row is 0 */
    const size_t ks[3] = {8, 16, 32};
    for (int q = 0; q < 3; q++) {
        otk_quadratic_info qi;
        otk_status st =
            run_smooth("fig5", "routing", &cost, NULL, NULL, 1.0, ks[q],
                       OTK_FORMULATION_SEMI_DUAL, 1e-9, 0, NULL, P, &qi);
        size_t dropped = 0, max_load = 0;
        for (size_t i = 0; i < R_TOKENS; i++) {
            size_t nz = 0;
            for (size_t j = 0; j < R_EXPERTS; j++)
                nz += P[i * R_EXPERTS + j] != 0.0;
            dropped += nz == 0;
        }
        for (size_t j = 0; j < R_EXPERTS; j++) {
            size_t load = 0;
            for (size_t i = 0; i < R_TOKENS; i++)
                load += P[i * R_EXPERTS + j] != 0.0;
            fprintf(loads, "sparse,%zu,%zu,%zu\n", ks[q], j, load);
            max_load = load > max_load ? load : max_load;
        }
        fprintf(sum, "sparse,%zu,%s,%.3e,%.3e,%zu,%zu,%.3f\n", ks[q],
                otk_status_name(st), qi.relative_gap, qi.marginal_error,
                dropped, max_load, qi.outcome.time_s);
    }
    figure_close(loads);
    figure_close(sum);
}

int main(int argc, char **argv)
{
    figure_prog = "sparse_figures";
    gsl_set_error_handler_off();
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: sparse_figures OUT_DIR PHOTO_DIR [N_COLORS]\n");
        return 2;
    }
    figure_out_dir = argv[1];
    size_t ncolors = argc == 4 ? strtoul(argv[3], NULL, 10) : 512;
    if (ncolors < 2)
        figure_die("N_COLORS must be at least 2");
    summary = figure_open("summary.csv");
    fprintf(summary, "figure,case,method,k,reg,status,iterations,"
                     "marginal_error,transport_cost,objective,"
                     "dual_objective,relative_gap,nnz,nnz_thr,max_col_nnz,"
                     "time_s\n");
    double t0 = figure_now();
    fprintf(stderr, "sparse_figures: otkit %s\n", otk_version());
    figure1();
    figure2();
    figure34(argv[2], ncolors);
    figure5();
    figure_close(summary);
    fprintf(stderr, "sparse_figures: done in %.1f s\n", figure_now() - t0);
    return 0;
}
