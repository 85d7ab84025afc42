/*
 * The distributed Sinkhorn driver: otk_sinkhorn's stages, iteration loop
 * and stopping rule (lib/entropic/sinkhorn.c) on distributed rows. Every
 * decision (stop, stage, relaxation, cancellation) rests on numbers that
 * every rank holds bit for bit, so the ranks never disagree.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mpi/dist.h"
#include "mpi/relax.h"

/* otk_sinkhorn's rules (lib/entropic/sinkhorn.c, docs/entropic.md). */
#define UNDERFLOW_COLSUM 1e-250
#define KEEP_GOING 1000

typedef struct run_state {
    const otk_sinkhorn_settings *s;
    otk__call *call;
    size_t iterations, stage;
    double residual;
} run_state;

/* The residual of the last sweep's plan (the same on every rank), checked
 * and passed to the callback; a cancellation on any rank stops all. */
static int measure(dist *D, const sweep_problem *pb, double tol, run_state *st)
{
    const otk_sinkhorn_workspace *ws = D->ws;
    double r = D->row_resid;
    for (size_t j = 0; j < D->m; j++) {
        double target = isinf(pb->tau_b)
                            ? ws->wb[j]
                            : ws->wb[j] * exp(-ws->g[j] / pb->tau_b);
        r += fabs(ws->colsum[j] - target);
    }
    st->residual = r;
    if (!isfinite(r))
        return OTK_ERR_NUMERICAL;
    int cancel = 0;
    if (st->s->progress != NULL) {
        const otk_sinkhorn_progress detail = {.stage = st->stage,
                                              .domain = OTK_DOMAIN_LOG};
        otk_progress p = {.solver = "sinkhorn",
                          .iteration = st->iterations,
                          .error = r,
                          .reg = pb->reg,
                          .objective = NAN,
                          .elapsed_s = otk__elapsed(st->call),
                          .detail = &detail};
        cancel = st->s->progress(st->s->progress_user, &p) != 0;
    }
    otk__mpi_allreduce(D->ctx, &cancel, 1, MPI_INT, MPI_LOR);
    if (cancel)
        return OTK_CANCELLED;
    return r <= tol ? OTK_CONVERGED : KEEP_GOING;
}

/* g of the next iteration from the reduced column sums, exactly down the
 * columns whose sums underflowed; the averaged update for a symmetric
 * problem (every f gathered). */
static void next_g(dist *D, const sweep_problem *pb)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const size_t m = D->m;
    if (D->symmetric) {
        otk__mpi_allgather(D->ctx, ws->f, D->f_all, D->rows, D->row_at, 1);
        for (size_t j = 0; j < m; j++)
            ws->g[j] = 0.5 * (ws->g[j] + D->f_all[j]);
        return;
    }
    size_t exact = 0;
    for (size_t j = 0; j < m; j++) {
        if (ws->wb[j] == 0.0)
            continue;
        double c = ws->colsum[j];
        if (!(c > UNDERFLOW_COLSUM && isfinite(c))) {
            D->cols_exact[exact++] = j;
            continue;
        }
        double T = pb->lam_b * (ws->g[j] - pb->reg * log(c / ws->wb[j]));
        ws->g[j] =
            pb->omega == 1.0 ? T : (1.0 - pb->omega) * ws->g[j] + pb->omega * T;
    }
    if (exact == 0)
        return;
    otk__dist_exact_columns(D, pb, exact, ws->h);
    for (size_t k = 0; k < exact; k++) {
        size_t j = D->cols_exact[k];
        double T = ws->h[k];
        ws->g[j] =
            pb->omega == 1.0 ? T : (1.0 - pb->omega) * ws->g[j] + pb->omega * T;
    }
}

/* Iterate at one reg until the residual is <= tol, the budget runs out,
 * a callback cancels or the iterates stop being finite; the potentials
 * are those of the last measured plan. */
