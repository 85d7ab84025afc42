/* Option tables: the getopt_long arrays and the --help text of a tool,
 * both built from its one otkcli_opt array (see tool.h). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* The options' help column (0-based). */
#define HELP_COLUMN 25

void otkcli_tool_init(otkcli_tool *t, const char *prog, const otkcli_spec *spec)
{
    memset(t, 0, sizeof *t);
    t->prog = prog;
    t->spec = spec;
    t->in.metric = "sqeuclidean";
    t->in.p = 2.0;
    t->fmt = OTKCLI_CSV;
    otkcli_init();
    opterr = 0; /* getopt's own messages lack the --help hint */
    /* ':' first: a missing value is reported as ':', not '?' */
    size_t nl = 0, ns = 0;
    t->shortopts[ns++] = ':';
    for (const otkcli_opt *o = spec->opts; o->name || o->help; o++) {
        if (o->name == NULL)
            continue;
        if (nl == OTKCLI_MAX_OPTS) {
            /* a table larger than the tool's arrays: a programming error */
            fprintf(stderr, "%s: too many options\n", prog);
            abort();
        }
        int has_arg = o->arg ? required_argument : no_argument;
        t->longopts[nl++] = (struct option){o->name, has_arg, NULL, o->code};
        if (o->short_name) {
            t->shortopts[ns++] = o->short_name;
            if (o->arg)
                t->shortopts[ns++] = ':';
        }
    }
    t->longopts[nl] = (struct option){NULL, 0, NULL, 0};
    t->shortopts[ns] = '\0';
}

int otkcli_next_option(otkcli_tool *t, int argc, char **argv)
{
    int c = getopt_long(argc, argv, t->shortopts, t->longopts, NULL);
    if (c <= 0 || c >= 256 || c == ':' || c == '?')
        return c;
    for (const otkcli_opt *o = t->spec->opts; o->name || o->help; o++)
        if (o->name && o->short_name == c)
            return o->code;
    return '?';
}

/* Help lines (separated by '\n') from column HELP_COLUMN, the first after
 * `used` columns of option names. */
static void help_lines(FILE *fp, const char *help, int used)
{
    if (used > HELP_COLUMN - 2) {
        fputc('\n', fp);
        used = 0;
    }
    while (*help) {
        const char *eol = strchr(help, '\n');
        int len = eol ? (int)(eol - help) : (int)strlen(help);
        fprintf(fp, "%*s%.*s\n", HELP_COLUMN - used, "", len, help);
        used = 0;
        help += len + (eol != NULL);
    }
}

/* " a, b, c (when), d." wrapped at 76 columns, col being used already. */
static void key_list(FILE *fp, const otkcli_key *k, int col)
{
    for (; k->name; k++) {
        int len =
            (int)strlen(k->name) + 2 + (k->when ? (int)strlen(k->when) + 3 : 0);
        if (col + len > 76) {
            fputs("\n ", fp);
            col = 1;
        }
        fprintf(fp, " %s%s%s%s", k->name, k->when ? " (" : "",
                k->when ? k->when : "", k->when ? ")" : "");
        fputc(k[1].name ? ',' : '.', fp);
        col += len;
    }
    fputc('\n', fp);
}

/* The bounds record an option sets, or NULL. */
static const otk_setting_bounds *option_bounds(const otkcli_spec *sp,
                                               const otkcli_opt *o)
{
    if (sp->bounds == NULL || o->setting == NULL)
        return NULL;
    size_t count = 0;
    const otk_setting_bounds *table = sp->bounds(&count);
    return otk_setting_find(table, count, o->setting);
}

/* "default D, valid RANGE" of a bounds record, from the library's table. */
static void bounds_text(const otk_setting_bounds *b, char *buf, size_t len)
{
    char range[96];
    otk_setting_range(b, range, sizeof range);
    if (isinf(b->default_value) && b->kind == OTK_SETTING_COUNT)
        snprintf(buf, len, "default: no limit; valid: %s", range);
    else
        snprintf(buf, len, "default: %g; valid: %s", b->default_value, range);
}

