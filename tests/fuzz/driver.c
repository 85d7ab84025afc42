/*
 * A main() for builds without libFuzzer (gcc, or clang without the fuzz
 * option): runs LLVMFuzzerTestOneInput once on each file named on the
 * command line, and on each file inside a named folder, so that the seed
 * corpus and the regression inputs replay in every build. Arguments that
 * start with '-' are libFuzzer flags and are ignored, so one command line
 * serves both kinds of binary.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Run one file; 0, or -1 if it could not be read. */
static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int bad = buf == NULL || ferror(fp);
    fclose(fp);
    if (bad) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return -1;
    }
    /* a private copy of the exact length, so that ASan sees overreads */
    uint8_t *exact = malloc(len > 0 ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int run_dir(const char *path, size_t *count)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        struct stat st;
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc |= run_file(file);
        ++*count;
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    size_t count = 0;
    for (int k = 1; k < argc; k++) {
        struct stat st;
        if (argv[k][0] == '-')
            continue;
        if (stat(argv[k], &st) == 0 && S_ISDIR(st.st_mode))
            rc |= run_dir(argv[k], &count);
        else {
            rc |= run_file(argv[k]);
            count++;
        }
    }
    printf("%s: ran %zu inputs\n", argv[0], count);
    return rc != 0;
}
