/* The bilevel settings as data (docs/api.md): the bounds table, the
 * defaults it gives, and the validation of a settings struct against it
 * and the conditions that link two fields. */
#include "settings.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* clang-format off */
/* One record: the field's name, how errors name it, its kind, range,
 * open ends, default and meaning. */
#define FIELD(name, kind, lo, hi, flags, def, meaning)                         \
    {#name, "settings." #name, kind, lo, hi, flags, def, meaning,              \
     offsetof(otk_bilevel_settings, name)}
#define REAL OTK_SETTING_REAL
#define COUNT OTK_SETTING_COUNT
#define INT OTK_SETTING_INTEGER
#define LO OTK_BOUND_LOWER_OPEN
#define HI OTK_BOUND_UPPER_OPEN

static const otk_setting_bounds table[] = {
    FIELD(method, INT, 0, OTK_BILEVEL_HOAG_CUBIC, 0, OTK_BILEVEL_MAID,
          "method: 0 maid, 1 fixed, 2-4 hoag geometric, quadratic, cubic"),
    FIELD(lower_solver, INT, 0, OTK_BILEVEL_AUTO, 0, OTK_BILEVEL_AUTO,
          "lower-level solver: 0 fista, 1 gd, 2 l-bfgs, 3 auto"),
    FIELD(eps0, REAL, 0, INFINITY, LO | HI, 0.1,
          "initial lower-level accuracy"),
    FIELD(delta0, REAL, 0, INFINITY, LO | HI, 0.1, "initial CG residual"),
    FIELD(error_mode, INT, 0, OTK_BILEVEL_CERTIFIED, 0, OTK_BILEVEL_PRACTICAL,
          "error bound: 0 practical, 1 certified"),
    FIELD(alpha0, REAL, 0, INFINITY, HI, 0,
          "initial step size (0: HOAG's first step)"),
    FIELD(rho_under, REAL, 0, 1, LO | HI, 0.5, "step shrink per backtrack"),
    FIELD(rho_over, REAL, 1, INFINITY, HI, 10.0 / 9.0,
          "step growth after an accepted step"),
    FIELD(rho_fast, REAL, 1, INFINITY, HI, 1.5,
          "step growth until the first backtrack"),
    FIELD(qn_pairs, COUNT, 0, 100, 0, 8,
          "practical MAID: L-BFGS pairs (0: steepest descent)"),
    FIELD(nu_under, REAL, 0, 1, LO | HI, 0.5, "accuracy tightening"),
    FIELD(nu_over, REAL, 1, INFINITY, HI, 1.05,
          "accuracy relaxing after an accepted step"),
    FIELD(eta, REAL, 0, 1, LO | HI, 1e-4,
          "descent test margin: omega <= (1 - eta) ||z||"),
    FIELD(check_descent, INT, 0, 1, 0, 1, "1: descent test on (maid)"),
    FIELD(armijo_c, REAL, 0, 1, LO | HI, 1e-8,
          "sufficient-decrease fraction, below eta"),
    FIELD(max_backtrack, COUNT, 1, INFINITY, 0, 10,
          "backtracking trials in the first round"),
    FIELD(max_rounds, COUNT, 1, INFINITY, 0, 3,
          "rounds of backtracking per outer iteration"),
    FIELD(max_refinements, COUNT, 0, INFINITY, 0, 60,
          "refinements of eps and delta for one hypergradient"),
    FIELD(eps_min, REAL, 0, INFINITY, HI, 1e-14, "floor of eps"),
    FIELD(delta_min, REAL, 0, INFINITY, HI, 1e-14, "floor of delta"),
    FIELD(max_iter, COUNT, 0, INFINITY, 0, 1000, "outer iterations"),
    FIELD(budget, REAL, 0, INFINITY, 0, 1e6,
          "lower-level + CG iterations (0: none)"),
    FIELD(grad_tol, REAL, 0, INFINITY, HI, 0,
          "stop when ||z|| <= grad_tol (0: never)"),
    FIELD(ll_max_iter, COUNT, 1, INFINITY, 0, 100000,
          "iterations of one lower-level solve"),
    FIELD(cg_max_iter, COUNT, 1, INFINITY, 0, 100000,
          "iterations of one CG solve"),
    FIELD(cg_warm_start, INT, 0, 1, 0, 1,
          "1: CG starts from the previous q"),
    FIELD(ll_mu_floor, REAL, 0, INFINITY, HI, 0.01,
          "practical lower-level stop: max(mu, floor) eps"),
    FIELD(hoag_decrease, REAL, 0, 1, LO | HI, 0.9,
          "HOAG's geometric decrease factor"),
    FIELD(theta_bound, REAL, 0, INFINITY, LO, 1000,
          "theta is clipped to [-theta_bound, theta_bound]"),
};
/* clang-format on */
#define COUNT_OF (sizeof table / sizeof table[0])

/* The table reads enums as int. */
_Static_assert(sizeof(otk_bilevel_method) == sizeof(int), "enum size");
_Static_assert(sizeof(otk_bilevel_lower_solver) == sizeof(int), "enum size");
_Static_assert(sizeof(otk_bilevel_error_mode) == sizeof(int), "enum size");

OTK__DEFINE_BOUNDS_QUERY(otk_bilevel_setting_bounds, table)

OTK__DEFINE_DEFAULT_SETTINGS(otk_bilevel_default_settings, otk_bilevel_settings,
                             table)

void otk_bilevel_paper_settings(otk_bilevel_settings *s)
{
    otk_bilevel_default_settings(s);
    s->error_mode = OTK_BILEVEL_CERTIFIED;
    s->alpha0 = 0.01;
    s->rho_fast = s->rho_over;
    s->qn_pairs = 0;
    s->cg_warm_start = 0;
    s->lower_solver = OTK_BILEVEL_FISTA;
}

otk_status otkb_validate_settings(otk__call *call,
                                  const otk_bilevel_settings *s)
{
    otk_status st = otk__validate_settings(call, table, COUNT_OF, s);
    if (st != OTK_CONVERGED)
        return st;
    if (!(s->armijo_c < s->eta))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "settings.armijo_c",
                         SIZE_MAX);
    return OTK_CONVERGED;
}
