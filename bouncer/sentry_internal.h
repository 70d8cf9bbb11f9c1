// SPDX-License-Identifier: MIT
/*
 * sentry_internal.h: declarations shared by the health checker's files and nowhere else:
 * sentry.c (lifecycle, thread, the steps of a round), sentry_config.c (the YAML section),
 * sentry_probe.c (libcurl), sentry_round.c (the pairs a catalog yields), sentry_apply.c
 * (hysteresis, quorum guard, the store write) and sentry_status.c (status JSON, metrics). The pure
 * decisions they share are public in sentry_classify.h, for the unit tests.
 *
 * The probe is the only part that knows libcurl: it runs a batch of HEAD requests on one curl
 * multi handle, at most `concurrency` at once, and reports each answer through a callback in
 * libcurl-free terms (sentry_answer_t). It runs on the sentry thread; only
 * sentry__probe_wakeup() may be called from another thread.
 */
#ifndef edge__bouncer_sentry_internal_h
#define edge__bouncer_sentry_internal_h

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "edge/metrics.h"
#include "bouncer/sentry.h"
#include "bouncer/sentry_classify.h"

struct st_sentry_config_t {
    int enabled;
    uint64_t interval_ms;
    uint64_t timeout_ms;
    uint64_t connect_timeout_ms;
    unsigned concurrency;
    unsigned failures_to_down;
    unsigned successes_to_up;
    double max_down_fraction;
    char *user_agent; /* never NULL after parse */
    char *canary_url; /* NULL: no canary */
    char *ca_file;    /* NULL: the system's trust store */
};

/** Deep copy. @return 0 or -ENOMEM. */
int sentry__config_copy(sentry_config_t **out, const sentry_config_t *src);

typedef struct st_sentry_probe_t sentry_probe_t;

/** Called once per job when its transfer ends; a is only valid during the call. */
typedef void (*sentry_probe_done_cb)(void *arg, size_t index, const sentry_answer_t *a);

/**
 * @param config borrowed; must outlive the probe
 * @return 0, -ENOMEM, -EIO (libcurl refused to initialise).
 */
int sentry__probe_create(const sentry_config_t *config, sentry_probe_t **out);
void sentry__probe_destroy(sentry_probe_t *p);

/**
 * HEADs every URL (following at most one redirect, TLS verified), calling on_done for each.
 * @param stop checked between polls (every 100 ms at most, sooner after sentry__probe_wakeup())
 * @return 0 when every job finished, -ECANCELED when stop was set (unfinished jobs get no
 *         callback), -ENOMEM.
 */
int sentry__probe_run(sentry_probe_t *p, const char *const *urls, size_t n, const atomic_int *stop, sentry_probe_done_cb on_done,
                      void *arg);

/** Interrupts a sentry__probe_run() poll. Any thread. */
void sentry__probe_wakeup(sentry_probe_t *p);

/* ---- the checker and its rounds (sentry.c, sentry_round.c, sentry_apply.c, sentry_status.c) ---- */

/* Size of a check's reason: status JSON, health records and logs quote it. */
#define SENTRY__REASON_MAX 160

/* A pair's memory across rounds. */
typedef struct st_entry_t {
    uint64_t key; /* mirror id << 32 | location id */
    sentry_track_t track;
    int64_t last_check; /* unix seconds; 0 never */
    char *reason;       /* last reason; NULL: "HTTP 200" */
} entry_t;

/* A mirror's line in the status. */
typedef struct st_mstatus_t {
    char *name;
    const char *state; /* static: healthy, unhealthy, absent, unknown */
    size_t healthy, unhealthy, absent;
    int64_t last_check;
    char *last_reason;
} mstatus_t;

struct st_sentry_t {
    sentry_config_t *config;
    store_t *store;
    sentry_change_cb on_change;
    void *arg;
    sentry_probe_t *probe;
    pthread_t thread;
    int thread_started;

    /* wake-ups; protected by mutex */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int triggered;
    atomic_int stop;

    /* sentry thread only */
    entry_t *entries;
    size_t num_entries;
    int guard_active;

