/* Helpers shared by the benchmark programs (bench_util.c). */
#ifndef OTK_BENCH_UTIL_H
#define OTK_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The program's name in messages; each main sets it. */
extern const char *bench_prog;

/* Print "prog: " fmt (with one string argument) and exit 1. */
void bench_die(const char *fmt, const char *arg);
void *bench_xmalloc(size_t count, size_t size);
/* Monotonic seconds. */
double bench_now(void);
/* CPU seconds of this process, all its threads. */
double bench_cpu_now(void);
/* Peak resident memory in MiB: VmHWM, and getrusage's ru_maxrss (which
 * Linux carries across fork and exec, so it may be the parent's). */
double bench_peak_rss_mib(void);
double bench_ru_maxrss_mib(void);
size_t bench_parse_size(const char *s, const char *what);
double bench_parse_double(const char *s, const char *what);
/* splitmix64 with Box-Muller normals. */
uint64_t bench_rng_next(uint64_t *s);
double bench_rng_uniform(uint64_t *s);
double bench_rng_normal(uint64_t *s);
/* Read exactly count doubles from dir/name; 0 if absent and optional. */
int bench_read_raw(const char *dir, const char *name, double *out, size_t count,
                   int optional);
/* One JSON "key": value pair (null for non-finite), a comma unless last. */
void bench_jnum(const char *key, double v, int last);

/* The options every benchmark program takes before its MODE. */
typedef struct bench_options {
    const char *data_dir; /* --data DIR; NULL: generate the data */
    uint64_t seed;        /* --seed S */
    int repeats;          /* --repeats R */
    double reg; /* --reg G, alias --gamma (bench-smooth only: NaN elsewhere) */
} bench_options;

typedef struct bench_mode {
    const char *name;
    int (*run)(const bench_options *o, int argc, char **argv);
} bench_mode;

/* Points x, y (n x d each): DIR/x.bin and DIR/y.bin when o->data_dir is
 * set (optional if allow_missing: returns whether they were read), else
 * x ~ N(0, I_d), y ~ N(0, I_d) + 1 from o->seed. */
int bench_load_points(const bench_options *o, size_t n, size_t d, double *x,
                      double *y, int allow_missing);
/* The dense n x n cost (malloc'd): DIR/C.bin when present, else the
 * squared Euclidean cost between the 2-D clouds of bench_load_points,
 * divided by its maximum. */
double *bench_load_dense(const bench_options *o, size_t n);

/*
 * The whole main of a benchmark program: parses the common options over
 * `defaults` (--reg only when defaults.reg is not NaN), then runs the
 * mode named by the next argument with the remaining arguments. --help
 * prints usage(stdout); a usage error prints usage(stderr) and returns 2.
 */
int bench_main(int argc, char **argv, bench_options defaults,
               const bench_mode *modes, size_t count, void (*usage)(FILE *));

#endif
