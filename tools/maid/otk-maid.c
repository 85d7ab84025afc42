/* otk-maid: hyperparameter learning by inexact bilevel optimization (MAID
 * and its baselines) on the built-in problem families. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <otkit/otkit.h>

#include "common/tool.h"
#include "gd_reference.h"

/* clang-format off */
static const char intro[] =
"Usage: otk-maid --problem P [PROBLEM OPTIONS] [--method M] [OPTIONS]\n"
"\n"
"Learns the hyperparameters theta of a lower-level problem min_x h(x, theta)\n"
"so that its solution minimizes an upper-level loss g (docs/bilevel.md).\n"
"\n";
static const char outro[] =
"Exit status: 0 done (max-iter or budget reached, --grad-tol met, or\n"
"converged: no step at the tightest accuracy reachable), 1\n"
"data or runtime error, 2 usage error, 3 stalled (a lower-level or CG\n"
"solve could not reach the accuracy; outputs still written), or\n"
"--grad-tol given and not met. See docs/cli.md.\n";
/* clang-format on */

#define MAX_IMAGES 32

enum {
    O_PROBLEM = OTKCLI_OPT_TOOL,
    O_ROWS,
    O_DIM,
    O_COND,
    O_SIGNALS,
    O_LENGTH,
    O_NOISE,
    O_IMAGE,
    O_SIZE,
    O_DATA,
    O_TRAIN,
    O_SEED,
    O_METHOD,
    O_EPS0,
    O_DELTA0,
    O_ALPHA0,
    O_MAXITER,
    O_BUDGET,
    O_RHO_UNDER,
    O_RHO_OVER,
    O_NU_UNDER,
    O_NU_OVER,
    O_ETA,
    O_ARMIJO,
    O_MAXBT,
    O_NODESCENT,
    O_CERTIFIED,
    O_PAPER,
    O_RHO_FAST,
    O_QN_PAIRS,
    O_NOWARM,
    O_MUFLOOR,
    O_GRADTOL,
    O_LLMAX,
    O_CGMAX,
    O_TRACE,
    O_THETA,
    O_OUTPUT,
    O_NOISY,
    O_FILTERS,
    O_FILTER_SIZE,
    O_LOWER,
    O_EVALUATE
};

