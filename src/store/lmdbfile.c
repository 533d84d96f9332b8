/*
 * lmdbfile.c: does data.mdb hold every page LMDB will read? (lmdbfile.h)
 *
 * LMDB reads its two meta pages with read(2) but every other page through
 * its memory map: a page past the end of a truncated file is SIGBUS on
 * first touch, not an error. So lmdb_open asks here first, and this module
 * reads the file with pread only.
 *
 * The file can be shorter than the (mm_last_pg + 1) pages the newest meta
 * page counts, and still be sound: a write transaction counts in
 * mm_last_pg every page it allocated, but the pages it freed again before
 * committing (loose pages, overflow pages freed while still dirty) go to
 * the free DB and are never written. Every page up to mm_last_pg is either
 * in a tree or in one free DB record (LMDB's mdb.c says so), and LMDB never
 * reads a free page (it writes a reused one with pwrite, which grows the
 * file). So a short file is sound when every missing page, file_pages ..
 * mm_last_pg, is in the free DB; any other missing page is truncation.
 *
 * LMDB 0.9's on-disk format (64-bit pgno_t, host byte order), as mdb.c
 * defines it:
 *  - page header (16 bytes): pgno u64, pad u16, flags u16, then lower u16
 *    and upper u16, or on an overflow page the number of pages u32 at 12;
 *    flags P_BRANCH 1, P_LEAF 2, P_OVERFLOW 4, P_META 8.
 *  - meta page (pages 0 and 1): after the header, magic u32 0xBEEFC0DE,
 *    version u32 1, address u64, map size u64, then two 48-byte MDB_db
 *    records (free DB, main DB: pad u32 (the page size in the free DB's),
 *    flags u16, depth u16, four u64 counts, root u64; P_INVALID (all ones)
 *    for an empty tree), then mm_last_pg u64 and mm_txnid u64. The newest
 *    is the one with the larger txnid (meta 0 on a tie).
 *  - branch and leaf pages: (lower - 16) / 2 node offsets (u16) at 16;
 *    a node is lo u16, hi u16, flags u16, ksize u16, the key, the data. A
 *    branch node's child is lo | hi << 16 | flags << 32; a leaf node's data
 *    size is lo | hi << 16, and with F_BIGDATA (1) its data is the u64 pgno
 *    of the overflow pages whose data starts after their 16-byte header.
 *  - a free DB record: key the txnid, data an ID list: count u64, then
 *    count page numbers u64.
 *
 * The walk is bounded: at most MAX_MISSING missing pages (a bitmap of them),
 * a tree at most MAX_DEPTH deep, and at most one read of each page of the
 * file (more means a cycle or shared pages: malformed).
 */
#include "lmdbfile.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* page and node flags */
#define P_BRANCH   0x01
#define P_LEAF     0x02
#define P_OVERFLOW 0x04
#define P_META     0x08
#define P_KIND     0x6f /* branch, leaf, overflow, meta, leaf2, sub-page: exactly one is set */
#define F_BIGDATA  0x01

enum { PAGE_HDR = 16, NODE_HDR = 8, MAX_DEPTH = 32 /* LMDB's own cursor stack depth */ };

/* offsets in a meta page */
enum {
    META_MAGIC = PAGE_HDR,
    META_VERSION = PAGE_HDR + 4,
    META_PSIZE = PAGE_HDR + 24,          /* mm_dbs[0].md_pad */
    META_FREE_ROOT = PAGE_HDR + 24 + 40, /* mm_dbs[0].md_root */
    META_LAST_PG = PAGE_HDR + 120,
    META_TXNID = PAGE_HDR + 128,
    META_LEN = PAGE_HDR + 136,
};

#define MDB_MAGIC        0xBEEFC0DEu
#define MDB_DATA_VERSION 1u
#define P_INVALID        UINT64_MAX
#define MAX_MISSING      ((uint64_t)1 << 24) /* pages: 64 GiB of 4 KiB pages, a 2 MiB bitmap */

struct meta {
    uint32_t psize;
    uint64_t free_root, last_pg, txnid;
};

struct walk {
    int fd;
    uint32_t psize;
    uint64_t file_pages; /* whole pages in the file */
    uint64_t last_pg;
    uint8_t *listed; /* bit i: page file_pages + i is in the free DB */
    uint64_t nlisted;
    uint64_t budget; /* pages the walk may still read */
};

static uint16_t ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
    return off <= (uint64_t)INT64_MAX - len && pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* read_meta: the meta page at `off`, if it is one. */
static bool read_meta(int fd, uint64_t off, struct meta *m)
{
    uint8_t b[META_LEN];
    if (!read_at(fd, b, sizeof(b), off) || (ld16(b + 10) & P_KIND) != P_META || ld32(b + META_MAGIC) != MDB_MAGIC ||
        ld32(b + META_VERSION) != MDB_DATA_VERSION) {
        return false;
    }
    m->psize = ld32(b + META_PSIZE);
    m->free_root = ld64(b + META_FREE_ROOT);
    m->last_pg = ld64(b + META_LAST_PG);
    m->txnid = ld64(b + META_TXNID);
    return true;
}

/* take: spend `n` pages of the walk's budget. */
static bool take(struct walk *w, uint64_t n)
{
    if (n > w->budget) {
        return false;
    }
    w->budget -= n;
    return true;
}

/* in_file: pages pgno .. pgno + n - 1 are tree pages inside the file. */
static bool in_file(const struct walk *w, uint64_t pgno, uint64_t n)
{
    return pgno >= 2 && pgno < w->file_pages && n <= w->file_pages - pgno;
}

