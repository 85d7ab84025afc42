/* NumPy .npy files (docs/cli.md, "NumPy .npy files"): the subset that
 * np.save writes for 1-D and 2-D float64 and float32 arrays in C order on
 * a little-endian machine, read into a matrix and written from one. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

static const char magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int otkcli_is_npy(const char *buf, size_t len)
{
    return len >= sizeof magic && memcmp(buf, magic, sizeof magic) == 0;
}

/* The header dictionary's three keys, as np.save writes them:
 * {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } */
typedef struct header {
    char descr[16];
    int fortran_order; /* -1 until seen */
    size_t shape[2];
    int ndim; /* -1 until seen */
} header;

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int accept(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string (no escapes: the keys and dtypes have none). */
static int string(cursor *c, char *out, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char q = *c->p++;
    const char *s = c->p;
    while (c->p < c->end && *c->p != q)
        c->p++;
    if (c->p >= c->end || (size_t)(c->p - s) >= size)
        return -1;
    memcpy(out, s, (size_t)(c->p - s));
    out[c->p - s] = '\0';
    c->p++;
    return 0;
}

static int word(cursor *c, const char *w)
{
    skip_space(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* (n,) or (n, m) or (); more than two dimensions sets ndim 3. */
static int shape(cursor *c, header *h)
{
    if (!accept(c, '('))
        return -1;
    h->ndim = 0;
    while (!accept(c, ')')) {
        skip_space(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return -1;
        size_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (SIZE_MAX - 9) / 10)
                return -1;
            v = v * 10 + (size_t)(*c->p++ - '0');
        }
        if (h->ndim < 2)
            h->shape[h->ndim] = v;
        h->ndim += h->ndim < 3;
        if (!accept(c, ',')) {
            if (!accept(c, ')'))
                return -1;
            break;
        }
    }
    return 0;
}

static int parse_header(const char *s, size_t len, header *h)
{
    cursor c = {s, s + len};
    h->descr[0] = '\0';
    h->fortran_order = -1;
    h->ndim = -1;
    if (!accept(&c, '{'))
        return -1;
    while (!accept(&c, '}')) {
        char key[32];
        if (string(&c, key, sizeof key) != 0 || !accept(&c, ':'))
            return -1;
        int rc = 0;
        if (strcmp(key, "descr") == 0)
            rc = string(&c, h->descr, sizeof h->descr);
        else if (strcmp(key, "fortran_order") == 0) {
            if (word(&c, "True"))
                h->fortran_order = 1;
            else if (word(&c, "False"))
                h->fortran_order = 0;
            else
                rc = -1;
        } else if (strcmp(key, "shape") == 0)
            rc = shape(&c, h);
        else
            rc = -1; /* np.save writes no other key */
        if (rc != 0)
            return -1;
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return -1;
            break;
        }
    }
    /* then only padding: spaces and the final newline */
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\n'))
        c.p++;
    if (c.p != c.end || h->descr[0] == '\0' || h->fortran_order < 0 ||
        h->ndim < 0)
        return -1;
    return 0;
}

static double load(const unsigned char *b, int f4)
{
    if (f4) {
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        float x;
        memcpy(&x, &u, sizeof x);
        return x;
    }
    uint64_t u = 0;
    for (int k = 7; k >= 0; k--)
        u = u << 8 | b[k];
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The header's checks; on success *hlen is the offset of the data. */
static int check_header(const char *name, const char *buf, size_t len,
                        header *h, size_t *data_at, otkcli_error *err)
{
    if (len < 10) {
        otkcli_set_error(err, "%s: .npy: truncated header", name);
        return -1;
    }
    unsigned char major = (unsigned char)buf[6];
    const unsigned char *u = (const unsigned char *)buf;
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)u[8] | (size_t)u[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            otkcli_set_error(err, "%s: .npy: truncated header", name);
            return -1;
        }
        hlen = (size_t)u[8] | (size_t)u[9] << 8 | (size_t)u[10] << 16 |
               (size_t)u[11] << 24;
        start = 12;
    } else {
        otkcli_set_error(err,
                         "%s: .npy: format version %u.%u is not supported "
                         "(1.0 to 3.0 are)",
                         name, major, (unsigned char)buf[7]);
        return -1;
    }
    if (hlen > len - start) {
        otkcli_set_error(err, "%s: .npy: truncated header", name);
        return -1;
    }
    if (parse_header(buf + start, hlen, h) != 0) {
        otkcli_set_error(err, "%s: .npy: malformed header: '%.*s'", name,
                         (int)(hlen > 80 ? 80 : hlen), buf + start);
        return -1;
    }
    if (strcmp(h->descr, "<f8") != 0 && strcmp(h->descr, "<f4") != 0) {
        otkcli_set_error(err,
                         "%s: .npy: dtype '%s' is not supported; expected "
                         "'<f8' (float64) or '<f4' (float32), little-endian",
                         name, h->descr);
        return -1;
    }
    if (h->fortran_order) {
        otkcli_set_error(err,
                         "%s: .npy: Fortran order is not supported; save a "
                         "C-order array (numpy.ascontiguousarray)",
                         name);
        return -1;
    }
    if (h->ndim < 1 || h->ndim > 2) {
        otkcli_set_error(err, "%s: .npy: %d-D array; expected 1-D or 2-D", name,
                         h->ndim);
        return -1;
    }
    *data_at = start + hlen;
    return 0;
}

