/* Output files: written under a temporary name next to their target and
 * renamed on success; standard output, FIFOs and devices written directly.
 * The rules are in docs/cli.md, "How files are written". */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum { TEMP, DIRECT, STDOUT }; /* how an output is written */

typedef struct output {
    int kind;
    FILE *fp;
    char *path;            /* the name given on the command line */
    char target[PATH_MAX]; /* TEMP: the file renamed over (links followed) */
    char tmp[PATH_MAX];    /* TEMP: the temporary name */
} output;

static output outputs[OTKCLI_MAX_OUTPUTS];
/* live[k]: outputs[k].tmp may exist on disk; the signal handler removes
 * every live temporary. Set before the file is created and cleared after
 * it is renamed or removed, so no moment leaves one unaccounted for. */
static volatile sig_atomic_t live[OTKCLI_MAX_OUTPUTS];
static size_t n_outputs;

static void on_signal(int sig)
{
    /* unlink and signal are async-signal-safe */
    for (size_t k = 0; k < OTKCLI_MAX_OUTPUTS; k++)
        if (live[k])
            unlink(outputs[k].tmp);
    signal(sig, SIG_DFL);
    raise(sig); /* delivered on return: the usual death by this signal */
}

void otkcli_catch_signals(void)
{
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old;
        /* a signal ignored by the parent (nohup, a background job) stays
         * ignored */
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            signal(sigs[k], on_signal);
    }
}

int otkcli_reader_gone(int fd)
{
    /* A pipe or socket whose reader closed polls as POLLERR or POLLHUP;
     * errno is no help once stdio has swallowed the failed write. */
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* stat of an output path; "-" is standard output. 0 or -1. */
static int stat_output(const char *path, struct stat *sb)
{
    return strcmp(path, "-") == 0 ? fstat(STDOUT_FILENO, sb) : stat(path, sb);
}

int otkcli_check_paths(const char *const *inputs, size_t n_in,
                       const char *const *outs, size_t n_out, otkcli_error *err)
{
    for (size_t i = 0; i < n_out; i++) {
        struct stat so, sb;
        if (outs[i] == NULL)
            continue;
        int exists = stat_output(outs[i], &so) == 0;
        for (size_t j = 0; j < i; j++) {
            if (outs[j] == NULL)
                continue;
            int same = strcmp(outs[i], outs[j]) == 0 ||
                       (exists && stat_output(outs[j], &sb) == 0 &&
                        same_file(&so, &sb));
            if (same && strcmp(outs[i], outs[j]) == 0)
                snprintf(err->msg, sizeof err->msg,
                         "'%s' is named for two outputs%s", outs[i],
                         strcmp(outs[i], "-") == 0
                             ? " (standard output takes only one)"
                             : "");
            else if (same)
                snprintf(err->msg, sizeof err->msg,
                         "'%s' and '%s' are the same file: named for two "
                         "outputs",
                         outs[j], outs[i]);
            if (same)
                return -1;
        }
        /* Only a regular file would be overwritten; a terminal or a pipe
         * may well be both stdin and stdout. */
        if (!exists || !S_ISREG(so.st_mode))
            continue;
        for (size_t j = 0; j < n_in; j++)
            if (inputs[j] != NULL && strcmp(inputs[j], "-") != 0 &&
                stat(inputs[j], &sb) == 0 && same_file(&so, &sb)) {
                snprintf(err->msg, sizeof err->msg,
                         "output '%s' is the input '%s': it would be "
                         "overwritten",
                         outs[i], inputs[j]);
                return -1;
            }
    }
    return 0;
}

/* Follow symbolic links from path into out (cap bytes), also when the
 * last one dangles (the file it names is then created). 0 or an errno. */
static int resolve_links(const char *path, char *out, size_t cap)
{
    if (strlen(path) >= cap)
        return ENAMETOOLONG;
    strcpy(out, path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat sb;
        char link[PATH_MAX];
        if (lstat(out, &sb) != 0 || !S_ISLNK(sb.st_mode))
            return 0; /* a missing file is created; other errors show later */
        ssize_t len = readlink(out, link, sizeof link - 1);
        if (len < 0)
            return errno;
        link[len] = '\0';
        /* a relative link is relative to the folder holding it */
        char *slash = strrchr(out, '/');
        size_t keep =
            link[0] == '/' || slash == NULL ? 0 : (size_t)(slash - out) + 1;
        if (keep + (size_t)len >= cap)
            return ENAMETOOLONG;
        memcpy(out + keep, link, (size_t)len + 1);
    }
    return ELOOP;
}

/* A temporary file next to o->target (set); 0 or an errno. */
static int open_temp(size_t k)
{
    output *o = &outputs[k];
    static const char suffix[] = ".tmp.XXXXXX";
    size_t len = strlen(o->target);
    if (len + sizeof suffix > sizeof o->tmp)
        return ENAMETOOLONG;
    memcpy(o->tmp, o->target, len);
    memcpy(o->tmp + len, suffix, sizeof suffix);
    live[k] = 1;
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        live[k] = 0;
        return errno;
    }
    /* mkstemp creates mode 0600; give the file the mode a plain fopen
     * would (0666 less the umask). */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->fp = fdopen(fd, "w");
    if (o->fp == NULL) {
        int saved = errno;
        close(fd);
        unlink(o->tmp);
        live[k] = 0;
        return saved;
    }
    return 0;
}

