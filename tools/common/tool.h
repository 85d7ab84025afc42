/*
 * What every otk-* solver tool shares beyond CSV and outputs: the common
 * options (inputs, --plan, --potentials, --format, -v, --help,
 * --version), the option tables, usage errors, library error messages and
 * the final summary-then-commit step. A tool lists its options in one
 * table (otkcli_opt) and handles its own codes before passing the rest to
 * otkcli_tool_option().
 */
#ifndef OTKCLI_TOOL_H
#define OTKCLI_TOOL_H

#include <getopt.h>

#include "cli.h"
#include "problem.h"

/*
 * One option of a tool. A tool's options are one array of these, from
 * which its getopt_long table, its --help text and (through `code`) its
 * dispatch are all built, so the three cannot disagree. An entry with a
 * NULL name is a heading of the help text (its `help`); the array ends
 * with an entry whose name and help are both NULL (OTKCLI_END).
 */
typedef struct otkcli_opt {
    const char *name;    /* long name without "--" */
    char short_name;     /* 'c' for -c, or 0 */
    const char *arg;     /* the value's name in --help; NULL: takes none */
    int code;            /* what otkcli_next_option() returns for it */
    const char *help;    /* help lines, separated by '\n' */
    const char *setting; /* the library settings field it sets (so that a
                            range error can name the option), or NULL */
} otkcli_opt;

/* clang-format off */
#define OTKCLI_OPT(name, s, arg, code, help) {name, s, arg, code, help, NULL}
/* An option that sets the library settings field `field` (a record of the
 * spec's bounds table): parsed, checked and stored by otkcli_setting_option,
 * its default and range printed by --help. */
