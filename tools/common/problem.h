/*
 * Reading an OT problem from the common input options (--cost, or --x and
 * --y with --metric; -a and -b), shared by every solver tool.
 */
#ifndef OTKCLI_PROBLEM_H
#define OTKCLI_PROBLEM_H

#include "cli.h"

typedef struct otkcli_problem_args {
    const char *cost_path, *x_path, *y_path, *a_path, *b_path;
    const char *metric; /* "sqeuclidean" (default), "euclidean", "pnorm" */
    double p;           /* for pnorm; default 2 */
    /* 0 or 1: one problem; B > 1: the cost's rows are B stacked blocks
     * of n = rows / B (dense costs only), a has B n and b B m entries */
    size_t batch;
} otkcli_problem_args;

typedef struct otkcli_problem {
    otkcli_matrix C, x, y;
    double *a, *b; /* NULL means uniform */
    otk_cost cost;
} otkcli_problem;

/* Check the combination of options (usage errors). 0 or -1 with err. */
int otkcli_problem_check_args(const otkcli_problem_args *args,
                              otkcli_error *err);
/* Usage check: at most one of the input paths (NULLs skipped) is "-".
 * 0 or -1 with err. */
int otkcli_check_stdin(const char *const *paths, size_t count,
                       otkcli_error *err);
/* Read the files and check shapes (with args->batch B > 1, pb->cost is
 * one block's shape n x m over the whole stacked data). 0 or -1 with err (data
 * errors). */
int otkcli_problem_load(const otkcli_problem_args *args, otkcli_problem *pb,
                        otkcli_error *err);
void otkcli_problem_free(otkcli_problem *pb);

#endif
