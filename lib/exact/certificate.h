/*
 * Private: the optimality certificate of the exact solver, checked on the
 * returned plan and potentials before OTK_OPTIMAL is reported.
 */
#ifndef OTK_EXACT_CERTIFICATE_H
#define OTK_EXACT_CERTIFICATE_H

#include <stddef.h>

#include <otkit/base.h>

/* The tolerance for an n x m problem whose costs lie in [lo, hi]: the
 * potentials are path sums of up to n + m costs, each rounded. */
double otk__exact_tolerance(size_t n, size_t m, double lo, double hi);

/*
 * 1 when the certificate holds, 0 when not: no duality gap
 * (|transport - dual| <= tol * mass), complementary slackness
 * (|C_ij - f_i - g_j| <= tol on the nnz plan entries) and dual
 * feasibility (C_ij - f_i - g_j >= -tol for every pair, a scan of every
 * row as one pricing pass). yt: the cost's prepared targets and row: m
 * doubles of scratch (both unused for a dense cost).
 */
int otk__exact_certified(const otk_cost *cost, const double *yt, double *row,
                         const double *f, const double *g,
                         const otk_plan_entry *plan, size_t nnz, double mass,
                         double transport, double dual, double tol);

#endif
