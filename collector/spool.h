// SPDX-License-Identifier: MIT
/*
 * spool: the collector's durable crash store, an LMDB environment with a group-commit writer thread.
 *
 * A crash is acknowledged only once the LMDB commit that holds it has returned (fsync'ed; the
 * environment never uses MDB_NOSYNC). Every write goes through ONE writer thread: worker threads
 * queue jobs with spool_submit(); the writer takes every job queued meanwhile, applies them all in a
 * single write transaction, commits, then calls each job's callback with its status. One fsync is
 * thus shared by every crash that arrived during the previous commit ("group commit"). The
 * forwarder's state changes (delivered, reschedule, dead letter) and the admin's requeue/purge are
 * jobs too, so they share the batches and never contend for LMDB's single writer lock.
 *
 * Thread model:
 *  - spool_submit() and every read function may be called from any thread, concurrently.
 *  - Job callbacks run on the writer thread (or, for jobs still queued at spool_destroy(), on the
 *    destroying thread). They must be short and must not call spool_submit_wait() or spool_destroy();
 *    they may call spool_submit() and the read functions. The h2o glue forwards the result to the
 *    worker with h2o_multithread_send_message.
 *  - Reads run in short LMDB read transactions and return copies; nothing they return points into
 *    the map. A process-wide rwlock keeps map growth (mdb_env_set_mapsize) away from open transactions.
 *
 * Storage layout (named databases in <dir>/data.mdb, integers little-endian unless noted):
 *  - "meta"     key "stats": magic "ESPM", u32 format version (1), u64 next_seq, u64 count,
 *               u64 bytes, u64 dead_count, u64 dead_bytes. Updated in the same transaction as every
 *               change, so spool_stats() is O(1). Sequences are never reused.
 *  - "records"  key: u64 sequence, BIG-endian (memcmp order = FIFO), inserted with MDB_APPEND.
 *               value: magic "ESRC", u16 version (1), u16 id length, u64 received time (ms since the
 *               epoch), then the crash id, then the opaque blob. Written once, never modified.
 *  - "state"    same key; value: u32 version (1), u32 attempts, u64 received ms, u64 next attempt ms,
 *               u64 blob size, u32 delivered bitmask (bit i = upstream i has it), u16 id length,
 *               u16 last-error length, then the crash id, then the last error text.
 *  - "due"      key: u64 next attempt ms BE + u64 sequence BE, empty value: the schedule index.
 *  - "ids"      key: crash id; value: u64 sequence BE (records in the main table only).
 *  - "dead"     key: the record's (last) sequence BE; value: magic "ESDL", u32 attempts, u64 received
 *               ms, u64 dead-letter ms, u64 blob size, u32 delivered bitmask, u16 id length, u16 reason
 *               length, then crash id, reason (e.g. the upstream's answer), blob.
 *  - "dead_ids" key: crash id; value: u64 sequence BE (dead-letter table).
 * A crash id lives in at most one of "ids" and "dead_ids". Deleting a delivered record touches five
 * B-tree keys: O(log n) whatever the backlog. Nothing is "in flight" on disk: after a crash or a
 * restart the spool holds exactly what was committed, and every record is due again at its stored time.
 */
#ifndef edge__collector_spool_h
#define edge__collector_spool_h

#include <stddef.h>
#include <stdint.h>

/** Longest crash id accepted (ids minted by crashid are 36 characters). */
#define SPOOL_CRASH_ID_MAX 64
/** Longest "last error" text kept per record (longer text is truncated). */
#define SPOOL_ERROR_MAX 255
/** Longest dead-letter reason kept (longer text is truncated). */
#define SPOOL_REASON_MAX 4095
/** Most upstreams a record can be tracked for (bits of the delivered mask). */
#define SPOOL_UPSTREAMS_MAX 32

/** Flag for the read functions: also copy the blob. */
#define SPOOL_READ_BLOB 0x1

typedef struct st_spool_t spool_t;
typedef struct st_spool_job_t spool_job_t;

/**
 * Statuses. Functions and callbacks report 0, one of these, or a negative errno (-ENOMEM, -EIO, ...).
 * They are negative and far from the errno range; spool_strerror() names all of them.
 */
