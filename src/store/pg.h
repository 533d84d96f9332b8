/*
 * pg.h: shared by pg.c and pg_schema.c only (the PostgreSQL engine), and
 * the engine's test hooks.
 */
#ifndef SCITT_SRC_STORE_PG_H
#define SCITT_SRC_STORE_PG_H

/* scitt_pg__schema_version: the newest schema version this build knows.
 * scitt_pg__migration: the statements that take a database from version
 * `version` - 1 to `version` (NULL outside 1..scitt_pg__schema_version()). */
int scitt_pg__schema_version(void);
const char *scitt_pg__migration(int version);

/* Tests: the next commit of `st` (a PostgreSQL store) loses its
 * connection just after COMMIT succeeded, as if the reply never came. */
struct scitt_store;
void scitt_store__pg_lose_commit_reply(struct scitt_store *st);

/* Tests: stores opened from now on migrate up to schema `version` only
 * (0: this build's newest), to make a database of an older schema. */
void scitt_store__pg_schema_cap(int version);

/* Tests: breaks the event connection of `st` (a PostgreSQL store) under
 * libpq, as a network cut would (pg_events.h). */
void scitt_store__pg_cut_events(struct scitt_store *st);

#endif /* SCITT_SRC_STORE_PG_H */
