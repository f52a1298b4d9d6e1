/* files.c — see files.h. */
#define _POSIX_C_SOURCE 200809L

#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *read_whole_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = 2 * cap + 8192;
            char *nb = realloc(b, cap);
            if (nb == NULL) abort();
            b = nb;
        }
        size_t got = fread(b + n, 1, 4096, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

bool material_path(const char *rel, char *buf, size_t cap) {
    const char *dir = getenv("GGUFREF_SHARED_DIR");
    int w = snprintf(buf, cap, "%s/material/%s", dir != NULL ? dir : "../shared", rel);
    return w >= 0 && (size_t)w < cap && access(buf, R_OK) == 0;
}
