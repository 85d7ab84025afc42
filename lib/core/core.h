/*
 * Private core helpers shared by every module: wall-clock timing and input
 * validation. Nothing here is exported.
 */
#ifndef OTK_CORE_H
#define OTK_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <otkit/otkit.h>

/* Monotonic wall-clock seconds since an arbitrary origin. */
double otk__now(void);

/* Index of the first entry of v (len entries) that is NaN or +-inf, or
 * SIZE_MAX when all are finite. */
size_t otk__first_nonfinite(const double *v, size_t len);

/*
 * Validate a weight vector (NULL means uniform and is always valid):
 * every entry finite and >= 0, total > 0. On success stores the total
 * mass (1 for NULL) and returns OTK_CONVERGED (0); otherwise returns
 * OTK_ERR_INVALID_INPUT (bad entry, index in *bad) or
 * OTK_ERR_MASS_MISMATCH (zero total, *bad = SIZE_MAX).
 */
otk_status otk__check_weights(const double *w, size_t len, double *mass,
                              size_t *bad);

/*
 * The rule every solver applies before reporting its result: a result
 * holding a NaN or an infinity is never converged nor usable. Returns
 * OTK_ERR_NUMERICAL when st is not an error (>= 0) and one of the len
 * values is not finite; otherwise st. Chain it over each array of a
 * result: st = otk__finite_result(st, f, n); ...
 */
otk_status otk__finite_result(otk_status st, const double *v, size_t len);

/* Two masses agree for a balanced problem (relative difference <= 1e-9). */
int otk__masses_match(double mass_a, double mass_b);

/*
 * Validate a cost description: sizes, pointers, metric, p, scale and the
 * finiteness of every dense entry or point coordinate. Returns 0 or an
 * error status with *what naming the field and *bad the first bad index
 * (SIZE_MAX when not an array entry).
 */
otk_status otk__check_cost(const otk_cost *cost, const char **what,
                           size_t *bad);

#endif /* OTK_CORE_H */
