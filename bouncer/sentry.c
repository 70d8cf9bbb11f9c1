// SPDX-License-Identifier: MIT
/*
 * sentry: the mirror health checker's thread and rounds (API and policy: sentry.h).
 *
 * A round: load the catalog (one short read transaction), list the (mirror, location) pairs to
 * check, HEAD every mirror root, then every location of the mirrors whose root answered (pairs of
 * a failing root take the root's failure), feed each observation to the pair's hysteresis track,
 * and ask the quorum guard whether the new downs are believable. Believed changes are written in
 * one store_health_put() transaction and announced with one on_change call.
 *
 * Pairs are keyed by (mirror id, location id); their tracks (streaks, last check and reason) live
 * in a sorted array owned by the sentry thread. The persisted state is the store's: a track whose
 * state disagrees with the store (an import wiped health, an admin edit) starts over from the
 * store's state. The status (per-mirror counts, last round) is rebuilt at the end of each round
 * under a mutex so any thread can render it.
 *
 * Threads: create/destroy on the owner's thread; rounds on the sentry thread; status/trigger anywhere.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>

#include "edge/log.h"
#include "edge/metrics.h"
#include "bouncer/sentry_internal.h"

#define COMPONENT "sentry"
#define REASON_MAX 160

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

static int64_t now_unix(void)
{
    return (int64_t)time(NULL);
}

static uint64_t now_mono_ms(void)
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

static entry_t *find_entry(entry_t *entries, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entries[mid].key == key)
            return entries + mid;
        if (entries[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static pair_t *find_pair(pair_t *pairs, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pairs[mid].key == key)
            return pairs + mid;
        if (pairs[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void free_entries(entry_t *entries, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(entries[i].reason);
    free(entries);
}

static void free_mstatus(mstatus_t *ms, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        free(ms[i].name);
        free(ms[i].last_reason);
    }
    free(ms);
}

static void round_dispose(round_t *r)
{
    for (size_t i = 0; i != r->num_mirrors; ++i)
        free(r->mirrors[i].root_reason);
    for (size_t i = 0; i != r->num_pairs; ++i)
        free(r->pairs[i].reason);
    free(r->mirrors);
    free(r->pairs);
    free(r->todo);
    catalog_destroy(r->cat);
}

/* ---- building the round ---- */

static int cmp_product_ptr(const void *a, const void *b)
{
    return strcasecmp((*(const catalog_product_t *const *)a)->name, (*(const catalog_product_t *const *)b)->name);
}

