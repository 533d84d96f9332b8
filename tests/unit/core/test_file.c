#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "scitt/core.h"

Test(core_file, atomic_write_then_read)
{
    char dir[] = "/tmp/scitt-file-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(scitt_write_file_atomic(dir, "a.txt", scitt_span_str("first"), 0600), 0);
    cr_assert_eq(scitt_write_file_atomic(dir, "a.txt", scitt_span_str("second, longer"), 0640), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/a.txt", dir);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0640);
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_read_file(path, &b), 0);
    cr_assert(scitt_span_eq(scitt_buf_span(&b), scitt_span_str("second, longer")));
    /* A bounded buffer refuses a file larger than its maximum. */
    scitt_buf_t small;
    scitt_buf_init(&small, NULL, 4);
    cr_assert_eq(scitt_read_file(path, &small), SCITT_ETOOBIG);
    scitt_buf_cleanup(&small);
    scitt_buf_cleanup(&b);
    cr_assert_eq(scitt_read_file("/nonexistent/file", &b), -ENOENT);
    cr_assert_eq(scitt_write_file_atomic("/nonexistent", "x", scitt_span_str("x"), 0600), -ENOENT);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    cr_assert_eq(system(path), 0);
}
