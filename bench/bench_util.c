/* Helpers shared by the benchmark programs: errors, timing, memory,
 * argument parsing, a seeded normal generator, raw data files, JSON. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"

const char *bench_prog = "bench";

void bench_die(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", bench_prog);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

void *bench_xmalloc(size_t count, size_t size)
{
    if (count != 0 && size > SIZE_MAX / count)
        bench_die("allocation too large%s", "");
    void *p = malloc(count * size != 0 ? count * size : 1);
    if (p == NULL)
        bench_die("out of memory%s", "");
    return p;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set size of this program, in MiB: VmHWM from
 * /proc/self/status, the high-water mark of the current address space.
 * getrusage()'s ru_maxrss is not used for the reported number because
 * Linux carries it across fork and execve: a program started by a large
 * parent (the Python driver) would report the parent's peak. */
double bench_peak_rss_mib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    if (fp != NULL) {
        char line[256];
        while (fgets(line, sizeof line, fp) != NULL) {
            unsigned long kib;
            if (sscanf(line, "VmHWM: %lu kB", &kib) == 1) {
                fclose(fp);
                return (double)kib / 1024.0;
            }
        }
        fclose(fp);
    }
    return NAN;
}

/* getrusage's ru_maxrss (KiB on Linux) in MiB; see bench_peak_rss_mib(). */
double bench_ru_maxrss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_maxrss / 1024.0;
}

size_t bench_parse_size(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || s[0] == '-')
        bench_die("%s must be a positive integer", what);
    return (size_t)v;
}

double bench_parse_double(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.0)
        bench_die("%s must be a finite number >= 0", what);
    return v;
}

/* splitmix64 and Box-Muller: a small self-contained normal generator. */
uint64_t bench_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double bench_rng_uniform(uint64_t *s) /* in (0, 1) */
{
    return ((double)(bench_rng_next(s) >> 11) + 0.5) *
           (1.0 / 9007199254740992.0);
}

double bench_rng_normal(uint64_t *s)
{
    const double two_pi = 6.283185307179586476925;
    double u = bench_rng_uniform(s), v = bench_rng_uniform(s);
    return sqrt(-2.0 * log(u)) * cos(two_pi * v);
}

/* Read exactly count doubles from path; returns 0 if the file does not
 * exist (and optional), dies on any other problem. */
int bench_read_raw(const char *dir, const char *name, double *out, size_t count,
                   int optional)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        bench_die("path too long: %s", dir);
    struct stat stbuf;
    if (stat(path, &stbuf) != 0) {
        if (optional && errno == ENOENT)
            return 0;
        bench_die("cannot open %s", path);
    }
    if ((uint64_t)stbuf.st_size != (uint64_t)count * sizeof(double)) {
        fprintf(stderr, "%s: %s has %lld bytes, expected %zu doubles\n",
                bench_prog, path, (long long)stbuf.st_size, count);
        exit(1);
    }
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        bench_die("cannot open %s", path);
    if (fread(out, sizeof(double), count, fp) != count)
        bench_die("short read from %s", path);
    fclose(fp);
    return 1;
}

/* A JSON number; non-finite values become null. */
void bench_jnum(const char *key, double v, int last)
{
    if (isfinite(v))
        printf("\"%s\": %.17g%s", key, v, last ? "" : ", ");
    else
        printf("\"%s\": null%s", key, last ? "" : ", ");
}

int bench_main(int argc, char **argv, bench_options o, const bench_mode *modes,
               size_t count, void (*usage)(FILE *))
{
    int k = 1;
    while (k < argc && strncmp(argv[k], "--", 2) == 0) {
        if (strcmp(argv[k], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (k + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[k], "--data") == 0)
            o.data_dir = argv[k + 1];
        else if (strcmp(argv[k], "--seed") == 0)
            o.seed = (uint64_t)bench_parse_size(argv[k + 1], "--seed");
        else if (strcmp(argv[k], "--repeats") == 0)
            o.repeats = (int)bench_parse_size(argv[k + 1], "--repeats");
        else if ((strcmp(argv[k], "--reg") == 0 ||
                  strcmp(argv[k], "--gamma") == 0) &&
                 !isnan(o.reg))
            o.reg = bench_parse_double(argv[k + 1], argv[k]);
        else {
            usage(stderr);
            return 2;
        }
        k += 2;
    }
    for (size_t m = 0; k < argc && m < count; m++)
        if (strcmp(argv[k], modes[m].name) == 0)
            return modes[m].run(&o, argc - k - 1, argv + k + 1);
    usage(stderr);
    return 2;
}

int bench_load_points(const bench_options *o, size_t n, size_t d, double *x,
                      double *y, int allow_missing)
{
    if (o->data_dir != NULL) {
        if (!bench_read_raw(o->data_dir, "x.bin", x, n * d, allow_missing))
            return 0;
        bench_read_raw(o->data_dir, "y.bin", y, n * d, 0);
        return 1;
    }
    uint64_t s = o->seed;
    for (size_t k = 0; k < n * d; k++)
        x[k] = bench_rng_normal(&s);
    for (size_t k = 0; k < n * d; k++)
        y[k] = bench_rng_normal(&s) + 1.0;
    return 1;
}

double *bench_load_dense(const bench_options *o, size_t n)
{
    double *C = bench_xmalloc(n * n, sizeof *C);
    if (o->data_dir != NULL &&
        bench_read_raw(o->data_dir, "C.bin", C, n * n, 1))
        return C;
    const size_t d = 2;
    double *x = bench_xmalloc(n * d, sizeof *x),
           *y = bench_xmalloc(n * d, sizeof *y);
    bench_load_points(o, n, d, x, y, 0);
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double c = 0.0;
            for (size_t k = 0; k < d; k++) {
                double t = x[i * d + k] - y[j * d + k];
                c += t * t;
            }
            C[i * n + j] = c;
            mx = c > mx ? c : mx;
        }
    for (size_t k = 0; k < n * n; k++)
        C[k] /= mx;
    free(x);
    free(y);
    return C;
}
