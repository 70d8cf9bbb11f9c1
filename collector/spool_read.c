// SPDX-License-Identifier: MIT
/*
 * spool_read: the spool's read API (spool_get, spool_due, spool_list and their dead-letter
 * counterparts). The environment and transactions it reads through are in spool.c; every write goes
 * through the writer thread of spool_writer.c.
 *
 * Every read runs in one short MDB_RDONLY transaction (spool__txn_begin) and copies what it returns
 * before the transaction ends: a long read transaction would pin old pages and make the file grow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "collector/spool_internal.h"

static void copy_text(char *dst, size_t dstsize, const char *src, size_t len)
{
    if (len >= dstsize)
        len = dstsize - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Fills a record from its state (and blob when asked). Returns an LMDB code. */
static int fill_record(spool_t *spool, MDB_txn *txn, uint64_t seq, const MDB_val *stateval, int flags, spool_record_t *out)
{
    spool__state_t st;
    MDB_val key, val;
    uint8_t kbuf[8];
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = spool__state_decode(stateval, &st)) != 0)
        return rc;
    out->seq = seq;
    copy_text(out->crash_id, sizeof(out->crash_id), st.id, st.id_len);
    out->received_ms = st.received_ms;
    out->next_attempt_ms = st.next_attempt_ms;
    out->attempts = st.attempts;
    out->delivered = st.delivered;
    out->size = (size_t)st.size;
    copy_text(out->last_error, sizeof(out->last_error), st.error, st.error_len);
    if ((flags & SPOOL_READ_BLOB) == 0)
        return 0;
    spool__put64be(kbuf, seq);
    key.mv_size = sizeof(kbuf);
    key.mv_data = kbuf;
    if ((rc = mdb_get(txn, spool->dbi_records, &key, &val)) != 0)
        return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
    const uint8_t *p = val.mv_data;
    if (val.mv_size < SPOOL__RECORD_HEAD || val.mv_size - SPOOL__RECORD_HEAD - spool__get16(p + 6) != st.size)
        return MDB_CORRUPTED;
    if ((out->blob = malloc(st.size != 0 ? st.size : 1)) == NULL)
        return ENOMEM;
    memcpy(out->blob, p + SPOOL__RECORD_HEAD + spool__get16(p + 6), st.size);
    return 0;
}

void spool_record_dispose(spool_record_t *record)
{
    if (record == NULL)
        return;
    free(record->blob);
    record->blob = NULL;
}

/*
 * Ends a listing walk: closes the cursor and the read transaction; on failure disposes of the
 * entries filled so far, so the caller gets none. Sets *count. @return the spool status of rc.
 */
static int end_listing(spool_t *spool, MDB_txn *txn, MDB_cursor *cur, int rc, void *out, size_t n, size_t entry_size,
                       void (*dispose)(void *), size_t *count)
{
    if (cur != NULL)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    spool__txn_end(spool);
    if (rc != 0) {
        while (n != 0)
            dispose((char *)out + --n * entry_size);
    }
    *count = n;
    return spool__translate(rc);
}

static void list_dispose_record(void *entry)
{
    spool_record_dispose(entry);
}

int spool_due(spool_t *spool, int64_t now_ms, int64_t after_ms, uint64_t after_seq, size_t max, int flags, spool_record_t *out,
              size_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    uint8_t kbuf[16], sbuf[8];
    size_t n = 0;
    int rc;

    *count = 0;
    if (max == 0)
        return 0;
    if ((rc = spool__txn_begin(spool, MDB_RDONLY, &txn)) != 0)
        return spool__translate(rc);
    if ((rc = mdb_cursor_open(txn, spool->dbi_due, &cur)) != 0)
        goto Exit;
    /* position strictly after (after_ms, after_seq) */
    if (after_seq == UINT64_MAX)
        spool__due_key(kbuf, after_ms + 1, 0);
    else
        spool__due_key(kbuf, after_ms, after_seq + 1);
    key.mv_size = sizeof(kbuf);
    key.mv_data = kbuf;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0 && n < max; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 16) {
            rc = MDB_CORRUPTED;
            goto Exit;
        }
        if ((int64_t)spool__get64be(key.mv_data) > now_ms)
            break;
        uint64_t seq = spool__get64be((const uint8_t *)key.mv_data + 8);
        MDB_val skey = {sizeof(sbuf), sbuf}, sval;
        spool__put64be(sbuf, seq);
        if ((rc = mdb_get(txn, spool->dbi_state, &skey, &sval)) != 0 ||
            (rc = fill_record(spool, txn, seq, &sval, flags, &out[n])) != 0) {
            if (rc == MDB_NOTFOUND)
                rc = MDB_CORRUPTED;
            spool_record_dispose(&out[n]);
            goto Exit;
        }
        ++n;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0; /* the walk reached the end */

