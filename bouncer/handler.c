// SPDX-License-Identifier: MIT
/*
 * handler: the redirect endpoint, the thin h2o glue around resolve_request().
 *
 * Per request, on a worker thread: take the thread's settings slot and snapshot reader (hazard
 * pointers, no lock), find the client (socket peer, or the right-most untrusted X-Forwarded-For
 * entry behind a trusted proxy), decide HTTPS (TLS listener, or the pin header sent by a trusted
 * peer: the socket peer is checked, never the resolved client), look the client up in GeoIP,
 * draw a random number from the thread's xorshift128+ generator (seeded from getrandom), resolve
 * into a stack buffer (through the thread's resolve_memo: a query string seen before skips the
 * lookups and only draws its mirror) and map the outcome to HTTP in one table (`answers`). Everything that must
 * outlive the call (Location, mirror name, body) is copied into the request's pool: the snapshot
 * and the settings are released before h2o sends the answer.
 *
 * Metric series whose labels come from the catalog (product, os, mirror) are found through two
 * per-thread caches, so the steady state takes no lock; only the first request of a thread for a
 * new series registers it. The first is keyed by the snapshot's string pointers (no hashing of
 * text; emptied when a new snapshot arrives), the second by the label text. Labels are the
 * catalog's names or "unknown", never request text.
 *
 * Caching: a redirect or print answer carries `Cache-Control: max-age=N`, made `private` when
 * the answer can depend on the client's address (GeoIP configured and the catalog has
 * country/continent-restricted mirrors), plus `Vary` for the request headers that can change it
 * (User-Agent and Referer when there are rewrite rules, Referer with a stub root, the pin header
 * behind trusted proxies). 4xx and 503 answers carry no max-age.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <h2o.h>
#include "bouncer/clientaddr.h"
#include "bouncer/internal.h"
#include "bouncer/module.h"
#include "bouncer/resolve_memo.h"
#include "edge/log.h"
#include "edge/respond.h"

#define XFF_LINES_MAX 64
#define COUNTER_CACHE_SIZE 4096 /* power of two; per worker thread */
#define POINTER_CACHE_SIZE 1024 /* power of two; per worker thread */
/* product/os/status series one worker registers before the rest count as product="other": keeps
 * /metrics and the registry bounded with 50,000-product catalogs, and every series in the cache */
#define PRODUCT_SERIES_MAX 1024
#define COUNTER_KEY_MAX (1 + CATALOG_NAME_MAX + 1 + CATALOG_OS_MAX + 1 + 16)

typedef struct st_counter_slot_t {
    metrics_counter_t *counter; /* NULL: empty */
    uint32_t hash;
    uint16_t len;
    char key[COUNTER_KEY_MAX];
} counter_slot_t;

/* A series found by the identity of its label strings, valid for one snapshot version. */
typedef struct st_pointer_slot_t {
    const char *a, *b;
    int n;
    char kind;
    metrics_counter_t *counter; /* NULL: empty */
} pointer_slot_t;

typedef struct st_bouncer_worker_t {
    struct st_bouncer_worker_t *next;
    snapshot_reader_t *reader;
    resolve_memo_t *memo; /* NULL when out of memory: every request resolves afresh */
    int slot;
    uint64_t rng[2];
    uint64_t flags_version; /* snapshot version the flags below describe */
    int geo_restricted;     /* an enabled mirror is limited to countries/continents */
    int has_rules;
    unsigned product_series; /* 'r' series this thread registered */
    counter_slot_t cache[COUNTER_CACHE_SIZE];
    pointer_slot_t pointer_cache[POINTER_CACHE_SIZE];
} worker_t;

typedef struct st_redirect_handler_t {
    h2o_handler_t super;
    bouncer_t *bouncer;
} redirect_handler_t;

