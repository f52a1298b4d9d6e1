/*
 * files.h — files for tests: a whole file into memory, and the path of a third-party file of the
 * shared material.
 *
 * Tests that read third-party files find them under $GGUFREF_SHARED_DIR/material (default
 * ../shared/material) and report absence instead of failing, so the caller can skip with a
 * reason (README, "Test material").
 */
#ifndef GGUFREF_FILES_H
#define GGUFREF_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* The whole file, NUL-terminated (malloc'd), or NULL if it cannot be opened. OUT: *len.
 * Aborts on allocation failure (test support). */
char *read_whole_file(const char *path, size_t *len);

/* $GGUFREF_SHARED_DIR/material/REL into buf; false if it does not fit or is not readable. */
bool material_path(const char *rel, char *buf, size_t cap);

#endif
