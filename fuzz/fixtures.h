/*
 * fixtures.h — fixture files embedded into the fuzz targets at build time (fuzz/fixtures.txt,
 * fuzz/embed.sh), so targets never read the filesystem.
 */
#ifndef GGUFREF_FUZZ_FIXTURES_H
#define GGUFREF_FUZZ_FIXTURES_H

#include <stddef.h>

extern const int fz_fixtures_embedded; /* how many fixtures the build embedded */

#endif