typedef enum en_spool_status_t {
    SPOOL_OK = 0,
    SPOOL_BUSY = -10001,      /**< byte budget of the queue exhausted: retry later (503 + Retry-After) */
    SPOOL_FULL = -10002,      /**< map at its maximum size, or the disk is full */
    SPOOL_SHUTDOWN = -10003,  /**< the spool is being destroyed */
    SPOOL_NOT_FOUND = -10004, /**< no such record / crash id */
    SPOOL_DUPLICATE = -10005, /**< the crash id is already stored (main or dead-letter table) */
    SPOOL_CORRUPT = -10006,   /**< the environment is not a spool of this format, or is damaged */
    SPOOL_READONLY = -10007,  /**< the spool was opened read-only */
} spool_status_t;

typedef struct st_spool_config_t {
    /** Directory of the LMDB environment; created (mode 0700) when missing, its parent must exist. */
    const char *dir;
    /** Map size at first open (bytes, rounded by LMDB to pages). Default 64 MiB. */
    size_t map_size_initial;
    /** The map doubles on demand up to this size; beyond it, puts fail with SPOOL_FULL. Default 32 GiB. */
    size_t map_size_max;
    /** spool_submit() refuses puts with SPOOL_BUSY while more blob bytes than this are queued. Default 256 MiB. */
    size_t queue_bytes_max;
    /** Number of upstreams a record must reach before it is deleted (1..SPOOL_UPSTREAMS_MAX). Default 1. */
    unsigned upstream_count;
    /** Open read-only (admin CLI on a running server): no writer thread, spool_submit() fails. */
    int readonly;
    /**
     * Keep the crash ids of new records in memory and merge them into the id index in one sorted
     * transaction once ids_merge_at of them are waiting (the server: intake stays fast whatever the
     * backlog). Default 1. 0 writes each id into the index at once: a second process on the same
     * spool (the CLI while the server runs) must, since it cannot know the ids the server holds.
     */
    int buffer_ids;
    /** Ids kept in memory before a merge. Default 65,536 (about 10 MB). */
    size_t ids_merge_at;
} spool_config_t;

/** Kinds of job; see the spool_job_init_* helpers for the fields each one reads. */
typedef enum en_spool_job_type_t {
    SPOOL_JOB_PUT = 1,    /**< store a new crash */
    SPOOL_JOB_DELIVERED,  /**< OR upstream bits into the delivered mask; delete once all upstreams have it */
    SPOOL_JOB_RESCHEDULE, /**< attempts += 1, set next attempt time and last error */
    SPOOL_JOB_DEAD,       /**< move a record to the dead-letter table with a reason */
    SPOOL_JOB_DELETE,     /**< delete a record from the main table */
    SPOOL_JOB_REQUEUE,    /**< move a dead letter back to the main table: new sequence, received now, state reset */
    SPOOL_JOB_PURGE,      /**< delete one dead letter, or all of them when crash_id is "" */
} spool_job_type_t;

/**
 * Called once per accepted job, after the commit that applied it (or after it failed).
 * @param job    the job; the spool no longer touches it once the callback runs, so it may free it.
 * @param status 0 when committed; SPOOL_FULL, SPOOL_SHUTDOWN or -errno when the whole batch failed
 *               (nothing of it is stored); SPOOL_DUPLICATE or SPOOL_NOT_FOUND for that job alone
 *               (the rest of the batch committed).
 * @note Runs on the writer thread (see the thread model above).
 */
typedef void (*spool_job_cb)(spool_job_t *job, int status);

/**
 * One queued write, allocated by the caller (e.g. inside its request context) and owned by the caller;
 * it must stay valid and untouched from a successful spool_submit() until its callback returns.
 * Fill it with a spool_job_init_* helper.
 */
struct st_spool_job_t {
    spool_job_type_t type;
    spool_job_cb cb;
    void *data; /**< for the caller */
    /** PUT, REQUEUE, PURGE: the crash id (NUL-terminated). */
    char crash_id[SPOOL_CRASH_ID_MAX + 1];
    /** DELIVERED, RESCHEDULE, DEAD, DELETE: the record. Output (when the status is 0): the new sequence
     * of PUT and REQUEUE (0 on failure), the number of dead letters removed by PURGE. */
    uint64_t seq;
    /** PUT: the blob. The spool releases it before calling cb (free(blob), or blob_free(blob_free_arg)
     * when blob_free is set); NULL afterwards. */
    void *blob;
    size_t blob_len;
    void (*blob_free)(void *arg);
    void *blob_free_arg;
    /** DELIVERED: upstream bits. */
    uint32_t upstreams;
    /** RESCHEDULE: next attempt time, ms since the epoch. */
    int64_t next_attempt_ms;
    /** RESCHEDULE: last error; DEAD: reason. Caller-owned, valid until cb; NULL/0 for none. */
    const char *text;
    size_t text_len;
    /* private to the spool */
    spool_job_t *_next;
    int _status;
    int _bad_id; /* the id given to the init helper was too long */
};

