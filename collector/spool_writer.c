// SPDX-License-Identifier: MIT
/*
 * spool_writer: the spool's job queue and its single writer thread (group commit).
 *
 * spool_submit() (spool_submit.c) appends a caller-owned job to a FIFO list under a mutex and
 * wakes the writer. The writer takes the WHOLE list at once, applies every job in one LMDB write transaction, commits
 * (LMDB fsyncs), and only then calls each job's callback. While it commits, new jobs pile up and
 * become the next batch, so one fsync serves every crash that arrived during the previous one.
 *
 * Failure rules: a batch commits whole or not at all. MDB_MAP_FULL aborts the transaction, doubles
 * the map (up to map_size_max) and replays the batch. When space really runs out (map at its maximum,
 * ENOSPC), the puts of the batch fail with SPOOL_FULL and the other jobs (deliveries, deletes, dead
 * letters: the ones that make room) are replayed alone, so a full spool can still drain. Per-job
 * outcomes (unknown sequence, duplicate crash id) touch nothing and do not fail the batch.
 * MDB_PANIC (a failed meta write) makes the writer reopen the environment once per batch.
 *
 * Runs on the writer thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/statvfs.h>
#include "edge/log.h"
#include "collector/spool_internal.h"

#define BATCH_BYTES_MAX ((size_t)64 << 20)
#define BATCH_JOBS_MAX 4096

/* ---- applying jobs inside the write transaction ---- */

/* A state value copied out of the map (its pointers would not survive the next update). */
typedef struct st_loaded_t {
    spool__state_t st;
    char id[SPOOL_CRASH_ID_MAX];
    char error[SPOOL_ERROR_MAX];
} loaded_t;

/* Once a job has started writing, a missing or existing key means damage, not a per-job outcome. */
static int written(int rc)
{
    return rc == MDB_NOTFOUND || rc == MDB_KEYEXIST ? MDB_CORRUPTED : rc;
}

static int put_raw(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen, unsigned flags)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    return mdb_put(txn, dbi, &key, &val, flags);
}

