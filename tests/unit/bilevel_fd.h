/* Finite-difference checks of a bilevel problem's callbacks, shared by the
 * bilevel unit tests (one per problem family). */
#ifndef OTK_BILEVEL_FD_H
#define OTK_BILEVEL_FD_H

#include <otkit/bilevel.h>

/*
 * At (theta, x), along `directions` pseudo-random directions (seeded),
 * compares with central differences of step t: ll_grad with ll_value (when
 * present), ll_hvp with ll_grad, cross_t with ll_grad in theta, the
 * gradient of upper with its value; and checks cross_norm >= ||B^T q|| /
 * ||q||. Each comparison must agree to rtol relative to the larger side
 * (plus a tiny absolute floor); fails the current Check test naming the
 * callback otherwise.
 */
void bilevel_fd_check(const otk_bilevel_problem *pb, const double *theta,
                      const double *x, double t, double rtol, int directions);

#endif /* OTK_BILEVEL_FD_H */
