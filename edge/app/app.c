// SPDX-License-Identifier: MIT
/*
 * app: start-up order, signal loop and shutdown order.
 *
 * Start: data directory, metrics, htpasswd, modules (they open their LMDB environments and
 * register routes and health checks), server threads. The main thread then blocks every signal
 * in all threads and waits in sigwait(), so handlers never run in arbitrary threads.
 * Shutdown: the server drains first (in-flight requests may still need the modules), then the
 * modules are destroyed (the spool writer commits what it holds), then the process exits.
 */
#include "edge/app/app.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bouncer/bouncer.h"
#include "collector/collector.h"
#include "edge/app/console.h"
#include "edge/app/dockerflow.h"
#include "edge/app/process_metrics.h"
#include "edge/app/reload.h"
#include "edge/app/server.h"
#include "edge/app/statsd.h"
#include "edge/health.h"
#include "edge/htpasswd.h"
#include "edge/log.h"

#include "edge_commit.h" /* generated at build time: EDGE_COMMIT */

const char *app_commit(void)
{
    return EDGE_COMMIT;
}

static htpasswd_t *load_htpasswd(const config_t *config, conf_error_t *err)
{
    char msg[400];
    htpasswd_t *table = htpasswd_load(config->admin.htpasswd, msg, sizeof(msg));
    if (table == NULL)
        snprintf(err->msg, sizeof(err->msg), "admin.htpasswd: %s", msg);
    return table;
}

int app_check(const config_t *config, conf_error_t *err)
{
    htpasswd_t *table = load_htpasswd(config, err);
    if (table == NULL)
        return 1;
    htpasswd_destroy(table);
    if ((config->bouncer != NULL && bouncer_check_config(config->bouncer, err) != 0) ||
        (config->collector != NULL && collector_check_config(config->collector, err) != 0))
        return 1;
    return 0;
}

int app_command(const config_t *config, int argc, char **argv)
{
    if (strcmp(argv[0], "catalog") == 0) {
        if (config->bouncer == NULL) {
            fprintf(stderr, "edge: the configuration has no bouncer section\n");
            return 1;
        }
        return bouncer_command(config->bouncer, config->storage.data_dir, argc, argv, stdout, stderr);
    }
    if (strcmp(argv[0], "spool") == 0) {
        if (config->collector == NULL) {
            fprintf(stderr, "edge: the configuration has no collector section\n");
            return 1;
        }
        return collector_command(config->collector, config->storage.data_dir, argc, argv, stdout, stderr);
    }
    fprintf(stderr, "edge: unknown command \"%s\" (catalog or spool)\n", argv[0]);
    return 2;
}

static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p != '\0'; ++p) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* SIGHUP: re-read the file, log what changed, apply what can change live. */
static config_t *reload(server_t *server, bouncer_t *bouncer, collector_t *collector, config_t *running, const char *config_path)
{
    conf_error_t err;
    config_t *next = config_load(config_path, &err);
    if (next == NULL) {
        log_error("reload", "keeping the running configuration: %s", err.msg);
        return NULL;
    }
    htpasswd_t *table = load_htpasswd(next, &err);
    if (table == NULL) {
        log_error("reload", "keeping the running configuration: %s", err.msg);
        config_destroy(next);
        return NULL;
    }
    /* validate both sections before applying either, so a mistake in one leaves both running as they were */
    if ((next->bouncer != NULL && bouncer_check_config(next->bouncer, &err) != 0) ||
        (next->collector != NULL && collector_check_config(next->collector, &err) != 0) ||
        (bouncer != NULL && next->bouncer != NULL && bouncer_reload(bouncer, next->bouncer, &err) != 0) ||
        (collector != NULL && next->collector != NULL && collector_reload(collector, next->collector, &err) != 0)) {
        log_error("reload", "keeping the running configuration: %s", err.msg);
        htpasswd_destroy(table);
        config_destroy(next);
        return NULL;
    }
    size_t needs_restart;
    size_t changes = reload_log_changes(running->doc->root, next->doc->root, &needs_restart);
    server_set_htpasswd(server, table);
    log_info("reload", "configuration reloaded from %s: %zu changes (%zu need a restart), admin credentials re-read (%zu users)",
             config_path, changes, needs_restart, htpasswd_count(table));
    log_set_level(next->log.level);
    return next;
}

