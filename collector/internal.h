// SPDX-License-Identifier: MIT
/*
 * collector internals shared by the module's glue files: collector.c (the face), handler.c
 * (POST /submit), handler_admin.c (spool admin API) and command.c (`edge spool ...`).
 *
 * The collector object is created and destroyed on the main thread. Worker threads read the
 * immutable fields and the current settings (throttle rules + submitter token) through one atomic
 * pointer: a reload publishes a new settings object and retires the old one, which is freed only
 * at destroy, when no request can still be using it. No h2o type appears here.
 */
#ifndef edge__collector_internal_h
#define edge__collector_internal_h

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "collector/collector.h"
#include "collector/config.h"
#include "collector/spool.h"
#include "edge/metrics.h"

struct st_forwarder_t;
struct st_collector_submit_t;

/** What SIGHUP may change: swapped as a whole. */
typedef struct st_collector_settings_t {
    throttle_rules_t *throttle;
    char *submitter_token; /* NULL = nobody may choose a crash id */
    struct st_collector_settings_t *retired_next;
} collector_settings_t;

/** Metric series registered at create (updates are lock-free). */
typedef struct st_collector_metrics_t {
    metrics_counter_t *incoming, *gzipped, *stored, *fake_accepted;
    metrics_counter_t *too_large, *over_budget, *spool_busy, *spool_full, *save_failed, *client_gone, *error;
    metrics_histogram_t *crash_size_compressed, *crash_size_uncompressed, *save_time;
} collector_metrics_t;

struct st_collector_t {
    collector_config_t *config;
    spool_t *spool;
    struct st_forwarder_t *forwarder;
    _Atomic(collector_settings_t *) settings;
    collector_settings_t *retired; /* main thread only */
    /** bytes held by submissions between entering the handler and their answer */
    atomic_size_t pending_bytes;
    collector_metrics_t metrics;
    /** state of the submit handler (per-thread receivers, jobs waiting for the spool) */
    struct st_collector_submit_t *submit;
};

/** @return the settings in force (valid until collector_destroy). Any thread. */
static inline collector_settings_t *collector__settings(collector_t *c)
{
    return atomic_load_explicit(&c->settings, memory_order_acquire);
}

/**
 * Opens the spool of data_dir (<data_dir>/spool) as the config says.
 * @param readonly nonzero for the command line on a running server's data (no writer thread)
 * @param server   nonzero for the server (new crash ids are buffered: spool_config_t.buffer_ids)
 * @return 0 or a spool status / -errno (logged by the spool).
 */
int collector__spool_open(const collector_config_t *config, const char *data_dir, int readonly, int server, spool_t **out);

/** Adds POST <path> to the public routes. @return 0 or -ENOMEM. */
int collector__submit_register(collector_t *c, route_registrar_t *routes);
/** Frees the submit handler's state once the server drained and the spool is destroyed. */
void collector__submit_dispose(collector_t *c);
/** Adds /api/v1/spool to the admin routes. @return 0 or -ENOMEM. */
int collector__admin_register(collector_t *c, route_registrar_t *routes);

/**
 * JSON renderings shared by the admin API and the command line (malloc'ed text, caller frees;
 * NULL on ENOMEM). *status receives 0, SPOOL_NOT_FOUND or another spool status / -errno.
 */
char *collector__spool_stats_json(spool_t *spool, struct st_forwarder_t *forwarder, int *status);
char *collector__spool_list_json(spool_t *spool, int dead, uint64_t after_seq, size_t limit, int *status);
/** The stored crash (main table, or dead letters when dead is set) as its raw crash JSON with the record's spool state. */
char *collector__spool_show_json(spool_t *spool, int dead, const char *crash_id, int *status);
/** The raw crash JSON text alone, as the client's crash was stored. */
char *collector__spool_raw_crash(spool_t *spool, int dead, const char *crash_id, size_t *len, int *status);

#endif
