/*
 * sinkhorn_colors: the library API in a few lines. Reads two colour
 * clouds (CSV rows r,g,b as written by ppm_colors), solves entropic OT
 * between them as point clouds (the n x m cost is never stored), and
 * prints the transport cost and the debiased Sinkhorn divergence.
 *
 *   sinkhorn_colors A.csv B.csv REG
 */
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

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: sinkhorn_colors A.csv B.csv REG\n");
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
    otk_status st =
        otk_sinkhorn_divergence(&(otk_problem){&cost, NULL, NULL, reg}, NULL,
                                NULL, &s, &divergence, NULL, info);
    if (st < 0) {
        fprintf(stderr, "sinkhorn_colors: %s\n", otk_status_string(st));
        return 1;
    }
    printf("status %s, %zu iterations, transport cost %.6g, "
           "Sinkhorn divergence %.6g\n",
           otk_status_name(st), info[0].iterations, info[0].transport_cost,
           divergence);
    free(x);
    free(y);
    return st == OTK_CONVERGED ? 0 : 3;
}
