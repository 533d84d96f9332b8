/*
 * fuzz_lmdbfile.c: arbitrary bytes as data.mdb for lmdbfile.c's check that
 * the file holds every page in use (src/store/lmdbfile.h); it reads the
 * file with pread, so the input goes to a scratch file first. Invariant:
 * no crash, no leak, and a file too short for two meta pages is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "lmdbfile.h"

static char path[64];
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        snprintf(path, sizeof(path), "/tmp/scitt-fuzz-lmdbfile-XXXXXX");
        fd = mkstemp(path);
        CHECK(fd >= 0);
        unlink(path); /* the check opens it by name: keep the name through /proc */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    bool ok = scitt_store__lmdbfile_complete(path);
    CHECK(!ok || size >= 512 + 152);
    return 0;
}