void otkcli_tool_help(const otkcli_tool *t, FILE *fp)
{
    const otkcli_spec *sp = t->spec;
    fputs(sp->intro, fp);
    for (const otkcli_opt *o = sp->opts; o->name || o->help; o++) {
        if (o->name == NULL) {
            fprintf(fp, "%s\n", o->help);
            continue;
        }
        int used = fprintf(fp, "  %c%c%s--%s%s%s", o->short_name ? '-' : ' ',
                           o->short_name ? o->short_name : ' ',
                           o->short_name ? ", " : "  ", o->name,
                           o->arg ? " " : "", o->arg ? o->arg : "");
        help_lines(fp, o->help, used);
        const otk_setting_bounds *b = option_bounds(sp, o);
        if (b != NULL && o->arg != NULL) {
            char line[160];
            bounds_text(b, line, sizeof line);
            help_lines(fp, line, 0);
        }
    }
    fputc('\n', fp);
    for (const otkcli_key *k = sp->keys; k->name || k->when;) {
        const char *cmd = k->name ? NULL : (k++)->when;
        int col = fprintf(fp, "The summary%s%s (stdout) has", cmd ? " of " : "",
                          cmd ? cmd : "");
        key_list(fp, k, col);
        while (k->name)
            k++;
    }
    fputs(sp->outro, fp);
}

/* "--name: VALUE is out of range RANGE" as a usage error. */
static int out_of_range(const otkcli_tool *t, const char *opt,
                        const otk_setting_bounds *b, double v)
{
    char range[96], msg[256];
    otk_setting_range(b, range, sizeof range);
    snprintf(msg, sizeof msg, "%s: %.17g is out of range %s", opt, v, range);
    return otkcli_usage_error(t, msg);
}

int otkcli_setting_option(const otkcli_tool *t, int c, const char *value,
                          void *settings, int *code)
{
    const otkcli_opt *o = t->spec->opts;
    while ((o->name || o->help) && !(o->name && o->code == c))
        o++;
    const otk_setting_bounds *b = o->name ? option_bounds(t->spec, o) : NULL;
    if (b == NULL || o->arg == NULL)
        return 0;
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", o->name);
    otkcli_error err;
    double v;
    size_t u = 0;
    int bad = b->kind == OTK_SETTING_REAL
                  ? otkcli_parse_double(opt, value, &v, &err)
                  : otkcli_parse_size(opt, value, &u, &err);
    if (bad) {
        *code = otkcli_usage_error(t, err.msg);
        return -1;
    }
    if (b->kind != OTK_SETTING_REAL)
        v = u == SIZE_MAX ? INFINITY : (double)u;
    if (!otk_setting_valid(b, v) ||
        (b->kind == OTK_SETTING_INTEGER && v > INT_MAX) ||
        (b->kind == OTK_SETTING_ULONG && (double)u > (double)ULONG_MAX)) {
        *code = out_of_range(t, opt, b, v);
        return -1;
    }
    otk_setting_set(b, settings, v);
    return 1;
}

int otkcli_check_settings(const otkcli_tool *t, const void *settings)
{
    if (t->spec->bounds == NULL)
        return 0;
    size_t count = 0;
    const otk_setting_bounds *table = t->spec->bounds(&count);
    for (size_t k = 0; k < count; k++) {
        double v = otk_setting_get(&table[k], settings);
        if (otk_setting_valid(&table[k], v))
            continue;
        const char *opt = otkcli_option_for_setting(t, table[k].name);
        return out_of_range(t, opt ? opt : table[k].argument, &table[k], v);
    }
    return 0;
}

const char *otkcli_option_for_setting(const otkcli_tool *t, const char *setting)
{
    static char name[64];
    /* The library names a settings field "settings.FIELD". */
    static const char prefix[] = "settings.";
    if (setting && strncmp(setting, prefix, sizeof prefix - 1) == 0)
        setting += sizeof prefix - 1;
    for (const otkcli_opt *o = t->spec->opts; o->name || o->help; o++)
        if (o->name && o->setting && setting &&
            strcmp(o->setting, setting) == 0) {
            snprintf(name, sizeof name, "--%s", o->name);
            return name;
        }
    return NULL;
}
