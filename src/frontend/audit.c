/*
 * audit.c: GET /entries?iss=&sub=&kid=&artifact=&since=&until=&limit=&cursor=
 * (issue 10), the entries matching every given filter, oldest first, a page
 * at a time (query.h has the parameters, src/cose/audit.c the encodings).
 *
 * The store's index answers with candidate leaves (64-bit keys, so a
 * candidate may match on the key alone); each candidate is confirmed by
 * decoding its stored entry and comparing the requested values exactly.
 * The page's fields are the confirmed entry's own, so they cannot disagree
 * with the filter.
 *
 * Work per request is bounded: at most `limit` entries, at most
 * MAX_EXAMINE candidates decoded and MAX_STORE_CALLS index calls, and at
 * most MAX_AUDIT_BODY bytes of answer; hitting a bound ends the page early
 * with a `next` cursor (a page may be short, even empty, and still have a
 * next). A page of one entry larger than MAX_AUDIT_BODY is still answered
 * (the statement size limit bounds it), so every entry can be listed.
 * Confirming decodes up to 1000+ statements of up to
 * --max-statement-bytes each, so the query runs on libuv's pool in one read
 * transaction that begins and ends inside the job, never across loop
 * iterations.
 */
#include <stdlib.h>

#include "internal.h"
#include "query.h"
#include "scitt/cose.h"

#define MAX_EXAMINE     2048u
#define MAX_STORE_CALLS 64u
#define MAX_AUDIT_BODY  (8u * 1024 * 1024)

typedef struct audit_job {
    scitt_h2_job_t super;
    scitt_query_t q;
    bool json;
} audit_job_t;

/* matches confirms that the statement's fields equal every filter. */
static bool matches(const scitt_query_t *q, const scitt_cose_fields_t *f)
{
    return (!q->has_iss || scitt_span_eq(f->iss, scitt_span(q->iss, q->iss_len))) &&
           (!q->has_sub || scitt_span_eq(f->sub, scitt_span(q->sub, q->sub_len))) &&
           (!q->has_kid || scitt_span_eq(f->key_id, scitt_span(q->kid, q->kid_len))) &&
           (!q->has_artifact || scitt_span_eq(f->artifact, scitt_span(q->artifact, q->artifact_len)));
}

/* page_t collects one page inside the read transaction: `fields` must stay
 * in place (their spans may point into themselves). */
typedef struct page {
    scitt_cose_audit_entry_t *entries;
    scitt_cose_fields_t *fields;
    size_t num;
    size_t examined;
    uint64_t resume; /* UINT64_MAX: the query is done */
} page_t;

/* confirm examines candidate `leaf`: appends it to the page when it
 * matches. 0 or a store error. */
static int confirm(scitt_store_t *st, scitt_store_read_t *rd, const scitt_query_t *q, page_t *pg, uint64_t leaf)
{
    scitt_span_t raw;
    scitt_cose_sign1_t s1;
    int rc = scitt_store_get_entry(rd, leaf, &raw);
    if (rc != 0) {
        return rc == SCITT_ENOTFOUND ? SCITT_ECORRUPT : rc; /* the index named it */
    }
    pg->examined++;
    if (scitt_cose_sign1_decode_stored(&s1, raw.base, raw.len) != 0) {
        return 0; /* stored entries decode; skip rather than fail the page */
    }
    scitt_cose_fields_t *f = &pg->fields[pg->num];
    scitt_cose_fields(&s1, f);
    if (!matches(q, f)) {
        return 0;
    }
    scitt_store_head_t head;
    rc = scitt_store_get_head_from(rd, leaf + 1, &head);
    if (rc != 0) {
        return rc == SCITT_ENOTFOUND ? SCITT_ECORRUPT : rc;
    }
    if ((q->has_since && head.time < q->since) || (q->has_until && head.time >= q->until)) {
        return 0;
    }
    scitt_cose_audit_entry_t *e = &pg->entries[pg->num++];
    scitt_store_entry_hash(st, e->id, raw.base, raw.len);
    e->index = leaf;
    e->time = head.time < 0 ? 0 : head.time;
    e->iss = f->iss;
    e->sub = f->sub;
    e->key_id = f->key_id;
    e->has_content_type = f->has_content_type;
    e->content_type = f->content_type;
    return 0;
}

static size_t index_keys(const scitt_query_t *q, uint64_t keys[SCITT_STORE_QUERY_MAX_KEYS])
{
    /* The query parser refuses empty values, so a filter given is never empty. */
    scitt_store_index_values_t v = {
        .iss = q->has_iss ? scitt_span(q->iss, q->iss_len) : scitt_span(NULL, 0),
        .kid = q->has_kid ? scitt_span(q->kid, q->kid_len) : scitt_span(NULL, 0),
        .sub = q->has_sub ? scitt_span(q->sub, q->sub_len) : scitt_span(NULL, 0),
        .artifact = q->has_artifact ? scitt_span(q->artifact, q->artifact_len) : scitt_span(NULL, 0),
    };
    return scitt_store_index_keys(&v, keys);
}

/* fill_page runs the query in `rd` until the page is full, the query is
 * done, or a work bound is hit. */