int app_run(config_t *config, const char *config_path)
{
    int ret = 1;
    server_t *server = NULL;
    statsd_t *statsd = NULL;
    bouncer_t *bouncer = NULL;
    collector_t *collector = NULL;
    config_t *latest = NULL;
    conf_error_t err;
    char msg[512];

    /* signals: all threads inherit this mask, the main thread takes them with sigwait */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_set_level(config->log.level);
    int dir_ret = make_dirs(config->storage.data_dir);
    if (dir_ret != 0) {
        log_error("main", "cannot create storage.data_dir %s: %s", config->storage.data_dir, strerror(-dir_ret));
        goto Exit;
    }
    if (process_metrics_register(EDGE_VERSION, EDGE_COMMIT) != 0)
        goto Exit;
    health_disk_t disk = {.path = config->storage.data_dir, .min_free = config->health.min_free_disk};
    health_register("data_dir", health_check_disk, &disk);

    htpasswd_t *table = load_htpasswd(config, &err);
    if (table == NULL) {
        log_error("main", "%s", err.msg);
        goto Exit;
    }
    if ((server = server_create(config, table, msg, sizeof(msg))) == NULL) {
        log_error("main", "%s", msg);
        goto Exit;
    }
    if (dockerflow_register(server_public_routes(server)) != 0 || console_register(server_admin_routes(server)) != 0)
        goto Exit;
    if (config->bouncer != NULL) {
        if (bouncer_create(config->bouncer, config->storage.data_dir, &bouncer, &err) != 0) {
            log_error("main", "bouncer: %s", err.msg);
            goto Exit;
        }
        if (bouncer_register(bouncer, server_public_routes(server), server_admin_routes(server)) != 0)
            goto Exit;
    }
    if (config->collector != NULL) {
        if (collector_create(config->collector, config->storage.data_dir, &collector, &err) != 0) {
            log_error("main", "collector: %s", err.msg);
            goto Exit;
        }
        if (collector_register(collector, server_public_routes(server), server_admin_routes(server)) != 0)
            goto Exit;
    }
    if (config->metrics.statsd_address != NULL &&
        (statsd = statsd_start((const struct sockaddr *)&config->metrics.statsd_addr, config->metrics.statsd_addrlen,
                               config->metrics.statsd_prefix, config->metrics.statsd_interval_ms)) == NULL) {
        log_error("main", "cannot start statsd to %s: %s", config->metrics.statsd_address, strerror(errno));
        goto Exit;
    }
    int start_ret = server_start(server);
    if (start_ret != 0) {
        log_error("main", "cannot start the server threads: %s", strerror(-start_ret));
        goto Exit;
    }
    for (size_t i = 0; i < config->server.listen_count; ++i)
        log_info("main", "listening on %s (%s%s)", config->server.listen[i].address,
                 config->server.listen[i].certificate != NULL ? "https" : "http", config->server.listen[i].http2 ? ", h2" : "");
    for (size_t i = 0; i < config->admin.listen_count; ++i)
        log_info("main", "admin listening on %s", config->admin.listen[i].address);
    log_info("main", "edge %s started with %u worker threads, data in %s", EDGE_VERSION, config->server.threads,
             config->storage.data_dir);

    for (;;) {
        int sig;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            config_t *next = reload(server, bouncer, collector, latest != NULL ? latest : config, config_path);
            if (next != NULL) {
                config_destroy(latest);
                latest = next;
            }
            continue;
        }
        log_info("main", "%s received: draining (deadline %llu ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 (unsigned long long)config->server.shutdown_timeout_ms);
        break;
    }
    server_stop(server);
    size_t cut = server_wait(server);
    log_info("main", "stopped (%zu connections cut at the deadline)", cut);
    ret = 0;

Exit:
    statsd_stop(statsd);
    /* the server has drained (or never started): nothing can reach the modules any more */
    collector_destroy(collector);
    bouncer_destroy(bouncer);
    server_destroy(server);
    health_reset();
    config_destroy(latest);
    config_destroy(config);
    return ret;
}
