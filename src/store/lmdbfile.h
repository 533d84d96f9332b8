/*
 * lmdbfile.h: checks on an LMDB data file (data.mdb) made with pread alone,
 * never through a memory map, so that a damaged or truncated file gives an
 * answer instead of SIGBUS. The bytes are untrusted (fuzz/fuzz_lmdbfile.c).
 */
#ifndef SCITT_STORE_LMDBFILE_H
#define SCITT_STORE_LMDBFILE_H

#include <stdbool.h>

/* scitt_store__lmdbfile_complete: true when the data file at `path` holds
 * every page its newest meta page counts as in use, or lacks only pages
 * its free DB lists as free. False for a truncated, unreadable or
 * malformed file (lmdbfile.c says why a short file can be sound). */
bool scitt_store__lmdbfile_complete(const char *path);

#endif