/* One table maps resolve outcomes to HTTP. */
static const struct {
    int status;
    const char *reason;
    int cacheable;
} answers[] = {
    [RESOLVE_REDIRECT] = {302, "Found", 1},   [RESOLVE_PRINT] = {200, "OK", 1},
    [RESOLVE_LANDING] = {302, "Found", 1},    [RESOLVE_STUB_REDIRECT] = {302, "Found", 0},
    [RESOLVE_NOT_FOUND] = {404, "Not Found", 0}, [RESOLVE_BAD_REQUEST] = {400, "Bad Request", 0},
};

static metrics_counter_t *outcome_counters[RESOLVE_BAD_REQUEST + 1][RESOLVE_REASON_NO_MIRROR + 1];
static metrics_counter_t *geo_counters[GEO_DB_ERROR + 1];
static metrics_counter_t *unavailable_counter;

/* ---- per-thread helpers ---- */

static uint64_t rng_next(uint64_t s[2])
{
    uint64_t x = s[0], y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

static double rng_double(worker_t *w)
{
    return (double)(rng_next(w->rng) >> 11) * 0x1.0p-53;
}

/* Finds (or registers once) the counter for a label key; kind selects the metric. */
static metrics_counter_t *cached_counter(worker_t *w, char kind, const char *a, size_t alen, const char *b, size_t blen, int n)
{
    char key[COUNTER_KEY_MAX];
    size_t len = 0;
    if (alen > CATALOG_NAME_MAX)
        alen = CATALOG_NAME_MAX;
    if (blen > CATALOG_OS_MAX)
        blen = CATALOG_OS_MAX;
    key[len++] = kind;
    memcpy(key + len, a, alen);
    len += alen;
    key[len++] = '\0';
    memcpy(key + len, b, blen);
    len += blen;
    key[len++] = '\0';
    memcpy(key + len, &n, sizeof(n)); /* binary: this runs on every redirect, snprintf showed in profiles */
    len += sizeof(n);
    uint32_t hash = bouncer__hash_ci(key, len);
    counter_slot_t *slot = NULL;
    if (w != NULL) {
        for (uint32_t i = 0; i != 16; ++i) {
            counter_slot_t *s = &w->cache[(hash + i) & (COUNTER_CACHE_SIZE - 1)];
            if (s->counter == NULL) {
                slot = s;
                break;
            }
            if (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0)
                return s->counter;
        }
    }
    /* first sight on this thread: register (takes the registry's mutex once per series and thread) */
    if (kind == 'r' && w != NULL && !(alen == 5 && memcmp(a, "other", 5) == 0)) {
        if (w->product_series >= PRODUCT_SERIES_MAX)
            return cached_counter(w, 'r', "other", 5, b, blen, n);
        ++w->product_series;
    }
    char ea[2 * CATALOG_NAME_MAX + 2], eb[2 * CATALOG_OS_MAX + 2], av[CATALOG_NAME_MAX + 1], bv[CATALOG_OS_MAX + 1];
    char labels[sizeof(ea) + sizeof(eb) + 64];
    memcpy(av, a, alen);
    av[alen] = '\0';
    memcpy(bv, b, blen);
    bv[blen] = '\0';
    metrics_label_escape(av, ea, sizeof(ea));
    metrics_label_escape(bv, eb, sizeof(eb));
    metrics_counter_t *c;
    if (kind == 'r') {
        snprintf(labels, sizeof(labels), "product=\"%s\",os=\"%s\",status=\"%d\"", ea, eb, n);
        c = metrics_counter("edge_bouncer_requests_total", "Redirect requests by catalog product (or unknown/none), os and HTTP status",
                            labels);
    } else {
        snprintf(labels, sizeof(labels), "mirror=\"%s\",tier=\"%s\",healthy=\"%s\"", ea, eb, n ? "true" : "false");
        c = metrics_counter("edge_bouncer_mirror_choices_total", "Mirrors chosen for redirects, by mirror, geo tier and health", labels);
    }
    if (c != NULL && slot != NULL) {
        slot->hash = hash;
        slot->len = (uint16_t)len;
        memcpy(slot->key, key, len);
        slot->counter = c;
    }
    return c;
}

/* cached_counter() for labels that are string constants or owned by the snapshot the thread holds. */
static metrics_counter_t *pointer_counter(worker_t *w, char kind, const char *a, size_t alen, const char *b, size_t blen, int n)
{
    uintptr_t h = ((uintptr_t)a * 0x9e3779b97f4a7c15ull) ^ ((uintptr_t)b * 0xc2b2ae3d27d4eb4full) ^ (uintptr_t)n ^ (uintptr_t)kind;
    pointer_slot_t *slot = &w->pointer_cache[(h >> 20) & (POINTER_CACHE_SIZE - 1)];
    if (slot->counter != NULL && slot->a == a && slot->b == b && slot->n == n && slot->kind == kind)
        return slot->counter;
    metrics_counter_t *c = cached_counter(w, kind, a, alen, b, blen, n);
    if (c != NULL)
        *slot = (pointer_slot_t){a, b, n, kind, c};
    return c;
}

/* Recomputes the per-snapshot flags when a new snapshot was published. */
static void update_flags(worker_t *w, const snapshot_t *snap)
{
    if (snap->version == w->flags_version)
        return;
    w->geo_restricted = 0;
    for (uint32_t i = 0; i != snap->num_mirrors; ++i)
        if (snap->mirrors[i].enabled && (snap->mirrors[i].continents != 0 || snap->mirrors[i].num_countries != 0))
            w->geo_restricted = 1;
    w->has_rules = snap->num_rules != 0;
    memset(w->pointer_cache, 0, sizeof(w->pointer_cache)); /* the old snapshot's strings may be freed and reused */
    w->flags_version = snap->version;
}

static int header_equals_ci(h2o_iovec_t v, const char *s)
{
    size_t len = strlen(s);
    /* trim spaces */
    while (v.len != 0 && (v.base[0] == ' ' || v.base[0] == '\t'))
        ++v.base, --v.len;
    while (v.len != 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t'))
        --v.len;
    return v.len == len && strncasecmp(v.base, s, len) == 0;
}

static char *pool_strdup(h2o_req_t *req, const char *s, size_t len)
{
    char *p = h2o_mem_alloc_pool(&req->pool, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Appends one field name to a Vary value (no snprintf: this runs on every redirect); drops what does not fit. */
static size_t vary_append(char *vary, size_t cap, size_t len, const char *name)
{
    size_t n = strlen(name), sep = len != 0 ? 2 : 0;
    if (len + sep + n > cap)
        return len;
    memcpy(vary + len, ", ", sep);
    memcpy(vary + len + sep, name, n);
    return len + sep + n;
}

/* ---- the request ---- */

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    bouncer_t *b = ((redirect_handler_t *)self)->bouncer;
    worker_t *w = h2o_context_get_handler_context(req->conn->ctx, self);
    const bouncer_settings_t *settings = NULL;
    const snapshot_t *snap = NULL;
    char buf[RESOLVE_BUF_SIZE];

    if (w == NULL || w->reader == NULL || w->slot < 0) {
        respond_text(req, 503, "Service Unavailable", "text/plain; charset=utf-8", "worker not ready\n", 17);
        return 0;
    }
    settings = bouncer__settings_acquire(b, w->slot);
    const bouncer_config_t *conf = settings->config;

    /* client address and HTTPS */
    struct sockaddr_storage peer, client;
    memset(&peer, 0, sizeof(peer));
    memset(&client, 0, sizeof(client));
    int have_peer = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer) != 0;
    clientaddr_header_t xff[XFF_LINES_MAX];
    size_t num_xff = 0;
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1;) {
        /* keep the right-most XFF_LINES_MAX lines: the walk reads from the right end only */
        if (num_xff == XFF_LINES_MAX) {
            memmove(xff, xff + 1, sizeof(xff[0]) * (XFF_LINES_MAX - 1));
            --num_xff;
        }
        xff[num_xff].base = req->headers.entries[i].value.base;
        xff[num_xff++].len = req->headers.entries[i].value.len;
    }
    int peer_trusted = have_peer && clientaddr_is_trusted(conf->trusted_proxies, (struct sockaddr *)&peer);
    int client_known = have_peer && clientaddr_resolve_headers(conf->trusted_proxies, (struct sockaddr *)&peer, xff, num_xff,
                                                               &client) >= 0;
    int https = req->input.scheme == &H2O_URL_SCHEME_HTTPS || req->scheme == &H2O_URL_SCHEME_HTTPS;
    if (!https && peer_trusted && conf->pin_name != NULL) {
        for (ssize_t i = -1; (i = h2o_find_header_by_str(&req->headers, conf->pin_name, strlen(conf->pin_name), i)) != -1;)
            if (header_equals_ci(req->headers.entries[i].value, conf->pin_value))
                https = 1;
    }
    if (client_known)
        geo_prefetch(settings->geo, (struct sockaddr *)&client); /* the lookup comes after the plan */

    /* resolve under the snapshot */
    if ((snap = snapshot_acquire(w->reader)) == NULL) {
        metrics_counter_inc(unavailable_counter);
        static const char body[] = "Service Unavailable: no catalog loaded\n";
        respond_text(req, 503, "Service Unavailable", "text/plain; charset=utf-8", body, sizeof(body) - 1);
        goto Exit;
    }
    update_flags(w, snap);
    resolve_input_t in = {.config = &settings->resolve, .https = https, .random = rng_double(w)};
    if (req->query_at != SIZE_MAX) {
        in.query = req->path.base + req->query_at + 1;
        in.query_len = req->path.len - req->query_at - 1;
    }
    ssize_t hi;
    if ((hi = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1)) != -1) {
        in.user_agent = req->headers.entries[hi].value.base;
        in.user_agent_len = req->headers.entries[hi].value.len;
    }
    if ((hi = h2o_find_header(&req->headers, H2O_TOKEN_REFERER, -1)) != -1) {
        in.referer = req->headers.entries[hi].value.base;
        in.referer_len = req->headers.entries[hi].value.len;
    }
    resolve_plan_t scratch;
    const resolve_plan_t *plan;
    resolve_output_t out;
    int ret = resolve_memo_plan(w->memo, snap, &in, &scratch, &plan, buf, sizeof(buf));
    geo_location_t loc = {"", ""};
    geo_status_t geo_status = client_known ? geo_lookup(settings->geo, (struct sockaddr *)&client, &loc) : GEO_BAD_ADDRESS;
    metrics_counter_inc(geo_counters[geo_status]);
    in.country = loc.country;
    in.continent = loc.continent;
    if (ret != 0 || resolve_memo_answer(w->memo, snap, &in, plan, &out, buf, sizeof(buf)) != 0) {
        static const char body[] = "Internal Server Error.\n";
        respond_text(req, 500, "Internal Server Error", "text/plain; charset=utf-8", body, sizeof(body) - 1);
        goto Exit;
    }

    /* map the outcome */
    int status = answers[out.outcome].status;
    if (answers[out.outcome].cacheable) {
        int private = out.outcome != RESOLVE_LANDING && w->geo_restricted && conf->geoip_database != NULL;
        const char *cc = private ? settings->cache_control_private : settings->cache_control;
        /* header strings must outlive the settings this thread holds only until Exit */
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, pool_strdup(req, cc, strlen(cc)), strlen(cc));
    } else if (out.outcome == RESOLVE_STUB_REDIRECT) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("private, no-cache"));
    }
    if (out.outcome != RESOLVE_BAD_REQUEST) {
        char vary[160];
        size_t vlen = 0;
        if (w->has_rules)
            vlen = vary_append(vary, sizeof(vary), vlen, "User-Agent, Referer");
        else if (conf->stub_root_url != NULL)
            vlen = vary_append(vary, sizeof(vary), vlen, "Referer");
        if (conf->pin_name != NULL && clientaddr_list_size(conf->trusted_proxies) != 0)
            vlen = vary_append(vary, sizeof(vary), vlen, conf->pin_name);
        if (vlen != 0)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, pool_strdup(req, vary, vlen), vlen);
    }
    if (out.mirror != NULL && conf->mirror_header != NULL)
        h2o_add_header_by_str(&req->pool, &req->res.headers, pool_strdup(req, conf->mirror_header, strlen(conf->mirror_header)),
                              strlen(conf->mirror_header), 0, NULL, pool_strdup(req, out.mirror, out.mirror_len), out.mirror_len);
    switch (out.outcome) {
    case RESOLVE_REDIRECT:
    case RESOLVE_LANDING:
    case RESOLVE_STUB_REDIRECT:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, pool_strdup(req, out.url, out.url_len), out.url_len);
        respond_text(req, status, answers[out.outcome].reason, NULL, "", 0); /* no body, so no Content-Type */
        break;
    case RESOLVE_PRINT:
        respond_text(req, status, "OK", "text/plain; charset=utf-8", out.url, out.url_len); /* copies the body */
        break;
    default: {
        char text[96];
        int n = snprintf(text, sizeof(text), "%s (%s)\n", answers[out.outcome].reason, resolve_reason_name(out.reason));
        respond_text(req, status, answers[out.outcome].reason, "text/plain; charset=utf-8", text, (size_t)n);
        break;
    }
    }

    /* metrics: labels are catalog names (bounded by the catalog), never request text */
    metrics_counter_inc(outcome_counters[out.outcome][out.reason]);
    const char *product = out.outcome == RESOLVE_LANDING ? "none" : out.product != NULL ? out.product : "unknown";
    size_t product_len = out.product != NULL && out.outcome != RESOLVE_LANDING ? out.product_len : strlen(product);
    const char *os = out.os != NULL ? out.os : out.outcome == RESOLVE_LANDING ? "none" : "unknown";
    size_t os_len = out.os != NULL ? out.os_len : strlen(os);
    metrics_counter_inc(pointer_counter(w, 'r', product, product_len, os, os_len, status));
    if (out.mirror != NULL) {
        const char *tier = mirror_tier_name(out.tier);
        metrics_counter_inc(pointer_counter(w, 'm', out.mirror, out.mirror_len, tier, strlen(tier), out.mirror_healthy));
    }

