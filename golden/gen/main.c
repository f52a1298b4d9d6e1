/*
 * main.c — ggufref-fixtures: write, list or check the fixture models.
 *
 *   ggufref-fixtures --out DIR               every tiny fixture + SHA256SUMS + manifest.json,
 *                                            and the reader edge cases in DIR/edge (the same)
 *   ggufref-fixtures --out DIR --only NAME.. just those fixtures (any, incl. stories15m-*)
 *   ggufref-fixtures --check DIR             regenerate both sets in memory and compare them
 *                                            byte for byte with DIR and DIR/edge (exit 1 on a
 *                                            difference)
 *   ggufref-fixtures --list                  one line per fixture
 *
 * Files are written to NAME.tmp and renamed, so an interrupted run never leaves a short file.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One output file, in memory. */
typedef struct out_file {
    char name[96];
    gbuf bytes;
} out_file;

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) gen_die("out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *dir, const out_file *f) {
    char *path = join(dir, f->name);
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) gen_die("out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) gen_die("cannot create %s: %s", tmp, strerror(errno));
    if (fwrite(f->bytes.p, 1, f->bytes.len, fp) != f->bytes.len || fclose(fp) != 0)
        gen_die("cannot write %s", tmp);
    if (rename(tmp, path) != 0) gen_die("cannot rename %s: %s", tmp, strerror(errno));
    free(tmp);
    free(path);
}

/* Whole file into *out; false if it cannot be opened. */
static bool read_file(const char *path, gbuf *out) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return false;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) gbuf_put(out, chunk, n);
    bool ok = !ferror(fp);
    fclose(fp);
    return ok;
}

static void make_fixture(const gen_fixture *fx, out_file *f) {
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s.gguf", fx->name);
    fixture_build(fx, &f->bytes);
}

static const char *metadata_kind(const gen_fixture *fx) {
    if (fx->flags & FX_DEFAULTS) return "defaults";
    if (fx->flags & FX_WIDE_INTS) return "wide-ints";
    return "full";
}

/* One manifest line (a JSON object, no trailing comma or newline). */
static void manifest_line(gbuf *b, const gen_fixture *fx, const out_file *f, const char *hex) {
    gbuf_printf(b,
                "{\"name\": \"%s\", \"file\": \"%s\", \"sha256\": \"%s\", \"size\": %zu, "
                "\"type\": \"%s\", \"dim\": %u, \"n_layers\": %u, \"n_heads\": %u, "
                "\"n_kv_heads\": %u, \"head_dim\": %u, \"ffn\": %u, \"n_vocab\": %u, "
                "\"n_ctx\": %u, \"tied\": %s, \"alignment\": %u, \"rms_eps\": %g, "
                "\"rope_freq_base\": %g, \"metadata\": \"%s\", \"version\": %u}",
                fx->name, f->name, hex, f->bytes.len, gen_type_get(fx->type)->name, fx->dim,
                fx->n_layers, fx->n_heads, fx->n_kv_heads, fixture_head_dim(fx), fx->ffn,
                fixture_vocab_size(fx), fx->n_ctx, fx->tied ? "true" : "false",
                fx->alignment ? fx->alignment : 32u, (double)fixture_rms_eps(fx),
                (double)fixture_rope_freq_base(fx), metadata_kind(fx),
                fx->version ? fx->version : 3u);    if (fx->vocab == VOCAB_BPE_TINY) { /* only the BPE fixture says so: the others are "llama" */
        b->len--;                       /* reopen the object */
        gbuf_printf(b, ", \"tokenizer\": \"gpt2\"}");
    }
    if (fx->arch || (fx->flags & FX_ROPE_FREQS)) { /* only the other families say so */
        b->len--;
        gbuf_printf(b, ", \"arch\": \"%s\", \"rope_freqs\": %s}", fixture_arch(fx),
                    fx->flags & FX_ROPE_FREQS ? "true" : "false");
    }
}

/* A committed set, then its SHA256SUMS and manifest.json: every tiny fixture (edge false) or
 * every reader edge case (edge true). OUT: *n. */
static out_file *make_set(bool edge, size_t *n) {
    out_file *files = calloc(gen_n_fixtures + 2, sizeof *files);
    if (!files) gen_die("out of memory");
    size_t k = 0;
    gbuf sums = {0}, manifest = {0};
    gbuf_printf(&manifest, "[\n");
    for (size_t i = 0; i < gen_n_fixtures; i++) {
        const gen_fixture *fx = &gen_fixtures[i];
        if ((fx->flags & FX_STORIES) || !(fx->flags & FX_EDGE) != !edge) continue;
        make_fixture(fx, &files[k]);
        char hex[65];
        sha256_hex(files[k].bytes.p, files[k].bytes.len, hex);
        gbuf_printf(&sums, "%s  %s\n", hex, files[k].name);
        if (k) gbuf_printf(&manifest, ",\n");
        manifest_line(&manifest, fx, &files[k], hex);
        k++;
    }
    gbuf_printf(&manifest, "\n]\n");
    snprintf(files[k].name, sizeof files[k].name, "SHA256SUMS");
    files[k++].bytes = sums;
    snprintf(files[k].name, sizeof files[k].name, "manifest.json");
    files[k++].bytes = manifest;
    *n = k;
    return files;
}

