/* lock.c: one process per data folder (an exclusive flock on a lock file). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scitt/core.h"

/* holder reads the pid the holding process wrote into the lock file, or 0
 * (not yet written, or unreadable). */
static long holder(int fd)
{
    char text[24];
    ssize_t n = pread(fd, text, sizeof(text), 0);
    size_t len = 0;
    while (n > 0 && len < (size_t)n && text[len] >= '0' && text[len] <= '9') {
        len++;
    }
    uint64_t pid;
    return len > 0 && scitt_parse_u64(text, len, &pid) == 0 && pid <= INT32_MAX ? (long)pid : 0;
}

int scitt_dir_lock(const char *dir, int *out_fd, char *msg, size_t msg_cap)
{
    *out_fd = -1;
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s", dir, SCITT_DIR_LOCK_FILE) >= (int)sizeof(path)) {
        snprintf(msg, msg_cap, "%s: path too long", dir);
        return SCITT_EINVAL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int rc = -errno;
        snprintf(msg, msg_cap, "cannot create %s: %s", dir, strerror(-rc));
        return rc;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = -errno;
        snprintf(msg, msg_cap, "cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        long pid = rc == -EBUSY ? holder(fd) : 0;
        if (pid > 0) {
            snprintf(msg, msg_cap, "%s is in use by pid %ld", dir, pid);
        } else if (rc == -EBUSY) {
            snprintf(msg, msg_cap, "%s is in use by another process", dir);
        } else {
            snprintf(msg, msg_cap, "cannot lock %s: %s", path, strerror(-rc));
        }
        close(fd);
        return rc;
    }
    /* Ours: say who holds it. The pid is only for the message; the lock is
     * the flock, which ends with the process however it ends. */
    char text[24];
    int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    errno = EIO; /* a short write sets none */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        int rc = -errno;
        snprintf(msg, msg_cap, "cannot write %s: %s", path, strerror(-rc));
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

void scitt_dir_unlock(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}
