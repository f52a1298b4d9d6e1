/*
 * write_catalog.c — the malformed-file catalog for every implementation (SPEC R-GGUF-050,
 * R-GGUF-051): writes every row of the malformed-GGUF catalog (gguf_catalog.h) and of the
 * model-binding catalog (model_catalog.h) as a file, with an index naming each row's class, rule
 * and the reference's verdict. The build runs it (target gguf_catalog: <build>/catalog/); the harness
 * loads each file into the implementation under test.
 *
 *   gguf_catalog_writer OUTDIR          write OUTDIR/<file> for every row, then OUTDIR/index.json
 *   gguf_catalog_writer --check OUTDIR  check OUTDIR against the catalog: every row's file holds
 *                                       the bytes its build makes, the index lists every row once
 *                                       and nothing else, names are unique (ctest catalog_index)
 *
 * Index format (also in SPEC R-GGUF-050 and /work/NOTES-catalog.md):
 *
 *   {"format": "ggufref-catalog", "version": 1, "count": N, "entries": [
 *     {"name": "n_kv_2pow63", "file": "gguf-n_kv_2pow63.gguf", "catalog": "gguf",
 *      "class": "count_overflow", "cve": "CVE-2024-23605", "rule": "R-GGUF-011",
 *      "verdict": "reject", "status": 4, "status_name": "TRUNCATED", "message": null,
 *      "reader_status": "TRUNCATED", "offset": 16, "size": 40}, ...]}
 *
 * verdict/status/status_name: what load-model of the file gives (core level: accept or reject
 * with some error; strict-errors level: exactly this status); message: null or a line matcher
 * {"$has": [S]} (R-TRACE-014) the error message must satisfy at strict-errors; reader_status and
 * offset: the GGUF layer's own verdict and the byte offset its error names (gguf rows only,
 * offset null when the row marks none). A build tool: it prints and exits 1 on failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "gguf_catalog.h"
#include "model_catalog.h"
#include "text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

/* One file of the catalog, whichever table it comes from. */
typedef struct row {
    const char *catalog;  /* "gguf" or "model" */
    const char *name;
    const char *cls;
    const char *cve;
    const char *rule;
    ggufref_status load;  /* what load-model gives */
    const char *word;     /* the message must contain it (strict-errors); NULL: none */
    bool reader;          /* reader_status and offset apply */
    ggufref_status reader_status;
} row;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gguf_catalog_writer: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static size_t n_rows(void) { return gcat_n_cases + mcat_n_cases; }

/* Row i (gguf rows first, in table order). */
static row get_row(size_t i) {
    if (i < gcat_n_cases) {
        const gcat_case *c = &gcat_cases[i];
        return (row){"gguf", c->name, c->cls, c->cve, c->rule, gcat_load_status(c), NULL, true,
                     c->expect};
    }
    const mcat_case *c = &mcat_cases[i - gcat_n_cases];
    return (row){"model", c->name, c->cls, c->cve, c->rule, c->expected, c->message_word, false,
                 GGUFREF_OK};
}

/* Row i's bytes. OUT: *b (gb_free it). */
static void build_row(size_t i, gb_buf *b) {
    if (i < gcat_n_cases) {
        gb_init(b, 3);
        gcat_cases[i].build(b);
    } else {
        mcat_build(&mcat_cases[i - gcat_n_cases], b);
    }
}

static void file_name(const row *r, char *out, size_t cap) {
    snprintf(out, cap, "%s-%s.gguf", r->catalog, r->name);
}

static void join(const char *dir, const char *name, char *out, size_t cap) {
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) die("path too long: %s", dir);
}

/* ---- JSON (strings through the library's one escaper) ------------------------------------ */

static void put(void *user, const char *p, size_t n) {
    if (n > 0 && fwrite(p, 1, n, (FILE *)user) != n) die("write failed");
}

static void str_or_null(FILE *f, const char *s) {
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    gr_json_string(put, f, s, strlen(s), 0);
}

/* R-GGUF-052: rows whose verdict depends on the width of size_t. Their byte sizes fit 64 bits
 * but pass 2^32 - 1, so a host with a 32-bit size_t (wasm32) rejects them at R-GGUF-025 with
 * BAD_TENSOR_INFO before the extent checks a 64-bit host reaches. The wasm stage of
 * tools/test-all.sh checks this list against the reference's wasm32 build, row by row. */
