/*
 * An LD_PRELOAD shim for allocation-failure tests: the FAIL_MALLOC_NTH-th
 * (default first) call of malloc asking for exactly FAIL_MALLOC_SIZE bytes
 * returns NULL with ENOMEM; every other call is glibc's. Not built with
 * sanitizers, whose allocators replace malloc themselves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

void *__libc_malloc(size_t size);

static long fail_size = -2, fail_nth, seen;

void *malloc(size_t size)
{
    if (fail_size == -2) { /* first call: read the settings */
        const char *s = getenv("FAIL_MALLOC_SIZE"),
                   *k = getenv("FAIL_MALLOC_NTH");
        fail_size = s ? atol(s) : -1;
        fail_nth = k ? atol(k) : 1;
    }
    if (fail_size >= 0 && (long)size == fail_size && ++seen == fail_nth) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(size);
}
