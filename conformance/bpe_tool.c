/*
 * bpe_tool.c — the BPE tokenizer as a line filter, for conformance/test_bpe_properties.py (SPEC
 * R-TOK-032, R-TOK-049). Not a torture_* suite: the Hypothesis test drives it.
 *
 *   bpe_tool PRE VOCAB.gguf|-
 *
 * Each stdin line is a text in hex; each stdout line answers it:
 *   PIECES_HEX_JOINED_BY_'|' TAB IDS_COMMA_SEPARATED TAB DECODED_HEX
 * PIECES are the pre-tokenizer PRE's (gr_pretok_split); with VOCAB "-" only the pieces are given
 * (the other two fields empty). Encoding uses no flags (nothing parsed, no BOS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggufref.h"
#include "pretok.h"
#include "unicode.h"

static int hexval(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_hex(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)p[i]);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: bpe_tool PRE VOCAB.gguf|-\n");
        return 2;
    }
    gr_pretok_kind kind;
    bool im;
    if (!gr_pretok_lookup(argv[1], strlen(argv[1]), &kind, &im)) {
        fprintf(stderr, "bpe_tool: unknown pre %s\n", argv[1]);
        return 2;
    }
    ggufref_gguf *g = NULL;
    ggufref_model *m = NULL;
    if (strcmp(argv[2], "-") != 0) {
        ggufref_error err;
        if (ggufref_gguf_open_file(argv[2], &g, &err) != GGUFREF_OK ||
            ggufref_model_load_vocab(g, &m, &err) != GGUFREF_OK) {
            fprintf(stderr, "bpe_tool: %s: %s\n", argv[2], err.message);
            return 1;
        }
    }
    size_t cap = 1 << 16;
    char *line = malloc(cap), *text = malloc(cap);
    uint32_t *cp = malloc(cap * sizeof *cp);
    uint8_t *pr = malloc(cap), *brk = malloc(cap + 1);
    size_t *off = malloc((cap + 1) * sizeof *off);
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!line || !text || !cp || !pr || !brk || !off || !ids) return 1;
    while (fgets(line, (int)cap, stdin) != NULL) {
        size_t len = 0;
        for (size_t i = 0; hexval(line[i]) >= 0 && hexval(line[i + 1]) >= 0; i += 2) {
            text[len++] = (char)(hexval(line[i]) * 16 + hexval(line[i + 1]));
        }
        size_t n = 0;
        for (size_t pos = 0; pos < len; n++) {
            off[n] = pos;
            pos += gr_uc_decode((const uint8_t *)text + pos, len - pos, &cp[n]);
            pr[n] = gr_uc_props(cp[n]);
        }
        off[n] = len;
        (void)gr_pretok_split(kind, cp, pr, n, brk);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && brk[i]) putchar('|');
            put_hex(text + off[i], off[i + 1] - off[i]);
        }
        putchar('\t');
        if (m != NULL) {
            size_t nt = 0;
            ggufref_status st = ggufref_tokenize_ex(m, text, len, 0, ids, cap, &nt);
            if (st != GGUFREF_OK) {
                printf("ERROR %s\t\n", ggufref_status_name(st));
                fflush(stdout);
                continue;
            }
            for (size_t i = 0; i < nt; i++) printf("%s%d", i ? "," : "", ids[i]);
            putchar('\t');
            for (size_t i = 0; i < nt; i++) {
                ggufref_str p = ggufref_token_to_piece(m, -1, ids[i]);
                put_hex(p.ptr, p.len);
            }
        } else {
            putchar('\t');
        }
        putchar('\n');
        fflush(stdout);
    }
    ggufref_model_free(m);
    ggufref_gguf_close(g);
    return 0;
}
