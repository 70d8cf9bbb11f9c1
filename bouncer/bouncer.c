// SPDX-License-Identifier: MIT
/*
 * bouncer: the module's face (bouncer/bouncer.h). Creates the parts in dependency order and
 * destroys them in reverse: configuration -> catalog store (<data_dir>/catalog, seeded from
 * `seed_catalog` when empty, rules from `rules_file`) -> snapshot holder and the first snapshot
 * -> reloadable settings (GeoIP, trusted proxies, URLs) -> metrics and the "catalog_snapshot"
 * health check -> health checker thread (sentry) -> routes.
 *
 * Every catalog change goes through bouncer__republish (one mutex around load, build, publish),
 * called by the admin thread after each write, by the sentry thread after a health round, and by
 * the main thread at start and on SIGHUP (which is also how a CLI import reaches a running server).
 * SIGHUP swaps the settings through an atomic pointer and frees the old ones once no worker slot
 * holds them (see module.h). Everything here runs on the main thread except bouncer__republish
 * and the metrics/health callbacks.
 */
#include "bouncer/module.h"

#include <errno.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "edge/health.h"
#include "edge/log.h"

/* The module whose snapshot the scrape-time gauges describe (one bouncer per process). */
static _Atomic(bouncer_t *) gauge_source;

static int64_t now_usec(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* ---- settings ---- */

int bouncer__settings_create(bouncer_config_t *config, bouncer_settings_t **out, conf_error_t *err)
{
    bouncer_settings_t *s = NULL;
    char msg[400];
    int ret = -1;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "bouncer: out of memory");
        goto Exit;
    }
    s->config = config;
    config = NULL;
    if (geo_open(s->config->geoip_database, &s->geo, msg, sizeof(msg)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "bouncer.geoip_database: %s", msg);
        goto Exit;
    }
    s->resolve.landing_url = s->config->landing_url;
    s->resolve.stub_root_url = s->config->stub_root_url;
    s->resolve.attribution_key = s->config->attribution_key;
    s->resolve.attribution_key_len = s->config->attribution_key_len;
    s->resolve.fail_open = s->config->fail_open;
    static _Atomic uint64_t last_generation;
    s->resolve.generation = atomic_fetch_add(&last_generation, 1) + 1;
    snprintf(s->cache_control, sizeof(s->cache_control), "max-age=%llu", (unsigned long long)s->config->cache_max_age);
    snprintf(s->cache_control_private, sizeof(s->cache_control_private), "private, max-age=%llu",
             (unsigned long long)s->config->cache_max_age);
    *out = s;
    s = NULL;
    ret = 0;
Exit:
    bouncer_config_destroy(config);
    bouncer__settings_destroy(s);
    return ret;
}

void bouncer__settings_destroy(bouncer_settings_t *s)
{
    if (s == NULL)
        return;
    geo_destroy(s->geo);
    bouncer_config_destroy(s->config);
    free(s);
}

int bouncer__settings_slot(bouncer_t *b)
{
    unsigned i = atomic_fetch_add(&b->num_slots, 1);
    return i < BOUNCER_MAX_SLOTS ? (int)i : -1;
}

