/*
 * The shared linear-algebra layer (private): BLAS calls, vectorized
 * exponentials and log-sum-exp, and cost rows/columns/entries from point
 * clouds. Every solver module builds on these; none includes <cblas.h>
 * or GSL matrix headers itself (the two clash in one translation unit).
 */
#ifndef OTK_LINALG_H
#define OTK_LINALG_H

#include <stddef.h>

#include <otkit/base.h>

/* ---- BLAS (OpenBLAS through CBLAS; blas.c) ---- */

/* x . y over len entries. */
double otk__dot(size_t len, const double *x, const double *y);
/* y += alpha * x. */
void otk__axpy(size_t len, double alpha, const double *x, double *y);
/* C = alpha op(A) op(B) + beta C, row-major, op(A) m x k, op(B) k x n,
 * C m x n; trans_a/trans_b select the transposes. Sizes must fit in an
 * int (the callers' are network layers and batches). */
void otk__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
               double alpha, const double *a, const double *b, double beta,
               double *c);
/* The tiles otk__gemm issues a product in (rows x cols of C; m x n: one
 * call), small enough that OpenBLAS runs each on the calling thread
 * (blas.c), and otk__gemm with given tiles (rows, cols >= 1). */
void otk__gemm_tile_shape(size_t m, size_t n, size_t k, size_t *rows,
                          size_t *cols);
void otk__gemm_tiled(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                     double alpha, const double *a, const double *b,
                     double beta, double *c, size_t rows, size_t cols);
/* Name of the shared object that provides cblas_ddot (for the link-order
 * test and `--version`); "" when it cannot be told. */
const char *otk__blas_library(void);

/*
 * Vectorized x . y and y += alpha x for rows already in cache, for use
 * inside the library's own threaded loops: BLAS level-1 calls there would
 * start OpenBLAS's thread pool per call on long rows (vecops.c).
 */
double otk__vdot(size_t len, const double *x, const double *y);
void otk__vaxpy(size_t len, double alpha, const double *x, double *y);
/* The same for four consecutive rows x, x + len, x + 2 len, x + 3 len:
 * out[k] = row_k . v, and y += sum_k alpha[k] row_k, in one pass each. */
void otk__vdot4(size_t len, const double *x, const double *v, double out[4]);
void otk__vaxpy4(size_t len, const double alpha[4], const double *x, double *y);
/* otk__vaxpy4 with bit-identical results, its columns taken in tiles from
 * the last to the first: rows just written front to back (a sweep's
 * exponentials) are read from their still-cached end first, where rows
 * longer than the cache would otherwise be read back from memory. */
void otk__vaxpy4_back(size_t len, const double alpha[4], const double *x,
                      double *y);

/* Thread counts and the threading policy: linalg/par.h. */

/* ---- Exponentials and log-sum-exp (vexp.c) ---- */

/*
 * y_i = exp(x_i - shift) for i < len, and returns sum_i y_i. Accurate to a
 * few ulp over the whole double range (gradual underflow included; -inf
 * gives 0, NaN gives NaN); x and y may be the same array. Vectorized, with
 * an AVX2+FMA variant picked at run time where the CPU has it.
 */
double otk__exp_shift_sum(const double *x, double shift, double *y, size_t len);

/*
 * Stable log-sum-exp of t_j = h_j - s * c_j, j < len (h_j may be -inf):
 * writes e_j = exp(t_j - max_j t_j) and returns max_j t_j in *max and
 * sum_j e_j in *sum (>= 1 when any t_j is finite). The log-sum-exp is
 * *max + log(*sum). When every t_j is -inf, *max = -inf and *sum = 0.
 */
void otk__lse_affine(const double *h, double s, const double *c, double *e,
                     size_t len, double *max, double *sum);

/*
 * One-pass variant for when a good shift is known in advance (e.g. last
 * iteration's log-sum-exp): e_j = exp(h_j - s c_j - shift), returns
 * sum_j e_j. The caller must check the sum: in [1e-200, 1e200] the result
 * is as accurate as the two-pass one; otherwise redo with
 * otk__lse_affine().
 */
double otk__exp_affine_sum(const double *h, double s, const double *c,
                           double shift, double *e, size_t len);
/* The same with c_j - cshift for c_j: bit for bit otk__exp_affine_sum of
 * a copy of c minus cshift, without the copy (a dense row is read once,
 * straight from the matrix). */
double otk__exp_affine_shift_sum(const double *h, double s, const double *c,
                                 double cshift, double shift, double *e,
                                 size_t len);

/* log(sum_j exp(t_j)) in two passes (the vectorized kernel); t is
 * overwritten with exp(t_j - max_j t_j). */
double otk__lse(double *t, size_t len);

/* ---- LAPACK (the one in OpenBLAS; lapack.c) ---- */

/* Smallest and largest eigenvalue of the symmetric n x n matrix A
 * (row-major; only symmetric input is meaningful). Returns 0, or nonzero
 * when LAPACK fails or memory runs out. */
int otk__sym_eig_range(size_t n, const double *A, double *lo, double *hi);