static const otkcli_opt opts[] = {
    OTKCLI_HEADING("Problems:"),
    OTKCLI_OPT("problem", 0, "P", O_PROBLEM,
               "(required) one of\n"
               "quadratic: least squares with an analytic optimum\n"
               "tv1d: TV denoising of 1-D box signals (3 weights)\n"
               "tv2d: smoothed-TV denoising of images (2 weights)\n"
               "foe: Field-of-Experts denoiser (learned filters,\n"
               "  weights and smoothings; the data options of tv2d)\n"
               "logreg: multinomial logistic regression, one l2\n"
               "  weight per weight"),
    OTKCLI_OPT("rows", 0, "R", O_ROWS, "quadratic: rows (50)"),
    OTKCLI_OPT("dim", 0, "D", O_DIM, "quadratic: dimension (4)"),
    OTKCLI_OPT("cond", 0, "C", O_COND,
               "quadratic: condition number of the upper-level\n"
               "Hessian (200); 0: the paper's uniform draws"),
    OTKCLI_OPT("signals", 0, "N", O_SIGNALS, "tv1d: signals (5)"),
    OTKCLI_OPT("length", 0, "L", O_LENGTH, "tv1d: signal length (256)"),
    OTKCLI_OPT("noise", 0, "S", O_NOISE,
               "tv1d, tv2d, foe: noise deviation (0.1)"),
    OTKCLI_OPT("image", 0, "FILE", O_IMAGE,
               "tv2d, foe: PGM or PPM image (repeatable; required)"),
    OTKCLI_OPT("size", 0, "S", O_SIZE,
               "tv2d, foe: the centre square, averaged down to\n"
               "S x S (64)"),
    OTKCLI_OPT("filters", 0, "K", O_FILTERS, "foe: filters (4)"),
    OTKCLI_OPT("filter-size", 0, "S", O_FILTER_SIZE, "foe: filter side (5)"),
    OTKCLI_OPT("data", 0, "FILE", O_DATA,
               "logreg: CSV, features... then an integer label\n"
               "(required)"),
    OTKCLI_OPT("train", 0, "N", O_TRAIN,
               "logreg: training rows (half; the rest validates)"),
    OTKCLI_OPT("seed", 0, "S", O_SEED, "data and noise generator seed (0)"),
    OTKCLI_HEADING("Method and settings (defaults in docs/bilevel.md):"),
    OTKCLI_OPT("method", 0, "M", O_METHOD,
               "maid (default), fixed, hoag-geometric, hoag-quadratic\n"
               "or hoag-cubic"),
    OTKCLI_OPT("lower-solver", 0, "S", O_LOWER,
               "auto (default: lbfgs for a solve whose mu is\n"
               "below --ll-mu-floor, else fista), fista, gd\n"
               "or lbfgs"),
    OTKCLI_SETTING("eps0", "E", O_EPS0, "initial lower-level accuracy", eps0),
    OTKCLI_SETTING("delta0", "D", O_DELTA0, "initial CG accuracy", delta0),
    OTKCLI_SETTING("alpha0", "A", O_ALPHA0, "initial step", alpha0),
    OTKCLI_SETTING("max-iter", "N", O_MAXITER, "outer iterations", max_iter),
    OTKCLI_SETTING("budget", "B", O_BUDGET,
                   "lower-level + CG iterations (0: none)", budget),
    OTKCLI_SETTING("rho-under", "R", O_RHO_UNDER,
                   "step decrease factor per backtrack", rho_under),
    OTKCLI_SETTING("rho-over", "R", O_RHO_OVER,
                   "step increase factor after a success", rho_over),
    OTKCLI_SETTING("nu-under", "V", O_NU_UNDER, "accuracy decrease factor",
                   nu_under),
    OTKCLI_SETTING("nu-over", "V", O_NU_OVER,
                   "accuracy increase factor after a success", nu_over),
    OTKCLI_SETTING("eta", "E", O_ETA, "line-search slack", eta),
    OTKCLI_SETTING("armijo-c", "C", O_ARMIJO, "Armijo constant", armijo_c),
    OTKCLI_SETTING("max-backtrack", "N", O_MAXBT, "backtracks per iteration",
                   max_backtrack),
    OTKCLI_SETTING("no-descent-test", NULL, O_NODESCENT,
                   "accept steps without the descent test", check_descent),
    OTKCLI_SETTING("certified", NULL, O_CERTIFIED,
                   "certified error bound and line search (the\n"
                   "paper's; default: the practical estimate)",
                   error_mode),
    OTKCLI_OPT("paper", 0, NULL, O_PAPER,
               "the paper's MAID: --certified, alpha0 0.01, growth\n"
               "10/9, CG from 0, FISTA, steepest descent (give it\n"
               "first: it resets those)"),
    OTKCLI_SETTING("rho-fast", "R", O_RHO_FAST,
                   "step increase factor until the first backtrack", rho_fast),
    OTKCLI_SETTING("qn-pairs", "M", O_QN_PAIRS,
                   "practical MAID: L-BFGS directions from the last M\n"
                   "steps (0: steepest descent)",
                   qn_pairs),
    OTKCLI_SETTING("no-cg-warm-start", NULL, O_NOWARM,
                   "every CG solve starts from q = 0", cg_warm_start),
    OTKCLI_SETTING("ll-mu-floor", "M", O_MUFLOOR,
                   "practical lower-level stop max(mu, M) eps", ll_mu_floor),
    OTKCLI_SETTING("grad-tol", "T", O_GRADTOL,
                   "stop when the hypergradient norm <= T", grad_tol),
    OTKCLI_SETTING("ll-max-iter", "N", O_LLMAX, "lower-level iteration cap",
                   ll_max_iter),
    OTKCLI_SETTING("cg-max-iter", "N", O_CGMAX, "CG iteration cap",
                   cg_max_iter),
    OTKCLI_HEADING("Evaluation:"),
    OTKCLI_OPT("evaluate", 0, "FILE", O_EVALUATE,
               "no run: the true upper loss at the theta in FILE\n"
               "(the --theta format) by a lower solve to 1e-10\n"
               "relative; --output, --noisy allowed, --trace and\n"
               "--theta not"),
    OTKCLI_HEADING("Outputs:"),
    OTKCLI_OPT("trace", 0, "FILE", O_TRACE, "CSV, one row per outer iteration"),
    OTKCLI_OPT("theta", 0, "FILE", O_THETA,
               "the learned hyperparameters, one per line"),
    OTKCLI_OPT("output", 0, "FILE", O_OUTPUT,
               "the reconstruction: PGM (tv2d, foe: images stacked)\n"
               "or CSV (tv1d, one signal per row)"),
    OTKCLI_OPT("noisy", 0, "FILE", O_NOISY,
               "the noisy data y, in the same format as --output"),
    OTKCLI_OPT("format", 'f', "F", OTKCLI_OPT_FORMAT,
               "summary as csv (default) or json"),
    OTKCLI_OPT("verbose", 'v', NULL, OTKCLI_OPT_VERBOSE,
               "a progress line on stderr every 10 outer iterations"),
    OTKCLI_OPT("help", 'h', NULL, OTKCLI_OPT_HELP, "this help"),
    OTKCLI_OPT("version", 'V', NULL, OTKCLI_OPT_VERSION, "the version"),
    OTKCLI_END};

