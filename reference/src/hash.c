/*
 * hash.c — FNV-1a 64 (hash.h): byte-wise, over binary32 values, and word-wise for whole files.
 */
#include "hash.h"

#include <string.h>

uint64_t gr_fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= GR_FNV_PRIME;
    }
    return h;
}

uint64_t gr_fnv1a_f32(uint64_t h, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xFFu;
            h *= GR_FNV_PRIME;
        }
    }
    return h;
}

uint64_t gr_hash_bytes(const uint8_t *data, size_t n) {
    uint64_t h = GR_FNV_OFFSET;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--) w = (w << 8) | data[i + (size_t)k];
        h ^= w;
        h *= GR_FNV_PRIME;
    }
    uint64_t w = 0;
    for (size_t k = n; k > i; k--) w = (w << 8) | data[k - 1];
    h ^= w ^ (uint64_t)n; /* the length tells a zero tail from no tail */
    h *= GR_FNV_PRIME;
    return h;
}