/* Least squares: x (cols) minimizing ||A x - b|| for a row-major rows x
 * cols matrix of full column rank, rows >= cols. Returns 0 or nonzero. */
int otk__least_squares(size_t rows, size_t cols, const double *A,
                       const double *b, double *x);

/* Solves the symmetric positive definite system A X = B in place (A:
 * n x n, B: n x nrhs, row-major; B becomes X). Returns 0 or nonzero. */
int otk__spd_solve(size_t n, size_t nrhs, const double *A, double *B);

/* LU with partial pivoting of a general n x n row-major A, in place
 * (LAPACK's blocked dgetrf; ipiv: n ints), and the solve of A z = y with
 * it (y becomes z). The diagonal of the factored A is U's (the pivots).
 * Each returns 0, or nonzero when LAPACK fails (an exactly zero pivot). */
int otk__lu_factor(size_t n, double *A, int *ipiv);
int otk__lu_apply(size_t n, const double *LU, const int *ipiv, double *y);

/* ---- Iterative solvers for the bilevel module (cg.c, scfista.c) ---- */

/* y = A v for a symmetric positive definite A; nonzero return is an
 * error that the solver passes on. */
typedef int (*otk__matvec_fn)(void *user, const double *v, double *y);
/* grad = gradient of a smooth function at x; nonzero return: error. */
typedef int (*otk__gradient_fn)(void *user, const double *x, double *grad);

typedef struct otk__solve_result {
    size_t iterations; /* iterations done (0 when certified on entry) */
    double residual;   /* CG: the true ||A q - b|| recomputed at exit;
                        * FISTA: ||grad|| at the certified point */
    int reached;       /* 1 when the requested accuracy was met */
    int error;         /* a callback's nonzero return, else 0 */
} otk__solve_result;

/*
 * Conjugate gradient for A q = b to the ABSOLUTE residual ||A q - b|| <=
 * tol (the bilevel certificates need absolute accuracy; scipy-style
 * relative tolerances would scale with ||b||). q holds the initial guess.
 * The true residual is recomputed at exit, so `reached` never rests on
 * the recurrence alone. scratch: 4 len doubles.
 */
otk__solve_result otk__cg(otk__matvec_fn matvec, void *user, size_t len,
                          const double *b, double *q, double tol,
                          size_t max_iter, double *scratch);

/*
 * Strongly convex FISTA (Chambolle and Pock 2016, Algorithm 5) with step
 * 1/L, for a mu-strongly convex, L-smooth function: stops as soon as the
 * gradient at the extrapolated point z satisfies ||grad|| <= mu * eps and
 * returns x = z - grad / L, whose distance to the minimizer is then at
 * most ||z - xhat|| <= ||grad|| / mu <= eps (a gradient step with step
 * <= 2 / (L + mu) is a contraction). The test is made before the first
 * iteration, so a warm start that is already accurate costs no
 * iteration. x: warm start in, solution out. scratch: 3 len doubles.
 */
otk__solve_result otk__scfista(otk__gradient_fn gradient, void *user,
                               size_t len, double mu, double L, double eps,
                               size_t max_iter, double *x, double *scratch);

/*
 * Gradient descent with step 2 / (L + mu), the contraction factor
 * (L - mu) / (L + mu) per step, and the same certificate as
 * otk__scfista: stops when ||grad|| <= mu * eps at the current point (which
 * is returned as is). Slower than FISTA on ill-conditioned problems; kept
 * for the comparisons of the literature. scratch: len doubles.
 */
otk__solve_result otk__scgd(otk__gradient_fn gradient, void *user, size_t len,
                            double mu, double L, double eps, size_t max_iter,
                            double *x, double *scratch);

/* ---- Costs (cost.c) ---- */

/*
 * Point-cloud costs are evaluated a row at a time against a transposed
 * copy of y (d x m), so that the inner loop runs over targets and
 * vectorizes for any d. The caller owns that copy: it needs
 * otk__cost_scratch_len(cost) doubles (0 for dense costs) and is filled by
 * otk__cost_prepare() once per cost.
 */
size_t otk__cost_scratch_len(const otk_cost *cost);
/* The most otk__cost_scratch_len asks for of any point cloud of m targets
 * in d dimensions (for a buffer allocated before its cost is formed). */
static inline size_t otk__cost_scratch_max(size_t m, size_t d)
{
    return 2 * m * d + m + d + 1;
}
void otk__cost_prepare(const otk_cost *cost, double *yt);

/*
 * Row i of the cost (m entries). For a dense cost returns a pointer into
 * C; for point clouds computes the row into out (m entries) from the
 * prepared yt and returns out.
 */
const double *otk__cost_row(const otk_cost *cost, const double *yt, size_t i,
                            double *out);
