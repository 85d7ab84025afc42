/* The shared linear-algebra layer: BLAS binding, exp and log-sum-exp
 * kernels against libm, and point-cloud cost rows against entries. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "linalg/linalg.h"
#include "linalg/par.h"
#include "testutil.h"

START_TEST(cblas_binds_to_openblas)
{
    /* libopenblas and GSL's libgslcblas both export cblas_*; the first on
     * the link line wins. GSL's reference CBLAS is many times slower, so
     * binding to it would be a silent performance bug. */
    const char *lib = otk__blas_library();
    ck_assert_msg(strstr(lib, "openblas") != NULL,
                  "cblas_ddot resolves to '%s', not OpenBLAS", lib);
    ck_assert_msg(strstr(lib, "gslcblas") == NULL,
                  "cblas_ddot resolves to GSL's reference CBLAS (%s)", lib);
    double x[3] = {1, 2, 3}, y[3] = {4, 5, 6};
    ck_assert_double_eq(otk__dot(3, x, y), 32.0);
    otk__axpy(3, 2.0, x, y);
    ck_assert_double_eq(y[2], 12.0);
}
END_TEST

/* C = alpha op(A) op(B) + beta C in long double, and the bound on a
 * double evaluation's error, k eps sum |alpha a b| + eps |beta c|. */
static void gemm_oracle(int ta, int tb, size_t m, size_t n, size_t k,
                        double alpha, const double *a, const double *b,
                        double beta, const double *c, long double *ref,
                        double *bound)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0.0L, mag = 0.0L;
            for (size_t p = 0; p < k; p++) {
                long double t =
                    (long double)(ta ? a[p * m + i] : a[i * k + p]) *
                    (tb ? b[j * k + p] : b[p * n + j]);
                s += t;
                mag += fabsl(t);
            }
            ref[i * n + j] = alpha * s + (long double)beta * c[i * n + j];
            bound[i * n + j] =
                (double)((k + 2) * DBL_EPSILON *
                         (fabsl(alpha) * mag +
                          fabsl((long double)beta * c[i * n + j])));
        }
}

START_TEST(gemm_tiles_stay_on_the_calling_thread)
{
    /* otk__gemm issues small products in tiles that OpenBLAS runs on the
     * calling thread (m n k <= 65536 x 4 in Debian's build), so that its
     * thread pool is not woken for a training loop's layers; the tiles
     * must obey that bound and the result must be right to rounding, as
     * one call's (not bit for bit: OpenBLAS's small-matrix kernels, on
     * AVX-512 machines, apply beta in the same pass) */
    static const size_t shapes[][3] = {
        {256, 64, 64},  {256, 64, 8}, {64, 64, 256}, {300, 70, 129},
        {3, 1000, 500}, {1, 1, 10},   {2000, 3, 5}};
    const double tile_max = 65536.0 * 4.0;
    for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
        const size_t m = shapes[q][0], n = shapes[q][1], k = shapes[q][2];
        size_t rows, cols;
        otk__gemm_tile_shape(m, n, k, &rows, &cols);
        ck_assert(rows >= 1 && rows <= m && cols >= 1 && cols <= n);
        ck_assert_msg((double)rows * (double)cols * (double)k <= tile_max,
                      "%zu x %zu x %zu: tile %zu x %zu would use threads", m, n,
                      k, rows, cols);
        double *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b);
        double *c0 = malloc(4 * m * n * sizeof *c0), *bound = c0 + 3 * m * n;
        long double *ref = malloc(m * n * sizeof *ref);
        ck_assert(a && b && c0 && ref);
        double *c1 = c0 + m * n, *c2 = c1 + m * n;
        srand(17 + (unsigned)q);
        for (size_t t = 0; t < m * k; t++)
            a[t] = (double)rand() / RAND_MAX - 0.5;
        for (size_t t = 0; t < k * n; t++)
            b[t] = (double)rand() / RAND_MAX - 0.5;
        for (int tr = 0; tr < 4; tr++) {
            const int ta = tr & 1, tb = tr >> 1;
            for (size_t t = 0; t < m * n; t++)
                c0[t] = c1[t] = c2[t] = (double)(t % 7) - 3.0;
            gemm_oracle(ta, tb, m, n, k, 0.75, a, b, -0.5, c0, ref, bound);
            otk__gemm(ta, tb, m, n, k, 0.75, a, b, -0.5, c0);
            otk__gemm_tiled(ta, tb, m, n, k, 0.75, a, b, -0.5, c1, m, n);
            /* odd tiles: the edges of every kernel block */
            otk__gemm_tiled(ta, tb, m, n, k, 0.75, a, b, -0.5, c2, 3, 5);
            for (size_t t = 0; t < m * n; t++) {
                ck_assert_double_le(fabs((double)(c0[t] - ref[t])), bound[t]);
                ck_assert_double_le(fabs((double)(c1[t] - ref[t])), bound[t]);
                ck_assert_double_le(fabs((double)(c2[t] - ref[t])), bound[t]);
            }
        }
        free(a);
        free(b);
        free(c0);
        free(ref);
    }
}
END_TEST

/* Relative error of the kernel against libm over [lo, hi]. */
static double exp_error(double lo, double hi, size_t len)
{
    double *x = malloc(len * sizeof *x), *y = malloc(len * sizeof *y);
    ck_assert(x && y);
    for (size_t i = 0; i < len; i++)
        x[i] = lo + (hi - lo) * (double)i / (double)(len - 1);
    double sum = otk__exp_shift_sum(x, 0.0, y, len), ref_sum = 0.0;
    double worst = 0.0;
    for (size_t i = 0; i < len; i++) {
        double e = exp(x[i]);
        ref_sum += e;
        /* subnormal results carry fewer bits: compare absolutely there */
        double err =
            e >= DBL_MIN ? fabs(y[i] - e) / e : fabs(y[i] - e) / DBL_MIN;
        worst = fmax(worst, err);
    }
    ck_assert_double_le(fabs(sum - ref_sum), 1e-13 * ref_sum + 1e-300);
    free(x);
    free(y);
    return worst;
}

START_TEST(exp_kernel_accuracy)
{
    /* Lengths not multiples of 8 exercise the vector tails too. */
    ck_assert_double_le(exp_error(-1.0, 1.0, 1001), 1e-15);
    ck_assert_double_le(exp_error(-700.0, 700.0, 100003), 1e-15);
    ck_assert_double_le(exp_error(-745.0, -700.0, 999), 1e-15);
}
END_TEST

START_TEST(exp_kernel_special_values)
{
    double x[] = {-INFINITY, -1e300, -746.0, 0.0,   710.0, 1e300,
                  INFINITY,  NAN,    -745.1, 709.7, 1.0};
    const size_t n = sizeof x / sizeof x[0];
    double y[sizeof x / sizeof x[0]];
    otk__exp_shift_sum(x, 0.0, y, n);
    ck_assert_double_eq(y[0], 0.0);
    ck_assert_double_eq(y[1], 0.0);
    ck_assert_double_eq(y[2], 0.0);
    ck_assert_double_eq(y[3], 1.0);
    ck_assert(isinf(y[4]) && y[4] > 0);
    ck_assert(isinf(y[5]) && y[5] > 0);
    ck_assert(isinf(y[6]) && y[6] > 0);
    ck_assert(isnan(y[7]));
    ck_assert_double_eq(y[8], exp(-745.1));
    ck_assert_double_eq_tol(y[9] / exp(709.7), 1.0, 1e-15);
    ck_assert_double_eq_tol(y[10], exp(1.0), 1e-15);
}
END_TEST

