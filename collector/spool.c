// SPDX-License-Identifier: MIT
/*
 * spool: the crash spool's environment: opening, validating (and repairing) and closing it, its
 * value formats and counters, transactions, and the spool's lifecycle (see spool.h for the formats
 * and the thread model; the read API lives in spool_read.c, the writer thread and its batches in
 * spool_writer.c).
 *
 * Every transaction, read or write, holds the map rwlock shared, which keeps mdb_env_set_mapsize
 * (writer growing the map) from running under an open transaction, as LMDB requires; MDB_NOTLS lets
 * any thread read, and a thread hold several transactions. Every LMDB code goes through
 * spool__translate() before it leaves the module: callers only ever see spool statuses and negative
 * errno values.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "edge/log.h"
#include "collector/spool_internal.h"

#define META_MAGIC 0x4d505345u /* "ESPM" */

static const char meta_key[] = "stats";
static const char merged_key[] = "ids_merged";

void spool_config_init(spool_config_t *config)
{
    memset(config, 0, sizeof(*config));
    config->map_size_initial = (size_t)64 << 20;
    config->map_size_max = sizeof(size_t) > 4 ? (size_t)32 << 30 : (size_t)1 << 30;
    config->queue_bytes_max = (size_t)256 << 20;
    config->upstream_count = 1;
    config->buffer_ids = 1;
    config->ids_merge_at = 65536;
}

int spool__translate(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return SPOOL_FULL;
    case MDB_NOTFOUND:
        return SPOOL_NOT_FOUND;
    case MDB_KEYEXIST:
        return SPOOL_DUPLICATE;
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_VALSIZE:
        return SPOOL_CORRUPT;
    case MDB_READERS_FULL:
        return -EAGAIN;
    default:
        if (rc > 0 && rc < 4096)
            return -rc;
        return -EIO; /* MDB_PANIC, MDB_MAP_RESIZED, MDB_TXN_FULL, ... */
    }
}

int64_t spool__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *spool_strerror(int status)
{
    switch (status) {
    case SPOOL_OK:
        return "success";
    case SPOOL_BUSY:
        return "spool queue is over its byte budget, retry later";
    case SPOOL_FULL:
        return "spool is full (map at its maximum size or disk full)";
    case SPOOL_SHUTDOWN:
        return "spool is shutting down";
    case SPOOL_NOT_FOUND:
        return "no such record in the spool";
    case SPOOL_DUPLICATE:
        return "crash id already in the spool";
    case SPOOL_CORRUPT:
        return "spool environment is damaged or of another format";
    case SPOOL_READONLY:
        return "spool is read-only";
    default:
        if (status < 0 && status > -4096)
            return strerror(-status);
        return "unknown spool status";
    }
}

/* ---- formats ---- */

static void meta_encode(uint8_t *p, const spool__meta_t *meta)
{
    spool__put32(p, META_MAGIC);
    spool__put32(p + 4, SPOOL__FORMAT_VERSION);
    spool__put64(p + 8, meta->next_seq);
    spool__put64(p + 16, meta->count);
    spool__put64(p + 24, meta->bytes);
    spool__put64(p + 32, meta->dead_count);
    spool__put64(p + 40, meta->dead_bytes);
}

int spool__meta_get(spool_t *spool, MDB_txn *txn, spool__meta_t *meta)
{
    MDB_val key = {sizeof(meta_key) - 1, (void *)meta_key}, val;
    int rc;

    if ((rc = mdb_get(txn, spool->dbi_meta, &key, &val)) != 0)
        return rc;
    const uint8_t *p = val.mv_data;
    if (val.mv_size != SPOOL__META_SIZE || spool__get32(p) != META_MAGIC || spool__get32(p + 4) != SPOOL__FORMAT_VERSION)
        return MDB_INCOMPATIBLE;
    meta->next_seq = spool__get64(p + 8);
    meta->count = spool__get64(p + 16);
    meta->bytes = spool__get64(p + 24);
    meta->dead_count = spool__get64(p + 32);
    meta->dead_bytes = spool__get64(p + 40);
    return 0;
}

int spool__merged_get(spool_t *spool, MDB_txn *txn, uint64_t next_seq, uint64_t *merged)
{
    MDB_val key = {sizeof(merged_key) - 1, (void *)merged_key}, val;
    int rc = mdb_get(txn, spool->dbi_meta, &key, &val);

    if (rc == MDB_NOTFOUND) {
        *merged = next_seq - 1;
        return MDB_NOTFOUND;
    }
    if (rc != 0)
        return rc;
    if (val.mv_size != 8)
        return MDB_CORRUPTED;
    *merged = spool__get64(val.mv_data);
    return 0;
}

