// SPDX-License-Identifier: MIT
/*
 * spool_recent: what the writer thread does with the crash ids of new records (collector/spool_ids.h
 * is the set itself): files them in memory as a batch stores its records, takes them back when the
 * batch does not commit, and merges the whole set into the LMDB id index in one sorted transaction.
 * Runs on the writer thread only; readers see the set under spool->recent_lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "edge/log.h"
#include "collector/spool_internal.h"

/* One change the current batch made to spool->recent. */
typedef struct st_spool__undo_t {
    uint64_t seq; /* the id was added with this sequence (removed: the sequence it had) */
    int added;
    uint8_t len;
    char id[SPOOL_CRASH_ID_MAX];
} undo_t;

static int undo_push(spool_t *spool, int added, const char *id, size_t len, uint64_t seq)
{
    if (spool->undo.count == spool->undo.cap) {
        size_t cap = spool->undo.cap != 0 ? spool->undo.cap * 2 : 64;
        undo_t *items = realloc(spool->undo.items, cap * sizeof(*items));
        if (items == NULL)
            return ENOMEM;
        spool->undo.items = items;
        spool->undo.cap = cap;
    }
    undo_t *u = &spool->undo.items[spool->undo.count++];
    u->seq = seq;
    u->added = added;
    u->len = (uint8_t)len;
    memcpy(u->id, id, len);
    return 0;
}

/* Files the id of a new record in memory (buffer_ids): the index gets it at the next merge. */
int spool__recent_add(spool_t *spool, const char *id, size_t id_len, uint64_t seq)
{
    int rc;
    if ((rc = undo_push(spool, 1, id, id_len, seq)) != 0)
        return rc;
    pthread_rwlock_wrlock(&spool->recent_lock);
    rc = spool_ids_put(&spool->recent, id, id_len, seq) == 0 ? 0 : ENOMEM;
    pthread_rwlock_unlock(&spool->recent_lock);
    if (rc != 0)
        --spool->undo.count;
    return rc;
}

/* Forgets the id of a record that leaves the main table, if it was only in memory. */
int spool__recent_remove(spool_t *spool, const char *id, size_t id_len, uint64_t seq)
{
    int rc;
    if (spool_ids_get(&spool->recent, id, id_len) != seq) /* the writer is the only one that changes the set */
        return 0;
    if ((rc = undo_push(spool, 0, id, id_len, seq)) != 0)
        return rc;
    pthread_rwlock_wrlock(&spool->recent_lock);
    spool_ids_del(&spool->recent, id, id_len);
    pthread_rwlock_unlock(&spool->recent_lock);
    return 0;
}

/* A batch did not commit: take its changes to the set back, newest first. */
void spool__recent_undo(spool_t *spool)
{
    pthread_rwlock_wrlock(&spool->recent_lock);
    while (spool->undo.count != 0) {
        const undo_t *u = &spool->undo.items[--spool->undo.count];
        if (u->added)
            spool_ids_del(&spool->recent, u->id, u->len);
        else
            spool_ids_put(&spool->recent, u->id, u->len, u->seq); /* had room before: the table never shrinks */
    }
    pthread_rwlock_unlock(&spool->recent_lock);
}

/*
 * Writes every id of the set into the index in one transaction, in key order (so the B-tree is
 * walked once instead of once per id), and moves the merged sequence up to the last record. On
 * failure the set stays and the merge is tried again once it has grown by a quarter.
 */
void spool__recent_merge(spool_t *spool)
{
    struct timespec t0;
    size_t n;
    int rc = 0;
    const spool_ids_entry_t **sorted = spool_ids_sorted(&spool->recent, &n);

    if (sorted == NULL) {
        if (n == SIZE_MAX)
            log_warn("spool", "cannot merge %zu crash ids into the index: out of memory", spool->recent.count);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int attempt = 0; attempt != 2; ++attempt) {
        MDB_txn *txn = NULL;
        spool__meta_t meta;
        uint8_t v[8];
        if ((rc = spool__txn_begin(spool, 0, &txn)) != 0)
            break;
        if ((rc = spool__meta_get(spool, txn, &meta)) == 0) {
            for (size_t i = 0; i != n && rc == 0; ++i) {
                spool__put64be(v, sorted[i]->seq);
                MDB_val key = {sorted[i]->len, (void *)sorted[i]->id}, val = {sizeof(v), v};
                rc = mdb_put(txn, spool->dbi_ids, &key, &val, 0);
            }
        }
        if (rc == 0 && (rc = spool__merged_put(spool, txn, meta.next_seq - 1)) == 0) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
        }
        if (txn != NULL)
            mdb_txn_abort(txn);
        spool__txn_end(spool);
        if (!(rc == MDB_MAP_FULL && attempt == 0 && spool__grow_map(spool) == 0))
            break;
    }
    free(sorted);
    if (rc != 0) {
        spool->merge_retry_at = spool->recent.count + spool->config.ids_merge_at / 4;
        log_warn("spool", "merging %zu crash ids into the index failed (%s); they stay in memory, retried later", n, mdb_strerror(rc));
        return;
    }
    pthread_rwlock_wrlock(&spool->recent_lock);
    spool_ids_clear(&spool->recent);
    pthread_rwlock_unlock(&spool->recent_lock);
    spool->merge_retry_at = 0;
    metrics_gauge_set(spool->metrics.recent_ids, 0);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    metrics_histogram_observe(spool->metrics.merge_seconds,
                              (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

