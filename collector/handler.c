// SPDX-License-Identifier: MIT
/*
 * handler: the h2o glue of POST /submit (path configurable). h2o has already buffered the whole
 * body (chunked coding removed, Expect: 100-continue answered), so on_req runs the submission
 * pipeline synchronously on the worker thread, then, for a crash to store, hands the crash record
 * to the spool writer and keeps the request pending until the commit that holds it has returned.
 *
 * Threads and lifetimes:
 *  - on_req and on_answer run on the request's worker thread; on_spool_done runs on the spool
 *    writer thread and only stores the status and posts the pending job to the worker's receiver
 *    (registered per worker in on_context_init).
 *  - A pending job is malloc'ed, not pool memory: the writer may still touch it after the request
 *    is gone. The request pool holds a small stub whose dispose hook clears the job's request
 *    pointer when the client vanishes (HTTP/2 RST, closed connection): the answer is then dropped
 *    (the crash is stored all the same). The job is freed by on_answer, or, if its worker's loop
 *    has stopped, by collector__submit_dispose after the spool was destroyed.
 *  - Memory: the global pending_bytes counter holds the body and the record bytes of every
 *    submission between entry and answer; either reservation failing answers 503 + Retry-After.
 *    The inflated copy of a gzip body exists only inside submission_process on the worker thread,
 *    so at most one per worker (each <= max_inflated_size) comes on top.
 */
#include "collector/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <h2o.h>
#include "collector/submission.h"
#include "edge/log.h"
#include "edge/respond.h"

typedef struct st_submit_thread_t submit_thread_t;
typedef struct st_pending_t pending_t;

/* One per worker thread; freed at collector__submit_dispose (the writer may use it until then). */
struct st_submit_thread_t {
    h2o_multithread_receiver_t receiver;
    pthread_mutex_t lock; /* guards alive against on_context_dispose */
    int alive;
    submit_thread_t *next;
};

/* One crash waiting for its commit. */
struct st_pending_t {
    h2o_multithread_message_t msg;
    spool_job_t job;
    collector_t *collector;
    submit_thread_t *thread;
    h2o_req_t *req;   /* worker thread only; NULL once the request is gone */
    pending_t **stub; /* in req->pool; valid while req is */
    size_t charged;   /* bytes counted in pending_bytes */
    int status;       /* written by the writer before the message is posted */
    struct timespec submitted;
    char crash_id[CRASHID_LEN + 1];
    pending_t *prev, *next; /* every live job, for the final cleanup */
};

struct st_collector_submit_t {
    pthread_mutex_t lock; /* guards threads and jobs */
    submit_thread_t *threads;
    pending_t *jobs;
};

typedef struct st_submit_handler_t {
    h2o_handler_t super;
    collector_t *collector;
} submit_handler_t;

static void answer(h2o_req_t *req, int status, const char *body, size_t len)
{
    respond_text(req, status, respond_reason(status), "text/plain; charset=utf-8", body, len);
}

/* 503 with Retry-After: the client should come back (Crashpad does not retry on its own, but
 * Breakpad-style clients and forwarding edges do). */
static void answer_unavailable(collector_t *c, h2o_req_t *req)
{
    char *value = h2o_mem_alloc_pool(&req->pool, 24);
    snprintf(value, 24, "%llu", (unsigned long long)c->config->retry_after_s);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, value, strlen(value));
    answer(req, 503, "", 0);
}

static void release(collector_t *c, size_t bytes)
{
    atomic_fetch_sub(&c->pending_bytes, bytes);
}

/* Takes bytes from the budget; fails (taking nothing) when they do not fit. */
static int reserve(collector_t *c, size_t bytes)
{
    size_t cur = atomic_load(&c->pending_bytes);
    do {
        if (bytes > c->config->max_pending_bytes || cur > c->config->max_pending_bytes - bytes)
            return -1;
    } while (!atomic_compare_exchange_weak(&c->pending_bytes, &cur, cur + bytes));
    return 0;
}

/* ---- throttle adapter ---- */

static submission_throttle_t on_throttle(void *ctx, const char *(*get_annotation)(void *actx, const char *key), void *actx,
                                         const char **rule_name)
{
    static const submission_throttle_t map[] = {[THROTTLE_ACCEPT] = SUBMISSION_THROTTLE_ACCEPT,
                                                [THROTTLE_DEFER] = SUBMISSION_THROTTLE_DEFER,
                                                [THROTTLE_REJECT] = SUBMISSION_THROTTLE_REJECT,
                                                [THROTTLE_FAKEACCEPT] = SUBMISSION_THROTTLE_FAKEACCEPT};
    int r = throttle_decide(ctx, get_annotation, actx, rule_name);
    return r >= 0 && r <= THROTTLE_FAKEACCEPT ? map[r] : SUBMISSION_THROTTLE_REJECT;
}

