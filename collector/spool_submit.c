// SPDX-License-Identifier: MIT
/*
 * spool_submit: building spool jobs (put, delivered, reschedule, dead, delete, requeue, purge),
 * checking them, and handing them to the writer thread (spool_writer.c) through its queue.
 * spool_submit() refuses puts while too many blob bytes wait (SPOOL_BUSY); spool_submit_wait()
 * blocks until the job's batch is committed. Any thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "collector/spool_internal.h"

static void job_init(spool_job_t *job, spool_job_type_t type, spool_job_cb cb, void *data)
{
    memset(job, 0, sizeof(*job));
    job->type = type;
    job->cb = cb;
    job->data = data;
}

static void job_set_id(spool_job_t *job, const char *crash_id)
{
    size_t len = crash_id != NULL ? strlen(crash_id) : 0;

    if (len > SPOOL_CRASH_ID_MAX) {
        job->_bad_id = 1; /* remembered for spool_submit: never act on a cut id */
        return;
    }
    if (len != 0)
        memcpy(job->crash_id, crash_id, len);
    job->crash_id[len] = '\0';
}

void spool_job_init_put(spool_job_t *job, const char *crash_id, void *blob, size_t blob_len, spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_PUT, cb, data);
    job_set_id(job, crash_id);
    job->blob = blob;
    job->blob_len = blob_len;
}

void spool_job_init_put_owned(spool_job_t *job, const char *crash_id, const void *blob, size_t blob_len, void (*release)(void *arg),
                              void *release_arg, spool_job_cb cb, void *data)
{
    spool_job_init_put(job, crash_id, (void *)blob, blob_len, cb, data);
    job->blob_free = release;
    job->blob_free_arg = release_arg;
}

void spool_job_init_delivered(spool_job_t *job, uint64_t seq, uint32_t upstreams, spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_DELIVERED, cb, data);
    job->seq = seq;
    job->upstreams = upstreams;
}

void spool_job_init_reschedule(spool_job_t *job, uint64_t seq, int64_t next_attempt_ms, const char *error, size_t error_len,
                               spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_RESCHEDULE, cb, data);
    job->seq = seq;
    job->next_attempt_ms = next_attempt_ms;
    job->text = error;
    job->text_len = error != NULL ? error_len : 0;
}

void spool_job_init_dead(spool_job_t *job, uint64_t seq, const char *reason, size_t reason_len, spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_DEAD, cb, data);
    job->seq = seq;
    job->text = reason;
    job->text_len = reason != NULL ? reason_len : 0;
}

void spool_job_init_delete(spool_job_t *job, uint64_t seq, spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_DELETE, cb, data);
    job->seq = seq;
}

void spool_job_init_requeue(spool_job_t *job, const char *crash_id, spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_REQUEUE, cb, data);
    job_set_id(job, crash_id);
}

void spool_job_init_purge(spool_job_t *job, const char *crash_id, spool_job_cb cb, void *data)
{
    job_init(job, SPOOL_JOB_PURGE, cb, data);
    job_set_id(job, crash_id);
}

/* A crash id is 1..SPOOL_CRASH_ID_MAX visible ASCII characters. */
static int valid_id(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; ++i)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return i != 0;
}

static int job_valid(spool_t *spool, const spool_job_t *job)
{
    if (job->cb == NULL || job->_bad_id)
        return 0;
    switch (job->type) {
    case SPOOL_JOB_PUT:
        return valid_id(job->crash_id) && (job->blob != NULL || job->blob_len == 0);
    case SPOOL_JOB_DELIVERED:
        return job->seq != 0 && job->upstreams != 0 && (job->upstreams & ~spool->all_upstreams) == 0;
    case SPOOL_JOB_RESCHEDULE:
    case SPOOL_JOB_DEAD:
        return job->seq != 0 && (job->text != NULL || job->text_len == 0);
    case SPOOL_JOB_DELETE:
        return job->seq != 0;
    case SPOOL_JOB_REQUEUE:
        return valid_id(job->crash_id);
    case SPOOL_JOB_PURGE:
        return job->crash_id[0] == '\0' || valid_id(job->crash_id);
    default:
        return 0;
    }
}

int spool_submit(spool_t *spool, spool_job_t *job)
{
    size_t len = job->type == SPOOL_JOB_PUT ? job->blob_len : 0;

    if (spool->config.readonly)
        return SPOOL_READONLY;
    if (!job_valid(spool, job))
        return -EINVAL;

    /* reserve the bytes first, so concurrent submitters never overshoot the budget together */
    if (len != 0) {
        size_t cur = atomic_load(&spool->queued_bytes);
        do {
            if (len > spool->config.queue_bytes_max || cur > spool->config.queue_bytes_max - len) {
                metrics_counter_inc(spool->metrics.busy);
                return SPOOL_BUSY;
            }
        } while (!atomic_compare_exchange_weak(&spool->queued_bytes, &cur, cur + len));
    }

    pthread_mutex_lock(&spool->mutex);
    if (spool->stopping) {
        pthread_mutex_unlock(&spool->mutex);
        atomic_fetch_sub(&spool->queued_bytes, len);
        return SPOOL_SHUTDOWN;
    }
    job->_next = NULL;
    job->_status = 0;
    if (spool->tail != NULL)
        spool->tail->_next = job;
    else
        spool->head = job;
    spool->tail = job;
    pthread_cond_signal(&spool->cond);
    pthread_mutex_unlock(&spool->mutex);

    if (len != 0)
        metrics_gauge_set(spool->metrics.queued_bytes, (double)atomic_load(&spool->queued_bytes));
    return 0;
}

typedef struct st_waiter_t {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int done;
    int status;
} waiter_t;

static void on_wait_done(spool_job_t *job, int status)
{
    waiter_t *w = job->data;

    pthread_mutex_lock(&w->mutex);
    w->status = status;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

int spool_submit_wait(spool_t *spool, spool_job_t *job)
{
    waiter_t w = {.done = 0, .status = 0};
    int rc;

    pthread_mutex_init(&w.mutex, NULL);
    pthread_cond_init(&w.cond, NULL);
    job->cb = on_wait_done;
    job->data = &w;
    if ((rc = spool_submit(spool, job)) == 0) {
        pthread_mutex_lock(&w.mutex);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.mutex);
        pthread_mutex_unlock(&w.mutex);
        rc = w.status;
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.mutex);
    return rc;
}