Exit:
    return end_listing(spool, txn, cur, rc, out, n, sizeof(*out), list_dispose_record, count);
}

/* What list_table needs to know of the entries it fills: spool_record_t or spool_dead_t. */
typedef struct st_list_kind_t {
    size_t entry_size;
    /* Fills entry from the value stored under seq; returns an LMDB code. It clears entry first, so
     * dispose may run on it even when it fails. */
    int (*fill)(spool_t *spool, MDB_txn *txn, uint64_t seq, const MDB_val *val, void *entry);
    void (*dispose)(void *entry);
} list_kind_t;

/*
 * The cursor walk behind spool_list and spool_dead_list: copies up to max entries of a table keyed
 * by sequence (big-endian, so in sequence order), starting after after_seq. On failure every entry
 * filled so far is disposed and *count is 0, so the caller has nothing to free.
 */
static int list_table(spool_t *spool, MDB_dbi dbi, const list_kind_t *kind, uint64_t after_seq, size_t max, void *out,
                      size_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    uint8_t kbuf[8];
    size_t n = 0;
    int rc;

    *count = 0;
    if (max == 0 || after_seq == UINT64_MAX)
        return 0;
    if ((rc = spool__txn_begin(spool, MDB_RDONLY, &txn)) != 0)
        return spool__translate(rc);
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        goto Exit;
    spool__put64be(kbuf, after_seq + 1);
    key.mv_size = sizeof(kbuf);
    key.mv_data = kbuf;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0 && n < max; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        void *entry = (char *)out + n * kind->entry_size;
        if (key.mv_size != 8) {
            rc = MDB_CORRUPTED;
            goto Exit;
        }
        if ((rc = kind->fill(spool, txn, spool__get64be(key.mv_data), &val, entry)) != 0) {
            kind->dispose(entry);
            goto Exit;
        }
        ++n;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0; /* the walk reached the end */

Exit:
    return end_listing(spool, txn, cur, rc, out, n, kind->entry_size, kind->dispose, count);
}

static int list_fill_record(spool_t *spool, MDB_txn *txn, uint64_t seq, const MDB_val *val, void *entry)
{
    return fill_record(spool, txn, seq, val, 0, entry);
}

int spool_list(spool_t *spool, uint64_t after_seq, size_t max, spool_record_t *out, size_t *count)
{
    static const list_kind_t records = {sizeof(spool_record_t), list_fill_record, list_dispose_record};

    return list_table(spool, spool->dbi_state, &records, after_seq, max, out, count);
}

/* Looks crash_id up in an id table. Returns an LMDB code. */
static int lookup_id(MDB_txn *txn, MDB_dbi dbi, const char *crash_id, uint64_t *seq)
{
    size_t len = strlen(crash_id);
    MDB_val key = {len, (void *)crash_id}, val;
    int rc;

    if (len == 0 || len > SPOOL_CRASH_ID_MAX)
        return MDB_NOTFOUND;
    if ((rc = mdb_get(txn, dbi, &key, &val)) != 0)
        return rc;
    if (val.mv_size != 8)
        return MDB_CORRUPTED;
    *seq = spool__get64be(val.mv_data);
    return 0;
}

/*
 * The value crash_id leads to in table through the id index ids.
 * @return an LMDB code; an index entry without its value is MDB_CORRUPTED.
 */
static int get_by_id(MDB_txn *txn, MDB_dbi ids, MDB_dbi table, const char *crash_id, uint64_t *seq, MDB_val *val)
{
    uint8_t kbuf[8];
    MDB_val key = {sizeof(kbuf), kbuf};
    int rc;

    if ((rc = lookup_id(txn, ids, crash_id, seq)) != 0)
        return rc;
    spool__put64be(kbuf, *seq);
    return mdb_get(txn, table, &key, val) == 0 ? 0 : MDB_CORRUPTED;
}

