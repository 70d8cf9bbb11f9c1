// SPDX-License-Identifier: MIT
/*
 * handler_admin: the spool admin API on the admin listener (HTTP Basic auth is checked by the
 * server before this handler runs). JSON in answers, errors as {"error": "..."}.
 *
 *   GET    /api/v1/spool                          counters, map, full flag, upstream states
 *   GET    /api/v1/spool/crashes[?limit=N&after=SEQ]   a page of waiting crashes (FIFO)
 *   GET    /api/v1/spool/crashes/<id>             the stored raw crash JSON
 *   GET    /api/v1/spool/deadletter[?limit=N&after=SEQ] a page of dead letters
 *   GET    /api/v1/spool/deadletter/<id>          one dead letter (reason, dumps, raw crash)
 *   POST   /api/v1/spool/deadletter/<id>/requeue  back to the main table, due now
 *   DELETE /api/v1/spool/deadletter/<id>          purge one dead letter
 *   DELETE /api/v1/spool/deadletter               purge every dead letter
 *
 * Runs on the admin thread. Reads are short LMDB read transactions; requeue and purge wait for the
 * spool writer's next commit (spool_submit_wait), which blocks the admin loop for one group
 * commit (milliseconds): acceptable for an operator's request, never done on a worker thread.
 */
#include "collector/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <h2o.h>
#include <jansson.h>
#include "collector/crashid.h"
#include "edge/query.h"
#include "edge/respond.h"

#define PREFIX "/api/v1/spool"
#define LIST_DEFAULT 100
#define LIST_MAX 1000

typedef struct st_admin_handler_t {
    h2o_handler_t super;
    collector_t *collector;
} admin_handler_t;

/* Answers with malloc'ed JSON text (freed here after copying it into the pool). */
static void answer_json(h2o_req_t *req, int status, char *json)
{
    if (json == NULL) {
        respond_text(req, 500, "Internal Server Error", "application/json", H2O_STRLIT("{\"error\": \"out of memory\"}\n"));
        return;
    }
    size_t len = strlen(json);
    char *body = h2o_mem_alloc_pool(&req->pool, len + 1);
    memcpy(body, json, len);
    body[len] = '\n';
    free(json);
    respond_text(req, status, respond_reason(status), "application/json", body, len + 1);
}

static void answer_error(h2o_req_t *req, int status, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, arg);
    json_t *obj = json_pack("{s:s}", "error", msg);
    answer_json(req, status, obj != NULL ? json_dumps(obj, JSON_INDENT(2)) : NULL);
    json_decref(obj);
}

/* A spool status as an HTTP answer. */
static void answer_status(h2o_req_t *req, int status, const char *crash_id)
{
    if (status == SPOOL_NOT_FOUND)
        answer_error(req, 404, "no such crash: %s", crash_id);
    else if (status == SPOOL_DUPLICATE)
        answer_error(req, 409, "crash %s is already waiting in the spool", crash_id);
    else if (status == SPOOL_SHUTDOWN || status == SPOOL_FULL)
        answer_error(req, 503, "%s", spool_strerror(status));
    else
        answer_error(req, 500, "%s", spool_strerror(status));
}

