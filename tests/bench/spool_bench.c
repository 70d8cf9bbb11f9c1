// SPDX-License-Identifier: MIT
/*
 * spool_bench: micro benchmark of the crash spool (not a test; not registered with CTest).
 *
 * Phase 1, ingest: T threads each submit N crashes of S bytes with at most W in flight per thread
 * (a worker thread with W pending requests), and the benchmark reports crashes/s, MB/s, commits and
 * the mean batch size. Phase 2, drain: with the whole backlog in the spool, the "forwarder" reads due
 * records in pages and marks them delivered in batches; the time per delete is printed for the first
 * and the last pages, which shows whether deleting stays O(log n) as the backlog shrinks.
 *
 * Build (from the source tree):
 *   cc -O2 -D_GNU_SOURCE -I. tests/bench/spool_bench.c collector/spool.c collector/spool_read.c \
 *      collector/spool_writer.c collector/spool_submit.c collector/spool_ids.c collector/spool_recent.c \
 *      edge/log.c edge/metrics.c -llmdb -lpthread -lm -o /tmp/spool_bench
 *   /tmp/spool_bench DIR [threads=8] [per_thread=500] [size=204800] [window=8]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "edge/log.h"
#include "edge/metrics.h"
#include "collector/spool.h"

typedef struct st_worker_t {
    spool_t *spool;
    unsigned index, count, window;
    size_t size;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned pending, failed;
    spool_job_t *jobs;
} worker_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_done(spool_job_t *job, int status)
{
    worker_t *w = job->data;
    pthread_mutex_lock(&w->mutex);
    --w->pending;
    if (status != 0)
        ++w->failed;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char id[SPOOL_CRASH_ID_MAX + 1];

    for (unsigned i = 0; i != w->count; ++i) {
        pthread_mutex_lock(&w->mutex);
        while (w->pending >= w->window)
            pthread_cond_wait(&w->cond, &w->mutex);
        ++w->pending;
        pthread_mutex_unlock(&w->mutex);
        void *blob = malloc(w->size);
        if (blob == NULL)
            abort();
        memset(blob, (int)(i & 0xff), w->size);
        snprintf(id, sizeof(id), "bench-%04u-%08u", w->index, i);
        spool_job_init_put(&w->jobs[i], id, blob, w->size, on_done, w);
        int rc;
        while ((rc = spool_submit(w->spool, &w->jobs[i])) == SPOOL_BUSY)
            usleep(1000);
        if (rc != 0)
            abort();
    }
    pthread_mutex_lock(&w->mutex);
    while (w->pending != 0)
        pthread_cond_wait(&w->cond, &w->mutex);
    pthread_mutex_unlock(&w->mutex);
    return NULL;
}

static uint64_t counter(const char *name, const char *help)
{
    return metrics_counter_value(metrics_counter(name, help, NULL));
}

int main(int argc, char **argv)
{
    spool_config_t config;
    spool_t *spool = NULL;
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 8, per = argc > 3 ? (unsigned)atoi(argv[3]) : 500;
    size_t size = argc > 4 ? (size_t)atol(argv[4]) : 204800;
    unsigned window = argc > 5 ? (unsigned)atoi(argv[5]) : 8;

    if (argc < 2 || threads == 0 || per == 0 || window == 0) {
        fprintf(stderr, "usage: %s DIR [threads] [per_thread] [size] [window]\n", argv[0]);
        return 2;
    }
    log_set_level(LOG_LEVEL_WARN);
    spool_config_init(&config);
    config.dir = argv[1];
    if (spool_create(&config, &spool) != 0)
        return 1;

    /* ingest */
    worker_t *workers = calloc(threads, sizeof(*workers));
    pthread_t *tids = calloc(threads, sizeof(*tids));
    uint64_t c0 = counter("edge_spool_commits_total", "Spool write transactions committed");
    double t0 = now_s();
    for (unsigned i = 0; i != threads; ++i) {
        workers[i] = (worker_t){.spool = spool, .index = i, .count = per, .window = window, .size = size};
        pthread_mutex_init(&workers[i].mutex, NULL);
        pthread_cond_init(&workers[i].cond, NULL);
        workers[i].jobs = calloc(per, sizeof(spool_job_t));
        pthread_create(&tids[i], NULL, worker_main, &workers[i]);
    }
    unsigned failed = 0;
    for (unsigned i = 0; i != threads; ++i) {
        pthread_join(tids[i], NULL);
        failed += workers[i].failed;
    }
    double dt = now_s() - t0;
    uint64_t commits = counter("edge_spool_commits_total", "Spool write transactions committed") - c0;
    double n = (double)threads * per;
    printf("ingest: %u threads x %u crashes of %zu bytes: %.0f crashes/s, %.0f MB/s, %" PRIu64
           " commits (%.1f per commit), %u failed\n",
           threads, per, size, n / dt, n * (double)size / dt / 1e6, commits, commits != 0 ? n / (double)commits : 0.0, failed);

    /* drain: pages of due records, each page delivered in one batch */
    enum { PAGE = 256 };
    spool_record_t recs[PAGE];
    spool_job_t *jobs = calloc(PAGE, sizeof(*jobs));
    size_t got, total = 0, pages = 0;
    double first_page = 0, last_page = 0, td = now_s();
    for (;;) {
        if (spool_due(spool, INT64_MAX, 0, 0, PAGE, 0, recs, &got) != 0 || got == 0)
            break;
        double tp = now_s();
        for (size_t i = 0; i + 1 < got; ++i) {
            spool_job_init_delivered(&jobs[i], recs[i].seq, 1, on_done, NULL);
            jobs[i].data = &workers[0];
            pthread_mutex_lock(&workers[0].mutex);
            ++workers[0].pending;
            pthread_mutex_unlock(&workers[0].mutex);
            spool_submit(spool, &jobs[i]);
        }
        spool_job_init_delivered(&jobs[got - 1], recs[got - 1].seq, 1, NULL, NULL);
        spool_submit_wait(spool, &jobs[got - 1]);
        pthread_mutex_lock(&workers[0].mutex);
        while (workers[0].pending != 0)
            pthread_cond_wait(&workers[0].cond, &workers[0].mutex);
        pthread_mutex_unlock(&workers[0].mutex);
        double per_delete = (now_s() - tp) / (double)got * 1e6;
        if (pages++ == 0)
            first_page = per_delete;
        last_page = per_delete;
        total += got;
    }
    printf("drain: %zu records in %.2f s; %.1f us per delete at full backlog, %.1f us in the last page\n", total, now_s() - td,
           first_page, last_page);

    spool_destroy(spool);
    for (unsigned i = 0; i != threads; ++i)
        free(workers[i].jobs);
    free(jobs);
    free(workers);
    free(tids);
    return 0;
}
