/*
 * ppm_colors: write K pixel colours of a binary PPM (P6) photo as CSV
 * rows "r,g,b" in [0, 1], drawn uniformly without replacement with a
 * seeded generator, so that a photo becomes a point cloud in RGB space.
 *
 *   ppm_colors PHOTO.ppm K SEED > colors.csv
 */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read one header integer, skipping whitespace and '#' comments. */
static int header_int(FILE *fp, long *v)
{
    int c;
    while ((c = fgetc(fp)) != EOF) {
        if (c == '#') {
            while ((c = fgetc(fp)) != EOF && c != '\n')
                ;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            ungetc(c, fp);
            return fscanf(fp, "%ld", v) == 1 ? 0 : -1;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc != 4) {
        fprintf(stderr, "usage: ppm_colors PHOTO.ppm K SEED > colors.csv\n");
        return 2;
    }
    char *end;
    long k = strtol(argv[2], &end, 10);
    unsigned long seed = strtoul(argv[3], NULL, 10);
    if (*end != '\0' || k < 1) {
        fprintf(stderr, "ppm_colors: K must be a positive integer\n");
        return 2;
    }
    FILE *fp = fopen(argv[1], "rb");
    if (fp == NULL) {
        fprintf(stderr, "ppm_colors: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    char magic[3] = {0};
    long w, h, maxval;
    if (fread(magic, 1, 2, fp) != 2 || strcmp(magic, "P6") != 0 ||
        header_int(fp, &w) || header_int(fp, &h) || header_int(fp, &maxval) ||
        w < 1 || h < 1 || maxval != 255 || fgetc(fp) == EOF) {
        fprintf(stderr, "ppm_colors: %s: not an 8-bit binary PPM (P6)\n",
                argv[1]);
        fclose(fp);
        return 1;
    }
    size_t npix = (size_t)w * (size_t)h;
    unsigned char *rgb = malloc(3 * npix);
    size_t *all = malloc(npix * sizeof *all),
           *pick = malloc((size_t)k * sizeof *pick);
    if (!rgb || !all || !pick || fread(rgb, 3, npix, fp) != npix ||
        (size_t)k > npix) {
        fprintf(stderr, "ppm_colors: %s: truncated file or K > %zu pixels\n",
                argv[1], npix);
        fclose(fp);
        return 1;
    }
    fclose(fp);
    for (size_t i = 0; i < npix; i++)
        all[i] = i;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    gsl_ran_choose(rng, pick, (size_t)k, all, npix, sizeof *all);
    for (long i = 0; i < k; i++) {
        const unsigned char *p = rgb + 3 * pick[i];
        printf("%.17g,%.17g,%.17g\n", p[0] / 255.0, p[1] / 255.0, p[2] / 255.0);
    }
    gsl_rng_free(rng);
    free(rgb);
    free(all);
    free(pick);
    return fclose(stdout) == 0 ? 0 : 1;
}
