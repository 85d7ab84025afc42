/* Binary netpbm images (PGM P5, PPM P6) as grayscale in [0, 1]. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* The next header number, skipping whitespace and '#' comments. */
static int header_number(FILE *fp, unsigned long *v)
{
    int c;
    for (;;) {
        c = fgetc(fp);
        if (c == '#')
            while (c != '\n' && c != EOF)
                c = fgetc(fp);
        else if (!isspace(c))
            break;
    }
    if (!isdigit(c))
        return -1;
    *v = 0;
    while (isdigit(c)) {
        if (*v > 1000000)
            return -1;
        *v = *v * 10 + (unsigned long)(c - '0');
        c = fgetc(fp);
    }
    /* exactly one whitespace byte ends the header's last number */
    return isspace(c) ? 0 : -1;
}

int otkcli_read_netpbm(const char *path, double **gray, size_t *rows,
                       size_t *cols, otkcli_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(errno));
        return -1;
    }
    char magic[2] = {0};
    unsigned long w, h, maxval;
    unsigned char *raw = NULL;
    double *out = NULL;
    int channels = 0;
    if (fread(magic, 1, 2, fp) == 2 && magic[0] == 'P')
        channels = magic[1] == '5' ? 1 : magic[1] == '6' ? 3 : 0;
    if (channels == 0 || header_number(fp, &w) || header_number(fp, &h) ||
        header_number(fp, &maxval) || w == 0 || h == 0 || maxval == 0 ||
        maxval > 255) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: not a binary PGM (P5) or PPM (P6) image with maxval "
                 "<= 255",
                 path);
        goto fail;
    }
    size_t count = (size_t)w * h, bytes = count * (size_t)channels;
    /* the header's size is the file's claim: check it against what the
     * file holds before it sizes an allocation */
    struct stat sb;
    long at = ftell(fp);
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && at >= 0 &&
        (unsigned long long)(sb.st_size - at) < bytes) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: truncated: %llu of %zu pixel bytes (the header says "
                 "%lu x %lu)",
                 path, (unsigned long long)(sb.st_size - at), bytes, w, h);
        goto fail;
    }
    raw = malloc(bytes);
    out = malloc(count * sizeof *out);
    if (!raw || !out) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        goto fail;
    }
    size_t got = fread(raw, 1, bytes, fp);
    if (got != bytes) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: truncated: %zu of %zu pixel bytes (row %zu)", path, got,
                 bytes, got / ((size_t)w * (size_t)channels) + 1);
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned char *px = raw + i * (size_t)channels;
        for (int k = 0; k < channels; k++)
            if (px[k] > maxval) {
                snprintf(err->msg, sizeof err->msg,
                         "%s: pixel (row %zu, column %zu) has value %d above "
                         "the maxval %lu",
                         path, i / w + 1, i % w + 1, px[k], maxval);
                goto fail;
            }
        /* ITU-R BT.601 luma for colour images */
        double v = channels == 1
                       ? px[0]
                       : 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
        out[i] = v / (double)maxval;
    }
    free(raw);
    fclose(fp);
    *gray = out;
    *rows = h;
    *cols = w;
    return 0;
fail:
    free(raw);
    free(out);
    fclose(fp);
    return -1;
}

int otkcli_write_pgm(FILE *fp, const double *image, size_t rows, size_t cols)
{
    if (fprintf(fp, "P5\n%zu %zu\n255\n", cols, rows) < 0)
        return -1;
    for (size_t i = 0; i < rows * cols; i++) {
        double v = image[i] < 0 ? 0 : image[i] > 1 ? 1 : image[i];
        if (fputc((int)(v * 255.0 + 0.5), fp) == EOF)
            return -1;
    }
    return 0;
}
