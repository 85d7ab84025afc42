/*
 * Over-relaxation from the measured rate of plain Sinkhorn (Lehmann et
 * al. 2021), the rule docs/entropic.md describes: plain iterations until
 * two successive rates agree, then omega = 2 / (1 + sqrt(1 - r)); back to
 * plain iterations when the residual grows more than GROWTH times omega's
 * transient span (1 / (2 - omega) iterations, at most MAX_SPAN) in it,
 * or GROWTH-fold after it, or omega is no faster than plain
 * iterations for STALL_CHECKS checks after it (lib/entropic/sinkhorn.c
 * says why).
 */
#include <math.h>

#include "mpi/relax.h"

#define MAX_RATE (1.0 - 1e-8)
#define RATE_AGREE 1.5
#define STALL_CHECKS 3
#define MAX_SPAN 200.0
#define GROWTH 10.0

relax_state otk__relax_start(double relaxation)
{
    const relax_state fresh = {relaxation == 0.0, 0, NAN, NAN, NAN, NAN, 0, 0};
    return fresh;
}

void otk__relax_update(relax_state *rx, double *omega, double res, size_t k)
{
    if (!rx->adaptive)
        return;
    double rate = rx->prev_k > 0 && res < rx->prev_res
                      ? pow(res / rx->prev_res, 1.0 / (double)(k - rx->prev_k))
                      : 1.0;
    if (*omega != 1.0) {
        const double span = fmin(1.0 / (2.0 - *omega), MAX_SPAN);
        const int transient = (double)(k - rx->switch_k) < span;
        rx->stalls = rate >= rx->plain_rate && !transient ? rx->stalls + 1 : 0;
        if (res > GROWTH * (transient ? span : 1.0) * rx->switch_res ||
            rx->stalls >= STALL_CHECKS) {
            *omega = 1.0;
            rx->prev_rate = NAN;
            rx->stalls = 0;
        }
    } else if (rate < 1.0) {
        double q = (1.0 - rate) / (1.0 - rx->prev_rate);
        if (q > 1.0 / RATE_AGREE && q < RATE_AGREE) {
            rx->plain_rate = fmax(rate, rx->prev_rate);
            *omega = 2.0 / (1.0 + sqrt(1.0 - fmin(rx->plain_rate, MAX_RATE)));
            rx->switch_res = res;
            rx->switch_k = k;
            rx->stalls = 0;
        }
        rx->prev_rate = rate;
    } else {
        rx->prev_rate = NAN;
    }
    rx->prev_res = res;
    rx->prev_k = k;
}