#define OTKCLI_SETTING(name, arg, code, help, field)                           \
    {name, 0, arg, code, help, #field}
#define OTKCLI_HEADING(text) {NULL, 0, NULL, 0, text, NULL}
#define OTKCLI_END {NULL, 0, NULL, 0, NULL, NULL}
/* clang-format on */

/* What --help says besides the options: usage and description (intro),
 * the summary keys, and the closing lines (exit status). */
typedef struct otkcli_spec {
    const char *intro;
    const otkcli_opt *opts;
    const otkcli_key *keys;
    const char *outro;
    /* The library's bounds table of the settings the options set (their
     * `setting` names its records), or NULL: --help prints each such
     * option's default and range from it, and otkcli_check_settings()
     * checks the values against it. */
    const otk_setting_bounds *(*bounds)(size_t *count);
} otkcli_spec;

#define OTKCLI_MAX_OPTS 64

typedef struct otkcli_tool {
    const char *prog; /* "otk-sinkhorn", ... */
    const otkcli_spec *spec;
    otkcli_problem_args in;
    otkcli_format fmt;
    int verbose;
    const char *plan_path, *pot_path;
    /* built from spec->opts by otkcli_tool_init */
    struct option longopts[OTKCLI_MAX_OPTS + 1];
    char shortopts[2 * OTKCLI_MAX_OPTS + 2];
    const char *more_in[2]; /* a tool's other input files, for the checks */
} otkcli_tool;

/* Option codes of the common options; tools number theirs from
 * OTKCLI_OPT_TOOL on. */
enum {
    OTKCLI_OPT_COST = 0x100,
    OTKCLI_OPT_X,
    OTKCLI_OPT_Y,
    OTKCLI_OPT_METRIC,
    OTKCLI_OPT_P,
    OTKCLI_OPT_A,
    OTKCLI_OPT_B,
    OTKCLI_OPT_PLAN,
    OTKCLI_OPT_POTENTIALS,
    OTKCLI_OPT_FORMAT,
    OTKCLI_OPT_VERBOSE,
    OTKCLI_OPT_HELP,
    OTKCLI_OPT_VERSION,
    OTKCLI_OPT_TOOL
};

/* The common options, in the groups the tools' help texts show them. */
/* clang-format off */
#define OTKCLI_OPTS_INPUT                                                    \
    OTKCLI_HEADING("Input:"),                                                \
    OTKCLI_OPT("cost", 'c', "FILE", OTKCLI_OPT_COST,                         \
               "n x m cost matrix (CSV, blank-separated text or .npy)"),      \
    OTKCLI_OPT("x", 0, "FILE", OTKCLI_OPT_X,                                 \
               "n x d source points (with --y, instead of --cost);\n"         \
               "costs are computed as needed, no n x m matrix is kept"),     \
    OTKCLI_OPT("y", 0, "FILE", OTKCLI_OPT_Y, "m x d target points"),         \
    OTKCLI_OPT("metric", 0, "M", OTKCLI_OPT_METRIC,                          \
               "sqeuclidean (default), euclidean or pnorm"),                 \
    OTKCLI_OPT("p", 0, "P", OTKCLI_OPT_P,                                    \
               "exponent for --metric pnorm: cost ||x-y||_p^p (2)"),         \
    OTKCLI_OPT("a", 'a', "FILE", OTKCLI_OPT_A,                               \
               "n source weights (default uniform 1/n)"),                    \
    OTKCLI_OPT("b", 'b', "FILE", OTKCLI_OPT_B,                               \
               "m target weights (default uniform 1/m)")
#define OTKCLI_OPTS_PLAN                                                     \
    OTKCLI_OPT("plan", 0, "FILE", OTKCLI_OPT_PLAN, "write the plan"),        \
    OTKCLI_OPT("potentials", 0, "FILE", OTKCLI_OPT_POTENTIALS,               \
               "write f and g as rows 'potential,index,value'")
#define OTKCLI_OPTS_GENERAL                                                  \
    OTKCLI_OPT("format", 'f', "F", OTKCLI_OPT_FORMAT,                        \
               "summary as csv (default) or json"),                          \
    OTKCLI_OPT("verbose", 'v', NULL, OTKCLI_OPT_VERBOSE, "progress on stderr"),\
    OTKCLI_OPT("help", 'h', NULL, OTKCLI_OPT_HELP, "this help"),             \
    OTKCLI_OPT("version", 'V', NULL, OTKCLI_OPT_VERSION, "the version")
/* clang-format on */

/* The first summary keys of every OT solver tool (docs/cli.md, 3). */
#define OTKCLI_KEYS_SOLVER                                                     \
    {"status", NULL}, {"iterations", NULL}, {"marginal_error", NULL},          \
        {"transport_cost", NULL}, {"objective", NULL},                         \
    {                                                                          \
        "dual_objective", NULL                                                 \
    }

/* Set up t for the tool prog described by spec (which must outlive t):
 * builds the getopt tables, sets the defaults of the common options. */
void otkcli_tool_init(otkcli_tool *t, const char *prog,
                      const otkcli_spec *spec);

/* The next option's code (its table entry's `code`, also for its short
 * form), ':' for a missing value, '?' for an unknown option, or -1 at the
 * end. optarg holds the value. */
int otkcli_next_option(otkcli_tool *t, int argc, char **argv);

/* Print the --help text built from t's spec. */
void otkcli_tool_help(const otkcli_tool *t, FILE *fp);

/*
 * Option code c, when it is an option with a value whose `setting` is in
 * the spec's bounds table: parses the value by the field's kind (a number,
 * or a nonnegative integer for counts, ints and seeds), checks it against
 * the field's range and stores it in `settings` (the library's settings
 * struct). Returns 1 when stored, 0 when c is not such an option, -1
 * after a usage error was printed (*code = 2).
 */
int otkcli_setting_option(const otkcli_tool *t, int c, const char *value,
                          void *settings, int *code);

/*
 * After parsing: every field of `settings` (the library's settings struct
 * that the options wrote into) checked against the spec's bounds table.
 * Returns 0, or 2 after printing "prog: --option: VALUE is out of range
 * RANGE" and the --help hint for the first field out of range.
 */
int otkcli_check_settings(const otkcli_tool *t, const void *settings);

/* "--name" of the option whose `setting` is setting, or NULL. */
const char *otkcli_option_for_setting(const otkcli_tool *t,
                                      const char *setting);

/*
 * Handle a common option's code (or ':'/'?' from otkcli_next_option).
 * Returns 0 when handled, 1 when --help/--version ran (the tool then
 * returns *code), and -1 for a usage error (already printed; the tool
 * returns *code = 2). Codes no one handles are usage errors too.
 */
int otkcli_tool_option(otkcli_tool *t, int c, char **argv, int *code);

/* The --version text: "prog (otkit) VERSION", then the copyright and
 * licence lines as GNU tools print them. */
void otkcli_print_version(const char *prog, FILE *fp);

/* Print "prog: msg" and the --help hint to stderr; returns 2. */
int otkcli_usage_error(const otkcli_tool *t, const char *msg);

/* Usage checks shared by all tools, after option parsing: stray
 * arguments, the input combination, outputs named twice or naming an
 * input (otkcli_check_paths). 0 or usage error code 2 (printed). */
int otkcli_tool_check(otkcli_tool *t, int argc, char **argv, int optind_);

/* A library error, in the tool's words: unequal or zero masses name the
 * files and sums; others print otk_status_string and the argument. */
void otkcli_report(const otkcli_tool *t, const otkcli_problem *pb,
                   otk_status st, const char *what);

/* The not-converged warning, naming the CLI's options. */
void otkcli_warn_not_converged(const otkcli_tool *t, const char *detail);

/* Open path as an output and write the matrix (.npy when the name ends
 * in ".npy", else CSV rows). 0, or -1 with the message printed. */
int otkcli_tool_write_matrix(const otkcli_tool *t, const char *path,
                             const double *data, size_t rows, size_t cols);

/* Write f (n) and g (m) to t->pot_path as rows "potential,index,value"
 * (or, for a name ending in ".npy", one 1-D array: f, then g).
 * 0, or -1 with the message printed. Does nothing without --potentials. */
int otkcli_write_potentials(const otkcli_tool *t, const double *f, size_t n,
                            const double *g, size_t m);

/* Write the plan to t->plan_path (nothing without --plan): dense = n rows
 * of m values, else COO rows "i,j,value" (0-based, nonzeros, after a
 * header line). The plan is the dense P when P is not NULL, else the
 * entries, sorted by row then column. A name ending in ".npy" gets the
 * dense n x m array, or the COO rows as an nnz x 3 array. 0, or -1 with
 * the message printed.
 */
int otkcli_write_plan(const otkcli_tool *t, int dense, size_t n, size_t m,
                      const double *P, const otk_plan_entry *entries,
                      size_t nnz);

/* Close the outputs, print the summary (to stderr when an output took
 * stdout), then rename the outputs into place (see cli.h). 0, or -1 with
 * the message printed and nothing left behind. */
int otkcli_finish(const otkcli_tool *t, const otkcli_summary *sm);

#endif
