/* Grid clustering of a point cloud for the multiscale Sinkhorn path
 * (private to the entropic module). */
#ifndef OTK_ENTROPIC_CLUSTER_H
#define OTK_ENTROPIC_CLUSTER_H

#include <stddef.h>

/*
 * The points sorted by the cell of a regular grid that holds them, so
 * that every cluster (the points of one cell) is a contiguous range.
 * Each cluster has its exact bounding box (what the truncation bound
 * uses: no point of it lies outside), its total weight and its weighted
 * mean (the point it becomes on the coarse level).
 */
typedef struct otk__clusters {
    size_t n, d, count;
    size_t *perm;   /* n: original index of the k-th sorted point */
    size_t *of;     /* n: cluster of the k-th sorted point */
    size_t *start;  /* count + 1: cluster c is [start[c], start[c+1]) */
    double *pts;    /* n x d: the sorted points */
    double *ptsT;   /* d x n: the same, transposed (vector loops) */
    double *w;      /* n: sorted weights */
    double *lo;     /* count x d: bounding boxes, low corner */
    double *hi;     /* count x d: high corner */
    double *center; /* count x d: weighted means (plain means if weightless) */
    double *mass;   /* count: total weight */
} otk__clusters;

/*
 * Clusters the n points x (n x d, row-major) with weights w (NULL:
 * uniform 1/n) on the grid of cells of side `width` whose corner is
 * origin (d entries, at or below every coordinate). Returns 0, or -1 when
 * memory is short or the grid has more than 2^62 cells (a wider cell is
 * then needed). out is zeroed first, so otk__clusters_free is always
 * safe on it.
 */
int otk__cluster_grid(const double *x, const double *w, size_t n, size_t d,
                      const double *origin, const double *extent, double width,
                      otk__clusters *out);
void otk__clusters_free(otk__clusters *c);

/* Squared distance between the bounding boxes of cluster p of P and
 * cluster q of Q (0 when they overlap): no pair of their points is
 * closer. */
double otk__box_dist2(const otk__clusters *P, size_t p, const otk__clusters *Q,
                      size_t q);

/* Squared distance from the point x (d entries) to the bounding box of
 * cluster q of Q (0 inside): no point of the cluster is closer. */
double otk__point_box_dist2(const double *x, const otk__clusters *Q, size_t q);

#endif
