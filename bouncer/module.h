// SPDX-License-Identifier: MIT
/*
 * module: the bouncer_t object shared by the module's glue files (bouncer.c, handler.c,
 * handler_tuxedo.c, handler_json.c, command.c) and nowhere else. Domain files never include it.
 *
 * Two things are published to worker threads without locks:
 *   - the catalog snapshot, through snapshot.h's holder (hazard-pointer readers);
 *   - the reloadable settings (GeoIP handle, trusted proxies, URLs, headers), through one atomic
 *     pointer and one hazard slot per worker thread: a worker stores the pointer it read in its
 *     slot and re-checks it; bouncer_reload swaps the pointer, then waits until no slot holds the
 *     old settings before freeing them (requests never block, so the wait is short).
 * Every catalog change (admin write, health round, reload, start) goes through
 * bouncer__republish(): one mutex around store_load -> snapshot_build -> snapshot_publish.
 */
#ifndef edge__bouncer_module_h
#define edge__bouncer_module_h

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include "bouncer/bouncer.h"
#include "bouncer/config.h"
#include "bouncer/geo.h"
#include "bouncer/resolve.h"
#include "bouncer/sentry.h"
#include "bouncer/snapshot.h"
#include "bouncer/store.h"
#include "edge/metrics.h"

/** Most threads (workers + admin) that may read settings at once. */
#define BOUNCER_MAX_SLOTS SNAPSHOT_MAX_READERS

/** What a SIGHUP may change; immutable once published. */
typedef struct st_bouncer_settings_t {
    bouncer_config_t *config; /* owned */
    geo_t *geo;               /* owned, never NULL (empty handle without a database) */
    resolve_config_t resolve; /* points into config */
    char cache_control[64];   /* "max-age=N" */
    char cache_control_private[80]; /* "private, max-age=N" */
} bouncer_settings_t;

/* One worker's hazard pointer, alone on its cache line: written twice per redirect, it must share
 * the line neither with another worker's slot nor with the settings pointer every worker reads. */
typedef struct st_bouncer_settings_slot_t {
    _Alignas(64) _Atomic(bouncer_settings_t *) held;
} bouncer_settings_slot_t;

struct st_bouncer_t {
    bouncer_config_t *boot; /* the configuration at start: prefix, seed, map size (restart to change) */
    store_t *store;
    snapshot_holder_t *snapshots;
    sentry_t *sentry;
    pthread_mutex_t republish_lock;
    int64_t last_republish_usec; /* under republish_lock */
    uint64_t published_change;   /* store_last_change() read before the last load; under republish_lock */

    /* the watcher thread republishes when another process changed the catalog (edge catalog import) */
    struct {
        pthread_t thread;
        int running;
        int stopping; /* under lock */
        pthread_mutex_t lock;
        pthread_cond_t cond;
    } watch;

    pthread_mutex_t workers_lock; /* guards workers (thread start and end only) */
    struct st_bouncer_worker_t *workers;

    _Alignas(64) _Atomic(bouncer_settings_t *) settings; /* read by every redirect: not on a line anything writes often */
    bouncer_settings_slot_t slots[BOUNCER_MAX_SLOTS];
    atomic_uint num_slots;

    struct {
        metrics_counter_t *republish_ok, *republish_failed;
        metrics_histogram_t *republish_seconds; /* load from LMDB + snapshot build */
        metrics_counter_t *admin_writes;
    } metrics;
};

/**
 * Loads the store, builds a snapshot and publishes it, under one mutex.
 * @param why short text for the log ("admin", "health", "reload", "start", "import")
 * @return 0, or -errno (store_load / snapshot_build failure; the current snapshot stays).
 * @note Any thread (admin, sentry, main).
 */
int bouncer__republish(bouncer_t *b, const char *why);

/**
 * What every admin write does once its store transaction committed: count it, republish so the
 * next redirect sees it, and ask the health checker for a round (new mirrors, locations).
 * @param loaded NULL, or where to put the catalog the republish loaded (the caller destroys it; NULL
 *        when the republish failed), so that an answer showing the result needs no second load.
 * @note Admin thread.
 */
void bouncer__after_admin_write(bouncer_t *b, catalog_t **loaded);

/**
 * Destroys a catalog the admin thread loaded and gives its memory back to the system (a whole
 * catalog is tens of MB with 50,000 products; glibc would keep it in the heap). NULL is fine.
 */
void bouncer__catalog_release(catalog_t *cat);

/** Takes a settings slot for a thread. @return the slot index, or -1 when all are taken. */
int bouncer__settings_slot(bouncer_t *b);

/** Reads the current settings into slot i (hazard pointer). @return the settings, valid until release. */
static inline const bouncer_settings_t *bouncer__settings_acquire(bouncer_t *b, int i)
{
    bouncer_settings_t *s;
    do {
        s = atomic_load(&b->settings);
        atomic_store(&b->slots[i].held, s);
    } while (atomic_load(&b->settings) != s);
    return s;
}

static inline void bouncer__settings_release(bouncer_t *b, int i)
{
    atomic_store_explicit(&b->slots[i].held, NULL, memory_order_release);
}

/** Builds settings from a parsed configuration (takes ownership of config, also on failure). */
int bouncer__settings_create(bouncer_config_t *config, bouncer_settings_t **out, conf_error_t *err);
void bouncer__settings_destroy(bouncer_settings_t *s);

/** Reads a whole file (at most 256 MiB) into a NUL-terminated malloc'd buffer. @return 0 or -errno. */
int bouncer__read_file(const char *path, char **out, size_t *len);
/** The same for an open stream (standard input), at most max bytes. @return 0, -EFBIG, -ENOMEM or -EIO. */
int bouncer__read_stream(FILE *fp, char **out, size_t *len, size_t max);

/** Opens <data_dir>/catalog, seeding it from config->seed_catalog when it holds no product/mirror. */
int bouncer__store_open(const bouncer_config_t *config, const char *data_dir, store_t **out, conf_error_t *err);

/** Replaces the catalog's rules with the rules file's (when configured). @return 0 or -1 with err. */
int bouncer__apply_rules_file(const bouncer_config_t *config, store_t *store, conf_error_t *err);

/** Route registration (handler*.c). @return 0 or -ENOMEM. */
int bouncer__handler_register(bouncer_t *b, route_registrar_t *routes);
int bouncer__tuxedo_register(bouncer_t *b, route_registrar_t *routes);
int bouncer__json_register(bouncer_t *b, route_registrar_t *routes);

/** Frees the per-thread state of worker threads whose context was never disposed (bouncer_destroy). */
void bouncer__handler_dispose(bouncer_t *b);

#endif
