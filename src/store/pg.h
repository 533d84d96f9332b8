/*
 * pg.h: shared by pg.c and pg_schema.c only (the PostgreSQL engine).
 */
#ifndef SCITT_SRC_STORE_PG_H
#define SCITT_SRC_STORE_PG_H

/* scitt_pg__schema_version: the newest schema version this build knows.
 * scitt_pg__migration: the statements that take a database from version
 * `version` - 1 to `version` (NULL outside 1..scitt_pg__schema_version()). */
int scitt_pg__schema_version(void);
const char *scitt_pg__migration(int version);

#endif /* SCITT_SRC_STORE_PG_H */
