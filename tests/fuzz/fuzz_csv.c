/* The tools' matrix reader (tools/common/csv.c, npy.c): CSV, blank-
 * separated text and .npy (the npy-* seeds), matrices, the nonnegative
 * flag and weight vectors. A result must have the shape it claims and
 * only finite values; every failure must come with a message. */
#include <math.h>
#include <stdlib.h>

#include "common/cli.h"
#include "fuzz.h"

static void check_matrix(int rc, const otkcli_matrix *m,
                         const otkcli_error *err, int nonnegative)
{
    if (rc != 0) {
        if (err->msg[0] == '\0')
            abort(); /* a failure without a message */
        return;
    }
    if (m->rows == 0 || m->cols == 0 || m->data == NULL)
        abort();
    for (size_t k = 0; k < m->rows * m->cols; k++)
        if (!isfinite(m->data[k]) || (nonnegative && m->data[k] < 0.0))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(0, data, size);
    for (int flags = 0; flags <= OTKCLI_NONNEGATIVE; flags++) {
        otkcli_matrix m = {0};
        otkcli_error err = {{0}};
        int rc = otkcli_read_matrix_flags(path, &m, flags, &err);
        check_matrix(rc, &m, &err, flags);
        otkcli_matrix_free(&m);
    }
    double *w = NULL;
    size_t len = 0;
    otkcli_error err = {{0}};
    if (otkcli_read_weights(path, &w, &len, &err) == 0) {
        otkcli_matrix m = {.data = w, .rows = len, .cols = 1};
        check_matrix(0, &m, &err, 1);
    } else if (err.msg[0] == '\0')
        abort();
    free(w);
    return 0;
}
