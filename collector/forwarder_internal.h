// SPDX-License-Identifier: MIT
/*
 * forwarder internals shared by forwarder.c (threads, records, outcomes), forwarder_transfer.c
 * (libcurl requests), forwarder_status.c (health check, status JSON), forwarder_config.c (YAML) and
 * the two upstream kinds, upstream_antenna.c and upstream_s3.c. An upstream kind is two pure
 * functions: `plan` turns a decoded crash into the HTTP requests that deliver it (one POST for
 * antenna; PUTs of dumps, dump_names and raw_crash, in that order, for s3), and `judge` reads the
 * answer to one request. forwarder_transfer.c runs the plan with libcurl and forwarder.c turns
 * verdicts into spool jobs. The upstream kinds and the configuration do no I/O, so plans, verdicts
 * and the configuration are unit-tested directly; the thread state at the end is shared by the
 * forwarder's own files only.
 */
#ifndef edge__collector_forwarder_internal_h
#define edge__collector_forwarder_internal_h

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "collector/crashrec.h"
#include "collector/forwarder.h"
#include "collector/spool.h"
#include "edge/conf.h"
#include "edge/metrics.h"

typedef enum en_upstream_kind_t {
    UPSTREAM_ANTENNA = 1,
    UPSTREAM_S3,
} upstream_kind_t;

/** One configured upstream (strings malloc'ed, owned by the forwarder_config_t). */
typedef struct st_upstream_config_t {
    char *name; /**< [A-Za-z0-9_.-]{1,64}, unique: log and metric label */
    upstream_kind_t kind;
    char *url;   /**< antenna: the submit URL; s3: the endpoint (scheme://host[:port]) */
    char *token; /**< antenna bearer token, or NULL */
    char *bucket, *region, *access_key, *secret_key, *prefix; /**< s3; prefix "" or ending in '/' */
    int path_style;
    uint64_t connect_timeout_ms, timeout_ms;
    unsigned concurrency;
    char *ca_file; /**< or NULL for the system store */
    int insecure_skip_verify;
} upstream_config_t;

struct st_forwarder_config_t {
    upstream_config_t *upstreams;
    size_t count;
    uint64_t backoff_initial_ms, backoff_max_ms;
    uint64_t max_pending_age_ms;
    uint64_t dead_letter_window_ms;
    uint64_t poll_interval_ms;
    unsigned batch;
    unsigned circuit_threshold;
    int nice; /* the delivery threads' CPU niceness: intake goes first when CPU is short */
};

/** Why a delivery did not succeed (a metric label: keep the names stable). */
typedef enum en_forwarder_cause_t {
    FORWARDER_CAUSE_NONE = 0,
    FORWARDER_CAUSE_5XX,
    FORWARDER_CAUSE_429,
    FORWARDER_CAUSE_4XX,
    FORWARDER_CAUSE_REDIRECT,
    FORWARDER_CAUSE_BAD_ANSWER,
    FORWARDER_CAUSE_TIMEOUT,
    FORWARDER_CAUSE_CONNECT,
    FORWARDER_CAUSE_TLS,
    FORWARDER_CAUSE_NETWORK,
    FORWARDER_CAUSE_CORRUPT,
    FORWARDER_CAUSE_OTHER,
    FORWARDER_CAUSE_COUNT
} forwarder_cause_t;

typedef enum en_forwarder_verdict_t {
    FORWARDER_DONE = 0,    /**< this request succeeded (the record is delivered after its last one) */
    FORWARDER_RETRY,       /**< transient: reschedule the record with backoff */
    FORWARDER_PERMANENT,   /**< the upstream refuses this crash for good: dead letter */
} forwarder_verdict_t;

/** One HTTP request of a plan. */
typedef struct st_upstream_request_t {
    char *url;                /**< malloc'ed */
    const char *method;       /**< static: "POST" or "PUT" */
    char *content_type;       /**< malloc'ed full value, e.g. "multipart/form-data; boundary=..." */
    const uint8_t *body;      /**< points into owned_body or into the crashrec (which outlives the plan) */
    size_t body_len;
    char *owned_body;         /**< malloc'ed or NULL */
} upstream_request_t;

typedef struct st_upstream_plan_t {
    upstream_request_t *requests; /**< executed in order; each must succeed before the next starts */
    size_t count;
} upstream_plan_t;

/** Deep copy of a config. @return 0 or -ENOMEM. @note Free *out with forwarder_config_destroy(). */
int forwarder_config__copy(const forwarder_config_t *src, forwarder_config_t **out);

/** @return the metric label of a cause ("5xx", "429", "timeout", ...). */
const char *forwarder__cause_name(forwarder_cause_t cause);

/** Frees what a plan owns and zeroes it. */
void upstream__plan_dispose(upstream_plan_t *plan);

/**
 * Antenna: one multipart POST of crashrec_repost_body() with a random boundary (drawn again when
 * it occurs in the content).
 * @return 0, -ENOMEM, -EINVAL (the raw crash is not a JSON object: a corrupt record).
 * @note The plan may point into rec: dispose of the plan first.
 */
int upstream_antenna__plan(const upstream_config_t *up, const crashrec_t *rec, upstream_plan_t *out);

