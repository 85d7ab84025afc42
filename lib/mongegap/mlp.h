/* Private: the residual MLP's layout and passes (mlp.c). */
#ifndef OTK_MLP_H
#define OTK_MLP_H

#include <otkit/mongegap.h>

struct otk_mg_map {
    size_t d;      /* input and output dimension */
    size_t layers; /* hidden layers + 1 (the output layer) */
    otk_activation act;
    size_t size[66];   /* size[0] = d, hidden sizes, size[layers] = d */
    size_t offset[65]; /* of each layer's W then b in params */
    size_t nparams;
    double *params;
};

double *otk__mlp_weights(const otk_mg_map *map, size_t l);
double *otk__mlp_bias(const otk_mg_map *map, size_t l);
/* Doubles of cache a forward pass over `batch` points needs. */
size_t otk__mlp_cache_len(const otk_mg_map *map, size_t batch);
/* y = T(x) for n points; cache keeps what backward needs. */
void otk__mlp_forward(const otk_mg_map *map, const double *x, size_t n,
                      double *y, double *cache);
/* grad (nparams) = dLoss/dparams given dy = dLoss/dT(x) (n x d), after a
 * forward pass on the same x with this cache; work: 2 n widest doubles. */
void otk__mlp_backward(const otk_mg_map *map, const double *x, size_t n,
                       const double *dy, const double *cache, double *grad,
                       double *work);

#endif
