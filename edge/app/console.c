// SPDX-License-Identifier: MIT
/*
 * console: serves the embedded admin console files and the per-minute time
 * series its backlog chart draws (edge/app/console.h; the page and its design:
 * docs/console.md).
 *
 * Files: /console answers 301 to /console/, /console/ is index.html,
 * /console/NAME one of the embedded files (anything else 404). Every answer is
 * Cache-Control: no-cache with a strong ETag (FNV-1a of the bytes, computed at
 * registration) so a reload revalidates with a 304, plus a
 * Content-Security-Policy that allows only same-origin scripts, styles and
 * requests: the page renders catalog and crash data as text, and the policy is
 * the second line of defence.
 *
 * Time series: a ring of cumulative counter samples, one per minute boundary,
 * written by a 1 s timer on the admin thread's loop (started by the first
 * context that initialises the handler, stopped when that context is disposed).
 * Counters are read from the metrics registry by name and summed over their
 * series, so the console needs no hook in the modules.
 */
#include "edge/app/console.h"

#include "edge/metrics.h"
#include "edge/respond.h"
#include <errno.h>
#include <h2o.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILES_PATH "/console"
#define STATS_PATH "/api/v1/stats/timeseries"
#define RING_SIZE 61 /* 60 complete minutes need 61 boundaries */
#define TICK_MS 1000

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                          "data:; connect-src 'self'; "
                          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

enum { SERIES_INTAKE, SERIES_DELIVERED, SERIES_REDIRECTS, SERIES_COUNT };

typedef struct st_sample_t {
    int64_t minute; /* unix time / 60 */
    uint64_t value[SERIES_COUNT];
} sample_t;

typedef struct st_files_handler_t {
    h2o_handler_t super;
    char (*etags)[24]; /* one per console_files entry, owned */
} files_handler_t;

typedef struct st_stats_handler_t {
    h2o_handler_t super;
    pthread_mutex_t mutex;
    h2o_loop_t *loop; /* the loop that owns the timer, NULL before on_context_init */
    h2o_timeout_t timeout;
    h2o_timeout_entry_t entry;
    sample_t ring[RING_SIZE];
    size_t head, count; /* ring[(head + i) % RING_SIZE], i < count, oldest first */
} stats_handler_t;

const char *console_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".json", "application/json"},
                 {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot != NULL && i != sizeof(types) / sizeof(types[0]); ++i)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* ---- files ---- */

static void send_plain(h2o_req_t *req, int status, const char *reason, const char *body)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    respond_text(req, status, reason, "text/plain; charset=utf-8", body, strlen(body));
}

static int on_files_req(h2o_handler_t *_self, h2o_req_t *req)
{
    files_handler_t *self = (files_handler_t *)_self;
    h2o_iovec_t path = req->path_normalized;

    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        respond_add_header(req, "Allow", "GET");
        send_plain(req, 405, "Method Not Allowed", "method not allowed\n");
        return 0;
    }
    /* /console without the slash: relative URLs in the page need the directory
     * form */
    if (h2o_memis(path.base, path.len, H2O_STRLIT(FILES_PATH))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, H2O_STRLIT(FILES_PATH "/"));
        send_plain(req, 301, "Moved Permanently", "see /console/\n");
        return 0;
    }
    if (path.len < sizeof(FILES_PATH) || path.base[sizeof(FILES_PATH) - 1] != '/')
        return -1; /* e.g. /consolefoo: not ours */
    const char *name = path.base + sizeof(FILES_PATH);
    size_t name_len = path.len - sizeof(FILES_PATH);
    if (name_len == 0) {
        name = "index.html";
        name_len = strlen(name);
    }
    size_t i;
    for (i = 0; i != console_files_count; ++i)
        if (h2o_memis(name, name_len, console_files[i].name, strlen(console_files[i].name)))
            break;
    if (i == console_files_count) {
        send_plain(req, 404, "Not Found", "no such console file\n");
        return 0;
    }

    const char *etag = self->etags[i];
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, strlen(etag));
    respond_add_header(req, "X-Content-Type-Options", "nosniff");
    respond_add_header(req, "Content-Security-Policy", csp);
    respond_add_header(req, "Referrer-Policy", "no-referrer");
    ssize_t inm = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (inm != -1 && h2o_memis(req->headers.entries[inm].value.base, req->headers.entries[inm].value.len, etag, strlen(etag))) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        respond_send_body(req, NULL, 0);
        return 0;
    }
    respond_text(req, 200, "OK", console_content_type(console_files[i].name), (const char *)console_files[i].data,
                 console_files[i].len);
    return 0;
}

