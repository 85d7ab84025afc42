#include <otkit/base.h>

const char *otk_status_string(otk_status status)
{
    switch (status) {
    case OTK_CONVERGED: return "converged to the requested tolerance";
    case OTK_MAX_ITER:
        return "iteration limit reached before the tolerance; raise max_iter, "
               "loosen tol, or raise reg";
    case OTK_CANCELLED: return "cancelled by the progress callback";
    case OTK_STALLED:
        return "the optimizer stalled before the tolerance (line search "
               "failed); loosen tol, or raise gamma or k";
    case OTK_ERR_INVALID_ARGUMENT:
        return "invalid argument or setting (the info names it)";
    case OTK_ERR_NO_MEMORY: return "out of memory";
    case OTK_ERR_INVALID_INPUT:
        return "input holds NaN, infinity or a negative weight";
    case OTK_ERR_MASS_MISMATCH:
        return "the marginals have zero or unequal total mass; normalize them, "
               "or use finite tau_a/tau_b for unbalanced transport";
    case OTK_ERR_NUMERICAL:
        /* the only remedy that works in every domain and solver */
        return "iterates stopped being finite or accurate; raise reg";
    }
    return "unknown status";
}

const char *otk_status_name(otk_status status)
{
    switch (status) {
    case OTK_CONVERGED: return "converged";
    case OTK_MAX_ITER: return "max_iter";
    case OTK_CANCELLED: return "cancelled";
    case OTK_STALLED: return "stalled";
    case OTK_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case OTK_ERR_NO_MEMORY: return "no_memory";
    case OTK_ERR_INVALID_INPUT: return "invalid_input";
    case OTK_ERR_MASS_MISMATCH: return "mass_mismatch";
    case OTK_ERR_NUMERICAL: return "numerical_error";
    }
    return "unknown";
}
