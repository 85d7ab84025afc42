/*
 * otk_layout(): the offsets and sizes of the public structs' fields, so
 * that bindings which lay the structs out themselves (the Python package's
 * ctypes Structures) can check at load time that they match this build.
 * It sits above every module because it describes all of their headers.
 */
#include <stddef.h>
#include <otkit/otkit.h>

#define OTK_FIELD(type, field)                                                 \
    {                                                                          \
#type, #field, offsetof(type, field), sizeof(((type *)0)->field)       \
    }
/* The struct's own record: field NULL, size = sizeof the struct. */
#define OTK_STRUCT(type)                                                       \
    {                                                                          \
#type, NULL, 0, sizeof(type)                                           \
    }

static const otk_layout_field layout[] = {
    OTK_STRUCT(otk_cost),
    OTK_FIELD(otk_cost, n),
    OTK_FIELD(otk_cost, m),
    OTK_FIELD(otk_cost, C),
    OTK_FIELD(otk_cost, x),
    OTK_FIELD(otk_cost, y),
    OTK_FIELD(otk_cost, d),
    OTK_FIELD(otk_cost, metric),
    OTK_FIELD(otk_cost, p),
    OTK_FIELD(otk_cost, scale),

    OTK_STRUCT(otk_plan_entry),
    OTK_FIELD(otk_plan_entry, i),
    OTK_FIELD(otk_plan_entry, j),
    OTK_FIELD(otk_plan_entry, value),

    OTK_STRUCT(otk_outcome),
    OTK_FIELD(otk_outcome, status),
    OTK_FIELD(otk_outcome, bad_argument),
    OTK_FIELD(otk_outcome, bad_index),
    OTK_FIELD(otk_outcome, cause),
    OTK_FIELD(otk_outcome, time_s),

    OTK_STRUCT(otk_progress),
    OTK_FIELD(otk_progress, solver),
    OTK_FIELD(otk_progress, iteration),
    OTK_FIELD(otk_progress, error),
    OTK_FIELD(otk_progress, reg),
    OTK_FIELD(otk_progress, objective),
    OTK_FIELD(otk_progress, elapsed_s),
    OTK_FIELD(otk_progress, detail),

    OTK_STRUCT(otk_problem),
    OTK_FIELD(otk_problem, cost),
    OTK_FIELD(otk_problem, a),
    OTK_FIELD(otk_problem, b),
    OTK_FIELD(otk_problem, reg),

    OTK_STRUCT(otk_solution),
    OTK_FIELD(otk_solution, f),
    OTK_FIELD(otk_solution, g),
    OTK_FIELD(otk_solution, P),
    OTK_FIELD(otk_solution, plan),
    OTK_FIELD(otk_solution, capacity),

    OTK_STRUCT(otk_sinkhorn_settings),
    OTK_FIELD(otk_sinkhorn_settings, tol),
    OTK_FIELD(otk_sinkhorn_settings, max_iter),
    OTK_FIELD(otk_sinkhorn_settings, check_every),
    OTK_FIELD(otk_sinkhorn_settings, tau_a),
    OTK_FIELD(otk_sinkhorn_settings, tau_b),
    OTK_FIELD(otk_sinkhorn_settings, domain),
    OTK_FIELD(otk_sinkhorn_settings, eps_scaling),
    OTK_FIELD(otk_sinkhorn_settings, eps_scaling_factor),
    OTK_FIELD(otk_sinkhorn_settings, warm_start),
    OTK_FIELD(otk_sinkhorn_settings, relaxation),
    OTK_FIELD(otk_sinkhorn_settings, threads),
    OTK_FIELD(otk_sinkhorn_settings, progress),
    OTK_FIELD(otk_sinkhorn_settings, progress_user),

    OTK_STRUCT(otk_sinkhorn_info),
    OTK_FIELD(otk_sinkhorn_info, outcome),
    OTK_FIELD(otk_sinkhorn_info, iterations),
    OTK_FIELD(otk_sinkhorn_info, stages),
    OTK_FIELD(otk_sinkhorn_info, domain),
    OTK_FIELD(otk_sinkhorn_info, marginal_error),
    OTK_FIELD(otk_sinkhorn_info, residual),
    OTK_FIELD(otk_sinkhorn_info, transport_cost),
    OTK_FIELD(otk_sinkhorn_info, objective),
    OTK_FIELD(otk_sinkhorn_info, dual_objective),

    OTK_STRUCT(otk_exact_settings),
    OTK_FIELD(otk_exact_settings, max_iter),
    OTK_FIELD(otk_exact_settings, mass_tol),
    OTK_FIELD(otk_exact_settings, warm_start),
    OTK_FIELD(otk_exact_settings, progress),
    OTK_FIELD(otk_exact_settings, progress_user),

    OTK_STRUCT(otk_exact_info),
    OTK_FIELD(otk_exact_info, outcome),
    OTK_FIELD(otk_exact_info, iterations),
    OTK_FIELD(otk_exact_info, nnz),
    OTK_FIELD(otk_exact_info, transport_cost),
    OTK_FIELD(otk_exact_info, dual_objective),
    OTK_FIELD(otk_exact_info, marginal_error),
    OTK_FIELD(otk_exact_info, rescaled),
    OTK_FIELD(otk_exact_info, warm_started),

    OTK_STRUCT(otk_quadratic_settings),
    OTK_FIELD(otk_quadratic_settings, formulation),
    OTK_FIELD(otk_quadratic_settings, tol),
    OTK_FIELD(otk_quadratic_settings, max_iter),
    OTK_FIELD(otk_quadratic_settings, history),
    OTK_FIELD(otk_quadratic_settings, threads),
    OTK_FIELD(otk_quadratic_settings, warm_start),
    OTK_FIELD(otk_quadratic_settings, progress),
    OTK_FIELD(otk_quadratic_settings, progress_user),

    OTK_STRUCT(otk_quadratic_info),
    OTK_FIELD(otk_quadratic_info, outcome),
    OTK_FIELD(otk_quadratic_info, iterations),
    OTK_FIELD(otk_quadratic_info, evaluations),
    OTK_FIELD(otk_quadratic_info, marginal_error),
    OTK_FIELD(otk_quadratic_info, transport_cost),
    OTK_FIELD(otk_quadratic_info, objective),
    OTK_FIELD(otk_quadratic_info, dual_objective),
    OTK_FIELD(otk_quadratic_info, nnz),
    OTK_FIELD(otk_quadratic_info, max_col_nnz),

    OTK_STRUCT(otk_mg_settings),
    OTK_FIELD(otk_mg_settings, metric),
    OTK_FIELD(otk_mg_settings, p),
    OTK_FIELD(otk_mg_settings, exact),
    OTK_FIELD(otk_mg_settings, reg),
    OTK_FIELD(otk_mg_settings, relative_reg),
    OTK_FIELD(otk_mg_settings, sinkhorn),

    OTK_STRUCT(otk_mg_info),
    OTK_FIELD(otk_mg_info, outcome),
    OTK_FIELD(otk_mg_info, monge_gap),
    OTK_FIELD(otk_mg_info, displacement_cost),
    OTK_FIELD(otk_mg_info, ot_cost),
    OTK_FIELD(otk_mg_info, reg),
    OTK_FIELD(otk_mg_info, iterations),
};

const otk_layout_field *otk_layout(size_t *count)
{
    if (count)
        *count = sizeof layout / sizeof layout[0];
    return layout;
}
