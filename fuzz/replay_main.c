/*
 * replay_main.c — a standalone main for any fuzz target: runs every given file, and every
 * regular file of every given directory (in name order), through LLVMFuzzerTestOneInput once.
 *
 *   fuzz_<target>_replay [-v] PATH...
 *
 * This is how the corpora run as plain regression tests without libFuzzer (gcc builds, the
 * coverage build, valgrind): every corpus file is one ctest test (fuzz/CMakeLists.txt).
 * Each input gets a buffer of exactly its size, so a sanitizer build sees a one-byte over-read.
 * After each input the fault-injection allocator's live-block count must be back where it was
 * (a leak check that works without LeakSanitizer; release libraries report 0 and 0).
 * Arguments starting with '-' other than -v are ignored, so libFuzzer flags do no harm.
 * Exit status: 0 all inputs ran; 1 a file could not be read or an input leaked; a broken
 * property aborts inside the target.
 */
#define _POSIX_C_SOURCE 200809L /* opendir, stat under -std=c11 */

#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

/* Optional per target: libFuzzer calls it once before the first input. */
#if defined(__GNUC__)
__attribute__((weak))
#endif
int LLVMFuzzerInitialize(int *argc, char ***argv);

static bool verbose;

/* Read a whole file into an exactly-sized heap buffer. OUT: *data (free with free), *size. */
static bool read_file(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return false;
    bool ok = fseek(f, 0, SEEK_END) == 0;
    long len = ok ? ftell(f) : -1;
    ok = ok && len >= 0 && fseek(f, 0, SEEK_SET) == 0;
    uint8_t *buf = ok ? malloc(len > 0 ? (size_t)len : 1u) : NULL;
    ok = buf != NULL && fread(buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    *data = buf;
    *size = (size_t)len;
    return true;
}

/* Run one file; returns false if it could not be read or leaked. */
static bool run_file(const char *path) {
    uint8_t *data;
    size_t size;
    if (!read_file(path, &data, &size)) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    if (verbose) fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    int64_t live_before = ggufref_fault_alloc_live();
    LLVMFuzzerTestOneInput(data, size);
    int64_t live_after = ggufref_fault_alloc_live();
    free(data);
    if (live_after != live_before) {
        fprintf(stderr, "replay: %s leaked %lld allocation(s)\n", path,
                (long long)(live_after - live_before));
        return false;
    }
    return true;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of a directory in name order. OUT: *n_run. */
static bool run_dir(const char *dir, size_t *n_run) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return false;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    for (struct dirent *e = readdir(d); e != NULL && ok; e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *path = malloc(len);
        ok = path != NULL;
        if (!ok) break;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            ok = grown != NULL;
            if (!ok) {
                free(path);
                break;
            }
            names = grown;
        }
        names[n++] = path;
    }
    closedir(d);
    if (n > 0) qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i < n; i++) {
        if (ok) {
            ok = run_file(names[i]);
            *n_run += 1;
        }
        free(names[i]);
    }
    free(names);
    return ok;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize != NULL) LLVMFuzzerInitialize(&argc, &argv);
    size_t n_run = 0;
    bool ok = true;
    int n_paths = 0;
    for (int i = 1; i < argc && ok; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = true;
            continue;
        }
        if (argv[i][0] == '-') continue;
        n_paths++;
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            ok = run_dir(argv[i], &n_run);
        } else {
            ok = run_file(argv[i]);
            n_run++;
        }
    }
    if (n_paths == 0) {
        fprintf(stderr, "usage: %s [-v] FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    fprintf(stderr, "replay: %zu input(s) %s\n", n_run, ok ? "ran" : "FAILED");
    return ok ? 0 : 1;
}
