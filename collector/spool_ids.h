// SPDX-License-Identifier: MIT
/*
 * spool_ids: the crash ids of the newest records, kept in memory instead of in the LMDB id index.
 *
 * Why: the id index is keyed by random UUIDs, so every put inserted into a random leaf of a B-tree
 * that, with a million queued reports, has 15,000+ leaves: each commit copied one leaf (and its
 * branch path) per report, and intake slowed as the backlog grew. The writer now adds new ids to
 * this set and merges the whole set into the index in one sorted transaction once it is large
 * (docs/collector.md, "Spool"). After a crash the set is rebuilt from the records past the
 * "merged up to" sequence stored in the spool's meta.
 *
 * A plain open-addressing hash set (linear probing, load <= 1/2, backward-shift deletion) with a
 * per-set random hash seed. Pure: no locking, no LMDB; the spool serialises access.
 */
#ifndef edge__collector_spool_ids_h
#define edge__collector_spool_ids_h

#include <stddef.h>
#include <stdint.h>
#include "collector/spool.h"

typedef struct st_spool_ids_entry_t {
    uint64_t seq; /* 0: empty slot */
    uint8_t len;
    char id[SPOOL_CRASH_ID_MAX];
} spool_ids_entry_t;

typedef struct st_spool_ids_t {
    spool_ids_entry_t *slots;
    size_t cap; /* a power of two, or 0 before the first put */
    size_t count;
    uint64_t seed;
} spool_ids_t;

/** An empty set (allocates nothing yet). */
void spool_ids_init(spool_ids_t *s);
void spool_ids_dispose(spool_ids_t *s);

/** Sets id -> seq (seq != 0; len 1..SPOOL_CRASH_ID_MAX). @return 0, -EINVAL or -ENOMEM. */
int spool_ids_put(spool_ids_t *s, const char *id, size_t len, uint64_t seq);

/** @return the sequence of id, or 0 when absent. */
uint64_t spool_ids_get(const spool_ids_t *s, const char *id, size_t len);

/** @return 1 when id was removed, 0 when absent. */
int spool_ids_del(spool_ids_t *s, const char *id, size_t len);

/** Empties the set (keeps its memory). */
void spool_ids_clear(spool_ids_t *s);

/**
 * The entries sorted by id bytes (the index's key order, so that a merge walks the B-tree once).
 * @return a malloc'ed array of count pointers into the set (valid until it changes), or NULL when
 *         empty or on ENOMEM (*count then 0 or SIZE_MAX).
 */
const spool_ids_entry_t **spool_ids_sorted(const spool_ids_t *s, size_t *count);

#endif