/** A record of the main table as the read functions return it. */
typedef struct st_spool_record_t {
    uint64_t seq;
    char crash_id[SPOOL_CRASH_ID_MAX + 1];
    int64_t received_ms;     /**< when it was committed, ms since the epoch */
    int64_t next_attempt_ms; /**< due when <= now */
    uint32_t attempts;
    uint32_t delivered; /**< bit i: upstream i has it */
    size_t size;        /**< blob bytes */
    char last_error[SPOOL_ERROR_MAX + 1];
    /** With SPOOL_READ_BLOB: malloc'ed copy of the blob (size bytes), owned by the caller; else NULL. */
    void *blob;
} spool_record_t;

/** A dead letter as the read functions return it. */
typedef struct st_spool_dead_t {
    uint64_t seq;
    char crash_id[SPOOL_CRASH_ID_MAX + 1];
    int64_t received_ms;
    int64_t dead_ms; /**< when it was dead-lettered */
    uint32_t attempts;
    uint32_t delivered;
    size_t size;
    char *reason; /**< malloc'ed, NUL-terminated, owned by the caller */
    void *blob;   /**< as in spool_record_t */
} spool_dead_t;

typedef struct st_spool_stats_t {
    uint64_t count;             /**< records in the main table */
    uint64_t bytes;             /**< sum of their blob sizes */
    int64_t oldest_received_ms; /**< receipt time of the first record, 0 when empty */
    uint64_t dead_count;
    uint64_t dead_bytes;
    uint64_t next_seq;
    size_t map_size;     /**< current LMDB map size */
    size_t map_used;     /**< bytes of the map in use (last page * page size) */
    size_t queued_bytes; /**< blob bytes accepted by spool_submit() and not yet committed */
    int full;            /**< as spool_is_full() */
    int last_error;      /**< as spool_last_error() */
} spool_stats_t;

/** Fills the defaults (dir stays NULL). */
void spool_config_init(spool_config_t *config);

/**
 * Opens (creating if needed) and validates the spool, then starts the writer thread.
 * @param[in]  config copied; config->dir must be set.
 * @param[out] out    the spool, to be released with spool_destroy().
 * @return 0, -EINVAL (bad config), SPOOL_CORRUPT, or -errno (e.g. -EACCES, -ENOMEM, -EAGAIN when
 *         the lock table is full). Logs the reason.
 */
int spool_create(const spool_config_t *config, spool_t **out);

/**
 * Stops accepting jobs, lets the writer commit everything already queued (callbacks run), joins the
 * writer and closes the environment. NULL is a no-op.
 * @note No other thread may use the spool once this is called.
 */
void spool_destroy(spool_t *spool);

/** Prepares a PUT. crash_id is copied (too long ids make spool_submit() fail with -EINVAL). */
void spool_job_init_put(spool_job_t *job, const char *crash_id, void *blob, size_t blob_len, spool_job_cb cb, void *data);
/**
 * Prepares a PUT of a blob that something else owns, released with release(release_arg): e.g. the
 * bytes of crashrec_record(rec) released by destroying rec, which saves copying them.
 */
void spool_job_init_put_owned(spool_job_t *job, const char *crash_id, const void *blob, size_t blob_len, void (*release)(void *arg),
                              void *release_arg, spool_job_cb cb, void *data);
/** Prepares a DELIVERED: upstreams is the mask of upstreams that now have record seq. */
void spool_job_init_delivered(spool_job_t *job, uint64_t seq, uint32_t upstreams, spool_job_cb cb, void *data);
/** Prepares a RESCHEDULE; error (may be NULL) is kept as last error, truncated to SPOOL_ERROR_MAX. */
void spool_job_init_reschedule(spool_job_t *job, uint64_t seq, int64_t next_attempt_ms, const char *error, size_t error_len,
                               spool_job_cb cb, void *data);
