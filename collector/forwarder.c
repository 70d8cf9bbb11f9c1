// SPDX-License-Identifier: MIT
/*
 * forwarder: the delivery threads (one per upstream), the records they deliver, the per-upstream
 * circuit and the metrics. The requests of a record's plan go over libcurl in forwarder_transfer.c;
 * the "forwarder_backlog" health check and the status JSON are in forwarder_status.c.
 *
 * Each upstream thread owns a curl multi handle (its connection cache gives keep-alive) and
 * `concurrency` slots, each with a reusable easy handle. Its loop: every second sample the spool's
 * counters; when a slot is free, read due records with spool_due() (metadata only, short read
 * transactions, a few pages at most), skip those delivered to this upstream or busy, fetch the
 * blob with spool_get_seq(), decode, plan and start the plan's first request; then run curl and sleep
 * in curl_multi_poll() until a socket is ready, the poll interval passes (new crashes are noticed
 * by this polling, 200 ms by default) or forwarder_destroy() wakes it. A finished record becomes a
 * spool job (delivered / reschedule / dead); its sequence stays "busy" until the writer thread has
 * committed that job, so it is never delivered twice by one process at the same time.
 * Circuit: after circuit_threshold consecutive failed deliveries the upstream is "failing": the
 * thread pauses for a backoff of its own, then sends one record at a time until one succeeds.
 * Nothing is written to disk when a delivery starts, so a killed process delivers pending records
 * again after restart (at least once, never zero times).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "collector/backoff.h"
#include "collector/forwarder_internal.h"
#include "edge/log.h"
#include "edge/metrics.h"

#define COMPONENT "forwarder"
/** How often the spool counters are sampled for metrics and the health check. */
#define SAMPLE_INTERVAL_MS 1000
/** Pages of spool_due() one fill reads at most (records delivered here but not elsewhere are skipped). */
#define FILL_PAGES_MAX 4

/** A spool job recording one outcome; freed by its callback. */
typedef struct st_outcome_job_t {
    spool_job_t super;
    upstream_t *up;
    uint64_t seq;
    int dead;
    char text[];
} outcome_job_t;

static const char *const cause_names[FORWARDER_CAUSE_COUNT] = {
    [FORWARDER_CAUSE_NONE] = "none",         [FORWARDER_CAUSE_5XX] = "5xx",         [FORWARDER_CAUSE_429] = "429",
    [FORWARDER_CAUSE_4XX] = "4xx",           [FORWARDER_CAUSE_REDIRECT] = "redirect", [FORWARDER_CAUSE_BAD_ANSWER] = "bad_answer",
    [FORWARDER_CAUSE_TIMEOUT] = "timeout",   [FORWARDER_CAUSE_CONNECT] = "connect", [FORWARDER_CAUSE_TLS] = "tls",
    [FORWARDER_CAUSE_NETWORK] = "network",   [FORWARDER_CAUSE_CORRUPT] = "corrupt", [FORWARDER_CAUSE_OTHER] = "other",
};

const char *forwarder__cause_name(forwarder_cause_t cause)
{
    return cause >= 0 && cause < FORWARDER_CAUSE_COUNT ? cause_names[cause] : "other";
}

void upstream__plan_dispose(upstream_plan_t *plan)
{
    for (size_t i = 0; i < plan->count; ++i) {
        free(plan->requests[i].url);
        free(plan->requests[i].content_type);
        free(plan->requests[i].owned_body);
    }
    free(plan->requests);
    plan->requests = NULL;
    plan->count = 0;
}

int64_t forwarder__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t next_random(upstream_t *up)
{
    /* xorshift64*: jitter only, no need for cryptographic quality */
    up->rnd ^= up->rnd >> 12;
    up->rnd ^= up->rnd << 25;
    up->rnd ^= up->rnd >> 27;
    return (uint32_t)((up->rnd * 2685821657736338717ull) >> 32);
}

/* --- busy set (fwd->mutex held) --- */

