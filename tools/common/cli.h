/*
 * Shared by every otk-* tool: CSV input, atomic file output, option
 * parsing and the summary record. Conventions are in docs/cli.md.
 *
 * Errors are returned as a message in an otkcli_error, formatted
 * "FILE:LINE:COL: what is wrong" where a position applies; the tool
 * prefixes its own name and exits 1 (data) or 2 (usage).
 */
#ifndef OTKCLI_CLI_H
#define OTKCLI_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <otkit/otkit.h>

/* Exit codes shared by all tools (docs/cli.md). */
enum {
    OTKCLI_EXIT_OK = 0,           /* converged / optimal */
    OTKCLI_EXIT_FAILURE = 1,      /* data, I/O or runtime error */
    OTKCLI_EXIT_USAGE = 2,        /* bad or missing option */
    OTKCLI_EXIT_NOT_CONVERGED = 3 /* finished without reaching tol */
};

typedef struct otkcli_error {
    char msg[1024];
} otkcli_error;

/* Format a message into err (printf-style). */
void otkcli_set_error(otkcli_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A dense matrix read from CSV: rows x cols doubles, row-major. line[i]
 * is the file line (1-based) of data row i, for messages about a row:
 * comments, blank lines and a header make the two differ. */
typedef struct otkcli_matrix {
    double *data;
    size_t rows, cols;
    size_t *line;
} otkcli_matrix;

/*
 * Read a numeric matrix file ("-" is stdin): a .npy file (recognized by
 * its magic bytes, whatever its name) or text. Text accepts a UTF-8 BOM,
 * CRLF line ends, '#' comment lines, blank lines, spaces around fields,
 * and one optional header row (a first row in which no field is a
 * number). Fields are separated by commas, or by blanks (spaces, tabs)
 * when the first non-comment line has no comma. Every data row must have
 * the same number of fields, every field a finite number. Returns 0, or
 * -1 with err set (nothing allocated then).
 */
int otkcli_read_matrix(const char *path, otkcli_matrix *out, otkcli_error *err);
/* The same with checks: OTKCLI_NONNEGATIVE rejects negative values at
 * their line and column. */
#define OTKCLI_NONNEGATIVE 1
int otkcli_read_matrix_flags(const char *path, otkcli_matrix *out, int flags,
                             otkcli_error *err);
/* Weights: a CSV with one column or one row of nonnegative numbers. On
 * success *len is its length and *data is malloc'd. */
int otkcli_read_weights(const char *path, double **data, size_t *len,
                        otkcli_error *err);
void otkcli_matrix_free(otkcli_matrix *m);

/*
 * Output files (docs/cli.md, "How files are written"). A regular file, or
 * one to be created, is written under a temporary name in its folder
 * (symbolic links followed to their target) and renamed into place only
 * by otkcli_rename_outputs(), so a failed run never leaves a partial or
 * fresh file. "-" (or /dev/stdout, or the file stdout goes to) is standard
 * output; a FIFO or a device is written directly. Register at most
 * OTKCLI_MAX_OUTPUTS files. Write errors need not be checked while
 * writing: otkcli_close_outputs() finds them.
 */
#define OTKCLI_MAX_OUTPUTS 8

/* Usage check before any work (NULL paths skipped): no file named for two
 * outputs ("-" at most once), no output that is an existing input file
 * (compared by device and inode, so also through links). 0 or -1. */
int otkcli_check_paths(const char *const *inputs, size_t n_in,
                       const char *const *outputs, size_t n_out,
                       otkcli_error *err);
/* Open an output; NULL with err set on failure. */
FILE *otkcli_open_output(const char *path, otkcli_error *err);
/* Whether an opened output writes to standard output (the summary then
 * goes to stderr). */
int otkcli_stdout_taken(void);
/* Close (flush) every output, finding write errors; a reader of a pipe
 * that went away is no error. 0, or -1 with err set (then call
 * otkcli_abort_all). */
int otkcli_close_outputs(otkcli_error *err);
/* Rename every temporary into place; 0, or -1 with err set: then the
 * outputs already renamed and the temporaries are removed. */
int otkcli_rename_outputs(otkcli_error *err);
/* close then rename, for a tool without a summary; on failure nothing
 * is left behind. */
int otkcli_commit_all(otkcli_error *err);
/* Close and remove every opened output (also safe after commit). */
void otkcli_abort_all(void);
/* Whether the reader of pipe or socket fd has gone away. */
int otkcli_reader_gone(int fd);
/* Remove the temporaries on SIGINT, SIGTERM and SIGHUP, then die of the
 * signal as usual (signals ignored at start stay ignored). */
void otkcli_catch_signals(void);

/* Write a matrix as CSV rows with %.17g. Returns 0, or -1 after the first
 * failed write (the output reports it when closed). */
int otkcli_write_rows(FILE *fp, const double *data, size_t rows, size_t cols);
/* Whether an output file name ends in ".npy" (then matrices are written
 * as .npy, float64 in C order). */
int otkcli_is_npy_name(const char *path);
/* Write a matrix as a .npy file: rows x cols, or a 1-D array of
 * rows * cols values with one_d. 0 or -1 as otkcli_write_rows. */
int otkcli_write_npy(FILE *fp, const double *data, size_t rows, size_t cols,
                     int one_d);
/* Write a matrix to the output opened for path: .npy when the name ends
 * in ".npy", else CSV rows. */
int otkcli_write_matrix(FILE *fp, const char *path, const double *data,
                        size_t rows, size_t cols);

/* A binary PGM (P5) or PPM (P6, converted to BT.601 luma) image as
 * row-major grayscale values in [0, 1]; 0, or -1 with err set. */
int otkcli_read_netpbm(const char *path, double **gray, size_t *rows,
                       size_t *cols, otkcli_error *err);
/* Write a grayscale image (values clipped to [0, 1]) as a binary PGM.
 * 0 or -1 (I/O error). */
int otkcli_write_pgm(FILE *fp, const double *image, size_t rows, size_t cols);

/* Option values: parse the whole string or fail with a message naming the
 * option. Return 0 or -1. */
int otkcli_parse_double(const char *opt, const char *s, double *v,
                        otkcli_error *err);
int otkcli_parse_size(const char *opt, const char *s, size_t *v,
                      otkcli_error *err);

/*
 * A summary key, as --help lists it and as otkcli_summary_*() accept it:
 * `when` says when the key is printed ("with --divergence"), NULL for
 * always. An entry with a NULL name is a heading naming the command the
 * keys after it belong to (otk-mongegap has one summary per command); the
 * array ends with {NULL, NULL}.
 */
typedef struct otkcli_key {
    const char *name;
    const char *when;
} otkcli_key;

/* The summary record: keys and values printed as one CSV header line
 * plus one record, or as one JSON object. With `keys` (the tool's list,
 * from the entry after its heading), a key not in the list is a
 * programming error (abort), and the keys print in the list's order. */
typedef enum { OTKCLI_CSV, OTKCLI_JSON } otkcli_format;
typedef struct otkcli_summary {
    const otkcli_key *keys;
    size_t count;
    struct {
        const char *key;
        int kind; /* 0 string, 1 double, 2 unsigned */
        const char *s;
        double d;
        size_t u;
    } item[24];
} otkcli_summary;
void otkcli_summary_str(otkcli_summary *sm, const char *key, const char *v);
void otkcli_summary_num(otkcli_summary *sm, const char *key, double v);
void otkcli_summary_count(otkcli_summary *sm, const char *key, size_t v);
/* Print to fp. Doubles use %.17g; in JSON non-finite values are null. */
void otkcli_summary_print(const otkcli_summary *sm, otkcli_format fmt,
                          FILE *fp);

/* Map a solver status to the tool's exit code. */
int otkcli_exit_code(otk_status st);

/* First thing in every tool's main: ignore SIGPIPE (a closed pipe shows
 * as EPIPE and counts as success), catch the signals that would leave
 * temporaries, and turn GSL's abort-on-error off. */
void otkcli_init(void);
/* Flush stdout: 0 when fine or when the reader went away (EPIPE); -1
 * after reporting "prog: write error on standard output" once. */
int otkcli_flush_stdout(const char *prog);
/* Close stdout at exit: returns code, or 1 if a write error (other than
 * EPIPE) happened; reports it once. */
int otkcli_close_stdout(const char *prog, int code);

#endif
