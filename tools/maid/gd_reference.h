/* Exact gradient descent on the quadratic family's upper level: the
 * reference a first-order method's optimality gap is read against when
 * the instance is too ill-conditioned for any of them to converge. */
#ifndef OTK_MAID_GD_REFERENCE_H
#define OTK_MAID_GD_REFERENCE_H

#include <stddef.h>

#include <otkit/bilevel.h>

/*
 * The relative gap (f - f*) / f* after `iterations` steps of gradient
 * descent with step 1 / L_f from in->theta0, L_f = lambda_max of the
 * upper-level Hessian (f is quadratic: found by power iteration on
 * differences of hypergradients). Every hypergradient is solved to
 * eps = delta = 1e-9 relative, so the steps are exact to rounding. NaN
 * when a solve fails or the instance has no known optimum.
 */
double otkmaid_gd_gap(const otk_bilevel_instance *in, size_t iterations);

#endif
