/*
 * dump_gguf_catalog.c — writes every file of the malformed-GGUF catalog (and the valid reader
 * fixtures) of conformance/catalog/gguf_catalog.c into a directory, for the gguf_parse seed
 * corpus.
 *
 *   fuzz-dump-gguf-catalog OUTDIR      (one file per row: catalog-<name>, fixture-<name>)
 *
 * Every row added to the catalog becomes a seed at the next fuzz/tools/update-seeds.sh, except
 * rows over MAX_SEED bytes (nested_depth_100000: 1.2 MB of array headers, which would slow the
 * reader's exec/s for no coverage that nested_depth_100 does not reach).
 */
#include "gguf_catalog.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_SEED (256u * 1024u)

static void dump(const char *dir, const char *prefix, const char *name, void (*build)(gb_buf *)) {
    gb_buf b;
    gb_init(&b, 3);
    build(&b);
    if (b.len > MAX_SEED) {
        gb_free(&b);
        return;
    }
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
    for (size_t i = 0; i < gcat_n_cases; i++) {
        dump(argv[1], "catalog", gcat_cases[i].name, gcat_cases[i].build);
    }
    for (size_t i = 0; i < gcat_n_fixtures; i++) {
        dump(argv[1], "fixture", gcat_fixtures[i].name, gcat_fixtures[i].build);
    }
    return 0;
}
