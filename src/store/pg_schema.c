/*
 * pg_schema.c: the PostgreSQL engine's schema and its migrations (plan
 * section 3). Migration N takes a database at version N - 1 to version N;
 * pg.c applies those above the stored version in one transaction under an
 * advisory transaction lock, so two scittds starting at once do not race.
 * Every statement here is fixed text: nothing is built from input.
 */
#include <stddef.h>

#include "pg.h"

static const char *const migrations[] = {
    /* 1: the log. */
    "CREATE TABLE IF NOT EXISTS scitt_meta (key text PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS scitt_log (id int PRIMARY KEY CHECK (id = 0), log_end bigint NOT NULL,"
    "  head_size bigint NOT NULL, writer_epoch bigint NOT NULL DEFAULT 0);"
    "INSERT INTO scitt_log (id, log_end, head_size) VALUES (0, 0, 0) ON CONFLICT (id) DO NOTHING;"
    "CREATE TABLE IF NOT EXISTS scitt_entries (leaf bigint PRIMARY KEY,"
    "  entry_hash bytea NOT NULL CHECK (length(entry_hash) = 32), stmt bytea NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS scitt_entries_hash ON scitt_entries (entry_hash);"
    "CREATE TABLE IF NOT EXISTS scitt_tiles (level smallint, idx bigint, PRIMARY KEY (level, idx),"
    "  hashes bytea NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0));"
    /* index_time: the head's time or, when the clock stepped back, the
     * latest before it, so it never goes backwards along the log and a
     * time maps to a leaf through one index probe. */
    "CREATE TABLE IF NOT EXISTS scitt_heads (size bigint PRIMARY KEY, root bytea NOT NULL CHECK (length(root) = 32),"
    "  time bigint NOT NULL, receipt_sig bytea NOT NULL, checkpoint bytea NOT NULL, index_time bigint NOT NULL);"
    "CREATE INDEX IF NOT EXISTS scitt_heads_time ON scitt_heads (index_time, size);"
    "CREATE TABLE IF NOT EXISTS scitt_index (key bigint, leaf bigint, PRIMARY KEY (key, leaf))"
    "  WITH (fillfactor = 100);"
    /* Index records of the latest batches, without an index: appending
     * costs a fraction of a btree insert per record. The writer's maintain
     * moves them into scitt_index, sorted, in large chunks; a leaf's
     * records are always all in one of the two tables. */
    "CREATE TABLE IF NOT EXISTS scitt_index_tail (key bigint NOT NULL, leaf bigint NOT NULL);"
    /* The commit's compare-and-swap: the batch must start at the log end
     * and its head (-1: none) lie in [stored head size, new log end]. */
    "CREATE OR REPLACE FUNCTION scitt_advance(first bigint, new_end bigint, head bigint, epoch bigint)"
    "  RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    "  UPDATE scitt_log SET log_end = new_end, head_size = greatest(head_size, head)"
    "    WHERE id = 0 AND log_end = first AND writer_epoch = epoch AND new_end >= first"
    "      AND (head < 0 OR (head >= head_size AND head <= new_end));"
    "  IF NOT FOUND THEN"
    "    RAISE EXCEPTION 'the batch does not extend the stored log' USING ERRCODE = 'SC001';"
    "  END IF; END $$;"
    /* Tiles grow in place; a tile that is not an extension of the stored
     * one aborts the batch. */
    "CREATE OR REPLACE FUNCTION scitt_put_tiles(levels smallint[], idxs bigint[], hs bytea[])"
    "  RETURNS void LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN"
    "  INSERT INTO scitt_tiles AS t (level, idx, hashes) SELECT * FROM unnest(levels, idxs, hs)"
    "    ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes"
    "    WHERE substr(EXCLUDED.hashes, 1, length(t.hashes)) = t.hashes;"
    "  GET DIAGNOSTICS n = ROW_COUNT;"
    "  IF n < coalesce(array_length(levels, 1), 0) THEN"
    "    RAISE EXCEPTION 'a tile does not extend the stored one' USING ERRCODE = 'SC002';"
    "  END IF; END $$;"
    /* The first leaf registered at or after time t (a batch's leaves
     * share its head's time), or the log end. */
    "CREATE OR REPLACE FUNCTION scitt_time_leaf(t bigint) RETURNS bigint LANGUAGE sql STABLE AS $$"
    "  SELECT coalesce((SELECT coalesce((SELECT max(p.size) FROM scitt_heads p WHERE p.size < h.size), 0)"
    "                   FROM (SELECT size FROM scitt_heads WHERE index_time >= t ORDER BY index_time, size LIMIT 1) h),"
    "                  (SELECT log_end FROM scitt_log WHERE id = 0)) $$;",
    /* 2: several processes, one log (issue 18, docs/PLAN-18-CLUSTER.md).
     * The sequencer lease, one row: its epoch (copied to
     * scitt_log.writer_epoch by each take), the holder as it describes
     * itself, its backend (renewals name it), and when it expires on the
     * database's clock. Nobody holds it yet. */
    "CREATE TABLE IF NOT EXISTS scitt_lease (id int PRIMARY KEY CHECK (id = 0), epoch bigint NOT NULL,"
    "  holder text NOT NULL, backend_pid int NOT NULL, until timestamptz NOT NULL);"
    "INSERT INTO scitt_lease (id, epoch, holder, backend_pid, until)"
    "  SELECT 0, writer_epoch, '', 0, '-infinity' FROM scitt_log WHERE id = 0 ON CONFLICT (id) DO NOTHING;"
    /* The hand-off queue: verified statements waiting for the lease
     * holder, keyed by entry hash (a statement queued twice is one row);
     * seq is the order they are taken in; keys are the statement's index
     * keys, 8 bytes each. */
    "CREATE TABLE IF NOT EXISTS scitt_queue (entry_hash bytea PRIMARY KEY CHECK (length(entry_hash) = 32),"
    "  seq bigserial UNIQUE, stmt bytea NOT NULL,"
    "  keys bytea NOT NULL CHECK (length(keys) % 8 = 0 AND length(keys) <= 32));",
    /* 3: key rotation (issue 21). The kid of the receipt key that signed
     * each head; empty for heads written before, which the log's first
     * receipt key (meta receipt_kid) signed. */
    ("ALTER TABLE scitt_heads ADD COLUMN IF NOT EXISTS receipt_kid bytea NOT NULL DEFAULT ''::bytea"
     "  CHECK (length(receipt_kid) IN (0, 32));"),
};

static int version_cap; /* tests: scitt_store__pg_schema_cap */

const char *scitt_pg__migration(int version)
{
    int n = (int)(sizeof(migrations) / sizeof(migrations[0]));
    return version >= 1 && version <= n ? migrations[version - 1] : NULL;
}

int scitt_pg__schema_version(void)
{
    int n = (int)(sizeof(migrations) / sizeof(migrations[0]));
    return version_cap > 0 && version_cap < n ? version_cap : n;
}

void scitt_store__pg_schema_cap(int version)
{
    version_cap = version;
}
