/* otk-quadratic: quadratically-regularized OT from CSV files. */
#include "smooth/smooth_tool.h"

int main(int argc, char **argv) { return otkcli_smooth_main(argc, argv, 0); }
