/*
 * What every otk-* solver tool shares beyond CSV and outputs: the common
 * options (inputs, --plan, --potentials, --format, -v, --help,
 * --version), usage errors, library error messages and the final
 * summary-then-commit step. A tool adds its own options to the table and
 * handles them before passing the rest to otkcli_tool_option().
 */
#ifndef OTKCLI_TOOL_H
#define OTKCLI_TOOL_H

#include <getopt.h>

#include "cli.h"
#include "problem.h"

typedef struct otkcli_tool {
    const char *prog; /* "otk-sinkhorn", ... */
    const char *help; /* the --help text */
    otkcli_problem_args in;
    otkcli_format fmt;
    int verbose;
    const char *plan_path, *pot_path;
    const char *more_in[2]; /* a tool's other input files, for the checks */
} otkcli_tool;

/* Long-option codes of the common options; tools number theirs from
 * OTKCLI_OPT_TOOL on. */
enum {
    OTKCLI_OPT_X = 0x100,
    OTKCLI_OPT_Y,
    OTKCLI_OPT_METRIC,
    OTKCLI_OPT_P,
    OTKCLI_OPT_PLAN,
    OTKCLI_OPT_POTENTIALS,
    OTKCLI_OPT_TOOL
};

/* clang-format off */
#define OTKCLI_COMMON_SHORT ":c:a:b:f:vhV"
#define OTKCLI_COMMON_LONG                                                   \
    {"cost", required_argument, NULL, 'c'},                                  \
    {"x", required_argument, NULL, OTKCLI_OPT_X},                            \
    {"y", required_argument, NULL, OTKCLI_OPT_Y},                            \
    {"metric", required_argument, NULL, OTKCLI_OPT_METRIC},                  \
    {"p", required_argument, NULL, OTKCLI_OPT_P},                            \
    {"a", required_argument, NULL, 'a'},                                     \
    {"b", required_argument, NULL, 'b'},                                     \
    {"plan", required_argument, NULL, OTKCLI_OPT_PLAN},                      \
    {"potentials", required_argument, NULL, OTKCLI_OPT_POTENTIALS},          \
    {"format", required_argument, NULL, 'f'},                                \
    {"verbose", no_argument, NULL, 'v'},                                     \
    {"help", no_argument, NULL, 'h'},                                        \
    {"version", no_argument, NULL, 'V'}
/* clang-format on */

void otkcli_tool_init(otkcli_tool *t, const char *prog, const char *help);

/*
 * Handle getopt_long's result c for a common option (or a getopt error).
 * Returns 0 when handled, 1 when --help/--version ran (the tool then
 * returns *code), and -1 for a usage error (already printed; the tool
 * returns *code = 2). Unknown options are usage errors.
 */
int otkcli_tool_option(otkcli_tool *t, int c, char **argv, int *code);

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

/* Write f (n) and g (m) to t->pot_path as rows "potential,index,value".
 * 0, or -1 with the message printed. Does nothing without --potentials. */
int otkcli_write_potentials(const otkcli_tool *t, const double *f, size_t n,
                            const double *g, size_t m);

/* Write the plan to t->plan_path (nothing without --plan): dense = n rows
 * of m values, else COO rows "i,j,value" (0-based, nonzeros, after a
 * header line). The plan is the dense P when P is not NULL, else the
 * entries, sorted by row then column. 0, or -1 with the message printed.
 */
int otkcli_write_plan(const otkcli_tool *t, int dense, size_t n, size_t m,
                      const double *P, const otk_plan_entry *entries,
                      size_t nnz);

/* Close the outputs, print the summary (to stderr when an output took
 * stdout), then rename the outputs into place (see cli.h). 0, or -1 with
 * the message printed and nothing left behind. */
int otkcli_finish(const otkcli_tool *t, const otkcli_summary *sm);

#endif
