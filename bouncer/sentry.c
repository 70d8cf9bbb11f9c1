// SPDX-License-Identifier: MIT
/*
 * sentry: the mirror health checker's lifecycle, thread and rounds (API and policy: sentry.h).
 *
 * A round: load the catalog (one short read transaction), list the (mirror, location) pairs to
 * check (sentry_round.c), HEAD every mirror root, then every location of the mirrors whose root
 * answered (pairs of a failing root take the root's failure), and hand the observations to
 * sentry_apply.c, which feeds them to the hysteresis tracks, asks the quorum guard whether the new
 * downs are believable, writes believed changes in one store_health_put() transaction and
 * announces them with one on_change call. What the checker reports (status, metrics, state
 * changes in the log) is sentry_status.c's.
 *
 * This file holds the order of those steps, so a round reads top to bottom in run_round(); the
 * HTTP part is sentry_probe.c and every decision is a pure function of sentry_classify.c.
 *
 * Threads: create/destroy on the owner's thread; rounds on the sentry thread; status/trigger anywhere.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge/log.h"
#include "edge/metrics.h"
#include "bouncer/sentry_internal.h"

#define COMPONENT "sentry"

int64_t sentry__now_unix(void)
{
    return (int64_t)time(NULL);
}

uint64_t sentry__now_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_pair(const void *a, const void *b)
{
    return cmp_u64(((const pair_t *)a)->key, ((const pair_t *)b)->key);
}

/* ---- probing ---- */

static void on_root_done(void *arg, size_t index, const sentry_answer_t *a)
{
    round_t *r = arg;
    char reason[SENTRY__REASON_MAX];
    rmirror_t *rm = r->mirrors + index;
    rm->root = sentry_classify_root(a, reason, sizeof(reason));
    if (rm->root != SENTRY_RESULT_OK && (rm->root_reason = strdup(reason)) == NULL)
        r->oom = 1;
}

static void on_pair_done(void *arg, size_t index, const sentry_answer_t *a)
{
    round_t *r = arg;
    char reason[SENTRY__REASON_MAX];
    pair_t *p = r->pairs + r->todo[index];
    p->result = sentry_classify(a, reason, sizeof(reason));
    ++r->results[p->result];
    if (p->result != SENTRY_RESULT_OK && (p->reason = strdup(reason)) == NULL)
        r->oom = 1;
}

/* Runs the probe over the mirror roots (roots 1) or the pairs listed in todo (roots 0). */
static int run_urls(sentry_t *s, round_t *r, size_t n, int roots)
{
    const char **urls = NULL;
    char **owned = NULL;
    int ret = -ENOMEM;

    if ((urls = calloc(n + 1, sizeof(*urls))) == NULL || (owned = calloc(n + 1, sizeof(*owned))) == NULL)
        goto Exit;
    for (size_t i = 0; i != n; ++i) {
        if (roots) {
            urls[i] = r->mirrors[i].m->base_url;
        } else {
            const pair_t *p = r->pairs + r->todo[i];
            if ((owned[i] = sentry_check_url(r->mirrors[p->mirror].m->base_url, r->cat->locations[p->loc].path, p->lang)) == NULL)
                goto Exit;
            urls[i] = owned[i];
        }
    }
    ret = sentry__probe_run(s->probe, urls, n, &s->stop, roots ? on_root_done : on_pair_done, r);
Exit:
    for (size_t i = 0; owned != NULL && i != n; ++i)
        free(owned[i]);
    free(owned);
    free(urls);
    return ret;
}

/* The canary's result: any answer below 400 means the checker's own network works (ok = 1); reason says why not. */
typedef struct st_canary_t {
    int ok;
    char reason[SENTRY__REASON_MAX];
} canary_t;

static void on_canary_done(void *arg, size_t index, const sentry_answer_t *a)
{
    canary_t *c = arg;
    (void)index;
    sentry_classify_root(a, c->reason, sizeof(c->reason));
    c->ok = a->transport == SENTRY_TRANSPORT_OK && a->status >= 200 && a->status < 400;
}