/* ---- metrics with input-derived (bounded) labels ---- */

static void count_outcome(const submission_result_t *res)
{
    char labels[256], rule[2 * SUBMISSION_MAX_RULE_NAME + 2];
    if (res->outcome == SUBMISSION_MALFORMED && res->malformed_reason != NULL) {
        /* the reasons are the pipeline's static strings: a dozen values */
        snprintf(labels, sizeof(labels), "reason=\"%s\"", res->malformed_reason);
        metrics_counter_t *m =
            metrics_counter("edge_collector_malformed_total", "Crash submissions refused as malformed, by reason", labels);
        if (m != NULL)
            metrics_counter_inc(m);
    }
    if (res->throttle_rule[0] != '\0') {
        /* rule names come from the configured rule set (plus NO_MATCH): bounded */
        const char *result = res->throttle_result == SUBMISSION_THROTTLE_ACCEPT   ? "accept"
                             : res->throttle_result == SUBMISSION_THROTTLE_DEFER  ? "defer"
                             : res->throttle_result == SUBMISSION_THROTTLE_REJECT ? "reject"
                                                                                  : "fakeaccept";
        snprintf(labels, sizeof(labels), "rule=\"%s\",result=\"%s\"", metrics_label_escape(res->throttle_rule, rule, sizeof(rule)),
                 result);
        metrics_counter_t *m =
            metrics_counter("edge_collector_throttle_total", "Throttle decisions, by deciding rule and result", labels);
        if (m != NULL)
            metrics_counter_inc(m);
    }
}

/* ---- pending jobs ---- */

static void jobs_link(struct st_collector_submit_t *s, pending_t *p)
{
    pthread_mutex_lock(&s->lock);
    p->prev = NULL;
    p->next = s->jobs;
    if (s->jobs != NULL)
        s->jobs->prev = p;
    s->jobs = p;
    pthread_mutex_unlock(&s->lock);
}

static void jobs_unlink(struct st_collector_submit_t *s, pending_t *p)
{
    pthread_mutex_lock(&s->lock);
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        s->jobs = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    pthread_mutex_unlock(&s->lock);
}

static void on_request_gone(void *stub)
{
    pending_t *p = *(pending_t **)stub;
    if (p != NULL) {
        p->req = NULL;
        p->stub = NULL;
    }
}

static void release_crash(void *rec)
{
    crashrec_destroy(rec);
}

/* Writer thread: record the outcome and wake the worker. */
static void on_spool_done(spool_job_t *job, int status)
{
    pending_t *p = job->data;
    collector_t *c = p->collector;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    metrics_histogram_observe(c->metrics.save_time,
                              (double)(now.tv_sec - p->submitted.tv_sec) + (double)(now.tv_nsec - p->submitted.tv_nsec) / 1e9);
    p->status = status;
    /* once posted, p belongs to the worker (it may be freed before send_message even returns) */
    submit_thread_t *thread = p->thread;
    pthread_mutex_lock(&thread->lock);
    if (thread->alive)
        h2o_multithread_send_message(&thread->receiver, &p->msg);
    pthread_mutex_unlock(&thread->lock);
}

/* Worker thread: answer (if the client is still there) and free the job. */
static void finish(pending_t *p)
{
    collector_t *c = p->collector;
    int status = p->status;
    if (status == 0 || status == SPOOL_DUPLICATE) {
        /* a duplicate is a client-chosen id already in the spool (e.g. a forwarding edge retrying
         * after a lost answer): the crash is stored, so acknowledge it again */
        metrics_counter_inc(c->metrics.stored);
    } else if (status == SPOOL_FULL) {
        metrics_counter_inc(c->metrics.spool_full);
    } else {
        metrics_counter_inc(c->metrics.save_failed);
        log_warn("collector", "crash %s not stored: %s", p->crash_id, spool_strerror(status));
    }
    release(c, p->charged);
    jobs_unlink(c->submit, p);
    if (p->req != NULL) {
        h2o_req_t *req = p->req;
        *p->stub = NULL;
        if (status == 0 || status == SPOOL_DUPLICATE) {
            char body[CRASHID_LEN + 16]; /* respond_text copies it into the request's pool */
            int n = snprintf(body, sizeof(body), "CrashID=bp-%s\n", p->crash_id);
            answer(req, 200, body, (size_t)n);
        } else if (status == SPOOL_FULL || status == SPOOL_SHUTDOWN) {
            answer_unavailable(c, req);
        } else {
            answer(req, 500, "", 0);
        }
    } else if (status == 0) {
        metrics_counter_inc(c->metrics.client_gone);
    }
    free(p);
}