/* Deletes a key; an already missing index key is tolerated. */
static int del_raw(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen)
{
    MDB_val key = {klen, (void *)k};
    int rc = mdb_del(txn, dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Stores the utf-8 text cut to at most max bytes without splitting a character. */
static size_t cut_text(const char *text, size_t len, size_t max)
{
    if (len <= max)
        return len;
    len = max;
    while (len != 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
        --len;
    return len;
}

static int load_state(spool_t *spool, MDB_txn *txn, uint64_t seq, loaded_t *out)
{
    uint8_t kbuf[8];
    MDB_val key = {sizeof(kbuf), kbuf}, val;
    int rc;

    spool__put64be(kbuf, seq);
    if ((rc = mdb_get(txn, spool->dbi_state, &key, &val)) != 0 || (rc = spool__state_decode(&val, &out->st)) != 0)
        return rc;
    memcpy(out->id, out->st.id, out->st.id_len);
    memcpy(out->error, out->st.error, out->st.error_len);
    out->st.id = out->id;
    out->st.error = out->error;
    return 0;
}

static int put_state(spool_t *spool, MDB_txn *txn, uint64_t seq, const spool__state_t *st, unsigned flags)
{
    uint8_t kbuf[8];
    MDB_val key = {sizeof(kbuf), kbuf}, val = {spool__state_size(st->id_len, st->error_len), NULL};
    int rc;

    spool__put64be(kbuf, seq);
    if ((rc = mdb_put(txn, spool->dbi_state, &key, &val, flags | MDB_RESERVE)) == 0)
        spool__state_encode(val.mv_data, st);
    return rc;
}

/* Adds a record to the main table with a new sequence. The blob is copied by fill(arg, dst). */
static int insert_record(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, const char *id, size_t id_len, int64_t now, size_t size,
                         int (*fill)(void *arg, void *dst), void *arg, uint64_t *seq_out)
{
    uint64_t seq = meta->next_seq;
    uint8_t kbuf[8], due[16], *p;
    MDB_val key = {sizeof(kbuf), kbuf}, val = {SPOOL__RECORD_HEAD + id_len + size, NULL};
    spool__state_t st = {.received_ms = now, .next_attempt_ms = now, .size = size, .id = id, .id_len = id_len};
    int rc;

    spool__put64be(kbuf, seq);
    if ((rc = mdb_put(txn, spool->dbi_records, &key, &val, MDB_APPEND | MDB_RESERVE)) != 0)
        return written(rc);
    p = val.mv_data;
    spool__put32(p, SPOOL__RECORD_MAGIC);
    spool__put16(p + 4, SPOOL__FORMAT_VERSION);
    spool__put16(p + 6, (uint16_t)id_len);
    spool__put64(p + 8, (uint64_t)now);
    memcpy(p + SPOOL__RECORD_HEAD, id, id_len);
    /* fill right away: the reserved space is only valid until the next update */
    if ((rc = fill(arg, p + SPOOL__RECORD_HEAD + id_len)) != 0)
        return written(rc);
    spool__due_key(due, now, seq);
    if ((rc = put_state(spool, txn, seq, &st, MDB_APPEND)) != 0 ||
        (rc = put_raw(txn, spool->dbi_due, due, sizeof(due), "", 0, 0)) != 0)
        return written(rc);
    if (spool->config.buffer_ids)
        rc = spool__recent_add(spool, id, id_len, seq);
    else
        rc = put_raw(txn, spool->dbi_ids, id, id_len, kbuf, sizeof(kbuf), MDB_NOOVERWRITE);
    if (rc != 0)
        return written(rc);
    meta->next_seq = seq + 1;
    ++meta->count;
    meta->bytes += size;
    *seq_out = seq;
    return 0;
}

/* Removes a record of the main table (its four keys) whose state was loaded. */
static int remove_record(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, uint64_t seq, const spool__state_t *st)
{
    uint8_t kbuf[8], due[16];
    int rc;

    spool__put64be(kbuf, seq);
    spool__due_key(due, st->next_attempt_ms, seq);
    if ((rc = del_raw(txn, spool->dbi_records, kbuf, sizeof(kbuf))) != 0 ||
        (rc = del_raw(txn, spool->dbi_state, kbuf, sizeof(kbuf))) != 0 ||
        (rc = del_raw(txn, spool->dbi_due, due, sizeof(due))) != 0 ||
        (rc = spool__recent_remove(spool, st->id, st->id_len, seq)) != 0 || (rc = del_raw(txn, spool->dbi_ids, st->id, st->id_len)) != 0)
        return written(rc);
    --meta->count;
    meta->bytes -= st->size;
    return 0;
}

static int fill_from_job(void *arg, void *dst)
{
    spool_job_t *job = arg;
    if (job->blob_len != 0)
        memcpy(dst, job->blob, job->blob_len);
    return 0;
}

static int apply_put(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, int64_t now, spool_job_t *job)
{
    size_t id_len = strlen(job->crash_id);
    MDB_val key = {id_len, job->crash_id}, val;
    int rc;

    /* a crash id is stored once: a client retrying after a lost answer must not create a second copy */
    if (spool_ids_get(&spool->recent, job->crash_id, id_len) != 0)
        return MDB_KEYEXIST;
    if ((rc = mdb_get(txn, spool->dbi_ids, &key, &val)) != MDB_NOTFOUND ||
        (rc = mdb_get(txn, spool->dbi_dead_ids, &key, &val)) != MDB_NOTFOUND)
        return rc == 0 ? MDB_KEYEXIST : rc;
    return insert_record(spool, txn, meta, job->crash_id, id_len, now, job->blob_len, fill_from_job, job, &job->seq);
}

static int apply_delivered(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, spool_job_t *job)
{
    loaded_t l;
    int rc;

    if ((rc = load_state(spool, txn, job->seq, &l)) != 0)
        return rc;
    l.st.delivered |= job->upstreams;
    if ((l.st.delivered & spool->all_upstreams) == spool->all_upstreams)
        return remove_record(spool, txn, meta, job->seq, &l.st);
    return written(put_state(spool, txn, job->seq, &l.st, 0));
}

static int apply_reschedule(spool_t *spool, MDB_txn *txn, spool_job_t *job)
{
    uint8_t due[16];
    loaded_t l;
    int rc;

    if ((rc = load_state(spool, txn, job->seq, &l)) != 0)
        return rc;
    spool__due_key(due, l.st.next_attempt_ms, job->seq);
    if ((rc = del_raw(txn, spool->dbi_due, due, sizeof(due))) != 0)
        return written(rc);
    ++l.st.attempts;
    l.st.next_attempt_ms = job->next_attempt_ms;
    l.st.error = job->text;
    l.st.error_len = cut_text(job->text, job->text_len, SPOOL_ERROR_MAX);
    spool__due_key(due, l.st.next_attempt_ms, job->seq);
    if ((rc = put_state(spool, txn, job->seq, &l.st, 0)) != 0 ||
        (rc = put_raw(txn, spool->dbi_due, due, sizeof(due), "", 0, 0)) != 0)
        return written(rc);
    return 0;
}

static int apply_dead(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, int64_t now, spool_job_t *job)
{
    size_t reason_len = cut_text(job->text, job->text_len, SPOOL_REASON_MAX);
    uint8_t kbuf[8], *p;
    MDB_val key = {sizeof(kbuf), kbuf}, val, rec;
    loaded_t l;
    int rc;

    if ((rc = load_state(spool, txn, job->seq, &l)) != 0)
        return rc;
    spool__put64be(kbuf, job->seq);
    val.mv_size = SPOOL__DEAD_HEAD + l.st.id_len + reason_len + l.st.size;
    if ((rc = mdb_put(txn, spool->dbi_dead, &key, &val, MDB_NOOVERWRITE | MDB_RESERVE)) != 0)
        return written(rc);
    p = val.mv_data;
    /* read the record only now: a value read before an update may have moved */
    if ((rc = mdb_get(txn, spool->dbi_records, &key, &rec)) != 0)
        return written(rc);
    if (rec.mv_size != SPOOL__RECORD_HEAD + l.st.id_len + l.st.size)
        return MDB_CORRUPTED;
    spool__put32(p, SPOOL__DEAD_MAGIC);
    spool__put32(p + 4, l.st.attempts);
    spool__put64(p + 8, (uint64_t)l.st.received_ms);
    spool__put64(p + 16, (uint64_t)now);
    spool__put64(p + 24, l.st.size);
    spool__put32(p + 32, l.st.delivered);
    spool__put16(p + 36, (uint16_t)l.st.id_len);
    spool__put16(p + 38, (uint16_t)reason_len);
    memcpy(p + SPOOL__DEAD_HEAD, l.st.id, l.st.id_len);
    if (reason_len != 0)
        memcpy(p + SPOOL__DEAD_HEAD + l.st.id_len, job->text, reason_len);
    memcpy(p + SPOOL__DEAD_HEAD + l.st.id_len + reason_len, (const uint8_t *)rec.mv_data + SPOOL__RECORD_HEAD + l.st.id_len,
           l.st.size);
    if ((rc = put_raw(txn, spool->dbi_dead_ids, l.st.id, l.st.id_len, kbuf, sizeof(kbuf), MDB_NOOVERWRITE)) != 0 ||
        (rc = remove_record(spool, txn, meta, job->seq, &l.st)) != 0)
        return written(rc);
    ++meta->dead_count;
    meta->dead_bytes += l.st.size;
    return 0;
}

static int apply_delete(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, spool_job_t *job)
{
    loaded_t l;
    int rc;

    if ((rc = load_state(spool, txn, job->seq, &l)) != 0)
        return rc;
    return remove_record(spool, txn, meta, job->seq, &l.st);
}

typedef struct st_dead_ref_t {
    spool_t *spool;
    MDB_txn *txn;
    uint8_t key[8];
} dead_ref_t;

/* Copies a dead letter's blob into a new record (read again: the reservation was an update). */
static int fill_from_dead(void *arg, void *dst)
{
    dead_ref_t *ref = arg;
    MDB_val key = {sizeof(ref->key), ref->key}, val;
    spool__dead_t dead;
    int rc;

    if ((rc = mdb_get(ref->txn, ref->spool->dbi_dead, &key, &val)) != 0 || (rc = spool__dead_decode(&val, &dead)) != 0)
        return rc;
    memcpy(dst, dead.blob, dead.size);
    return 0;
}

/* Looks a dead letter up by crash id; fills its key and size. */
static int find_dead(spool_t *spool, MDB_txn *txn, const char *crash_id, dead_ref_t *ref, uint64_t *size)
{
    MDB_val key = {strlen(crash_id), (void *)crash_id}, val;
    spool__dead_t dead;
    int rc;

    if ((rc = mdb_get(txn, spool->dbi_dead_ids, &key, &val)) != 0)
        return rc;
    if (val.mv_size != 8)
        return MDB_CORRUPTED;
    memcpy(ref->key, val.mv_data, 8);
    key.mv_size = sizeof(ref->key);
    key.mv_data = ref->key;
    if ((rc = mdb_get(txn, spool->dbi_dead, &key, &val)) != 0 || (rc = spool__dead_decode(&val, &dead)) != 0)
        return written(rc);
    ref->spool = spool;
    ref->txn = txn;
    *size = dead.size;
    return 0;
}

static int apply_requeue(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, int64_t now, spool_job_t *job)
{
    size_t id_len = strlen(job->crash_id);
    dead_ref_t ref;
    uint64_t size;
    int rc;

    if ((rc = find_dead(spool, txn, job->crash_id, &ref, &size)) != 0)
        return rc;
    if ((rc = insert_record(spool, txn, meta, job->crash_id, id_len, now, size, fill_from_dead, &ref, &job->seq)) != 0 ||
        (rc = del_raw(txn, spool->dbi_dead, ref.key, sizeof(ref.key))) != 0 ||
        (rc = del_raw(txn, spool->dbi_dead_ids, job->crash_id, id_len)) != 0)
        return written(rc);
    --meta->dead_count;
    meta->dead_bytes -= size;
    return 0;
}

static int apply_purge(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, spool_job_t *job)
{
    dead_ref_t ref;
    uint64_t size;
    int rc;

    if (job->crash_id[0] == '\0') {
        if ((rc = mdb_drop(txn, spool->dbi_dead, 0)) != 0 || (rc = mdb_drop(txn, spool->dbi_dead_ids, 0)) != 0)
            return written(rc);
        job->seq = meta->dead_count; /* how many were purged */
        meta->dead_count = 0;
        meta->dead_bytes = 0;
        return 0;
    }
    if ((rc = find_dead(spool, txn, job->crash_id, &ref, &size)) != 0)
        return rc;
    if ((rc = del_raw(txn, spool->dbi_dead, ref.key, sizeof(ref.key))) != 0 ||
        (rc = del_raw(txn, spool->dbi_dead_ids, job->crash_id, strlen(job->crash_id))) != 0)
        return written(rc);
    job->seq = 1;
    --meta->dead_count;
    meta->dead_bytes -= size;
    return 0;
}

static int apply_job(spool_t *spool, MDB_txn *txn, spool__meta_t *meta, int64_t now, spool_job_t *job)
{
    switch (job->type) {
    case SPOOL_JOB_PUT:
        return apply_put(spool, txn, meta, now, job);
    case SPOOL_JOB_DELIVERED:
        return apply_delivered(spool, txn, meta, job);
    case SPOOL_JOB_RESCHEDULE:
        return apply_reschedule(spool, txn, job);
    case SPOOL_JOB_DEAD:
        return apply_dead(spool, txn, meta, now, job);
    case SPOOL_JOB_DELETE:
        return apply_delete(spool, txn, meta, job);
    case SPOOL_JOB_REQUEUE:
        return apply_requeue(spool, txn, meta, now, job);
    case SPOOL_JOB_PURGE:
        return apply_purge(spool, txn, meta, job);
    }
    return EINVAL;
}

/* ---- batches ---- */

/*
 * Applies the batch (without its puts when skip_puts) in one write transaction and commits it.
 * Sets each applied job's _status. Returns an LMDB code: non-zero means nothing was committed.
 */
static int apply_batch(spool_t *spool, spool_job_t *batch, int skip_puts, spool__meta_t *meta, int64_t *oldest)
{
    MDB_txn *txn = NULL;
    int64_t now = spool__now_ms();
    int rc;

    spool->undo.count = 0;
    if ((rc = spool__txn_begin(spool, 0, &txn)) != 0)
        return rc;
    if ((rc = spool__meta_get(spool, txn, meta)) != 0)
        goto Exit;
    for (spool_job_t *job = batch; job != NULL; job = job->_next) {
        if (skip_puts && job->type == SPOOL_JOB_PUT)
            continue;
        rc = apply_job(spool, txn, meta, now, job);
        if (rc == MDB_NOTFOUND || rc == MDB_KEYEXIST) {
            /* nothing of this job was written: its own outcome, the batch goes on */
            job->_status = spool__translate(rc);
        } else if (rc != 0) {
            goto Exit;
        } else {
            job->_status = 0;
        }
    }
    if ((rc = spool__meta_put(spool, txn, meta)) != 0 || (rc = spool__oldest_received(spool, txn, oldest)) != 0)
        goto Exit;
    rc = mdb_txn_commit(txn);
    txn = NULL;

Exit:
    if (txn != NULL)
        mdb_txn_abort(txn);
    spool__txn_end(spool);
    if (rc != 0)
        spool__recent_undo(spool);
    else
        metrics_gauge_set(spool->metrics.recent_ids, (double)spool->recent.count);
    return rc;
}

/* Doubles the map (up to the configured maximum). Returns 0, or MDB_MAP_FULL at the maximum. */
int spool__grow_map(spool_t *spool)
{
    size_t cur = atomic_load(&spool->map_size), max = spool->config.map_size_max, next, now = 0;
    MDB_envinfo info;
    int rc;

    if (cur >= max)
        return MDB_MAP_FULL;
    next = cur > max / 2 ? max : cur * 2;
    pthread_rwlock_wrlock(&spool->maplock);
    if ((rc = mdb_env_set_mapsize(spool->env, next)) == 0) {
        mdb_env_info(spool->env, &info);
        now = info.me_mapsize;
    }
    pthread_rwlock_unlock(&spool->maplock);
    if (rc != 0) {
        log_error("spool", "cannot grow the map to %zu bytes: %s", next, mdb_strerror(rc));
        return rc;
    }
    if (now <= cur)
        return MDB_MAP_FULL;
    atomic_store(&spool->map_size, now);
    metrics_gauge_set(spool->metrics.map_size, (double)now);
    metrics_counter_inc(spool->metrics.map_grows);
    log_info("spool", "map grown from %zu to %zu bytes", cur, now);
    return 0;
}

/* After MDB_PANIC (a failed meta write) LMDB refuses every transaction until the env is reopened. */
static int reopen_env(spool_t *spool)
{
    int rc;

    log_error("spool", "environment panicked, reopening %s", spool->dir);
    pthread_rwlock_wrlock(&spool->maplock);
    spool__env_close(spool);
    rc = spool__env_open(spool);
    pthread_rwlock_unlock(&spool->maplock);
    return rc;
}

static void set_health(spool_t *spool, int had_puts, int puts_status, int status)
{
    if (had_puts) {
        int full = puts_status == SPOOL_FULL;
        if (atomic_exchange(&spool->full, full) != full) {
            metrics_gauge_set(spool->metrics.full, full);
            if (full && atomic_load(&spool->map_size) >= spool->config.map_size_max)
                log_warn("spool", "full: the map is at its maximum of %zu bytes; crashes are refused until space is freed",
                         spool->config.map_size_max);
            else if (full)
                log_warn("spool", "full: no space left on the device (or file size limit); crashes are refused");
            else
                log_info("spool", "no longer full");
        }
    }
    int prev = atomic_exchange(&spool->last_error, status);
    if (prev != status && status != 0 && status != SPOOL_FULL)
        log_error("spool", "commit failed: %s", spool_strerror(status));
    else if (prev != status && status == 0 && prev != SPOOL_FULL)
        log_info("spool", "commits succeed again");
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * The status of a failed batch. LMDB reports a short write (what a full disk usually gives) as EIO,
 * so an I/O error while the filesystem has less free space than the batch needs counts as full too.
 */
static int failure_status(spool_t *spool, int rc, size_t need)
{
    struct statvfs st;

    if (rc == EIO && statvfs(spool->dir, &st) == 0 && (uint64_t)st.f_bavail * st.f_frsize < (uint64_t)need + ((uint64_t)16 << 20))
        return SPOOL_FULL;
    return spool__translate(rc);
}

static void run_batch(spool_t *spool, spool_job_t *batch)
{
    size_t njobs = 0, nputs = 0, put_bytes = 0;
    int skip_puts = 0, reopened = 0, rc, status, puts_status;
    spool__meta_t meta;
    int64_t oldest = 0;
    struct timespec t0;

    for (spool_job_t *job = batch; job != NULL; job = job->_next) {
        ++njobs;
        if (job->type == SPOOL_JOB_PUT) {
            ++nputs;
            put_bytes += job->blob_len;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (;;) {
        if ((rc = apply_batch(spool, batch, skip_puts, &meta, &oldest)) == 0)
            break;
        if (rc == MDB_MAP_FULL && spool__grow_map(spool) == 0)
            continue;
        if (rc == MDB_PANIC && !reopened) {
            reopened = 1;
            if (reopen_env(spool) == 0)
                continue;
        }
        if (!skip_puts && nputs != 0 && nputs != njobs && failure_status(spool, rc, put_bytes) == SPOOL_FULL) {
            /* no room for the new crashes: still apply what frees room */
            skip_puts = 1;
            continue;
        }
        break;
    }

    /* outcome of each job, health and metrics */
    status = failure_status(spool, rc, put_bytes);
    puts_status = skip_puts ? SPOOL_FULL : status;
    for (spool_job_t *job = batch; job != NULL; job = job->_next) {
        if (job->type == SPOOL_JOB_PUT && skip_puts)
            job->_status = SPOOL_FULL;
        else if (rc != 0)
            job->_status = status;
        if (job->_status != 0 && (job->type == SPOOL_JOB_PUT || job->type == SPOOL_JOB_REQUEUE))
            job->seq = 0;
    }
    set_health(spool, nputs != 0, puts_status, rc == 0 && skip_puts ? SPOOL_FULL : status);
    metrics_histogram_observe(spool->metrics.batch_jobs, (double)njobs);
    if (rc == 0) {
        metrics_counter_inc(spool->metrics.commits);
        metrics_histogram_observe(spool->metrics.commit_seconds, elapsed(&t0));
        if (!skip_puts)
            metrics_counter_add(spool->metrics.bytes_written, put_bytes);
        spool__meta_publish(spool, &meta, oldest);
    }
    if (rc != 0 || skip_puts)
        metrics_counter_inc(puts_status == SPOOL_FULL || status == SPOOL_FULL ? spool->metrics.fail_full
                                                                              : spool->metrics.fail_error);

    /* the bytes leave the budget before the callbacks run, so a callback may submit again */
    atomic_fetch_sub(&spool->queued_bytes, put_bytes);
    metrics_gauge_set(spool->metrics.queued_bytes, (double)atomic_load(&spool->queued_bytes));
    while (batch != NULL) {
        spool_job_t *job = batch;
        batch = job->_next;
        job->_next = NULL;
        if (job->type == SPOOL_JOB_PUT) {
            if (job->blob_free != NULL)
                job->blob_free(job->blob_free_arg);
            else
                free(job->blob);
            job->blob = NULL;
        }
        job->cb(job, job->_status);
    }
}

/*
 * Detaches the jobs of the next batch from the queue (mutex held): every job queued, but no more than
 * BATCH_BYTES_MAX blob bytes or BATCH_JOBS_MAX jobs, so that a huge backlog never makes one huge
 * transaction (LMDB's dirty page list has a limit, and every caller of the batch waits for its end).
 */
static spool_job_t *take_batch(spool_t *spool)
{
    spool_job_t *batch = spool->head, *last = batch, *job;
    size_t bytes = last->type == SPOOL_JOB_PUT ? last->blob_len : 0, njobs = 1;

    for (job = last->_next; job != NULL && njobs < BATCH_JOBS_MAX; last = job, job = job->_next, ++njobs) {
        size_t len = job->type == SPOOL_JOB_PUT ? job->blob_len : 0;
        if (bytes + len > BATCH_BYTES_MAX)
            break;
        bytes += len;
    }
    spool->head = job;
    if (job == NULL)
        spool->tail = NULL;
    last->_next = NULL;
    return batch;
}

static void *writer_main(void *arg)
{
    spool_t *spool = arg;
    spool_job_t *batch;

    pthread_mutex_lock(&spool->mutex);
    for (;;) {
        while (spool->head == NULL && !spool->stopping)
            pthread_cond_wait(&spool->cond, &spool->mutex);
        if (spool->head == NULL)
            break; /* stopping, and everything queued before has been committed */
        batch = take_batch(spool);
        pthread_mutex_unlock(&spool->mutex);
        run_batch(spool, batch);
        if (spool->config.buffer_ids && spool->recent.count >= spool->config.ids_merge_at &&
            spool->recent.count >= spool->merge_retry_at)
            spool__recent_merge(spool);
        pthread_mutex_lock(&spool->mutex);
    }
    pthread_mutex_unlock(&spool->mutex);
    /* a clean stop leaves every id in the index: a restart (or an older edge) finds them there.
     * Only the server merges: another process (the CLI) does not know the ids the server holds. */
    if (spool->config.buffer_ids && spool->recent.count != 0)
        spool__recent_merge(spool);
    return NULL;
}

int spool__writer_start(spool_t *spool)
{
    int rc;

    if ((rc = pthread_create(&spool->writer, NULL, writer_main, spool)) != 0) {
        log_error("spool", "cannot start the writer thread: %s", strerror(rc));
        return -rc;
    }
    pthread_setname_np(spool->writer, "edge-spool");
    spool->writer_started = 1;
    return 0;
}

void spool__writer_stop(spool_t *spool)
{
    pthread_mutex_lock(&spool->mutex);
    spool->stopping = 1;
    pthread_cond_signal(&spool->cond);
    pthread_mutex_unlock(&spool->mutex);
    if (spool->writer_started) {
        pthread_join(spool->writer, NULL);
        spool->writer_started = 0;
    }
}