static const otkcli_key keys[] = {{"status", NULL},
                                  {"iterations", NULL},
                                  {"accepted", NULL},
                                  {"upper_loss", NULL},
                                  {"lower_iterations", NULL},
                                  {"cg_iterations", NULL},
                                  {"eps", NULL},
                                  {"grad_norm", NULL},
                                  {"time_s", NULL},
                                  {"optimality_gap", "--problem quadratic"},
                                  {"gd_optimality_gap", "--problem quadratic"},
                                  {"psnr", "--problem tv1d, tv2d or foe"},
                                  {"psnr_noisy", "--problem tv1d, tv2d or foe"},
                                  {"loss_error", "--evaluate"},
                                  {NULL, NULL}};

static const otkcli_spec spec = {intro, opts, keys, outro,
                                 otk_bilevel_setting_bounds};

typedef struct options {
    const char *problem, *method, *data, *trace, *theta, *output, *noisy;
    const char *evaluate;
    const char *images[MAX_IMAGES];
    size_t image_count;
    size_t rows, dim, signals, length, size, train, seed, filters, fsize;
    const char *lower;
    double noise, cond;
    otk_bilevel_settings s;
} options;

/* --paper: the fields of otk_bilevel_paper_settings, leaving the options
 * given before it that the preset does not set. */
static void apply_paper(otk_bilevel_settings *s)
{
    otk_bilevel_settings p;
    otk_bilevel_paper_settings(&p);
    s->error_mode = p.error_mode;
    s->alpha0 = p.alpha0;
    s->rho_fast = s->rho_over;
    s->cg_warm_start = p.cg_warm_start;
    s->qn_pairs = p.qn_pairs;
    s->lower_solver = p.lower_solver;
}

static int parse(otkcli_tool *t, options *o, int argc, char **argv, int *code)
{
    otkcli_error err;
    int c;
    while ((c = otkcli_next_option(t, argc, argv)) != -1) {
        int bad = 0, set = otkcli_setting_option(t, c, optarg, &o->s, code);
        if (set < 0)
            return -1;
        if (set > 0)
            continue;
        switch (c) {
        case O_PROBLEM: o->problem = optarg; break;
        case O_ROWS:
            bad = otkcli_parse_size("--rows", optarg, &o->rows, &err);
            break;
        case O_COND:
            bad = otkcli_parse_double("--cond", optarg, &o->cond, &err);
            break;
        case O_DIM:
            bad = otkcli_parse_size("--dim", optarg, &o->dim, &err);
            break;
        case O_SIGNALS:
            bad = otkcli_parse_size("--signals", optarg, &o->signals, &err);
            break;
        case O_LENGTH:
            bad = otkcli_parse_size("--length", optarg, &o->length, &err);
            break;
        case O_NOISE:
            bad = otkcli_parse_double("--noise", optarg, &o->noise, &err);
            break;
        case O_IMAGE:
            if (o->image_count == MAX_IMAGES) {
                *code = otkcli_usage_error(t, "--image: at most 32 images");
                return -1;
            }
            o->images[o->image_count++] = optarg;
            break;
        case O_SIZE:
            bad = otkcli_parse_size("--size", optarg, &o->size, &err);
            break;
        case O_DATA: o->data = optarg; break;
        case O_TRAIN:
            bad = otkcli_parse_size("--train", optarg, &o->train, &err);
            break;
        case O_SEED:
            bad = otkcli_parse_size("--seed", optarg, &o->seed, &err);
            break;
        case O_METHOD: o->method = optarg; break;
        case O_NODESCENT: o->s.check_descent = 0; break;
        case O_CERTIFIED: o->s.error_mode = OTK_BILEVEL_CERTIFIED; break;
        case O_NOWARM: o->s.cg_warm_start = 0; break;
        case O_PAPER: apply_paper(&o->s); break;
        case O_TRACE: o->trace = optarg; break;
        case O_THETA: o->theta = optarg; break;
        case O_OUTPUT: o->output = optarg; break;
        case O_NOISY: o->noisy = optarg; break;
        case O_FILTERS:
            bad = otkcli_parse_size("--filters", optarg, &o->filters, &err);
            break;
        case O_FILTER_SIZE:
            bad = otkcli_parse_size("--filter-size", optarg, &o->fsize, &err);
            break;
        case O_LOWER: o->lower = optarg; break;
        case O_EVALUATE: o->evaluate = optarg; break;
        default:
            if (otkcli_tool_option(t, c, argv, code) != 0)
                return -1;
        }
        if (bad) {
            *code = otkcli_usage_error(t, err.msg);
            return -1;
        }
    }
    if (optind < argc) {
        *code = otkcli_usage_error(t, "unexpected argument");
        return -1;
    }
    return 0;
}

static int parse_method(const char *name, otk_bilevel_method *m)
{
    static const char *names[] = {"maid", "fixed", "hoag-geometric",
                                  "hoag-quadratic", "hoag-cubic"};
    for (int k = 0; k < 5; k++)
        if (strcmp(name, names[k]) == 0) {
            *m = (otk_bilevel_method)k;
            return 0;
        }
    return -1;
}

