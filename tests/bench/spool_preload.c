// SPDX-License-Identifier: MIT
/*
 * spool_preload: fills a collector spool with N small, genuine crash reports, fast, for the
 * "does intake slow down with a big backlog?" part of bench_collector.py (not a test).
 *
 * Each report goes through the same code as a POST /submit: a small multipart body (annotations
 * plus a 1 KiB dump) runs through submission_process(), which mints a crash id and builds the
 * crashrec record, and the record is stored with spool_submit() (PUT job, group commit, fsync'ed
 * commits). Only HTTP is skipped. The edge server must NOT be running on the same data directory.
 * Threads: the main thread produces reports and keeps up to WINDOW jobs in flight; the spool's
 * writer thread commits them and runs the callbacks.
 *
 * Build (done by bench_collector.py, from the source tree, after a Release build in build-bench):
 *   cc -O2 -D_GNU_SOURCE -I. tests/bench/spool_preload.c build-bench/collector/libedge_collector.a \
 *      build-bench/edge/libedge_core.a $(pkg-config --libs jansson zlib libisal yaml-0.1) -llmdb -lcrypto \
 *      -lpthread -lm -o spool_preload
 * Usage: spool_preload SPOOL_DIR COUNT [map_size_max_bytes]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "collector/crashrec.h"
#include "collector/spool.h"
#include "collector/submission.h"
#include "edge/log.h"

#define WINDOW 8192
#define BOUNDARY "----spoolpreload7d91a"

typedef struct st_slot_t {
    spool_job_t job;
    crashrec_t *rec;
} slot_t;

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static slot_t **free_slots;
static size_t num_free;
static uint64_t failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void release_rec(void *arg)
{
    crashrec_destroy(arg);
}

static void on_done(spool_job_t *job, int status)
{
    slot_t *slot = job->data;
    pthread_mutex_lock(&mutex);
    if (status != 0)
        ++failed;
    free_slots[num_free++] = slot;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mutex);
}

static size_t build_body(char *out, size_t cap)
{
    static const char *const ann[][2] = {{"ProductName", "BenchApp"}, {"Version", "139.0"}, {"BuildID", "20250601000000"},
                                         {"ReleaseChannel", "release"}, {"CrashTime", "1750000000"}};
    size_t n = 0;
    for (size_t i = 0; i != sizeof(ann) / sizeof(ann[0]); ++i)
        n += (size_t)snprintf(out + n, cap - n, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", BOUNDARY,
                              ann[i][0], ann[i][1]);
    n += (size_t)snprintf(out + n, cap - n,
                          "--%s\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"x.dmp\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\nMDMP",
                          BOUNDARY);
    for (size_t i = 0; i != 1020; ++i)
        out[n++] = (char)('a' + (i * 7) % 26);
    n += (size_t)snprintf(out + n, cap - n, "\r\n--%s--\r\n", BOUNDARY);
    return n;
}

int main(int argc, char **argv)
{
    int ret = 1;
    spool_t *spool = NULL;
    slot_t *slots = NULL;
    spool_config_t config;
    static char body[4096];
    static const char ctype[] = "multipart/form-data; boundary=" BOUNDARY;

    if (argc < 3) {
        fprintf(stderr, "usage: %s SPOOL_DIR COUNT [map_size_max_bytes]\n", argv[0]);
        return 2;
    }
    uint64_t count = strtoull(argv[2], NULL, 10);
    log_set_level(LOG_LEVEL_WARN);
    spool_config_init(&config);
    config.dir = argv[1];
    config.map_size_initial = (size_t)1 << 30;
    if (argc > 3)
        config.map_size_max = (size_t)strtoull(argv[3], NULL, 10);
    if (spool_create(&config, &spool) != 0) {
        fprintf(stderr, "spool_create failed\n");
        goto Exit;
    }
    if ((slots = calloc(WINDOW, sizeof(*slots))) == NULL || (free_slots = calloc(WINDOW, sizeof(*free_slots))) == NULL)
        goto Exit;
    for (size_t i = 0; i != WINDOW; ++i)
        free_slots[num_free++] = &slots[i];
    size_t body_len = build_body(body, sizeof(body));

    double t0 = now_s(), last = t0;
    uint64_t produced = 0, rejected = 0;
    while (produced != count) {
        submission_request_t req = {.content_type = ctype, .content_type_len = sizeof(ctype) - 1, .body = (const uint8_t *)body,
                                    .body_len = body_len};
        submission_result_t res;
        if (submission_process(&req, &res) != 0 || res.outcome != SUBMISSION_STORE) {
            fprintf(stderr, "submission_process did not accept the report: %s\n", res.body);
            submission_result_dispose(&res);
            goto Exit;
        }
        crashrec_t *rec = res.crash;
        res.crash = NULL;
        submission_result_dispose(&res);
        size_t len;
        const uint8_t *bytes = crashrec_record(rec, &len);
        pthread_mutex_lock(&mutex);
        while (num_free == 0)
            pthread_cond_wait(&cond, &mutex);
        slot_t *slot = free_slots[--num_free];
        pthread_mutex_unlock(&mutex);
        slot->rec = rec;
        spool_job_init_put_owned(&slot->job, rec->crash_id, bytes, len, release_rec, rec, on_done, slot);
        int rc;
        while ((rc = spool_submit(spool, &slot->job)) == SPOOL_BUSY) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (rc != 0) {
            fprintf(stderr, "spool_submit: %s\n", spool_strerror(rc));
            crashrec_destroy(rec);
            ++rejected;
            goto Exit;
        }
        ++produced;
        double now = now_s();
        if (now - last >= 5) {
            fprintf(stderr, "spool_preload: %" PRIu64 " submitted, %.0f/s\n", produced, (double)produced / (now - t0));
            last = now;
        }
    }
    pthread_mutex_lock(&mutex);
    while (num_free != WINDOW)
        pthread_cond_wait(&cond, &mutex);
    pthread_mutex_unlock(&mutex);
    double dt = now_s() - t0;
    spool_stats_t st;
    if (spool_stats(spool, &st) != 0)
        goto Exit;
    printf("preloaded %" PRIu64 " reports of %zu bytes (body) in %.1f s: %.0f reports/s; %" PRIu64 " failed; spool now holds %" PRIu64
           " records, %" PRIu64 " bytes, map %zu bytes\n",
           produced, body_len, dt, (double)produced / dt, failed, st.count, st.bytes, st.map_used);
    ret = failed == 0 && rejected == 0 ? 0 : 1;

Exit:
    spool_destroy(spool);
    free(slots);
    free(free_slots);
    return ret;
}