/* Reads an unsigned query parameter; 0 when absent, -1 when malformed. */
static int query_uint(h2o_req_t *req, const char *name, uint64_t *out)
{
    const char *value;
    size_t len;
    if (req->query_at == SIZE_MAX ||
        !query_find(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1, name, &value, &len))
        return 0;
    if (len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i != len; ++i) {
        if (value[i] < '0' || value[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(value[i] - '0');
    }
    *out = v;
    return 0;
}

static void on_list(collector_t *c, h2o_req_t *req, int dead)
{
    uint64_t limit = LIST_DEFAULT, after = 0;
    int status;
    if (query_uint(req, "limit", &limit) != 0 || query_uint(req, "after", &after) != 0 || limit == 0 || limit > LIST_MAX) {
        answer_error(req, 400, "limit must be 1..1000 and after a sequence number%s", "");
        return;
    }
    char *json = collector__spool_list_json(c->spool, dead, after, (size_t)limit, &status);
    if (json == NULL && status != -ENOMEM)
        answer_status(req, status, "");
    else
        answer_json(req, 200, json);
}

static void on_show(collector_t *c, h2o_req_t *req, int dead, const char *id)
{
    int status;
    if (!dead) {
        size_t len = 0;
        char *raw = collector__spool_raw_crash(c->spool, 0, id, &len, &status);
        if (raw == NULL) {
            answer_status(req, status, id);
            return;
        }
        respond_text(req, 200, "OK", "application/json", raw, len); /* copies the body */
        free(raw);
        return;
    }
    char *json = collector__spool_show_json(c->spool, 1, id, &status);
    if (json == NULL)
        answer_status(req, status, id);
    else
        answer_json(req, 200, json);
}

static void on_write(collector_t *c, h2o_req_t *req, int requeue, const char *id)
{
    spool_job_t job;
    if (requeue)
        spool_job_init_requeue(&job, id, NULL, NULL);
    else
        spool_job_init_purge(&job, id, NULL, NULL);
    int status = spool_submit_wait(c->spool, &job);
    if (status != 0) {
        answer_status(req, status, id);
        return;
    }
    json_t *obj = requeue ? json_pack("{s:s,s:I}", "requeued", id, "seq", (json_int_t)job.seq)
                          : json_pack("{s:I}", "purged", (json_int_t)job.seq);
    answer_json(req, 200, obj != NULL ? json_dumps(obj, JSON_INDENT(2)) : NULL);
    json_decref(obj);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    collector_t *c = ((admin_handler_t *)self)->collector;
    h2o_iovec_t path = req->path_normalized;
    if (path.len < sizeof(PREFIX) - 1 || memcmp(path.base, PREFIX, sizeof(PREFIX) - 1) != 0)
        return -1;
    const char *rest = path.base + sizeof(PREFIX) - 1;
    size_t rest_len = path.len - (sizeof(PREFIX) - 1);
    if (rest_len != 0 && rest[0] != '/')
        return -1;
    /* drop one trailing slash */
    if (rest_len != 0 && rest[rest_len - 1] == '/')
        --rest_len;
    int is_get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
                 h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    int is_post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
    int is_delete = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"));

    /* split "/<collection>[/<id>[/<action>]]" */
    char parts[3][SPOOL_CRASH_ID_MAX + 1];
    size_t nparts = 0;
    const char *p = rest, *end = rest + rest_len;
    while (p < end) {
        ++p; /* the slash */
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash != NULL ? slash : end;
        size_t seg_len = (size_t)(seg_end - p);
        if (nparts == 3 || seg_len == 0 || seg_len > SPOOL_CRASH_ID_MAX) {
            answer_error(req, 404, "no such resource%s", "");
            return 0;
        }
        memcpy(parts[nparts], p, seg_len);
        parts[nparts++][seg_len] = '\0';
        p = seg_end;
    }

    int dead = nparts >= 1 && strcmp(parts[0], "deadletter") == 0;
    if (nparts >= 1 && !dead && strcmp(parts[0], "crashes") != 0) {
        answer_error(req, 404, "no such resource: %s", parts[0]);
        return 0;
    }
    if (nparts >= 2 && !crashid_validate(parts[1], strlen(parts[1]), 0)) {
        answer_error(req, 400, "not a crash id: %s", parts[1]);
        return 0;
    }
    if (nparts == 0) {
        if (!is_get)
            goto NotAllowed;
        int status;
        char *json = collector__spool_stats_json(c->spool, c->forwarder, &status);
        if (json == NULL && status != -ENOMEM)
            answer_status(req, status, "");
        else
            answer_json(req, 200, json);
    } else if (nparts == 1) {
        if (is_get)
            on_list(c, req, dead);
        else if (dead && is_delete)
            on_write(c, req, 0, "");
        else
            goto NotAllowed;
    } else if (nparts == 2) {
        if (is_get)
            on_show(c, req, dead, parts[1]);
        else if (dead && is_delete)
            on_write(c, req, 0, parts[1]);
        else
            goto NotAllowed;
    } else if (dead && strcmp(parts[2], "requeue") == 0) {
        if (!is_post)
            goto NotAllowed;
        on_write(c, req, 1, parts[1]);
    } else {
        answer_error(req, 404, "no such action: %s", parts[2]);
    }
    return 0;

NotAllowed:
    answer_error(req, 405, "method %s not allowed here", is_post ? "POST" : is_delete ? "DELETE" : is_get ? "GET" : "(other)");
    return 0;
}

int collector__admin_register(collector_t *c, route_registrar_t *routes)
{
    h2o_pathconf_t *pathconf = routes->add(routes, PREFIX, "spool");
    if (pathconf == NULL)
        return -ENOMEM;
    admin_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->collector = c;
    return 0;
}