Exit:
    if (snap != NULL)
        snapshot_release(w->reader);
    bouncer__settings_release(b, w->slot);
    return 0;
}

/* ---- per-thread setup ---- */

static void worker_free(worker_t *w)
{
    snapshot_reader_unregister(w->reader);
    resolve_memo_destroy(w->memo);
    free(w);
}

/* The workers' memo counts, summed at scrape time (under workers_lock, so no worker goes away meanwhile). */
static double memo_sum(bouncer_t *b, int hits)
{
    uint64_t sum = 0, h, m;
    pthread_mutex_lock(&b->workers_lock);
    for (worker_t *w = b->workers; w != NULL; w = w->next) {
        if (w->memo != NULL) {
            resolve_memo_counts(w->memo, &h, &m);
            sum += hits ? h : m;
        }
    }
    pthread_mutex_unlock(&b->workers_lock);
    return (double)sum;
}

static double memo_hits(void *b)
{
    return memo_sum(b, 1);
}

static double memo_misses(void *b)
{
    return memo_sum(b, 0);
}

static void on_context_init(h2o_handler_t *self, h2o_context_t *ctx)
{
    bouncer_t *b = ((redirect_handler_t *)self)->bouncer;
    worker_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        log_error("bouncer", "out of memory setting up a worker thread");
        return;
    }
    w->reader = snapshot_reader_register(b->snapshots);
    w->memo = resolve_memo_create();
    w->slot = bouncer__settings_slot(b);
    if (w->reader == NULL || w->slot < 0)
        log_error("bouncer", "too many worker threads: this one answers 503");
    if (getrandom(w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng) || (w->rng[0] | w->rng[1]) == 0) {
        w->rng[0] = (uint64_t)(uintptr_t)w ^ 0x9e3779b97f4a7c15ull;
        w->rng[1] = (uint64_t)time(NULL) | 1;
    }
    pthread_mutex_lock(&b->workers_lock);
    w->next = b->workers;
    b->workers = w;
    pthread_mutex_unlock(&b->workers_lock);
    h2o_context_set_handler_context(ctx, self, w);
}

