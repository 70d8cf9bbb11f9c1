// SPDX-License-Identifier: MIT
/*
 * forwarder_status: what the forwarder reports besides its metrics: the "forwarder_backlog" health
 * check and forwarder_status_json() (spool stats of the admin API and of `edge spool`). Both read
 * only what the delivery threads publish (atomics, and last_error under fwd->mutex), never the
 * spool or libcurl, so a heartbeat or an admin request does not wait for a slow upstream.
 *
 * The check fails while the oldest pending crash is older than max_pending_age or while new dead
 * letters appeared within dead_letter_window. Its inputs are pushed by forwarder.c: the spool
 * counters each time a thread samples them, and every dead letter it commits.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "collector/forwarder_internal.h"
#include "edge/health.h"

/* The health check is registered once per process and outlives any forwarder, so its state is static. */
static struct {
    pthread_mutex_t mutex;
    int registered;
    int active;
    uint64_t max_pending_age_ms, dead_letter_window_ms;
    int64_t oldest_ms;
    uint64_t dead_seen;
    int64_t last_dead_growth_ms;
} health = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static int check_backlog(void *arg, char *detail, size_t detail_size)
{
    int ok = 1;
    int64_t now = forwarder__now_ms();
    (void)arg;

    pthread_mutex_lock(&health.mutex);
    if (!health.active) {
        snprintf(detail, detail_size, "forwarder not running");
    } else if (health.oldest_ms != 0 && (uint64_t)(now - health.oldest_ms) > health.max_pending_age_ms) {
        snprintf(detail, detail_size, "oldest pending report is %" PRId64 " s old (limit %" PRIu64 " s)", (now - health.oldest_ms) / 1000,
                 health.max_pending_age_ms / 1000);
        ok = 0;
    } else if (health.dead_letter_window_ms != 0 && health.last_dead_growth_ms != 0 &&
               (uint64_t)(now - health.last_dead_growth_ms) < health.dead_letter_window_ms) {
        snprintf(detail, detail_size, "new dead letters %" PRId64 " s ago (window %" PRIu64 " s)", (now - health.last_dead_growth_ms) / 1000,
                 health.dead_letter_window_ms / 1000);
        ok = 0;
    } else {
        snprintf(detail, detail_size, "oldest pending report %" PRId64 " s old", health.oldest_ms != 0 ? (now - health.oldest_ms) / 1000 : 0);
    }
    pthread_mutex_unlock(&health.mutex);
    return ok;
}

int forwarder__health_start(const forwarder_t *fwd, conf_error_t *err)
{
    spool_stats_t st;
    memset(&st, 0, sizeof(st));
    spool_stats(fwd->spool, &st);
    pthread_mutex_lock(&health.mutex);
    health.max_pending_age_ms = fwd->config->max_pending_age_ms;
    health.dead_letter_window_ms = fwd->config->dead_letter_window_ms;
    health.oldest_ms = fwd->count != 0 ? st.oldest_received_ms : 0;
    health.dead_seen = st.dead_count;
    health.last_dead_growth_ms = 0;
    health.active = fwd->count != 0;
    int reg = !health.registered;
    health.registered = 1;
    pthread_mutex_unlock(&health.mutex);
    if (reg && health_register("forwarder_backlog", check_backlog, NULL) != 0) {
        pthread_mutex_lock(&health.mutex);
        health.registered = 0;
        pthread_mutex_unlock(&health.mutex);
        snprintf(err->msg, sizeof(err->msg), "forwarder: out of memory registering the health check");
        return -1;
    }
    return 0;
}

void forwarder__health_stop(void)
{
    pthread_mutex_lock(&health.mutex);
    health.active = 0;
    pthread_mutex_unlock(&health.mutex);
}

void forwarder__health_sample(const spool_stats_t *st, int64_t now)
{
    pthread_mutex_lock(&health.mutex);
    health.oldest_ms = st->oldest_received_ms;
    if (st->dead_count > health.dead_seen)
        health.last_dead_growth_ms = now;
    health.dead_seen = st->dead_count; /* a requeue or purge lowers the baseline */
    pthread_mutex_unlock(&health.mutex);
}

void forwarder__health_note_dead_letter(void)
{
    pthread_mutex_lock(&health.mutex);
    health.last_dead_growth_ms = forwarder__now_ms();
    pthread_mutex_unlock(&health.mutex);
}

char *forwarder_status_json(forwarder_t *f)
{
    json_t *root = NULL, *list = NULL;
    char *out = NULL;
    int64_t now = forwarder__now_ms(), oldest;

    if (f == NULL || (root = json_object()) == NULL || (list = json_array()) == NULL)
        goto Exit;
    if (json_object_set_new(root, "upstreams", list) != 0) {
        list = NULL;
        goto Exit;
    }
    oldest = atomic_load(&f->oldest_ms);
    for (size_t i = 0; i < f->count; ++i) {
        upstream_t *up = &f->ups[i];
        char last_error[SPOOL_ERROR_MAX + 1];
        int64_t paused = atomic_load(&up->paused_until_pub);
        pthread_mutex_lock(&f->mutex);
        memcpy(last_error, up->last_error, sizeof(last_error));
        pthread_mutex_unlock(&f->mutex);
        json_t *u = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:I}", "name", up->cfg->name, "kind",
                              up->cfg->kind == UPSTREAM_ANTENNA ? "antenna" : "s3", "url", up->cfg->url, "state",
                              atomic_load(&up->failing) ? "failing" : "ok", "last_error", last_error, "pending",
                              (json_int_t)atomic_load(&f->pending), "pending_bytes", (json_int_t)atomic_load(&f->pending_bytes),
                              "oldest_pending_age_s", (json_int_t)(oldest != 0 ? (now - oldest) / 1000 : 0), "delivered",
                              (json_int_t)atomic_load(&up->delivered), "retries", (json_int_t)atomic_load(&up->retries),
                              "dead_letters", (json_int_t)atomic_load(&up->dead_letters), "in_flight",
                              (int)atomic_load(&up->in_flight), "paused_for_ms", (json_int_t)(paused > now ? paused - now : 0));
        if (u == NULL || json_array_append_new(list, u) != 0)
            goto Exit;
    }
    out = json_dumps(root, JSON_COMPACT);

Exit:
    json_decref(root);
    return out;
}
