/*
 * fault.c: the fault-injecting store wrapper (fault.h), tests only.
 *
 * The wrapper owns a copy of the engine's table with four entries
 * replaced; the store's `ops` points at that copy, which is the first
 * member of scitt_store_fault_t, so each replacement finds its script from
 * the handle it is given. The engine never looks at `ops` itself.
 */
#include <pthread.h>
#include <stdlib.h>

#include "engine.h"
#include "fault.h"

struct scitt_store_fault {
    scitt_store_ops_t ops; /* first: st->ops points here */
    const scitt_store_ops_t *inner;
    pthread_mutex_t lock;
    int commit_rc, maintain_rc, read_rc;
    bool after_write;
    unsigned commit_count, maintain_count;
    scitt_store_fault_stats_t stats;
};

static scitt_store_fault_t *of(const scitt_store_t *st)
{
    return (scitt_store_fault_t *)(void *)st->ops;
}

static int f_commit(scitt_store_t *st, const scitt_store_batch_t *b)
{
    scitt_store_fault_t *f = of(st);
    pthread_mutex_lock(&f->lock);
    int rc = f->commit_count > 0 ? f->commit_rc : 0;
    bool after = f->after_write;
    f->commit_count -= f->commit_count > 0;
    f->stats.commits++;
    f->stats.commits_failed += rc != 0;
    pthread_mutex_unlock(&f->lock);
    if (rc != 0 && !after) {
        return rc;
    }
    int inner_rc = f->inner->commit(st, b);
    return inner_rc != 0 ? inner_rc : rc;
}

static int f_maintain(scitt_store_t *st)
{
    scitt_store_fault_t *f = of(st);
    pthread_mutex_lock(&f->lock);
    int rc = f->maintain_count > 0 ? f->maintain_rc : 0;
    f->maintain_count -= f->maintain_count > 0;
    f->stats.maintains++;
    f->stats.maintains_failed += rc != 0;
    pthread_mutex_unlock(&f->lock);
    return rc != 0 ? rc : f->inner->maintain(st);
}

static int f_read_begin(scitt_store_t *st, scitt_store_read_t **out)
{
    scitt_store_fault_t *f = of(st);
    pthread_mutex_lock(&f->lock);
    int rc = f->read_rc;
    pthread_mutex_unlock(&f->lock);
    return rc != 0 ? rc : f->inner->read_begin(st, out);
}

static void f_stats(scitt_store_t *st, scitt_store_stats_t *out)
{
    scitt_store_fault_t *f = of(st);
    f->inner->stats(st, out);
    pthread_mutex_lock(&f->lock);
    out->available = out->available && f->read_rc == 0;
    pthread_mutex_unlock(&f->lock);
}

static void f_close(scitt_store_t *st)
{
    scitt_store_fault_t *f = of(st);
    st->ops = f->inner;
    pthread_mutex_destroy(&f->lock);
    free(f);
    st->ops->close(st);
}

int scitt_store_fault_wrap(scitt_store_t *st, scitt_store_fault_t **out)
{
    scitt_store_fault_t *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return SCITT_ENOMEM;
    }
    f->inner = st->ops;
    f->ops = *st->ops;
    f->ops.commit = f_commit;
    f->ops.maintain = f_maintain;
    f->ops.read_begin = f_read_begin;
    f->ops.stats = f_stats;
    f->ops.close = f_close;
    pthread_mutex_init(&f->lock, NULL);
    st->ops = &f->ops;
    *out = f;
    return 0;
}

void scitt_store_fault_commit(scitt_store_fault_t *f, int rc, bool after_write, unsigned count)
{
    pthread_mutex_lock(&f->lock);
    f->commit_rc = rc;
    f->after_write = after_write;
    f->commit_count = count;
    pthread_mutex_unlock(&f->lock);
}

void scitt_store_fault_maintain(scitt_store_fault_t *f, int rc, unsigned count)
{
    pthread_mutex_lock(&f->lock);
    f->maintain_rc = rc;
    f->maintain_count = count;
    pthread_mutex_unlock(&f->lock);
}

void scitt_store_fault_reads(scitt_store_fault_t *f, int rc)
{
    pthread_mutex_lock(&f->lock);
    f->read_rc = rc;
    pthread_mutex_unlock(&f->lock);
}

void scitt_store_fault_stats(scitt_store_fault_t *f, scitt_store_fault_stats_t *out)
{
    pthread_mutex_lock(&f->lock);
    *out = f->stats;
    pthread_mutex_unlock(&f->lock);
}
