/*
 * logits_dump.c — writes the logits of fixed token sequences, as raw binary32 bit patterns,
 * for the cross-configuration determinism check (SPEC R-NUM-044, tools/determinism.sh).
 *
 *   logits_dump OUT MODEL.gguf...
 *
 * For each model: a context of min(n_ctx_train, 48) positions; tokens t_i = (7i + 1) mod
 * n_vocab; positions 0..19 one by one (ggufref_forward), then 16 positions as one batch
 * (ggufref_forward_batch), then single positions to the end of the context. After every call
 * the n_vocab logits are appended to OUT as little-endian u32 bit patterns (NaNs, which no
 * fixture produces, would be written as they are). One line per model on stdout:
 * "<fnv1a-64 of its logits> <steps> <path>". Not a cmocka suite: tools/determinism.sh builds
 * it directly with each compiler and flag set and compares the OUT files byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"
#include "hash.h" /* gr_fnv1a: the library's one FNV-1a */

/* Append n floats as little-endian u32; fold them into *hash. */
static int emit(FILE *out, const float *v, size_t n, uint64_t *hash) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
        *hash = gr_fnv1a(*hash, b, 4);
        if (fwrite(b, 1, 4, out) != 4) return -1;
    }
    return 0;
}

static int dump_model(const char *path, FILE *out) {
    ggufref_gguf *g;
    ggufref_error err;
    if (ggufref_gguf_open_file(path, &g, &err) != GGUFREF_OK) {
        fprintf(stderr, "logits_dump: %s: %s\n", path, err.message);
        return -1;
    }
    ggufref_model *m;
    if (ggufref_model_load(g, &m, &err) != GGUFREF_OK) {
        fprintf(stderr, "logits_dump: %s: %s\n", path, err.message);
        ggufref_gguf_close(g);
        return -1;
    }
    ggufref_model_info in;
    ggufref_model_get_info(m, &in);
    uint32_t n_ctx = in.n_ctx_train < 48 ? in.n_ctx_train : 48;
    ggufref_context *ctx;
    if (ggufref_context_create(m, n_ctx, &ctx) != GGUFREF_OK) {
        fprintf(stderr, "logits_dump: %s: no context\n", path);
        return -1;
    }
    /* LOGITS_DUMP_THREADS=N: the forward pass on N threads (R-NUM-047: the same bits) */
    const char *threads = getenv("LOGITS_DUMP_THREADS");
    if (threads != NULL && ggufref_context_set_threads(ctx, (uint32_t)strtoul(threads, NULL, 10)) != GGUFREF_OK) {
        fprintf(stderr, "logits_dump: %s: cannot use %s threads\n", path, threads);
        return -1;
    }
    uint64_t hash = GR_FNV_OFFSET;
    int steps = 0, rc = 0;
    uint32_t pos = 0;
    const float *lg;
    while (pos < n_ctx && rc == 0) {
        int32_t tokens[GGUFREF_MAX_BATCH];
        size_t n = (pos == 20 && pos + GGUFREF_MAX_BATCH <= n_ctx) ? GGUFREF_MAX_BATCH : 1;
        for (size_t i = 0; i < n; i++) tokens[i] = (int32_t)((7u * (pos + (uint32_t)i) + 1u) % in.n_vocab);
        ggufref_status st = ggufref_forward_batch(ctx, tokens, n, pos, &lg);
        if (st != GGUFREF_OK) {
            fprintf(stderr, "logits_dump: %s: forward at %u: %s\n", path, pos, ggufref_status_name(st));
            rc = -1;
            break;
        }
        rc = emit(out, lg, in.n_vocab, &hash);
        pos += (uint32_t)n;
        steps++;
    }
    printf("%016llx %d %s\n", (unsigned long long)hash, steps, path);
    ggufref_context_free(ctx);
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: logits_dump OUT MODEL.gguf...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "wb");
    if (out == NULL) {
        perror(argv[1]);
        return 2;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        if (dump_model(argv[i], out) != 0) rc = 1;
    }
    if (fclose(out) != 0) rc = 1;
    return rc;
}