/* Arguments whose exp is 0 (far below -745, which is most of a Sinkhorn
 * row at small reg) must not go through an underflowing product: the CPU
 * handles tiny results on a slow path several times the cost of an exp.
 * The underflow flag is raised exactly when such a product was made. */
START_TEST(exp_kernel_zero_results_do_not_underflow)
{
    enum { N = 203 };
    double x[N], y[N], h[N], c[N];
    for (int j = 0; j < N; j++) {
        x[j] = -750.0 - 10.0 * j;
        h[j] = j % 7 == 0 ? -INFINITY : 0.0;
        c[j] = 800.0 + j;
    }
    feclearexcept(FE_ALL_EXCEPT);
    double s1 = otk__exp_shift_sum(x, 0.0, y, N);
    double s2 = otk__exp_affine_sum(h, 1.0, c, 0.0, y, N);
    ck_assert_msg(!fetestexcept(FE_UNDERFLOW),
                  "an exp with result 0 underflowed (the slow path)");
    ck_assert(s1 == 0.0 && s2 == 0.0);
    for (int j = 0; j < N; j++)
        ck_assert_double_eq(y[j], 0.0);
}
END_TEST

START_TEST(lse_kernels)
{
    enum { N = 37 };
    double h[N], c[N], e[N], e1[N], t[N];
    unsigned long long st = 7;
    for (int j = 0; j < N; j++) {
        h[j] = 50.0 * test_uniform(&st) - 25.0;
        c[j] = 10.0 * test_uniform(&st);
        t[j] = h[j] - 3.0 * c[j];
    }
    h[5] = -INFINITY; /* a zero weight */
    t[5] = -INFINITY;
    double mx, sum;
    otk__lse_affine(h, 3.0, c, e, N, &mx, &sum);
    double ref = -INFINITY;
    for (int j = 0; j < N; j++)
        ref = fmax(ref, t[j]);
    ck_assert_double_eq(mx, ref);
    double direct = 0.0;
    for (int j = 0; j < N; j++)
        direct += exp(t[j] - ref);
    assert_close("sum", sum, direct, 1e-14, 0.0);
    assert_close("lse", otk__lse(t, N), ref + log(direct), 1e-15, 0.0);
    /* the one-pass variant with a shift that is off by 30 */
    double s1 = otk__exp_affine_sum(h, 3.0, c, mx + 30.0, e1, N);
    assert_close("one-pass lse", mx + 30.0 + log(s1), mx + log(sum), 1e-15,
                 0.0);
    ck_assert_double_eq(e1[5], 0.0);
    /* huge magnitudes: no overflow in the two-pass form */
    for (int j = 0; j < N; j++)
        h[j] = 1e6 + j;
    otk__lse_affine(h, 0.0, c, e, N, &mx, &sum);
    ck_assert(isfinite(mx + log(sum)));
    assert_close("big lse", mx + log(sum),
                 1e6 + N - 1 + log(1.0 / (1.0 - exp(-1.0))), 1e-12, 0.0);
    /* all -inf */
    for (int j = 0; j < N; j++)
        h[j] = -INFINITY;
    otk__lse_affine(h, 1.0, c, e, N, &mx, &sum);
    ck_assert(mx == -INFINITY && sum == 0.0);
}
END_TEST

START_TEST(cost_rows_match_entries)
{
    enum { N = 7, M = 13, D = 3 };
    double x[N * D], y[M * D], yt[M * D], row[M], col[N];
    unsigned long long st = 11;
    test_gaussian_points(x, N, D, 0.0, &st);
    test_gaussian_points(y, M, D, 1.0, &st);
    const otk_metric metrics[] = {OTK_METRIC_SQEUCLIDEAN, OTK_METRIC_EUCLIDEAN,
                                  OTK_METRIC_PNORM, OTK_METRIC_PNORM};
    const double ps[] = {2.0, 2.0, 1.0, 3.5};
    for (int k = 0; k < 4; k++) {
        otk_cost c = otk_cost_points(N, M, D, x, y, metrics[k], ps[k]);
        c.scale = 0.7;
        ck_assert_uint_eq(otk__cost_scratch_len(&c), M * D);
        otk__cost_prepare(&c, yt);
        double lo, hi;
        otk__cost_bounds(&c, &lo, &hi);
        for (size_t i = 0; i < N; i++) {
            const double *r = otk__cost_row(&c, yt, i, row);
            for (size_t j = 0; j < M; j++) {
                double ref = 0.0;
                for (int q = 0; q < D; q++) {
                    double t = fabs(x[i * D + q] - y[j * D + q]);
                    ref +=
                        metrics[k] == OTK_METRIC_PNORM ? pow(t, ps[k]) : t * t;
                }
                if (metrics[k] == OTK_METRIC_EUCLIDEAN)
                    ref = sqrt(ref);
                ref *= 0.7;
                assert_close("row entry", r[j], ref, 1e-13, 0.0);
                assert_close("entry", otk__cost_entry(&c, i, j), ref, 1e-13,
                             0.0);
                ck_assert(r[j] >= lo && r[j] <= hi);
            }
        }
        otk__cost_col(&c, 4, col);
        for (size_t i = 0; i < N; i++)
            ck_assert_double_eq(col[i], otk__cost_entry(&c, i, 4));
    }
    double C[6] = {3, -1, 4, 1, 5, 9};
    otk_cost dense = otk_cost_dense(2, 3, C);
    double lo, hi;
    otk__cost_bounds(&dense, &lo, &hi);
    ck_assert_double_eq(lo, -1.0);
    ck_assert_double_eq(hi, 9.0);
    ck_assert_ptr_eq(otk__cost_row(&dense, NULL, 1, row), C + 3);
}
END_TEST

/* C_ij by its definition, for the oracle below. */
static double pair_cost_ref(const otk_cost *c, size_t i, size_t j)
{
    if (c->C != NULL)
        return c->C[i * c->m + j];
    double s = 0.0;
    for (size_t q = 0; q < c->d; q++) {
        double t = fabs(c->x[i * c->d + q] - c->y[j * c->d + q]);
        s += c->metric == OTK_METRIC_PNORM ? pow(t, c->p) : t * t;
    }
    return c->scale * (c->metric == OTK_METRIC_EUCLIDEAN ? sqrt(s) : s);
}

/* One cost (dense or points) through otk__cost_rows_exp: every entry
 * against libm's exp of the definition, and bit for bit against the
 * untiled path (otk__cost_row minus cshift, otk__exp_affine_sum), which
 * the sweeps' fallback uses; the sums to rounding. The buffers are offset
 * by one double so that nothing is 32-byte aligned. */
