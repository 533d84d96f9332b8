/*
 * pg_events.c: the PostgreSQL engine's events (pg_events.h). One
 * connection of their own LISTENs on the channels pg.c notifies:
 * scitt_queue (queue_put, any process) and scitt_log (each commit, with
 * the new log end as payload). A wait polls that connection's socket and
 * an eventfd that scitt_store_wake writes from any thread.
 *
 * A connection lost (an error while reading it) makes that wait return
 * SCITT_EUNAVAIL; the next wait reconnects and LISTENs again and reports
 * SCITT_STORE_EVENT_LOST at once, since notifications sent meanwhile are
 * gone; while the database cannot be reached each wait spends its
 * timeout (still woken by a wake) and returns SCITT_EUNAVAIL, so a
 * caller's loop does not spin.
 */
#include "pg_events.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scitt/store.h"

struct scitt_pg_events {
    const char *conninfo;
    PGconn *pg;     /* NULL until the first wait */
    bool listening; /* on pg, which is up */
    bool lost;      /* the connection failed: the next one made reports LOST */
    int wake_fd;    /* an eventfd: nonzero while a wake is pending */
};

int scitt_pg__events_new(scitt_pg_events_t **out, const char *conninfo)
{
    scitt_pg_events_t *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        return SCITT_ENOMEM;
    }
    ev->conninfo = conninfo;
    ev->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ev->wake_fd < 0) {
        free(ev);
        return SCITT_EIO;
    }
    *out = ev;
    return 0;
}

void scitt_pg__events_free(scitt_pg_events_t *ev)
{
    if (ev != NULL) {
        PQfinish(ev->pg);
        close(ev->wake_fd);
        free(ev);
    }
}

void scitt_pg__events_wake(scitt_pg_events_t *ev)
{
    uint64_t one = 1;
    ssize_t n = write(ev->wake_fd, &one, sizeof(one)); /* fails only when the counter is full: woken anyway */
    (void)n;
}

void scitt_pg__events_cut(scitt_pg_events_t *ev)
{
    if (ev->pg != NULL) {
        shutdown(PQsocket(ev->pg), SHUT_RDWR);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* woken waits up to `ms` for a wake or, unless `fd` is -1, for the socket
 * `fd` to be readable; true when woken (the wake is consumed: every wake
 * sent so far is one). */
static bool woken(scitt_pg_events_t *ev, int fd, unsigned ms)
{
    struct pollfd p[2] = {{.fd = ev->wake_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
    if (n > 0 && (p[0].revents & POLLIN)) {
        uint64_t count;
        return read(ev->wake_fd, &count, sizeof(count)) == (ssize_t)sizeof(count);
    }
    return false;
}

/* listen_again connects (again) and LISTENs: 0, or SCITT_EUNAVAIL. */
static int listen_again(scitt_pg_events_t *ev)
{
    ev->listening = false;
    if (ev->pg == NULL) {
        ev->pg = scitt_pg__connect(ev->conninfo);
        if (ev->pg == NULL) {
            return SCITT_ENOMEM;
        }
    } else {
        PQreset(ev->pg);
    }
    if (PQstatus(ev->pg) != CONNECTION_OK) {
        return SCITT_EUNAVAIL;
    }
    PGresult *r = PQexec(ev->pg, "LISTEN scitt_queue; LISTEN scitt_log");
    ev->listening = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ev->listening ? 0 : SCITT_EUNAVAIL;
}

/* collect reads what arrived and adds its notifications to `*events`:
 * false when the connection failed. */
static bool collect(scitt_pg_events_t *ev, unsigned *events, uint64_t *size)
{
    if (!PQconsumeInput(ev->pg)) {
        return false;
    }
    PGnotify *n;
    while ((n = PQnotifies(ev->pg)) != NULL) {
        uint64_t end;
        if (strcmp(n->relname, "scitt_queue") == 0) {
            *events |= SCITT_STORE_EVENT_QUEUED;
        } else if (strcmp(n->relname, "scitt_log") == 0 && scitt_parse_u64(n->extra, strlen(n->extra), &end) == 0) {
            *events |= SCITT_STORE_EVENT_GREW;
            *size = end > *size ? end : *size;
        }
        PQfreemem(n);
    }
    return PQstatus(ev->pg) == CONNECTION_OK;
}

int scitt_pg__events_wait(scitt_pg_events_t *ev, unsigned timeout_ms, unsigned *out_events, uint64_t *out_size)
{
    *out_events = 0;
    *out_size = 0;
    if (!ev->listening || PQstatus(ev->pg) != CONNECTION_OK) {
        bool again = ev->pg != NULL;
        int rc = listen_again(ev);
        if (rc != 0) {
            ev->lost = ev->lost || again;
            (void)woken(ev, -1, timeout_ms);
            return rc;
        }
        if (ev->lost) {
            ev->lost = false;
            *out_events = SCITT_STORE_EVENT_LOST;
            return 0;
        }
    }
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        if (!collect(ev, out_events, out_size)) {
            ev->lost = true;
            ev->listening = false;
            return SCITT_EUNAVAIL;
        }
        uint64_t now = now_ms();
        if (*out_events != 0 || now >= deadline || woken(ev, PQsocket(ev->pg), (unsigned)(deadline - now))) {
            return 0;
        }
    }
}
