// SPDX-License-Identifier: MIT
/*
 * sentry_apply: the end of a health check round: each pair's observation moves its hysteresis
 * track, the quorum guard decides whether the new downs are believable, and believed changes are
 * written in one store_health_put() transaction and announced with one on_change call.
 *
 * Pairs are keyed by (mirror id, location id); their tracks (streaks, last check and reason) live
 * in a sorted array owned by the sentry thread. The persisted state is the store's: a track whose
 * state disagrees with the store (an import wiped health, an admin edit) starts over from the
 * store's state. Sentry thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "edge/log.h"
#include "edge/metrics.h"
#include "bouncer/sentry_internal.h"

#define COMPONENT "sentry"

void sentry__free_entries(entry_t *entries, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(entries[i].reason);
    free(entries);
}

/*
 * Feeds the observations to the tracks, runs the quorum guard, writes the changes in one
 * transaction. @return 0, or -errno (the caller keeps the old entries).
 */
int sentry__apply_round(sentry_t *s, round_t *r, int64_t start, uint64_t start_ms)
{
    const sentry_config_t *c = s->config;
    entry_t *entries = NULL;
    catalog_health_t *records = NULL;
    size_t num_records = 0, downs = 0, mirror_downs = 0, checked_mirrors = 0;
    const char *skipped = NULL;
    char detail[SENTRY__REASON_MAX];
    int64_t now = sentry__now_unix();
    int ret = -ENOMEM, changed = 0;

    if ((entries = calloc(r->num_pairs + 1, sizeof(*entries))) == NULL ||
        (records = calloc(r->num_pairs + 1, sizeof(*records))) == NULL)
        goto Exit;

    /* observe (pairs are sorted by key) */
    for (size_t i = 0; i != r->num_pairs; ++i) {
        pair_t *p = r->pairs + i;
        const entry_t *old = sentry__find_key(s->entries, s->num_entries, sizeof(*s->entries), p->key);
        if (old != NULL && old->track.state == p->persisted)
            p->before = old->track;
        else
            sentry_track_init(&p->before, p->persisted);
        p->after = p->before;
        sentry_track_observe(&p->after, sentry_result_state(p->result), c->failures_to_down, c->successes_to_up);
        if (p->before.state == CATALOG_HEALTH_HEALTHY && p->after.state == CATALOG_HEALTH_UNHEALTHY)
            ++downs;
    }
    /* a mirror goes down when it had a healthy location and would have none */
    for (size_t i = 0; i != r->num_mirrors; ++i) {
        const rmirror_t *rm = r->mirrors + i;
        size_t before = 0, after = 0, newly = 0;
        if (rm->count == 0)
            continue;
        ++checked_mirrors;
        for (size_t k = rm->first; k != rm->first + rm->count; ++k) {
            const pair_t *p = r->pairs + k;
            before += p->before.state == CATALOG_HEALTH_HEALTHY;
            after += p->after.state == CATALOG_HEALTH_HEALTHY;
            newly += p->before.state == CATALOG_HEALTH_HEALTHY && p->after.state == CATALOG_HEALTH_UNHEALTHY;
        }
        if (before != 0 && after == 0 && newly != 0)
            ++mirror_downs;
    }

    /* the quorum guard: too many downs at once means our own network is failing */
    if (!sentry_quorum_allows(downs, r->num_pairs, c->max_down_fraction) ||
        !sentry_quorum_allows(mirror_downs, checked_mirrors, c->max_down_fraction)) {
        skipped = "quorum";
        snprintf(detail, sizeof(detail), "%zu of %zu locations and %zu of %zu mirrors would go down, more than %g", downs,
                 r->num_pairs, mirror_downs, checked_mirrors, c->max_down_fraction);
        for (size_t i = 0; i != r->num_pairs; ++i) {
            pair_t *p = r->pairs + i;
            if (p->before.state == CATALOG_HEALTH_HEALTHY && p->after.state == CATALOG_HEALTH_UNHEALTHY)
                p->after = p->before; /* the streak does not advance either */
        }
    }

    /* new entries and the records to write */
    for (size_t i = 0; i != r->num_pairs; ++i) {
        pair_t *p = r->pairs + i;
        entry_t *e = entries + i;
        e->key = p->key;
        e->track = p->after;
        e->last_check = now;
        e->reason = p->reason;
        p->reason = NULL;
        if (p->after.state == p->persisted)
            continue;
        catalog_health_t *h = records + num_records++;
        h->mirror = r->mirrors[p->mirror].m->name;
        h->product = r->cat->locations[p->loc].product;
        h->os = r->cat->locations[p->loc].os;
        h->state = p->after.state;
        h->checked_at = now;
        h->reason = e->reason != NULL ? e->reason : (char *)"HTTP 200";
    }
    sentry__note_guard(s, skipped, skipped != NULL ? detail : NULL);

    if (num_records != 0) {
        int st = store_health_put(s->store, records, num_records);
        if (st == 0) {
            changed = 1;
        } else {
            /* a mirror or location vanished since the load: look again at once */
            log_write(st < 0 ? LOG_LEVEL_ERROR : LOG_LEVEL_INFO, COMPONENT, "health records not written (%s)%s", store_strerror(st),
                      st > 0 ? "; checking again" : "");
            if (st > 0) {
                pthread_mutex_lock(&s->mutex);
                s->triggered = 1;
                pthread_mutex_unlock(&s->mutex);
            }
        }
    }
    uint64_t dur_ms = sentry__now_mono_ms() - start_ms;
    metrics_histogram_observe(s->m_duration, (double)dur_ms / 1000.0);
    /* announce before the status says the round ended, so that observers of the status see its effects */
    if (changed && s->on_change != NULL)
        s->on_change(s->arg);
    if (sentry__publish_status(s, r, entries, skipped, start, dur_ms) != 0)
        goto Exit;
    sentry__free_entries(s->entries, s->num_entries);
    s->entries = entries;
    s->num_entries = r->num_pairs;
    entries = NULL;
    ret = 0;
Exit:
    if (entries != NULL)
        sentry__free_entries(entries, r->num_pairs);
    free(records);
    return ret;
}
