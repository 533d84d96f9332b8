/* scitt_write_file_once: immutable files written once (the publish folder). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "scitt/core.h"

static void read_back(const char *dir, const char *file, const char *want)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_read_file(path, &b), 0);
    cr_assert(scitt_span_eq(scitt_buf_span(&b), scitt_span_str(want)));
    scitt_buf_cleanup(&b);
}

Test(core_file_once, written_once_then_compared)
{
    char dir[] = "/tmp/scitt-once-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(scitt_write_file_once(dir, "t", scitt_span_str("tile bytes"), 0644), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/t", dir);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0644);
    /* The same bytes again: nothing to do. */
    cr_assert_eq(scitt_write_file_once(dir, "t", scitt_span_str("tile bytes"), 0644), 0);
    /* Other bytes (a longer file, a shorter one, the same length): refused,
     * and the file keeps what it held. */
    cr_assert_eq(scitt_write_file_once(dir, "t", scitt_span_str("tile bytes and more"), 0644), SCITT_ECONFLICT);
    cr_assert_eq(scitt_write_file_once(dir, "t", scitt_span_str("tile"), 0644), SCITT_ECONFLICT);
    cr_assert_eq(scitt_write_file_once(dir, "t", scitt_span_str("tile BYTES"), 0644), SCITT_ECONFLICT);
    read_back(dir, "t", "tile bytes");
    /* An empty file is a file too. */
    cr_assert_eq(scitt_write_file_once(dir, "e", scitt_span_str(""), 0644), 0);
    cr_assert_eq(scitt_write_file_once(dir, "e", scitt_span_str(""), 0644), 0);
    cr_assert_eq(scitt_write_file_once(dir, "e", scitt_span_str("x"), 0644), SCITT_ECONFLICT);
    cr_assert_eq(scitt_write_file_once("/nonexistent", "x", scitt_span_str("x"), 0644), -ENOENT);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    cr_assert_eq(system(path), 0);
}