int spool_get(spool_t *spool, const char *crash_id, int flags, spool_record_t *out)
{
    MDB_txn *txn = NULL;
    MDB_val val;
    uint64_t seq;
    int rc;

    memset(out, 0, sizeof(*out));
    /* the newest ids are in memory until the writer merges them into the index */
    pthread_rwlock_rdlock(&spool->recent_lock);
    seq = spool_ids_get(&spool->recent, crash_id, strlen(crash_id));
    pthread_rwlock_unlock(&spool->recent_lock);
    if ((rc = spool__txn_begin(spool, MDB_RDONLY, &txn)) != 0)
        return spool__translate(rc);
    if (seq != 0) {
        uint8_t kbuf[8];
        MDB_val key = {sizeof(kbuf), kbuf};
        spool__put64be(kbuf, seq);
        /* absent from this snapshot: committed just after it began, or removed meanwhile */
        if ((rc = mdb_get(txn, spool->dbi_state, &key, &val)) == 0)
            rc = fill_record(spool, txn, seq, &val, flags, out);
    } else if ((rc = get_by_id(txn, spool->dbi_ids, spool->dbi_state, crash_id, &seq, &val)) == 0) {
        rc = fill_record(spool, txn, seq, &val, flags, out);
    }
    mdb_txn_abort(txn);
    spool__txn_end(spool);
    if (rc != 0)
        spool_record_dispose(out);
    return spool__translate(rc);
}

int spool_get_seq(spool_t *spool, uint64_t seq, int flags, spool_record_t *out)
{
    MDB_txn *txn = NULL;
    uint8_t kbuf[8];
    MDB_val key = {sizeof(kbuf), kbuf}, val;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = spool__txn_begin(spool, MDB_RDONLY, &txn)) != 0)
        return spool__translate(rc);
    spool__put64be(kbuf, seq);
    if ((rc = mdb_get(txn, spool->dbi_state, &key, &val)) == 0)
        rc = fill_record(spool, txn, seq, &val, flags, out);
    mdb_txn_abort(txn);
    spool__txn_end(spool);
    if (rc != 0)
        spool_record_dispose(out);
    return spool__translate(rc);
}

void spool_dead_dispose(spool_dead_t *dead)
{
    if (dead == NULL)
        return;
    free(dead->reason);
    free(dead->blob);
    dead->reason = NULL;
    dead->blob = NULL;
}

/* Fills a dead letter from its value. Returns an LMDB code. */
static int fill_dead(uint64_t seq, const MDB_val *val, int flags, spool_dead_t *out)
{
    spool__dead_t dead;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = spool__dead_decode(val, &dead)) != 0)
        return rc;
    out->seq = seq;
    copy_text(out->crash_id, sizeof(out->crash_id), dead.id, dead.id_len);
    out->received_ms = dead.received_ms;
    out->dead_ms = dead.dead_ms;
    out->attempts = dead.attempts;
    out->delivered = dead.delivered;
    out->size = (size_t)dead.size;
    if ((out->reason = malloc(dead.reason_len + 1)) == NULL)
        return ENOMEM;
    copy_text(out->reason, dead.reason_len + 1, dead.reason, dead.reason_len);
    if ((flags & SPOOL_READ_BLOB) != 0) {
        if ((out->blob = malloc(dead.size != 0 ? dead.size : 1)) == NULL)
            return ENOMEM;
        memcpy(out->blob, dead.blob, dead.size);
    }
    return 0;
}

static int list_fill_dead(spool_t *spool, MDB_txn *txn, uint64_t seq, const MDB_val *val, void *entry)
{
    (void)spool;
    (void)txn;
    return fill_dead(seq, val, 0, entry);
}

static void list_dispose_dead(void *entry)
{
    spool_dead_dispose(entry);
}

int spool_dead_list(spool_t *spool, uint64_t after_seq, size_t max, spool_dead_t *out, size_t *count)
{
    static const list_kind_t dead_letters = {sizeof(spool_dead_t), list_fill_dead, list_dispose_dead};

    return list_table(spool, spool->dbi_dead, &dead_letters, after_seq, max, out, count);
}

int spool_dead_get(spool_t *spool, const char *crash_id, int flags, spool_dead_t *out)
{
    MDB_txn *txn = NULL;
    MDB_val val;
    uint64_t seq;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = spool__txn_begin(spool, MDB_RDONLY, &txn)) != 0)
        return spool__translate(rc);
    if ((rc = get_by_id(txn, spool->dbi_dead_ids, spool->dbi_dead, crash_id, &seq, &val)) == 0)
        rc = fill_dead(seq, &val, flags, out);
    mdb_txn_abort(txn);
    spool__txn_end(spool);
    if (rc != 0)
        spool_dead_dispose(out);
    return spool__translate(rc);
}
