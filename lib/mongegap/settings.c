/* The Monge-gap settings as data (docs/api.md): the bounds tables of the
 * gap's and the fit's settings, the defaults they give, and the
 * validation of a settings struct against them. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mongegap/mongegap_internal.h"

/* clang-format off */
/* One record of a field at `base` (empty, or `gap.` in the fit's
 * settings): its name, how errors name it, its kind, range, open ends,
 * default and meaning. */
#define FIELD(T, base, name, kind, lo, hi, flags, def, meaning)                \
    {#base #name, "settings." #base #name, kind, lo, hi, flags, def, meaning,  \
     offsetof(T, base name)}
#define REAL OTK_SETTING_REAL
#define COUNT OTK_SETTING_COUNT
#define INT OTK_SETTING_INTEGER
#define ULONG OTK_SETTING_ULONG
#define LO OTK_BOUND_LOWER_OPEN
#define HI OTK_BOUND_UPPER_OPEN

/* The gap's fields; the fit allows only exact = 0 and solves less
 * accurately (training gradients need no 1e-9 solves). The Sinkhorn
 * fields listed here have otkit/entropic.h's ranges (or narrower: the
 * gap's one-shot solves never warm start) and this module's defaults. */
#define GAP_FIELDS(T, base, exact_max, rel0, tol0, iter0, warm_max, warm0,   \
                   warm_doc)                                                  \
    FIELD(T, base, metric, INT, 0, OTK_METRIC_PNORM, 0,                        \
          OTK_METRIC_SQEUCLIDEAN,                                              \
          "cost: 0 sqeuclidean, 1 euclidean, 2 pnorm ||x - y||_p^p"),          \
    FIELD(T, base, p, REAL, 1, INFINITY, HI, 2, "exponent of pnorm"),          \
    FIELD(T, base, exact, INT, 0, exact_max, 0, 0,                             \
          "1: exact W (network simplex), 0: entropic"),                        \
    FIELD(T, base, reg, REAL, 0, INFINITY, HI, 0,                              \
          "entropic reg (0: relative_reg times its scale)"),                   \
    FIELD(T, base, relative_reg, REAL, 0, INFINITY, LO | HI, rel0,             \
          "reg relative to its scale, when reg = 0"),                          \
    FIELD(T, base, sinkhorn.tol, REAL, 0, INFINITY, HI, tol0,                  \
          "Sinkhorn: stop at a relative L1 marginal residual <= tol"),         \
    FIELD(T, base, sinkhorn.max_iter, COUNT, 1, INFINITY, 0, iter0,            \
          "Sinkhorn: iteration cap of one solve"),                             \
    FIELD(T, base, sinkhorn.warm_start, INT, 0, warm_max, 0, warm0, warm_doc)

static const otk_setting_bounds gap_table[] = {
    GAP_FIELDS(otk_mg_settings, , 1, 0.01, 1e-9, 10000, 0, 0,
               "Sinkhorn: no warm starts (every solve has new points)"),
};

/* The fit's inner solves (docs/mongegap.md, "Inner solves"): ott-jax's
 * training threshold 1e-3, far below the mini-batch's own noise; a cap
 * per solve that a warm-started solve never nears; warm starts from the
 * previous step; the residual checked every 2 iterations, since warm
 * starts converge in a few. */