static void check_rows_exp(const otk_cost *c, double cshift, double s,
                           unsigned long long *st)
{
    const size_t n = c->n, m = c->m, rows = n;
    double *yt = malloc((otk__cost_scratch_len(c) + 1) * sizeof *yt);
    double *h = malloc((m + 1) * sizeof *h), *row = malloc(m * sizeof *row);
    double *e = malloc((rows * m + 1) * sizeof *e),
           *e1 = malloc(m * sizeof *e1);
    double *tile = malloc((otk__cost_exp_scratch_len(c) + 1) * sizeof *tile);
    ck_assert(yt && h && row && e && e1 && tile);
    otk__cost_prepare(c, yt + 1);
    for (size_t j = 0; j < m; j++)
        h[j + 1] = j % 11 == 3 ? -INFINITY : 2.0 * test_uniform(st) - 1.0;
    double shift[4] = {-1.5, NAN, 0.25, 0.6}, sum[4];
    ck_assert(rows <= 4);
    for (size_t k = 0; k < rows * m + 1; k++)
        e[k] = -7.0; /* to see the skipped row untouched */
    otk__cost_rows_exp(c, yt + 1, 0, rows, cshift, h + 1, s, shift, e + 1, sum,
                       tile + 1);
    ck_assert_double_eq(sum[1], 0.0);
    /* the expanded form moves each exponent by at most s times its bound
     * (<= 1e-11), else the entries are the untiled ones bit for bit */
    const int expanded = otk__cost_uses_expanded(c, yt + 1, s);
    const double arg_err =
        expanded ? s * otk__cost_expanded_error(c, yt + 1) : 0.0;
    ck_assert(arg_err <= 1e-11);
    for (size_t r = 0; r < rows; r += r == 0 ? 2 : 1) {
        const double *cr = otk__cost_row(c, yt + 1, r, row);
        for (size_t j = 0; j < m; j++)
            e1[j] = cr[j] - cshift;
        double s1 = otk__exp_affine_sum(h + 1, s, e1, shift[r], e1, m);
        double ref_sum = 0.0;
        for (size_t j = 0; j < m; j++) {
            double arg =
                h[j + 1] - s * (pair_cost_ref(c, r, j) - cshift) - shift[r];
            double ref = exp(arg), got = e[1 + r * m + j];
            ref_sum += ref;
            assert_close("entry", got, ref, 1e-12 + arg_err, 0.0);
            if (expanded)
                assert_close("entry vs untiled", got, e1[j],
                             1.01 * arg_err + 1e-14, 0.0);
            else
                ck_assert_msg(got == e1[j],
                              "tiled and untiled differ (r %zu j %zu)", r, j);
        }
        assert_close("sum", sum[r], ref_sum, 1e-13 + arg_err, 0.0);
        assert_close("sum vs untiled", sum[r], s1, 1e-14 + 1.01 * arg_err, 0.0);
    }
    for (size_t j = 0; j < m; j++)
        ck_assert_double_eq(e[1 + m + j], -7.0);
    free(yt);
    free(h);
    free(row);
    free(e);
    free(e1);
    free(tile);
}

/* The tiled sweep kernel over dimensions and widths that are not
 * multiples of the vector width or of the tile (which depends on d). */
START_TEST(cost_rows_exp_property)
{
    const size_t ds[] = {1, 2, 3, 5, 8, 16, 17, 64, 65};
    const size_t ms[] = {1, 3, 7, 65, 409, 1001};
    const otk_metric metrics[] = {OTK_METRIC_SQEUCLIDEAN, OTK_METRIC_EUCLIDEAN,
                                  OTK_METRIC_PNORM, OTK_METRIC_PNORM};
    const double ps[] = {2.0, 2.0, 1.5, 2.0};
    unsigned long long st = 5;
    enum { N = 3 };
    for (size_t a = 0; a < sizeof ds / sizeof *ds; a++)
        for (size_t b = 0; b < sizeof ms / sizeof *ms; b++) {
            const size_t d = ds[a], m = ms[b];
            double *x = malloc(N * d * sizeof *x),
                   *y = malloc(m * d * sizeof *y);
            ck_assert(x && y);
            test_gaussian_points(x, N, d, 0.0, &st);
            test_gaussian_points(y, m, d, 0.3, &st);
            for (int k = 0; k < 4; k++) {
                otk_cost c = otk_cost_points(N, m, d, x, y, metrics[k], ps[k]);
                c.scale = k == 1 || k == 3 ? 1.0 : 0.5;
                /* s C stays within about 20 of cshift: entries of O(1) */
                check_rows_exp(&c, k == 0 ? 0.0 : 0.75, 0.5 / (double)d, &st);
            }
            double *C = malloc(N * m * sizeof *C);
            ck_assert(C != NULL);
            for (size_t k = 0; k < N * m; k++)
                C[k] = 1e3 + 3.0 * test_uniform(&st);
            otk_cost dense = otk_cost_dense(N, m, C);
            check_rows_exp(&dense, 1e3, 2.0, &st);
            for (size_t k = 0; k < N * m; k++)
                C[k] -= 1e3;
            check_rows_exp(&dense, 0.0, 2.0, &st);
            free(C);
            free(x);
            free(y);
        }
}
END_TEST

/* The fused distance-and-exponential kernel (d < 8, scale 1: the cost
 * never leaves the registers) at the tile boundaries: widths one below, at
 * and one above a whole tile and several tiles, none a multiple of the
 * vector width except the tile itself, four rows (one skipped). Each entry
 * against libm's exp of the definition and bit for bit against the
 * untiled path (check_rows_exp). */
START_TEST(fused_rows_exp_at_tile_boundaries)
{
    unsigned long long st = 23;
    enum { N = 4 };
    for (size_t d = 1; d < 8; d++) {
        double probe_y[1] = {0};
        otk_cost probe = otk_cost_points(1, 1u << 20, d, probe_y, probe_y,
                                         OTK_METRIC_SQEUCLIDEAN, 2.0);
        const size_t tile = otk__cost_exp_scratch_len(&probe);
        const size_t ms[] = {tile - 1, tile, tile + 1, 3 * tile + 5};
        for (size_t b = 0; b < sizeof ms / sizeof *ms; b++) {
            const size_t m = ms[b];
            double *x = malloc(N * d * sizeof *x),
                   *y = malloc(m * d * sizeof *y);
            ck_assert(x && y);
            test_gaussian_points(x, N, d, 0.0, &st);
            test_gaussian_points(y, m, d, 0.3, &st);
            for (int k = 0; k < 2; k++) {
                otk_cost c = otk_cost_points(N, m, d, x, y,
                                             k == 0 ? OTK_METRIC_SQEUCLIDEAN
                                                    : OTK_METRIC_EUCLIDEAN,
                                             2.0);
                check_rows_exp(&c, 0.0, 0.5 / (double)d, &st);
                check_rows_exp(&c, 0.75, 0.5 / (double)d, &st);
            }
            free(x);
            free(y);
        }
    }
}
END_TEST

/* The dense rows' kernel, which subtracts the shift of the cost on the
 * fly: bit for bit the plain kernel over a shifted copy (sums included,
 * the same lanes), and each entry against libm's exp, for widths around
 * the vector widths and one past the prefetch distance. */
