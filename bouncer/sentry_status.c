// SPDX-License-Identifier: MIT
/*
 * sentry_status: what the health checker reports: its metrics, the per-mirror status behind
 * sentry_status_json(), log lines for mirrors that change state and for rounds a guard (canary,
 * quorum) did not apply. The status (per-mirror counts, last round) is rebuilt at the end of each
 * round under the sentry's mutex, so any thread can render it without waiting for a round.
 * Sentry thread, except sentry_status_json() (any thread).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "edge/log.h"
#include "edge/metrics.h"
#include "bouncer/sentry_internal.h"

#define COMPONENT "sentry"

void sentry__free_mstatus(mstatus_t *ms, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        free(ms[i].name);
        free(ms[i].last_reason);
    }
    free(ms);
}

static const char *mirror_state(size_t healthy, size_t unhealthy, size_t absent)
{
    if (healthy != 0)
        return "healthy";
    if (unhealthy != 0)
        return "unhealthy";
    if (absent != 0)
        return "absent";
    return "unknown";
}

static const mstatus_t *find_mstatus(const mstatus_t *ms, size_t n, const char *name)
{
    for (size_t i = 0; i != n; ++i)
        if (strcasecmp(ms[i].name, name) == 0)
            return ms + i;
    return NULL;
}

/*
 * Builds the per-mirror status from the new entries (pairs and entries are parallel, both sorted
 * by key) and logs mirrors whose state changed. Swaps it in under the mutex.
 */
int sentry__publish_status(sentry_t *s, round_t *r, const entry_t *entries, const char *skipped, int64_t start, uint64_t dur_ms)
{
    mstatus_t *ms = NULL;
    size_t healthy_mirrors = 0, unhealthy_mirrors = 0;
    int ret = -ENOMEM;

    if ((ms = calloc(r->num_mirrors + 1, sizeof(*ms))) == NULL)
        goto Exit;
    for (size_t i = 0; i != r->num_mirrors; ++i) {
        const rmirror_t *rm = r->mirrors + i;
        mstatus_t *m = ms + i;
        const char *why = NULL;
        if ((m->name = strdup(rm->m->name)) == NULL)
            goto Exit;
        for (size_t k = rm->first; k != rm->first + rm->count; ++k) {
            const pair_t *p = r->pairs + k;
            const entry_t *e = entries + k;
            switch (e->track.state) {
            case CATALOG_HEALTH_HEALTHY:
                ++m->healthy;
                break;
            case CATALOG_HEALTH_UNHEALTHY:
                ++m->unhealthy;
                break;
            default:
                ++m->absent;
                break;
            }
            if (e->last_check > m->last_check)
                m->last_check = e->last_check;
            if (why == NULL && e->reason != NULL && p->result != SENTRY_RESULT_ABSENT)
                why = e->reason;
        }
        /* an absent file is worth reporting only when nothing worse happened */
        for (size_t k = rm->first; why == NULL && k != rm->first + rm->count; ++k)
            if (entries[k].reason != NULL)
                why = entries[k].reason;
        if (why != NULL && (m->last_reason = strdup(why)) == NULL)
            goto Exit;
        m->state = mirror_state(m->healthy, m->unhealthy, m->absent);
        if (strcmp(m->state, "unhealthy") == 0)
            ++unhealthy_mirrors;
        else if (strcmp(m->state, "healthy") == 0)
            ++healthy_mirrors;
    }

    pthread_mutex_lock(&s->mutex);
    /* log each mirror whose state changed (the first time: only when it is not healthy) */
    for (size_t i = 0; i != r->num_mirrors; ++i) {
        const mstatus_t *old = find_mstatus(s->mstatus, s->num_mstatus, ms[i].name);
        const char *was = old != NULL ? old->state : "unknown";
        if (strcmp(was, ms[i].state) != 0 && !(old == NULL && strcmp(ms[i].state, "healthy") == 0))
            log_write(strcmp(ms[i].state, "healthy") == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, COMPONENT,
                      "mirror %s is now %s (was %s; %zu healthy, %zu unhealthy, %zu absent locations): %s", ms[i].name, ms[i].state,
                      was, ms[i].healthy, ms[i].unhealthy, ms[i].absent,
                      ms[i].last_reason != NULL ? ms[i].last_reason : "HTTP 200");
    }
    sentry__free_mstatus(s->mstatus, s->num_mstatus);
    s->mstatus = ms;
    s->num_mstatus = r->num_mirrors;
    ms = NULL;
    s->rounds++;
    s->last_start = start;
    s->last_end = sentry__now_unix();
    s->last_duration_ms = dur_ms;
    s->skipped_reason = skipped;
    for (size_t i = 0; i != SENTRY_RESULT_COUNT; ++i)
        s->checks += r->results[i];
    pthread_mutex_unlock(&s->mutex);

    metrics_gauge_set(s->m_healthy, (double)healthy_mirrors);
    metrics_gauge_set(s->m_unhealthy, (double)unhealthy_mirrors);
    ret = 0;
Exit:
    if (ms != NULL)
        sentry__free_mstatus(ms, r->num_mirrors);
    return ret;
}