/* Open output k for o->path; 0 or an errno. */
static int open_one(size_t k)
{
    output *o = &outputs[k];
    struct stat sb, so;
    int exists = stat(o->path, &sb) == 0;
    if (strcmp(o->path, "-") == 0 ||
        (exists && !S_ISCHR(sb.st_mode) && fstat(STDOUT_FILENO, &so) == 0 &&
         same_file(&sb, &so))) {
        /* "-", or the pipe or file stdout goes to (/dev/stdout): one
         * stream, so that the output and stdout cannot overwrite each
         * other. A terminal or /dev/null may be shared harmlessly. */
        o->kind = STDOUT;
        o->fp = stdout;
        return 0;
    }
    if (exists && S_ISDIR(sb.st_mode))
        return EISDIR;
    if (exists && !S_ISREG(sb.st_mode)) {
        /* A FIFO or a device: renaming over it would replace it. */
        o->kind = DIRECT;
        o->fp = fopen(o->path, "w");
        return o->fp == NULL ? errno : 0;
    }
    o->kind = TEMP;
    int e = resolve_links(o->path, o->target, sizeof o->target);
    return e != 0 ? e : open_temp(k);
}

FILE *otkcli_open_output(const char *path, otkcli_error *err)
{
    if (n_outputs == OTKCLI_MAX_OUTPUTS) {
        snprintf(err->msg, sizeof err->msg, "%s: too many output files", path);
        return NULL;
    }
    for (size_t k = 0; k < n_outputs; k++)
        if (strcmp(outputs[k].path, path) == 0 ||
            (outputs[k].kind == STDOUT && strcmp(path, "-") == 0)) {
            snprintf(err->msg, sizeof err->msg, "%s: named for two outputs",
                     path);
            return NULL;
        }
    output *o = &outputs[n_outputs];
    size_t len = strlen(path);
    int e = ENOMEM;
    if ((o->path = malloc(len + 1)) != NULL) {
        memcpy(o->path, path, len + 1);
        e = open_one(n_outputs);
    }
    if (e != 0) {
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(e));
        free(o->path);
        o->path = NULL;
        return NULL;
    }
    n_outputs++;
    return o->fp;
}

int otkcli_stdout_taken(void)
{
    for (size_t k = 0; k < n_outputs; k++)
        if (outputs[k].kind == STDOUT)
            return 1;
    return 0;
}

int otkcli_close_outputs(otkcli_error *err)
{
    int failed = 0;
    for (size_t k = 0; k < n_outputs; k++) {
        output *o = &outputs[k];
        if (o->fp == NULL)
            continue;
        int fd = fileno(o->fp);
        errno = 0;
        int bad = ferror(o->fp);
        if (o->kind == STDOUT)
            bad |= fflush(o->fp) != 0 || ferror(o->fp);
        else
            bad |= fclose(o->fp) != 0;
        /* A reader that went away is not an error (docs/cli.md). */
        if (bad && o->kind != TEMP && otkcli_reader_gone(fd))
            bad = 0;
        if (bad && !failed)
            snprintf(err->msg, sizeof err->msg, "%s: write error%s%s",
                     o->kind == STDOUT ? "standard output" : o->path,
                     errno ? ": " : "", errno ? strerror(errno) : "");
        failed |= bad;
        o->fp = NULL;
    }
    return failed ? -1 : 0;
}

static void release_all(void)
{
    for (size_t k = 0; k < n_outputs; k++) {
        free(outputs[k].path);
        outputs[k].path = NULL;
    }
    n_outputs = 0;
}

int otkcli_rename_outputs(otkcli_error *err)
{
    size_t k, failed = 0;
    for (k = 0; k < n_outputs && !failed; k++) {
        output *o = &outputs[k];
        if (o->kind != TEMP)
            continue;
        if (rename(o->tmp, o->target) != 0) {
            snprintf(err->msg, sizeof err->msg, "%s: %s", o->path,
                     strerror(errno));
            failed = k + 1;
            break;
        }
        live[k] = 0;
    }
    if (failed) {
        /* Exit 1 leaves no fresh file: remove those already renamed, and
         * the temporaries not yet renamed. */
        for (k = 0; k < n_outputs; k++)
            if (outputs[k].kind == TEMP) {
                unlink(k + 1 < failed ? outputs[k].target : outputs[k].tmp);
                live[k] = 0;
            }
    }
    release_all();
    return failed ? -1 : 0;
}

int otkcli_commit_all(otkcli_error *err)
{
    if (otkcli_close_outputs(err) != 0) {
        otkcli_abort_all();
        return -1;
    }
    return otkcli_rename_outputs(err);
}

void otkcli_abort_all(void)
{
    for (size_t k = 0; k < n_outputs; k++) {
        output *o = &outputs[k];
        if (o->fp != NULL && o->kind != STDOUT)
            fclose(o->fp);
        o->fp = NULL;
        if (o->kind == TEMP && live[k]) {
            unlink(o->tmp);
            live[k] = 0;
        }
    }
    release_all();
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