static void run_round(sentry_t *s)
{
    round_t r;
    int64_t start = sentry__now_unix();
    uint64_t start_ms = sentry__now_mono_ms();
    int ret;

    memset(&r, 0, sizeof(r));
    r.s = s;

    metrics_counter_inc(s->m_rounds);
    if ((ret = store_load(s->store, &r.cat)) != 0) {
        log_error(COMPONENT, "cannot load the catalog: %s", store_strerror(ret));
        goto Exit;
    }

    /* the canary first: when it fails, nothing of this round could be trusted */
    if (s->config->canary_url != NULL) {
        canary_t canary = {0, ""};
        const char *url = s->config->canary_url;
        if ((ret = sentry__probe_run(s->probe, &url, 1, &s->stop, on_canary_done, &canary)) != 0)
            goto Exit;
        if (!canary.ok) {
            sentry__note_guard(s, "canary", canary.reason);
            pthread_mutex_lock(&s->mutex);
            s->rounds++;
            s->last_start = start;
            s->last_end = sentry__now_unix();
            s->last_duration_ms = sentry__now_mono_ms() - start_ms;
            s->skipped_reason = "canary";
            pthread_mutex_unlock(&s->mutex);
            goto Exit;
        }
    }

    if ((ret = sentry__build_round(&r)) != 0)
        goto Exit;
    /* keys start with the mirror id, so each mirror's pairs stay one contiguous range */
    qsort(r.pairs, r.num_pairs, sizeof(*r.pairs), cmp_pair);
    for (size_t i = r.num_pairs; i-- != 0;)
        r.mirrors[r.pairs[i].mirror].first = i;
    if ((ret = sentry__apply_persisted(&r)) != 0)
        goto Exit;

    /* roots */
    if ((ret = run_urls(s, &r, r.num_mirrors, 1)) != 0 || r.oom)
        goto Exit;
    /* locations of mirrors whose root answers; the others take the root's failure */
    for (size_t i = 0; i != r.num_pairs; ++i) {
        pair_t *p = r.pairs + i;
        const rmirror_t *rm = r.mirrors + p->mirror;
        if (rm->root == SENTRY_RESULT_OK) {
            r.todo[r.num_todo++] = i;
            continue;
        }
        p->result = rm->root;
        ++r.results[p->result];
        if (asprintf(&p->reason, "mirror root: %s", rm->root_reason) < 0) {
            p->reason = NULL;
            goto Exit;
        }
    }
    if ((ret = run_urls(s, &r, r.num_todo, 0)) != 0 || r.oom)
        goto Exit;
    for (size_t i = 0; i != SENTRY_RESULT_COUNT; ++i)
        metrics_counter_add(s->m_checks[i], r.results[i]);

    if (sentry__apply_round(s, &r, start, start_ms) != 0)
        log_error(COMPONENT, "round not applied: out of memory");
Exit:
    if (r.oom || ret == -ENOMEM)
        log_error(COMPONENT, "round abandoned: out of memory");
    sentry__round_dispose(&r);
}

/* ---- the thread ---- */

static void *thread_main(void *arg)
{
    sentry_t *s = arg;
    struct timespec due;

    clock_gettime(CLOCK_MONOTONIC, &due); /* the first round starts at once */
    pthread_mutex_lock(&s->mutex);
    while (!atomic_load(&s->stop)) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int is_due = now.tv_sec > due.tv_sec || (now.tv_sec == due.tv_sec && now.tv_nsec >= due.tv_nsec);
        if (!s->triggered && !is_due) {
            pthread_cond_timedwait(&s->cond, &s->mutex, &due);
            continue;
        }
        s->triggered = 0;
        pthread_mutex_unlock(&s->mutex);
        run_round(s);
        pthread_mutex_lock(&s->mutex);
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += (time_t)(s->config->interval_ms / 1000);
        due.tv_nsec += (long)(s->config->interval_ms % 1000) * 1000000;
        if (due.tv_nsec >= 1000000000) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_unlock(&s->mutex);
    return NULL;
}

int sentry_create(const sentry_config_t *config, store_t *store, sentry_change_cb on_change, void *arg, sentry_t **out,
                  conf_error_t *err)
{
    sentry_t *s = NULL;
    pthread_condattr_t ca;
    int ret = -1, sync_ok = 0, r;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL || sentry__config_copy(&s->config, config) != 0) {
        snprintf(err->msg, sizeof(err->msg), "health checker: out of memory");
        goto Exit;
    }
    s->store = store;
    s->on_change = on_change;
    s->arg = arg;
    atomic_init(&s->stop, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mutex, NULL);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    sync_ok = 1;
    sentry__register_metrics(s);
    for (size_t i = 0; i != SENTRY_RESULT_COUNT; ++i)
        if (s->m_checks[i] == NULL)
            goto Oom;
    if (s->m_rounds == NULL || s->m_skipped_quorum == NULL || s->m_skipped_canary == NULL || s->m_healthy == NULL ||
        s->m_unhealthy == NULL || s->m_guard == NULL || s->m_duration == NULL)
        goto Oom;
    if (!s->config->enabled) {
        *out = s;
        s = NULL;
        ret = 0;
        goto Exit;
    }
    if ((r = sentry__probe_create(s->config, &s->probe)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "health checker: cannot initialise libcurl (%s)", strerror(-r));
        goto Exit;
    }
    if ((r = pthread_create(&s->thread, NULL, thread_main, s)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "health checker: cannot start its thread (%s)", strerror(r));
        goto Exit;
    }
    pthread_setname_np(s->thread, "edge-sentry");
    s->thread_started = 1;
    *out = s;
    s = NULL;
    ret = 0;
    goto Exit;
Oom:
    snprintf(err->msg, sizeof(err->msg), "health checker: cannot register metrics (out of memory or name clash)");
Exit:
    if (s != NULL) {
        sentry__probe_destroy(s->probe);
        if (sync_ok) {
            pthread_mutex_destroy(&s->mutex);
            pthread_cond_destroy(&s->cond);
        }
        sentry_config_destroy(s->config);
        free(s);
    }
    return ret;
}

void sentry_destroy(sentry_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mutex);
    atomic_store(&s->stop, 1);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mutex);
    sentry__probe_wakeup(s->probe);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    sentry__probe_destroy(s->probe);
    sentry__free_entries(s->entries, s->num_entries);
    sentry__free_mstatus(s->mstatus, s->num_mstatus);
    pthread_mutex_destroy(&s->mutex);
    pthread_cond_destroy(&s->cond);
    sentry_config_destroy(s->config);
    free(s);
}

void sentry_trigger(sentry_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mutex);
    s->triggered = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mutex);
}