    /* status; protected by mutex */
    uint64_t rounds, rounds_skipped, checks;
    int64_t last_start, last_end; /* unix seconds, 0 none */
    uint64_t last_duration_ms;
    const char *skipped_reason; /* static; NULL when the last round was applied */
    mstatus_t *mstatus;
    size_t num_mstatus;

    /* metrics */
    metrics_counter_t *m_checks[SENTRY_RESULT_COUNT];
    metrics_counter_t *m_skipped_quorum, *m_skipped_canary, *m_rounds;
    metrics_gauge_t *m_healthy, *m_unhealthy, *m_guard;
    metrics_histogram_t *m_duration;
};

/* One round's working set. */
typedef struct st_rmirror_t {
    const catalog_mirror_t *m;
    size_t first, count; /* its pairs */
    sentry_result_t root;
    char *root_reason;
} rmirror_t;

typedef struct st_pair_t {
    uint64_t key;
    uint32_t mirror; /* index into round mirrors */
    uint32_t loc;    /* index into cat->locations */
    const char *lang;
    catalog_health_state_t persisted;
    sentry_result_t result;
    char *reason; /* NULL for OK */
    sentry_track_t before, after;
} pair_t;

typedef struct st_round_t {
    sentry_t *s;
    catalog_t *cat;
    rmirror_t *mirrors;
    size_t num_mirrors;
    pair_t *pairs;
    size_t num_pairs;
    size_t *todo; /* pair indexes to probe */
    size_t num_todo;
    int oom;
    uint64_t results[SENTRY_RESULT_COUNT];
} round_t;

/* sentry.c */
/** Wall-clock unix seconds (what the status and the health records show). */
int64_t sentry__now_unix(void);
/** Monotonic milliseconds (round durations). */
uint64_t sentry__now_mono_ms(void);

/* sentry_round.c: r->cat loaded, everything else zero */
/**
 * Fills r->mirrors (the enabled mirrors) and r->pairs (each with its language, persisted state
 * healthy) in catalog order, and allocates r->todo for every pair; the caller sorts the pairs by
 * key. @return 0 or -ENOMEM (the caller disposes of r either way).
 */
int sentry__build_round(round_t *r);
/** Sets the persisted state of the pairs that have a health record. Pairs sorted by key. @return 0 or -ENOMEM. */
int sentry__apply_persisted(round_t *r);
/** Frees what r owns, its catalog included. */
void sentry__round_dispose(round_t *r);

/* sentry_apply.c */
/**
 * Applies a probed round: tracks, quorum guard, one store write, on_change, then the status
 * (sentry__publish_status()); s->entries becomes the round's. @return 0, or -ENOMEM (s->entries kept).
 */
int sentry__apply_round(sentry_t *s, round_t *r, int64_t start, uint64_t start_ms);
void sentry__free_entries(entry_t *entries, size_t n);

/* sentry_status.c */
/** Registers the sentry's series; any it cannot register stays NULL (the caller checks). */
void sentry__register_metrics(sentry_t *s);
/**
 * Replaces the status with the round's (entries parallel to r->pairs) and counts the round.
 * @param skipped NULL, or why the round's downs were not applied ("quorum")
 * @return 0 or -ENOMEM (the status is left as it was).
 */
int sentry__publish_status(sentry_t *s, round_t *r, const entry_t *entries, const char *skipped, int64_t start, uint64_t dur_ms);
/** Records whether a round was skipped (why: "canary", "quorum"; NULL: applied); detail is logged once per episode. */
void sentry__note_guard(sentry_t *s, const char *why, const char *detail);
void sentry__free_mstatus(mstatus_t *ms, size_t n);

/**
 * Binary search of an array sorted by a leading uint64_t key (entry_t, pair_t): both are looked up
 * by (mirror id << 32 | location id). @return the element, or NULL.
 */
static inline void *sentry__find_key(void *base, size_t n, size_t size, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k;
        memcpy(&k, (char *)base + mid * size, sizeof(k));
        if (k == key)
            return (char *)base + mid * size;
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

#endif
