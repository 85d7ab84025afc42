/* The PGM/PPM reader (tools/common/netpbm.c). A decoded image must have
 * the size it claims and only values in [0, 1]; every failure must come
 * with a message. A decoded image is also written back as PGM. */
#include <stdio.h>
#include <stdlib.h>

#include "common/cli.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(0, data, size);
    double *gray = NULL;
    size_t rows = 0, cols = 0;
    otkcli_error err = {{0}};
    if (otkcli_read_netpbm(path, &gray, &rows, &cols, &err) != 0) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    if (rows == 0 || cols == 0 || rows * cols > size)
        abort(); /* each pixel takes at least one byte of the file */
    for (size_t k = 0; k < rows * cols; k++)
        if (!(gray[k] >= 0.0 && gray[k] <= 1.0))
            abort();
    FILE *sink = fopen("/dev/null", "wb");
    if (sink != NULL) {
        otkcli_write_pgm(sink, gray, rows, cols);
        fclose(sink);
    }
    free(gray);
    return 0;
}