static void on_answer(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        pending_t *p = H2O_STRUCT_FROM_MEMBER(pending_t, msg.link, messages->next);
        h2o_linklist_unlink(&p->msg.link);
        finish(p);
    }
}

/* Queues the crash; on success the request stays pending. Takes the record in every case. */
static int store(submit_handler_t *h, h2o_req_t *req, crashrec_t *crash, size_t charged)
{
    collector_t *c = h->collector;
    submit_thread_t *thread = h2o_context_get_handler_context(req->conn->ctx, &h->super);
    pending_t *p = calloc(1, sizeof(*p));
    int ret;
    if (p == NULL || thread == NULL) {
        free(p);
        crashrec_destroy(crash);
        return -ENOMEM;
    }
    p->collector = c;
    p->thread = thread;
    p->req = req;
    p->charged = charged;
    memcpy(p->crash_id, crash->crash_id, sizeof(p->crash_id));
    clock_gettime(CLOCK_MONOTONIC, &p->submitted);
    size_t len;
    const uint8_t *record = crashrec_record(crash, &len);
    spool_job_init_put_owned(&p->job, crash->crash_id, record, len, release_crash, crash, on_spool_done, p);
    p->stub = h2o_mem_alloc_shared(&req->pool, sizeof(pending_t *), on_request_gone);
    *p->stub = p;
    jobs_link(c->submit, p);
    /* from here the job may complete at any time, but only this thread answers it (on_answer) */
    if ((ret = spool_submit(c->spool, &p->job)) != 0) {
        /* the callback will never run and the blob is still ours */
        *p->stub = NULL;
        jobs_unlink(c->submit, p);
        free(p);
        crashrec_destroy(crash);
    }
    return ret;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    submit_handler_t *h = (void *)self;
    collector_t *c = h->collector;
    submission_result_t res;
    size_t charged = 0;
    /* the answer, sent after the budget is released (so a client that got its answer never sees
     * its bytes still counted) */
    int status = 500;
    const char *body = "";
    size_t body_len = 0;

    memset(&res, 0, sizeof(res));
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
        answer(req, 405, H2O_STRLIT("Method Not Allowed: crash reports are sent with POST\n"));
        return 0;
    }
    metrics_counter_inc(c->metrics.incoming);
    size_t wire_len = req->entity.base != NULL ? req->entity.len : 0;

    /* 1. limits: the body on the wire, then the global budget (body now, record later) */
    if (wire_len > c->config->max_body_size) {
        metrics_counter_inc(c->metrics.too_large);
        status = 413;
        body = "Discarded=too_large";
        body_len = strlen(body);
        goto Exit;
    }
    if (reserve(c, wire_len) != 0) {
        metrics_counter_inc(c->metrics.over_budget);
        status = 503;
        goto Exit;
    }
    charged = wire_len;

    /* 2. the pipeline, on this worker thread */
    collector_settings_t *settings = collector__settings(c);
    submission_request_t sreq = {.body = (const uint8_t *)req->entity.base,
                                 .body_len = wire_len,
                                 .submitter_token = settings->submitter_token,
                                 .inflate_cap = (size_t)c->config->max_inflated_size,
                                 .throttle = on_throttle,
                                 .throttle_ctx = settings->throttle};
    ssize_t i;
    if ((i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1)) != -1) {
        sreq.content_type = req->headers.entries[i].value.base;
        sreq.content_type_len = req->headers.entries[i].value.len;
    }
    if ((i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, -1)) != -1) {
        sreq.content_encoding = req->headers.entries[i].value.base;
        sreq.content_encoding_len = req->headers.entries[i].value.len;
    }
    if ((i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) != -1) {
        sreq.authorization = req->headers.entries[i].value.base;
        sreq.authorization_len = req->headers.entries[i].value.len;
    }
    if ((i = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1)) != -1) {
        sreq.user_agent = req->headers.entries[i].value.base;
        sreq.user_agent_len = req->headers.entries[i].value.len;
    }
    if (submission_process(&sreq, &res) != 0) {
        metrics_counter_inc(c->metrics.error);
        goto Exit;
    }
    if (res.compressed)
        metrics_counter_inc(c->metrics.gzipped);
    if (res.payload_size != 0)
        metrics_histogram_observe(res.compressed ? c->metrics.crash_size_compressed : c->metrics.crash_size_uncompressed,
                                  (double)res.payload_size);
    count_outcome(&res);

    /* 3. answer now, or store and answer after the commit */
    if (res.outcome == SUBMISSION_STORE) {
        crashrec_t *crash = res.crash;
        res.crash = NULL;
        size_t record_len;
        crashrec_record(crash, &record_len);
        /* the record lives until the commit; the body until the answer (it is the request's) */
        if (reserve(c, record_len) != 0) {
            crashrec_destroy(crash);
            metrics_counter_inc(c->metrics.over_budget);
            status = 503;
            goto Exit;
        }
        charged += record_len;
        int ret = store(h, req, crash, charged);
        if (ret == 0) {
            charged = 0; /* released by finish() */
            status = 0;  /* answered by finish() */
        } else if (ret == SPOOL_BUSY || ret == SPOOL_SHUTDOWN) {
            metrics_counter_inc(c->metrics.spool_busy);
            status = 503;
        } else {
            metrics_counter_inc(c->metrics.error);
            log_warn("collector", "cannot queue crash %s: %s", res.crash_id, spool_strerror(ret));
        }
        goto Exit;
    }
    switch (res.outcome) {
    case SUBMISSION_FAKE_ACCEPT:
        metrics_counter_inc(c->metrics.fake_accepted);
        break;
    case SUBMISSION_TOO_LARGE:
        metrics_counter_inc(c->metrics.too_large);
        break;
    case SUBMISSION_ERROR:
        metrics_counter_inc(c->metrics.error);
        break;
    default:
        break;
    }
    status = res.status;
    body = res.body;
    body_len = res.body_len;

