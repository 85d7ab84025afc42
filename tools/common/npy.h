/* The .npy reader and writer behind cli.h's matrix input and output. */
#ifndef OTKCLI_NPY_H
#define OTKCLI_NPY_H

#include "cli.h"

/* Whether buf starts with the .npy magic bytes. */
int otkcli_is_npy(const char *buf, size_t len);
/* Parse a whole .npy file (buf, len) named name in messages; flags as
 * otkcli_read_matrix_flags. 0, or -1 with err set. */
int otkcli_parse_npy(const char *name, const char *buf, size_t len, int flags,
                     otkcli_matrix *out, otkcli_error *err);

#endif
