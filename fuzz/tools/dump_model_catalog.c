/*
 * dump_model_catalog.c — writes every model of the binding catalog of
 * conformance/torture_model.c (a valid tiny llama model, mutated per row) into a directory,
 * for the model_load seed corpus.
 *
 *   fuzz-dump-model-catalog OUTDIR     (one file per row: binding-<name>)
 *
 * The catalog stays owned by torture_model.c: this tool compiles that file with its main
 * renamed, so every row added there becomes a seed at the next fuzz/tools/update-seeds.sh.
 */
#define main torture_model_main
#include "../../conformance/torture_model.c"
#undef main

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof catalog / sizeof catalog[0]; i++) {
        lb_config c;
        lb_default(&c);
        catalog[i].mutate(&c);
        gb_buf b;
        lb_build(&c, &b);
        char path[1024];
        snprintf(path, sizeof path, "%s/binding-%s", argv[1], catalog[i].name);
        if (gb_write_file(&b, path) != 0) {
            fprintf(stderr, "fuzz-dump-model-catalog: cannot write %s\n", path);
            return 1;
        }
        gb_free(&b);
    }
    return 0;
}