static otk_status run_stage(dist *D, const sweep_problem *pb_in, double tol,
                            size_t budget, run_state *st)
{
    sweep_problem pb = *pb_in;
    relax_state rx = otk__relax_start(D->symmetric ? 1.0 : st->s->relaxation);
    pb.omega = rx.adaptive ? 1.0 : D->symmetric ? 1.0 : st->s->relaxation;
    for (size_t k = 1; k <= budget; k++) {
        otk__dist_sweep(D, &pb);
        st->iterations++;
        if (st->iterations % st->s->check_every == 0 || k == budget) {
            int r = measure(D, &pb, tol, st);
            if (r != KEEP_GOING)
                return (otk_status)r;
            otk__relax_update(&rx, &pb.omega, st->residual, k);
        }
        if (k >= budget)
            return OTK_MAX_ITER;
        next_g(D, &pb);
    }
    return OTK_MAX_ITER;
}

/* The epsilon-scaling stages from reg_s down to reg. */
static otk_status run_stages(dist *D, sweep_problem *pb, double reg,
                             double reg_s, double tol_abs, double mass_ref,
                             run_state *rs)
{
    const otk_sinkhorn_settings *s = rs->s;
    for (;;) {
        int last = reg_s <= reg;
        if (last)
            reg_s = reg;
        otk__set_reg(pb, s, reg_s);
        size_t budget;
        double tol;
        otk__stage_limits(s, last, rs->iterations, tol_abs, mass_ref, &budget,
                          &tol);
        rs->stage++;
        otk_status st = run_stage(D, pb, tol, budget, rs);
        if (st < 0 || st == OTK_CANCELLED || last ||
            rs->iterations >= s->max_iter)
            return !last && st == OTK_CONVERGED ? OTK_MAX_ITER : st;
        next_g(D, pb);
        reg_s *= s->eps_scaling_factor;
    }
}

/* This rank's blocks of the potentials (f back from C - shift). */
static void write_potentials(const dist *D, double shift, otk_solution *sol)
{
    if (sol != NULL && sol->f != NULL)
        for (size_t i = 0; i < D->n_loc; i++)
            sol->f[i] = D->ws->f[i] + shift;
    if (sol != NULL && sol->g != NULL)
        memcpy(sol->g, D->ws->g + D->col0, D->m_loc * sizeof *sol->g);
}

/* A solve after the collective setup; ends the call. */
static otk_status solve_set_up(dist *D, otk__call *call, const otk_problem *pr,
                               const otk_sinkhorn_settings *s,
                               otk_solution *sol, double mass_a, double mass_b,
                               otk_sinkhorn_info *info)
{
    const double reg = pr->reg;
    const int balanced = isinf(s->tau_a) && isinf(s->tau_b);
    const double bscale = balanced ? mass_b / mass_a : 1.0;
    if (balanced)
        mass_b = mass_a;
    double lo, hi;
    otk__dist_cost_bounds(D, &lo, &hi);
    if (reg < OTK__MIN_REL_REG * (hi - lo))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "reg", SIZE_MAX);
    const double mass_ref = 0.5 * (mass_a + mass_b);
    const double tol_abs = s->tol * mass_ref;
    run_state rs = {s, call, 0, 0, NAN};
    sweep_problem pb = {&D->cost, reg,      1.0, 1.0,
                        s->tau_a, s->tau_b, lo,  balanced ? lo : 0.0,
                        1.0};
    otk_status st = run_stages(D, &pb, reg, otk__first_reg(s, hi - lo, reg),
                               tol_abs, mass_ref, &rs);
    info->stages = rs.stage;
    if (st == OTK_MAX_ITER)
        call->out->cause = pb.reg != reg ? "max_iter_stage" : "max_iter";
    if (pb.reg != reg) {
        /* stopped in an earlier stage: rows exact at reg (not counted) */
        otk__set_reg(&pb, s, reg);
        pb.omega = 1.0;
        otk__dist_sweep(D, &pb);
    }
    info->iterations = rs.iterations;
    info->domain = OTK_DOMAIN_LOG;
    D->ctx->stats.iterations += rs.iterations;
    otk__dist_finalize(D, &pb, bscale, mass_a, mass_b,
                       sol != NULL ? sol->P : NULL, info);
    if (st >= 0 && !(isfinite(info->objective) && isfinite(info->residual)))
        st = OTK_ERR_NUMERICAL;
    if (st == OTK_CONVERGED &&
        !(info->residual <= 2.0 * tol_abs + 1e-12 * mass_ref))
        st = OTK_ERR_NUMERICAL;
    write_potentials(D, pb.shift, sol);
    return otk__finish(call, st);
}

