/*
 * bench_serve_queue.c — the protocol server's command queue under a burst (issue 16 #3):
 * N `boot` lines written at once to `ggufref serve` (stdin from a file, stdout to /dev/null),
 * wall time per N. A queue that is O(1) per line scales linearly: time(4N) / time(N) ~ 4; the
 * old queue (memmove of the whole queue per line taken) was quadratic (x11.6 for x4 lines).
 *
 *   bench_serve_queue [SERVE_COMMAND...]      default: ./ggufref serve (run from the build dir)
 *   BENCH_LINES="50000 200000" BENCH_ROUNDS=3 to change the sizes and rounds (median reported)
 *
 * Figures in bench/README.md ("Protocol server").
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A temporary file holding n boot lines; its descriptor, positioned at 0. */
static int burst_file(size_t n) {
    FILE *f = tmpfile();
    if (f == NULL) return -1;
    for (size_t i = 0; i < n; i++) fprintf(f, "{\"id\":%zu,\"cmd\":\"boot\"}\n", i);
    fflush(f);
    int fd = dup(fileno(f));
    fclose(f);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Seconds the server takes to answer the file's lines; < 0 on failure. */
static double run(char **argv, int in_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    lseek(in_fd, 0, SEEK_SET);
    double t0 = bench_now_s();
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    double t = bench_now_s() - t0;
    posix_spawn_file_actions_destroy(&fa);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}

int main(int argc, char **argv) {
    char *dflt[] = {"./ggufref", "serve", NULL};
    char **cmd = argc > 1 ? argv + 1 : dflt;
    const char *lines = getenv("BENCH_LINES");
    const char *rounds_env = getenv("BENCH_ROUNDS");
    int rounds = rounds_env != NULL ? atoi(rounds_env) : 3;
    if (rounds < 1 || rounds > 50) rounds = 3;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", lines != NULL ? lines : "50000 200000");
    double first = 0;
    size_t first_n = 0;
    for (char *tok = strtok(buf, " "); tok != NULL; tok = strtok(NULL, " ")) {
        size_t n = (size_t)strtoull(tok, NULL, 10);
        int fd = burst_file(n);
        if (fd < 0) return 1;
        double t[50];
        for (int r = 0; r < rounds; r++) {
            t[r] = run(cmd, fd);
            if (t[r] < 0) {
                fprintf(stderr, "bench_serve_queue: %s failed\n", cmd[0]);
                return 1;
            }
        }
        close(fd);
        double med = bench_sort_median(t, (size_t)rounds);
        printf("%8zu lines: %.3f s (median of %d), %.2f us/line", n, med, rounds,
               med / (double)n * 1e6);
        if (first_n == 0) {
            first = med, first_n = n;
            printf("\n");
        } else {
            printf(", x%.1f time for x%.1f lines\n", med / first, (double)n / (double)first_n);
        }
    }
    return 0;
}