int spool__merged_put(spool_t *spool, MDB_txn *txn, uint64_t merged)
{
    uint8_t buf[8];
    MDB_val key = {sizeof(merged_key) - 1, (void *)merged_key}, val = {sizeof(buf), buf};

    spool__put64(buf, merged);
    return mdb_put(txn, spool->dbi_meta, &key, &val, 0);
}

int spool__meta_put(spool_t *spool, MDB_txn *txn, const spool__meta_t *meta)
{
    uint8_t buf[SPOOL__META_SIZE];
    MDB_val key = {sizeof(meta_key) - 1, (void *)meta_key}, val = {sizeof(buf), buf};

    meta_encode(buf, meta);
    return mdb_put(txn, spool->dbi_meta, &key, &val, 0);
}

void spool__meta_publish(spool_t *spool, const spool__meta_t *meta, int64_t oldest_ms)
{
    metrics_gauge_set(spool->metrics.records, (double)meta->count);
    metrics_gauge_set(spool->metrics.record_bytes, (double)meta->bytes);
    metrics_gauge_set(spool->metrics.dead_records, (double)meta->dead_count);
    metrics_gauge_set(spool->metrics.dead_bytes, (double)meta->dead_bytes);
    metrics_gauge_set(spool->metrics.oldest, oldest_ms > 0 ? (double)oldest_ms / 1000.0 : 0.0);
}

int spool__state_decode(const MDB_val *val, spool__state_t *st)
{
    const uint8_t *p = val->mv_data;

    if (val->mv_size < SPOOL__STATE_HEAD || spool__get32(p) != SPOOL__FORMAT_VERSION)
        return MDB_CORRUPTED;
    st->attempts = spool__get32(p + 4);
    st->received_ms = (int64_t)spool__get64(p + 8);
    st->next_attempt_ms = (int64_t)spool__get64(p + 16);
    st->size = spool__get64(p + 24);
    st->delivered = spool__get32(p + 32);
    st->id_len = spool__get16(p + 36);
    st->error_len = spool__get16(p + 38);
    if (st->id_len > SPOOL_CRASH_ID_MAX || st->error_len > SPOOL_ERROR_MAX ||
        val->mv_size != spool__state_size(st->id_len, st->error_len))
        return MDB_CORRUPTED;
    st->id = (const char *)p + SPOOL__STATE_HEAD;
    st->error = st->id + st->id_len;
    return 0;
}

int spool__dead_decode(const MDB_val *val, spool__dead_t *dead)
{
    const uint8_t *p = val->mv_data;

    if (val->mv_size < SPOOL__DEAD_HEAD || spool__get32(p) != SPOOL__DEAD_MAGIC)
        return MDB_CORRUPTED;
    dead->attempts = spool__get32(p + 4);
    dead->received_ms = (int64_t)spool__get64(p + 8);
    dead->dead_ms = (int64_t)spool__get64(p + 16);
    dead->size = spool__get64(p + 24);
    dead->delivered = spool__get32(p + 32);
    dead->id_len = spool__get16(p + 36);
    dead->reason_len = spool__get16(p + 38);
    if (dead->id_len > SPOOL_CRASH_ID_MAX || dead->reason_len > SPOOL_REASON_MAX ||
        val->mv_size < SPOOL__DEAD_HEAD + dead->id_len + dead->reason_len ||
        val->mv_size - SPOOL__DEAD_HEAD - dead->id_len - dead->reason_len != dead->size)
        return MDB_CORRUPTED;
    dead->id = (const char *)p + SPOOL__DEAD_HEAD;
    dead->reason = dead->id + dead->id_len;
    dead->blob = dead->reason + dead->reason_len;
    return 0;
}

/* ---- environment ---- */

static int count_entries(MDB_txn *txn, MDB_dbi dbi, size_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(txn, dbi, &st);
    *n = rc == 0 ? st.ms_entries : 0;
    return rc;
}

static int last_seq(MDB_txn *txn, MDB_dbi dbi, uint64_t *seq)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    int rc;

    *seq = 0;
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        return rc;
    rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    if (rc == 0 && key.mv_size == 8)
        *seq = spool__get64be(key.mv_data);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Recomputes the counters from the tables (only after a meta/table mismatch, i.e. never in practice). */
