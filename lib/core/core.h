/*
 * Private core helpers shared by every module: wall-clock timing, the
 * start and end of every public call (the otk_outcome record), settings
 * validation from the bounds tables, and input validation. Nothing here
 * is exported.
 */
#ifndef OTK_CORE_H
#define OTK_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <otkit/base.h>

/* Monotonic wall-clock seconds since an arbitrary origin. */
double otk__now(void);

/*
 * The start and the end of a public call. Every solver entry does
 *
 *     otk__call call = otk__begin(&info->outcome);
 *     ... if (bad) return otk__fail(&call, OTK_ERR_..., "field", index);
 *     ... return otk__finish(&call, status);
 *
 * so that every path, error or not, fills the same outcome fields.
 */
typedef struct otk__call {
    otk_outcome *out;
    double t0;
} otk__call;

/* Resets *out (status 0, no bad argument, bad_index SIZE_MAX, no cause)
 * and starts the clock. */
otk__call otk__begin(otk_outcome *out);
/* Ends the call with an error naming the argument (may be NULL) and the
 * first bad index (SIZE_MAX for none); returns st. */
otk_status otk__fail(otk__call *call, otk_status st, const char *what,
                     size_t bad);
/* Ends the call with st (and the cause set so far); returns st. */
otk_status otk__finish(otk__call *call, otk_status st);
/* Seconds since the call started. */
double otk__elapsed(const otk__call *call);

/* Defines the public query `const otk_setting_bounds *FN(size_t *count)`
 * of a module's bounds table TABLE (a static array): every module's
 * otk_X_setting_bounds is this one function. */
#define OTK__DEFINE_BOUNDS_QUERY(FN, TABLE)                                    \
    const otk_setting_bounds *FN(size_t *count)                                \
    {                                                                          \
        if (count != NULL)                                                     \
            *count = sizeof TABLE / sizeof TABLE[0];                           \
        return TABLE;                                                          \
    }

/* Defines `void FN(TYPE *s)`, a module's otk_X_default_settings: the
 * table's defaults, and no progress callback. */
#define OTK__DEFINE_DEFAULT_SETTINGS(FN, TYPE, TABLE)                          \
    void FN(TYPE *s)                                                           \
    {                                                                          \
        otk__apply_defaults(TABLE, sizeof TABLE / sizeof TABLE[0], s);         \
        s->progress = NULL;                                                    \
        s->progress_user = NULL;                                               \
    }

/* The first record of the table whose field in `settings` is outside its
 * bounds, or NULL when all are valid. */
const otk_setting_bounds *otk__check_settings(const otk_setting_bounds *table,
                                              size_t count,
                                              const void *settings);
/* Writes every field's default from the table into `settings` (fields
 * the table does not list, such as callbacks, are left alone). */
void otk__apply_defaults(const otk_setting_bounds *table, size_t count,
                         void *settings);
/* The validation part of a call's preamble: fails the call with the
 * settings field at fault, or returns 0. */
otk_status otk__validate_settings(otk__call *call,
                                  const otk_setting_bounds *table, size_t count,
                                  const void *settings);

/*
 * The input part of a transport call's preamble, in one order: the cost,
 * then a and b (otk__check_weights), then, when balanced is nonzero, the
 * masses (relative difference <= mass_tol, else OTK_ERR_MASS_MISMATCH
 * naming "b"). Fails the call naming the argument, or returns 0 with the
 * masses (1 for NULL weights).
 */
otk_status otk__check_transport(otk__call *call, const otk_cost *cost,
                                const double *a, const double *b, int balanced,
                                double mass_tol, double *mass_a,
                                double *mass_b);

/* reg > 0 and finite, else fails the call naming "reg". */
otk_status otk__check_reg(otk__call *call, double reg);

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
