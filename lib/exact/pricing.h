/*
 * Private: the network simplex's pricing kernel, the smallest reduced cost
 * over a contiguous piece of one cost row.
 */
#ifndef OTK_EXACT_PRICING_H
#define OTK_EXACT_PRICING_H

#include <stddef.h>

/*
 * The smallest r_j = (c[j] + p) - q[j] over j < len and, in *at, the first
 * j attaining it: exactly what a scalar scan with `if (r_j < best)` finds
 * (the same rounding, NaNs never taken). Returns +inf with *at = len when
 * no r_j is below +inf (len = 0, or only NaNs and +inf).
 */
double otk__ns_row_min(const double *c, double p, const double *q, size_t len,
                       size_t *at);

#endif
