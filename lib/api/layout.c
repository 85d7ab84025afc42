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

    OTK_STRUCT(otk_bilevel_problem),
    OTK_FIELD(otk_bilevel_problem, n),
    OTK_FIELD(otk_bilevel_problem, p),
    OTK_FIELD(otk_bilevel_problem, user),
    OTK_FIELD(otk_bilevel_problem, ll_grad),
    OTK_FIELD(otk_bilevel_problem, ll_hvp),
    OTK_FIELD(otk_bilevel_problem, cross_t),
    OTK_FIELD(otk_bilevel_problem, upper),
    OTK_FIELD(otk_bilevel_problem, ll_constants),
    OTK_FIELD(otk_bilevel_problem, cross_norm),
    OTK_FIELD(otk_bilevel_problem, ll_value),
    OTK_FIELD(otk_bilevel_problem, ll_solve),
    OTK_FIELD(otk_bilevel_problem, L_g),
    OTK_FIELD(otk_bilevel_problem, L_B),
    OTK_FIELD(otk_bilevel_problem, L_Ainv),
    OTK_FIELD(otk_bilevel_problem, lipschitz),
    OTK_FIELD(otk_bilevel_problem, g_convex),

    OTK_STRUCT(otk_bilevel_settings),
    OTK_FIELD(otk_bilevel_settings, method),
    OTK_FIELD(otk_bilevel_settings, lower_solver),
    OTK_FIELD(otk_bilevel_settings, eps0),
    OTK_FIELD(otk_bilevel_settings, delta0),
    OTK_FIELD(otk_bilevel_settings, alpha0),
    OTK_FIELD(otk_bilevel_settings, rho_under),
    OTK_FIELD(otk_bilevel_settings, rho_over),
    OTK_FIELD(otk_bilevel_settings, nu_under),
    OTK_FIELD(otk_bilevel_settings, nu_over),
    OTK_FIELD(otk_bilevel_settings, eta),
    OTK_FIELD(otk_bilevel_settings, check_descent),
    OTK_FIELD(otk_bilevel_settings, armijo_c),
    OTK_FIELD(otk_bilevel_settings, max_backtrack),
    OTK_FIELD(otk_bilevel_settings, max_rounds),
    OTK_FIELD(otk_bilevel_settings, max_refinements),
    OTK_FIELD(otk_bilevel_settings, eps_min),
    OTK_FIELD(otk_bilevel_settings, delta_min),
    OTK_FIELD(otk_bilevel_settings, max_iter),
    OTK_FIELD(otk_bilevel_settings, budget),
    OTK_FIELD(otk_bilevel_settings, grad_tol),
    OTK_FIELD(otk_bilevel_settings, ll_max_iter),
    OTK_FIELD(otk_bilevel_settings, cg_max_iter),
    OTK_FIELD(otk_bilevel_settings, hoag_decrease),
    OTK_FIELD(otk_bilevel_settings, theta_bound),
    OTK_FIELD(otk_bilevel_settings, progress),
    OTK_FIELD(otk_bilevel_settings, progress_user),

    OTK_STRUCT(otk_bilevel_info),
    OTK_FIELD(otk_bilevel_info, outcome),
    OTK_FIELD(otk_bilevel_info, iterations),
    OTK_FIELD(otk_bilevel_info, accepted),
    OTK_FIELD(otk_bilevel_info, upper_loss),
    OTK_FIELD(otk_bilevel_info, ll_iterations),
    OTK_FIELD(otk_bilevel_info, cg_iterations),
    OTK_FIELD(otk_bilevel_info, eps),
    OTK_FIELD(otk_bilevel_info, delta),
    OTK_FIELD(otk_bilevel_info, grad_norm),

    OTK_STRUCT(otk_bilevel_trace_row),
    OTK_FIELD(otk_bilevel_trace_row, iteration),
    OTK_FIELD(otk_bilevel_trace_row, upper_loss),
    OTK_FIELD(otk_bilevel_trace_row, upper_bound),
    OTK_FIELD(otk_bilevel_trace_row, lower_bound),
    OTK_FIELD(otk_bilevel_trace_row, eps),
    OTK_FIELD(otk_bilevel_trace_row, delta),
    OTK_FIELD(otk_bilevel_trace_row, step),
    OTK_FIELD(otk_bilevel_trace_row, omega),
    OTK_FIELD(otk_bilevel_trace_row, grad_norm),
    OTK_FIELD(otk_bilevel_trace_row, ll_iterations),
    OTK_FIELD(otk_bilevel_trace_row, cg_iterations),
    OTK_FIELD(otk_bilevel_trace_row, backtracks),
    OTK_FIELD(otk_bilevel_trace_row, accepted),
    OTK_FIELD(otk_bilevel_trace_row, time_s),
    OTK_FIELD(otk_bilevel_trace_row, theta),
};

const otk_layout_field *otk_layout(size_t *count)
{
    if (count)
        *count = sizeof layout / sizeof layout[0];
    return layout;
}