/**
 * Antenna: judges an answer. Delivered only on 2xx with a line `CrashID=bp-<rec's id>`; 2xx with
 * anything else is a bad answer (retry); 3xx retry (redirects are not followed); 408, 429 and 5xx
 * retry; other 4xx permanent.
 * @param status HTTP status (>= 100)
 */
forwarder_verdict_t upstream_antenna__judge(const char *crash_id, long status, const char *body, size_t body_len,
                                            forwarder_cause_t *cause);

/**
 * S3: the PUTs of Socorro's layout, in order: every dump (`v1/dump/<id>` for upload_file_minidump,
 * `v1/<name>/<id>` for the others), `v1/dump_names/<id>`, then `v1/raw_crash/<YYYYMMDD>/<id>`
 * last (the commit marker); keys are prefixed with up->prefix. Path-style URLs are
 * `<url>/<bucket>/<key>`; virtual-host style `<scheme>://<bucket>.<host>/<key>`.
 * @return 0, -ENOMEM, -EINVAL (bad endpoint URL).
 */
int upstream_s3__plan(const upstream_config_t *up, const crashrec_t *rec, upstream_plan_t *out);

/**
 * S3: judges the answer to one PUT. 2xx done; 3xx, 403 (credentials, clock skew), 404 (missing
 * bucket), 408, 409, 429 and 5xx retry (they are about the bucket, not the crash); other 4xx permanent.
 */
forwarder_verdict_t upstream_s3__judge(long status, forwarder_cause_t *cause);

/** @return the `aws:amz:<region>:s3` string for CURLOPT_AWS_SIGV4 in buf. */
const char *upstream_s3__sigv4(const upstream_config_t *up, char *buf, size_t bufsize);

/* --- the delivery threads (forwarder.c, forwarder_transfer.c, forwarder_status.c) --- */

/** Bytes of an upstream's answer kept for judging and for dead-letter reasons. */
#define FORWARDER__RESPONSE_MAX 4096
/** Bytes of the answer quoted in a dead-letter reason or last error. */
#define FORWARDER__QUOTE_MAX 512

typedef struct st_upstream_t upstream_t;

typedef struct st_slot_t {
    upstream_t *up;
    CURL *easy;
    int busy;
    struct curl_slist *headers;
    spool_record_t rec; /* with its blob */
    crashrec_t *crash;  /* views into rec.blob */
    upstream_plan_t plan;
    size_t step;
    int64_t started_ms;
    char response[FORWARDER__RESPONSE_MAX];
    size_t response_len;
    char errbuf[CURL_ERROR_SIZE];
} slot_t;

struct st_upstream_t {
    forwarder_t *fwd;
    const upstream_config_t *cfg;
    unsigned index;
    pthread_t thread;
    int thread_started;
    CURLM *multi;
    slot_t *slots;
    spool_record_t *scratch; /* batch entries for spool_due */
    /* thread-owned state */
    unsigned consecutive_failures;
    int64_t paused_until_ms;
    int64_t next_fill_ms;
    uint64_t rnd;
    /* guarded by fwd->mutex */
    uint64_t *busy;
    size_t busy_count, busy_cap;
    unsigned jobs_outstanding;
    char last_error[SPOOL_ERROR_MAX + 1];
    /* read by any thread */
    atomic_int failing;
    atomic_uint in_flight;
    atomic_uint_fast64_t delivered, retries, dead_letters;
    atomic_int_fast64_t paused_until_pub;
    struct {
        metrics_counter_t *delivered, *dead, *retries[FORWARDER_CAUSE_COUNT];
        metrics_gauge_t *up, *in_flight, *pending, *pending_bytes, *oldest_age;
        metrics_histogram_t *latency;
    } metrics;
};

struct st_forwarder_t {
    forwarder_config_t *config;
    spool_t *spool;
    upstream_t *ups;
    size_t count;
    atomic_int stop;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    /* sampled spool counters (any thread reads) */
    atomic_uint_fast64_t pending, pending_bytes;
    atomic_int_fast64_t oldest_ms;
    atomic_int_fast64_t last_sample_ms;
};

/* forwarder.c */
/** Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t forwarder__now_ms(void);
/** Turns a finished record into its spool job, counters, circuit state and log lines; frees the slot. */
void forwarder__finish_record(slot_t *slot, forwarder_verdict_t verdict, forwarder_cause_t cause, const char *detail);

/* forwarder_transfer.c */
/** Configures the slot's easy handle for the current request of its plan and adds it to the multi. @return 0 or -ENOMEM. */
int forwarder__start_request(slot_t *slot);
/** A transfer of slot finished with code: judge it, then go on with the plan or finish the record. */
void forwarder__on_transfer_done(slot_t *slot, CURLcode code);

/* forwarder_status.c: the "forwarder_backlog" health check, whose state is per process */
/** Sets the check's limits and baseline (the dead letters present now) and registers it once. @return 0 or -1 (err filled). */
int forwarder__health_start(const forwarder_t *fwd, conf_error_t *err);
/** The check reports "forwarder not running" until the next forwarder__health_start(). */
void forwarder__health_stop(void);
/** Feeds the check the spool counters sampled at now. */
void forwarder__health_sample(const spool_stats_t *st, int64_t now);
/** A dead letter was committed: the check fails for the dead-letter window. */
void forwarder__health_note_dead_letter(void);

#endif
