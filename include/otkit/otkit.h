/*
 * otkit: optimal-transport and bilevel-optimization solvers.
 *
 * The umbrella header: `#include <otkit/otkit.h>` gives the whole library.
 * What the modules share (version, otk_status, otk_cost, progress
 * callbacks) is documented in otkit/base.h, the convention every solver
 * follows in docs/api.md; each solver in its own header:
 *
 *   otkit/entropic.h   entropic OT (Sinkhorn), Sinkhorn divergence
 *   otkit/exact.h      exact OT (network simplex)
 *   otkit/quadratic.h  quadratically-regularized OT
 *   otkit/sparse.h     sparsity-constrained OT
 *   otkit/mongegap.h   Monge gap and map fitting
 */
#ifndef OTKIT_OTKIT_H
#define OTKIT_OTKIT_H

#include <otkit/base.h>
#include <otkit/entropic.h>
#include <otkit/exact.h>
#include <otkit/quadratic.h>
#include <otkit/sparse.h>
#include <otkit/mongegap.h>
#include <otkit/bilevel.h>

#endif /* OTKIT_OTKIT_H */
