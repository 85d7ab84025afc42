/*
 * Residual MLP maps T(x) = x + MLP(x): creation, forward and backward
 * passes over a batch (matrix products through BLAS), and the text file
 * format. The network's parameters live in one array so that the Adam
 * update is a single loop.
 */
#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg/linalg.h"
#include "mongegap/mlp.h"

#define MAX_LAYERS 64

static const char *const act_names[] = {"gelu", "relu", "leaky_relu", "tanh"};

/* Layer l maps size[l] -> size[l + 1]: W (size[l+1] x size[l]), b. */
static size_t layer_params(const otk_mg_map *map, size_t l)
{
    return map->size[l + 1] * map->size[l] + map->size[l + 1];
}

double *otk__mlp_weights(const otk_mg_map *map, size_t l)
{
    return map->params + map->offset[l];
}

double *otk__mlp_bias(const otk_mg_map *map, size_t l)
{
    return map->params + map->offset[l] + map->size[l + 1] * map->size[l];
}

static otk_mg_map *alloc_map(size_t d, const size_t *hidden, size_t layers,
                             otk_activation act)
{
    if (d == 0 || layers > MAX_LAYERS || (unsigned)act > OTK_ACT_TANH)
        return NULL;
    otk_mg_map *map = calloc(1, sizeof *map);
    if (map == NULL)
        return NULL;
    map->d = d;
    map->layers = layers + 1; /* hidden layers and the output layer */
    map->act = act;
    map->size[0] = d;
    for (size_t l = 0; l < layers; l++) {
        if (hidden[l] == 0) {
            free(map);
            return NULL;
        }
        map->size[l + 1] = hidden[l];
    }
    map->size[layers + 1] = d;
    size_t total = 0;
    for (size_t l = 0; l < map->layers; l++) {
        map->offset[l] = total;
        total += layer_params(map, l);
    }
    map->nparams = total;
    map->params = calloc(total, sizeof *map->params);
    if (map->params == NULL) {
        free(map);
        return NULL;
    }
    return map;
}

otk_mg_map *otk_mg_map_create(size_t d, const size_t *hidden, size_t layers,
                              otk_activation act, unsigned long seed)
{
    otk_mg_map *map = alloc_map(d, hidden, layers, act);
    if (map == NULL)
        return NULL;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (rng == NULL) {
        otk_mg_map_free(map);
        return NULL;
    }
    gsl_rng_set(rng, seed);
    for (size_t l = 0; l < map->layers; l++) {
        /* LeCun normal: variance 1/fan_in, truncated at two deviations
         * (rescaled as Flax does so that the variance stays 1/fan_in) */
        const double sd =
            sqrt(1.0 / (double)map->size[l]) / 0.87962566103423978;
        double *w = otk__mlp_weights(map, l);
        for (size_t k = 0; k < map->size[l + 1] * map->size[l]; k++) {
            double z;
            do
                z = gsl_ran_gaussian(rng, 1.0);
            while (fabs(z) > 2.0);
            w[k] = sd * z;
        }
    }
    gsl_rng_free(rng);
    return map;
}

void otk_mg_map_free(otk_mg_map *map)
{
    if (map == NULL)
        return;
    free(map->params);
    free(map);
}

size_t otk_mg_map_dim(const otk_mg_map *map) { return map ? map->d : 0; }

static void activate(otk_activation act, const double *a, double *z, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        double v = a[k];
        switch (act) {
        case OTK_ACT_GELU: {
            const double c = 0.7978845608028654; /* sqrt(2/pi) */
            z[k] = 0.5 * v * (1.0 + tanh(c * (v + 0.044715 * v * v * v)));
            break;
        }
        case OTK_ACT_RELU: z[k] = v > 0.0 ? v : 0.0; break;
        case OTK_ACT_LEAKY_RELU: z[k] = v > 0.0 ? v : 0.01 * v; break;
        case OTK_ACT_TANH: z[k] = tanh(v); break;
        }
    }
}