static void free_set(out_file *files, size_t n) {
    for (size_t i = 0; i < n; i++) gbuf_free(&files[i].bytes);
    free(files);
}

/* Compare the regenerated set with DIR; print every difference. Returns the exit code. */
static int check_dir(const char *dir, bool edge) {
    size_t n;
    out_file *files = make_set(edge, &n);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = join(dir, files[i].name);
        gbuf have = {0};
        const gbuf *want = &files[i].bytes;
        if (!read_file(path, &have)) {
            printf("MISSING  %s\n", path);
            bad = 1;
        } else if (have.len != want->len || memcmp(have.p, want->p, want->len) != 0) {
            size_t at = 0;
            while (at < have.len && at < want->len && have.p[at] == want->p[at]) at++;
            printf("DIFFERS  %s: first difference at byte %zu (file %zu bytes, generator %zu)\n",
                   path, at, have.len, want->len);
            bad = 1;
        } else {
            printf("ok       %s\n", files[i].name);
        }
        gbuf_free(&have);
        free(path);
    }
    DIR *d = opendir(dir);
    if (!d) gen_die("cannot list %s", dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0) continue;
        bool known = false;
        for (size_t i = 0; i < n; i++) known |= strcmp(files[i].name, e->d_name) == 0;
        if (!known) {
            printf("STALE    %s/%s: not made by the generator\n", dir, e->d_name);
            bad = 1;
        }
    }
    closedir(d);
    free_set(files, n);
    if (bad) printf("fixtures differ: regenerate with `cmake --build <build> --target regen-fixtures`\n");
    return bad;
}

static void list(void) {
    for (size_t i = 0; i < gen_n_fixtures; i++) {
        const gen_fixture *fx = &gen_fixtures[i];
        printf("%-30s %-5s dim %3u layers %u heads %u/%u ffn %3u %-6s%s\n", fx->name,
               gen_type_get(fx->type)->name, fx->dim, fx->n_layers, fx->n_heads, fx->n_kv_heads,
               fx->ffn, fx->tied ? "tied" : "untied",
               fx->flags & FX_STORIES ? "  (build-time, not committed)"
               : fx->flags & FX_EDGE  ? "  (reader edge case, models/edge)"
                                      : "");
    }
}

static int usage(void) {
    fputs("usage: ggufref-fixtures --out DIR [--only NAME]...\n"
          "       ggufref-fixtures --check DIR\n"
          "       ggufref-fixtures --list\n",
          stderr);
    return 2;
}

int main(int argc, char **argv) {
    const char *out = NULL, *check = NULL;
    const char **only = calloc((size_t)argc, sizeof *only);
    size_t n_only = 0;
    if (!only) gen_die("out of memory");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list();
            free(only);
            return 0;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc) {
            check = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only[n_only++] = argv[++i];
            if (!fixture_find(only[n_only - 1])) gen_die("no fixture named %s (see --list)", argv[i]);
        } else {
            free(only);
            return usage();
        }
    }
    int rc = 0;
    if (check && !out && !n_only) {
        char *edge_dir = join(check, "edge");
        rc = check_dir(check, false) | check_dir(edge_dir, true);
        free(edge_dir);
    } else if (out && !check) {
        if (mkdir(out, 0777) != 0 && errno != EEXIST) gen_die("cannot create %s", out);
        if (n_only) {
            for (size_t i = 0; i < n_only; i++) { /* one at a time: stories15m files are big */
                out_file f;
                make_fixture(fixture_find(only[i]), &f);
                write_file(out, &f);
                gbuf_free(&f.bytes);
            }
        } else {
            char *edge_dir = join(out, "edge");
            if (mkdir(edge_dir, 0777) != 0 && errno != EEXIST) gen_die("cannot create %s", edge_dir);
            for (int edge = 0; edge <= 1; edge++) {
                size_t n;
                out_file *files = make_set(edge, &n);
                for (size_t i = 0; i < n; i++) write_file(edge ? edge_dir : out, &files[i]);
                free_set(files, n);
            }
            free(edge_dir);
        }
    } else {
        rc = usage();
    }
    free(only);
    return rc;
}