/* ---- problem data ---- */

/* The centre square of an image, averaged down to size x size. */
static void square_down(const double *img, size_t rows, size_t cols,
                        size_t size, double *out)
{
    size_t side = rows < cols ? rows : cols;
    size_t r0 = (rows - side) / 2, c0 = (cols - side) / 2;
    for (size_t i = 0; i < size; i++)
        for (size_t j = 0; j < size; j++) {
            size_t ra = r0 + i * side / size, rb = r0 + (i + 1) * side / size;
            size_t ca = c0 + j * side / size, cb = c0 + (j + 1) * side / size;
            double s = 0;
            for (size_t r = ra; r < rb; r++)
                for (size_t c = ca; c < cb; c++)
                    s += img[r * cols + c];
            out[i * size + j] = s / (double)((rb - ra) * (cb - ca));
        }
}

/* The images of tv2d and foe: each centre square averaged down to
 * size x size, stacked; NULL after printing the error. */
static double *load_images(const otkcli_tool *t, const options *o)
{
    size_t size = o->size, px = size * size;
    double *stack = malloc(o->image_count * px * sizeof *stack);
    if (!stack) {
        fprintf(stderr, "%s: out of memory\n", t->prog);
        return NULL;
    }
    for (size_t k = 0; k < o->image_count; k++) {
        otkcli_error err;
        double *img;
        size_t rows, cols;
        if (otkcli_read_netpbm(o->images[k], &img, &rows, &cols, &err) != 0) {
            fprintf(stderr, "%s: %s\n", t->prog, err.msg);
            free(stack);
            return NULL;
        }
        if (rows < size || cols < size) {
            fprintf(stderr, "%s: %s is %zu x %zu, smaller than --size %zu\n",
                    t->prog, o->images[k], rows, cols, size);
            free(img);
            free(stack);
            return NULL;
        }
        square_down(img, rows, cols, size, stack + k * px);
        free(img);
    }
    return stack;
}

static int make_images_problem(const otkcli_tool *t, const options *o,
                               otk_bilevel_instance *in)
{
    double *stack = load_images(t, o);
    if (!stack)
        return -1;
    size_t size = o->size;
    otk_status st = strcmp(o->problem, "foe") == 0
                        ? otk_bilevel_foe_create(stack, o->image_count, size,
                                                 size, o->noise, o->filters,
                                                 o->fsize, o->seed, in)
                        : otk_bilevel_tv2d_create(stack, o->image_count, size,
                                                  size, o->noise, o->seed, in);
    free(stack);
    if (st != OTK_CONVERGED) {
        fprintf(stderr, "%s: %s: %s\n", t->prog, o->problem,
                otk_status_string(st));
        return -1;
    }
    return 0;
}

