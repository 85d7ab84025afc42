/*
 * The adaptive over-relaxation of otk_sinkhorn (settings.relaxation = 0),
 * for the distributed driver: the same rule, fed with the same global
 * residuals on every rank, so every rank takes the same decisions.
 */
#ifndef OTK_MPI_RELAX_H
#define OTK_MPI_RELAX_H

#include <stddef.h>

typedef struct relax_state {
    int adaptive, stalls;
    double prev_res, prev_rate, plain_rate, switch_res;
    size_t prev_k, switch_k;
} relax_state;

/* A fresh state; adaptive when the relaxation setting is 0. */
relax_state otk__relax_start(double relaxation);
/* The check at iteration k of the stage with residual res: updates
 * *omega (1 for plain iterations). */
void otk__relax_update(relax_state *rx, double *omega, double res, size_t k);

#endif
