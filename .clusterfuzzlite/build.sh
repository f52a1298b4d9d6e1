#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz entry point: the base image provides $CC, $CXX, $CFLAGS,
# $LIB_FUZZING_ENGINE, $OUT and $WORK; fuzz/build.sh builds every target into $OUT with its
# <target>.dict, <target>.options and <target>_seed_corpus.zip.
# The Dockerfile clones cJSON to $SRC/cJSON; fuzz/build.sh compiles it into the protocol
# target (the runner images have no libcjson.so). The library itself has no dependency.
exec "$SRC/ggufref/fuzz/build.sh"
