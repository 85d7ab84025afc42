/* The harnesses' scratch files: a few per process, rewritten per input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char scratch_path[FUZZ_SLOTS][4096];

static void remove_scratch(void)
{
    for (int k = 0; k < FUZZ_SLOTS; k++)
        if (scratch_path[k][0] != '\0')
            unlink(scratch_path[k]);
}

static void create_scratch(char *path, size_t len)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    snprintf(path, len, "%s/otk-fuzz.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror(path);
        abort();
    }
    close(fd);
}

const char *fuzz_scratch_file(int slot, const uint8_t *data, size_t size)
{
    static int registered;
    if (slot < 0 || slot >= FUZZ_SLOTS)
        abort();
    char *path = scratch_path[slot];
    if (path[0] == '\0') {
        if (!registered)
            atexit(remove_scratch);
        registered = 1;
        create_scratch(path, sizeof scratch_path[slot]);
    }
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
        perror(path);
        abort();
    }
    return path;
}