int otkcli_parse_npy(const char *name, const char *buf, size_t len, int flags,
                     otkcli_matrix *out, otkcli_error *err)
{
    header h;
    size_t at;
    if (check_header(name, buf, len, &h, &at, err) != 0)
        return -1;
    size_t rows = h.shape[0], cols = h.ndim == 2 ? h.shape[1] : 1;
    int f4 = h.descr[2] == '4';
    size_t item = f4 ? 4 : 8;
    if (rows == 0 || cols == 0) {
        otkcli_set_error(err, "%s: no data rows", name);
        return -1;
    }
    char dims[64];
    if (h.ndim == 1)
        snprintf(dims, sizeof dims, "(%zu,)", rows);
    else
        snprintf(dims, sizeof dims, "(%zu, %zu)", rows, cols);
    if (cols > SIZE_MAX / sizeof(double) / rows) { /* as doubles too */
        otkcli_set_error(err, "%s: .npy: the shape %s is too large", name,
                         dims);
        return -1;
    }
    if (rows * cols * item != len - at) {
        otkcli_set_error(
            err,
            "%s: .npy: the shape %s needs %zu bytes of data, the file "
            "holds %zu",
            name, dims, rows * cols * item, len - at);
        return -1;
    }
    double *data = malloc(rows * cols * sizeof *data);
    size_t *line = malloc(rows * sizeof *line);
    if (data == NULL || line == NULL) {
        free(data);
        free(line);
        otkcli_set_error(err, "%s: out of memory", name);
        return -1;
    }
    const unsigned char *p = (const unsigned char *)buf + at;
    for (size_t k = 0; k < rows * cols; k++) {
        double v = load(p + k * item, f4);
        const char *bad = !isfinite(v) ? "not a finite number"
                          : (flags & OTKCLI_NONNEGATIVE) && v < 0
                              ? "a negative weight"
                              : NULL;
        if (bad != NULL) {
            otkcli_set_error(err, "%s: element [%zu, %zu] is %s: %g", name,
                             k / cols, k % cols, bad, v);
            free(data);
            free(line);
            return -1;
        }
        data[k] = v;
    }
    for (size_t i = 0; i < rows; i++)
        line[i] = i + 1; /* row numbers stand in for line numbers */
    out->data = data;
    out->rows = rows;
    out->cols = cols;
    out->line = line;
    return 0;
}

int otkcli_is_npy_name(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".npy") == 0;
}

int otkcli_write_npy(FILE *fp, const double *data, size_t rows, size_t cols,
                     int one_d)
{
    char dict[128];
    int n;
    if (one_d)
        n = snprintf(dict, sizeof dict,
                     "{'descr': '<f8', 'fortran_order': False, "
                     "'shape': (%zu,), }",
                     rows * cols);
    else
        n = snprintf(dict, sizeof dict,
                     "{'descr': '<f8', 'fortran_order': False, "
                     "'shape': (%zu, %zu), }",
                     rows, cols);
    /* version 1.0; magic, version and length take 10 bytes, and the
     * header is padded with spaces and a newline to a multiple of 64 */
    size_t total = ((size_t)n + 1 + 10 + 63) / 64 * 64;
    size_t hlen = total - 10;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, sizeof pre, fp) != sizeof pre ||
        fprintf(fp, "%s%*s\n", dict, (int)(hlen - (size_t)n - 1), "") < 0)
        return -1;
    for (size_t k = 0; k < rows * cols; k++) {
        uint64_t u;
        memcpy(&u, &data[k], sizeof u);
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(u >> (8 * i));
        if (fwrite(b, 1, 8, fp) != 8)
            return -1;
    }
    return 0;
}

int otkcli_write_matrix(FILE *fp, const char *path, const double *data,
                        size_t rows, size_t cols)
{
    if (otkcli_is_npy_name(path))
        return otkcli_write_npy(fp, data, rows, cols, 0);
    return otkcli_write_rows(fp, data, rows, cols);
}