static int rebuild_meta(spool_t *spool, MDB_txn *txn, spool__meta_t *meta)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    uint64_t last_rec, last_dead;
    int rc;

    memset(meta, 0, sizeof(*meta));
    if ((rc = mdb_cursor_open(txn, spool->dbi_state, &cur)) != 0)
        goto Exit;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        spool__state_t st;
        if (spool__state_decode(&val, &st) == 0) {
            ++meta->count;
            meta->bytes += st.size;
        }
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (rc != MDB_NOTFOUND || (rc = mdb_cursor_open(txn, spool->dbi_dead, &cur)) != 0)
        goto Exit;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        spool__dead_t dead;
        if (spool__dead_decode(&val, &dead) == 0) {
            ++meta->dead_count;
            meta->dead_bytes += dead.size;
        }
    }
    if (rc != MDB_NOTFOUND)
        goto Exit;
    if ((rc = last_seq(txn, spool->dbi_records, &last_rec)) != 0 || (rc = last_seq(txn, spool->dbi_dead, &last_dead)) != 0)
        goto Exit;
    meta->next_seq = (last_rec > last_dead ? last_rec : last_dead) + 1;
    rc = spool__meta_put(spool, txn, meta);

Exit:
    if (cur != NULL)
        mdb_cursor_close(cur);
    return rc;
}

/* Reads the meta, checks it against the tables' entry counts, creates or repairs it in read-write mode. */
static int validate(spool_t *spool, MDB_txn *txn, spool__meta_t *meta)
{
    size_t n_rec, n_state, n_ids, n_due, n_dead, n_dead_ids;
    uint64_t last_rec, last_dead;
    int rc, fresh = 0;

    if ((rc = spool__meta_get(spool, txn, meta)) == MDB_NOTFOUND) {
        fresh = 1;
        memset(meta, 0, sizeof(*meta));
        meta->next_seq = 1;
    } else if (rc != 0) {
        log_error("spool", "%s: not a spool of format %d (%s)", spool->dir, SPOOL__FORMAT_VERSION, mdb_strerror(rc));
        return rc;
    }
    if ((rc = count_entries(txn, spool->dbi_records, &n_rec)) != 0 || (rc = count_entries(txn, spool->dbi_state, &n_state)) != 0 ||
        (rc = count_entries(txn, spool->dbi_ids, &n_ids)) != 0 || (rc = count_entries(txn, spool->dbi_due, &n_due)) != 0 ||
        (rc = count_entries(txn, spool->dbi_dead, &n_dead)) != 0 ||
        (rc = count_entries(txn, spool->dbi_dead_ids, &n_dead_ids)) != 0 ||
        (rc = last_seq(txn, spool->dbi_records, &last_rec)) != 0 || (rc = last_seq(txn, spool->dbi_dead, &last_dead)) != 0)
        return rc;
    /* ids of records past the merged sequence may be in memory only (load_recent checks those) */
    if (n_rec != n_state || n_ids > n_rec || n_rec != n_due || n_dead != n_dead_ids)
        log_error("spool", "%s: tables disagree (records %zu, state %zu, ids %zu, due %zu, dead %zu, dead ids %zu)", spool->dir,
                  n_rec, n_state, n_ids, n_due, n_dead, n_dead_ids);
    if (meta->count == n_state && meta->dead_count == n_dead && meta->next_seq > last_rec && meta->next_seq > last_dead) {
        if (fresh && !spool->config.readonly)
            rc = spool__meta_put(spool, txn, meta);
        return rc;
    }
    if (spool->config.readonly) {
        log_warn("spool", "%s: counters disagree with the tables (read-only, not repaired)", spool->dir);
        return 0;
    }
    if (!fresh || n_state != 0 || n_dead != 0)
        log_warn("spool", "%s: counters missing or disagreeing with the tables, recounting", spool->dir);
    return rebuild_meta(spool, txn, meta);
}

int spool__oldest_received(spool_t *spool, MDB_txn *txn, int64_t *oldest)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    spool__state_t st;
    int rc;

    *oldest = 0;
    if ((rc = mdb_cursor_open(txn, spool->dbi_state, &cur)) != 0)
        return rc;
    if ((rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST)) == 0 && (rc = spool__state_decode(&val, &st)) == 0)
        *oldest = st.received_ms;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Rebuilds spool->recent: the crash ids of the records past the merged sequence, which a server that
 * stopped without merging (killed) had only in memory. Reads the state table from that sequence on.
 */
