// SPDX-License-Identifier: MIT
/*
 * collector: the module's face (collector/collector.h). Creates the parts in dependency order and
 * destroys them in reverse: config -> spool (<data_dir>/spool, group-commit writer thread) ->
 * forwarder (reads the spool) -> metrics and health checks -> routes. Destroy stops the forwarder
 * first (it submits spool jobs), then the spool (its writer commits what it still holds and calls
 * back every waiting submission), then frees the submit handler's leftovers and the settings.
 *
 * SIGHUP swaps the throttle rules and the submitter token together by publishing a new settings
 * object through an atomic pointer. Worker threads may still be evaluating the old rules, so the
 * old object is retired, not freed, until destroy (a reload is rare; each retired set is small).
 * Everything here runs on the main thread; the gauge and health callbacks run on scraping threads.
 */
#include "collector/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "collector/forwarder.h"
#include "edge/health.h"
#include "edge/log.h"

static const double size_buckets[] = {1024, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

int collector__spool_open(const collector_config_t *config, const char *data_dir, int readonly, int server, spool_t **out)
{
    spool_config_t sc;
    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s/spool", data_dir) >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    spool_config_init(&sc);
    sc.dir = dir;
    sc.map_size_initial = (size_t)config->map_size_initial;
    sc.map_size_max = (size_t)config->map_size_max;
    /* every queued record is also counted in max_pending_bytes, which is checked first */
    sc.queue_bytes_max = (size_t)config->max_pending_bytes;
    sc.upstream_count = config->forwarder != NULL ? (unsigned)forwarder_config_upstream_count(config->forwarder) : 1;
    sc.readonly = readonly;
    sc.buffer_ids = server; /* the CLI, a second process, writes ids straight into the index */
    return spool_create(&sc, out);
}

static collector_settings_t *settings_create(collector_config_t *config)
{
    collector_settings_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    /* take the rules and the token from the config */
    s->throttle = config->throttle;
    config->throttle = NULL;
    s->submitter_token = config->submitter_token;
    config->submitter_token = NULL;
    return s;
}

static void settings_destroy(collector_settings_t *s)
{
    if (s == NULL)
        return;
    throttle_rules_destroy(s->throttle);
    free(s->submitter_token);
    free(s);
}

int collector_check_config(const conf_node_t *section, conf_error_t *err)
{
    collector_config_t *config = NULL;
    if (collector_config_parse(section, &config, err) != 0)
        return -1;
    collector_config_destroy(config);
    return 0;
}

/* ---- metrics and health ---- */

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static double gauge_stat(collector_t *c, int which)
{
    spool_stats_t st;
    if (spool_stats(c->spool, &st) != 0)
        return 0;
    switch (which) {
    case 0:
        return (double)st.count;
    case 1:
        return (double)st.bytes;
    case 2:
        return st.count == 0 || st.oldest_received_ms == 0 ? 0 : (double)(now_ms() - st.oldest_received_ms) / 1000.0;
    default:
        return (double)st.dead_count;
    }
}

static double on_gauge_backlog(void *arg)
{
    return gauge_stat(arg, 0);
}

static double on_gauge_backlog_bytes(void *arg)
{
    return gauge_stat(arg, 1);
}

static double on_gauge_oldest_age(void *arg)
{
    return gauge_stat(arg, 2);
}

static double on_gauge_dead(void *arg)
{
    return gauge_stat(arg, 3);
}

static double on_gauge_pending_bytes(void *arg)
{
    collector_t *c = arg;
    return (double)atomic_load(&c->pending_bytes);
}

static int on_health_spool(void *arg, char *detail, size_t detail_size)
{
    collector_t *c = arg;
    if (spool_is_full(c->spool)) {
        snprintf(detail, detail_size, "spool full: crashes cannot be stored");
        return 0;
    }
    int last = spool_last_error(c->spool);
    if (last != 0) {
        snprintf(detail, detail_size, "last spool commit failed: %s", spool_strerror(last));
        return 0;
    }
    snprintf(detail, detail_size, "ok");
    return 1;
}

static int register_metrics(collector_t *c)
{
    collector_metrics_t *m = &c->metrics;
#define COUNTER(field, name, help, labels)                                                                                         \
    if ((m->field = metrics_counter(name, help, labels)) == NULL)                                                                  \
        return -ENOMEM;
    COUNTER(incoming, "edge_collector_incoming_crashes_total", "Crash submissions received (POST on the submit path)", NULL);
    COUNTER(gzipped, "edge_collector_gzipped_crashes_total", "Crash submissions with Content-Encoding: gzip", NULL);
    COUNTER(stored, "edge_collector_save_crash_total", "Crashes durably stored in the spool and acknowledged", NULL);
    COUNTER(fake_accepted, "edge_collector_fake_accepted_total", "Crashes answered like an accept but not stored (FAKEACCEPT)",
            NULL);
    const char *dropped_help = "Crash submissions answered without storing them, by reason";
    COUNTER(too_large, "edge_collector_save_crash_dropped_total", dropped_help, "reason=\"too_large\"");
    COUNTER(over_budget, "edge_collector_save_crash_dropped_total", dropped_help, "reason=\"over_budget\"");
    COUNTER(spool_busy, "edge_collector_save_crash_dropped_total", dropped_help, "reason=\"spool_busy\"");
    COUNTER(spool_full, "edge_collector_save_crash_dropped_total", dropped_help, "reason=\"spool_full\"");
    COUNTER(save_failed, "edge_collector_save_crash_dropped_total", dropped_help, "reason=\"storage_error\"");
    COUNTER(error, "edge_collector_save_crash_dropped_total", dropped_help, "reason=\"internal_error\"");
    COUNTER(client_gone, "edge_collector_client_gone_total",
            "Stored crashes whose client went away before the acknowledgement could be sent", NULL);
#undef COUNTER
    const char *size_help = "Size of crash submissions on the wire, bytes";
    if ((m->crash_size_compressed = metrics_histogram("edge_collector_crash_size_bytes", size_help, "payload=\"compressed\"",
                                                      size_buckets, sizeof(size_buckets) / sizeof(size_buckets[0]))) == NULL ||
        (m->crash_size_uncompressed = metrics_histogram("edge_collector_crash_size_bytes", size_help, "payload=\"uncompressed\"",
                                                        size_buckets, sizeof(size_buckets) / sizeof(size_buckets[0]))) == NULL ||
        (m->save_time = metrics_histogram("edge_collector_save_crash_seconds",
                                          "Time a crash waited for the spool commit that holds it (submit to fsync'ed commit)",
                                          NULL, metrics_latency_buckets, metrics_latency_buckets_count)) == NULL)
        return -ENOMEM;
    struct {
        const char *name, *help;
        metrics_gauge_cb cb;
    } gauges[] = {
        {"edge_collector_pending_bytes", "Bytes held by crash submissions waiting for their answer (max_pending_bytes budget)",
         on_gauge_pending_bytes},
        {"edge_collector_spool_backlog", "Crashes in the spool waiting to be forwarded (read from the spool at scrape time)",
         on_gauge_backlog},
        {"edge_collector_spool_backlog_bytes", "Bytes of the crashes waiting in the spool", on_gauge_backlog_bytes},
        {"edge_collector_spool_oldest_age_seconds", "Age of the oldest crash waiting in the spool (0 when empty)",
         on_gauge_oldest_age},
        {"edge_collector_spool_dead_letters", "Crashes in the spool's dead-letter table", on_gauge_dead},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); ++i) {
        int ret = metrics_gauge_fn(gauges[i].name, gauges[i].help, NULL, gauges[i].cb, c);
        if (ret != 0 && ret != -EEXIST)
            return ret;
    }
    return health_register("spool_writable", on_health_spool, c);
}