static void on_files_dispose(h2o_handler_t *_self)
{
    free(((files_handler_t *)_self)->etags);
}

/* ---- time series ---- */

typedef struct st_sum_t {
    uint64_t value[SERIES_COUNT];
} sum_t;

static void on_series(const char *name, const char *labels, int is_counter, double value, void *arg)
{
    sum_t *sum = arg;
    if (!is_counter)
        return;
    if (strcmp(name, "edge_collector_save_crash_total") == 0)
        sum->value[SERIES_INTAKE] += (uint64_t)value;
    else if (strcmp(name, "edge_forwarder_delivered_total") == 0)
        sum->value[SERIES_DELIVERED] += (uint64_t)value;
    else if (strcmp(name, "edge_http_requests_total") == 0 && labels != NULL && strstr(labels, "route=\"redirect\"") != NULL)
        sum->value[SERIES_REDIRECTS] += (uint64_t)value;
}

static void read_counters(sample_t *s)
{
    sum_t sum = {{0}};
    metrics_foreach(on_series, &sum);
    s->minute = (int64_t)time(NULL) / 60;
    memcpy(s->value, sum.value, sizeof(s->value));
}

/* Called with the mutex held. */
static void take_sample(stats_handler_t *self)
{
    sample_t s;
    read_counters(&s);
    if (self->count != 0 && self->ring[(self->head + self->count - 1) % RING_SIZE].minute == s.minute)
        return;
    if (self->count == RING_SIZE) {
        self->head = (self->head + 1) % RING_SIZE;
        --self->count;
    }
    self->ring[(self->head + self->count) % RING_SIZE] = s;
    ++self->count;
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    stats_handler_t *self = H2O_STRUCT_FROM_MEMBER(stats_handler_t, entry, entry);
    pthread_mutex_lock(&self->mutex);
    if (self->count == 0 || self->ring[(self->head + self->count - 1) % RING_SIZE].minute != (int64_t)time(NULL) / 60)
        take_sample(self);
    pthread_mutex_unlock(&self->mutex);
    h2o_timeout_link(self->loop, &self->timeout, &self->entry);
}

static void on_stats_context_init(h2o_handler_t *_self, h2o_context_t *ctx)
{
    stats_handler_t *self = (stats_handler_t *)_self;
    pthread_mutex_lock(&self->mutex);
    int first = self->loop == NULL;
    if (first) {
        self->loop = ctx->loop;
        take_sample(self);
    }
    pthread_mutex_unlock(&self->mutex);
    if (first) {
        h2o_timeout_init(ctx->loop, &self->timeout, TICK_MS);
        self->entry.cb = on_tick;
        h2o_timeout_link(ctx->loop, &self->timeout, &self->entry);
    }
}

static void on_stats_context_dispose(h2o_handler_t *_self, h2o_context_t *ctx)
{
    stats_handler_t *self = (stats_handler_t *)_self;
    if (self->loop != ctx->loop)
        return;
    h2o_timeout_unlink(&self->entry);
    h2o_timeout_dispose(ctx->loop, &self->timeout);
    self->loop = NULL;
}

static void on_stats_dispose(h2o_handler_t *_self)
{
    pthread_mutex_destroy(&((stats_handler_t *)_self)->mutex);
}