static int load_recent(spool_t *spool, MDB_txn *txn, const spool__meta_t *meta)
{
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    uint8_t kbuf[8];
    uint64_t merged;
    spool__state_t st;
    int rc;

    pthread_rwlock_wrlock(&spool->recent_lock);
    spool_ids_clear(&spool->recent);
    if ((rc = spool__merged_get(spool, txn, meta->next_seq, &merged)) == MDB_NOTFOUND) {
        /* a new spool, or one written before ids were buffered: every id is in the index. Record it
         * now, before anything is buffered, so that other processes (the CLI) read the same */
        rc = spool->config.readonly ? 0 : spool__merged_put(spool, txn, merged);
    }
    if (rc != 0 || (rc = mdb_cursor_open(txn, spool->dbi_state, &cur)) != 0)
        goto Exit;
    spool__put64be(kbuf, merged + 1);
    key.mv_size = sizeof(kbuf);
    key.mv_data = kbuf;
    size_t damaged = 0;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        /* a damaged record must not keep the spool from opening: listing it reports it */
        if (key.mv_size != 8 || spool__state_decode(&val, &st) != 0) {
            ++damaged;
            continue;
        }
        if (spool_ids_put(&spool->recent, st.id, st.id_len, spool__get64be(key.mv_data)) != 0) {
            rc = ENOMEM;
            break;
        }
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (damaged != 0)
        log_error("spool", "%s: %zu damaged state records past the merged sequence", spool->dir, damaged);
Exit:
    if (cur != NULL)
        mdb_cursor_close(cur);
    metrics_gauge_set(spool->metrics.recent_ids, (double)spool->recent.count);
    pthread_rwlock_unlock(&spool->recent_lock);
    return rc;
}

int spool__env_open(spool_t *spool)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_envinfo info;
    spool__meta_t meta;
    int64_t oldest = 0;
    unsigned dbflags = spool->config.readonly ? 0 : MDB_CREATE;
    size_t map_size = atomic_load(&spool->map_size);
    int rc;

    if ((rc = mdb_env_create(&env)) != 0)
        goto Exit;
    if ((rc = mdb_env_set_maxdbs(env, 8)) != 0 || (rc = mdb_env_set_maxreaders(env, 256)) != 0)
        goto Exit;
    /* Without a size set, LMDB opens an existing file with the size last stored in it, so a map grown
     * before a restart stays grown; a size set here would replace it. */
    if (map_size != 0 && (rc = mdb_env_set_mapsize(env, map_size)) != 0)
        goto Exit;
    if ((rc = mdb_env_open(env, spool->dir, MDB_NOTLS | (spool->config.readonly ? MDB_RDONLY : 0), 0600)) != 0) {
        log_error("spool", "cannot open %s: %s", spool->dir, mdb_strerror(rc));
        goto Exit;
    }
    mdb_env_info(env, &info);
    if (info.me_mapsize < spool->config.map_size_initial && (rc = mdb_env_set_mapsize(env, spool->config.map_size_initial)) != 0)
        goto Exit;
    if ((rc = mdb_txn_begin(env, NULL, spool->config.readonly ? MDB_RDONLY : 0, &txn)) != 0)
        goto Exit;
    if ((rc = mdb_dbi_open(txn, "meta", dbflags, &spool->dbi_meta)) != 0 ||
        (rc = mdb_dbi_open(txn, "records", dbflags, &spool->dbi_records)) != 0 ||
        (rc = mdb_dbi_open(txn, "state", dbflags, &spool->dbi_state)) != 0 ||
        (rc = mdb_dbi_open(txn, "due", dbflags, &spool->dbi_due)) != 0 ||
        (rc = mdb_dbi_open(txn, "ids", dbflags, &spool->dbi_ids)) != 0 ||
        (rc = mdb_dbi_open(txn, "dead", dbflags, &spool->dbi_dead)) != 0 ||
        (rc = mdb_dbi_open(txn, "dead_ids", dbflags, &spool->dbi_dead_ids)) != 0) {
        log_error("spool", "%s: cannot open the spool tables: %s", spool->dir, mdb_strerror(rc));
        if (rc == MDB_NOTFOUND)
            rc = MDB_INCOMPATIBLE;
        goto Exit;
    }
    if ((rc = validate(spool, txn, &meta)) != 0 || (rc = spool__oldest_received(spool, txn, &oldest)) != 0 ||
        (rc = load_recent(spool, txn, &meta)) != 0)
        goto Exit;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto Exit;
    mdb_env_info(env, &info);
    atomic_store(&spool->map_size, info.me_mapsize);
    metrics_gauge_set(spool->metrics.map_size, (double)info.me_mapsize);
    spool__meta_publish(spool, &meta, oldest);
    log_info("spool", "opened %s: %" PRIu64 " records (%" PRIu64 " bytes), %" PRIu64 " dead letters, %zu ids not yet merged, map %zu bytes%s",
             spool->dir, meta.count, meta.bytes, meta.dead_count, spool->recent.count, info.me_mapsize,
             spool->config.readonly ? ", read-only" : "");
    spool->env = env;
    env = NULL;