/* ---- lifecycle ---- */

int collector_create(const conf_node_t *section, const char *data_dir, collector_t **out, conf_error_t *err)
{
    int ret = -1, rc;
    collector_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    atomic_init(&c->pending_bytes, 0);
    atomic_init(&c->settings, NULL);
    if (collector_config_parse(section, &c->config, err) != 0)
        goto Exit;
    collector_settings_t *settings = settings_create(c->config);
    if (settings == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    atomic_store(&c->settings, settings);
    if ((rc = collector__spool_open(c->config, data_dir, 0, 1, &c->spool)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot open the spool in %s/spool: %s", data_dir, spool_strerror(rc));
        goto Exit;
    }
    if (c->config->has_upstream && forwarder_create(c->config->forwarder, c->spool, &c->forwarder, err) != 0)
        goto Exit;
    if ((rc = register_metrics(c)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot register metrics: %s", strerror(-rc));
        goto Exit;
    }
    log_info("collector",
             "accepting crashes on %s (max body %llu bytes, inflated %llu, pending budget %llu, %zu throttle rules%s%s)",
             c->config->path, (unsigned long long)c->config->max_body_size, (unsigned long long)c->config->max_inflated_size,
             (unsigned long long)c->config->max_pending_bytes, throttle_rules_count(settings->throttle),
             settings->submitter_token != NULL ? ", submitter token set" : "", c->forwarder != NULL ? ", forwarding" : "");
    *out = c;
    c = NULL;
    ret = 0;
Exit:
    collector_destroy(c);
    return ret;
}

int collector_register(collector_t *module, route_registrar_t *public_routes, route_registrar_t *admin_routes)
{
    int ret;
    if ((ret = collector__submit_register(module, public_routes)) != 0 ||
        (ret = collector__admin_register(module, admin_routes)) != 0)
        return ret;
    return 0;
}

int collector_reload(collector_t *module, const conf_node_t *section, conf_error_t *err)
{
    collector_config_t *next = NULL;
    collector_settings_t *settings = NULL;
    int ret = -1;

    if (collector_config_parse(section, &next, err) != 0)
        goto Exit;
    if ((settings = settings_create(next)) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    collector_settings_t *old = atomic_exchange_explicit(&module->settings, settings, memory_order_acq_rel);
    /* a worker may still be evaluating the old rules: keep them until destroy */
    old->retired_next = module->retired;
    module->retired = old;
    if (strcmp(next->path, module->config->path) != 0 || next->max_body_size != module->config->max_body_size ||
        next->has_upstream != module->config->has_upstream)
        log_warn("collector", "path, limits, spool and upstream changes take effect only after a restart");
    log_info("collector", "reloaded: %zu throttle rules, submitter token %s", throttle_rules_count(settings->throttle),
             settings->submitter_token != NULL ? "set" : "unset");
    ret = 0;
Exit:
    collector_config_destroy(next);
    return ret;
}

void collector_destroy(collector_t *module)
{
    if (module == NULL)
        return;
    forwarder_destroy(module->forwarder);
    spool_destroy(module->spool); /* commits what it holds; every waiting submission is called back */
    collector__submit_dispose(module);
    settings_destroy(atomic_load(&module->settings));
    while (module->retired != NULL) {
        collector_settings_t *next = module->retired->retired_next;
        settings_destroy(module->retired);
        module->retired = next;
    }
    collector_config_destroy(module->config);
    free(module);
}