/* dz/da at a, multiplied into g in place. */
static void activate_grad(otk_activation act, const double *a, double *g,
                          size_t len)
{
    for (size_t k = 0; k < len; k++) {
        double v = a[k], dz;
        switch (act) {
        case OTK_ACT_GELU: {
            const double c = 0.7978845608028654;
            double u = c * (v + 0.044715 * v * v * v), t = tanh(u);
            double du = c * (1.0 + 3.0 * 0.044715 * v * v);
            dz = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du;
            break;
        }
        case OTK_ACT_RELU: dz = v > 0.0 ? 1.0 : 0.0; break;
        case OTK_ACT_LEAKY_RELU: dz = v > 0.0 ? 1.0 : 0.01; break;
        default: {
            double t = tanh(v);
            dz = 1.0 - t * t;
        }
        }
        g[k] *= dz;
    }
}

size_t otk__mlp_cache_len(const otk_mg_map *map, size_t batch)
{
    size_t total = 0;
    for (size_t l = 1; l < map->layers; l++)
        total += 2 * batch * map->size[l]; /* pre- and post-activation */
    return total;
}

void otk__mlp_forward(const otk_mg_map *map, const double *x, size_t n,
                      double *y, double *cache)
{
    const double *in = x;
    for (size_t l = 0; l < map->layers; l++) {
        const size_t fan_in = map->size[l], out = map->size[l + 1];
        const int last = l + 1 == map->layers;
        double *a = last ? y : cache, *z = last ? NULL : cache + n * out;
        /* a = in W^T + b (rows: points) */
        const double *b = otk__mlp_bias(map, l);
        for (size_t i = 0; i < n; i++)
            memcpy(a + i * out, b, out * sizeof *a);
        otk__gemm(0, 1, n, out, fan_in, 1.0, in, otk__mlp_weights(map, l), 1.0,
                  a);
        if (last)
            break;
        activate(map->act, a, z, n * out);
        in = z;
        cache += 2 * n * out;
    }
    for (size_t k = 0; k < n * map->d; k++) /* the residual connection */
        y[k] += x[k];
}

void otk__mlp_backward(const otk_mg_map *map, const double *x, size_t n,
                       const double *dy, const double *cache, double *grad,
                       double *work)
{
    /* cache holds, per hidden layer l = 1..L, a_l then z_l (n x size[l]).
     * work needs 2 n max(size) doubles. grad gets dLoss/dparams. */
    size_t widest = 0;
    for (size_t l = 0; l <= map->layers; l++)
        widest = map->size[l] > widest ? map->size[l] : widest;
    double *delta = work, *next = work + n * widest;
    memcpy(delta, dy, n * map->d * sizeof *delta); /* d(out) = dy */
    /* offsets of each hidden layer's cache block */
    size_t off[MAX_LAYERS + 2];
    off[1] = 0;
    for (size_t l = 1; l + 1 < map->layers; l++)
        off[l + 1] = off[l] + 2 * n * map->size[l];
    for (size_t l = map->layers; l-- > 0;) {
        const size_t fan_in = map->size[l], out = map->size[l + 1];
        const double *in = l == 0 ? x : cache + off[l] + n * map->size[l];
        double *gw = grad + map->offset[l], *gb = gw + out * fan_in;
        /* dW = delta^T in, db = column sums of delta */
        otk__gemm(1, 0, out, fan_in, n, 1.0, delta, in, 0.0, gw);
        for (size_t o = 0; o < out; o++)
            gb[o] = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < out; o++)
                gb[o] += delta[i * out + o];
        if (l == 0)
            break;
        /* delta_{l-1} = (delta W) * act'(a_l) */
        otk__gemm(0, 0, n, fan_in, out, 1.0, delta, otk__mlp_weights(map, l),
                  0.0, next);
        activate_grad(map->act, cache + off[l], next, n * fan_in);
        double *t = delta;
        delta = next;
        next = t;
    }
}

