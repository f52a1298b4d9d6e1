/*
 * dump_model_catalog.c — writes every model of the binding catalog of
 * conformance/catalog/model_catalog.c (a valid tiny llama model, mutated per row) into a
 * directory, for the model_load seed corpus.
 *
 *   fuzz-dump-model-catalog OUTDIR     (one file per row: binding-<name>)
 *
 * Every row added to the catalog becomes a seed at the next fuzz/tools/update-seeds.sh.
 */
#include "model_catalog.h"

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < mcat_n_cases; i++) {
        gb_buf b;
        mcat_build(&mcat_cases[i], &b);
        char path[1024];
        snprintf(path, sizeof path, "%s/binding-%s", argv[1], mcat_cases[i].name);
        if (gb_write_file(&b, path) != 0) {
            fprintf(stderr, "fuzz-dump-model-catalog: cannot write %s\n", path);
            return 1;
        }
        gb_free(&b);
    }
    return 0;
}
