/*
 * stub.c — the server of a build without cJSON (libcjson-dev): CMake compiles this file
 * instead of the server's others (breaks.c stays, for the CLI's usage), and `ggufref serve`
 * refuses with a message naming the missing library (R-PROTO-061).
 */
#include "serve.h"

struct gr_server {
    int unused;
};

gr_server *gr_server_create(FILE *out, const gr_server_config *config, const char **why) {
    (void)out;
    (void)config;
    if (why != NULL) {
        *why = "this ggufref was built without cJSON (libcjson-dev): 'serve' is unavailable; "
               "install it (tools/deps.sh) and rebuild";
    }
    return NULL;
}

void gr_server_destroy(gr_server *server) { (void)server; }

void gr_server_handle_line(gr_server *server, const char *line, size_t len) {
    (void)server;
    (void)line;
    (void)len;
}

int gr_server_run(gr_server *server, int fd) {
    (void)server;
    (void)fd;
    return 1;
}

const char *gr_server_failure(const gr_server *server, int *err) {
    (void)server;
    if (err != NULL) *err = 0;
    return NULL;
}