START_TEST(exp_affine_shift_sum_is_the_shifted_copy)
{
    enum { N = 1100 };
    double *h = malloc(N * sizeof *h), *c = malloc(N * sizeof *c),
           *cs = malloc(N * sizeof *cs), *e = malloc(N * sizeof *e),
           *e1 = malloc(N * sizeof *e1);
    ck_assert(h && c && cs && e && e1);
    unsigned long long st = 19;
    const double cshift = 1e3, s = 2.0, shift = 0.3;
    for (size_t j = 0; j < N; j++) {
        h[j] = j % 13 == 4 ? -INFINITY : 2.0 * test_uniform(&st) - 1.0;
        c[j] = cshift + 3.0 * test_uniform(&st);
        cs[j] = c[j] - cshift;
    }
    const size_t lens[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 17, 31, 1027};
    for (size_t q = 0; q < sizeof lens / sizeof *lens; q++) {
        const size_t len = lens[q];
        double got = otk__exp_affine_shift_sum(h, s, c, cshift, shift, e, len);
        double want = otk__exp_affine_sum(h, s, cs, shift, e1, len);
        ck_assert_msg(got == want, "sum differs at len %zu", len);
        double ref_sum = 0.0;
        for (size_t j = 0; j < len; j++) {
            ck_assert_msg(e[j] == e1[j], "entry %zu of %zu differs", j, len);
            double ref = exp((h[j] - s * (c[j] - cshift)) - shift);
            ref_sum += ref;
            assert_close("entry", e[j], ref, 1e-14, 0.0);
        }
        assert_close("sum", got, ref_sum, 1e-14, 0.0);
    }
    free(h);
    free(c);
    free(cs);
    free(e);
    free(e1);
}
END_TEST

/* Sum of squared differences in long double: the definition to about
 * 1e-19 relative. */
static long double sq_dist_ref(const double *x, const double *y, size_t d)
{
    long double s = 0.0L;
    for (size_t k = 0; k < d; k++) {
        long double t = (long double)x[k] - (long double)y[k];
        s += t * t;
    }
    return s;
}

/* The expanded form's error bound: (d + 3) eps (R_x + R_y)^2 scale, R the
 * largest distance to the midpoint of the clouds' common bounding box. */
static double expanded_bound_ref(const otk_cost *c)
{
    const size_t d = c->d;
    double mid[64], rx = 0.0, ry = 0.0;
    for (size_t k = 0; k < d; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < c->n; i++) {
            lo = fmin(lo, c->x[i * d + k]);
            hi = fmax(hi, c->x[i * d + k]);
        }
        for (size_t j = 0; j < c->m; j++) {
            lo = fmin(lo, c->y[j * d + k]);
            hi = fmax(hi, c->y[j * d + k]);
        }
        mid[k] = 0.5 * lo + 0.5 * hi;
    }
    for (size_t i = 0; i < c->n; i++)
        rx = fmax(rx, (double)sq_dist_ref(c->x + i * d, mid, d));
    for (size_t j = 0; j < c->m; j++)
        ry = fmax(ry, (double)sq_dist_ref(c->y + j * d, mid, d));
    double r = sqrt(rx) + sqrt(ry);
    return (double)(d + 3) * DBL_EPSILON * r * r * c->scale;
}

/* The expanded point-cloud costs ||x'||^2 + ||y'||^2 - 2 x'.y' against the
 * definition: every entry within otk__cost_expanded_error, which is the
 * stated formula, for nearby points (costs near 0, where the form cancels
 * most), far points, and clouds far from the origin (which the centring
 * must remove: without it the error would grow with the offset squared). */
START_TEST(expanded_costs_within_their_bound)
{
    const size_t ds[] = {8, 9, 16, 31, 64};
    const size_t ms[] = {1, 9, 45};
    const double offsets[] = {0.0, 1e3, 1e6};
    enum { N = 6 };
    unsigned long long st = 23;
    for (size_t a = 0; a < sizeof ds / sizeof *ds; a++)
        for (size_t b = 0; b < sizeof ms / sizeof *ms; b++)
            for (int kind = 0; kind < 3; kind++)
                for (size_t o = 0; o < 3; o++) {
                    const size_t d = ds[a], m = ms[b];
                    double *x = malloc(N * d * sizeof *x),
                           *y = malloc(m * d * sizeof *y);
                    ck_assert(x && y);
                    test_gaussian_points(x, N, d, offsets[o], &st);
                    if (kind == 0) /* overlapping clouds */
                        test_gaussian_points(y, m, d, offsets[o] + 0.3, &st);
                    for (size_t j = 0; kind == 1 && j < m * d; j++)
                        /* nearby: a source point moved by ~1e-7 */
                        y[j] = x[(j / d % N) * d + j % d] +
                               1e-7 * (test_uniform(&st) - 0.5);
                    if (kind == 2) /* far: 100 standard deviations away */
                        test_gaussian_points(y, m, d, offsets[o] + 100.0, &st);
                    otk_cost c = otk_cost_points(N, m, d, x, y,
                                                 OTK_METRIC_SQEUCLIDEAN, 2.0);
                    c.scale = o == 1 ? 0.7 : 1.0;
                    double *yt = malloc(otk__cost_scratch_len(&c) * sizeof *yt);
                    double *out = malloc(4 * m * sizeof *out);
                    ck_assert(yt && out);
                    otk__cost_prepare(&c, yt);
                    const double bound = otk__cost_expanded_error(&c, yt);
                    const double ref_bound = expanded_bound_ref(&c);
                    assert_close("bound", bound, ref_bound, 1e-6, 0.0);
                    for (size_t i0 = 0; i0 < N; i0 += 4) {
                        size_t rows = N - i0 < 4 ? N - i0 : 4;
                        otk__cost_rows_expanded(&c, yt, i0, rows, out);
                        for (size_t r = 0; r < rows; r++)
                            for (size_t j = 0; j < m; j++) {
                                long double ref = sq_dist_ref(x + (i0 + r) * d,
                                                              y + j * d, d) *
                                                  c.scale;
                                double err =
                                    (double)fabsl(out[r * m + j] - ref);
                                ck_assert_msg(
                                    err <= bound,
                                    "d %zu kind %d offset %g: |error| %g > "
                                    "bound %g (cost %g)",
                                    d, kind, offsets[o], err, bound,
                                    (double)ref);
                            }
                    }
                    free(x);
                    free(y);
                    free(yt);
                    free(out);
                }
}
END_TEST

/* Point-cloud cost bounds are the exact min and max over all pairs (up to
 * a few ulp of widening), not a bounding-box estimate: in d = 16 and 64
 * the bounding box gives several times the true max, and the solver's
 * epsilon-scaling rule reads the range. */
