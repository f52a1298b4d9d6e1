/*
 * bench_open.c — time and memory to open a GGUF file (SPEC R-GGUF-001: O(metadata), never
 * O(file size)). Targets: < 5 ms and < 1 MiB beyond the mapping for a >= 1 GiB model.
 *
 * 1. Writes a sparse llama-7B-shaped model to /tmp: a 32000-token vocabulary (tokens, scores,
 *    token types), the usual hyperparameters, and 291 tensor infos (F16 embeddings, Q4_0
 *    matrices, F32 norms); the data section (~3.9 GB) is a hole made with ftruncate.
 * 2. Opens it RUNS times with ggufref_gguf_open_file and prints the median, minimum and
 *    maximum time, and the memory the open handle holds:
 *      heap   mallinfo2() in-use bytes while the handle is open, minus before (every
 *             allocation of the reader goes through malloc; it has no other allocations);
 *      RSS    VmRSS delta while open: the heap plus the mapped pages the parser touched
 *             (the metadata), reported apart from the mapping's size.
 * 3. The same for ../shared/material/llama.cpp-vocab/ggml-vocab-llama-spm.gguf (32000 tokens)
 *    when present.
 *
 * Usage: bench_open [RUNS]   (default 101). The model file is removed at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"
#include "ggufref.h"
#include "gguf_builder.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N_VOCAB 32000u
#define DIM 4096u
#define FFN 11008u
#define N_LAYERS 32u

/* Resident set size in KiB, from /proc/self/status; -1 if unavailable. */
static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return kib;
}

static size_t heap_in_use(void) { return mallinfo2().uordblks; }

/* Metadata and tensor infos of the model; returns the file size (data section included). */
static uint64_t build_model(gb_buf *b) {
    gb_header(b, 3 + 9 * N_LAYERS, 16);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_str(b, "general.name", "bench-open-7b-shape");
    gb_kv_u32(b, "general.alignment", 32);
    gb_kv_u32(b, "llama.context_length", 4096);
    gb_kv_u32(b, "llama.embedding_length", DIM);
    gb_kv_u32(b, "llama.block_count", N_LAYERS);
    gb_kv_u32(b, "llama.feed_forward_length", FFN);
    gb_kv_u32(b, "llama.rope.dimension_count", 128);
    gb_kv_u32(b, "llama.attention.head_count", 32);
    gb_kv_u32(b, "llama.attention.head_count_kv", 32);
    gb_kv_f32(b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gb_kv_str(b, "tokenizer.ggml.model", "llama");
    gb_kv_array(b, "tokenizer.ggml.tokens", GGUFREF_TYPE_STRING, N_VOCAB);
    char tok[32];
    for (uint32_t i = 0; i < N_VOCAB; i++) {
        snprintf(tok, sizeof tok, "\xe2\x96\x81tok%u", i);
        gb_str(b, tok);
    }
    gb_kv_array(b, "tokenizer.ggml.scores", GGUFREF_TYPE_FLOAT32, N_VOCAB);
    for (uint32_t i = 0; i < N_VOCAB; i++) gb_f32(b, -(float)i);
    gb_kv_array(b, "tokenizer.ggml.token_type", GGUFREF_TYPE_INT32, N_VOCAB);
    for (uint32_t i = 0; i < N_VOCAB; i++) gb_i32(b, 1);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);

    static const char *const mats[7] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                        "ffn_gate", "ffn_up", "ffn_down"};
    gb_tensor t[3 + 9 * N_LAYERS];
    static char names[3 + 9 * N_LAYERS][48];
    size_t n = 0;
    t[n++] = (gb_tensor){"token_embd.weight", 2, {DIM, N_VOCAB}, GGUFREF_T_F16, NULL};
    for (uint32_t l = 0; l < N_LAYERS; l++) {
        for (int m = 0; m < 7; m++) {
            snprintf(names[n], sizeof names[n], "blk.%u.%s.weight", l, mats[m]);
            uint64_t rows = m < 4 ? DIM : (m < 6 ? FFN : DIM);
            uint64_t cols = m == 6 ? FFN : DIM;
            t[n] = (gb_tensor){names[n], 2, {cols, rows}, GGUFREF_T_Q4_0, NULL};
            n++;
        }
        snprintf(names[n], sizeof names[n], "blk.%u.attn_norm.weight", l);
        t[n] = (gb_tensor){names[n], 1, {DIM}, GGUFREF_T_F32, NULL};
        n++;
        snprintf(names[n], sizeof names[n], "blk.%u.ffn_norm.weight", l);
        t[n] = (gb_tensor){names[n], 1, {DIM}, GGUFREF_T_F32, NULL};
        n++;
    }
    t[n++] = (gb_tensor){"output_norm.weight", 1, {DIM}, GGUFREF_T_F32, NULL};
    t[n++] = (gb_tensor){"output.weight", 2, {DIM, N_VOCAB}, GGUFREF_T_Q4_0, NULL};
    gb_tensor_infos(b, t, n, 32);
    gb_pad(b, 32);
    uint64_t size = b->len;
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = gb_tensor_bytes(t[i].type, t[i].n_dims, t[i].ne);
        size = (size + bytes + 31) / 32 * 32;
    }
    return size;
}

