/*
 * What the denoising families (tv.c, foe.c) share: the checks of the
 * images and the noise level, the instance with its clean and noisy
 * images and seeded generator, the noise itself (so that one seed gives
 * the same noisy images in every family), and the upper level
 *     g(x) = s 1/2 ||x - x_true||^2,  grad g = s (x - x_true),  s = 1/N,
 * for N images: L_g = s, g convex.
 */
#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "bilevel_internal.h"

otk_status otkb_denoise_check(const double *images, size_t n, double noise)
{
    if (!(noise >= 0 && noise <= DBL_MAX)) /* also NaN */
        return OTK_ERR_INVALID_ARGUMENT;
    if (images)
        for (size_t i = 0; i < n; i++)
            if (!(images[i] >= 0.0 && images[i] <= 1.0)) /* also NaN */
                return OTK_ERR_INVALID_INPUT;
    return OTK_CONVERGED;
}

static void denoise_destroy(void *self)
{
    otkb_denoise *d = self;
    free(d->clean); /* the one block */
    free(d);
}

void *otkb_denoise_new(otk_bilevel_instance *out, size_t size,
                       const otk_bilevel_problem *ops, size_t images,
                       size_t rows, size_t cols, size_t p, size_t extra,
                       const double *clean_in, unsigned long seed,
                       gsl_rng **rng)
{
    const size_t n = images * rows * cols;
    *rng = NULL;
    if (otkb_instance_init(out, n, p) != OTK_CONVERGED)
        return NULL;
    otkb_denoise *d = calloc(1, size);
    double *block = d ? malloc((2 * n + extra) * sizeof *block) : NULL;
    gsl_rng *r = block ? gsl_rng_alloc(gsl_rng_mt19937) : NULL;
    if (!r) {
        free(block);
        free(d);
        otk_bilevel_instance_free(out);
        return NULL;
    }
    gsl_rng_set(r, seed);
    d->owner.destroy = denoise_destroy;
    d->images = images;
    d->rows = rows;
    d->cols = cols;
    d->n = n;
    d->inv_n = 1.0 / (double)images;
    d->clean = block;
    d->y = block + n;
    if (clean_in)
        memcpy(d->clean, clean_in, n * sizeof *d->clean);

    otk_bilevel_problem *pb = &out->problem;
    *pb = *ops;
    pb->n = n;
    pb->p = p;
    pb->user = d;
    pb->upper = otkb_denoise_upper;
    pb->ll_solve = NULL;
    pb->L_g = d->inv_n;
    pb->g_convex = 1;
    out->clean = d->clean;
    out->noisy = d->y;
    out->images = images;
    out->rows = rows;
    out->cols = cols;
    out->data = d;
    *rng = r;
    return d;
}

void otkb_denoise_noise(otkb_denoise *d, gsl_rng *rng, double noise)
{
    for (size_t i = 0; i < d->n; i++)
        d->y[i] = d->clean[i] + gsl_ran_gaussian(rng, 1.0) * noise;
}

int otkb_denoise_upper(void *user, const double *x, double *g, double *grad)
{
    const otkb_denoise *d = user;
    double sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        double e = x[i] - d->clean[i];
        sum += e * e;
        if (grad)
            grad[i] = d->inv_n * e;
    }
    *g = 0.5 * d->inv_n * sum;
    return 0;
}
