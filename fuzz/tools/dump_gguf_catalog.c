/*
 * dump_gguf_catalog.c — writes every file of the malformed-GGUF catalog (and the valid reader
 * fixtures) of conformance/torture_gguf.c into a directory, for the gguf_parse seed corpus.
 *
 *   fuzz-dump-gguf-catalog OUTDIR      (one file per row: catalog-<name>, fixture-<name>)
 *
 * The catalog stays owned by torture_gguf.c: this tool compiles that file with its main
 * renamed, so every row added there becomes a seed at the next fuzz/tools/update-seeds.sh.
 */
#define main torture_gguf_main
#include "../../conformance/torture_gguf.c"
#undef main

static void dump(const char *dir, const char *prefix, const char *name, void (*build)(gb_buf *)) {
    gb_buf b;
    gb_init(&b, 3);
    build(&b);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%s", dir, prefix, name);
    if (gb_write_file(&b, path) != 0) {
        fprintf(stderr, "fuzz-dump-gguf-catalog: cannot write %s\n", path);
        exit(1);
    }
    gb_free(&b);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    init_pattern();
    for (size_t i = 0; i < CATALOG_SIZE; i++) dump(argv[1], "catalog", catalog[i].name, catalog[i].build);
    for (size_t i = 0; i < N_FIXTURES; i++) dump(argv[1], "fixture", fixtures[i].name, fixtures[i].build);
    return 0;
}
