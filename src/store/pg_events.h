/*
 * pg_events.h: the PostgreSQL engine's event connection (pg_events.c),
 * behind scitt_store_wait_event and scitt_store_wake (store.h, "Several
 * processes, one log"). Used by pg.c only.
 */
#ifndef SCITT_SRC_STORE_PG_EVENTS_H
#define SCITT_SRC_STORE_PG_EVENTS_H

#include <stdint.h>

#include "pq.h"

typedef struct scitt_pg_events scitt_pg_events_t;

/* scitt_pg__events_new prepares the events of the database `conninfo`
 * names (borrowed: it must outlive the events); its connection is opened
 * by the first wait, so a process that never waits has none. */
int scitt_pg__events_new(scitt_pg_events_t **out, const char *conninfo);
void scitt_pg__events_free(scitt_pg_events_t *ev);

/* As scitt_store_wait_event and scitt_store_wake. */
int scitt_pg__events_wait(scitt_pg_events_t *ev, unsigned timeout_ms, unsigned *out_events, uint64_t *out_size);
void scitt_pg__events_wake(scitt_pg_events_t *ev);

/* Tests: breaks the event connection under libpq, as a network cut would. */
void scitt_pg__events_cut(scitt_pg_events_t *ev);

/* scitt_pg__connect (pg.c) opens a connection as the engine does
 * (timeouts, keepalives); NULL only when out of memory. */
PGconn *scitt_pg__connect(const char *conninfo);

#endif /* SCITT_SRC_STORE_PG_EVENTS_H */