static int busy_contains(upstream_t *up, uint64_t seq)
{
    for (size_t i = 0; i < up->busy_count; ++i)
        if (up->busy[i] == seq)
            return 1;
    return 0;
}

static int busy_add(upstream_t *up, uint64_t seq)
{
    if (up->busy_count == up->busy_cap) {
        size_t cap = up->busy_cap == 0 ? 16 : up->busy_cap * 2;
        uint64_t *p = realloc(up->busy, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        up->busy = p;
        up->busy_cap = cap;
    }
    up->busy[up->busy_count++] = seq;
    return 0;
}

static void busy_remove(upstream_t *up, uint64_t seq)
{
    for (size_t i = 0; i < up->busy_count; ++i) {
        if (up->busy[i] == seq) {
            up->busy[i] = up->busy[--up->busy_count];
            return;
        }
    }
}

/* --- outcomes --- */

static void on_outcome_committed(spool_job_t *job, int status)
{
    outcome_job_t *oj = (outcome_job_t *)job;
    upstream_t *up = oj->up;
    forwarder_t *fwd = up->fwd;

    if (status != 0 && status != SPOOL_NOT_FOUND)
        log_warn(COMPONENT, "upstream %s: recording the outcome of record %" PRIu64 " failed: %s", up->cfg->name, oj->seq,
                 spool_strerror(status));
    if (status == 0 && oj->dead)
        forwarder__health_note_dead_letter();
    pthread_mutex_lock(&fwd->mutex);
    busy_remove(up, oj->seq);
    --up->jobs_outstanding;
    pthread_cond_broadcast(&fwd->cond);
    pthread_mutex_unlock(&fwd->mutex);
    free(oj);
}

typedef enum en_outcome_t {
    OUTCOME_DELIVERED,
    OUTCOME_RESCHEDULE,
    OUTCOME_DEAD,
} outcome_t;

/* Queues the spool job of an outcome; the record's sequence must be in the busy set (removed when committed). */
static void submit_outcome(upstream_t *up, uint64_t seq, outcome_t outcome, int64_t next_ms, const char *text)
{
    forwarder_t *fwd = up->fwd;
    size_t text_len = text != NULL ? strlen(text) : 0;
    outcome_job_t *oj = malloc(sizeof(*oj) + text_len + 1);

    if (oj == NULL) {
        /* The record simply stays due; it is retried at the next fill. */
        pthread_mutex_lock(&fwd->mutex);
        busy_remove(up, seq);
        pthread_mutex_unlock(&fwd->mutex);
        return;
    }
    oj->up = up;
    oj->seq = seq;
    oj->dead = outcome == OUTCOME_DEAD;
    if (text_len != 0)
        memcpy(oj->text, text, text_len);
    oj->text[text_len] = '\0';
    switch (outcome) {
    case OUTCOME_DELIVERED:
        spool_job_init_delivered(&oj->super, seq, UINT32_C(1) << up->index, on_outcome_committed, NULL);
        break;
    case OUTCOME_RESCHEDULE:
        spool_job_init_reschedule(&oj->super, seq, next_ms, oj->text, text_len, on_outcome_committed, NULL);
        break;
    case OUTCOME_DEAD:
        spool_job_init_dead(&oj->super, seq, oj->text, text_len, on_outcome_committed, NULL);
        break;
    }
    pthread_mutex_lock(&fwd->mutex);
    ++up->jobs_outstanding;
    pthread_mutex_unlock(&fwd->mutex);
    if (spool_submit(fwd->spool, &oj->super) != 0) {
        pthread_mutex_lock(&fwd->mutex);
        busy_remove(up, seq);
        --up->jobs_outstanding;
        pthread_cond_broadcast(&fwd->cond);
        pthread_mutex_unlock(&fwd->mutex);
        free(oj);
    }
}

static void set_last_error(upstream_t *up, const char *text)
{
    pthread_mutex_lock(&up->fwd->mutex);
    size_t len = strnlen(text, sizeof(up->last_error) - 1);
    memcpy(up->last_error, text, len);
    up->last_error[len] = '\0';
    pthread_mutex_unlock(&up->fwd->mutex);
}

static void note_success(upstream_t *up)
{
    up->consecutive_failures = 0;
    up->paused_until_ms = 0;
    atomic_store(&up->paused_until_pub, 0);
    if (atomic_exchange(&up->failing, 0)) {
        log_info(COMPONENT, "upstream %s recovered", up->cfg->name);
        metrics_gauge_set(up->metrics.up, 1);
    }
}

static void note_failure(upstream_t *up, const char *reason, int64_t now)
{
    const forwarder_config_t *c = up->fwd->config;

    ++up->consecutive_failures;
    if (up->consecutive_failures < c->circuit_threshold)
        return;
    if (!atomic_exchange(&up->failing, 1)) {
        log_warn(COMPONENT, "upstream %s failing: %s", up->cfg->name, reason);
        metrics_gauge_set(up->metrics.up, 0);
    }
    /* pause the whole upstream; after the pause one record probes it */
    uint32_t n = up->consecutive_failures - c->circuit_threshold + 1;
    up->paused_until_ms = now + (int64_t)backoff_delay_ms(c->backoff_initial_ms, c->backoff_max_ms, n, next_random(up));
    atomic_store(&up->paused_until_pub, up->paused_until_ms);
}

/* --- slots --- */

static void slot_release(slot_t *slot)
{
    upstream__plan_dispose(&slot->plan);
    crashrec_destroy(slot->crash);
    slot->crash = NULL;
    spool_record_dispose(&slot->rec);
    curl_slist_free_all(slot->headers);
    slot->headers = NULL;
    slot->busy = 0;
    slot->up->next_fill_ms = 0; /* a slot is free: look for work again */
}

void forwarder__finish_record(slot_t *slot, forwarder_verdict_t verdict, forwarder_cause_t cause, const char *detail)
{
    upstream_t *up = slot->up;
    const forwarder_config_t *c = up->fwd->config;
    int64_t now = forwarder__now_ms();
    char text[SPOOL_ERROR_MAX + FORWARDER__QUOTE_MAX + 128];

    switch (verdict) {
    case FORWARDER_DONE:
        submit_outcome(up, slot->rec.seq, OUTCOME_DELIVERED, 0, NULL);
        atomic_fetch_add(&up->delivered, 1);
        metrics_counter_inc(up->metrics.delivered);
        metrics_histogram_observe(up->metrics.latency, (double)(now - slot->started_ms) / 1000.0);
        note_success(up);
        break;
    case FORWARDER_RETRY: {
        snprintf(text, sizeof(text), "%s: %s: %s", up->cfg->name, forwarder__cause_name(cause), detail);
        int64_t delay = (int64_t)backoff_delay_ms(c->backoff_initial_ms, c->backoff_max_ms, slot->rec.attempts + 1, next_random(up));
        submit_outcome(up, slot->rec.seq, OUTCOME_RESCHEDULE, now + delay, text);
        atomic_fetch_add(&up->retries, 1);
        metrics_counter_inc(up->metrics.retries[cause]);
        set_last_error(up, text);
        note_failure(up, text, now);
        break;
    }
    case FORWARDER_PERMANENT:
        snprintf(text, sizeof(text), "upstream %s refused crash %s: %s", up->cfg->name, slot->rec.crash_id, detail);
        submit_outcome(up, slot->rec.seq, OUTCOME_DEAD, 0, text);
        atomic_fetch_add(&up->dead_letters, 1);
        metrics_counter_inc(up->metrics.dead);
        set_last_error(up, text);
        log_warn(COMPONENT, "dead letter: %s", text);
        /* a refusal is an answer: the upstream itself works */
        if (cause != FORWARDER_CAUSE_CORRUPT)
            note_success(up);
        break;
    }
    atomic_fetch_sub(&up->in_flight, 1);
    slot_release(slot);
}

/* Starts delivering the record described by meta (no blob) in slot. @return 1 when started, 0 when skipped. */
static int start_record(upstream_t *up, slot_t *slot, const spool_record_t *meta)
{
    forwarder_t *fwd = up->fwd;
    int ret;

    if (spool_get_seq(fwd->spool, meta->seq, SPOOL_READ_BLOB, &slot->rec) != 0)
        return 0; /* delivered and deleted meanwhile, or a read error: the next fill sees it again */
    if (slot->rec.seq != meta->seq || (slot->rec.delivered & (UINT32_C(1) << up->index)) != 0) {
        spool_record_dispose(&slot->rec);
        return 0;
    }
    pthread_mutex_lock(&fwd->mutex);
    ret = busy_add(up, slot->rec.seq);
    pthread_mutex_unlock(&fwd->mutex);
    if (ret != 0) {
        spool_record_dispose(&slot->rec);
        return 0;
    }
    slot->busy = 1;
    slot->step = 0;
    slot->started_ms = forwarder__now_ms();
    atomic_fetch_add(&up->in_flight, 1);

    /* decode and plan; a record that cannot be decoded will never be delivered: dead letter */
    if ((ret = crashrec_decode(&slot->crash, slot->rec.blob, slot->rec.size, 0)) != 0) {
        char detail[128];
        snprintf(detail, sizeof(detail), "corrupt record: %s", strerror(-ret));
        forwarder__finish_record(slot, FORWARDER_PERMANENT, FORWARDER_CAUSE_CORRUPT, detail);
        return 1;
    }
    ret = up->cfg->kind == UPSTREAM_ANTENNA ? upstream_antenna__plan(up->cfg, slot->crash, &slot->plan)
                                            : upstream_s3__plan(up->cfg, slot->crash, &slot->plan);
    if (ret == -EINVAL) {
        forwarder__finish_record(slot, FORWARDER_PERMANENT, FORWARDER_CAUSE_CORRUPT,
                                 "corrupt record: the raw crash is not a JSON object");
        return 1;
    }
    if (ret != 0 || forwarder__start_request(slot) != 0) {
        forwarder__finish_record(slot, FORWARDER_RETRY, FORWARDER_CAUSE_OTHER, "out of memory");
        return 1;
    }
    return 1;
}

/* Fills free slots with due records. */
static void fill(upstream_t *up, int64_t now)
{
    forwarder_t *fwd = up->fwd;
    unsigned limit = atomic_load(&up->failing) ? 1 : up->cfg->concurrency, active = 0;
    int64_t after_ms = 0;
    uint64_t after_seq = 0;

    for (unsigned i = 0; i < up->cfg->concurrency; ++i)
        active += up->slots[i].busy;
    for (int page = 0; page < FILL_PAGES_MAX && active < limit; ++page) {
        size_t n = 0;
        if (spool_due(fwd->spool, now, after_ms, after_seq, fwd->config->batch, 0, up->scratch, &n) != 0)
            break;
        for (size_t i = 0; i < n; ++i) {
            spool_record_t *r = &up->scratch[i];
            after_ms = r->next_attempt_ms;
            after_seq = r->seq;
            if (active >= limit || (r->delivered & (UINT32_C(1) << up->index)) != 0)
                continue;
            pthread_mutex_lock(&fwd->mutex);
            int busy = busy_contains(up, r->seq);
            pthread_mutex_unlock(&fwd->mutex);
            if (busy)
                continue;
            slot_t *slot = NULL;
            for (unsigned s = 0; s < up->cfg->concurrency && slot == NULL; ++s)
                if (!up->slots[s].busy)
                    slot = &up->slots[s];
            if (slot != NULL && start_record(up, slot, r))
                ++active;
        }
        for (size_t i = 0; i < n; ++i)
            spool_record_dispose(&up->scratch[i]);
        if (n < fwd->config->batch)
            break;
    }
    /* all slots busy: refill when one frees (slot_release); else nothing more is due: poll again later.
     * (slot_release() during this fill asked for an immediate refill: the next poll does it.) */
    up->next_fill_ms = active >= limit ? INT64_MAX : now + (int64_t)fwd->config->poll_interval_ms;
}

/* Samples the spool's counters for metrics and the health check (about once a second). */
static void sample(forwarder_t *fwd, int64_t now)
{
    spool_stats_t st;
    int64_t last = atomic_load(&fwd->last_sample_ms);

    if (now - last < SAMPLE_INTERVAL_MS || !atomic_compare_exchange_strong(&fwd->last_sample_ms, &last, now))
        return;
    if (spool_stats(fwd->spool, &st) != 0)
        return;
    atomic_store(&fwd->pending, st.count);
    atomic_store(&fwd->pending_bytes, st.bytes);
    atomic_store(&fwd->oldest_ms, st.oldest_received_ms);
    for (size_t i = 0; i < fwd->count; ++i) {
        upstream_t *up = &fwd->ups[i];
        metrics_gauge_set(up->metrics.pending, (double)st.count);
        metrics_gauge_set(up->metrics.pending_bytes, (double)st.bytes);
        metrics_gauge_set(up->metrics.oldest_age, st.oldest_received_ms != 0 ? (double)(now - st.oldest_received_ms) / 1000.0 : 0);
        metrics_gauge_set(up->metrics.in_flight, atomic_load(&up->in_flight));
    }
    forwarder__health_sample(&st, now);
}

static void *run(void *arg)
{
    upstream_t *up = arg;
    forwarder_t *fwd = up->fwd;

    /* Delivery can wait, an unacknowledged crash may be lost: when both want the CPU, the worker
     * threads that take reports in go first. Linux gives each thread its own nice value. */
    if (fwd->config->nice != 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), fwd->config->nice) != 0)
        log_warn(COMPONENT, "upstream %s: cannot lower the delivery thread's priority (forwarder.nice %d): %s", up->cfg->name,
                 fwd->config->nice, strerror(errno));

    while (!atomic_load(&fwd->stop)) {
        int64_t now = forwarder__now_ms(), wait;
        int running = 0, left;
        CURLMsg *msg;

        sample(fwd, now);
        if (now >= up->paused_until_ms && now >= up->next_fill_ms)
            fill(up, now);
        curl_multi_perform(up->multi, &running);
        while ((msg = curl_multi_info_read(up->multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                slot_t *slot = NULL;
                CURLcode code = msg->data.result;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
                forwarder__on_transfer_done(slot, code);
            }
        }
        /* sleep until a socket is ready, the next fill or sample, or a wakeup */
        now = forwarder__now_ms();
        wait = SAMPLE_INTERVAL_MS;
        if (up->next_fill_ms != INT64_MAX) {
            int64_t at = up->next_fill_ms > up->paused_until_ms ? up->next_fill_ms : up->paused_until_ms;
            if (at - now < wait)
                wait = at - now;
        }
        if (wait > 0)
            curl_multi_poll(up->multi, NULL, 0, (int)wait, NULL);
    }

    /* stop: abort transfers; their records stay pending (nothing is marked in flight on disk) */
    for (unsigned i = 0; i < up->cfg->concurrency; ++i) {
        slot_t *slot = &up->slots[i];
        if (!slot->busy)
            continue;
        curl_multi_remove_handle(up->multi, slot->easy);
        pthread_mutex_lock(&fwd->mutex);
        busy_remove(up, slot->rec.seq);
        pthread_mutex_unlock(&fwd->mutex);
        atomic_fetch_sub(&up->in_flight, 1);
        slot_release(slot);
    }
    return NULL;
}