otk_status otk_mg_map_apply(const otk_mg_map *map, const double *x, size_t n,
                            double *y)
{
    if (map == NULL || x == NULL || y == NULL || n == 0)
        return OTK_ERR_INVALID_ARGUMENT;
    for (size_t k = 0; k < n * map->d; k++)
        if (!isfinite(x[k]))
            return OTK_ERR_INVALID_INPUT;
    const size_t chunk = 4096;
    double *cache = malloc(otk__mlp_cache_len(map, chunk) * sizeof *cache);
    if (cache == NULL)
        return OTK_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i += chunk) {
        size_t count = n - i < chunk ? n - i : chunk;
        otk__mlp_forward(map, x + i * map->d, count, y + i * map->d, cache);
    }
    free(cache);
    return OTK_CONVERGED;
}

otk_status otk_mg_map_write(const otk_mg_map *map, FILE *fp)
{
    if (map == NULL || fp == NULL)
        return OTK_ERR_INVALID_ARGUMENT;
    fprintf(fp, "otkit-map 1\nd %zu\nactivation %s\nhidden %zu", map->d,
            act_names[map->act], map->layers - 1);
    for (size_t l = 1; l < map->layers; l++)
        fprintf(fp, " %zu", map->size[l]);
    fputc('\n', fp);
    for (size_t l = 0; l < map->layers; l++) {
        const size_t in = map->size[l], out = map->size[l + 1];
        const double *w = otk__mlp_weights(map, l), *b = otk__mlp_bias(map, l);
        fprintf(fp, "layer %zu %zu\n", out, in);
        for (size_t o = 0; o < out; o++)
            for (size_t i = 0; i < in; i++)
                fprintf(fp, "%.17g%c", w[o * in + i], i + 1 < in ? ' ' : '\n');
        for (size_t o = 0; o < out; o++)
            fprintf(fp, "%.17g%c", b[o], o + 1 < out ? ' ' : '\n');
    }
    return ferror(fp) ? OTK_ERR_INVALID_ARGUMENT : OTK_CONVERGED;
}

otk_status otk_mg_map_save(const otk_mg_map *map, const char *path)
{
    if (map == NULL || path == NULL)
        return OTK_ERR_INVALID_ARGUMENT;
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return OTK_ERR_INVALID_ARGUMENT;
    otk_status st = otk_mg_map_write(map, fp);
    if (fclose(fp) != 0)
        st = OTK_ERR_INVALID_ARGUMENT;
    return st;
}

/* A line reader that counts lines; lines of any length. */
typedef struct reader {
    FILE *fp;
    size_t line;
    char *buf;
    size_t cap;
} reader;

static char *next_line(reader *r)
{
    ssize_t len = getline(&r->buf, &r->cap, r->fp);
    if (len < 0)
        return NULL;
    r->line++;
    if (strlen(r->buf) != (size_t)len)
        return NULL; /* a NUL byte: not a map file of ours */
    return r->buf;
}

/* The parameters as the file gives them, in a buffer that grows with what
 * the file holds, never with what its header claims (a 60-byte header may
 * claim terabytes of weights). */
typedef struct numbers {
    double *v;
    size_t len, cap;
} numbers;

/* Append `count` finite numbers read from the next line: 0, -1 for a
 * malformed line, -2 when memory is short. */
static int read_numbers(reader *r, numbers *nb, size_t count)
{
    char *p = next_line(r);
    if (p == NULL)
        return -1;
    /* count numbers take at least 2 count - 1 characters */
    if (count > (strlen(p) + 1) / 2)
        return -1;
    if (count > nb->cap - nb->len) {
        size_t cap = nb->cap > count ? 2 * nb->cap : nb->cap + 2 * count;
        double *v = realloc(nb->v, cap * sizeof *v);
        if (v == NULL)
            return -2;
        nb->v = v;
        nb->cap = cap;
    }
    double *out = nb->v + nb->len;
    for (size_t k = 0; k < count; k++) {
        char *end;
        errno = 0;
        out[k] = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(out[k]))
            return -1;
        p = end;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p != '\0')
        return -1;
    nb->len += count;
    return 0;
}

static otk_mg_map *load_fail(reader *r, numbers *nb, otk_status *status,
                             size_t *line, otk_status st)
{
    if (status != NULL)
        *status = st;
    if (line != NULL)
        *line = r->line;
    if (nb != NULL)
        free(nb->v);
    free(r->buf);
    return NULL;
}