Exit:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    return rc;
}

void spool__env_close(spool_t *spool)
{
    if (spool->env != NULL) {
        mdb_env_close(spool->env);
        spool->env = NULL;
    }
}

int spool__txn_begin(spool_t *spool, unsigned flags, MDB_txn **txn)
{
    int rc;

    for (;;) {
        pthread_rwlock_rdlock(&spool->maplock);
        if (spool->env == NULL) {
            rc = MDB_PANIC;
        } else if ((rc = mdb_txn_begin(spool->env, NULL, flags, txn)) == 0) {
            return 0;
        }
        pthread_rwlock_unlock(&spool->maplock);
        if (rc != MDB_MAP_RESIZED)
            return rc;
        /* another process (e.g. the admin CLI) grew the map: adopt its size, with no transaction open */
        pthread_rwlock_wrlock(&spool->maplock);
        if ((rc = mdb_env_set_mapsize(spool->env, 0)) == 0) {
            MDB_envinfo info;
            mdb_env_info(spool->env, &info);
            atomic_store(&spool->map_size, info.me_mapsize);
        }
        pthread_rwlock_unlock(&spool->maplock);
        if (rc != 0)
            return rc;
    }
}

void spool__txn_end(spool_t *spool)
{
    pthread_rwlock_unlock(&spool->maplock);
}

/* ---- lifecycle ---- */

static void register_metrics(spool_t *spool)
{
    static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

    spool->metrics.commits = metrics_counter("edge_spool_commits_total", "Spool write transactions committed", NULL);
    spool->metrics.bytes_written = metrics_counter("edge_spool_bytes_written_total", "Crash bytes committed to the spool", NULL);
    spool->metrics.fail_full = metrics_counter("edge_spool_commit_failures_total", "Spool batches that failed", "reason=\"full\"");
    spool->metrics.fail_error =
        metrics_counter("edge_spool_commit_failures_total", "Spool batches that failed", "reason=\"error\"");
    spool->metrics.busy =
        metrics_counter("edge_spool_busy_total", "Crashes refused because the spool queue was over its byte budget", NULL);
    spool->metrics.map_grows = metrics_counter("edge_spool_map_grows_total", "Times the spool map was grown", NULL);
    spool->metrics.batch_jobs = metrics_histogram("edge_spool_commit_batch_jobs", "Jobs per spool write transaction", NULL,
                                                  batch_bounds, sizeof(batch_bounds) / sizeof(batch_bounds[0]));
    spool->metrics.commit_seconds = metrics_histogram("edge_spool_commit_seconds", "Spool batch latency, begin to fsync'ed commit",
                                                      NULL, metrics_latency_buckets, metrics_latency_buckets_count);
    spool->metrics.map_size = metrics_gauge("edge_spool_map_size_bytes", "Current LMDB map size of the spool", NULL);
    spool->metrics.records = metrics_gauge("edge_spool_records", "Crashes waiting in the spool", NULL);
    spool->metrics.record_bytes = metrics_gauge("edge_spool_record_bytes", "Bytes of the crashes waiting in the spool", NULL);
    spool->metrics.dead_records = metrics_gauge("edge_spool_dead_records", "Crashes in the dead-letter table", NULL);
    spool->metrics.dead_bytes = metrics_gauge("edge_spool_dead_bytes", "Bytes of the crashes in the dead-letter table", NULL);
    spool->metrics.queued_bytes = metrics_gauge("edge_spool_queued_bytes", "Crash bytes queued for the spool writer", NULL);
    spool->metrics.full = metrics_gauge("edge_spool_full", "1 while the spool cannot store crashes for lack of space", NULL);
    spool->metrics.oldest = metrics_gauge("edge_spool_oldest_received_timestamp_seconds",
                                          "Receipt time of the oldest waiting crash (0 when none)", NULL);
    spool->metrics.recent_ids =
        metrics_gauge("edge_spool_recent_ids", "Crash ids kept in memory until the next merge into the id index", NULL);
    spool->metrics.merge_seconds = metrics_histogram("edge_spool_id_merge_seconds", "Duration of a merge of recent crash ids into the index",
                                                     NULL, metrics_latency_buckets, metrics_latency_buckets_count);
}