static void on_context_dispose(h2o_handler_t *self, h2o_context_t *ctx)
{
    bouncer_t *b = ((redirect_handler_t *)self)->bouncer;
    worker_t *w = h2o_context_get_handler_context(ctx, self);
    if (w == NULL)
        return;
    pthread_mutex_lock(&b->workers_lock);
    for (worker_t **p = &b->workers; *p != NULL; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&b->workers_lock);
    worker_free(w);
    h2o_context_set_handler_context(ctx, self, NULL);
}

void bouncer__handler_dispose(bouncer_t *b)
{
    /* the server's threads have ended: nobody uses these any more */
    while (b->workers != NULL) {
        worker_t *w = b->workers;
        b->workers = w->next;
        worker_free(w);
    }
}

static int register_static_metrics(void)
{
    for (int o = 0; o <= RESOLVE_BAD_REQUEST; ++o) {
        for (int r = 0; r <= RESOLVE_REASON_NO_MIRROR; ++r) {
            char labels[128];
            snprintf(labels, sizeof(labels), "outcome=\"%s\",reason=\"%s\"", resolve_outcome_name(o),
                     r == RESOLVE_REASON_NONE ? "none" : resolve_reason_name(r));
            if ((outcome_counters[o][r] = metrics_counter("edge_bouncer_outcomes_total",
                                                          "Redirect requests by resolution outcome and reason (404 reasons: no_mirror "
                                                          "is a location no candidate mirror can serve)",
                                                          labels)) == NULL)
                return -ENOMEM;
        }
    }
    for (int g = 0; g <= GEO_DB_ERROR; ++g) {
        char labels[64];
        snprintf(labels, sizeof(labels), "result=\"%s\"", geo_status_name(g));
        if ((geo_counters[g] = metrics_counter("edge_bouncer_geo_lookups_total", "GeoIP lookups of redirect clients, by result",
                                               labels)) == NULL)
            return -ENOMEM;
    }
    if ((unavailable_counter = metrics_counter("edge_bouncer_unavailable_total", "Redirect requests answered 503 (no snapshot)",
                                               "")) == NULL)
        return -ENOMEM;
    return 0;
}

int bouncer__handler_register(bouncer_t *b, route_registrar_t *routes)
{
    static const char memo_help[] = "Redirect requests whose product, os and location came from the worker's memory of recent "
                                     "query strings (hit) or were resolved afresh (miss)";
    if (register_static_metrics() != 0 ||
        metrics_counter_fn("edge_bouncer_resolve_memo_total", memo_help, "result=\"hit\"", memo_hits, b) != 0 ||
        metrics_counter_fn("edge_bouncer_resolve_memo_total", memo_help, "result=\"miss\"", memo_misses, b) != 0)
        return -ENOMEM;
    h2o_pathconf_t *pathconf = routes->add(routes, b->boot->prefix, "redirect");
    if (pathconf == NULL)
        return -ENOMEM;
    redirect_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->super.on_context_init = on_context_init;
    h->super.on_context_dispose = on_context_dispose;
    h->bouncer = b;
    return 0;
}
