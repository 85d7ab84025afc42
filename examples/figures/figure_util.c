/* Shared plumbing of the figure programs (figure_util.h). */
#define _POSIX_C_SOURCE 200809L
#include "figure_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *figure_prog = "figures";
const char *figure_out_dir = ".";

void figure_die(const char *what)
{
    fprintf(stderr, "%s: %s\n", figure_prog, what);
    exit(1);
}

void *figure_xmalloc(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p == NULL)
        figure_die("out of memory");
    return p;
}

FILE *figure_open(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", figure_out_dir, name);
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        fprintf(stderr, "%s: %s: %s\n", figure_prog, path, strerror(errno));
        exit(1);
    }
    return fp;
}

void figure_close(FILE *fp)
{
    if (fclose(fp) != 0)
        figure_die("write error");
}

double figure_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