otk_mg_map *otk_mg_map_load(const char *path, otk_status *status, size_t *line)
{
    FILE *fp = path == NULL ? NULL : fopen(path, "r");
    if (fp == NULL) {
        if (line != NULL)
            *line = 0;
        if (status != NULL)
            *status = OTK_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    otk_mg_map *map = otk_mg_map_read(fp, status, line);
    if (fclose(fp) != 0 && map != NULL) {
        otk_mg_map_free(map);
        map = NULL;
        if (status != NULL)
            *status = OTK_ERR_INVALID_ARGUMENT;
    }
    return map;
}

otk_mg_map *otk_mg_map_read(FILE *fp, otk_status *status, size_t *line)
{
    reader rd = {fp, 0, NULL, 0}, *r = &rd;
    if (fp == NULL)
        return load_fail(r, NULL, status, line, OTK_ERR_INVALID_ARGUMENT);
    const otk_status bad = OTK_ERR_INVALID_INPUT;
    size_t d, layers, hidden[MAX_LAYERS];
    char name[32];
    char *p = next_line(r);
    if (p == NULL || strcmp(p, "otkit-map 1\n") != 0)
        return load_fail(r, NULL, status, line, bad);
    if ((p = next_line(r)) == NULL || sscanf(p, "d %zu", &d) != 1 || d == 0 ||
        d > 1000000)
        return load_fail(r, NULL, status, line, bad);
    if ((p = next_line(r)) == NULL || sscanf(p, "activation %31s", name) != 1)
        return load_fail(r, NULL, status, line, bad);
    otk_activation act = (otk_activation)4;
    for (int a = 0; a < 4; a++)
        if (strcmp(name, act_names[a]) == 0)
            act = (otk_activation)a;
    if ((unsigned)act > OTK_ACT_TANH)
        return load_fail(r, NULL, status, line, bad);
    if ((p = next_line(r)) == NULL || strncmp(p, "hidden ", 7) != 0)
        return load_fail(r, NULL, status, line, bad);
    char *end;
    layers = strtoul(p + 7, &end, 10);
    if (end == p + 7 || layers > MAX_LAYERS)
        return load_fail(r, NULL, status, line, bad);
    for (size_t l = 0; l < layers; l++) {
        char *q = end;
        hidden[l] = strtoul(q, &end, 10);
        if (end == q || hidden[l] == 0 || hidden[l] > 1000000)
            return load_fail(r, NULL, status, line, bad);
    }
    /* Layer l maps size[l] inputs to size[l + 1] outputs. */
    size_t size[MAX_LAYERS + 2];
    size[0] = size[layers + 1] = d;
    for (size_t l = 0; l < layers; l++)
        size[l + 1] = hidden[l];
    numbers nb = {NULL, 0, 0};
    for (size_t l = 0; l <= layers; l++) {
        size_t out, in;
        if ((p = next_line(r)) == NULL ||
            sscanf(p, "layer %zu %zu", &out, &in) != 2 || out != size[l + 1] ||
            in != size[l])
            return load_fail(r, &nb, status, line, bad);
        for (size_t o = 0; o <= out; o++) { /* out rows of weights, biases */
            int got = read_numbers(r, &nb, o < out ? in : out);
            if (got != 0)
                return load_fail(r, &nb, status, line,
                                 got == -2 ? OTK_ERR_NO_MEMORY : bad);
        }
    }
    if (next_line(r) != NULL) /* trailing content */
        return load_fail(r, &nb, status, line, bad);
    if (ferror(fp))
        return load_fail(r, &nb, status, line, OTK_ERR_INVALID_ARGUMENT);
    /* Every number is read, so the map is no larger than the file. */
    otk_mg_map *map = alloc_map(d, hidden, layers, act);
    if (map == NULL)
        return load_fail(r, &nb, status, line, OTK_ERR_NO_MEMORY);
    memcpy(map->params, nb.v, nb.len * sizeof *nb.v);
    free(nb.v);
    free(r->buf);
    if (line != NULL)
        *line = 0;
    if (status != NULL)
        *status = OTK_CONVERGED;
    return map;
}
