/*
 * bench_util.h — timing helpers shared by the benchmarks. Header only: every bench/bench_*.c
 * is its own binary (bench/CMakeLists.txt). Needs _POSIX_C_SOURCE >= 199309L (clock_gettime).
 */
#ifndef GGUFREF_BENCH_UTIL_H
#define GGUFREF_BENCH_UTIL_H

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock (wall time, not CPU time). */
static inline double bench_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* qsort comparator: doubles in ascending order. */
static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) ascending in place (so v[0] is the minimum, v[n - 1] the maximum) and returns
 * the median v[n / 2]; n >= 1. */
static inline double bench_sort_median(double *v, size_t n) {
    qsort(v, n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

#endif
