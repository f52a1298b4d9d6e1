/*
 * memory.c — every allocation of the server, cJSON's included (cJSON_InitHooks), goes through
 * gr_srv_malloc / gr_srv_realloc / gr_srv_free (SPEC R-PROTO-016).
 *
 * A failed allocation returns NULL and raises the out-of-memory flag. Callers skip what they
 * could not build; the event writer (events.c) looks at the flag before writing and answers the
 * command with a well-formed OUT_OF_MEMORY error built without allocating instead of an event
 * with parts missing. Where no answer can be given (the reader cannot hold a line) the server
 * stops: gr_server_run returns 1 and the CLI writes one line on stderr.
 *
 * With gr_srv_count_allocs(true) (the OOM loop of torture_protocol, fault-injection builds) the
 * blocks come from the library's allocation hook (gr_malloc, R-FAULT-001), so that
 * ggufref_fault_alloc_fail_at(k) fails the k-th allocation of server and library together.
 * Otherwise they come from malloc and the hook never sees them: the fault-* commands of the
 * protocol reach the runtime's allocations only, as before.
 *
 * Each block carries a header (its size, for realloc without a realloc hook, and which
 * allocator made it), so a block is freed by the allocator that made it whatever the mode is
 * by then.
 */
#include "serve_internal.h"

#include "internal.h" /* reference/src: gr_malloc, gr_free (the allocation hook) */

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

typedef struct header {
    alignas(max_align_t) size_t size;
    bool hooked; /* from gr_malloc */
} header;

static bool count_allocs;
static _Thread_local bool oom; /* per thread: session workers allocate concurrently */

void gr_srv_count_allocs(bool on) { count_allocs = on; }
bool gr_srv_oom(void) { return oom; }
void gr_srv_oom_clear(void) { oom = false; }
bool gr_srv_oom_swap(bool value) {
    bool was = oom;
    oom = value;
    return was;
}

void *gr_srv_malloc(size_t n) {
    if (n > SIZE_MAX - sizeof(header)) {
        oom = true;
        return NULL;
    }
    header *h = count_allocs ? gr_malloc(sizeof *h + n) : malloc(sizeof *h + n);
    if (h == NULL) {
        oom = true;
        return NULL;
    }
    h->size = n;
    h->hooked = count_allocs;
    return h + 1;
}

void gr_srv_free(void *p) {
    if (p == NULL) return;
    header *h = (header *)p - 1;
    if (h->hooked) {
        gr_free(h);
    } else {
        free(h);
    }
}

void *gr_srv_realloc(void *p, size_t n) {
    if (p == NULL) return gr_srv_malloc(n);
    header *h = (header *)p - 1;
    if (n <= h->size) return p;
    void *q = gr_srv_malloc(n);
    if (q == NULL) return NULL; /* p stays valid */
    memcpy(q, p, h->size);
    gr_srv_free(p);
    return q;
}

char *gr_srv_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = gr_srv_malloc(n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}

void gr_srv_json_hooks(void) {
    cJSON_Hooks hooks = {gr_srv_malloc, gr_srv_free};
    cJSON_InitHooks(&hooks);
}