/*
 * The exponentials of a log-domain sweep for rows i0 .. i0 + rows - 1:
 *   e[r m + j] = exp(h_j - s (C_{i0+r, j} - cshift) - shift[r]),
 * sum[r] = sum_j e[r m + j]; rows whose shift is not finite are skipped
 * (sum 0, e untouched). The columns are taken in tiles small enough for
 * L1 and every row of the block runs through a tile before the next, so
 * h and (for point clouds) the targets are read from memory once per
 * block instead of once per row, and a point-cloud row is never written
 * out: for d < 8 and scale 1 its costs go from registers straight into
 * the exponential, otherwise a cost tile goes to it through L1. A dense
 * row is read once, straight from the matrix.
 * Each entry is the same arithmetic as otk__cost_row minus cshift followed
 * by otk__exp_affine_sum (the sums differ by rounding: they are summed per
 * tile). tile: otk__cost_exp_scratch_len(cost) doubles of scratch.
 * Exception: squared Euclidean point clouds with 8 <= d <= 64 for which
 * otk__cost_uses_expanded(cost, yt, s) form the costs as ||x'||^2 +
 * ||y'||^2 - 2 x'.y' about a common centre (half the arithmetic), within
 * otk__cost_expanded_error of the definition; the exponents then differ
 * from the untiled path's by at most 1e-11.
 */
size_t otk__cost_exp_scratch_len(const otk_cost *cost);
void otk__cost_rows_exp(const otk_cost *cost, const double *yt, size_t i0,
                        size_t rows, double cshift, const double *h, double s,
                        const double *shift, double *e, double *sum,
                        double *tile);
/*
 * For a prepared yt: a bound on |C~_ij - C_ij| over all pairs for costs
 * formed in the expanded form, (d + 3) eps (R_x + R_y)^2 |scale| (R: the
 * largest distance of a point of either cloud to the centre of their
 * common bounding box), INFINITY when the cost has no expanded form.
 */
double otk__cost_expanded_error(const otk_cost *cost, const double *yt);
/* Whether otk__cost_rows_exp at this s uses the expanded form: s times
 * that bound at most 1e-11. */
int otk__cost_uses_expanded(const otk_cost *cost, const double *yt, double s);
/* Rows i0 .. i0 + rows - 1 (rows <= 4) in the expanded form into out
 * (rows x m), for a cost with a finite otk__cost_expanded_error. */
void otk__cost_rows_expanded(const otk_cost *cost, const double *yt, size_t i0,
                             size_t rows, double *out);
/* Column j of the cost into out (n entries). */
void otk__cost_col(const otk_cost *cost, size_t j, double *out);
/* One entry (the public otk_cost_entry is this). */
double otk__cost_entry(const otk_cost *cost, size_t i, size_t j);
/*
 * Bounds lo <= C_ij <= hi. Exact min and max for a dense cost (one pass).
 * For point clouds, the min and max over all pairs from one blocked pass of
 * otk__cost_row (O(n m d), the work of one solver iteration; m (d + 1)
 * doubles of scratch, no n x m array), widened by a few ulp per coordinate
 * so that otk__cost_entry's values lie within too. Only if that scratch
 * cannot be allocated, lo = 0 and hi bounds the cost over the bounding box
 * of both clouds (O((n + m) d), valid but loose: in d = 16 about 10 times
 * the true max for Gaussian clouds).
 */
void otk__cost_bounds(const otk_cost *cost, double *lo, double *hi);
/* The box of both clouds: lo[k], hi[k] the min and max of coordinate k
 * over the n rows of x and the m rows of y (d each). */
void otk__points_box(const double *x, size_t n, const double *y, size_t m,
                     size_t d, double *lo, double *hi);
/*
 * The same bounds over rows [i0, i1) only, with a prepared yt and a row
 * buffer of m doubles (both ignored for a dense cost), for a caller that
 * splits the rows among threads: the bounds of all rows are the min of
 * the lo and the max of the hi. lo = +inf, hi = -inf for no rows.
 */
void otk__cost_rows_bounds(const otk_cost *cost, const double *yt, size_t i0,
                           size_t i1, double *row, double *lo, double *hi);

/* ---- Simplex projections and top-k selection (simplex.c) ---- */

/*
 * Put the indices of the k largest entries of v (len entries; ties to the
 * lower index) first in idx (len entries, overwritten): idx[0..k) holds
 * them, in no particular order. Expected O(len).
 */
void otk__top_k(const double *v, size_t len, size_t k, size_t *idx);
/*
 * The threshold theta of the Euclidean projection of v onto the scaled
 * simplex {y >= 0, sum y = z} (z > 0): y_i = max(v_i - theta, 0).
 * Two passes over v plus a few over the entries near the top; idx is len
 * entries of scratch, which ends with the support's indices first
 * (*support of them, when support is not NULL).
 */
double otk__simplex_threshold(const double *v, size_t len, double z,
                              size_t *idx, size_t *support);
/* The entries that can be in the support (those above max v - z) into
 * set; returns their number. */
size_t otk__simplex_candidates(const double *v, size_t len, double z,
                               size_t *set);
/* The threshold from a superset of the support (count indices into v in
 * set, which ends with the support first, *support of them). */
double otk__simplex_threshold_on(const double *v, size_t *set, size_t count,
                                 double z, size_t *support);
/* The projection itself into y; returns theta. */
double otk__project_simplex(const double *v, size_t len, double z, double *y,
                            size_t *idx);

#endif /* OTK_LINALG_H */