static const char *const size32_rows[] = {
    "byte_size_larger_than_file",  "byte_size_q8_k_max_larger_than_file",
    "byte_size_q4_0_ne0_times_18_wraps", "byte_size_padding_wraps",
    "byte_sizes_sum_past_2pow64",  "offset_expected_wraps",
};

static bool size32_row(const row *r) {
    if (strcmp(r->catalog, "gguf") != 0) return false;
    for (size_t i = 0; i < sizeof size32_rows / sizeof size32_rows[0]; i++) {
        if (strcmp(r->name, size32_rows[i]) == 0) return true;
    }
    return false;
}

static void write_entry(FILE *f, const row *r, const gb_buf *b, bool last) {
    char file[256];
    file_name(r, file, sizeof file);
    fputs("    {\"name\": ", f);
    str_or_null(f, r->name);
    fputs(", \"file\": ", f);
    str_or_null(f, file);
    fputs(", \"catalog\": ", f);
    str_or_null(f, r->catalog);
    fputs(",\n     \"class\": ", f);
    str_or_null(f, r->cls);
    fputs(", \"cve\": ", f);
    str_or_null(f, r->cve);
    fputs(", \"rule\": ", f);
    str_or_null(f, r->rule);
    fprintf(f, ",\n     \"verdict\": \"%s\", \"status\": %d, \"status_name\": ",
            r->load == GGUFREF_OK ? "accept" : "reject", (int)r->load);
    str_or_null(f, ggufref_status_name(r->load));
    if (size32_row(r)) {
        fprintf(f, ", \"status_size32\": %d", (int)GGUFREF_ERR_BAD_TENSOR_INFO);
    } else {
        fputs(", \"status_size32\": null", f);
    }
    fputs(", \"message\": ", f);
    if (r->word == NULL) {
        fputs("null", f);
    } else {
        fputs("{\"$has\": [", f);
        str_or_null(f, r->word);
        fputs("]}", f);
    }
    fputs(",\n     \"reader_status\": ", f);
    str_or_null(f, r->reader ? ggufref_status_name(r->reader_status) : NULL);
    if (r->reader && b->mark != GB_NO_MARK) {
        fprintf(f, ", \"offset\": %llu", (unsigned long long)b->mark);
    } else {
        fputs(", \"offset\": null", f);
    }
    fprintf(f, ", \"size\": %zu}%s\n", b->len, last ? "" : ",");
}

/* Is file (a directory entry) a catalog file, "<gguf|model>-<name>.gguf"? OUT: *listed: it is
 * the file of a row of the current catalog. */
static bool catalog_file(const char *file, bool *listed) {
    size_t n = strlen(file);
    *listed = false;
    if (n < 5 || strcmp(file + n - 5, ".gguf") != 0) return false;
    if (strncmp(file, "gguf-", 5) != 0 && strncmp(file, "model-", 6) != 0) return false;
    for (size_t i = 0; i < n_rows(); i++) {
        row r = get_row(i);
        char name[256];
        file_name(&r, name, sizeof name);
        if (strcmp(name, file) == 0) *listed = true;
    }
    return true;
}

/* Catalog files in dir that no row makes (rows renamed or removed): removed when `remove`,
 * else reported. Returns how many there were. */
static size_t stale_files(const char *dir, bool remove_them) {
    DIR *d = opendir(dir);
    if (d == NULL) die("cannot read %s: %s", dir, strerror(errno));
    size_t n = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        bool listed = false;
        if (!catalog_file(e->d_name, &listed) || listed) continue;
        n++;
        char path[1024];
        join(dir, e->d_name, path, sizeof path);
        if (remove_them) {
            if (remove(path) != 0) die("cannot remove %s: %s", path, strerror(errno));
        } else {
            fprintf(stderr, "%s: no catalog row makes this file (stale)\n", path);
        }
    }
    closedir(d);
    return n;
}

/* ---- write ------------------------------------------------------------------------------- */

