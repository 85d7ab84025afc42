/*
 * bench-lemon: LEMON's network simplex (lemon::NetworkSimplex, block-search
 * pivots, the rule otk_exact and POT's ot.emd use) on the exact section's
 * problems, run by bench/run_bench.py (section "exact") next to bench-exact
 * and ot.emd. Built only where LEMON is installed (Debian: liblemon-dev).
 *
 *   bench-lemon [--repeats R] DIR N
 *
 * Reads DIR/C.bin (N x N raw little-endian float64, row-major, as
 * run_bench.py writes it) and solves the balanced problem with uniform
 * weights. LEMON is used the way it is meant to be: integer supplies (1 per
 * source, -1 per target), which is the otk_exact problem (weights 1/N)
 * scaled by N, so the reported transport_cost is LEMON's total cost / N.
 *
 * One JSON object per run on stdout: the graph build (a StaticDigraph of
 * the complete bipartite graph and its cost map) and the solve
 * (NetworkSimplex constructor, maps and run()) timed apart, each in wall
 * clock and process CPU time, plus the result's status and cost.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ctime>
#include <utility>
#include <vector>

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

namespace
{

double clock_s(clockid_t id)
{
    timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct stamp {
    double wall, cpu;
    static stamp now()
    {
        return {clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID)};
    }
};

[[noreturn]] void die(const char *msg, const char *arg)
{
    std::fprintf(stderr, "bench-lemon: %s%s\n", msg, arg);
    std::exit(1);
}

std::vector<double> read_matrix(const char *dir, size_t n)
{
    std::string path = std::string(dir) + "/C.bin";
    std::FILE *fp = std::fopen(path.c_str(), "rb");
    if (fp == nullptr)
        die("cannot open ", path.c_str());
    std::vector<double> C(n * n);
    size_t got = std::fread(C.data(), sizeof(double), C.size(), fp);
    bool extra = std::fgetc(fp) != EOF;
    std::fclose(fp);
    if (got != C.size() || extra)
        die("C.bin does not hold N x N doubles: ", path.c_str());
    return C;
}

using Graph = lemon::StaticDigraph;
using NS = lemon::NetworkSimplex<Graph, int, double>;

const char *status_name(NS::ProblemType t)
{
    return t == NS::OPTIMAL      ? "optimal"
           : t == NS::INFEASIBLE ? "infeasible"
                                 : "unbounded";
}

void run(const std::vector<double> &C, size_t n, int r, int repeats)
{
    const stamp t0 = stamp::now();
    /* arcs by source, as StaticDigraph::build requires: arc k = i n + j */
    std::vector<std::pair<int, int>> arcs;
    arcs.reserve(n * n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            arcs.emplace_back((int)i, (int)(n + j));
    Graph g;
    g.build((int)(2 * n), arcs.begin(), arcs.end());
    std::vector<std::pair<int, int>>().swap(arcs);
    Graph::ArcMap<double> cost(g);
    for (size_t k = 0; k < n * n; k++)
        cost[g.arc((int)k)] = C[k];
    const stamp t1 = stamp::now();
    Graph::NodeMap<int> supply(g);
    for (size_t u = 0; u < 2 * n; u++)
        supply[g.node((int)u)] = u < n ? 1 : -1;
    NS ns(g);
    ns.costMap(cost).supplyMap(supply);
    NS::ProblemType st = ns.run(NS::BLOCK_SEARCH);
    const stamp t2 = stamp::now();
    double total = st == NS::OPTIMAL ? ns.totalCost<double>() / (double)n : 0.0;
    std::printf("{\"mode\": \"dense\", \"n\": %zu, \"m\": %zu, \"run\": %d, "
                "\"repeats\": %d, \"solver\": \"lemon NetworkSimplex "
                "BLOCK_SEARCH\", \"status\": \"%s\", "
                "\"transport_cost\": %.17g, \"build_wall_s\": %.9g, "
                "\"build_cpu_s\": %.9g, \"solve_wall_s\": %.9g, "
                "\"solve_cpu_s\": %.9g}\n",
                n, n, r + 1, repeats, status_name(st), total, t1.wall - t0.wall,
                t1.cpu - t0.cpu, t2.wall - t1.wall, t2.cpu - t1.cpu);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    int repeats = 1, a = 1;
    if (a + 1 < argc && std::strcmp(argv[a], "--repeats") == 0) {
        repeats = std::atoi(argv[a + 1]);
        a += 2;
    }
    if (argc - a != 2 || repeats < 1)
        die("usage: bench-lemon [--repeats R] DIR N", "");
    char *end = nullptr;
    unsigned long long n = std::strtoull(argv[a + 1], &end, 10);
    if (*end != '\0' || n == 0 || n > 46340) /* n^2 arcs fit in an int */
        die("N must be in [1, 46340]: ", argv[a + 1]);
    const std::vector<double> C = read_matrix(argv[a], (size_t)n);
    for (int r = 0; r < repeats; r++)
        run(C, (size_t)n, r, repeats);
    return 0;
}