Exit:
    if (charged != 0)
        release(c, charged);
    if (status == 503)
        answer_unavailable(c, req);
    else if (status != 0)
        answer(req, status, body, body_len); /* copies the body before res is disposed */
    submission_result_dispose(&res);
    return 0;
}

/* ---- per-thread receivers ---- */

static void on_context_init(h2o_handler_t *self, h2o_context_t *ctx)
{
    submit_handler_t *h = (void *)self;
    struct st_collector_submit_t *s = h->collector->submit;
    submit_thread_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        /* requests on this thread answer 500 (store() checks) */
        log_error("collector", "out of memory setting up a worker thread");
        return;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->alive = 1;
    h2o_multithread_register_receiver(ctx->queue, &t->receiver, on_answer);
    pthread_mutex_lock(&s->lock);
    t->next = s->threads;
    s->threads = t;
    pthread_mutex_unlock(&s->lock);
    h2o_context_set_handler_context(ctx, self, t);
}

/* The loop is going away: no message may be posted to it any more. Jobs already posted and never
 * processed stay in the job list and are freed by collector__submit_dispose. */
static void on_context_dispose(h2o_handler_t *self, h2o_context_t *ctx)
{
    submit_thread_t *t = h2o_context_get_handler_context(ctx, self);
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->alive = 0;
    /* Every poster holds t->lock and only this thread dispatches the queue, so the receiver's
     * message list is safe to empty here (h2o insists on an empty list to unregister). */
    while (!h2o_linklist_is_empty(&t->receiver._messages))
        h2o_linklist_unlink(t->receiver._messages.next);
    h2o_multithread_unregister_receiver(t->receiver.queue, &t->receiver);
    pthread_mutex_unlock(&t->lock);
}

int collector__submit_register(collector_t *c, route_registrar_t *routes)
{
    if (c->submit == NULL) {
        if ((c->submit = calloc(1, sizeof(*c->submit))) == NULL)
            return -ENOMEM;
        pthread_mutex_init(&c->submit->lock, NULL);
    }
    h2o_pathconf_t *pathconf = routes->add(routes, c->config->path, "submit");
    if (pathconf == NULL)
        return -ENOMEM;
    submit_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->super.on_context_init = on_context_init;
    h->super.on_context_dispose = on_context_dispose;
    h->collector = c;
    return 0;
}

void collector__submit_dispose(collector_t *c)
{
    struct st_collector_submit_t *s = c->submit;
    if (s == NULL)
        return;
    /* the spool is destroyed: no callback can run any more; whatever is left was never answered
     * because its worker's loop had stopped (connections cut at the shutdown deadline) */
    size_t left = 0;
    while (s->jobs != NULL) {
        pending_t *p = s->jobs;
        s->jobs = p->next;
        release(c, p->charged);
        free(p);
        ++left;
    }
    if (left != 0)
        log_info("collector", "%zu crash submissions ended with the server (their connections were cut)", left);
    while (s->threads != NULL) {
        submit_thread_t *t = s->threads;
        s->threads = t->next;
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
    c->submit = NULL;
}
