/* file.c: whole-file reads into bounded buffers, and atomic writes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int scitt_write_file_atomic(const char *dir, const char *file, scitt_span_t data, unsigned mode)
{
    char tmp[4096], path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.XXXXXX", dir, file) >= sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    int fd = mkstemp(tmp); /* O_EXCL, mode 0600 until fchmod */
    if (fd < 0) {
        return -errno;
    }
    int rc = 0;
    if (fchmod(fd, (mode_t)mode) != 0 || (rc = write_all(fd, data.base, data.len)) != 0 || fsync(fd) != 0) {
        rc = rc != 0 ? rc : -errno;
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        rc = -errno;
        unlink(tmp);
        return rc;
    }
    /* The rename is durable once the directory is. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return -errno;
    }
    rc = fsync(dfd) != 0 ? -errno : 0;
    close(dfd);
    return rc;
}

/* same_file compares the file at `path` with `data`: 1 equal, 0 different,
 * -ENOENT absent, else -errno. Reads in chunks (no allocation). */
static int same_file(const char *path, scitt_span_t data)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    uint8_t chunk[16384];
    size_t off = 0;
    int rc = 1;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0) {
            rc = off == data.len ? 1 : 0;
            break;
        }
        if ((size_t)n > data.len - off || memcmp(chunk, data.base + off, (size_t)n) != 0) {
            rc = 0;
            break;
        }
        off += (size_t)n;
    }
    close(fd);
    return rc;
}

int scitt_write_file_once(const char *dir, const char *file, scitt_span_t data, unsigned mode)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
        return -ENAMETOOLONG;
    }
    int rc = same_file(path, data);
    if (rc == 1) {
        return 0;
    }
    if (rc == 0) {
        return SCITT_ECONFLICT;
    }
    return rc == -ENOENT ? scitt_write_file_atomic(dir, file, data, mode) : rc;
}