START_TEST(point_cost_bounds_are_tight)
{
    enum { N = 60, M = 45 };
    const size_t dims[] = {1, 16, 64};
    const otk_metric metrics[] = {OTK_METRIC_SQEUCLIDEAN, OTK_METRIC_EUCLIDEAN,
                                  OTK_METRIC_PNORM, OTK_METRIC_PNORM};
    const double ps[] = {2.0, 2.0, 1.0, 3.5};
    unsigned long long st = 17;
    for (int q = 0; q < 3; q++) {
        const size_t d = dims[q];
        double *x = malloc(N * d * sizeof *x), *y = malloc(M * d * sizeof *y);
        test_gaussian_points(x, N, d, 0.0, &st);
        test_gaussian_points(y, M, d, 0.5, &st);
        for (int k = 0; k < 4; k++) {
            otk_cost c = otk_cost_points(N, M, d, x, y, metrics[k], ps[k]);
            c.scale = 0.7;
            double mn = INFINITY, mx = -INFINITY, box = 0.0;
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < M; j++) {
                    double v = otk__cost_entry(&c, i, j);
                    mn = fmin(mn, v);
                    mx = fmax(mx, v);
                }
            double lo, hi;
            otk__cost_bounds(&c, &lo, &hi);
            /* valid bounds of every entry */
            ck_assert_msg(lo <= mn && hi >= mx,
                          "d %zu metric %d: [%g, %g] misses [%g, %g]", d, k, lo,
                          hi, mn, mx);
            /* and tight: 1e-12 relative, far inside the "few %" needed */
            assert_close("lo", lo, mn, 1e-12, 0.0);
            assert_close("hi", hi, mx, 1e-12, 0.0);
            /* the rows split in pieces give the same bounds */
            const size_t yl = otk__cost_scratch_len(&c);
            double *yt = malloc((yl + M) * sizeof *yt);
            otk__cost_prepare(&c, yt);
            double lo1, hi1, lo2, hi2;
            otk__cost_rows_bounds(&c, yt, 0, 23, yt + yl, &lo1, &hi1);
            otk__cost_rows_bounds(&c, yt, 23, N, yt + yl, &lo2, &hi2);
            ck_assert_double_eq(fmin(lo1, lo2), lo);
            ck_assert_double_eq(fmax(hi1, hi2), hi);
            otk__cost_rows_bounds(&c, yt, 5, 5, yt + yl, &lo1, &hi1);
            ck_assert(lo1 == INFINITY && hi1 == -INFINITY);
            free(yt);
            /* what the bounding box of both clouds would have given */
            for (size_t r = 0; r < d; r++) {
                double a = INFINITY, b = -INFINITY;
                for (size_t i = 0; i < N; i++) {
                    a = fmin(a, x[i * d + r]);
                    b = fmax(b, x[i * d + r]);
                }
                for (size_t j = 0; j < M; j++) {
                    a = fmin(a, y[j * d + r]);
                    b = fmax(b, y[j * d + r]);
                }
                box += metrics[k] == OTK_METRIC_PNORM ? pow(b - a, ps[k])
                                                      : (b - a) * (b - a);
            }
            if (metrics[k] == OTK_METRIC_EUCLIDEAN)
                box = sqrt(box);
            if (d == 16 && k == 0) /* the case of the benchmark review */
                ck_assert_double_gt(0.7 * box, 3.0 * hi);
        }
        free(x);
        free(y);
    }
}
END_TEST

