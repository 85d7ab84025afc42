/* What the figure programs under examples/figures/ share: fatal errors,
 * allocation, output files in one folder, a clock. */
#ifndef OTK_FIGURE_UTIL_H
#define OTK_FIGURE_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Set by each program's main before anything else. */
extern const char *figure_prog;    /* name in messages */
extern const char *figure_out_dir; /* the folder figure_open writes into */

/* "prog: what" on stderr, exit 1. */
void figure_die(const char *what);
/* malloc that dies instead of returning NULL. */
void *figure_xmalloc(size_t bytes);
/* figure_out_dir/name opened for writing, or die naming the path. */
FILE *figure_open(const char *name);
/* fclose, or die on a write error. */
void figure_close(FILE *fp);
/* Monotonic seconds. */
double figure_now(void);

#endif /* OTK_FIGURE_UTIL_H */