/* One solve within a call whose context (and stats) the caller owns. */
static otk_status solve_in(mpi_ctx *ctx, const otk_problem *problem,
                           const otk_sinkhorn_settings *settings,
                           otk_solution *solution, otk_sinkhorn_info *info)
{
    otk_sinkhorn_info local;
    otk__call call = otk__sinkhorn_begin(&info, &local);
    otk_sinkhorn_settings defaults;
    if (settings == NULL) {
        otk_sinkhorn_default_settings(&defaults);
        settings = &defaults;
    }
    dist D;
    double mass_a, mass_b;
    otk_status st = otk__dist_setup(&D, ctx, &call, problem, settings, solution,
                                    &mass_a, &mass_b);
    if (st == OTK_CONVERGED)
        st = solve_set_up(&D, &call, problem, settings, solution, mass_a,
                          mass_b, info);
    otk__dist_free(&D);
    return st;
}

otk_status otk_sinkhorn_mpi(MPI_Comm comm, const otk_problem *local,
                            const otk_sinkhorn_settings *settings,
                            otk_solution *local_solution,
                            otk_sinkhorn_info *info, otk_mpi_stats *stats)
{
    mpi_ctx ctx;
    otk__mpi_ctx_init(&ctx, comm);
    otk_status st = solve_in(&ctx, local, settings, local_solution, info);
    otk__mpi_ctx_stats(&ctx, stats);
    return st;
}

/* Errors dominate; among successes, any non-convergence shows. */
static otk_status worse(otk_status x, otk_status y)
{
    if (x < 0 || y < 0)
        return x < y ? x : y;
    return x > y ? x : y;
}

otk_status otk_sinkhorn_divergence_mpi(MPI_Comm comm, const otk_problem *local,
                                       const otk_sinkhorn_settings *settings,
                                       double *divergence,
                                       otk_solution *local_solution,
                                       otk_sinkhorn_info info[3],
                                       otk_mpi_stats *stats)
{
    otk_sinkhorn_info records[3];
    if (info == NULL)
        info = records;
    mpi_ctx ctx;
    otk__mpi_ctx_init(&ctx, comm);
    otk_sinkhorn_settings cold;
    otk__cold_settings(settings, &cold);
    if (divergence != NULL)
        *divergence = NAN;
    otk_sinkhorn_info *rec = &info[0];
    otk__call call = otk__sinkhorn_begin(&rec, NULL);
    otk_status st = otk__mpi_agree(
        &ctx, &call, divergence == NULL ? OTK_ERR_INVALID_ARGUMENT : 0,
        "divergence", SIZE_MAX);
    for (int k = 1; k < 3; k++) {
        rec = &info[k];
        otk__sinkhorn_begin(&rec, NULL);
    }
    if (st == OTK_CONVERGED)
        st = solve_in(&ctx, local, &cold, local_solution, &info[0]);
    if (st >= 0) {
        const otk_cost *c = local->cost;
        otk_cost xx = *c, yy = *c;
        xx.y = c->x;
        xx.m = c->n;
        yy.x = c->y;
        yy.n = c->m;
        const otk_problem pxx = {&xx, local->a, local->a, local->reg};
        const otk_problem pyy = {&yy, local->b, local->b, local->reg};
        st = worse(st, solve_in(&ctx, &pxx, &cold, NULL, &info[1]));
        if (st >= 0)
            st = worse(st, solve_in(&ctx, &pyy, &cold, NULL, &info[2]));
    }
    if (st >= 0) {
        double w[2] = {0.0, 0.0};
        for (size_t i = 0; local->a != NULL && i < local->cost->n; i++)
            w[0] += local->a[i];
        for (size_t j = 0; local->b != NULL && j < local->cost->m; j++)
            w[1] += local->b[j];
        otk__mpi_sum(&ctx, w, 2);
        const double ma = local->a ? w[0] : 1.0, mb = local->b ? w[1] : 1.0;
        *divergence = info[0].dual_objective -
                      0.5 * (info[1].dual_objective + info[2].dual_objective) +
                      0.5 * local->reg * (ma - mb) * (ma - mb);
    }
    otk__mpi_ctx_stats(&ctx, stats);
    return st;
}
