#include <stdlib.h>
#include <string.h>

#include "problem.h"

int otkcli_problem_check_args(const otkcli_problem_args *args,
                              otkcli_error *err)
{
    int points = args->x_path != NULL || args->y_path != NULL;
    if (args->cost_path != NULL && points) {
        snprintf(err->msg, sizeof err->msg,
                 "give either --cost or --x/--y, not both");
        return -1;
    }
    if (args->cost_path == NULL && !points) {
        snprintf(err->msg, sizeof err->msg,
                 "missing input: give --cost FILE, or --x FILE --y FILE");
        return -1;
    }
    if (points && (args->x_path == NULL || args->y_path == NULL)) {
        snprintf(err->msg, sizeof err->msg, "--%s needs --%s as well",
                 args->x_path != NULL ? "x" : "y",
                 args->x_path != NULL ? "y" : "x");
        return -1;
    }
    if (strcmp(args->metric, "sqeuclidean") != 0 &&
        strcmp(args->metric, "euclidean") != 0 &&
        strcmp(args->metric, "pnorm") != 0) {
        snprintf(err->msg, sizeof err->msg,
                 "--metric: '%s' is not one of sqeuclidean, euclidean, pnorm",
                 args->metric);
        return -1;
    }
    if (!(args->p >= 1.0 && args->p < 1e300)) {
        snprintf(err->msg, sizeof err->msg, "--p: must be >= 1");
        return -1;
    }
    const char *paths[] = {args->cost_path, args->x_path, args->y_path,
                           args->a_path, args->b_path};
    return otkcli_check_stdin(paths, sizeof paths / sizeof paths[0], err);
}

int otkcli_check_stdin(const char *const *paths, size_t count,
                       otkcli_error *err)
{
    int stdin_uses = 0;
    for (size_t k = 0; k < count; k++)
        stdin_uses += paths[k] != NULL && strcmp(paths[k], "-") == 0;
    if (stdin_uses > 1) {
        snprintf(err->msg, sizeof err->msg,
                 "standard input ('-') can feed only one input file");
        return -1;
    }
    return 0;
}

static int load_weights(const char *path, size_t expect, const char *side,
                        double **w, otkcli_error *err)
{
    *w = NULL;
    if (path == NULL)
        return 0;
    size_t len;
    if (otkcli_read_weights(path, w, &len, err) != 0)
        return -1;
    if (len != expect) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: %zu weights, but the problem has %zu %s", path, len,
                 expect, side);
        free(*w);
        *w = NULL;
        return -1;
    }
    return 0;
}

/* With --batch B, the cost's rows must split into B blocks of n >= 1. */
static int batch_rows(const otkcli_problem_args *args, size_t rows,
                      otkcli_error *err)
{
    if (args->batch <= 1 || rows % args->batch == 0)
        return 0;
    snprintf(err->msg, sizeof err->msg,
             "%s: %zu rows are not a multiple of --batch %zu (B stacked "
             "blocks of n rows)",
             args->cost_path, rows, args->batch);
    return -1;
}

int otkcli_problem_load(const otkcli_problem_args *args, otkcli_problem *pb,
                        otkcli_error *err)
{
    memset(pb, 0, sizeof *pb);
    size_t n, m;
    if (args->cost_path != NULL) {
        if (otkcli_read_matrix(args->cost_path, &pb->C, err) != 0)
            return -1;
        if (batch_rows(args, pb->C.rows, err) != 0) {
            otkcli_problem_free(pb);
            return -1;
        }
        n = pb->C.rows / (args->batch > 1 ? args->batch : 1);
        m = pb->C.cols;
        pb->cost = otk_cost_dense(n, m, pb->C.data);
    } else {
        if (otkcli_read_matrix(args->x_path, &pb->x, err) != 0 ||
            otkcli_read_matrix(args->y_path, &pb->y, err) != 0) {
            otkcli_problem_free(pb);
            return -1;
        }
        if (pb->x.cols != pb->y.cols) {
            snprintf(err->msg, sizeof err->msg,
                     "%s has %zu columns but %s has %zu: points must have "
                     "the same dimension",
                     args->x_path, pb->x.cols, args->y_path, pb->y.cols);
            otkcli_problem_free(pb);
            return -1;
        }
        n = pb->x.rows;
        m = pb->y.rows;
        otk_metric metric =
            strcmp(args->metric, "euclidean") == 0 ? OTK_METRIC_EUCLIDEAN
            : strcmp(args->metric, "pnorm") == 0   ? OTK_METRIC_PNORM
                                                   : OTK_METRIC_SQEUCLIDEAN;
        pb->cost = otk_cost_points(n, m, pb->x.cols, pb->x.data, pb->y.data,
                                   metric, args->p);
    }
    const size_t B = args->batch > 1 ? args->batch : 1;
    if (load_weights(args->a_path, B * n, "sources (rows)", &pb->a, err) ||
        load_weights(args->b_path, B * m, "targets (columns)", &pb->b, err)) {
        otkcli_problem_free(pb);
        return -1;
    }
    return 0;
}

void otkcli_problem_free(otkcli_problem *pb)
{
    otkcli_matrix_free(&pb->C);
    otkcli_matrix_free(&pb->x);
    otkcli_matrix_free(&pb->y);
    free(pb->a);
    free(pb->b);
    pb->a = pb->b = NULL;
}