static const catalog_product_t *find_product(const catalog_product_t *const *sorted, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(sorted[mid]->name, name);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * Lists the pairs: every enabled mirror x every location whose product it may serve (https://
 * mirrors serve every product, http:// mirrors only products that are not SSL-only), sorted by key.
 */
static int build_round(round_t *r)
{
    const catalog_t *cat = r->cat;
    const catalog_product_t **products = NULL, **loc_product = NULL;
    size_t cap = 0;
    int ret = -ENOMEM;

    if ((products = malloc((cat->num_products + 1) * sizeof(*products))) == NULL ||
        (loc_product = calloc(cat->num_locations + 1, sizeof(*loc_product))) == NULL ||
        (r->mirrors = calloc(cat->num_mirrors + 1, sizeof(*r->mirrors))) == NULL)
        goto Exit;
    for (size_t i = 0; i != cat->num_products; ++i)
        products[i] = cat->products + i;
    qsort(products, cat->num_products, sizeof(*products), cmp_product_ptr);
    for (size_t l = 0; l != cat->num_locations; ++l)
        loc_product[l] = find_product(products, cat->num_products, cat->locations[l].product);

    for (size_t mi = 0; mi != cat->num_mirrors; ++mi) {
        const catalog_mirror_t *m = cat->mirrors + mi;
        int https = strncasecmp(m->base_url, "https://", 8) == 0;
        if (!m->enabled)
            continue;
        rmirror_t *rm = r->mirrors + r->num_mirrors;
        rm->m = m;
        rm->first = r->num_pairs;
        for (size_t l = 0; l != cat->num_locations; ++l) {
            const catalog_product_t *p = loc_product[l];
            if (p == NULL || (p->ssl_only && !https))
                continue;
            if (r->num_pairs == cap) {
                size_t ncap = cap == 0 ? 64 : cap * 2;
                pair_t *np = realloc(r->pairs, ncap * sizeof(*np));
                if (np == NULL)
                    goto Exit;
                r->pairs = np;
                cap = ncap;
            }
            pair_t *pr = r->pairs + r->num_pairs++;
            memset(pr, 0, sizeof(*pr));
            pr->key = (uint64_t)m->id << 32 | cat->locations[l].id;
            pr->mirror = (uint32_t)r->num_mirrors;
            pr->loc = (uint32_t)l;
            pr->lang = sentry_pick_lang((const char *const *)p->languages, p->num_languages);
            pr->persisted = CATALOG_HEALTH_HEALTHY; /* no record: healthy */
        }
        rm->count = r->num_pairs - rm->first;
        ++r->num_mirrors;
    }
    if ((r->todo = malloc((r->num_pairs + 1) * sizeof(*r->todo))) == NULL)
        goto Exit;
    ret = 0;
Exit:
    free(products);
    free(loc_product);
    return ret;
}

static int cmp_mirror_ptr(const void *a, const void *b)
{
    return strcasecmp((*(const catalog_mirror_t *const *)a)->name, (*(const catalog_mirror_t *const *)b)->name);
}

static int cmp_location_ptr(const void *a, const void *b)
{
    const catalog_location_t *x = *(const catalog_location_t *const *)a, *y = *(const catalog_location_t *const *)b;
    int c = strcasecmp(x->product, y->product);
    return c != 0 ? c : strcasecmp(x->os, y->os);
}

/*
 * Sets each pair's persisted state from the store's health records (looked up through sorted
 * indexes: a large catalog has many records). @return 0 or -ENOMEM.
 */
static int apply_persisted(round_t *r)
{
    const catalog_t *cat = r->cat;
    const catalog_mirror_t **ms = NULL;
    const catalog_location_t **ls = NULL;
    int ret = -ENOMEM;

    if (cat->num_health == 0)
        return 0;
    if ((ms = malloc((cat->num_mirrors + 1) * sizeof(*ms))) == NULL ||
        (ls = malloc((cat->num_locations + 1) * sizeof(*ls))) == NULL)
        goto Exit;
    for (size_t i = 0; i != cat->num_mirrors; ++i)
        ms[i] = cat->mirrors + i;
    for (size_t i = 0; i != cat->num_locations; ++i)
        ls[i] = cat->locations + i;
    qsort(ms, cat->num_mirrors, sizeof(*ms), cmp_mirror_ptr);
    qsort(ls, cat->num_locations, sizeof(*ls), cmp_location_ptr);
    for (size_t h = 0; h != cat->num_health; ++h) {
        const catalog_health_t *rec = cat->health + h;
        catalog_mirror_t mkey = {.name = rec->mirror};
        catalog_location_t lkey = {.product = rec->product, .os = rec->os};
        const catalog_mirror_t *mk = &mkey, *const *m = bsearch(&mk, ms, cat->num_mirrors, sizeof(*ms), cmp_mirror_ptr);
        const catalog_location_t *lk = &lkey, *const *l = bsearch(&lk, ls, cat->num_locations, sizeof(*ls), cmp_location_ptr);
        pair_t *p;
        if (m == NULL || l == NULL || (p = find_pair(r->pairs, r->num_pairs, (uint64_t)(*m)->id << 32 | (*l)->id)) == NULL)
            continue;
        p->persisted = rec->state;
    }
    ret = 0;
Exit:
    free(ms);
    free(ls);
    return ret;
}

/* ---- probing ---- */

static void on_root_done(void *arg, size_t index, const sentry_answer_t *a)
{
    round_t *r = arg;
    char reason[REASON_MAX];
    rmirror_t *rm = r->mirrors + index;
    rm->root = sentry_classify_root(a, reason, sizeof(reason));
    if (rm->root != SENTRY_RESULT_OK && (rm->root_reason = strdup(reason)) == NULL)
        r->oom = 1;
}

static void on_pair_done(void *arg, size_t index, const sentry_answer_t *a)
{
    round_t *r = arg;
    char reason[REASON_MAX];
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

/* The canary: any answer below 400 means the checker's own network works. @return 1 ok, 0 failing, <0 stop/error */
typedef struct st_canary_t {
    int ok;
    char reason[REASON_MAX];
} canary_t;

static void on_canary_done(void *arg, size_t index, const sentry_answer_t *a)
{
    canary_t *c = arg;
    (void)index;
    sentry_classify_root(a, c->reason, sizeof(c->reason));
    c->ok = a->transport == SENTRY_TRANSPORT_OK && a->status >= 200 && a->status < 400;
}

/* ---- applying ---- */

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
static int publish_status(sentry_t *s, round_t *r, const entry_t *entries, const char *skipped, int64_t start, uint64_t dur_ms)
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
    free_mstatus(s->mstatus, s->num_mstatus);
    s->mstatus = ms;
    s->num_mstatus = r->num_mirrors;
    ms = NULL;
    s->rounds++;
    s->last_start = start;
    s->last_end = now_unix();
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
        free_mstatus(ms, r->num_mirrors);
    return ret;
}

/* Marks a skipped round (canary, quorum) in status, metrics and (once per episode) the log. */
static void note_guard(sentry_t *s, const char *why, const char *detail)
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

/*
 * Feeds the observations to the tracks, runs the quorum guard, writes the changes in one
 * transaction. @return 0, or -errno (the caller keeps the old entries).
 */
static int apply_round(sentry_t *s, round_t *r, int64_t start, uint64_t start_ms)
{
    const sentry_config_t *c = s->config;
    entry_t *entries = NULL;
    catalog_health_t *records = NULL;
    size_t num_records = 0, downs = 0, mirror_downs = 0, checked_mirrors = 0;
    const char *skipped = NULL;
    char detail[REASON_MAX];
    int64_t now = now_unix();
    int ret = -ENOMEM, changed = 0;

    if ((entries = calloc(r->num_pairs + 1, sizeof(*entries))) == NULL ||
        (records = calloc(r->num_pairs + 1, sizeof(*records))) == NULL)
        goto Exit;

    /* observe (pairs are sorted by key) */
    for (size_t i = 0; i != r->num_pairs; ++i) {
        pair_t *p = r->pairs + i;
        const entry_t *old = find_entry(s->entries, s->num_entries, p->key);
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
    note_guard(s, skipped, skipped != NULL ? detail : NULL);

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
    uint64_t dur_ms = now_mono_ms() - start_ms;
    metrics_histogram_observe(s->m_duration, (double)dur_ms / 1000.0);
    /* announce before the status says the round ended, so that observers of the status see its effects */
    if (changed && s->on_change != NULL)
        s->on_change(s->arg);
    if (publish_status(s, r, entries, skipped, start, dur_ms) != 0)
        goto Exit;
    free_entries(s->entries, s->num_entries);
    s->entries = entries;
    s->num_entries = r->num_pairs;
    entries = NULL;
    ret = 0;
Exit:
    if (entries != NULL)
        free_entries(entries, r->num_pairs);
    free(records);
    return ret;
}

static void run_round(sentry_t *s)
{
    round_t r;
    int64_t start = now_unix();
    uint64_t start_ms = now_mono_ms();
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
            note_guard(s, "canary", canary.reason);
            pthread_mutex_lock(&s->mutex);
            s->rounds++;
            s->last_start = start;
            s->last_end = now_unix();
            s->last_duration_ms = now_mono_ms() - start_ms;
            s->skipped_reason = "canary";
            pthread_mutex_unlock(&s->mutex);
            goto Exit;
        }
    }

    if ((ret = build_round(&r)) != 0)
        goto Exit;
    /* keys start with the mirror id, so each mirror's pairs stay one contiguous range */
    qsort(r.pairs, r.num_pairs, sizeof(*r.pairs), cmp_pair);
    for (size_t i = r.num_pairs; i-- != 0;)
        r.mirrors[r.pairs[i].mirror].first = i;
    if ((ret = apply_persisted(&r)) != 0)
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

    if (apply_round(s, &r, start, start_ms) != 0)
        log_error(COMPONENT, "round not applied: out of memory");
Exit:
    if (r.oom || ret == -ENOMEM)
        log_error(COMPONENT, "round abandoned: out of memory");
    round_dispose(&r);
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

static void register_metrics(sentry_t *s)
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
    register_metrics(s);
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
    free_entries(s->entries, s->num_entries);
    free_mstatus(s->mstatus, s->num_mstatus);
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

/* ---- status ---- */

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
