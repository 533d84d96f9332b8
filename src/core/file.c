/* file.c: whole-file reads into bounded buffers. */
#include <stdio.h>

#include "scitt/core.h"

int scitt_read_stream(FILE *f, scitt_buf_t *out)
{
    uint8_t chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = scitt_buf_append(out, chunk, n);
    }
    return rc == 0 && ferror(f) ? SCITT_EIO : rc;
}

int scitt_read_file(const char *path, scitt_buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -errno;
    }
    int rc = scitt_read_stream(f, out);
    fclose(f);
    return rc;
}
