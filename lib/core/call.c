/* The start and end of every public call: one place fills the outcome
 * record, and one preamble checks a transport problem's inputs. */
#include <math.h>
#include <stdint.h>

#include "core/core.h"

otk__call otk__begin(otk_outcome *out)
{
    out->status = OTK_CONVERGED;
    out->bad_argument = NULL;
    out->bad_index = SIZE_MAX;
    out->cause = NULL;
    out->time_s = 0.0;
    otk__call call = {out, otk__now()};
    return call;
}

double otk__elapsed(const otk__call *call) { return otk__now() - call->t0; }

otk_status otk__fail(otk__call *call, otk_status st, const char *what,
                     size_t bad)
{
    call->out->bad_argument = what;
    call->out->bad_index = bad;
    return otk__finish(call, st);
}

otk_status otk__finish(otk__call *call, otk_status st)
{
    call->out->status = st;
    call->out->time_s = otk__elapsed(call);
    return st;
}

otk_status otk__validate_settings(otk__call *call,
                                  const otk_setting_bounds *table, size_t count,
                                  const void *settings)
{
    const otk_setting_bounds *bad = otk__check_settings(table, count, settings);
    if (bad != NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, bad->argument,
                         SIZE_MAX);
    return OTK_CONVERGED;
}

otk_status otk__check_transport(otk__call *call, const otk_cost *cost,
                                const double *a, const double *b, int balanced,
                                double mass_tol, double *mass_a, double *mass_b)
{
    const char *what = NULL;
    size_t bad = SIZE_MAX;
    otk_status st = otk__check_cost(cost, &what, &bad);
    if (st != OTK_CONVERGED)
        return otk__fail(call, st, what, bad);
    if ((st = otk__check_weights(a, cost->n, mass_a, &bad)) != OTK_CONVERGED)
        return otk__fail(call, st, "a", bad);
    if ((st = otk__check_weights(b, cost->m, mass_b, &bad)) != OTK_CONVERGED)
        return otk__fail(call, st, "b", bad);
    if (balanced && fabs(*mass_a - *mass_b) > mass_tol * fmax(*mass_a, *mass_b))
        return otk__fail(call, OTK_ERR_MASS_MISMATCH, "b", SIZE_MAX);
    return OTK_CONVERGED;
}

otk_status otk__check_reg(otk__call *call, double reg)
{
    if (!(reg > 0.0) || isinf(reg))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "reg", SIZE_MAX);
    return OTK_CONVERGED;
}
