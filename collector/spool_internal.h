// SPDX-License-Identifier: MIT
/*
 * spool_internal: what spool.c (environment, formats, transactions), spool_read.c (the read API) and
 * spool_writer.c (queue, writer thread, batches) share. Not part of the collector's public face.
 *
 * The value formats documented in spool.h are encoded and decoded here, field by field with memcpy,
 * so no value is ever accessed through a misaligned pointer into the map.
 */
#ifndef edge__collector_spool_internal_h
#define edge__collector_spool_internal_h

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <lmdb.h>
#include "edge/metrics.h"
#include "collector/spool.h"
#include "collector/spool_ids.h"

#define SPOOL__FORMAT_VERSION 1
#define SPOOL__RECORD_MAGIC 0x43525345u /* "ESRC" */
#define SPOOL__DEAD_MAGIC 0x4c445345u   /* "ESDL" */
#define SPOOL__META_SIZE 48
#define SPOOL__RECORD_HEAD 16
#define SPOOL__STATE_HEAD 40
#define SPOOL__DEAD_HEAD 40

/** The "stats" value of the meta database. */
typedef struct st_spool__meta_t {
    uint64_t next_seq;
    uint64_t count;
    uint64_t bytes;
    uint64_t dead_count;
    uint64_t dead_bytes;
} spool__meta_t;

/** A decoded "state" value; id and error point into the value (valid as long as it is). */
typedef struct st_spool__state_t {
    uint32_t attempts;
    uint32_t delivered;
    int64_t received_ms;
    int64_t next_attempt_ms;
    uint64_t size;
    const char *id;
    size_t id_len;
    const char *error;
    size_t error_len;
} spool__state_t;

/** A decoded "dead" value; pointers into the value. */
typedef struct st_spool__dead_t {
    uint32_t attempts;
    uint32_t delivered;
    int64_t received_ms;
    int64_t dead_ms;
    uint64_t size;
    const char *id;
    size_t id_len;
    const char *reason;
    size_t reason_len;
    const void *blob;
} spool__dead_t;

struct st_spool_t {
    spool_config_t config; /* config.dir points to dir */
    char *dir;
    uint32_t all_upstreams;
    /* environment; the rwlock is held shared by every open transaction (the writer's included) and
     * exclusively around mdb_env_set_mapsize and reopening */
    MDB_env *env;
    MDB_dbi dbi_meta, dbi_records, dbi_state, dbi_due, dbi_ids, dbi_dead, dbi_dead_ids;
    pthread_rwlock_t maplock;
    _Atomic size_t map_size;
    /* queue, guarded by mutex */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    spool_job_t *head, *tail;
    int stopping;
    int writer_started;
    pthread_t writer;
    /* crash ids of the records past the "merged up to" sequence (spool_ids.h): the writer changes
     * them under recent_lock held for writing, readers look ids up under it held for reading */
    spool_ids_t recent;
    pthread_rwlock_t recent_lock;
    /* writer only: what the current batch did to recent, undone if the batch does not commit */
    struct {
        struct st_spool__undo_t *items;
        size_t count, cap;
    } undo;
    size_t merge_retry_at; /* writer only: after a failed merge, wait for this many ids */
    /* health, written by the writer, read anywhere */
    _Atomic size_t queued_bytes;
    atomic_int full;
    atomic_int last_error;
    struct {
        metrics_counter_t *commits, *bytes_written, *fail_full, *fail_error, *busy, *map_grows;
        metrics_histogram_t *batch_jobs, *commit_seconds, *merge_seconds;
        metrics_gauge_t *map_size, *records, *record_bytes, *dead_records, *dead_bytes, *queued_bytes, *full, *oldest, *recent_ids;
    } metrics;
};

/* spool.c */
/** Translates an LMDB or system code (positive errno) into a spool status / -errno. */
int spool__translate(int mdb_rc);
/** Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t spool__now_ms(void);
/** Opens the environment and its databases, validating (and in read-write mode repairing) the meta. */
int spool__env_open(spool_t *spool);
void spool__env_close(spool_t *spool);
/**
 * Begins a transaction holding maplock shared; adopts a map grown by another process (MDB_MAP_RESIZED).
 * @return an LMDB code; on success release with spool__txn_end() after commit/abort.
 */
