/* The Monge-gap map loader (otk_mg_map_load in lib/mongegap/mlp.c). A
 * map that loads is applied to a few points, which reads every weight
 * the file declared; a failure must say why. */
#include <stdlib.h>

#include <otkit/mongegap.h>

#include "fuzz.h"

enum { POINTS = 3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(0, data, size);
    otk_status st = OTK_CONVERGED;
    size_t line = 0;
    otk_mg_map *map = otk_mg_map_load(path, &st, &line);
    if (map == NULL) {
        if (st != OTK_ERR_INVALID_INPUT && st != OTK_ERR_NO_MEMORY)
            abort(); /* the scratch file is readable */
        return 0;
    }
    size_t d = otk_mg_map_dim(map);
    double *x = calloc(POINTS * d, sizeof *x);
    double *y = malloc(POINTS * d * sizeof *y);
    if (x != NULL && y != NULL) {
        for (size_t k = 0; k < POINTS * d; k++)
            x[k] = (double)k / (double)d - 1.0;
        otk_mg_map_apply(map, x, POINTS, y);
    }
    free(x);
    free(y);
    otk_mg_map_free(map);
    return 0;
}
