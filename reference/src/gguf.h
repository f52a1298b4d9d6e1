/*
 * gguf.h — what the GGUF reader (gguf.c) offers the layers above besides the public API: the
 * library's one reader of files (R-GGUF-007, R-RT-012). Not installed, not public.
 */
#ifndef GGUFREF_GGUF_H
#define GGUFREF_GGUF_H

#include "internal.h"

/* Room for n bytes: returns where they go, NULL when out of memory. OUT: *block, what to
 * gr_free (the returned pointer may lie inside it, e.g. aligned). */
typedef uint8_t *(*gr_bytes_alloc_fn)(size_t n, uint8_t **block);

/* Read the whole file at path into memory from alloc, through the I/O hook (chapter 11):
 *   - the path is opened without blocking (O_NONBLOCK) and must be a regular file: a FIFO, a
 *     device or a directory is IO_ERROR at once (R-GGUF-007);
 *   - the first 8 bytes (magic and version) are read and checked first, exactly as the parser
 *     checks them (BAD_MAGIC, BYTE_SWAPPED, UNSUPPORTED_VERSION, TRUNCATED for a file shorter
 *     than they need): a file that is not GGUF is rejected without reading the rest;
 *   - then the rest, in chunks; a read error or a file that ends early (it shrank) is IO_ERROR
 *     at the offset where reading stopped.
 * Messages name the path quoted like a string from a file (R-STATUS-003). Failures before the
 * first byte (open, stat, not a regular file) carry offset pre_offset. Nothing is mapped and
 * nothing stays open. OUT: *block (to gr_free), *bytes (inside it), *size; all NULL / 0 on
 * failure, with nothing left allocated. */
ggufref_status gr_gguf_read_file(const char *path, gr_bytes_alloc_fn alloc, uint64_t pre_offset,
                                 uint8_t **block, uint8_t **bytes, size_t *size,
                                 ggufref_error *err);

/* Metadata readers shared by the tokenizers (tokenizer.c, bpe.c). */

/* Byte offset of a view into the file (a pointer into ggufref_gguf_bytes), for messages. */
uint64_t gr_gguf_offset_of(const ggufref_gguf *g, const void *p);

/* Optional bool key: default when absent, BAD_VALUE_TYPE when not a bool. OUT: *out. */
ggufref_status gr_gguf_bool_key(const ggufref_gguf *g, const char *key, bool def, bool *out,
                                ggufref_error *err);

/* An array key of elem_type with exactly n elements, n being the count of
 * tokenizer.ggml.tokens (n = 0: any count). Absent: *found = false. BAD_VALUE_TYPE for another
 * type, UNSUPPORTED_MODEL (at the array's offset) for another count. OUT: *arr, *found. */
ggufref_status gr_gguf_array_key(const ggufref_gguf *g, const char *key,
                                 ggufref_value_type elem_type, uint64_t n, ggufref_array *arr,
                                 bool *found, ggufref_error *err);

/* tokenizer.ggml.tokens (R-TOK-002): an array of strings of 1 to 2^31-1 elements, else
 * UNSUPPORTED_MODEL (missing, or the count at the array's offset) or BAD_VALUE_TYPE. OUT: *arr. */
ggufref_status gr_gguf_token_list(const ggufref_gguf *g, ggufref_array *arr, ggufref_error *err);

#endif
