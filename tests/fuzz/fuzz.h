/* Shared by the fuzz harnesses: the libFuzzer entry point each one
 * defines, and a scratch file for readers that take a path. */
#ifndef OTK_FUZZ_H
#define OTK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write data to this process's scratch file number slot (0 to
 * FUZZ_SLOTS - 1; created on first use, removed at exit) and return its
 * path. Aborts if that fails, since a harness that cannot feed its
 * reader would test nothing. */
#define FUZZ_SLOTS 4
const char *fuzz_scratch_file(int slot, const uint8_t *data, size_t size);

#endif
