/* Ownership of built-in problem instances, and PSNR. */
#include "bilevel_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void otkb_instance_clear(otk_bilevel_instance *out)
{
    memset(out, 0, sizeof *out);
    out->f_star = NAN;
}

otk_status otkb_instance_init(otk_bilevel_instance *out, size_t n, size_t p)
{
    otkb_instance_clear(out);
    out->theta0 = calloc(p, sizeof(double));
    out->x0 = calloc(n, sizeof(double));
    if (!out->theta0 || !out->x0) {
        otk_bilevel_instance_free(out);
        return OTK_ERR_NO_MEMORY;
    }
    return OTK_CONVERGED;
}

void otk_bilevel_instance_free(otk_bilevel_instance *instance)
{
    if (!instance)
        return;
    if (instance->data)
        ((otkb_owner *)instance->data)->destroy(instance->data);
    free(instance->theta0);
    free(instance->x0);
    free(instance->theta_star);
    otkb_instance_clear(instance);
}

static double clip01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }

double otk_bilevel_psnr(const double *image, const double *clean, size_t len)
{
    double sse = 0;
    for (size_t i = 0; i < len; i++) {
        double e = clip01(image[i]) - clip01(clean[i]);
        sse += e * e;
    }
    return len ? -10.0 * log10(sse / (double)len) : NAN;
}