/** Prepares a DEAD; reason (may be NULL) is kept, truncated to SPOOL_REASON_MAX. */
void spool_job_init_dead(spool_job_t *job, uint64_t seq, const char *reason, size_t reason_len, spool_job_cb cb, void *data);
/** Prepares a DELETE. */
void spool_job_init_delete(spool_job_t *job, uint64_t seq, spool_job_cb cb, void *data);
/** Prepares a REQUEUE of a dead letter. */
void spool_job_init_requeue(spool_job_t *job, const char *crash_id, spool_job_cb cb, void *data);
/** Prepares a PURGE of one dead letter, or of all of them when crash_id is NULL or "". */
void spool_job_init_purge(spool_job_t *job, const char *crash_id, spool_job_cb cb, void *data);

/**
 * Queues a job for the writer thread.
 * @return 0 when queued: job->cb will be called exactly once. Otherwise the callback is never called
 *         and the caller keeps the blob: SPOOL_BUSY (PUT only: the queue holds more than
 *         queue_bytes_max blob bytes with this one), SPOOL_SHUTDOWN, SPOOL_READONLY, -EINVAL (bad
 *         crash id, unknown type, no callback, upstream bits out of range).
 * @note Any thread. Never blocks on I/O (takes a mutex for a few instructions).
 */
int spool_submit(spool_t *spool, spool_job_t *job);

/**
 * Submits the job and waits for its commit (admin and tests). job->cb and job->data are replaced.
 * @return the status the callback would have received, or spool_submit()'s synchronous error.
 * @note Never call it from a job callback (the writer would wait for itself).
 */
int spool_submit_wait(spool_t *spool, spool_job_t *job);

/** @return 1 while the last commit that stored crashes failed for lack of space (health check). */
int spool_is_full(spool_t *spool);

/** @return the status of the last failed batch, or 0 if the last batch committed. */
int spool_last_error(spool_t *spool);

/**
 * @param[out] out counters; O(1): two B-tree lookups in a read transaction.
 * @return 0 or a status / -errno.
 */
int spool_stats(spool_t *spool, spool_stats_t *out);

/**
 * Copies up to max due records (next attempt <= now_ms), in (next attempt, sequence) order: fresh
 * records are due from their receipt, so this is FIFO for them, and a rescheduled record goes behind
 * those due earlier. To page past records already being delivered, pass the last returned record's
 * next_attempt_ms and seq as after_ms / after_seq (0, 0 to start from the beginning).
 * @param[out] out   array of max entries; *count of them are filled.
 * @param flags      SPOOL_READ_BLOB to copy blobs.
 * @return 0 or a status / -errno (nothing to free then).
 * @note Free each filled entry with spool_record_dispose().
 */
int spool_due(spool_t *spool, int64_t now_ms, int64_t after_ms, uint64_t after_seq, size_t max, int flags, spool_record_t *out,
              size_t *count);

/**
 * Copies up to max records of the main table in sequence (FIFO) order, starting after sequence
 * after_seq (0 for the first). Blobs are not copied. @return 0 or a status / -errno.
 */
int spool_list(spool_t *spool, uint64_t after_seq, size_t max, spool_record_t *out, size_t *count);

/**
 * Looks a crash id up in the main table.
 * @return 0, SPOOL_NOT_FOUND, or a status / -errno. @note Free out with spool_record_dispose().
 */
int spool_get(spool_t *spool, const char *crash_id, int flags, spool_record_t *out);

/**
 * Looks a record up by its sequence number (what spool_due() and spool_list() give), without the
 * crash-id index. @return 0, SPOOL_NOT_FOUND, or a status / -errno. @note Free out with spool_record_dispose().
 */
int spool_get_seq(spool_t *spool, uint64_t seq, int flags, spool_record_t *out);

/** Frees the blob of a record filled by a read function (and NULLs it). NULL is a no-op. */
void spool_record_dispose(spool_record_t *record);

/** Like spool_list() for the dead-letter table (ordered by sequence). Free each entry with spool_dead_dispose(). */
int spool_dead_list(spool_t *spool, uint64_t after_seq, size_t max, spool_dead_t *out, size_t *count);

/** Like spool_get() for the dead-letter table. Free out with spool_dead_dispose(). */
int spool_dead_get(spool_t *spool, const char *crash_id, int flags, spool_dead_t *out);

/** Frees the reason and blob of a dead letter filled by a read function. NULL is a no-op. */
void spool_dead_dispose(spool_dead_t *dead);

/** @return a static English description of a spool status or -errno. */
const char *spool_strerror(int status);

#endif