/* --- lifecycle --- */

static int upstream_init(forwarder_t *fwd, upstream_t *up, unsigned index, conf_error_t *err)
{
    char name[160], labels[256];

    up->fwd = fwd;
    up->index = index;
    up->cfg = &fwd->config->upstreams[index];
    if (getrandom(&up->rnd, sizeof(up->rnd), 0) != (ssize_t)sizeof(up->rnd) || up->rnd == 0)
        up->rnd = (uint64_t)forwarder__now_ms() * 2654435761u + index + 1;
    if ((up->multi = curl_multi_init()) == NULL || (up->slots = calloc(up->cfg->concurrency, sizeof(*up->slots))) == NULL ||
        (up->scratch = calloc(fwd->config->batch, sizeof(*up->scratch))) == NULL)
        goto NoMem;
    curl_multi_setopt(up->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)up->cfg->concurrency);
    for (unsigned i = 0; i < up->cfg->concurrency; ++i) {
        up->slots[i].up = up;
        if ((up->slots[i].easy = curl_easy_init()) == NULL)
            goto NoMem;
    }

    /* metrics (names are validated: no escaping needed, but keep the habit) */
    metrics_label_escape(up->cfg->name, name, sizeof(name));
    snprintf(labels, sizeof(labels), "upstream=\"%s\"", name);
    up->metrics.delivered = metrics_counter("edge_forwarder_delivered_total", "Crashes delivered to an upstream", labels);
    up->metrics.dead = metrics_counter("edge_forwarder_dead_letters_total", "Crashes an upstream refused for good (dead letters)", labels);
    up->metrics.up = metrics_gauge("edge_forwarder_upstream_up", "1 while the upstream works, 0 while it is failing", labels);
    up->metrics.in_flight = metrics_gauge("edge_forwarder_in_flight", "Crashes being delivered", labels);
    up->metrics.pending = metrics_gauge("edge_forwarder_pending_reports", "Crashes waiting in the spool", labels);
    up->metrics.pending_bytes = metrics_gauge("edge_forwarder_pending_bytes", "Bytes of the crashes waiting in the spool", labels);
    up->metrics.oldest_age =
        metrics_gauge("edge_forwarder_oldest_pending_age_seconds", "Age of the oldest crash waiting in the spool", labels);
    up->metrics.latency = metrics_histogram("edge_forwarder_delivery_seconds", "Time to deliver one crash", labels,
                                            metrics_latency_buckets, metrics_latency_buckets_count);
    for (int c = FORWARDER_CAUSE_5XX; c < FORWARDER_CAUSE_COUNT; ++c) {
        char l[320];
        snprintf(l, sizeof(l), "%s,cause=\"%s\"", labels, cause_names[c]);
        up->metrics.retries[c] = metrics_counter("edge_forwarder_retries_total", "Deliveries to be retried, by cause", l);
        if (up->metrics.retries[c] == NULL)
            goto NoMem;
    }
    up->metrics.retries[FORWARDER_CAUSE_NONE] = up->metrics.retries[FORWARDER_CAUSE_OTHER];
    if (up->metrics.delivered == NULL || up->metrics.dead == NULL || up->metrics.up == NULL || up->metrics.in_flight == NULL ||
        up->metrics.pending == NULL || up->metrics.pending_bytes == NULL || up->metrics.oldest_age == NULL || up->metrics.latency == NULL)
        goto NoMem;
    metrics_gauge_set(up->metrics.up, 1);

    if (up->cfg->insecure_skip_verify)
        log_warn(COMPONENT, "upstream %s: insecure_skip_verify is set: TLS certificates are NOT verified, anyone on the path can read "
                            "and alter crash reports", up->cfg->name);
    if (up->cfg->kind == UPSTREAM_ANTENNA && up->cfg->token == NULL)
        log_warn(COMPONENT, "upstream %s: no token: the upstream will refuse or re-mint the crash ids", up->cfg->name);
    return 0;

