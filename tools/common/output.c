/* Output files: written under a temporary name, renamed on success. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static otkcli_output outputs[OTKCLI_MAX_OUTPUTS];
static size_t n_outputs;

int otkcli_check_outputs(const char *const *paths, size_t count,
                         otkcli_error *err)
{
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (paths[i] != NULL && paths[j] != NULL &&
                strcmp(paths[i], paths[j]) == 0) {
                snprintf(err->msg, sizeof err->msg,
                         "'%s' is named for two outputs", paths[i]);
                return -1;
            }
    return 0;
}

FILE *otkcli_open_output(const char *path, otkcli_error *err)
{
    if (n_outputs == OTKCLI_MAX_OUTPUTS) {
        snprintf(err->msg, sizeof err->msg, "%s: too many output files", path);
        return NULL;
    }
    for (size_t k = 0; k < n_outputs; k++)
        if (strcmp(outputs[k].path, path) == 0) {
            snprintf(err->msg, sizeof err->msg, "%s: named for two outputs",
                     path);
            return NULL;
        }
    size_t len = strlen(path);
    char *copy = malloc(len + 1), *tmp = NULL;
    FILE *fp = NULL;
    struct stat sb;
    if (copy != NULL)
        memcpy(copy, path, len + 1);
    if (copy == NULL) {
        errno = ENOMEM;
    } else if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* A FIFO, a device or /dev/stdout: renaming over it would replace
         * it, so write to it directly (tmp_path stays NULL). */
        fp = fopen(path, "w");
    } else if ((tmp = malloc(len + 16)) == NULL) {
        errno = ENOMEM;
    } else {
        snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
        int fd = mkstemp(tmp);
        /* mkstemp creates mode 0600; give the file the mode a plain
         * fopen would (0666 less the umask). */
        mode_t mask = umask(0);
        umask(mask);
        if (fd >= 0)
            fchmod(fd, 0666 & ~mask);
        fp = fd < 0 ? NULL : fdopen(fd, "w");
        if (fp == NULL && fd >= 0) {
            int saved = errno;
            close(fd);
            unlink(tmp);
            errno = saved;
        }
    }
    if (fp == NULL) {
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(errno));
        free(tmp);
        free(copy);
        return NULL;
    }
    outputs[n_outputs].path = copy;
    outputs[n_outputs].tmp_path = tmp;
    outputs[n_outputs].fp = fp;
    n_outputs++;
    return fp;
}

static void release(otkcli_output *o)
{
    free(o->path);
    free(o->tmp_path);
    o->path = o->tmp_path = NULL;
    o->fp = NULL;
}

int otkcli_commit_all(otkcli_error *err)
{
    /* Close everything first: a write error anywhere cancels all. */
    int failed = 0;
    for (size_t k = 0; k < n_outputs; k++) {
        otkcli_output *o = &outputs[k];
        int bad = ferror(o->fp);
        if (fclose(o->fp) != 0 || bad) {
            if (!failed)
                snprintf(err->msg, sizeof err->msg, "%s: write error: %s",
                         o->path, strerror(errno));
            failed = 1;
        }
        o->fp = NULL;
    }
    for (size_t k = 0; k < n_outputs; k++) {
        otkcli_output *o = &outputs[k];
        if (o->tmp_path != NULL && !failed &&
            rename(o->tmp_path, o->path) != 0) {
            snprintf(err->msg, sizeof err->msg, "%s: %s", o->path,
                     strerror(errno));
            failed = 1;
        }
        if (o->tmp_path != NULL && failed)
            unlink(o->tmp_path);
        release(o);
    }
    n_outputs = 0;
    return failed ? -1 : 0;
}

void otkcli_abort_all(void)
{
    for (size_t k = 0; k < n_outputs; k++) {
        otkcli_output *o = &outputs[k];
        if (o->fp != NULL)
            fclose(o->fp);
        if (o->tmp_path != NULL)
            unlink(o->tmp_path);
        release(o);
    }
    n_outputs = 0;
}

int otkcli_write_rows(FILE *fp, const double *data, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (fprintf(fp, "%.17g%c", data[i * cols + j],
                        j + 1 < cols ? ',' : '\n') < 0)
                return -1;
    return 0;
}