int spool_create(const spool_config_t *config, spool_t **out)
{
    spool_t *spool = NULL;
    int rc, locks = 0;

    *out = NULL;
    if (config->dir == NULL || config->dir[0] == '\0' || config->upstream_count == 0 ||
        config->upstream_count > SPOOL_UPSTREAMS_MAX || config->map_size_initial == 0 ||
        config->map_size_max < config->map_size_initial || (config->buffer_ids && config->ids_merge_at == 0))
        return -EINVAL;
    if ((spool = calloc(1, sizeof(*spool))) == NULL)
        return -ENOMEM;
    spool->config = *config;
    if ((spool->dir = strdup(config->dir)) == NULL) {
        rc = -ENOMEM;
        goto Error;
    }
    spool->config.dir = spool->dir;
    spool->all_upstreams = config->upstream_count == 32 ? UINT32_MAX : ((uint32_t)1 << config->upstream_count) - 1;

    /* writers first: a reader must never starve the writer that wants to grow the map */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&spool->maplock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        rc = -rc;
        goto Error;
    }
    if ((rc = pthread_rwlock_init(&spool->recent_lock, NULL)) != 0) {
        pthread_rwlock_destroy(&spool->maplock);
        rc = -rc;
        goto Error;
    }
    spool_ids_init(&spool->recent);
    pthread_mutex_init(&spool->mutex, NULL);
    pthread_cond_init(&spool->cond, NULL);
    locks = 1;
    register_metrics(spool);

    if (!config->readonly && mkdir(spool->dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        log_error("spool", "cannot create %s: %s", spool->dir, strerror(errno));
        goto Error;
    }
    if ((rc = spool__env_open(spool)) != 0) {
        rc = spool__translate(rc);
        goto Error;
    }
    if (!config->readonly && (rc = spool__writer_start(spool)) != 0)
        goto Error;
    *out = spool;
    return 0;

Error:
    spool__env_close(spool);
    if (locks) {
        pthread_rwlock_destroy(&spool->maplock);
        pthread_rwlock_destroy(&spool->recent_lock);
        pthread_mutex_destroy(&spool->mutex);
        pthread_cond_destroy(&spool->cond);
    }
    spool_ids_dispose(&spool->recent);
    free(spool->dir);
    free(spool);
    return rc;
}

void spool_destroy(spool_t *spool)
{
    if (spool == NULL)
        return;
    spool__writer_stop(spool);
    spool__env_close(spool);
    pthread_rwlock_destroy(&spool->maplock);
    pthread_rwlock_destroy(&spool->recent_lock);
    pthread_mutex_destroy(&spool->mutex);
    pthread_cond_destroy(&spool->cond);
    spool_ids_dispose(&spool->recent);
    free(spool->undo.items);
    log_info("spool", "closed %s", spool->dir);
    free(spool->dir);
    free(spool);
}

int spool_is_full(spool_t *spool)
{
    return atomic_load(&spool->full);
}

int spool_last_error(spool_t *spool)
{
    return atomic_load(&spool->last_error);
}

/* ---- stats ---- */

int spool_stats(spool_t *spool, spool_stats_t *out)
{
    MDB_txn *txn = NULL;
    spool__meta_t meta;
    MDB_envinfo info;
    MDB_stat st;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = spool__txn_begin(spool, MDB_RDONLY, &txn)) != 0)
        return spool__translate(rc);
    if ((rc = spool__meta_get(spool, txn, &meta)) == 0 && (rc = spool__oldest_received(spool, txn, &out->oldest_received_ms)) == 0) {
        out->count = meta.count;
        out->bytes = meta.bytes;
        out->dead_count = meta.dead_count;
        out->dead_bytes = meta.dead_bytes;
        out->next_seq = meta.next_seq;
        mdb_env_info(spool->env, &info);
        mdb_env_stat(spool->env, &st);
        out->map_size = info.me_mapsize;
        out->map_used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    }
    mdb_txn_abort(txn);
    spool__txn_end(spool);
    out->queued_bytes = atomic_load(&spool->queued_bytes);
    out->full = atomic_load(&spool->full);
    out->last_error = atomic_load(&spool->last_error);
    return spool__translate(rc);
}