/* Marks a skipped round (canary, quorum) in status, metrics and (once per episode) the log. */
void sentry__note_guard(sentry_t *s, const char *why, const char *detail)
{
    if (why != NULL) {
        metrics_counter_inc(strcmp(why, "canary") == 0 ? s->m_skipped_canary : s->m_skipped_quorum);
        metrics_gauge_set(s->m_guard, 1);
        if (!s->guard_active)
            log_warn(COMPONENT, "round not applied (%s): %s; assuming the checker's own network is failing", why, detail);
        s->guard_active = 1;
        pthread_mutex_lock(&s->mutex);
        s->rounds_skipped++;
        pthread_mutex_unlock(&s->mutex);
    } else {
        metrics_gauge_set(s->m_guard, 0);
        if (s->guard_active)
            log_info(COMPONENT, "rounds are applied again");
        s->guard_active = 0;
    }
}

void sentry__register_metrics(sentry_t *s)
{
    static const double buckets[] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
    char labels[64];
    for (size_t i = 0; i != SENTRY_RESULT_COUNT; ++i) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", sentry_result_name((sentry_result_t)i));
        s->m_checks[i] = metrics_counter("edge_bouncer_health_checks_total", "Mirror health checks by result class", labels);
    }
    s->m_rounds = metrics_counter("edge_bouncer_health_rounds_total", "Health check rounds started", NULL);
    s->m_skipped_quorum =
        metrics_counter("edge_bouncer_health_rounds_skipped_total",
                        "Health check rounds not applied (the checker's own network looked broken)", "reason=\"quorum\"");
    s->m_skipped_canary =
        metrics_counter("edge_bouncer_health_rounds_skipped_total",
                        "Health check rounds not applied (the checker's own network looked broken)", "reason=\"canary\"");
    s->m_healthy =
        metrics_gauge("edge_bouncer_health_mirrors", "Enabled mirrors by health state after the last round", "state=\"healthy\"");
    s->m_unhealthy =
        metrics_gauge("edge_bouncer_health_mirrors", "Enabled mirrors by health state after the last round", "state=\"unhealthy\"");
    s->m_guard =
        metrics_gauge("edge_bouncer_health_guard_active", "1 when the last round was not applied (quorum or canary)", NULL);
    s->m_duration = metrics_histogram("edge_bouncer_health_round_duration_seconds", "Duration of health check rounds", NULL,
                                      buckets, sizeof(buckets) / sizeof(buckets[0]));
}

static json_t *time_or_null(int64_t t)
{
    return t != 0 ? json_integer((json_int_t)t) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

char *sentry_status_json(sentry_t *s)
{
    json_t *root = NULL, *mirrors = NULL;
    char *out = NULL;

    if (s == NULL)
        return NULL;
    if ((root = json_object()) == NULL || (mirrors = json_object()) == NULL)
        goto Exit;
    pthread_mutex_lock(&s->mutex);
    int ok = json_object_set_new(root, "enabled", json_boolean(s->config->enabled)) == 0 &&
             json_object_set_new(root, "running", json_boolean(s->thread_started && !atomic_load(&s->stop))) == 0 &&
             json_object_set_new(root, "interval_ms", json_integer((json_int_t)s->config->interval_ms)) == 0 &&
             json_object_set_new(root, "rounds", json_integer((json_int_t)s->rounds)) == 0 &&
             json_object_set_new(root, "last_round_start", time_or_null(s->last_start)) == 0 &&
             json_object_set_new(root, "last_round_end", time_or_null(s->last_end)) == 0 &&
             json_object_set_new(root, "last_round_duration_ms", json_integer((json_int_t)s->last_duration_ms)) == 0 &&
             json_object_set_new(root, "checks", json_integer((json_int_t)s->checks)) == 0 &&
             json_object_set_new(root, "last_round_skipped", json_boolean(s->skipped_reason != NULL)) == 0 &&
             json_object_set_new(root, "skipped_reason", str_or_null(s->skipped_reason)) == 0 &&
             json_object_set_new(root, "rounds_skipped", json_integer((json_int_t)s->rounds_skipped)) == 0;
    for (size_t i = 0; ok && i != s->num_mstatus; ++i) {
        const mstatus_t *m = s->mstatus + i;
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "state", m->state, "healthy", (json_int_t)m->healthy, "unhealthy",
                              (json_int_t)m->unhealthy, "absent", (json_int_t)m->absent, "last_check", time_or_null(m->last_check),
                              "last_reason", str_or_null(m->last_reason));
        ok = o != NULL && json_object_set_new(mirrors, m->name, o) == 0;
    }
    pthread_mutex_unlock(&s->mutex);
    if (!ok || json_object_set(root, "mirrors", mirrors) != 0)
        goto Exit;
    out = json_dumps(root, JSON_COMPACT);
Exit:
    json_decref(mirrors);
    json_decref(root);
    return out;
}
