/*
 * test_accept.c: the listener goes on accepting after a connection could
 * not be set up (issue 15 item 3). The front end's per-connection
 * allocator fails; the connection must be accepted and closed at once,
 * counted, and the next connection served as usual.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "internal.h"
#include "testutil.h"

static uv_loop_t loop;
static scitt_frontend_t *fe;
static tu_failmem_t failmem;
static uint16_t port;

static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    tu_failmem_init(&failmem, 0);
    scitt_frontend_config_t cfg = {
        .vkey_line = "test+00000000+AQ==",
        .origin = "test",
        .max_statement_bytes = 1 << 20,
        .max_connections = 100,
        .max_header_bytes = 16384,
        .max_streams = 100,
        .register_wait_ms = 1000,
        .idle_timeout_ms = 60000,
        .request_timeout_ms = 30000,
        .log_level = SCITT_LOG_ERROR,
        .conn_mem = &failmem.mem,
    };
    const char *why = NULL;
    cr_assert_eq(scitt_frontend_new(&fe, &loop, &cfg, &why), 0, "%s", why);
    cr_assert_eq(scitt_frontend_listen(fe, "127.0.0.1", 0, &why), 0, "%s", why);
    struct sockaddr_in sa;
    int len = sizeof(sa);
    cr_assert_eq(uv_tcp_getsockname(&fe->listener, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
}

static void on_done(void *ctx)
{
    *(bool *)ctx = true;
}

static void teardown(void)
{
    bool done = false;
    scitt_frontend_shutdown(fe, on_done, &done);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(done);
    scitt_frontend_free(fe);
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0); /* the kernel's backlog completes it */
    return fd;
}

/* first_read runs the loop until `fd` reads something or its end (up to
 * 10 s): the byte count of the first read, 0 at end of stream, -1 when
 * nothing came. */
static ssize_t first_read(int fd, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 1000; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n >= 0) {
            return n;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return 0; /* a reset counts as closed */
        }
        usleep(10000);
    }
    return -1;
}

/* served checks that a new connection is served: after the HTTP/2 client
 * preface (the server waits for a connection's first bytes to tell HTTP/2
 * from HTTP/1.1), the server's SETTINGS frame. */
static void served(void)
{
    int fd = dial();
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    cr_assert_eq(send(fd, preface, sizeof(preface) - 1, 0), (ssize_t)sizeof(preface) - 1);
    uint8_t buf[256];
    ssize_t n = first_read(fd, buf, sizeof(buf));
    cr_assert_geq(n, 9, "no server preface on a new connection (read %zd)", n);
    cr_assert_eq(buf[3], 0x4, "the first frame is not SETTINGS");
    close(fd);
}

Test(frontend_accept, failed_setup_is_closed_and_accepting_goes_on, .init = setup, .fini = teardown)
{
    int fd = dial();
    uint8_t buf[64];
    cr_assert_eq(first_read(fd, buf, sizeof(buf)), 0, "a connection that could not be set up is not closed");
    close(fd);
    cr_assert_eq(fe->metrics.connections_failed, 1);
    cr_assert_eq(fe->metrics.connections_total, 0);

    failmem.budget = 1 << 30; /* memory is back */
    served();
    cr_assert_eq(fe->metrics.connections_total, 1);

    scitt_buf_t m;
    scitt_buf_init(&m, NULL, 0);
    cr_assert_eq(scitt_h2__metrics_render(fe, &m), 0);
    cr_assert(memmem(m.base, m.len, "scittd_connections_failed_total 1\n", 34) != NULL, "not in /metrics");
    scitt_buf_cleanup(&m);
}

/* Several failures at once: one waits in libuv while the previous one's
 * handle closes; every one is closed and accepting goes on. */
Test(frontend_accept, burst_of_failures, .init = setup, .fini = teardown)
{
    enum { N = 6 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = dial();
    }
    uint8_t buf[64];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(first_read(fds[i], buf, sizeof(buf)), 0, "connection %d is not closed", i);
        close(fds[i]);
    }
    cr_assert_eq(fe->metrics.connections_failed, N);
    failmem.budget = 1 << 30;
    served();
}

/* Shutting down while a refused connection's handle is still closing. */
Test(frontend_accept, shutdown_while_refusing, .init = setup, .fini = teardown)
{
    int a = dial(), b = dial();
    for (int i = 0; i < 500 && fe->metrics.connections_failed == 0; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    cr_assert_eq(fe->metrics.connections_failed, 2);
    cr_assert(uv_is_closing((uv_handle_t *)&fe->refuse), "the second refusal's handle is still closing");
    scitt_frontend_stop_accepting(fe); /* teardown checks that every handle closes */
    close(a);
    close(b);
}