START_TEST(vector_ops)
{
    enum { N = 1003 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    double *z = malloc(N * sizeof *z);
    ck_assert(x && y && z);
    unsigned long long st = 3;
    for (int i = 0; i < N; i++) {
        x[i] = test_uniform(&st) - 0.5;
        y[i] = test_uniform(&st) - 0.5;
        z[i] = y[i];
    }
    assert_close("vdot", otk__vdot(N, x, y), otk__dot(N, x, y), 1e-13, 1e-15);
    otk__vaxpy(N, -1.5, x, y);
    otk__axpy(N, -1.5, x, z);
    assert_close_vec("vaxpy", y, z, N, 1e-15, 0.0);
    ck_assert_int_ge(otk__threads(0), 1);
    ck_assert_int_eq(otk__threads(3) == 3 || otk__threads(3) == 1, 1);
    free(x);
    free(y);
    free(z);
}
END_TEST

/* otk__vaxpy4, the sweeps' column sums: every column against the
 * formula, for lengths around the 4- and 8-lane widths, and every column
 * of a whole 4-column group the same chain y + a0 x0 + a1 x1 + a2 x2 +
 * a3 x3 in order, exactly: of fused multiply-adds or of products and sums
 * (as the build contracts them), one kind for all columns whatever their
 * position; the last len % 4 columns are summed as one expression. */
START_TEST(vaxpy4_lanes_are_fused_chains)
{
    enum { N = 1003 };
    double *x = malloc(4 * N * sizeof *x), *y = malloc(N * sizeof *y),
           *y0 = malloc(N * sizeof *y0);
    ck_assert(x && y && y0);
    unsigned long long st = 29;
    const double a[4] = {0.3, -1.7, 2.9, 1e-3};
    int seen = 0; /* the kind of chain of the columns so far */
    const size_t lens[] = {0, 1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, N};
    for (size_t q = 0; q < sizeof lens / sizeof *lens; q++) {
        const size_t len = lens[q];
        for (size_t j = 0; j < 4 * len; j++)
            x[j] = test_uniform(&st) - 0.5;
        for (size_t j = 0; j < len; j++)
            y[j] = y0[j] = test_uniform(&st) - 0.5;
        otk__vaxpy4(len, a, x, y);
        for (size_t j = 0; j < len; j++) {
            const double *c = x + j;
            long double ref = (long double)y0[j];
            for (int k = 0; k < 4; k++)
                ref += (long double)a[k] * (long double)c[k * len];
            assert_close("vaxpy4", y[j], (double)ref, 1e-14, 1e-15);
            if (j < len / 4 * 4) {
                double fused = y0[j], plain = y0[j];
                for (int k = 0; k < 4; k++) {
                    fused = fma(a[k], c[k * len], fused);
                    double p = a[k] * c[k * len];
                    plain = plain + p;
                }
                int kind = fused == plain  ? (y[j] == fused ? seen : -1)
                           : y[j] == fused ? 1
                           : y[j] == plain ? 2
                                           : -1;
                ck_assert_msg(kind >= 0 && (seen == 0 || kind == seen),
                              "column %zu of %zu: not the chain (kind %d, "
                              "others %d)",
                              j, len, kind, seen);
                seen = kind; /* (unchanged where both chains agree) */
            }
        }
    }
    free(x);
    free(y);
    free(y0);
}
END_TEST

/* otk__vaxpy4_back, the sweeps' column sums taken back to front in tiles
 * of 512 columns: every column against a scalar long double reference
 * and bit-identical to otk__vaxpy4 (the sums the sweeps had before), for
 * widths that are not multiples of the tile or of the lanes. A tile
 * skipped, taken twice, or summed by another path would show. */
START_TEST(vaxpy4_back_is_vaxpy4)
{
    enum { N = 2 * 512 + 517 };
    double *x = malloc(4 * N * sizeof *x), *y = malloc(N * sizeof *y),
           *y1 = malloc(N * sizeof *y1), *y0 = malloc(N * sizeof *y0);
    ck_assert(x && y && y1 && y0);
    unsigned long long st = 31;
    const double a[4] = {-0.7, 1.3, 1e-2, 2.1};
    const size_t lens[] = {0, 1, 3, 5, 511, 512, 513, 515, 1023, 1025, N};
    for (size_t q = 0; q < sizeof lens / sizeof *lens; q++) {
        const size_t len = lens[q];
        for (size_t j = 0; j < 4 * len; j++)
            x[j] = test_uniform(&st) - 0.5;
        for (size_t j = 0; j < len; j++)
            y[j] = y1[j] = y0[j] = test_uniform(&st) - 0.5;
        otk__vaxpy4_back(len, a, x, y);
        otk__vaxpy4(len, a, x, y1);
        for (size_t j = 0; j < len; j++) {
            long double ref = (long double)y0[j];
            for (int k = 0; k < 4; k++)
                ref += (long double)a[k] * (long double)x[k * len + j];
            assert_close("vaxpy4_back", y[j], (double)ref, 1e-14, 1e-15);
            ck_assert_msg(y[j] == y1[j], "column %zu of %zu: %.17g, not %.17g",
                          j, len, y[j], y1[j]);
        }
    }
    free(x);
    free(y);
    free(y1);
    free(y0);
}
END_TEST

/* A threads setting is clamped to min(OTK_MAX_THREADS, 4 x processors):
 * 100000 threads crashed inside the OpenMP runtime, 20000 made libgomp
 * print and exit the process. Solves with such settings run normally. */
START_TEST(threads_are_clamped)
{
    const int asked[] = {20000, 100000, 2147483647};
    for (int k = 0; k < 3; k++) {
        int t = otk__threads(asked[k]);
        ck_assert_int_ge(t, 1);
        ck_assert_int_le(t, OTK_MAX_THREADS);
    }
    ck_assert_int_eq(otk__threads(1), 1);
    double C[6] = {0, 1, 2, 1, 0, 1};
    otk_cost cost = otk_cost_dense(2, 3, C);
    otk_sinkhorn_settings ss;
    otk_sinkhorn_default_settings(&ss);
    otk_quadratic_settings qs;
    otk_quadratic_default_settings(&qs);
    for (int k = 0; k < 2; k++) {
        ss.threads = qs.threads = asked[k];
        ck_assert_int_eq(otk_sinkhorn(&(otk_problem){&cost, NULL, NULL, 0.5},
                                      &ss, NULL, NULL),
                         OTK_CONVERGED);
        ck_assert_int_eq(otk_quadratic(&(otk_problem){&cost, NULL, NULL, 0.5},
                                       &qs, NULL, NULL),
                         OTK_CONVERGED);
    }
}
END_TEST

/* A made-up clock for the threading decider: each region (a begin and an
 * end call, in turn) lasts what region_time says for its mode; the mode of
 * the region is the one otk__par_begin returned (recorded by the test
 * loop below), or, inside solvers, fixed by the region's index. */
static double fake_t;
static unsigned long fake_calls;
static double (*region_time)(unsigned long region);

static double fake_clock(void)
{
    if (fake_calls++ % 2 == 1)
        fake_t += region_time(fake_calls / 2 - 1);
    return fake_t;
}

static double team_cost, alone_cost;
static int last_team;
static double by_mode(unsigned long region)
{
    (void)region;
    return last_team > 1 ? team_cost : alone_cost;
}

/* Runs `count` regions through p; returns how many ran as a team. */
static unsigned long run_regions(otk__par *p, unsigned long count)
{
    unsigned long teams = 0;
    for (unsigned long r = 0; r < count; r++) {
        last_team = otk__par_begin(p);
        teams += last_team > 1;
        otk__par_end(p);
    }
    return teams;
}

/* The decider on made-up times: until it has measured, regions (the
 * first one and the one-off ones) run on the calling thread; a team three
 * times slower than one thread (a core taken by another process) is
 * dropped after the first pair of probing regions and tried again ever more
 * rarely; when the load goes away the team comes back within the longest probe
 * interval; a new decider starts from the last choice; close times take both
 * pairs; a team a hundred times slower costs a bounded share of the time; a
 * fast team is kept, one thread tried only at the probes; one part never reads
 * the clock. */
START_TEST(par_decider_follows_the_measurements)
{
    double (*saved)(void) = otk__par_clock;
    otk__par_clock = fake_clock;
    region_time = by_mode;
    otk__par p;
    otk__par_hint = 0;
    otk__par_init(&p, 2);
    team_cost = 3.0;
    alone_cost = 1.0;
    ck_assert_int_eq(otk__par_team(&p), 1); /* not measured yet */
    unsigned long teams = otk__par_regions[1];
    ck_assert_uint_eq(run_regions(&p, 1), 0); /* alone first */
    ck_assert_uint_eq(run_regions(&p, 1), 1); /* team: clearly slower */
    ck_assert_uint_eq(otk__par_regions[1], teams + 1);
    ck_assert_uint_le(run_regions(&p, 1000), 7); /* probes: 60, .., 256 */
    ck_assert_int_eq(otk__par_begin(&p) > 1 && p.count != p.next_probe, 0);
    otk__par_end(&p);
    otk__par q; /* a new decider starts where the last choice was */
    otk__par_init(&q, 2);
    ck_assert_uint_eq(run_regions(&q, 8), 0);
    team_cost = 0.5; /* the other process is gone */
    run_regions(&p, 300);
    ck_assert_uint_ge(run_regions(&p, 100), 99);
    otk__par_hint = 0;
    team_cost = 1.5; /* close: two pairs */
    otk__par_init(&p, 2);
    ck_assert_uint_eq(run_regions(&p, 4), 2);
    ck_assert_int_eq(p.mode, 0);
    otk__par_hint = 0;
    team_cost = 100.0; /* the probes' share of the time stays small */
    otk__par_init(&p, 2);
    double t0 = fake_t;
    run_regions(&p, 20000);
    ck_assert_double_le(fake_t - t0, 20000.0 * 1.0 * 1.1 + 100.0);
    otk__par_hint = 0;
    otk__par_init(&p, 4); /* an idle machine from the start */
    team_cost = 0.3;
    ck_assert_uint_ge(run_regions(&p, 1000), 1000 - 2 - 8);
    otk__par_init(&p, 1);
    unsigned long calls = fake_calls;
    ck_assert_uint_eq(run_regions(&p, 10), 0);
    ck_assert_uint_eq(fake_calls, calls);
    otk__par_clock = saved;
    otk__par_hint = 0;
}
END_TEST

/* Sweeps and evaluations whose team looks slow (the first probing region
 * by the made-up clock) run on the calling thread, those whose team looks
 * fast as a team: the results are the same bit for bit. */
static double slow_team(unsigned long region)
{
    return region == 1 || region == 3 ? 3.0 : 1.0; /* probes 1, 3: team */
}

static double fast_team(unsigned long region)
{
    return region == 1 || region == 3 ? 1.0 : 3.0;
}

/* A team next to a busy process: its first probe got the core at once
 * (half the calling thread's time), its second waited for a time slice
 * (three times). On average it is slower and the calling thread is kept;
 * its fastest region alone chose the team before. Probes compare time
 * per unit of work. */
static double lucky_team(unsigned long region)
{
    return region == 1 ? 0.5 : region == 3 ? 3.0 : 1.0;
}

static double first_doubled(unsigned long region)
{
    return region == 0 ? 2.2 : region % 2 == 1 ? 1.5 : 1.0;
}

START_TEST(par_decider_takes_the_mean_of_its_probes)
{
    double (*saved)(void) = otk__par_clock;
    otk__par_clock = fake_clock;
    region_time = lucky_team;
    otk__par_hint = 0;
    fake_calls = 0;
    otk__par p;
    otk__par_init(&p, 2);
    for (int r = 0; r < 4; r++) {
        otk__par_begin(&p);
        otk__par_end(&p);
    }
    ck_assert_int_eq(p.mode, 0);
    /* the first region did twice the work (a log sweep whose guesses
     * were off): per unit of work it took 1.1, and the calling thread's
     * mean (1.05) beats the team's 1.5 (unscaled, 1.6 would not) */
    otk__par_hint = 0;
    fake_calls = 0;
    region_time = first_doubled;
    otk__par_init(&p, 2);
    for (int r = 0; r < 4; r++) {
        otk__par_begin(&p);
        otk__par_end_work(&p, r == 0 ? 2.0 : 1.0);
    }
    ck_assert_int_eq(p.mode, 0);
    otk__par_clock = saved;
    otk__par_hint = 0;
}
END_TEST

/* A short solve next to a team that is slow (a core taken by another
 * process): the team runs one region, the probe that drops it. The
 * regions before the choice (the point cloud's cost bounds) and the
 * first sweep run on the calling thread, as does the final pass after
 * it (they ran as a team before the choice when the team came first). */
START_TEST(par_short_solves_stay_on_the_calling_thread)
{
    enum { N = 60, M = 50, D = 2 };
    double x[N * D], y[M * D];
    unsigned long long st = 12;
    for (int k = 0; k < N * D; k++)
        x[k] = test_uniform(&st);
    for (int k = 0; k < M * D; k++)
        y[k] = test_uniform(&st);
    otk_cost cost = otk_cost_points(N, M, D, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    double (*saved)(void) = otk__par_clock;
    otk__par_clock = fake_clock;
    region_time = slow_team;
    otk__par_hint = 0;
    fake_calls = 0;
    otk_sinkhorn_settings ss;
    otk_sinkhorn_default_settings(&ss);
    ss.threads = 2;
    otk_sinkhorn_info info;
    const unsigned long alone = otk__par_regions[0];
    const unsigned long teams = otk__par_regions[1];
    ck_assert_int_eq(
        otk_sinkhorn(&(otk_problem){&cost, NULL, NULL, 0.5}, &ss, NULL, &info),
        OTK_CONVERGED);
    otk__par_clock = saved;
    otk__par_hint = 0;
    ck_assert_uint_lt(fake_calls / 2, 60); /* before the next probe */
    ck_assert_uint_eq(otk__par_regions[1] - teams, 1);
    /* the timed sweeps and the two one-off regions */
    ck_assert_uint_eq(otk__par_regions[0] - alone, fake_calls / 2 - 1 + 2);
}
END_TEST

/* The reg of the first epsilon-scaling stage, from the progress record. */
static int first_reg(void *user, const otk_progress *p)
{
    double *reg = user;
    if (isnan(*reg))
        *reg = p->reg;
    return 0;
}

/* Point clouds' exact cost range (the first stage's reg) when the calling
 * thread runs both blocks of the bounds pass: each block's bounds count,
 * not the last block's alone (they did when one thread ran the blocks,
 * as after a decision for the calling thread on a loaded machine). The
 * oracle: the range over all entries, within the pass's widening. */
START_TEST(par_calling_thread_bounds_every_block)
{
    enum { N = 80, M = 70, D = 3 };
    double x[N * D], y[M * D];
    unsigned long long st = 13;
    for (int k = 0; k < N * D; k++)
        x[k] = test_uniform(&st);
    for (int k = 0; k < M * D; k++)
        y[k] = 2.0 * test_uniform(&st);
    otk_cost cost = otk_cost_points(N, M, D, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            lo = fmin(lo, otk_cost_entry(&cost, i, j));
            hi = fmax(hi, otk_cost_entry(&cost, i, j));
        }
    for (int hint = 1; hint <= 2; hint++) {
        otk__par_hint = hint; /* 1: the calling thread, 2: a team */
        otk_sinkhorn_settings ss;
        otk_sinkhorn_default_settings(&ss);
        ss.threads = 2;
        ss.eps_scaling = 1;
        ss.max_iter = 1;
        double reg = NAN;
        ss.progress = first_reg;
        ss.progress_user = &reg;
        otk_sinkhorn(&(otk_problem){&cost, NULL, NULL, 1e-3}, &ss, NULL, NULL);
        ck_assert_double_eq_tol(reg, hi - lo, 1e-12 * hi);
    }
    otk__par_hint = 0;
}
END_TEST

START_TEST(par_choice_does_not_change_results)
{
    enum { N = 60, M = 50 };
    double C[N * M], P[2][N * M], f[2][N], g[2][M];
    unsigned long long st = 11;
    for (int k = 0; k < N * M; k++)
        C[k] = test_uniform(&st);
    otk_cost cost = otk_cost_dense(N, M, C);
    double (*saved)(void) = otk__par_clock;
    otk__par_clock = fake_clock;
    double (*clocks[2])(unsigned long) = {slow_team, fast_team};
    otk_sinkhorn_info si[2];
    otk_quadratic_info qi[2];
    double qP[2][N * M];
    for (int run = 0; run < 2; run++) {
        region_time = clocks[run];
        otk__par_hint = 0; /* probe: the clock decides */
        otk_sinkhorn_settings ss;
        otk_sinkhorn_default_settings(&ss);
        ss.threads = 2;
        ss.domain = OTK_DOMAIN_LOG;
        ss.tol = 1e-12;
        fake_calls = 0;
        ck_assert_int_eq(
            otk_sinkhorn(&(otk_problem){&cost, NULL, NULL, 0.05}, &ss,
                         &(otk_solution){f[run], g[run], P[run], NULL, 0},
                         &si[run]),
            OTK_CONVERGED);
        ck_assert_uint_gt(fake_calls, 40); /* many sweeps were timed */
        otk_quadratic_settings qs;
        otk_quadratic_default_settings(&qs);
        qs.threads = 2;
        otk__par_hint = 0;
        fake_calls = 0;
        ck_assert_int_eq(
            otk_quadratic(&(otk_problem){&cost, NULL, NULL, 0.5}, &qs,
                          &(otk_solution){NULL, NULL, qP[run], NULL, 0},
                          &qi[run]),
            OTK_CONVERGED);
        ck_assert_uint_gt(fake_calls, 40);
    }
    otk__par_clock = saved;
    otk__par_hint = 0;
    ck_assert(memcmp(P[0], P[1], sizeof P[0]) == 0);
    ck_assert(memcmp(f[0], f[1], sizeof f[0]) == 0);
    ck_assert(memcmp(g[0], g[1], sizeof g[0]) == 0);
    ck_assert_uint_eq(si[0].iterations, si[1].iterations);
    ck_assert(memcmp(&si[0].objective, &si[1].objective, sizeof(double)) == 0);
    ck_assert(memcmp(qP[0], qP[1], sizeof qP[0]) == 0);
    ck_assert_uint_eq(qi[0].iterations, qi[1].iterations);
    ck_assert(memcmp(&qi[0].objective, &qi[1].objective, sizeof(double)) == 0);
}
END_TEST

/* A solve starts its threads once (par.h's crew), however many sweeps
 * (or evaluations) its team runs, instead of an OpenMP region per sweep,
 * which left libgomp's threads spinning at every region's end. The
 * results are those of the calling thread alone (the same blocks) bit
 * for bit. */
static int test_crew_body(void *ctx)
{
    (void)ctx;
    return 7;
}

START_TEST(par_one_region_per_solve)
{
    enum { N = 60, M = 50 };
    double C[N * M], P[2][N * M], qP[2][N * M], f[2][N], g[2][M];
    unsigned long long st = 17;
    for (int k = 0; k < N * M; k++)
        C[k] = test_uniform(&st);
    otk_cost cost = otk_cost_dense(N, M, C);
    double (*saved)(void) = otk__par_clock;
    otk__par_clock = fake_clock;
    double (*clocks[2])(unsigned long) = {slow_team, fast_team};
    otk_sinkhorn_info si[2];
    otk_quadratic_info qi[2];
    for (int run = 0; run < 2; run++) {
        region_time = clocks[run];
        otk__par_hint = 0;
        otk_sinkhorn_settings ss;
        otk_sinkhorn_default_settings(&ss);
        ss.threads = 2;
        ss.tol = 1e-12;
        const unsigned long opened = otk__par_opened[0];
        const unsigned long teams = otk__par_regions[1];
        fake_calls = 0;
        ck_assert_int_eq(
            otk_sinkhorn(&(otk_problem){&cost, NULL, NULL, 0.05}, &ss,
                         &(otk_solution){f[run], g[run], P[run], NULL, 0},
                         &si[run]),
            OTK_CONVERGED);
        if (run == 1) { /* the team ran nearly every sweep */
            ck_assert_uint_gt(otk__par_regions[1] - teams, 30);
            ck_assert_uint_eq(otk__par_opened[0] - opened, 1);
        }
        otk_quadratic_settings qs;
        otk_quadratic_default_settings(&qs);
        qs.threads = 2;
        otk__par_hint = 0;
        const unsigned long qopened = otk__par_opened[0];
        const unsigned long qteams = otk__par_regions[1];
        fake_calls = 0;
        ck_assert_int_eq(
            otk_quadratic(&(otk_problem){&cost, NULL, NULL, 0.5}, &qs,
                          &(otk_solution){NULL, NULL, qP[run], NULL, 0},
                          &qi[run]),
            OTK_CONVERGED);
        if (run == 1) {
            ck_assert_uint_gt(otk__par_regions[1] - qteams, 30);
            ck_assert_uint_eq(otk__par_opened[0] - qopened, 1);
        }
    }
    otk__par_clock = saved;
    otk__par_hint = 0;
    ck_assert(memcmp(P[0], P[1], sizeof P[0]) == 0);
    ck_assert(memcmp(f[0], f[1], sizeof f[0]) == 0);
    ck_assert(memcmp(g[0], g[1], sizeof g[0]) == 0);
    ck_assert_uint_eq(si[0].iterations, si[1].iterations);
    ck_assert(memcmp(qP[0], qP[1], sizeof qP[0]) == 0);
    ck_assert_uint_eq(qi[0].iterations, qi[1].iterations);
    /* no crew inside another parallel region, or for one thread */
    ck_assert_int_eq(otk__crew_run(1, test_crew_body, NULL), 7);
    const unsigned long opened = otk__par_opened[0];
    int nested = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp master
        nested = otk__crew_run(2, test_crew_body, NULL);
    }
    ck_assert_int_eq(nested, 7);
    ck_assert_uint_eq(otk__par_opened[0], opened);
}
END_TEST

/* Every block of every job of a crew runs exactly once, also with more
 * threads than processors (threads that wake late for a job must not take
 * blocks of the next), and the jobs see each other's results in order. */
typedef struct crew_test {
    int job;
    int runs[3][4];
    int order_errors;
} crew_test;

static void crew_test_block(void *ctx, int b)
{
    crew_test *t = ctx;
    t->runs[t->job % 3][b]++;
    /* the last job's blocks all ran before this one started */
    if (t->job > 0 && t->runs[(t->job - 1) % 3][b] == 0)
        t->order_errors++;
}

static int crew_test_body(void *ctx)
{
    crew_test *t = ctx;
    for (t->job = 0; t->job < 1000; t->job++) {
        memset(t->runs[(t->job + 1) % 3], 0, sizeof t->runs[0]);
        otk__par_blocks(2, 4, crew_test_block, t);
        for (int b = 0; b < 4; b++)
            if (t->runs[t->job % 3][b] != 1)
                return 1;
    }
    return 0;
}

START_TEST(par_crew_runs_every_block_once)
{
    const int teams[] = {2, 4};
    for (int k = 0; k < 2; k++) {
        crew_test t = {0};
        const unsigned long jobs = otk__par_opened[1];
        ck_assert_int_eq(otk__crew_run(teams[k], crew_test_body, &t), 0);
        ck_assert_int_eq(t.order_errors, 0);
#ifdef _OPENMP
        ck_assert_uint_eq(otk__par_opened[1] - jobs, 1000);
#endif
    }
}
END_TEST

static Suite *linalg_suite(void)
{
    Suite *s = suite_create("linalg");
    TCase *tc = tcase_create("linalg");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cblas_binds_to_openblas);
    tcase_add_test(tc, gemm_tiles_stay_on_the_calling_thread);
    tcase_add_test(tc, exp_kernel_accuracy);
    tcase_add_test(tc, exp_kernel_special_values);
    tcase_add_test(tc, exp_kernel_zero_results_do_not_underflow);
    tcase_add_test(tc, lse_kernels);
    tcase_add_test(tc, cost_rows_match_entries);
    tcase_add_test(tc, cost_rows_exp_property);
    tcase_add_test(tc, fused_rows_exp_at_tile_boundaries);
    tcase_add_test(tc, exp_affine_shift_sum_is_the_shifted_copy);
    tcase_add_test(tc, expanded_costs_within_their_bound);
    tcase_add_test(tc, point_cost_bounds_are_tight);
    tcase_add_test(tc, vector_ops);
    tcase_add_test(tc, vaxpy4_lanes_are_fused_chains);
    tcase_add_test(tc, vaxpy4_back_is_vaxpy4);
    tcase_add_test(tc, threads_are_clamped);
    tcase_add_test(tc, par_decider_follows_the_measurements);
    tcase_add_test(tc, par_decider_takes_the_mean_of_its_probes);
    tcase_add_test(tc, par_short_solves_stay_on_the_calling_thread);
    tcase_add_test(tc, par_calling_thread_bounds_every_block);
    tcase_add_test(tc, par_choice_does_not_change_results);
    tcase_add_test(tc, par_one_region_per_solve);
    tcase_add_test(tc, par_crew_runs_every_block_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(linalg_suite()); }