/* Open `path` runs times; print median/min/max time and the memory held while open. */
static int measure(const char *label, const char *path, int runs) {
    double *ms = malloc(sizeof *ms * (size_t)runs);
    if (ms == NULL) return 1;
    ggufref_gguf *g = NULL;
    ggufref_error err;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now_s();
        ggufref_status st = ggufref_gguf_open_file(path, &g, &err);
        ms[r] = (bench_now_s() - t0) * 1e3;
        if (st != GGUFREF_OK) {
            fprintf(stderr, "bench_open: %s: %s: %s\n", path, ggufref_status_name(st), err.message);
            free(ms);
            return 1;
        }
        ggufref_gguf_close(g);
    }
    bench_sort_median(ms, (size_t)runs); /* ms[0], ms[runs / 2], ms[runs - 1] below */

    malloc_trim(0);
    size_t heap0 = heap_in_use();
    long rss0 = rss_kib();
    ggufref_gguf_open_file(path, &g, &err);
    size_t heap1 = heap_in_use();
    long rss1 = rss_kib();
    printf("%s\n", label);
    printf("  file              %s\n", path);
    printf("  size (mapping)    %zu bytes (%.3f GiB), %llu tensors, %llu kvs\n",
           ggufref_gguf_size(g), (double)ggufref_gguf_size(g) / (1024.0 * 1024 * 1024),
           (unsigned long long)ggufref_gguf_n_tensors(g), (unsigned long long)ggufref_gguf_n_kv(g));
    printf("  metadata          %llu bytes (data offset)\n",
           (unsigned long long)ggufref_gguf_data_offset(g));
    printf("  open time         median %.3f ms, min %.3f ms, max %.3f ms (%d runs, warm cache)\n",
           ms[runs / 2], ms[0], ms[runs - 1], runs);
    printf("  heap held (open)  %zu bytes (%.1f KiB)\n", heap1 - heap0,
           (double)(heap1 - heap0) / 1024.0);
    printf("  RSS delta (open)  %ld KiB (heap + metadata pages of the mapping touched)\n",
           rss1 - rss0);
    ggufref_gguf_close(g);
    free(ms);
    return 0;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 101;
    if (runs < 1) runs = 1;
    char path[64];
    snprintf(path, sizeof path, "/tmp/ggufref_bench_open_%ld.gguf", (long)getpid());

    gb_buf b;
    gb_init(&b, 3);
    uint64_t size = build_model(&b);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len ||
        ftruncate(fd, (off_t)size) != 0 || close(fd) != 0) {
        perror("bench_open: writing the model");
        return 1;
    }
    gb_free(&b);
    int rc = measure("sparse 7B-shaped model (data section is a hole)", path, runs);
    unlink(path);

    const char *shared = getenv("GGUFREF_SHARED_DIR");
    char vocab[512];
    snprintf(vocab, sizeof vocab, "%s/material/llama.cpp-vocab/ggml-vocab-llama-spm.gguf",
             shared != NULL ? shared : "../shared");
    struct stat sb;
    if (stat(vocab, &sb) == 0) {
        rc |= measure("llama-spm vocab (32000 tokens, 0 tensors)", vocab, runs);
    } else {
        printf("llama-spm vocab: skipped (%s absent; set GGUFREF_SHARED_DIR)\n", vocab);
    }
    return rc;
}
