/* test_lock.c: one process per data folder (src/core/lock.c). flock locks
 * belong to open files, so a second lock in this same process conflicts
 * with the first just as another process's would. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scitt/core.h"

static char root[] = "/tmp/scitt-lock-XXXXXX";

static void make_root(void)
{
    cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

Test(core_lock, second_holder_is_refused_with_the_pid, .init = make_root, .fini = remove_root)
{
    char dir[256], msg[512], want[512];
    snprintf(dir, sizeof(dir), "%s/data", root); /* created by the lock */
    int fd;
    cr_assert_eq(scitt_dir_lock(dir, &fd, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_geq(fd, 0);
    struct stat sb;
    cr_assert_eq(stat(dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700);

    int fd2;
    cr_assert_eq(scitt_dir_lock(dir, &fd2, msg, sizeof(msg)), -EBUSY);
    cr_assert_eq(fd2, -1);
    snprintf(want, sizeof(want), "%s is in use by pid %ld", dir, (long)getpid());
    cr_assert_str_eq(msg, want);

    scitt_dir_unlock(fd);
    cr_assert_eq(scitt_dir_lock(dir, &fd2, msg, sizeof(msg)), 0, "not released: %s", msg);
    scitt_dir_unlock(fd2);
}

Test(core_lock, unusable_folder, .init = make_root, .fini = remove_root)
{
    char dir[256], msg[512];
    snprintf(dir, sizeof(dir), "%s/missing/data", root);
    int fd;
    cr_assert_eq(scitt_dir_lock(dir, &fd, msg, sizeof(msg)), -ENOENT);
    cr_assert_eq(fd, -1);
    cr_assert(strstr(msg, "cannot create") != NULL, "%s", msg);
}