static int write_all(const char *dir) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", dir, strerror(errno));
    char path[1024];
    char tmp[1024];
    join(dir, "index.json.tmp", tmp, sizeof tmp);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) die("cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "{\"format\": \"ggufref-catalog\", \"version\": 1, \"count\": %zu, \"entries\": [\n",
            n_rows());
    for (size_t i = 0; i < n_rows(); i++) {
        row r = get_row(i);
        gb_buf b;
        build_row(i, &b);
        char name[256];
        file_name(&r, name, sizeof name);
        join(dir, name, path, sizeof path);
        if (gb_write_file(&b, path) != 0) die("cannot write %s: %s", path, strerror(errno));
        write_entry(f, &r, &b, i + 1 == n_rows());
        gb_free(&b);
    }
    fputs("]}\n", f);
    if (fclose(f) != 0) die("cannot write %s", tmp);
    stale_files(dir, true);
    /* the index appears last and whole: its presence means the files are complete */
    join(dir, "index.json", path, sizeof path);
    if (rename(tmp, path) != 0) die("rename %s: %s", path, strerror(errno));
    return 0;
}

/* ---- check ------------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 16;
    size_t n = 0;
    char *p = malloc(cap + 1);
    for (;;) {
        if (p == NULL) die("out of memory");
        n += fread(p + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        p = realloc(p, cap + 1);
    }
    fclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

/* Occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle) {
    size_t k = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) k++;
    return k;
}

static int check_all(const char *dir) {
    int bad = 0;
    char path[1024];
    join(dir, "index.json", path, sizeof path);
    size_t index_len = 0;
    char *index = slurp(path, &index_len);
    if (index == NULL) die("%s is missing: the catalog was not written", path);
    char want[128];
    snprintf(want, sizeof want, "\"count\": %zu,", n_rows());
    if (strstr(index, want) == NULL) {
        fprintf(stderr, "index: no %s (the index is stale or incomplete)\n", want);
        bad = 1;
    }
    if (count(index, "{\"name\": ") != n_rows()) {
        fprintf(stderr, "index: %zu entries, the catalog has %zu rows\n",
                count(index, "{\"name\": "), n_rows());
        bad = 1;
    }
    for (size_t i = 0; i < n_rows(); i++) {
        row r = get_row(i);
        gb_buf b;
        build_row(i, &b);
        for (size_t j = 0; j < i; j++) {
            row o = get_row(j);
            if (strcmp(o.name, r.name) == 0) {
                fprintf(stderr, "%s: the name is used twice (%s and %s rows)\n", r.name,
                        o.catalog, r.catalog);
                bad = 1;
            }
        }
        for (const char *c = r.name; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
                fprintf(stderr, "%s: a name is [a-z0-9_]\n", r.name);
                bad = 1;
                break;
            }
        }
        if (r.cls == NULL || r.rule == NULL) {
            fprintf(stderr, "%s: no class or no rule\n", r.name);
            bad = 1;
        }
        char entry[512];
        snprintf(entry, sizeof entry, "{\"name\": \"%s\", \"file\": \"%s-%s.gguf\"", r.name,
                 r.catalog, r.name);
        if (count(index, entry) != 1) {
            fprintf(stderr, "%s: listed %zu times in the index\n", r.name, count(index, entry));
            bad = 1;
        }
        char name[256];
        file_name(&r, name, sizeof name);
        join(dir, name, path, sizeof path);
        size_t len = 0;
        char *bytes = slurp(path, &len);
        if (bytes == NULL || len != b.len || (len > 0 && memcmp(bytes, b.data, len) != 0)) {
            fprintf(stderr, "%s: %s is %s\n", r.name, path,
                    bytes == NULL ? "missing" : "not the bytes the catalog builds");
            bad = 1;
        }
        free(bytes);
        gb_free(&b);
    }
    free(index);
    if (stale_files(dir, false) != 0) bad = 1;
    if (!bad) printf("catalog: %zu rows (%zu gguf, %zu model) in %s\n", n_rows(), gcat_n_cases,
                     mcat_n_cases, dir);
    return bad;
}

int main(int argc, char **argv) {
    if (argc == 2 && argv[1][0] != '-') return write_all(argv[1]);
    if (argc == 3 && strcmp(argv[1], "--check") == 0) return check_all(argv[2]);
    fprintf(stderr, "usage: %s OUTDIR | --check OUTDIR\n", argv[0]);
    return 2;
}
