/*
 * The row kernels of the smooth engine, a template: engine.c includes this
 * file once per instruction set after defining
 *
 *   KERN(name)  the variant's name for name
 *   KTARGET     its target attribute (empty for the baseline)
 *   VW          lanes, the hardware's width: GCC 12 scalarizes the compares
 *               of wider vector-extension types
 *   KMAX(a, b)  lane-wise a > b ? a : b (a, b: variables)
 *   KANY(h)     whether any lane of the compare mask h is set
 *   KMASK(h)    its lanes as the bits of an int (lane l at bit l)
 *
 * and row_group, ROWS, list_add and scan1. Each kernel takes ROWS rows at a
 * time, so that each load and store of the per-column state (beta and the
 * column sums, or the running maximum) serves them all. A missing row
 * (past the last) has alpha = -inf: it adds exact zeros and passes no
 * test. Every cost is read less the row group's shift (see engine.shift). The
 * macros are undefined at the end.
 */

typedef double KERN(vd) __attribute__((vector_size(VW * 8)));
typedef int64_t KERN(vi) __attribute__((vector_size(VW * 8)));

KTARGET OTK_INLINE KERN(vd) KERN(load)(const double *p)
{
    KERN(vd) v;
    memcpy(&v, p, sizeof v);
    return v;
}

KTARGET OTK_INLINE void KERN(store)(double *p, KERN(vd) v)
{
    memcpy(p, &v, sizeof v);
}

KTARGET OTK_INLINE KERN(vd) KERN(max)(KERN(vd) a, KERN(vd) b)
{
    return KMAX(a, b);
}

KTARGET OTK_INLINE int KERN(any)(KERN(vi) h) { return KANY(h); }

KTARGET OTK_INLINE double KERN(hsum)(KERN(vd) v)
{
    double s = 0.0;
    for (int l = 0; l < VW; l++)
        s += v[l];
    return s;
}

/* The quadratic dual on a row group over len columns: p_qj = [alpha_q +
 * beta_j - c_qj]_+ (t = p / reg, scaled by the caller) added to colsum_j;
 * sums[q] receives row q's sum, *sq gains the sum of the squares. */
KTARGET static void KERN(dual_rows)(const row_group *rg, const double *beta,
                                    double *colsum, size_t len, double *sq,
                                    double sums[ROWS])
{
    const KERN(vd) zero = {0}, shift = zero + rg->shift;
    KERN(vd) r[ROWS], s[ROWS];
    ROW_LOCALS(rg);
    for (int q = 0; q < ROWS; q++)
        r[q] = s[q] = zero;
    size_t j = 0;
    for (; j + VW <= len; j += VW) {
        KERN(vd) b = KERN(load)(beta + j), t[ROWS];
        for (int q = 0; q < ROWS; q++) {
            t[q] = KERN(max)((alpha[q] + b) - (KERN(load)(c[q] + j) - shift),
                             zero);
            r[q] += t[q];
            s[q] += t[q] * t[q];
        }
        KERN(store)
        (colsum + j, KERN(load)(colsum + j) + ((t[0] + t[1]) + (t[2] + t[3])));
    }
    double sum_sq = KERN(hsum)((s[0] + s[1]) + (s[2] + s[3]));
    for (int q = 0; q < ROWS; q++)
        sums[q] = KERN(hsum)(r[q]);
    for (; j < len; j++)
        for (int q = 0; q < ROWS; q++) {
            double x = alpha[q] + beta[j] - (c[q][j] - rg->shift);
            double t = x > 0.0 ? x : 0.0;
            colsum[j] += t;
            sums[q] += t;
            sum_sq += t * t;
        }
    *sq += sum_sq;
}

/* The candidate scan of a row group over the columns j0 .. j0 + len - 1:
 * dual (beta != NULL) x = alpha_i + beta_j - c_ij above the column's floor
 * (list_top: 0, or the k-th largest listed); semi-dual s = alpha_i - c_ij
 * above the running maximum of the column (list_top) less reg b_j.
 * Hits go to the column lists, in row order. */
KTARGET static void KERN(list_rows)(const engine *e, const row_group *rg,
                                    const double *beta, size_t j0, size_t len)
{
    ROW_LOCALS(rg);
    const KERN(vd) shift = (KERN(vd)){0} + rg->shift;
    double *tops = e->list_top + j0;
    const double *gb = e->gb + j0, *bt = beta != NULL ? beta + j0 : NULL;
    size_t j = 0;
    for (; j + VW <= len; j += VW) {
        KERN(vd) top = KERN(load)(tops + j), gap = KERN(load)(gb + j), x[ROWS];
        KERN(vi) hit[ROWS], any = {0};
        for (int q = 0; q < ROWS; q++) {
            if (bt != NULL) {
                x[q] = (alpha[q] + KERN(load)(bt + j)) -
                       (KERN(load)(c[q] + j) - shift);
                hit[q] = x[q] > top; /* the dual's floor */
            } else {
                x[q] = alpha[q] - (KERN(load)(c[q] + j) - shift);
                top = KERN(max)(x[q], top);
                hit[q] = x[q] > top - gap;
            }
            any |= hit[q];
        }
        if (bt == NULL)
            KERN(store)(tops + j, top);
        if (__builtin_expect(KERN(any)(any), 0)) {
            /* the hits as bits, row q's lanes at bit q VW: taken in bit
             * order, each column's hits come in row order */
            unsigned bits = 0;
            for (int q = 0; q < ROWS; q++)
                bits |= (unsigned)KMASK(hit[q]) << (q * VW);
            while (bits != 0) {
                int b = __builtin_ctz(bits), q = b / VW, l = b % VW;
                bits &= bits - 1;
                list_add(e, j0 + j + (size_t)l, rg->i + (size_t)q, x[q][l]);
            }
        }
    }
    for (; j < len; j++)
        for (int q = 0; q < ROWS; q++)
            scan1(e, c[q][j] - rg->shift, alpha[q], beta, rg->i + (size_t)q,
                  j0 + j);
}

#undef KERN
#undef KTARGET
#undef VW
#undef KMAX
#undef KANY
#undef KMASK
