/* otk-quadratic and otk-sparse: one program body, two names. */
#ifndef OTKCLI_SMOOTH_TOOL_H
#define OTKCLI_SMOOTH_TOOL_H

/* Run the tool; sparse = 1 for otk-sparse (which takes -k). */
int otkcli_smooth_main(int argc, char **argv, int sparse);

#endif