/* Publishes new settings and frees the old ones once no thread holds them. */
static void settings_swap(bouncer_t *b, bouncer_settings_t *next)
{
    bouncer_settings_t *old = atomic_exchange(&b->settings, next);
    if (old == NULL)
        return;
    unsigned n = atomic_load(&b->num_slots);
    if (n > BOUNCER_MAX_SLOTS)
        n = BOUNCER_MAX_SLOTS;
    /* a request holds its settings for microseconds and never blocks: poll */
    for (unsigned i = 0; i < n; ++i) {
        while (atomic_load(&b->slots[i].held) == old) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    bouncer__settings_destroy(old);
}

/* ---- catalog store, seed, rules ---- */

int bouncer__read_stream(FILE *fp, char **out, size_t *len, size_t max)
{
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int ret;

    for (;;) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            char *nbuf;
            if (ncap > max + 1) {
                ret = -EFBIG;
                goto Exit;
            }
            if ((nbuf = realloc(buf, ncap + 1)) == NULL) {
                ret = -ENOMEM;
                goto Exit;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        ret = -EIO;
        goto Exit;
    }
    if (n > max) {
        ret = -EFBIG;
        goto Exit;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    ret = 0;
Exit:
    free(buf);
    return ret;
}

static int read_file(const char *path, char **out, size_t *len, size_t max)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -errno;
    int ret = bouncer__read_stream(fp, out, len, max);
    fclose(fp);
    return ret;
}

int bouncer__read_file(const char *path, char **out, size_t *len)
{
    return read_file(path, out, len, (size_t)256 << 20);
}

int bouncer__store_open(const bouncer_config_t *config, const char *data_dir, store_t **out, conf_error_t *err)
{
    store_t *st = NULL;
    catalog_t *cat = NULL, *seed = NULL;
    char *json = NULL;
    size_t len;
    catalog_error_t cerr;
    int ret = -1, rc;

    *out = NULL;
    if ((rc = store_open(data_dir, (size_t)config->catalog_map_size, &st)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot open the catalog in %s/catalog: %s", data_dir, store_strerror(rc));
        goto Exit;
    }
    if (config->seed_catalog != NULL) {
        if ((rc = store_load(st, &cat)) != 0) {
            snprintf(err->msg, sizeof(err->msg), "cannot read the catalog in %s/catalog: %s", data_dir, store_strerror(rc));
            goto Exit;
        }
        if (cat->num_products == 0 && cat->num_mirrors == 0 && cat->num_aliases == 0 && cat->num_rules == 0) {
            if ((rc = read_file(config->seed_catalog, &json, &len, (size_t)256 << 20)) != 0) {
                snprintf(err->msg, sizeof(err->msg), "bouncer.seed_catalog: %s: %s", config->seed_catalog, strerror(-rc));
                goto Exit;
            }
            if ((rc = catalog_from_json(json, len, 0, &seed, &cerr)) != 0 || (rc = store_replace(st, seed, &cerr)) != 0) {
                snprintf(err->msg, sizeof(err->msg), "bouncer.seed_catalog: %s: %s", config->seed_catalog,
                         rc == -EINVAL || rc == STORE_INVALID ? cerr.message : store_strerror(rc));
                goto Exit;
            }
            log_info("bouncer", "catalog seeded from %s: %zu products, %zu locations, %zu aliases, %zu mirrors", config->seed_catalog,
                     seed->num_products, seed->num_locations, seed->num_aliases, seed->num_mirrors);
        }
    }
    *out = st;
    st = NULL;
    ret = 0;
Exit:
    free(json);
    catalog_destroy(seed);
    catalog_destroy(cat);
    store_close(st);
    return ret;
}

int bouncer__apply_rules_file(const bouncer_config_t *config, store_t *store, conf_error_t *err)
{
    char *json = NULL;
    size_t len, num = 0;
    catalog_rule_t *rules = NULL;
    catalog_error_t cerr;
    int ret = -1, rc;

    if (config->rules_file == NULL)
        return 0;
    if ((rc = read_file(config->rules_file, &json, &len, (size_t)16 << 20)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "bouncer.rules_file: %s: %s", config->rules_file, strerror(-rc));
        goto Exit;
    }
    if ((rc = catalog_rules_from_json(json, len, &rules, &num, &cerr)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "bouncer.rules_file: %s: %s", config->rules_file,
                 rc == -EINVAL ? cerr.message : strerror(-rc));
        goto Exit;
    }
    if (store != NULL && (rc = store_rules_set(store, rules, num, &cerr)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "bouncer.rules_file: %s: %s", config->rules_file,
                 rc == STORE_INVALID ? cerr.message : store_strerror(rc));
        goto Exit;
    }
    ret = 0;
Exit:
    catalog_rules_free(rules, num);
    free(json);
    return ret;
}

/* ---- republish ---- */

/* bouncer__republish; when loaded is not NULL, a successful republish hands over the catalog it loaded. */
static int republish(bouncer_t *b, const char *why, catalog_t **loaded)
{
    catalog_t *cat = NULL;
    snapshot_t *snap = NULL;
    int ret;

    pthread_mutex_lock(&b->republish_lock);
    /* An import just freed its JSON tree and catalog (hundreds of MB with 50,000 products): hand
     * that back first, so that the load and build below do not come on top of it (peak RSS). */
    malloc_trim(0);
    int64_t started_usec = now_usec();
    /* read before loading: a write that lands in between is seen again by the watcher */
    uint64_t change = store_last_change(b->store);
    if ((ret = store_load(b->store, &cat)) != 0 || (ret = snapshot_build(cat, &snap)) != 0) {
        log_error("bouncer", "cannot rebuild the catalog snapshot (%s): %s; keeping version %llu", why,
                  ret > 0 ? store_strerror(ret) : strerror(-ret), (unsigned long long)snapshot_current_version(b->snapshots));
        metrics_counter_inc(b->metrics.republish_failed);
        if (ret > 0)
            ret = -EINVAL;
        goto Exit;
    }
    size_t products = snapshot_num_products(snap), locations = snapshot_num_locations(snap), mirrors = snapshot_num_mirrors(snap);
    uint64_t build_usec = snapshot_build_usec(snap);
    uint64_t version = snapshot_publish(b->snapshots, snap);
    snap = NULL;
    b->last_republish_usec = now_usec();
    metrics_histogram_observe(b->metrics.republish_seconds, (double)(b->last_republish_usec - started_usec) / 1e6);
    b->published_change = change;
    metrics_counter_inc(b->metrics.republish_ok);
    log_info("bouncer", "catalog snapshot %llu published (%s): %zu products, %zu locations, %zu mirrors, built in %llu us",
             (unsigned long long)version, why, products, locations, mirrors, (unsigned long long)build_usec);
    ret = 0;
Exit:
    pthread_mutex_unlock(&b->republish_lock);
    snapshot_destroy(snap);
    if (loaded != NULL && ret == 0) {
        *loaded = cat;
        cat = NULL;
    }
    catalog_destroy(cat);
    /* A rebuild frees a whole catalog (and an import its JSON tree): tens of MB with 50,000
     * products that glibc would otherwise keep in the heap. Give them back to the system. */
    malloc_trim(0);
    return ret;
}

int bouncer__republish(bouncer_t *b, const char *why)
{
    return republish(b, why, NULL);
}

void bouncer__catalog_release(catalog_t *cat)
{
    if (cat == NULL)
        return;
    catalog_destroy(cat);
    malloc_trim(0);
}

void bouncer__after_admin_write(bouncer_t *b, catalog_t **loaded)
{
    metrics_counter_inc(b->metrics.admin_writes);
    republish(b, "admin", loaded);
    if (b->sentry != NULL)
        sentry_trigger(b->sentry);
}

static void on_health_change(void *arg)
{
    bouncer__republish(arg, "health");
}

/* ---- watcher: catalog changes made by other processes ---- */

#define WATCH_INTERVAL_MS 1000

static void *watch_main(void *arg)
{
    bouncer_t *b = arg;
    pthread_mutex_lock(&b->watch.lock);
    while (!b->watch.stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += WATCH_INTERVAL_MS / 1000;
        pthread_cond_timedwait(&b->watch.cond, &b->watch.lock, &until);
        if (b->watch.stopping)
            break;
        pthread_mutex_unlock(&b->watch.lock);
        pthread_mutex_lock(&b->republish_lock);
        int changed = store_last_change(b->store) != b->published_change;
        pthread_mutex_unlock(&b->republish_lock);
        /* our own writes republish at once, so a difference here is another process's commit */
        if (changed)
            bouncer__republish(b, "external change");
        pthread_mutex_lock(&b->watch.lock);
    }
    pthread_mutex_unlock(&b->watch.lock);
    return NULL;
}

static int watch_start(bouncer_t *b)
{
    pthread_mutex_init(&b->watch.lock, NULL);
    pthread_cond_init(&b->watch.cond, NULL);
    int rc = pthread_create(&b->watch.thread, NULL, watch_main, b);
    if (rc != 0)
        return -rc;
    pthread_setname_np(b->watch.thread, "edge-catalog");
    b->watch.running = 1;
    return 0;
}

static void watch_stop(bouncer_t *b)
{
    if (!b->watch.running)
        return;
    pthread_mutex_lock(&b->watch.lock);
    b->watch.stopping = 1;
    pthread_cond_signal(&b->watch.cond);
    pthread_mutex_unlock(&b->watch.lock);
    pthread_join(b->watch.thread, NULL);
    b->watch.running = 0;
    pthread_mutex_destroy(&b->watch.lock);
    pthread_cond_destroy(&b->watch.cond);
}

/* ---- metrics and health ---- */

static double gauge_version(void *arg)
{
    bouncer_t *b = atomic_load(&gauge_source);
    return b != NULL ? (double)snapshot_current_version(b->snapshots) : 0;
}

static double gauge_age(void *arg)
{
    bouncer_t *b = atomic_load(&gauge_source);
    if (b == NULL)
        return 0;
    pthread_mutex_lock(&b->republish_lock);
    int64_t at = b->last_republish_usec;
    pthread_mutex_unlock(&b->republish_lock);
    return at != 0 ? (double)(now_usec() - at) / 1e6 : 0;
}

static int check_snapshot(void *arg, char *detail, size_t detail_size)
{
    bouncer_t *b = arg;
    uint64_t version = snapshot_current_version(b->snapshots);
    if (version == 0) {
        snprintf(detail, detail_size, "no catalog snapshot published");
        return 0;
    }
    snprintf(detail, detail_size, "version %llu", (unsigned long long)version);
    return 1;
}

static int register_metrics(bouncer_t *b)
{
    b->metrics.republish_ok =
        metrics_counter("edge_bouncer_snapshot_builds_total", "Catalog snapshots built and published, by result", "result=\"ok\"");
    b->metrics.republish_failed =
        metrics_counter("edge_bouncer_snapshot_builds_total", "Catalog snapshots built and published, by result", "result=\"failed\"");
    b->metrics.admin_writes = metrics_counter("edge_bouncer_admin_writes_total", "Catalog writes through the admin APIs", "");
    b->metrics.republish_seconds =
        metrics_histogram("edge_bouncer_snapshot_rebuild_seconds", "Time to load the catalog from LMDB and build a snapshot", "",
                          metrics_latency_buckets, metrics_latency_buckets_count);
    if (b->metrics.republish_ok == NULL || b->metrics.republish_failed == NULL || b->metrics.admin_writes == NULL)
        return -ENOMEM;
    int ret;
    if ((ret = metrics_gauge_fn("edge_bouncer_snapshot_version", "Version of the published catalog snapshot", "", gauge_version,
                                NULL)) != 0 && ret != -EEXIST)
        return ret;
    if ((ret = metrics_gauge_fn("edge_bouncer_snapshot_age_seconds", "Seconds since the catalog snapshot was last rebuilt", "",
                                gauge_age, NULL)) != 0 && ret != -EEXIST)
        return ret;
    return 0;
}

/* ---- face ---- */

int bouncer_check_config(const conf_node_t *section, conf_error_t *err)
{
    bouncer_config_t *config = NULL;
    int ret = -1;
    if (bouncer_config_parse(section, &config, err) != 0 || bouncer__apply_rules_file(config, NULL, err) != 0)
        goto Exit;
    ret = 0;
Exit:
    bouncer_config_destroy(config);
    return ret;
}

int bouncer_create(const conf_node_t *section, const char *data_dir, bouncer_t **out, conf_error_t *err)
{
    bouncer_t *b = NULL;
    bouncer_config_t *config = NULL;
    bouncer_settings_t *settings = NULL;
    int ret = -1;

    *out = NULL;
    /* calloc aligns to 16 bytes only: the workers' settings slots must each have a cache line of their own */
    if ((b = aligned_alloc(_Alignof(bouncer_t), sizeof(*b))) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->republish_lock, NULL);
    pthread_mutex_init(&b->workers_lock, NULL);
    if (bouncer_config_parse(section, &b->boot, err) != 0 || bouncer_config_parse(section, &config, err) != 0)
        goto Exit;
    if (bouncer__settings_create(config, &settings, err) != 0) {
        config = NULL; /* taken */
        goto Exit;
    }
    config = NULL;
    atomic_store(&b->settings, settings);
    if (register_metrics(b) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot register metrics");
        goto Exit;
    }
    if (bouncer__store_open(b->boot, data_dir, &b->store, err) != 0 || bouncer__apply_rules_file(b->boot, b->store, err) != 0)
        goto Exit;
    if ((b->snapshots = snapshot_holder_create()) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    if (bouncer__republish(b, "start") != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot build the first catalog snapshot from %s/catalog", data_dir);
        goto Exit;
    }
    atomic_store(&gauge_source, b);
    if (health_register("catalog_snapshot", check_snapshot, b) != 0) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    geo_info_t info;
    geo_describe(settings->geo, &info);
    char ipv4[64] = "IPv4 through the search tree";
    if (info.ipv4_ranges != 0)
        snprintf(ipv4, sizeof(ipv4), "IPv4 in %u ranges", info.ipv4_ranges);
    log_info("bouncer", "GeoIP: %s (%s, %s, %s)", info.path != NULL ? info.path : "none", info.shape,
             info.database_type != NULL ? info.database_type : "", ipv4);
    if (sentry_create(b->boot->health_check, b->store, on_health_change, b, &b->sentry, err) != 0)
        goto Exit;
    int watch_ret = watch_start(b);
    if (watch_ret != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot start the catalog watcher: %s", strerror(-watch_ret));
        goto Exit;
    }
    *out = b;
    b = NULL;
    ret = 0;
Exit:
    bouncer_config_destroy(config);
    bouncer_destroy(b);
    return ret;
}

int bouncer_register(bouncer_t *b, route_registrar_t *public_routes, route_registrar_t *admin_routes)
{
    int ret;
    /* h2o 2.2.5 takes the first registered path that is a prefix of the request's, not the
     * longest: register the longer admin prefix first */
    if ((ret = bouncer__json_register(b, admin_routes)) != 0 || (ret = bouncer__tuxedo_register(b, admin_routes)) != 0 ||
        (ret = bouncer__handler_register(b, public_routes)) != 0)
        return ret;
    return 0;
}

int bouncer_reload(bouncer_t *b, const conf_node_t *section, conf_error_t *err)
{
    bouncer_config_t *config = NULL;
    bouncer_settings_t *settings = NULL;
    int ret = -1;

    if (bouncer_config_parse(section, &config, err) != 0)
        goto Exit;
    if (strcmp(config->prefix, b->boot->prefix) != 0)
        log_warn("bouncer", "bouncer.prefix changed: a restart is needed to apply it");
    /* everything that can fail comes before the first change: the GeoIP file, then the rules */
    if (bouncer__settings_create(config, &settings, err) != 0) {
        config = NULL;
        goto Exit;
    }
    config = NULL;
    if (bouncer__apply_rules_file(settings->config, b->store, err) != 0) {
        bouncer__settings_destroy(settings);
        goto Exit;
    }
    settings_swap(b, settings);
    bouncer__republish(b, "reload");
    ret = 0;
Exit:
    bouncer_config_destroy(config);
    return ret;
}

void bouncer_destroy(bouncer_t *b)
{
    if (b == NULL)
        return;
    /* the sentry and the watcher call back into republish: stop them first */
    sentry_destroy(b->sentry);
    watch_stop(b);
    bouncer_t *expected = b;
    atomic_compare_exchange_strong(&gauge_source, &expected, NULL);
    bouncer__handler_dispose(b);
    bouncer__settings_destroy(atomic_load(&b->settings));
    snapshot_holder_destroy(b->snapshots);
    store_close(b->store);
    bouncer_config_destroy(b->boot);
    pthread_mutex_destroy(&b->republish_lock);
    pthread_mutex_destroy(&b->workers_lock);
    free(b);
}