static int on_stats_req(h2o_handler_t *_self, h2o_req_t *req)
{
    stats_handler_t *self = (stats_handler_t *)_self;
    h2o_iovec_t path = req->path_normalized;

    if (!h2o_memis(path.base, path.len, H2O_STRLIT(STATS_PATH)) && !h2o_memis(path.base, path.len, H2O_STRLIT(STATS_PATH "/"))) {
        static const char body[] = "{\"error\": \"no such resource\"}\n";
        respond_text(req, 404, "Not Found", "application/json", body, sizeof(body) - 1);
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        static const char body[] = "{\"error\": \"method not allowed\"}\n";
        respond_add_header(req, "Allow", "GET");
        respond_text(req, 405, "Method Not Allowed", "application/json", body, sizeof(body) - 1);
        return 0;
    }

    /* copy the ring, then format without the lock; the running minute comes from
     * the registry now */
    sample_t ring[RING_SIZE], now;
    size_t count;
    pthread_mutex_lock(&self->mutex);
    count = self->count;
    for (size_t i = 0; i != count; ++i)
        ring[i] = self->ring[(self->head + i) % RING_SIZE];
    pthread_mutex_unlock(&self->mutex);
    read_counters(&now);
    if (count == 0) /* no context started the sampler (cannot happen once
                       serving); answer the running minute from 0 */
        ring[count++] = (sample_t){now.minute, {0}};

    size_t cap = 128 + RING_SIZE * 192, len = 0; /* an entry is at most 139 bytes with 20-digit numbers */
    char *body = h2o_mem_alloc_pool(&req->pool, cap);
    len +=
        (size_t)snprintf(body + len, cap - len, "{\"interval_seconds\":60,\"now\":%" PRId64 ",\"minutes\":[", (int64_t)time(NULL));
    for (size_t i = 0; i != count; ++i) {
        const sample_t *from = &ring[i], *to = i + 1 != count ? &ring[i + 1] : &now;
        uint64_t d[SERIES_COUNT];
        /* a counter never decreases; guard anyway so a reset never shows as 2^64 */
        for (size_t k = 0; k != SERIES_COUNT; ++k)
            d[k] = to->value[k] >= from->value[k] ? to->value[k] - from->value[k] : 0;
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"t\":%" PRId64 ",\"intake\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"redirects\":%" PRIu64
                                ",\"partial\":%s}",
                                i == 0 ? "" : ",", from->minute * 60, d[SERIES_INTAKE], d[SERIES_DELIVERED], d[SERIES_REDIRECTS],
                                i + 1 == count ? "true" : "false");
    }
    len += (size_t)snprintf(body + len, cap - len, "]}\n");
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    respond_text(req, 200, "OK", "application/json", body, len);
    return 0;
}

/* ---- registration ---- */

int console_register(route_registrar_t *routes)
{
    h2o_pathconf_t *pathconf;

    if ((pathconf = routes->add(routes, FILES_PATH, "console")) == NULL)
        return -ENOMEM;
    files_handler_t *files = (files_handler_t *)h2o_create_handler(pathconf, sizeof(*files));
    files->super.on_req = on_files_req;
    files->super.dispose = on_files_dispose;
    if ((files->etags = calloc(console_files_count + 1, sizeof(*files->etags))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i != console_files_count; ++i) {
        uint64_t h = 14695981039346656037u; /* FNV-1a 64 */
        for (size_t j = 0; j != console_files[i].len; ++j)
            h = (h ^ console_files[i].data[j]) * 1099511628211u;
        snprintf(files->etags[i], sizeof(files->etags[i]), "\"%016" PRIx64 "\"", h);
    }

    if ((pathconf = routes->add(routes, STATS_PATH, "stats")) == NULL)
        return -ENOMEM;
    stats_handler_t *stats = (stats_handler_t *)h2o_create_handler(pathconf, sizeof(*stats));
    pthread_mutex_init(&stats->mutex, NULL);
    stats->super.on_req = on_stats_req;
    stats->super.on_context_init = on_stats_context_init;
    stats->super.on_context_dispose = on_stats_context_dispose;
    stats->super.dispose = on_stats_dispose;
    return 0;
}