int spool__txn_begin(spool_t *spool, unsigned flags, MDB_txn **txn);
void spool__txn_end(spool_t *spool);
int spool__meta_get(spool_t *spool, MDB_txn *txn, spool__meta_t *meta);
/**
 * Every record up to this sequence has its crash id in the id index; later ones may have it only in
 * spool->recent. A spool written before the key existed has every id in the index.
 * @return an LMDB code; MDB_NOTFOUND when the key is absent (*merged is then next_seq - 1).
 */
int spool__merged_get(spool_t *spool, MDB_txn *txn, uint64_t next_seq, uint64_t *merged);
int spool__merged_put(spool_t *spool, MDB_txn *txn, uint64_t merged);
int spool__meta_put(spool_t *spool, MDB_txn *txn, const spool__meta_t *meta);
/** Publishes counters of a committed meta to the gauges. */
void spool__meta_publish(spool_t *spool, const spool__meta_t *meta, int64_t oldest_ms);
int spool__state_decode(const MDB_val *val, spool__state_t *state);

/** Receipt time (ms) of the oldest record, 0 when the spool is empty. @return an LMDB code. */
int spool__oldest_received(spool_t *spool, MDB_txn *txn, int64_t *oldest);
int spool__dead_decode(const MDB_val *val, spool__dead_t *dead);

/* spool_writer.c */
int spool__writer_start(spool_t *spool);
void spool__writer_stop(spool_t *spool);
/** Doubles the map (up to the configured maximum). @return 0, or MDB_MAP_FULL at the maximum. Writer thread. */
int spool__grow_map(spool_t *spool);

/* spool_recent.c (writer thread) */
/** Files the id of a record the current batch adds (buffer_ids). @return 0 or ENOMEM. */
int spool__recent_add(spool_t *spool, const char *id, size_t id_len, uint64_t seq);
/** Forgets the id of a record the current batch removes, if it is in memory. @return 0 or ENOMEM. */
int spool__recent_remove(spool_t *spool, const char *id, size_t id_len, uint64_t seq);
/** The current batch did not commit: takes its changes to the set back. */
void spool__recent_undo(spool_t *spool);
/** Merges the set into the id index and moves the merged sequence; on failure the set stays. */
void spool__recent_merge(spool_t *spool);

/* encoding helpers */
static inline void spool__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void spool__put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i != 4; ++i)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void spool__put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i != 8; ++i)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t spool__get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t spool__get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t spool__get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

static inline void spool__put64be(uint8_t *p, uint64_t v)
{
    for (int i = 0; i != 8; ++i)
        p[i] = (uint8_t)(v >> (8 * (7 - i)));
}

static inline uint64_t spool__get64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i != 8; ++i)
        v = (v << 8) | p[i];
    return v;
}

/** Fills the 16 bytes of a "due" key. */
static inline void spool__due_key(uint8_t *key, int64_t next_attempt_ms, uint64_t seq)
{
    spool__put64be(key, next_attempt_ms < 0 ? 0 : (uint64_t)next_attempt_ms);
    spool__put64be(key + 8, seq);
}

/** Size of the state value of a record with these lengths. */
static inline size_t spool__state_size(size_t id_len, size_t error_len)
{
    return SPOOL__STATE_HEAD + id_len + error_len;
}

static inline void spool__state_encode(uint8_t *p, const spool__state_t *st)
{
    spool__put32(p, SPOOL__FORMAT_VERSION);
    spool__put32(p + 4, st->attempts);
    spool__put64(p + 8, (uint64_t)st->received_ms);
    spool__put64(p + 16, (uint64_t)st->next_attempt_ms);
    spool__put64(p + 24, st->size);
    spool__put32(p + 32, st->delivered);
    spool__put16(p + 36, (uint16_t)st->id_len);
    spool__put16(p + 38, (uint16_t)st->error_len);
    memcpy(p + SPOOL__STATE_HEAD, st->id, st->id_len);
    if (st->error_len != 0)
        memcpy(p + SPOOL__STATE_HEAD + st->id_len, st->error, st->error_len);
}

#endif
