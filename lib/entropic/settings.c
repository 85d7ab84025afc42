/* The Sinkhorn settings as data (docs/api.md): the bounds table, the
 * defaults it gives, and the validation of a settings struct against it. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "entropic/entropic_internal.h"

/* clang-format off */
/* One record: the field's name, how errors name it, its kind, range,
 * open ends, default and meaning. */
#define FIELD(name, kind, lo, hi, flags, def, meaning)                         \
    {#name, "settings." #name, kind, lo, hi, flags, def, meaning,              \
     offsetof(otk_sinkhorn_settings, name)}
#define REAL OTK_SETTING_REAL
#define COUNT OTK_SETTING_COUNT
#define INT OTK_SETTING_INTEGER
#define LO OTK_BOUND_LOWER_OPEN
#define HI OTK_BOUND_UPPER_OPEN

static const otk_setting_bounds table[] = {
    FIELD(tol, REAL, 0, INFINITY, HI, 1e-9,
          "stop at residual <= tol x mass (0: run to max_iter)"),
    FIELD(max_iter, COUNT, 1, INFINITY, 0, 10000,
          "iterations over all stages"),
    FIELD(check_every, COUNT, 1, INFINITY, 0, 10,
          "iterations between residual checks"),
    FIELD(tau_a, REAL, 0, INFINITY, LO, INFINITY,
          "KL penalty on the row marginal (inf: balanced)"),
    FIELD(tau_b, REAL, 0, INFINITY, LO, INFINITY,
          "KL penalty on the column marginal (inf: balanced)"),
    FIELD(domain, INT, OTK_DOMAIN_AUTO, OTK_DOMAIN_SCALING, 0,
          OTK_DOMAIN_AUTO, "domain: 0 auto, 1 log, 2 scaling"),
    FIELD(eps_scaling, INT, -1, 1, 0, -1,
          "epsilon scaling: -1 auto, 0 off, 1 on"),
    FIELD(eps_scaling_factor, REAL, 0, 1, LO | HI, 0.5,
          "factor between successive stage regs"),
    FIELD(warm_start, INT, 0, 1, 0, 0, "1: start from the given g"),
    FIELD(relaxation, REAL, 0, 2, HI, 0,
          "over-relaxation omega (0: adaptive, 1: plain)"),
    FIELD(threads, INT, 0, INFINITY, 0, 0,
          "threads (0: OpenMP default; clamped to OTK_MAX_THREADS)"),
    FIELD(multiscale, INT, -1, 1, 0, -1,
          "multiscale point clouds: -1 auto, 0 off, 1 on"),
    FIELD(truncation, REAL, 0, INFINITY, LO | HI, 10,
          "multiscale: drop kernel blocks below exp(-truncation)"),
};
/* clang-format on */
#define COUNT_OF (sizeof table / sizeof table[0])

/* The table reads the domain enum as int. */
_Static_assert(sizeof(otk_sinkhorn_domain) == sizeof(int), "enum size");

OTK__DEFINE_BOUNDS_QUERY(otk_sinkhorn_setting_bounds, table)

OTK__DEFINE_DEFAULT_SETTINGS(otk_sinkhorn_default_settings,
                             otk_sinkhorn_settings, table)

otk_status otk__sinkhorn_validate(otk__call *call,
                                  const otk_sinkhorn_settings *s)
{
    return otk__validate_settings(call, table, COUNT_OF, s);
}