NoMem:
    snprintf(err->msg, sizeof(err->msg), "forwarder: out of memory setting up upstream %s", up->cfg->name);
    return -1;
}

static void upstream_dispose(upstream_t *up)
{
    if (up->slots != NULL) {
        for (unsigned i = 0; i < up->cfg->concurrency; ++i)
            if (up->slots[i].easy != NULL)
                curl_easy_cleanup(up->slots[i].easy);
        free(up->slots);
    }
    if (up->multi != NULL)
        curl_multi_cleanup(up->multi);
    free(up->scratch);
    free(up->busy);
}

int forwarder_create(const forwarder_config_t *config, spool_t *spool, forwarder_t **out, conf_error_t *err)
{
    forwarder_t *fwd = NULL;
    int ret = -1, curl_inited = 0;

    if ((fwd = calloc(1, sizeof(*fwd))) == NULL || forwarder_config__copy(config, &fwd->config) != 0) {
        snprintf(err->msg, sizeof(err->msg), "forwarder: out of memory");
        goto Exit;
    }
    fwd->spool = spool;
    pthread_mutex_init(&fwd->mutex, NULL);
    pthread_cond_init(&fwd->cond, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err->msg, sizeof(err->msg), "forwarder: libcurl initialisation failed");
        goto Exit;
    }
    curl_inited = 1;
    if (fwd->config->count != 0 && (fwd->ups = calloc(fwd->config->count, sizeof(*fwd->ups))) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "forwarder: out of memory");
        goto Exit;
    }
    for (size_t i = 0; i < fwd->config->count; ++i) {
        ++fwd->count;
        if (upstream_init(fwd, &fwd->ups[i], (unsigned)i, err) != 0)
            goto Exit;
    }

    /* the health check: baseline = the dead letters present now */
    if (forwarder__health_start(fwd, err) != 0)
        goto Exit;

    for (size_t i = 0; i < fwd->count; ++i) {
        int e = pthread_create(&fwd->ups[i].thread, NULL, run, &fwd->ups[i]);
        if (e != 0) {
            snprintf(err->msg, sizeof(err->msg), "forwarder: cannot start a thread: %s", strerror(e));
            goto Exit;
        }
        char thread_name[32]; /* the kernel keeps 15 bytes */
        snprintf(thread_name, sizeof(thread_name), "edge-fwd-%zu", i);
        thread_name[15] = '\0';
        pthread_setname_np(fwd->ups[i].thread, thread_name);
        fwd->ups[i].thread_started = 1;
        log_info(COMPONENT, "upstream %s (%s) %s: %u concurrent deliveries", fwd->ups[i].cfg->name,
                 fwd->ups[i].cfg->kind == UPSTREAM_ANTENNA ? "antenna" : "s3", fwd->ups[i].cfg->url, fwd->ups[i].cfg->concurrency);
    }
    *out = fwd;
    fwd = NULL;
    ret = 0;