static int make_logreg(const otkcli_tool *t, const options *o,
                       otk_bilevel_instance *in)
{
    otkcli_matrix m = {0};
    otkcli_error err;
    if (otkcli_read_matrix(o->data, &m, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    int rc = -1;
    size_t n = m.rows, f = m.cols - 1, train = o->train ? o->train : n / 2;
    double *x = NULL;
    int *y = NULL;
    size_t *order = NULL;
    gsl_rng *rng = NULL;
    if (m.cols < 2 || n < 4) {
        fprintf(stderr,
                "%s: %s: need at least 4 rows of features and a label (got "
                "%zu x %zu)\n",
                t->prog, o->data, m.rows, m.cols);
        goto done;
    }
    if (train < 2 || train > n - 2) {
        fprintf(stderr, "%s: --train %zu: must be in 2..%zu for %zu rows\n",
                t->prog, train, n - 2, n);
        goto done;
    }
    /* labels are class numbers 0..K-1 and every class needs an example,
     * so K <= n: checked before K sizes anything */
    size_t classes = 0;
    double scale = 0;
    for (size_t i = 0; i < n; i++) {
        double label = m.data[i * m.cols + f];
        if (!(label >= 0 && label < (double)n) || label != floor(label)) {
            fprintf(stderr,
                    "%s: %s:%zu:%zu: the label must be an integer in 0..%zu "
                    "(a class number; at most one class per row) (got %g)\n",
                    t->prog, o->data, m.line[i], m.cols, n - 1, label);
            goto done;
        }
        if ((size_t)label + 1 > classes)
            classes = (size_t)label + 1;
        for (size_t j = 0; j < f; j++)
            scale = fmax(scale, fabs(m.data[i * m.cols + j]));
    }
    if (classes < 2) {
        fprintf(stderr, "%s: %s: the labels name only one class\n", t->prog,
                o->data);
        goto done;
    }
    x = malloc(n * f * sizeof *x);
    y = malloc(n * sizeof *y);
    order = malloc(n * sizeof *order);
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!x || !y || !order || !rng) {
        fprintf(stderr, "%s: out of memory\n", t->prog);
        goto done;
    }
    /* a seeded shuffle, then the first `train` rows train; features are
     * scaled to [-1, 1] by the largest magnitude */
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    gsl_rng_set(rng, o->seed);
    gsl_ran_shuffle(rng, order, n, sizeof *order);
    if (scale == 0)
        scale = 1;
    for (size_t i = 0; i < n; i++) {
        const double *row = m.data + order[i] * m.cols;
        for (size_t j = 0; j < f; j++)
            x[i * f + j] = row[j] / scale;
        y[i] = (int)row[f];
    }
    otk_status st = otk_bilevel_logreg_create(
        x, y, train, x + train * f, y + train, n - train, f, classes, in);
    if (st != OTK_CONVERGED) {
        fprintf(stderr, "%s: logreg: %s\n", t->prog, otk_status_string(st));
        goto done;
    }
    rc = 0;
done:
    if (rng)
        gsl_rng_free(rng);
    free(order);
    free(x);
    free(y);
    otkcli_matrix_free(&m);
    return rc;
}

/* Builds the instance; -1 after printing the error (*usage set when it
 * is a usage error). */
static int make_problem(const otkcli_tool *t, const options *o,
                        otk_bilevel_instance *in, int *usage)
{
    const char *p = o->problem;
    otk_status st;
    *usage = 0;
    if (strcmp(p, "quadratic") == 0) {
        if (o->dim == 0 || o->rows < o->dim) {
            *usage = 1;
            return otkcli_usage_error(t,
                                      "--dim must be >= 1 and --rows >= --dim");
        }
        if (!(o->cond == 0 || o->cond >= 1) || isinf(o->cond)) {
            *usage = 1;
            return otkcli_usage_error(t, "--cond must be 0 or >= 1");
        }
        st = o->cond == 0
                 ? otk_bilevel_quadratic_create(o->rows, o->dim, o->seed, in)
                 : otk_bilevel_quadratic_conditioned_create(
                       o->rows, o->dim, o->cond, o->seed, in);
    } else if (strcmp(p, "tv1d") == 0) {
        if (o->signals == 0 || o->length < 2 || !(o->noise >= 0)) {
            *usage = 1;
            return otkcli_usage_error(
                t, "--signals must be >= 1, --length >= 2, --noise >= 0");
        }
        st = otk_bilevel_tv1d_create(o->signals, o->length, o->noise, o->seed,
                                     in);
    } else if (strcmp(p, "tv2d") == 0 || strcmp(p, "foe") == 0) {
        if (o->image_count == 0 || o->size < 2 || !(o->noise >= 0)) {
            *usage = 1;
            return otkcli_usage_error(
                t, "tv2d and foe need --image FILE, --size >= 2 and --noise "
                   ">= 0");
        }
        if (strcmp(p, "foe") == 0 &&
            (o->filters == 0 || o->fsize < 2 || o->fsize > o->size)) {
            *usage = 1;
            return otkcli_usage_error(
                t, "foe needs --filters >= 1 and 2 <= --filter-size <= --size");
        }
        return make_images_problem(t, o, in);
    } else if (strcmp(p, "logreg") == 0) {
        if (!o->data) {
            *usage = 1;
            return otkcli_usage_error(t, "logreg needs --data FILE");
        }
        return make_logreg(t, o, in);
    } else {
        *usage = 1;
        return otkcli_usage_error(
            t, "--problem: expected quadratic, tv1d, tv2d, foe or logreg");
    }
    if (st != OTK_CONVERGED) {
        fprintf(stderr, "%s: %s: %s\n", t->prog, p, otk_status_string(st));
        return -1;
    }
    return 0;
}

/* ---- trace and progress ---- */

typedef struct run_view {
    const otkcli_tool *t;
    FILE *trace;
    int io_error;
} run_view;

static int on_row(void *user, const otk_progress *pr)
{
    run_view *v = user;
    const otk_bilevel_trace_row *r = pr->detail;
    if (v->trace &&
        fprintf(v->trace,
                "%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%zu,%zu,"
                "%zu,%d,%.9g\n",
                r->iteration, r->upper_loss, r->upper_bound, r->lower_bound,
                r->eps, r->delta, r->step, r->omega, r->grad_norm,
                r->ll_iterations, r->cg_iterations, r->backtracks, r->accepted,
                r->time_s) < 0 &&
        !otkcli_reader_gone(fileno(v->trace))) /* a closed reader is fine */
        v->io_error = 1;
    if (v->t->verbose && r->iteration % 10 == 0)
        fprintf(stderr,
                "%s: iteration %zu  loss %.6g  eps %.3g  step %.3g  "
                "lower+cg %zu\n",
                v->t->prog, r->iteration, r->upper_loss, r->eps, r->step,
                r->ll_iterations + r->cg_iterations);
    return v->io_error; /* stop early rather than write a broken trace */
}

/* The accuracy of --evaluate and of the optimality gap: relative to the
 * solution's size, found by a first loose solve. */
#define TIGHT_EPS 1e-10
#define TIGHT_LL_MAX_ITER 100000

/* f(theta) by a tight lower solve from in->x0 into x (n entries):
 * otk_bilevel_evaluate at eps = TIGHT_EPS max(1, ||x||), ||x|| from a
 * solve at 1e-4; its cap the larger of --ll-max-iter and
 * TIGHT_LL_MAX_ITER. info: the tight solve's, with ll_iterations of
 * both. */
static otk_status tight_loss(const otk_bilevel_instance *in,
                             const otk_bilevel_settings *run_settings,
                             const double *theta, double *x, double *loss,
                             double *loss_error, otk_bilevel_info *info)
{
    const otk_bilevel_problem *pb = &in->problem;
    otk_bilevel_settings s = *run_settings;
    s.progress = NULL;
    if (s.ll_max_iter < TIGHT_LL_MAX_ITER)
        s.ll_max_iter = TIGHT_LL_MAX_ITER;
    memcpy(x, in->x0, pb->n * sizeof *x);
    otk_status st =
        otk_bilevel_evaluate(pb, &s, theta, 1e-4, x, loss, loss_error, info);
    if (st != OTK_CONVERGED)
        return st;
    size_t loose = info->ll_iterations;
    double norm = 0;
    for (size_t i = 0; i < pb->n; i++)
        norm += x[i] * x[i];
    double eps = TIGHT_EPS * fmax(1, sqrt(norm));
    st = otk_bilevel_evaluate(pb, &s, theta, eps, x, loss, loss_error, info);
    info->ll_iterations += loose;
    return st;
}

/* The optimality gap (f - f*) / f* of the quadratic family at theta by a
 * tight solve (x: n entries of scratch). */
static double optimality_gap(const otkcli_tool *t,
                             const otk_bilevel_instance *in,
                             const otk_bilevel_settings *s, const double *theta,
                             double *x)
{
    double f, err;
    otk_bilevel_info info;
    if (tight_loss(in, s, theta, x, &f, &err, &info) != OTK_CONVERGED)
        fprintf(stderr,
                "%s: warning: the lower level cannot be solved accurately at "
                "the final theta (it may sit at the clip bound); "
                "optimality_gap is unknown\n",
                t->prog);
    return (f - in->f_star) / in->f_star;
}

/* The hyperparameters of --evaluate: p values, one a line (a p x 1
 * matrix, the --theta format); -1 after naming the file and line. */
static int read_theta(const otkcli_tool *t, const char *path, size_t p,
                      double *theta)
{
    otkcli_matrix m = {0};
    otkcli_error err;
    if (otkcli_read_matrix(path, &m, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    int rc = 0;
    if (m.cols != 1 || m.rows != p) {
        /* the line where the file departs from p lines of one value */
        size_t line = m.rows == 0   ? 1
                      : m.cols != 1 ? m.line[0]
                                    : m.line[m.rows < p ? m.rows - 1 : p];
        fprintf(stderr,
                "%s: %s:%zu: expected %zu hyperparameters of this problem, one "
                "per line (the --theta format); got %zu x %zu values\n",
                t->prog, path, line, p, m.rows, m.cols);
        rc = -1;
    } else {
        memcpy(theta, m.data, p * sizeof *theta);
    }
    otkcli_matrix_free(&m);
    return rc;
}

/* Images or signals (the reconstruction or the noisy data) to path, when
 * given: PGM for tv2d (images stacked), CSV rows for tv1d. */
static int write_images(const otkcli_tool *t, const options *o,
                        const otk_bilevel_instance *in, const char *option,
                        const char *path, const double *data)
{
    otkcli_error err;
    if (!path)
        return 0;
    if (!in->clean) {
        fprintf(stderr,
                "%s: %s: only the denoising problems (tv1d, tv2d, foe) have "
                "images or signals\n",
                t->prog, option);
        return -1;
    }
    FILE *fp = otkcli_open_output(path, &err);
    if (!fp) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    /* write errors are found when the outputs are closed */
    if (strcmp(o->problem, "tv1d") != 0)
        otkcli_write_pgm(fp, data, in->images * in->rows, in->cols);
    else
        otkcli_write_matrix(fp, path, data, in->images, in->cols);
    return 0;
}

static int write_outputs(const otkcli_tool *t, const options *o,
                         const otk_bilevel_instance *in, const double *theta,
                         const double *x)
{
    if (o->theta &&
        otkcli_tool_write_matrix(t, o->theta, theta, in->problem.p, 1) != 0)
        return -1;
    if (write_images(t, o, in, "--output", o->output, x) != 0 ||
        write_images(t, o, in, "--noisy", o->noisy, in->noisy) != 0)
        return -1;
    return 0;
}

/* The denoising families' PSNR of x and of the noisy data. */
static void add_quality(otkcli_summary *sm, const otk_bilevel_instance *in,
                        const double *x)
{
    if (!in->clean)
        return;
    size_t len = in->problem.n;
    otkcli_summary_num(sm, "psnr", otk_bilevel_psnr(x, in->clean, len));
    otkcli_summary_num(sm, "psnr_noisy",
                       otk_bilevel_psnr(in->noisy, in->clean, len));
}

/* --evaluate: f at the file's theta by a tight solve, with the run's
 * summary keys (no outer iterations, no hypergradient: grad_norm NaN)
 * and loss_error, the certified |f - upper_loss|. Returns the exit
 * code; a stall (exit 3) prints NaN losses. */
static int evaluate(const otkcli_tool *t, const options *o,
                    const otk_bilevel_instance *in, double *theta, double *x)
{
    if (read_theta(t, o->evaluate, in->problem.p, theta) != 0)
        return OTKCLI_EXIT_FAILURE;
    double loss, loss_error;
    otk_bilevel_info info;
    otk_status st = tight_loss(in, &o->s, theta, x, &loss, &loss_error, &info);
    if (st < 0) {
        fprintf(stderr, "%s: %s: %s%s%s\n", t->prog, o->evaluate,
                otk_status_string(st), info.outcome.bad_argument ? ": " : "",
                info.outcome.bad_argument ? info.outcome.bad_argument : "");
        return OTKCLI_EXIT_FAILURE;
    }
    if (st == OTK_STALLED)
        fprintf(stderr,
                "%s: warning: stalled (%s): the lower level cannot be solved "
                "to eps %g at this theta; raise --ll-max-iter\n",
                t->prog, info.outcome.cause ? info.outcome.cause : "",
                info.eps);
    if (write_images(t, o, in, "--output", o->output, x) != 0 ||
        write_images(t, o, in, "--noisy", o->noisy, in->noisy) != 0)
        return OTKCLI_EXIT_FAILURE;
    otkcli_summary sm = {.keys = keys};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_count(&sm, "iterations", 0);
    otkcli_summary_count(&sm, "accepted", 0);
    otkcli_summary_num(&sm, "upper_loss", loss);
    otkcli_summary_count(&sm, "lower_iterations", info.ll_iterations);
    otkcli_summary_count(&sm, "cg_iterations", 0);
    otkcli_summary_num(&sm, "eps", info.eps);
    otkcli_summary_num(&sm, "grad_norm", NAN);
    otkcli_summary_num(&sm, "time_s", info.outcome.time_s);
    if (in->theta_star)
        otkcli_summary_num(&sm, "optimality_gap",
                           (loss - in->f_star) / in->f_star);
    if (in->theta_star) /* no run: nothing to compare with */
        otkcli_summary_num(&sm, "gd_optimality_gap", NAN);
    add_quality(&sm, in, x);
    otkcli_summary_num(&sm, "loss_error", loss_error);
    if (otkcli_finish(t, &sm) != 0)
        return OTKCLI_EXIT_FAILURE;
    return st == OTK_STALLED ? OTKCLI_EXIT_NOT_CONVERGED : OTKCLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    otkcli_tool t;
    otkcli_tool_init(&t, "otk-maid", &spec);
    options o = {0};
    o.rows = 50;
    o.dim = 4;
    o.cond = 200;
    o.signals = 5;
    o.length = 256;
    o.size = 64;
    o.noise = 0.1;
    o.filters = 4;
    o.fsize = 5;
    otk_bilevel_default_settings(&o.s);
    int code = 0;
    if (parse(&t, &o, argc, argv, &code) != 0)
        return code;
    if (!o.problem)
        return otkcli_usage_error(&t, "--problem is required");
    if (o.method && parse_method(o.method, &o.s.method) != 0)
        return otkcli_usage_error(
            &t, "--method: expected maid, fixed, hoag-geometric, "
                "hoag-quadratic or hoag-cubic");
    if (o.lower) {
        if (strcmp(o.lower, "fista") == 0)
            o.s.lower_solver = OTK_BILEVEL_FISTA;
        else if (strcmp(o.lower, "gd") == 0)
            o.s.lower_solver = OTK_BILEVEL_GD;
        else if (strcmp(o.lower, "lbfgs") == 0)
            o.s.lower_solver = OTK_BILEVEL_LBFGS;
        else if (strcmp(o.lower, "auto") == 0)
            o.s.lower_solver = OTK_BILEVEL_AUTO;
        else
            return otkcli_usage_error(
                &t, "--lower-solver: expected auto, fista, gd or lbfgs");
    }
    if (o.evaluate && (o.trace || o.theta))
        return otkcli_usage_error(&t, "--evaluate makes no run: it writes no "
                                      "--trace and no --theta");
    const char *outs[] = {o.trace, o.theta, o.output, o.noisy};
    const char *ins[MAX_IMAGES + 2] = {o.data, o.evaluate};
    memcpy(ins + 2, o.images, o.image_count * sizeof *ins);
    otkcli_error err;
    if (otkcli_check_paths(ins, o.image_count + 2, outs, 4, &err) != 0)
        return otkcli_usage_error(&t, err.msg);

    otk_bilevel_instance in;
    memset(&in, 0, sizeof in);
    int usage;
    if (make_problem(&t, &o, &in, &usage) != 0)
        return usage ? OTKCLI_EXIT_USAGE : OTKCLI_EXIT_FAILURE;

    code = OTKCLI_EXIT_FAILURE;
    double *theta = malloc(in.problem.p * sizeof *theta);
    double *x = malloc(in.problem.n * sizeof *x);
    run_view view = {&t, NULL, 0};
    if (!theta || !x) {
        fprintf(stderr, "%s: out of memory\n", t.prog);
        goto done;
    }
    if (o.evaluate) {
        code = evaluate(&t, &o, &in, theta, x);
        goto done;
    }
    memcpy(theta, in.theta0, in.problem.p * sizeof *theta);
    memcpy(x, in.x0, in.problem.n * sizeof *x);
    if (o.trace) {
        view.trace = otkcli_open_output(o.trace, &err);
        if (!view.trace) {
            fprintf(stderr, "%s: %s\n", t.prog, err.msg);
            goto done;
        }
        fputs("iteration,upper_loss,upper_bound,lower_bound,eps,delta,step,"
              "omega,grad_norm,lower_iterations,cg_iterations,backtracks,"
              "accepted,time_s\n",
              view.trace);
    }
    o.s.progress = on_row;
    o.s.progress_user = &view;
    otk_bilevel_info info;
    otk_status st = otk_bilevel_solve(&in.problem, &o.s, theta, x, &info);
    if (view.io_error) {
        fprintf(stderr, "%s: %s: write error\n", t.prog, o.trace);
        goto done;
    }
    const char *opt = otkcli_option_for_setting(&t, info.outcome.bad_argument);
    if (st == OTK_ERR_INVALID_ARGUMENT && opt != NULL) {
        /* a setting out of range: name the option that set it */
        char msg[128];
        snprintf(msg, sizeof msg,
                 "%s: value out of range (see --help and docs/bilevel.md)",
                 opt);
        code = otkcli_usage_error(&t, msg);
        goto done_usage;
    }
    if (st < 0) {
        fprintf(stderr, "%s: %s%s%s\n", t.prog, otk_status_string(st),
                info.outcome.bad_argument ? ": " : "",
                info.outcome.bad_argument ? info.outcome.bad_argument : "");
        goto done;
    }
    if (st == OTK_STALLED)
        fprintf(stderr,
                "%s: warning: stalled (%s): a solve could not reach the "
                "requested accuracy; raise --ll-max-iter or --cg-max-iter, "
                "or loosen --eps0\n",
                t.prog, info.outcome.cause ? info.outcome.cause : "");
    if (write_outputs(&t, &o, &in, theta, x) != 0)
        goto done;

    otkcli_summary sm = {.keys = keys};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_count(&sm, "iterations", info.iterations);
    otkcli_summary_count(&sm, "accepted", info.accepted);
    otkcli_summary_num(&sm, "upper_loss", info.upper_loss);
    otkcli_summary_count(&sm, "lower_iterations", info.ll_iterations);
    otkcli_summary_count(&sm, "cg_iterations", info.cg_iterations);
    otkcli_summary_num(&sm, "eps", info.eps);
    otkcli_summary_num(&sm, "grad_norm", info.grad_norm);
    otkcli_summary_num(&sm, "time_s", info.outcome.time_s);
    if (in.theta_star) {
        double *scratch = malloc(in.problem.n * sizeof *scratch);
        if (!scratch) {
            fprintf(stderr, "%s: out of memory\n", t.prog);
            goto done;
        }
        otkcli_summary_num(&sm, "optimality_gap",
                           optimality_gap(&t, &in, &o.s, theta, scratch));
        free(scratch);
        /* exact gradient descent's gap at the same iteration count: on an
         * ill-conditioned instance the gap says more read against it */
        otkcli_summary_num(&sm, "gd_optimality_gap",
                           otkmaid_gd_gap(&in, info.iterations));
    }
    add_quality(&sm, &in, x);
    if (otkcli_finish(&t, &sm) != 0)
        goto done;
    /* the normal end of a run is max-iter or the budget; only a stall or
     * an unmet --grad-tol is "not converged" */
    code = st == OTK_STALLED || (st == OTK_MAX_ITER && o.s.grad_tol > 0)
               ? OTKCLI_EXIT_NOT_CONVERGED
               : OTKCLI_EXIT_OK;
done:
    if (code == OTKCLI_EXIT_FAILURE)
        otkcli_abort_all();
done_usage:
    if (code == OTKCLI_EXIT_USAGE)
        otkcli_abort_all();
    free(theta);
    free(x);
    otk_bilevel_instance_free(&in);
    return otkcli_close_stdout(t.prog, code);
}
