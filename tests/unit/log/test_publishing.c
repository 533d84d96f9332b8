/*
 * test_publishing.c: the log reader's publication (issue 21): once a
 * publisher publishes, /checkpoint serves what it published, never
 * backwards and never ahead of a commit; several advance hooks.
 */
#include <criterion/criterion.h>

#include "scitt/log.h"

static scitt_log_reader_t *new_reader(void)
{
    scitt_log_config_t cfg = {.origin = "example.com/log"};
    scitt_log_reader_t *r;
    cr_assert_eq(scitt_log_new(&r, &cfg), 0);
    return r;
}

/* served returns the tree size scitt_log_try_checkpoint serves and checks
 * its bytes are `want`. */
static uint64_t served(scitt_log_reader_t *r, const char *want)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    uint64_t size = 0;
    cr_assert_eq(scitt_log_try_checkpoint(r, &b, &size), 0);
    cr_expect(scitt_span_eq(scitt_buf_span(&b), scitt_span_str(want)), "served %.*s, want %s", (int)b.len,
              (const char *)b.base, want);
    scitt_buf_cleanup(&b);
    return size;
}

Test(publishing, off_by_default)
{
    scitt_log_reader_t *r = new_reader();
    cr_assert_eq(scitt_log_advance_to(r, 5, scitt_span_str("cp5")), 0);
    cr_expect_eq(served(r, "cp5"), 5);
    cr_assert_eq(scitt_log_publish(r, 5, scitt_span_str("cp5+cosig")), 0);
    cr_expect_eq(served(r, "cp5"), 5, "without publishing, the head is served");
    scitt_log_free(r);
}

Test(publishing, pinned_then_published_never_backwards)
{
    scitt_log_reader_t *r = new_reader();
    scitt_log_publishing(r);
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    uint64_t size;
    cr_expect_eq(scitt_log_try_checkpoint(r, &b, &size), SCITT_EAGAIN, "no head yet");
    cr_assert_eq(scitt_log_advance_to(r, 10, scitt_span_str("cp10")), 0);
    cr_expect_eq(served(r, "cp10"), 10, "the first head served is pinned");
    cr_assert_eq(scitt_log_advance_to(r, 20, scitt_span_str("cp20")), 0);
    cr_expect_eq(served(r, "cp10"), 10, "a commit alone does not move what is served");
    cr_expect_eq(scitt_log_publish(r, 8, scitt_span_str("cp8+w")), SCITT_ERANGE, "an older round is refused");
    cr_expect_eq(served(r, "cp10"), 10);
    cr_assert_eq(scitt_log_publish(r, 20, scitt_span_str("cp20+w1")), 0);
    cr_expect_eq(served(r, "cp20+w1"), 20);
    cr_assert_eq(scitt_log_publish(r, 20, scitt_span_str("cp20+w1+w2")), 0);
    cr_expect_eq(served(r, "cp20+w1+w2"), 20, "the same size with more cosignatures");
    cr_assert_eq(scitt_log_head(r, &b, &size), 0);
    cr_expect_eq(size, 20);
    cr_expect(scitt_span_eq(scitt_buf_span(&b), scitt_span_str("cp20")), "the head is the commit's own");
    scitt_buf_cleanup(&b);
    scitt_log_free(r);
}

static int calls[3];

static void hook(void *ctx, uint64_t size)
{
    (void)size;
    calls[(int *)ctx - calls]++;
}

Test(publishing, advance_hooks)
{
    scitt_log_reader_t *r = new_reader();
    cr_assert_eq(scitt_log_on_advance(r, hook, &calls[0]), 0);
    cr_assert_eq(scitt_log_on_advance(r, hook, &calls[1]), 0);
    cr_assert_eq(scitt_log_advance_to(r, 1, scitt_span_str("cp1")), 0);
    cr_expect(calls[0] == 1 && calls[1] == 1, "both hooks run");
    cr_assert_eq(scitt_log_on_advance(r, NULL, &calls[0]), 0);
    cr_assert_eq(scitt_log_advance_to(r, 2, scitt_span_str("cp2")), 0);
    cr_expect(calls[0] == 1 && calls[1] == 2, "the removed one no more");
    cr_assert_eq(scitt_log_advance_to(r, 2, scitt_span_str("cp2")), 0);
    cr_expect_eq(calls[1], 2, "no hook when the head does not move");
    for (int i = 1; i < SCITT_LOG_MAX_ADVANCE_HOOKS; i++) {
        cr_assert_eq(scitt_log_on_advance(r, hook, &calls[2]), 0);
    }
    cr_expect_eq(scitt_log_on_advance(r, hook, &calls[2]), SCITT_EFULL);
    scitt_log_free(r);
}