static const otk_setting_bounds fit_table[] = {
    GAP_FIELDS(otk_mg_fit_settings, gap., 0, 0.3, 1e-3, 1000, 1, 1,
               "Sinkhorn: 1 warm-starts each step's solves from the last "
               "step's potentials"),
    FIELD(otk_mg_fit_settings, gap., sinkhorn.check_every, COUNT, 1, INFINITY,
          0, 2, "Sinkhorn: residual checked every this many iterations"),
    FIELD(otk_mg_fit_settings, , gap_reg_scale, INT, 0, 1, 0, 1,
          "scale of gap.relative_reg: 0 mean cost, 1 competitor margin"),
    FIELD(otk_mg_fit_settings, , lambda, REAL, 0, INFINITY, HI, 1,
          "weight of the Monge gap"),
    FIELD(otk_mg_fit_settings, , fit_reg, REAL, 0, INFINITY, HI, 0,
          "reg of the fitting loss (0: relative_fit_reg)"),
    FIELD(otk_mg_fit_settings, , relative_fit_reg, REAL, 0, INFINITY, LO | HI,
          0.3, "fit_reg relative to the mean cost of a target batch"),
    FIELD(otk_mg_fit_settings, , steps, COUNT, 1, INFINITY, 0, 1500,
          "Adam steps"),
    FIELD(otk_mg_fit_settings, , batch, COUNT, 2, INFINITY, 0, 256,
          "points per batch"),
    FIELD(otk_mg_fit_settings, , lr, REAL, 0, INFINITY, LO | HI, 3e-3,
          "Adam step size"),
    FIELD(otk_mg_fit_settings, , lr_schedule, INT, 0, 1, 0, 1,
          "step size over the run: 0 constant, 1 cosine to 0"),
    FIELD(otk_mg_fit_settings, , beta1, REAL, 0, 1, HI, 0.9,
          "Adam first-moment decay"),
    FIELD(otk_mg_fit_settings, , beta2, REAL, 0, 1, HI, 0.999,
          "Adam second-moment decay"),
    FIELD(otk_mg_fit_settings, , adam_eps, REAL, 0, INFINITY, LO | HI, 1e-8,
          "Adam denominator offset"),
    FIELD(otk_mg_fit_settings, , seed, ULONG, 0, INFINITY, 0, 0,
          "batch sampling seed"),
    FIELD(otk_mg_fit_settings, , validate_every, COUNT, 0, INFINITY, 0, 0,
          "validation every this many steps, best map kept (0: none)"),
    FIELD(otk_mg_fit_settings, , validation_fraction, REAL, 0, 1, LO | HI,
          0.1, "fraction of the rows held out for validation"),
};
/* clang-format on */
#define GAP_COUNT (sizeof gap_table / sizeof gap_table[0])
#define FIT_COUNT (sizeof fit_table / sizeof fit_table[0])

/* The tables read the metric as int. */
_Static_assert(sizeof(otk_metric) == sizeof(int), "enum size");

OTK__DEFINE_BOUNDS_QUERY(otk_mg_setting_bounds, gap_table)

OTK__DEFINE_BOUNDS_QUERY(otk_mg_fit_setting_bounds, fit_table)

void otk_mg_default_settings(otk_mg_settings *s)
{
    otk_sinkhorn_default_settings(&s->sinkhorn);
    otk__apply_defaults(gap_table, GAP_COUNT, s);
}

void otk_mg_fit_default_settings(otk_mg_fit_settings *s)
{
    otk_mg_default_settings(&s->gap);
    otk__apply_defaults(fit_table, FIT_COUNT, s);
    s->progress = NULL;
    s->progress_user = NULL;
}

/* The nested Sinkhorn settings against otkit/entropic.h's own table, after
 * this module's (which names the fields it lists): another field out of
 * range is named `whole`. */
static otk_status validate_sinkhorn(otk__call *call,
                                    const otk_sinkhorn_settings *s,
                                    const char *whole)
{
    size_t count = 0;
    const otk_setting_bounds *t = otk_sinkhorn_setting_bounds(&count);
    if (otk__check_settings(t, count, s) != NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, whole, SIZE_MAX);
    return OTK_CONVERGED;
}

otk_status otk__mg_validate(otk__call *call, const otk_mg_settings *s)
{
    otk_status st = otk__validate_settings(call, gap_table, GAP_COUNT, s);
    if (st != OTK_CONVERGED)
        return st;
    return validate_sinkhorn(call, &s->sinkhorn, "settings.sinkhorn");
}

otk_status otk__mg_fit_validate(otk__call *call, const otk_mg_fit_settings *s)
{
    otk_status st = otk__validate_settings(call, fit_table, FIT_COUNT, s);
    if (st != OTK_CONVERGED)
        return st;
    return validate_sinkhorn(call, &s->gap.sinkhorn, "settings.gap.sinkhorn");
}