static int fill_page(scitt_store_t *st, scitt_store_read_t *rd, const scitt_query_t *q, page_t *pg)
{
    uint64_t keys[SCITT_STORE_QUERY_MAX_KEYS], cand[SCITT_QUERY_LIMIT_MAX];
    scitt_store_query_t sq = {.keys = keys, .since = q->has_since ? q->since : 0, .until = q->until, .from = q->from};
    sq.num_keys = index_keys(q, keys);
    pg->resume = q->from;
    if (q->has_until && q->until == 0) {
        pg->resume = UINT64_MAX; /* before the epoch: nothing (the store reads 0 as unbounded) */
        return 0;
    }
    if (!q->has_until) {
        sq.until = 0;
    }
    for (unsigned call = 0; call < MAX_STORE_CALLS; call++) {
        size_t want = q->limit - pg->num, num = 0;
        uint64_t next = UINT64_MAX;
        int rc = scitt_store_query(rd, &sq, cand, want, &num, &next);
        if (rc != 0) {
            return rc;
        }
        for (size_t i = 0; i < num; i++) {
            rc = confirm(st, rd, q, pg, cand[i]);
            if (rc != 0) {
                return rc;
            }
            bool last = i + 1 == num && next == UINT64_MAX;
            if (pg->num == q->limit || pg->examined >= MAX_EXAMINE) {
                pg->resume = last ? UINT64_MAX : cand[i] + 1;
                return 0;
            }
        }
        pg->resume = next;
        if (next == UINT64_MAX) {
            return 0;
        }
        sq.from = next;
    }
    return 0;
}

static void work_audit(scitt_h2_job_t *job)
{
    audit_job_t *j = scitt_container_of(job, audit_job_t, super);
    scitt_store_t *st = job->fe->cfg.store;
    page_t pg = {0};
    pg.entries = calloc(j->q.limit, sizeof(*pg.entries));
    pg.fields = calloc(j->q.limit, sizeof(*pg.fields));
    scitt_store_read_t *rd = NULL;
    job->rc = pg.entries == NULL || pg.fields == NULL ? SCITT_ENOMEM : scitt_store_read_begin(st, &rd);
    if (job->rc == 0) {
        job->rc = fill_page(st, rd, &j->q, &pg);
    }
    if (job->rc == 0) {
        /* Encode while the transaction is open: the spans point into it. */
        job->body.max = MAX_AUDIT_BODY;
        for (;;) {
            char cursor[SCITT_QUERY_CURSOR_LEN + 1];
            const char *next = NULL;
            if (pg.resume != UINT64_MAX) {
                scitt_query_cursor_encode(cursor, pg.resume);
                next = cursor;
            }
            job->rc = j->json ? scitt_cose_audit_json(&job->body, pg.entries, pg.num, next)
                              : scitt_cose_audit_encode(&job->body, pg.entries, pg.num, next);
            if (job->rc != SCITT_ETOOBIG || job->body.max == SIZE_MAX) {
                break;
            }
            if (pg.num <= 1) {
                /* One entry is answered whatever its size: a statement is at
                 * most --max-statement-bytes, six times that as escaped JSON. */
                job->body.max = SIZE_MAX;
                continue;
            }
            /* Registrants choose iss and sub: entries this large end the page
             * early, and the next one resumes at the first entry left out. */
            pg.num /= 2;
            pg.resume = pg.entries[pg.num].index;
        }
    }
    if (rd != NULL) {
        scitt_store_read_end(rd);
    }
    free(pg.entries);
    free(pg.fields);
}

static void answer_audit(scitt_h2_job_t *job, scitt_h2_stream_t *s, int rc)
{
    audit_job_t *j = scitt_container_of(job, audit_job_t, super);
    scitt_h2_hdr_t h = {"cache-control", "no-store"};
    if (rc == SCITT_ESHUTDOWN) {
        scitt_h2__respond_busy(s);
        return;
    }
    if (rc != 0) {
        scitt_h2__respond_stored_error(s, rc);
        return;
    }
    scitt_h2__respond(s, 200, j->json ? "application/json" : "application/cbor", &job->body, &h, 1);
}

void scitt_h2__get_audit(scitt_h2_stream_t *s, const char *qs, size_t len)
{
    scitt_frontend_t *fe = s->conn->fe;
    char detail[192];
    if (fe->cfg.keys == NULL) {
        /* A mirror's store holds no index records. */
        scitt_h2__respond_problem(s, 501, "Not Implemented", "this mirror keeps no index; query the log itself", NULL,
                                  0);
        return;
    }
    audit_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        scitt_h2__respond_problem(s, 500, "Internal Server Error", scitt_strerror(SCITT_ENOMEM), NULL, 0);
        return;
    }
    if (scitt_query_parse(&j->q, qs, len, detail, sizeof(detail)) != 0) {
        free(j);
        scitt_h2__respond_problem(s, 400, "Bad Request", detail, NULL, 0);
        return;
    }
    j->json = scitt_h2__accepts(s, "application/json");
    j->super.run = work_audit;
    j->super.answer = answer_audit;
    if (scitt_h2__job_start(s, &j->super) != 0) {
        free(j);
        scitt_h2__respond_busy(s);
    }
}
