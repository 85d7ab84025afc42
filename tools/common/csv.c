/* Numeric CSV reading. The whole file is read into memory, then parsed
 * line by line so that every error can name its line and column. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

void otkcli_set_error(otkcli_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static const char *display_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/* Slurp a file; NUL-terminated; NULL with err set on failure. */
static char *read_all(const char *path, size_t *len, otkcli_error *err)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (fp == NULL) {
        otkcli_set_error(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + used, 1, cap - used - 1, fp);
        used += got;
        if (used + 1 < cap)
            break;
        char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = buf == NULL || ferror(fp);
    int saved = errno;
    if (fp != stdin)
        fclose(fp);
    if (failed) {
        free(buf);
        otkcli_set_error(err, "%s: %s", display_name(path),
                         buf == NULL ? "out of memory" : strerror(saved));
        return NULL;
    }
    buf[used] = '\0';
    *len = used;
    return buf;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Parse one field [s, end) as a finite double, of any length. 0 on
 * success. strtod reads in place: the text is NUL-terminated and the
 * bytes that end a trimmed field (',', blank, CR, LF) end a number too,
 * so it stops at `end` exactly when the field is one number. */
static int parse_number(const char *s, const char *end, double *v)
{
    while (s < end && is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    if (s == end)
        return -1;
    char *stop;
    errno = 0;
    double x = strtod(s, &stop);
    if (stop != end)
        return -1;
    if (errno == ERANGE && fabs(x) > 1.0)
        return -2; /* overflow; underflow to tiny values is fine */
    if (!isfinite(x))
        return -2;
    *v = x;
    return 0;
}

/* Report a bad field: the column is that of its first non-blank
 * character and the quoted text is trimmed, since blanks around fields
 * are allowed. */
static void field_error(otkcli_error *err, const char *name, size_t line,
                        const char *line_start, const char *f, const char *fe,
                        size_t index, int kind)
{
    while (f < fe && is_blank(*f))
        f++;
    while (fe > f && is_blank(fe[-1]))
        fe--;
    size_t col = (size_t)(f - line_start) + 1;
    int len = (int)(fe - f);
    if (len == 0) {
        otkcli_set_error(err, "%s:%zu:%zu: field %zu is empty", name, line, col,
                         index + 1);
        return;
    }
    const char *what = kind == -2   ? "not a finite number"
                       : kind == -3 ? "a negative weight"
                                    : "not a number";
    otkcli_set_error(err, "%s:%zu:%zu: field %zu is %s: '%.*s'", name, line,
                     col, index + 1, what, len > 40 ? 40 : len, f);
}

int otkcli_read_matrix(const char *path, otkcli_matrix *out, otkcli_error *err)
{
    return otkcli_read_matrix_flags(path, out, 0, err);
}

/* The end of the field that starts at f: the next separator sep, or
 * with sep 0 the end of the next run of non-blanks. */
static const char *field_end(const char *f, const char *end, char sep)
{
    if (sep != 0) {
        const char *s = memchr(f, sep, (size_t)(end - f));
        return s != NULL ? s : end;
    }
    while (f < end && is_blank(*f))
        f++;
    while (f < end && !is_blank(*f))
        f++;
    return f;
}

/* The start of the field after the one ending at fend, or NULL after the
 * last field of the line. */
static const char *next_field(const char *fend, const char *end, char sep)
{
    if (sep != 0)
        return fend < end ? fend + 1 : NULL;
    while (fend < end && is_blank(*fend))
        fend++;
    return fend < end ? fend : NULL;
}

static int parse_text(const char *name, char *buf, size_t len, int flags,
                      otkcli_matrix *out, otkcli_error *err);

int otkcli_read_matrix_flags(const char *path, otkcli_matrix *out, int flags,
                             otkcli_error *err)
{
    const char *name = display_name(path);
    size_t len;
    char *buf = read_all(path, &len, err);
    if (buf == NULL)
        return -1;
    int rc;
    if (otkcli_is_npy(buf, len))
        rc = otkcli_parse_npy(name, buf, len, flags, out, err);
    else if (memchr(buf, '\0', len) != NULL) {
        otkcli_set_error(err, "%s: binary data (NUL byte); expected CSV text",
                         name);
        rc = -1;
    } else
        rc = parse_text(name, buf, len, flags, out, err);
    free(buf);
    return rc;
}

/* Text: comma-separated, or blank-separated when the first data line has
 * no comma (as numpy.savetxt writes by default). Frees nothing. */
static int parse_text(const char *name, char *buf, size_t len, int flags,
                      otkcli_matrix *out, otkcli_error *err)
{
    char *p = buf;
    char sep = ',';
    int sep_known = 0;
    if (len >= 3 && (unsigned char)p[0] == 0xEF &&
        (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte-order mark */
    size_t cap = 1024, count = 0, cols = 0, rows = 0;
    double *data = malloc(cap * sizeof *data);
    size_t *lines = NULL, line_cap = 0;
    int header_possible = 1;
    size_t line = 0;
    while (data != NULL && *p != '\0') {
        line++;
        char *eol = strchr(p, '\n');
        char *next = eol != NULL ? eol + 1 : p + strlen(p);
        char *end = eol != NULL ? eol : next;
        if (end > p && end[-1] == '\r')
            end--;
        const char *q = p;
        while (q < end && is_blank(*q))
            q++;
        if (q == end || *q == '#') { /* blank or comment line */
            p = next;
            continue;
        }
        if (!sep_known) {
            sep = memchr(p, ',', (size_t)(end - p)) != NULL ? ',' : 0;
            sep_known = 1;
        }
        /* Split into fields and parse. */
        size_t nf = 0, first_bad = 0;
        int bad_kind = 0, any_number = 0;
        const char *bad_at = NULL, *bad_end = NULL;
        size_t row_start = count;
        for (const char *f = p;; nf++) {
            const char *fend = field_end(f, end, sep);
            double v = 0.0;
            int rc = parse_number(f, fend, &v);
            if (rc == 0) {
                any_number = 1;
                if ((flags & OTKCLI_NONNEGATIVE) && v < 0.0)
                    rc = -3;
            }
            if (rc != 0 && bad_at == NULL) {
                bad_at = f;
                bad_end = fend;
                first_bad = nf;
                bad_kind = rc;
            }
            if (count == cap) {
                double *bigger = realloc(data, 2 * cap * sizeof *data);
                if (bigger == NULL) {
                    free(data);
                    data = NULL;
                    break;
                }
                data = bigger;
                cap *= 2;
            }
            data[count++] = v;
            f = next_field(fend, end, sep);
            if (f == NULL)
                break;
        }
        if (data != NULL && rows == line_cap) {
            size_t *more = realloc(lines, (2 * line_cap + 64) * sizeof *lines);
            if (more == NULL) {
                free(data);
                data = NULL;
            } else {
                lines = more;
                line_cap = 2 * line_cap + 64;
            }
        }
        if (data == NULL)
            break;
        nf++;
        if (bad_at != NULL && header_possible && !any_number) {
            count = row_start; /* a header row: every field is text */
            header_possible = 0;
            p = next;
            continue;
        }
        header_possible = 0;
        if (bad_at != NULL) {
            field_error(err, name, line, p, bad_at, bad_end, first_bad,
                        bad_kind);
            free(data);
            free(lines);
            return -1;
        }
        if (rows == 0)
            cols = nf;
        else if (nf != cols) {
            otkcli_set_error(err, "%s:%zu:1: expected %zu fields, found %zu",
                             name, line, cols, nf);
            free(data);
            free(lines);
            return -1;
        }
        lines[rows++] = line;
        p = next;
    }
    if (data == NULL) {
        free(lines);
        otkcli_set_error(err, "%s: out of memory", name);
        return -1;
    }
    if (rows == 0) {
        free(data);
        free(lines);
        otkcli_set_error(err, "%s: no data rows", name);
        return -1;
    }
    out->data = data;
    out->rows = rows;
    out->cols = cols;
    out->line = lines;
    return 0;
}

int otkcli_read_weights(const char *path, double **data, size_t *len,
                        otkcli_error *err)
{
    otkcli_matrix m;
    if (otkcli_read_matrix_flags(path, &m, OTKCLI_NONNEGATIVE, err) != 0)
        return -1;
    if (m.rows != 1 && m.cols != 1) {
        otkcli_set_error(err,
                         "%s: expected one column or one row of weights, found "
                         "%zu x %zu",
                         display_name(path), m.rows, m.cols);
        otkcli_matrix_free(&m);
        return -1;
    }
    *data = m.data;
    *len = m.rows * m.cols;
    free(m.line);
    return 0;
}

void otkcli_matrix_free(otkcli_matrix *m)
{
    free(m->data);
    free(m->line);
    m->data = NULL;
    m->line = NULL;
    m->rows = m->cols = 0;
}