Exit:
    if (fwd != NULL) {
        if (curl_inited)
            forwarder_destroy(fwd);
        else {
            forwarder_config_destroy(fwd->config);
            free(fwd);
        }
    }
    return ret;
}

void forwarder_destroy(forwarder_t *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->stop, 1);
    for (size_t i = 0; i < f->count; ++i)
        if (f->ups[i].multi != NULL)
            curl_multi_wakeup(f->ups[i].multi);
    for (size_t i = 0; i < f->count; ++i)
        if (f->ups[i].thread_started)
            pthread_join(f->ups[i].thread, NULL);
    /* wait for the spool to commit the outcomes already submitted (their callbacks use the upstreams) */
    pthread_mutex_lock(&f->mutex);
    for (;;) {
        unsigned outstanding = 0;
        for (size_t i = 0; i < f->count; ++i)
            outstanding += f->ups[i].jobs_outstanding;
        if (outstanding == 0)
            break;
        pthread_cond_wait(&f->cond, &f->mutex);
    }
    pthread_mutex_unlock(&f->mutex);
    forwarder__health_stop();
    for (size_t i = 0; i < f->count; ++i)
        upstream_dispose(&f->ups[i]);
    free(f->ups);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mutex);
    forwarder_config_destroy(f->config);
    free(f);
    curl_global_cleanup();
}