/* mark_ids: the ID list of `size` bytes at file offset `off`; its pages past
 * the end of the file are marked listed. */
static bool mark_ids(struct walk *w, uint64_t off, uint64_t size)
{
    uint8_t b[4096];
    if (size < 8 || size % 8 != 0 || !read_at(w->fd, b, 8, off)) {
        return false;
    }
    uint64_t left = ld64(b);
    if (left > size / 8 - 1) {
        return false;
    }
    for (off += 8; left > 0;) {
        size_t n = left < sizeof(b) / 8 ? (size_t)left : sizeof(b) / 8;
        if (!read_at(w->fd, b, n * 8, off)) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t pg = ld64(b + i * 8);
            if (pg >= w->file_pages && pg <= w->last_pg) {
                uint64_t bit = pg - w->file_pages;
                uint8_t mask = (uint8_t)(1u << (bit % 8));
                w->nlisted += (w->listed[bit / 8] & mask) == 0;
                w->listed[bit / 8] |= mask;
            }
        }
        left -= n;
        off += n * 8;
    }
    return true;
}

/* overflow_data: the file offset of the `size` bytes of data on the
 * overflow pages starting at `pgno`, or 0 when they are not sound. */
static uint64_t overflow_data(struct walk *w, uint64_t pgno, uint64_t size)
{
    uint8_t h[PAGE_HDR];
    if (!in_file(w, pgno, 1) || !read_at(w->fd, h, sizeof(h), pgno * w->psize)) {
        return 0;
    }
    uint64_t pages = ld32(h + 12);
    if (ld64(h) != pgno || (ld16(h + 10) & P_KIND) != P_OVERFLOW || pages == 0 || !in_file(w, pgno, pages) ||
        size > pages * w->psize - PAGE_HDR || !take(w, pages)) {
        return 0;
    }
    return pgno * w->psize + PAGE_HDR;
}

static bool walk(struct walk *w, uint64_t pgno, int depth);

/* walk_nodes: the nodes of branch or leaf page `pgno`, read into `pg`. */
static bool walk_nodes(struct walk *w, uint64_t pgno, const uint8_t *pg, int depth)
{
    unsigned kind = ld16(pg + 10) & P_KIND, lower = ld16(pg + 12), upper = ld16(pg + 14);
    if ((kind != P_BRANCH && kind != P_LEAF) || lower < PAGE_HDR || (lower - PAGE_HDR) % 2 != 0 || lower > upper ||
        upper > w->psize || (kind == P_BRANCH && lower == PAGE_HDR)) {
        return false;
    }
    for (unsigned i = 0; i < (lower - PAGE_HDR) / 2; i++) {
        size_t at = ld16(pg + PAGE_HDR + 2 * i);
        if (at < upper || at + NODE_HDR > w->psize) {
            return false;
        }
        const uint8_t *node = pg + at;
        uint64_t lo = ld16(node), hi = ld16(node + 2), flags = ld16(node + 4);
        size_t data_at = at + NODE_HDR + ld16(node + 6);
        if (data_at > w->psize) {
            return false;
        }
        if (kind == P_BRANCH) {
            if (!walk(w, lo | hi << 16 | flags << 32, depth + 1)) {
                return false;
            }
            continue;
        }
        uint64_t size = lo | hi << 16, off;
        if (flags == F_BIGDATA && data_at + 8 <= w->psize) {
            off = overflow_data(w, ld64(pg + data_at), size);
        } else if (flags == 0 && size <= w->psize - data_at) {
            off = pgno * w->psize + data_at;
        } else {
            return false;
        }
        if (off == 0 || !mark_ids(w, off, size)) {
            return false;
        }
    }
    return true;
}

/* walk: the free DB's subtree at `pgno`. */
static bool walk(struct walk *w, uint64_t pgno, int depth)
{
    if (depth >= MAX_DEPTH || !in_file(w, pgno, 1) || !take(w, 1)) {
        return false;
    }
    uint8_t *pg = malloc(w->psize);
    bool ok = pg != NULL && read_at(w->fd, pg, w->psize, pgno * w->psize) && ld64(pg) == pgno &&
              walk_nodes(w, pgno, pg, depth);
    free(pg);
    return ok;
}

static bool check_fd(int fd)
{
    struct meta m0, m1;
    struct stat sb;
    if (!read_meta(fd, 0, &m0) || m0.psize < 512 || m0.psize > 65536 || (m0.psize & (m0.psize - 1)) != 0 ||
        !read_meta(fd, m0.psize, &m1) || fstat(fd, &sb) != 0) {
        return false;
    }
    const struct meta *m = m0.txnid < m1.txnid ? &m1 : &m0;
    struct walk w = {.fd = fd, .psize = m0.psize, .file_pages = (uint64_t)sb.st_size / m0.psize, .last_pg = m->last_pg};
    if (w.file_pages > w.last_pg) {
        return true;
    }
    uint64_t missing = w.last_pg - w.file_pages + 1;
    if (w.file_pages < 2 || missing > MAX_MISSING || m->free_root == P_INVALID) {
        return false;
    }
    w.listed = calloc(missing / 8 + 1, 1);
    w.budget = w.file_pages;
    bool ok = w.listed != NULL && walk(&w, m->free_root, 0) && w.nlisted == missing;
    free(w.listed);
    return ok;
}

bool scitt_store__lmdbfile_complete(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = check_fd(fd);
    close(fd);
    return ok;
}
