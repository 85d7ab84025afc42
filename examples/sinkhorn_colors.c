/*
 * sinkhorn_colors: the library API in a few lines. Reads two colour
 * clouds (CSV rows r,g,b as written by ppm_colors), solves entropic OT
 * between them as point clouds (the n x m cost is never stored), and
 * prints the transport cost and the debiased Sinkhorn divergence.
 *
 * With a photo and an output name it also transfers the colours: every
 * sampled colour x_i moves to its barycentric image T(x_i) = sum_j P_ij
 * y_j / sum_j P_ij, and every pixel of the photo moves as its nearest
 * sampled colour does (clipped to [0, 1]); the result is a binary PPM.
 *
 *   sinkhorn_colors A.csv B.csv REG [PHOTO.ppm OUT.ppm]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <otkit/otkit.h>

static double *read_rgb(const char *path, size_t *rows)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    size_t cap = 1024, n = 0;
    double *x = malloc(3 * cap * sizeof *x);
    while (x != NULL && fscanf(fp, "%lf,%lf,%lf", &x[3 * n], &x[3 * n + 1],
                               &x[3 * n + 2]) == 3) {
        if (++n == cap) {
            double *bigger = realloc(x, 6 * cap * sizeof *x);
            if (bigger == NULL) {
                free(x);
                x = NULL;
            }
            x = bigger;
            cap *= 2;
        }
    }
    fclose(fp);
    *rows = n;
    return x;
}

/* The barycentric image of every source colour under the plan P. */
static void barycentric(const double *P, const double *y, size_t n, size_t m,
                        double *tx)
{
    for (size_t i = 0; i < n; i++) {
        double mass = 0, t[3] = {0, 0, 0};
        for (size_t j = 0; j < m; j++) {
            mass += P[i * m + j];
            for (int c = 0; c < 3; c++)
                t[c] += P[i * m + j] * y[3 * j + c];
        }
        for (int c = 0; c < 3; c++)
            tx[3 * i + c] = mass > 0 ? t[c] / mass : 0;
    }
}

/* Recolour the 8-bit binary PPM `in` (a header without comments, as the
 * bundled photos have) into `out`: each pixel moves by the displacement
 * T(x_k) - x_k of its nearest sampled colour x_k. 0 or -1. */
static int transfer(const char *in, const char *out, const double *x,
                    const double *tx, size_t n)
{
    FILE *fp = fopen(in, "rb");
    long w = 0, h = 0, maxval = 0;
    if (fp == NULL || fscanf(fp, "P6 %ld %ld %ld", &w, &h, &maxval) != 3 ||
        maxval != 255 || w < 1 || h < 1 || fgetc(fp) == EOF) {
        if (fp != NULL)
            fclose(fp);
        return -1;
    }
    size_t npix = (size_t)w * (size_t)h;
    unsigned char *rgb = malloc(3 * npix);
    int ok = rgb != NULL && fread(rgb, 3, npix, fp) == npix;
    fclose(fp);
    for (size_t p = 0; ok && p < npix; p++) {
        double c[3], best = HUGE_VAL;
        size_t k = 0;
        for (int d = 0; d < 3; d++)
            c[d] = rgb[3 * p + d] / 255.0;
        for (size_t i = 0; i < n; i++) {
            double d0 = c[0] - x[3 * i], d1 = c[1] - x[3 * i + 1],
                   d2 = c[2] - x[3 * i + 2];
            double dist = d0 * d0 + d1 * d1 + d2 * d2;
            if (dist < best) {
                best = dist;
                k = i;
            }
        }
        for (int d = 0; d < 3; d++) {
            double v = c[d] + tx[3 * k + d] - x[3 * k + d];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            rgb[3 * p + d] = (unsigned char)lround(255 * v);
        }
    }
    FILE *op = ok ? fopen(out, "wb") : NULL;
    if (op != NULL) {
        fprintf(op, "P6\n%ld %ld\n255\n", w, h);
        fwrite(rgb, 3, npix, op);
        ok = fclose(op) == 0;
    }
    free(rgb);
    return ok && op != NULL ? 0 : -1;
}

/* Solve again for the plan and write the recoloured photo. */
static int write_picture(const otk_problem *pb, const otk_sinkhorn_settings *s,
                         const double *x, const double *y, const char *photo,
                         const char *out)
{
    size_t n = pb->cost->n, m = pb->cost->m;
    double *P = malloc(n * m * sizeof *P), *tx = malloc(3 * n * sizeof *tx);
    int rc = -1;
    if (P != NULL && tx != NULL &&
        otk_sinkhorn(pb, s, &(otk_solution){.P = P}, NULL) >= 0) {
        barycentric(P, y, n, m, tx);
        rc = transfer(photo, out, x, tx, n);
    }
    free(P);
    free(tx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 6) {
        fprintf(stderr,
                "usage: sinkhorn_colors A.csv B.csv REG [PHOTO.ppm OUT.ppm]\n");
        return 2;
    }
    size_t n, m;
    double *x = read_rgb(argv[1], &n), *y = read_rgb(argv[2], &m);
    double reg = atof(argv[3]);
    if (x == NULL || y == NULL || n == 0 || m == 0) {
        fprintf(stderr, "sinkhorn_colors: cannot read the colour files\n");
        return 1;
    }
    otk_cost cost = otk_cost_points(n, m, 3, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = 1e-8;
    otk_sinkhorn_info info[3];
    double divergence;
    /* uniform weights (NULL); potentials and plan not needed (NULL) */
    otk_problem pb = {&cost, NULL, NULL, reg};
    otk_status st =
        otk_sinkhorn_divergence(&pb, NULL, NULL, &s, &divergence, NULL, info);
    if (st < 0) {
        fprintf(stderr, "sinkhorn_colors: %s\n", otk_status_string(st));
        return 1;
    }
    printf("status %s, %zu iterations, transport cost %.6g, "
           "Sinkhorn divergence %.6g\n",
           otk_status_name(st), info[0].iterations, info[0].transport_cost,
           divergence);
    if (argc == 6 && write_picture(&pb, &s, x, y, argv[4], argv[5]) != 0) {
        fprintf(stderr, "sinkhorn_colors: cannot write %s from %s\n", argv[5],
                argv[4]);
        st = OTK_ERR_INVALID_ARGUMENT;
    }
    free(x);
    free(y);
    return st < 0 ? 1 : st == OTK_CONVERGED ? 0 : 3;
}
