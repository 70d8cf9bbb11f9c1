// SPDX-License-Identifier: MIT
/*
 * Unit tests of collector/spool: the LMDB crash spool and its group-commit writer thread.
 *
 * Each test opens a spool in its own mkdtemp directory and removes it afterwards. Batches are made
 * deterministic with a "gate": a first job whose callback blocks the writer thread until the test has
 * queued everything it wants in the next batch.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <lmdb.h>
#include "edge/metrics.h"
#include "collector/spool.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

typedef struct st_fixture_t {
    char root[64];
    char dir[96];
    spool_config_t config;
    spool_t *spool;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->root, "/tmp/edge-test-spool-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->dir, sizeof(f->dir), "%s/spool", f->root);
    spool_config_init(&f->config);
    f->config.dir = f->dir;
    f->config.map_size_initial = 1 * MiB;
    f->config.map_size_max = 64 * MiB;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char path[160];

    spool_destroy(f->spool);
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
    unlink(path);
    rmdir(f->dir);
    rmdir(f->root);
    free(f);
    return 0;
}

static void open_spool(fixture_t *f)
{
    assert_int_equal(spool_create(&f->config, &f->spool), 0);
}

static void reopen_spool(fixture_t *f)
{
    spool_destroy(f->spool);
    f->spool = NULL;
    open_spool(f);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A blob whose bytes derive from (tag, index), so copies can be checked. */
static void *make_blob(size_t len, unsigned tag)
{
    uint8_t *p = malloc(len != 0 ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i != len; ++i)
        p[i] = (uint8_t)(tag * 31 + i * 7 + (i >> 8));
    return p;
}

static int blob_matches(const void *blob, size_t len, unsigned tag)
{
    void *expect = make_blob(len, tag);
    int ok = memcmp(blob, expect, len) == 0;
    free(expect);
    return ok;
}

static void id_of(char *buf, unsigned n)
{
    snprintf(buf, SPOOL_CRASH_ID_MAX + 1, "00000000-0000-4000-8000-%06u260101", n);
}

/* Stores one crash synchronously; returns the status, the sequence in *seq. */
static int put(fixture_t *f, unsigned n, size_t len, uint64_t *seq)
{
    spool_job_t job;
    char id[SPOOL_CRASH_ID_MAX + 1];
    void *blob = make_blob(len, n);
    int rc;

    id_of(id, n);
    spool_job_init_put(&job, id, blob, len, NULL, NULL);
    rc = spool_submit_wait(f->spool, &job);
    if (job.blob != NULL) { /* refused synchronously: still ours; otherwise freed by the spool */
        assert_int_not_equal(rc, 0);
        free(job.blob);
    }
    if (seq != NULL)
        *seq = job.seq;
    return rc;
}

/* ---- asynchronous completions ---- */

typedef struct st_tracker_t {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    size_t done;
    size_t ok;
    int last_status;
} tracker_t;

typedef struct st_tjob_t {
    spool_job_t super;
    tracker_t *tracker;
    atomic_int calls;
    int status;
} tjob_t;

static void tracker_init(tracker_t *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mutex, NULL);
    pthread_cond_init(&t->cond, NULL);
}

static void tracker_dispose(tracker_t *t)
{
    pthread_mutex_destroy(&t->mutex);
    pthread_cond_destroy(&t->cond);
}

static void tracker_wait(tracker_t *t, size_t n)
{
    pthread_mutex_lock(&t->mutex);
    while (t->done < n)
        pthread_cond_wait(&t->cond, &t->mutex);
    pthread_mutex_unlock(&t->mutex);
}

static void on_tracked(spool_job_t *job, int status)
{
    tjob_t *tj = (tjob_t *)job;
    tracker_t *t = tj->tracker;

    if (job->blob != NULL) /* freed by the spool before the callback (no cmocka asserts off the main thread) */
        abort();
    atomic_fetch_add(&tj->calls, 1);
    tj->status = status;
    pthread_mutex_lock(&t->mutex);
    ++t->done;
    if (status == 0)
        ++t->ok;
    t->last_status = status;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mutex);
}

static void tjob_put(tjob_t *tj, tracker_t *t, unsigned n, size_t len)
{
    char id[SPOOL_CRASH_ID_MAX + 1];
    id_of(id, n);
    spool_job_init_put(&tj->super, id, make_blob(len, n), len, on_tracked, NULL);
    tj->tracker = t;
    atomic_init(&tj->calls, 0);
    tj->status = 1;
}

/* The gate: a job whose callback holds the writer thread until gate_open(). */
typedef struct st_gate_t {
    spool_job_t super;
    sem_t entered;
    sem_t release;
    int status;
} gate_t;

static void on_gate(spool_job_t *job, int status)
{
    gate_t *g = (gate_t *)job;
    g->status = status;
    sem_post(&g->entered);
    sem_wait(&g->release);
}

/* Submits the gate (a DELETE of a missing record) and waits until the writer is held in it. */
static void gate_close(fixture_t *f, gate_t *g)
{
    sem_init(&g->entered, 0, 0);
    sem_init(&g->release, 0, 0);
    spool_job_init_delete(&g->super, UINT64_MAX - 1, on_gate, NULL);
    assert_int_equal(spool_submit(f->spool, &g->super), 0);
    sem_wait(&g->entered);
    assert_int_equal(g->status, SPOOL_NOT_FOUND);
}

static void gate_open(gate_t *g)
{
    sem_post(&g->release);
}

static void gate_dispose(gate_t *g)
{
    sem_destroy(&g->entered);
    sem_destroy(&g->release);
}

static uint64_t commits(void)
{
    return metrics_counter_value(metrics_counter("edge_spool_commits_total", "Spool write transactions committed", NULL));
}

/* ---- tests ---- */

static int released;

static void release_owner(void *arg)
{
    free(arg);
    ++released;
}

static void test_put_get_round_trip(void **state)
{
    fixture_t *f = *state;
    spool_record_t rec;
    char id[SPOOL_CRASH_ID_MAX + 1];
    uint64_t seq;
    int64_t t0 = now_ms();

    open_spool(f);
    assert_int_equal(put(f, 1, 5000, &seq), 0);
    assert_int_equal(seq, 1);

    id_of(id, 1);
    assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), 0);
    assert_int_equal(rec.seq, 1);
    assert_string_equal(rec.crash_id, id);
    assert_int_equal(rec.size, 5000);
    assert_int_equal(rec.attempts, 0);
    assert_int_equal(rec.delivered, 0);
    assert_string_equal(rec.last_error, "");
    assert_true(rec.received_ms >= t0 && rec.received_ms <= now_ms());
    assert_int_equal(rec.next_attempt_ms, rec.received_ms);
    assert_non_null(rec.blob);
    assert_true(blob_matches(rec.blob, 5000, 1));
    spool_record_dispose(&rec);
    assert_null(rec.blob);

    /* without the blob flag nothing is allocated */
    assert_int_equal(spool_get(f->spool, id, 0, &rec), 0);
    assert_null(rec.blob);
    assert_int_equal(rec.size, 5000);

    /* an empty blob is a valid record */
    assert_int_equal(put(f, 2, 0, &seq), 0);
    assert_int_equal(seq, 2);
    id_of(id, 2);
    assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), 0);
    assert_int_equal(rec.size, 0);
    spool_record_dispose(&rec);

    /* a blob owned by something else is released through its own function */
    spool_job_t job;
    char *owner = malloc(64);
    assert_non_null(owner);
    memcpy(owner, "owned bytes", 11);
    released = 0;
    spool_job_init_put_owned(&job, "owned-1", owner, 11, release_owner, owner, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(released, 1);
    assert_null(job.blob);
    assert_int_equal(spool_get(f->spool, "owned-1", SPOOL_READ_BLOB, &rec), 0);
    assert_int_equal(rec.size, 11);
    assert_memory_equal(rec.blob, "owned bytes", 11);
    spool_record_dispose(&rec);

    id_of(id, 3);
    assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), SPOOL_NOT_FOUND);
    assert_null(rec.blob);
    assert_int_equal(spool_get(f->spool, "", 0, &rec), SPOOL_NOT_FOUND);

    /* by sequence number, as the forwarder reads: the same record, no id index involved */
    assert_int_equal(spool_get_seq(f->spool, 1, SPOOL_READ_BLOB, &rec), 0);
    id_of(id, 1);
    assert_string_equal(rec.crash_id, id);
    assert_int_equal(rec.seq, 1);
    assert_int_equal(rec.size, 5000);
    assert_true(blob_matches(rec.blob, 5000, 1));
    spool_record_dispose(&rec);
    assert_int_equal(spool_get_seq(f->spool, 2, 0, &rec), 0);
    assert_int_equal(rec.size, 0);
    assert_int_equal(spool_get_seq(f->spool, 99, SPOOL_READ_BLOB, &rec), SPOOL_NOT_FOUND);
    assert_null(rec.blob);
    assert_int_equal(spool_get_seq(f->spool, 0, 0, &rec), SPOOL_NOT_FOUND);
}

static void test_fifo_order(void **state)
{
    fixture_t *f = *state;
    spool_record_t recs[16];
    char id[SPOOL_CRASH_ID_MAX + 1];
    size_t n;

    open_spool(f);
    for (unsigned i = 0; i != 10; ++i)
        assert_int_equal(put(f, 100 + i, 100 + i, NULL), 0);

    assert_int_equal(spool_list(f->spool, 0, 16, recs, &n), 0);
    assert_int_equal(n, 10);
    for (unsigned i = 0; i != 10; ++i) {
        id_of(id, 100 + i);
        assert_int_equal(recs[i].seq, i + 1);
        assert_string_equal(recs[i].crash_id, id);
        assert_int_equal(recs[i].size, 100 + i);
        assert_null(recs[i].blob);
    }
    /* paging */
    assert_int_equal(spool_list(f->spool, 7, 16, recs, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(recs[0].seq, 8);
    assert_int_equal(spool_list(f->spool, 0, 4, recs, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(recs[3].seq, 4);

    /* due records come oldest first, with their blobs */
    assert_int_equal(spool_due(f->spool, now_ms(), 0, 0, 16, SPOOL_READ_BLOB, recs, &n), 0);
    assert_int_equal(n, 10);
    for (unsigned i = 0; i != 10; ++i) {
        assert_int_equal(recs[i].seq, i + 1);
        assert_true(blob_matches(recs[i].blob, 100 + i, 100 + i));
        spool_record_dispose(&recs[i]);
    }
    /* paging past records being delivered */
    assert_int_equal(spool_due(f->spool, now_ms(), 0, 0, 3, 0, recs, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(spool_due(f->spool, now_ms(), recs[2].next_attempt_ms, recs[2].seq, 16, 0, recs, &n), 0);
    assert_int_equal(n, 7);
    assert_int_equal(recs[0].seq, 4);
    /* nothing is due before it was received */
    assert_int_equal(spool_due(f->spool, 1000, 0, 0, 16, 0, recs, &n), 0);
    assert_int_equal(n, 0);
}

#define GC_THREADS 8
#define GC_JOBS 40

typedef struct st_gc_arg_t {
    spool_t *spool;
    tracker_t *tracker;
    tjob_t *jobs;
    unsigned base;
} gc_arg_t;

static void *gc_thread(void *p)
{
    gc_arg_t *a = p;
    for (unsigned i = 0; i != GC_JOBS; ++i) {
        tjob_put(&a->jobs[i], a->tracker, a->base + i, 2000);
        if (spool_submit(a->spool, &a->jobs[i].super) != 0)
            abort();
    }
    return NULL;
}

static void test_group_commit_threads(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    pthread_t threads[GC_THREADS];
    gc_arg_t args[GC_THREADS];
    tjob_t *jobs = calloc(GC_THREADS * GC_JOBS, sizeof(*jobs));
    spool_stats_t stats;
    uint64_t c0;

    assert_non_null(jobs);
    open_spool(f);
    tracker_init(&t);
    c0 = commits();
    for (unsigned i = 0; i != GC_THREADS; ++i) {
        args[i] = (gc_arg_t){f->spool, &t, jobs + i * GC_JOBS, 1000 * (i + 1)};
        assert_int_equal(pthread_create(&threads[i], NULL, gc_thread, &args[i]), 0);
    }
    for (unsigned i = 0; i != GC_THREADS; ++i)
        pthread_join(threads[i], NULL);
    tracker_wait(&t, GC_THREADS * GC_JOBS);

    assert_int_equal(t.ok, GC_THREADS * GC_JOBS);
    for (unsigned i = 0; i != GC_THREADS * GC_JOBS; ++i) {
        assert_int_equal(atomic_load(&jobs[i].calls), 1);
        assert_int_equal(jobs[i].status, 0);
    }
    /* fewer commits than jobs: they were grouped */
    assert_true(commits() - c0 < GC_THREADS * GC_JOBS);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, GC_THREADS * GC_JOBS);
    assert_int_equal(stats.bytes, GC_THREADS * GC_JOBS * 2000);
    assert_int_equal(stats.queued_bytes, 0);

    /* each thread's jobs are stored in its submission order */
    spool_record_t rec;
    char id[SPOOL_CRASH_ID_MAX + 1];
    for (unsigned i = 0; i != GC_THREADS; ++i) {
        uint64_t prev = 0;
        for (unsigned j = 0; j != GC_JOBS; ++j) {
            id_of(id, 1000 * (i + 1) + j);
            assert_int_equal(spool_get(f->spool, id, 0, &rec), 0);
            assert_true(rec.seq > prev);
            assert_int_equal(rec.seq, jobs[i * GC_JOBS + j].super.seq);
            prev = rec.seq;
        }
    }
    tracker_dispose(&t);
    free(jobs);
}

/* With the writer held, everything queued meanwhile is committed by exactly one transaction. */
static void test_group_commit_one_batch(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    gate_t g;
    tjob_t jobs[20];
    uint64_t c0;

    open_spool(f);
    tracker_init(&t);
    c0 = commits();
    gate_close(f, &g);
    for (unsigned i = 0; i != 20; ++i) {
        tjob_put(&jobs[i], &t, i + 1, 1000);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    gate_open(&g);
    tracker_wait(&t, 20);
    assert_int_equal(t.ok, 20);
    assert_int_equal(commits() - c0, 2); /* the gate's batch, then all twenty together */
    for (unsigned i = 0; i != 20; ++i)
        assert_int_equal(jobs[i].super.seq, i + 1);
    gate_dispose(&g);
    tracker_dispose(&t);
}

/* A backlog larger than one batch may hold is committed in several transactions, in order. */
static void test_group_commit_batch_cap(void **state)
{
    fixture_t *f = *state;
    size_t njobs = 5000;
    tjob_t *jobs = calloc(njobs, sizeof(*jobs));
    tracker_t t;
    gate_t g;
    uint64_t c0;

    assert_non_null(jobs);
    open_spool(f);
    tracker_init(&t);
    c0 = commits();
    gate_close(f, &g);
    for (unsigned i = 0; i != njobs; ++i) {
        tjob_put(&jobs[i], &t, i + 1, 16);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    gate_open(&g);
    tracker_wait(&t, njobs);
    assert_int_equal(t.ok, njobs);
    assert_int_equal(commits() - c0, 3); /* the gate, 4096 jobs, the other 904 */
    for (unsigned i = 0; i != njobs; ++i)
        assert_int_equal(jobs[i].super.seq, i + 1);
    gate_dispose(&g);
    tracker_dispose(&t);
    free(jobs);
}

static void test_index_and_duplicates(void **state)
{
    fixture_t *f = *state;
    spool_record_t rec;
    spool_stats_t stats;
    char id[SPOOL_CRASH_ID_MAX + 1];
    uint64_t seq;

    open_spool(f);
    for (unsigned i = 0; i != 30; ++i) {
        assert_int_equal(put(f, 500 + i, 64 + i, &seq), 0);
        assert_int_equal(seq, i + 1);
    }
    for (unsigned i = 30; i-- != 0;) {
        id_of(id, 500 + i);
        assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), 0);
        assert_int_equal(rec.seq, i + 1);
        assert_true(blob_matches(rec.blob, 64 + i, 500 + i));
        spool_record_dispose(&rec);
    }
    /* the same crash id again: refused alone, the original kept */
    assert_int_equal(put(f, 510, 7, &seq), SPOOL_DUPLICATE);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 30);
    id_of(id, 510);
    assert_int_equal(spool_get(f->spool, id, 0, &rec), 0);
    assert_int_equal(rec.size, 74);
    assert_int_equal(stats.next_seq, 31);

    /* a duplicate inside a batch does not fail its neighbours */
    tracker_t t;
    gate_t g;
    tjob_t jobs[3];
    tracker_init(&t);
    gate_close(f, &g);
    tjob_put(&jobs[0], &t, 900, 10);
    tjob_put(&jobs[1], &t, 900, 10);
    tjob_put(&jobs[2], &t, 901, 10);
    for (unsigned i = 0; i != 3; ++i)
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    gate_open(&g);
    tracker_wait(&t, 3);
    assert_int_equal(jobs[0].status, 0);
    assert_int_equal(jobs[1].status, SPOOL_DUPLICATE);
    assert_int_equal(jobs[2].status, 0);
    assert_int_equal(jobs[2].super.seq, 32);
    gate_dispose(&g);
    tracker_dispose(&t);
}

static void test_reschedule(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    spool_record_t recs[4];
    char id[SPOOL_CRASH_ID_MAX + 1], longerr[600];
    uint64_t s1, s2;
    size_t n;
    int64_t later = now_ms() + 60000;

    open_spool(f);
    assert_int_equal(put(f, 1, 10, &s1), 0);
    assert_int_equal(put(f, 2, 10, &s2), 0);

    spool_job_init_reschedule(&job, s1, later, "HTTP 503", 8, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    id_of(id, 1);
    assert_int_equal(spool_get(f->spool, id, 0, &recs[0]), 0);
    assert_int_equal(recs[0].attempts, 1);
    assert_int_equal(recs[0].next_attempt_ms, later);
    assert_string_equal(recs[0].last_error, "HTTP 503");

    /* only the second is due now; both are due later, the rescheduled one last */
    assert_int_equal(spool_due(f->spool, now_ms(), 0, 0, 4, 0, recs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(recs[0].seq, s2);
    assert_int_equal(spool_due(f->spool, later, 0, 0, 4, 0, recs, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(recs[0].seq, s2);
    assert_int_equal(recs[1].seq, s1);

    /* a second failure: attempts grow, long errors are cut */
    memset(longerr, 'x', sizeof(longerr));
    spool_job_init_reschedule(&job, s1, later + 1000, longerr, sizeof(longerr), NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(spool_get(f->spool, id, 0, &recs[0]), 0);
    assert_int_equal(recs[0].attempts, 2);
    assert_int_equal(recs[0].next_attempt_ms, later + 1000);
    assert_int_equal(strlen(recs[0].last_error), SPOOL_ERROR_MAX);
    assert_int_equal(spool_due(f->spool, later, 0, 0, 4, 0, recs, &n), 0);
    assert_int_equal(n, 1);

    spool_job_init_reschedule(&job, 99, later, NULL, 0, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), SPOOL_NOT_FOUND);
    /* a job may be submitted again once its callback ran, whatever its outcome */
    job.seq = s2;
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    id_of(id, 2);
    assert_int_equal(spool_get(f->spool, id, 0, &recs[0]), 0);
    assert_int_equal(recs[0].attempts, 1);
}

static void test_delivered_and_delete(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    spool_record_t rec;
    spool_stats_t stats;
    char id[SPOOL_CRASH_ID_MAX + 1];
    uint64_t s1, s2;
    size_t n;

    f->config.upstream_count = 2;
    open_spool(f);
    assert_int_equal(put(f, 1, 100, &s1), 0);
    assert_int_equal(put(f, 2, 200, &s2), 0);

    /* one upstream of two has it: kept, marked */
    spool_job_init_delivered(&job, s1, 0x2, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    id_of(id, 1);
    assert_int_equal(spool_get(f->spool, id, 0, &rec), 0);
    assert_int_equal(rec.delivered, 0x2);
    /* both: gone from every table */
    spool_job_init_delivered(&job, s1, 0x1, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(spool_get(f->spool, id, 0, &rec), SPOOL_NOT_FOUND);
    assert_int_equal(spool_due(f->spool, now_ms(), 0, 0, 1, 0, &rec, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rec.seq, s2);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 1);
    assert_int_equal(stats.bytes, 200);

    /* again: unknown now */
    spool_job_init_delivered(&job, s1, 0x3, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), SPOOL_NOT_FOUND);
    /* bits beyond the configured upstreams are refused synchronously */
    spool_job_init_delivered(&job, s2, 0x4, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), -EINVAL);

    spool_job_init_delete(&job, s2, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 0);
    assert_int_equal(stats.bytes, 0);
    assert_int_equal(stats.oldest_received_ms, 0);
    assert_int_equal(spool_list(f->spool, 0, 1, &rec, &n), 0);
    assert_int_equal(n, 0);
    spool_job_init_delete(&job, s2, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), SPOOL_NOT_FOUND);
}

static void test_dead_letter(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    spool_record_t rec;
    spool_dead_t dead, deads[4];
    spool_stats_t stats;
    char id[SPOOL_CRASH_ID_MAX + 1];
    uint64_t s[3];
    size_t n;
    const char reason[] = "HTTP 400 Discarded=malformed_invalid_json";

    open_spool(f);
    for (unsigned i = 0; i != 3; ++i)
        assert_int_equal(put(f, i + 1, 3000 + i, &s[i]), 0);
    spool_job_init_reschedule(&job, s[1], now_ms(), "timeout", 7, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);

    spool_job_init_dead(&job, s[1], reason, strlen(reason), NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.bytes, 3000 + 3002);
    assert_int_equal(stats.dead_count, 1);
    assert_int_equal(stats.dead_bytes, 3001);

    id_of(id, 2);
    assert_int_equal(spool_get(f->spool, id, 0, &rec), SPOOL_NOT_FOUND);
    assert_int_equal(spool_dead_get(f->spool, id, SPOOL_READ_BLOB, &dead), 0);
    assert_int_equal(dead.seq, s[1]);
    assert_string_equal(dead.crash_id, id);
    assert_string_equal(dead.reason, reason);
    assert_int_equal(dead.attempts, 1);
    assert_int_equal(dead.size, 3001);
    assert_true(dead.dead_ms >= dead.received_ms);
    assert_true(blob_matches(dead.blob, 3001, 2));
    spool_dead_dispose(&dead);
    assert_null(dead.reason);

    /* a dead letter still owns its crash id */
    assert_int_equal(put(f, 2, 10, NULL), SPOOL_DUPLICATE);

    /* requeue: back in the main table, new sequence, fresh state */
    spool_job_init_requeue(&job, id, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(job.seq, 4);
    assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), 0);
    assert_int_equal(rec.seq, 4);
    assert_int_equal(rec.attempts, 0);
    assert_string_equal(rec.last_error, "");
    assert_true(blob_matches(rec.blob, 3001, 2));
    spool_record_dispose(&rec);
    assert_int_equal(spool_dead_get(f->spool, id, 0, &dead), SPOOL_NOT_FOUND);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 3);
    assert_int_equal(stats.dead_count, 0);
    assert_int_equal(stats.dead_bytes, 0);
    spool_job_init_requeue(&job, id, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), SPOOL_NOT_FOUND);

    /* dead-letter all three, list them, purge one, then all */
    uint64_t seqs[3] = {s[0], s[2], 4};
    for (unsigned i = 0; i != 3; ++i) {
        spool_job_init_dead(&job, seqs[i], "gone", 4, NULL, NULL);
        assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    }
    assert_int_equal(spool_dead_list(f->spool, 0, 4, deads, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(deads[0].seq, s[0]);
    assert_int_equal(deads[1].seq, s[2]);
    assert_int_equal(deads[2].seq, 4);
    assert_string_equal(deads[2].crash_id, id);
    assert_null(deads[0].blob);
    for (unsigned i = 0; i != n; ++i)
        spool_dead_dispose(&deads[i]);
    assert_int_equal(spool_dead_list(f->spool, s[0], 4, deads, &n), 0);
    assert_int_equal(n, 2);
    for (unsigned i = 0; i != n; ++i)
        spool_dead_dispose(&deads[i]);

    id_of(id, 1);
    spool_job_init_purge(&job, id, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(spool_dead_get(f->spool, id, 0, &dead), SPOOL_NOT_FOUND);
    assert_int_equal(spool_submit_wait(f->spool, &job), SPOOL_NOT_FOUND);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.dead_count, 2);
    assert_int_equal(stats.dead_bytes, 3002 + 3001);

    spool_job_init_purge(&job, NULL, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(job.seq, 2);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 0);
    assert_int_equal(stats.dead_count, 0);
    assert_int_equal(stats.dead_bytes, 0);
    assert_int_equal(spool_dead_list(f->spool, 0, 4, deads, &n), 0);
    assert_int_equal(n, 0);
    /* purged ids are free again */
    assert_int_equal(put(f, 1, 10, NULL), 0);
}

static void test_stats(void **state)
{
    fixture_t *f = *state;
    spool_stats_t stats;
    spool_job_t job;
    uint64_t s1;
    int64_t t0 = now_ms();

    open_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 0);
    assert_int_equal(stats.bytes, 0);
    assert_int_equal(stats.oldest_received_ms, 0);
    assert_int_equal(stats.next_seq, 1);
    assert_int_equal(stats.full, 0);
    assert_int_equal(stats.last_error, 0);
    assert_true(stats.map_size >= 1 * MiB);

    assert_int_equal(put(f, 1, 1000, &s1), 0);
    usleep(20000);
    assert_int_equal(put(f, 2, 2000, NULL), 0);
    assert_int_equal(put(f, 3, 4000, NULL), 0);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 3);
    assert_int_equal(stats.bytes, 7000);
    assert_true(stats.oldest_received_ms >= t0 && stats.oldest_received_ms <= now_ms() - 20);
    assert_true(stats.map_used > 7000 && stats.map_used <= stats.map_size);

    /* the oldest moves on when the first record is delivered */
    int64_t first = stats.oldest_received_ms;
    spool_job_init_delivered(&job, s1, 1, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.bytes, 6000);
    assert_true(stats.oldest_received_ms >= first + 20);

    /* the gauges follow the commits */
    assert_true(metrics_gauge_value(metrics_gauge("edge_spool_records", "Crashes waiting in the spool", NULL)) == 2.0);
}

static void test_reopen_keeps_everything(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    spool_record_t rec;
    spool_dead_t dead;
    spool_stats_t stats;
    char id[SPOOL_CRASH_ID_MAX + 1];
    uint64_t s[4];

    open_spool(f);
    for (unsigned i = 0; i != 4; ++i)
        assert_int_equal(put(f, i + 1, 10000 + i, &s[i]), 0);
    spool_job_init_reschedule(&job, s[0], 12345, "refused", 7, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    spool_job_init_dead(&job, s[1], "bad", 3, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    spool_job_init_delete(&job, s[3], NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);

    reopen_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.bytes, 10000 + 10002);
    assert_int_equal(stats.dead_count, 1);
    assert_int_equal(stats.dead_bytes, 10001);
    assert_int_equal(stats.next_seq, 5);
    id_of(id, 1);
    assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), 0);
    assert_int_equal(rec.attempts, 1);
    assert_int_equal(rec.next_attempt_ms, 12345);
    assert_string_equal(rec.last_error, "refused");
    assert_true(blob_matches(rec.blob, 10000, 1));
    spool_record_dispose(&rec);
    id_of(id, 2);
    assert_int_equal(spool_dead_get(f->spool, id, 0, &dead), 0);
    assert_string_equal(dead.reason, "bad");
    spool_dead_dispose(&dead);

    /* sequences are never reused, even for a deleted last record */
    assert_int_equal(put(f, 9, 1, &s[0]), 0);
    assert_int_equal(s[0], 5);

    /* the read-only mode sees the same, refuses writes */
    spool_t *ro = NULL;
    spool_config_t rocfg = f->config;
    rocfg.readonly = 1;
    assert_int_equal(spool_create(&rocfg, &ro), 0);
    assert_int_equal(spool_stats(ro, &stats), 0);
    assert_int_equal(stats.count, 3);
    assert_int_equal(spool_submit_wait(ro, &job), SPOOL_READONLY);
    spool_destroy(ro);
}

/* Counters lost (or wrong) are recounted from the tables at open. */
static void test_meta_rebuilt_at_open(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    spool_stats_t stats;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val key = {5, "stats"};

    open_spool(f);
    for (unsigned i = 0; i != 4; ++i)
        assert_int_equal(put(f, i + 1, 100 * (i + 1), NULL), 0);
    spool_job_init_dead(&job, 2, "no", 2, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    spool_job_init_delete(&job, 4, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    spool_destroy(f->spool);
    f->spool = NULL;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    open_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.bytes, 100 + 300);
    assert_int_equal(stats.dead_count, 1);
    assert_int_equal(stats.dead_bytes, 200);
    assert_int_equal(stats.next_seq, 4); /* the deleted last sequence cannot be known any more */
}

/* Overwrites the value stored under seq in table name with bytes no decoder accepts. */
static void damage_value(fixture_t *f, const char *name, uint64_t seq)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t kbuf[8];
    MDB_val key = {sizeof(kbuf), kbuf}, val = {3, "bad"};

    for (int i = 0; i != 8; ++i)
        kbuf[i] = (uint8_t)(seq >> (8 * (7 - i)));
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A damaged value in the middle of a listing fails the whole page and leaves nothing to free (the
 * dead letters filled before it own their reason: run under ASan to see them released). */
static void test_list_damaged_value(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    spool_record_t recs[4];
    spool_dead_t deads[4];
    size_t n;

    open_spool(f);
    for (unsigned i = 0; i != 6; ++i)
        assert_int_equal(put(f, i + 1, 100, NULL), 0);
    for (uint64_t seq = 4; seq != 7; ++seq) {
        spool_job_init_dead(&job, seq, "gone", 4, NULL, NULL);
        assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    }
    spool_destroy(f->spool);
    f->spool = NULL;
    damage_value(f, "state", 2);
    damage_value(f, "dead", 5);
    open_spool(f);

    n = 99;
    assert_int_equal(spool_list(f->spool, 0, 4, recs, &n), SPOOL_CORRUPT);
    assert_int_equal(n, 0);
    assert_int_equal(spool_list(f->spool, 2, 4, recs, &n), 0); /* the records after it still list */
    assert_int_equal(n, 1);
    assert_int_equal(recs[0].seq, 3);

    n = 99;
    assert_int_equal(spool_dead_list(f->spool, 0, 4, deads, &n), SPOOL_CORRUPT);
    assert_int_equal(n, 0);
    assert_int_equal(spool_dead_list(f->spool, 5, 4, deads, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(deads[0].seq, 6);
    spool_dead_dispose(&deads[0]);
}

static void test_map_growth(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    gate_t g;
    tjob_t jobs[12];
    spool_stats_t stats;
    spool_record_t rec;
    char id[SPOOL_CRASH_ID_MAX + 1];
    size_t size = 200 * KiB;

    open_spool(f); /* 1 MiB map */
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.map_size, 1 * MiB);

    /* one at a time, then twelve in one batch */
    for (unsigned i = 0; i != 8; ++i)
        assert_int_equal(put(f, i + 1, size, NULL), 0);
    tracker_init(&t);
    gate_close(f, &g);
    for (unsigned i = 0; i != 12; ++i) {
        tjob_put(&jobs[i], &t, 100 + i, size);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    gate_open(&g);
    tracker_wait(&t, 12);
    assert_int_equal(t.ok, 12);

    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 20);
    assert_int_equal(stats.bytes, 20 * size);
    assert_true(stats.map_size >= 4 * MiB);
    assert_true(stats.map_size <= 16 * MiB);
    assert_int_equal(stats.full, 0);
    id_of(id, 111);
    assert_int_equal(spool_get(f->spool, id, SPOOL_READ_BLOB, &rec), 0);
    assert_true(blob_matches(rec.blob, size, 111));
    spool_record_dispose(&rec);

    /* the grown size survives a reopen */
    size_t grown = stats.map_size;
    reopen_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_true(stats.map_size >= grown);
    assert_int_equal(stats.count, 20);
    gate_dispose(&g);
    tracker_dispose(&t);
}

static void test_map_max_fails_whole_batch(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    gate_t g;
    tjob_t jobs[12];
    spool_stats_t stats;
    spool_record_t rec;
    char id[SPOOL_CRASH_ID_MAX + 1];
    size_t size = 200 * KiB;
    uint64_t s1;

    f->config.map_size_max = 2 * MiB;
    open_spool(f);
    assert_int_equal(put(f, 1, size, &s1), 0);
    assert_int_equal(put(f, 2, size, NULL), 0);

    /* twelve crashes of 200 KB cannot fit in 2 MiB: all fail, nothing of them is stored */
    tracker_init(&t);
    gate_close(f, &g);
    for (unsigned i = 0; i != 12; ++i) {
        tjob_put(&jobs[i], &t, 100 + i, size);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    gate_open(&g);
    tracker_wait(&t, 12);
    gate_dispose(&g);
    assert_int_equal(t.ok, 0);
    for (unsigned i = 0; i != 12; ++i) {
        assert_int_equal(atomic_load(&jobs[i].calls), 1);
        assert_int_equal(jobs[i].status, SPOOL_FULL);
        assert_int_equal(jobs[i].super.seq, 0);
    }
    assert_true(spool_is_full(f->spool));
    assert_int_equal(spool_last_error(f->spool), SPOOL_FULL);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.map_size, 2 * MiB);
    assert_int_equal(stats.queued_bytes, 0);

    /* a full spool still applies the jobs that make room, alongside refused crashes */
    tracker_dispose(&t);
    tracker_init(&t);
    gate_close(f, &g);
    for (unsigned i = 0; i != 12; ++i) {
        tjob_put(&jobs[i], &t, 200 + i, size);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    tjob_t del = {.tracker = &t};
    spool_job_init_delivered(&del.super, s1, 1, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &del.super), 0);
    gate_open(&g);
    tracker_wait(&t, 13);
    gate_dispose(&g);
    assert_int_equal(del.status, 0);
    for (unsigned i = 0; i != 12; ++i)
        assert_int_equal(jobs[i].status, SPOOL_FULL);

    assert_true(spool_is_full(f->spool));

    /* a crash that fits is stored, and the spool is no longer full */
    assert_int_equal(put(f, 3, 1000, NULL), 0);
    assert_false(spool_is_full(f->spool));
    assert_int_equal(spool_last_error(f->spool), 0);

    /* after a restart nothing of the failed batches is there */
    reopen_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.bytes, size + 1000);
    assert_int_equal(stats.next_seq, 4);
    for (unsigned i = 0; i != 12; ++i) {
        id_of(id, 100 + i);
        assert_int_equal(spool_get(f->spool, id, 0, &rec), SPOOL_NOT_FOUND);
        id_of(id, 200 + i);
        assert_int_equal(spool_get(f->spool, id, 0, &rec), SPOOL_NOT_FOUND);
    }
    id_of(id, 2);
    assert_int_equal(spool_get(f->spool, id, 0, &rec), 0);
    tracker_dispose(&t);
}

/* A write error in the middle of a commit (the file may not grow: RLIMIT_FSIZE stands in for a
 * full disk) fails the whole batch, leaves nothing behind, and the spool works again afterwards. */
static void test_write_error_fails_batch(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    gate_t g;
    tjob_t jobs[5];
    spool_stats_t stats;
    spool_record_t rec;
    struct rlimit saved, limit;
    struct stat st;
    char path[160], id[SPOOL_CRASH_ID_MAX + 1];

    open_spool(f);
    assert_int_equal(put(f, 1, 1000, NULL), 0);
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    assert_int_equal(stat(path, &st), 0);

    tracker_init(&t);
    gate_close(f, &g);
    for (unsigned i = 0; i != 5; ++i) {
        tjob_put(&jobs[i], &t, 10 + i, 200 * KiB);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limit = saved;
    limit.rlim_cur = (rlim_t)st.st_size;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    gate_open(&g);
    tracker_wait(&t, 5);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    gate_dispose(&g);
    for (unsigned i = 0; i != 5; ++i)
        assert_int_equal(jobs[i].status, SPOOL_FULL);
    assert_true(spool_is_full(f->spool));

    assert_int_equal(put(f, 2, 200 * KiB, NULL), 0);
    assert_false(spool_is_full(f->spool));
    reopen_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 2);
    assert_int_equal(stats.next_seq, 3);
    id_of(id, 12);
    assert_int_equal(spool_get(f->spool, id, 0, &rec), SPOOL_NOT_FOUND);
    tracker_dispose(&t);
}

static void test_byte_budget_busy(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    gate_t g;
    tjob_t jobs[3];
    spool_job_t job;
    spool_stats_t stats;

    f->config.queue_bytes_max = 500 * KiB;
    open_spool(f);
    tracker_init(&t);
    gate_close(f, &g);
    tjob_put(&jobs[0], &t, 1, 200 * KiB);
    tjob_put(&jobs[1], &t, 2, 200 * KiB);
    tjob_put(&jobs[2], &t, 3, 200 * KiB);
    assert_int_equal(spool_submit(f->spool, &jobs[0].super), 0);
    assert_int_equal(spool_submit(f->spool, &jobs[1].super), 0);
    /* over the budget: refused at once, the blob stays with the caller, no callback */
    assert_int_equal(spool_submit(f->spool, &jobs[2].super), SPOOL_BUSY);
    assert_non_null(jobs[2].super.blob);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.queued_bytes, 400 * KiB);
    /* state changes are never refused for the budget */
    tjob_t op = {.tracker = &t};
    spool_job_init_delete(&op.super, 12345, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &op.super), 0);
    gate_open(&g);
    tracker_wait(&t, 3);
    assert_int_equal(atomic_load(&jobs[2].calls), 0);
    assert_int_equal(jobs[0].status, 0);
    assert_int_equal(jobs[1].status, 0);
    assert_int_equal(op.status, SPOOL_NOT_FOUND);

    /* room again once committed */
    assert_int_equal(spool_submit(f->spool, &jobs[2].super), 0);
    tracker_wait(&t, 4);
    assert_int_equal(jobs[2].status, 0);
    /* a blob larger than the whole budget can never be queued */
    void *huge = malloc(600 * KiB);
    assert_non_null(huge);
    spool_job_init_put(&job, "huge", huge, 600 * KiB, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &job), SPOOL_BUSY);
    free(huge);
    gate_dispose(&g);
    tracker_dispose(&t);
}

static void test_invalid_jobs(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;
    char longid[SPOOL_CRASH_ID_MAX + 2];
    void *blob = malloc(4);

    open_spool(f);
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    spool_job_init_put(&job, longid, blob, 4, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &job), -EINVAL);
    spool_job_init_put(&job, "", blob, 4, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &job), -EINVAL);
    spool_job_init_put(&job, "has space", blob, 4, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &job), -EINVAL);
    spool_job_init_put(&job, "ok", blob, 4, NULL, NULL);
    assert_int_equal(spool_submit(f->spool, &job), -EINVAL);
    /* a too long id never turns a purge of one into a purge of all */
    spool_job_init_purge(&job, longid, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &job), -EINVAL);
    spool_job_init_delete(&job, 0, on_tracked, NULL);
    assert_int_equal(spool_submit(f->spool, &job), -EINVAL);
    free(blob);

    /* bad configs */
    spool_t *s = NULL;
    spool_config_t cfg = f->config;
    cfg.map_size_max = cfg.map_size_initial - 1;
    assert_int_equal(spool_create(&cfg, &s), -EINVAL);
    cfg = f->config;
    cfg.upstream_count = SPOOL_UPSTREAMS_MAX + 1;
    assert_int_equal(spool_create(&cfg, &s), -EINVAL);
    cfg = f->config;
    cfg.dir = "/nonexistent-edge-dir/spool";
    assert_int_equal(spool_create(&cfg, &s), -ENOENT);
    assert_null(s);

    assert_string_equal(spool_strerror(0), "success");
    assert_string_equal(spool_strerror(-ENOENT), strerror(ENOENT));
    assert_non_null(strstr(spool_strerror(SPOOL_FULL), "full"));
    assert_non_null(strstr(spool_strerror(SPOOL_BUSY), "budget"));
}

/* spool_destroy commits what was queued before it, calling every callback. */
static void test_destroy_drains(void **state)
{
    fixture_t *f = *state;
    tracker_t t;
    tjob_t jobs[50];
    spool_stats_t stats;

    open_spool(f);
    tracker_init(&t);
    for (unsigned i = 0; i != 50; ++i) {
        tjob_put(&jobs[i], &t, i + 1, 3000);
        assert_int_equal(spool_submit(f->spool, &jobs[i].super), 0);
    }
    spool_destroy(f->spool);
    f->spool = NULL;
    assert_int_equal(t.done, 50);
    assert_int_equal(t.ok, 50);
    for (unsigned i = 0; i != 50; ++i)
        assert_int_equal(atomic_load(&jobs[i].calls), 1);
    open_spool(f);
    assert_int_equal(spool_stats(f->spool, &stats), 0);
    assert_int_equal(stats.count, 50);
    tracker_dispose(&t);
}

/* Looks every id of 1..n up by id; deleted ones (mask bit set) must be gone. */
static void expect_ids(fixture_t *f, unsigned n, uint32_t deleted_mask)
{
    char id[SPOOL_CRASH_ID_MAX + 1];
    spool_record_t rec;
    for (unsigned i = 1; i <= n; ++i) {
        id_of(id, i);
        int want = (deleted_mask >> i) & 1 ? SPOOL_NOT_FOUND : 0;
        assert_int_equal(spool_get(f->spool, id, 0, &rec), want);
        if (want == 0)
            assert_string_equal(rec.crash_id, id);
    }
}

/* New ids wait in memory and reach the index in merges: lookups and duplicates work throughout. */
static void test_buffered_ids_merge(void **state)
{
    fixture_t *f = *state;
    spool_job_t job;

    f->config.ids_merge_at = 4;
    open_spool(f);
    for (unsigned i = 1; i <= 10; ++i) {
        assert_int_equal(put(f, i, 10, NULL), 0);
        expect_ids(f, i, 0);
    }
    /* a duplicate is refused whether its id was merged (1) or is still in memory (10) */
    assert_int_equal(put(f, 1, 10, NULL), SPOOL_DUPLICATE);
    assert_int_equal(put(f, 10, 10, NULL), SPOOL_DUPLICATE);
    /* records leave the main table from the index and from memory */
    spool_job_init_delete(&job, 2, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    spool_job_init_delete(&job, 10, NULL, NULL);
    assert_int_equal(spool_submit_wait(f->spool, &job), 0);
    expect_ids(f, 10, (1u << 2) | (1u << 10));
    /* a removed id may come again */
    assert_int_equal(put(f, 10, 10, NULL), 0);
    reopen_spool(f);
    expect_ids(f, 10, 1u << 2);
    /* the index alone knows them after a clean stop: a direct writer (the CLI) sees them too */
    f->config.buffer_ids = 0;
    reopen_spool(f);
    expect_ids(f, 10, 1u << 2);
    assert_int_equal(put(f, 3, 10, NULL), SPOOL_DUPLICATE);
    assert_int_equal(put(f, 11, 10, NULL), 0);
    expect_ids(f, 11, 1u << 2);
}

/* A server killed before merging: its ids are rebuilt from the records at the next open. */
static void test_buffered_ids_after_kill(void **state)
{
    fixture_t *f = *state;
    int status;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child stores 5 crashes and dies without closing anything */
        if (spool_create(&f->config, &f->spool) != 0)
            _exit(2);
        for (unsigned i = 1; i <= 5; ++i) {
            char id[SPOOL_CRASH_ID_MAX + 1];
            spool_job_t job;
            id_of(id, i);
            spool_job_init_put(&job, id, make_blob(10, i), 10, NULL, NULL);
            if (spool_submit_wait(f->spool, &job) != 0)
                _exit(3);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* read-only, as the CLI opens a running server's spool */
    f->config.readonly = 1;
    open_spool(f);
    expect_ids(f, 5, 0);
    f->config.readonly = 0;
    reopen_spool(f);
    expect_ids(f, 5, 0);
    assert_int_equal(put(f, 4, 10, NULL), SPOOL_DUPLICATE);
    assert_int_equal(put(f, 6, 10, NULL), 0);
    expect_ids(f, 6, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_batch_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reschedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivered_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_rebuilt_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_damaged_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_max_fails_whole_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_budget_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffered_ids_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffered_ids_after_kill, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_reset();
    return rc;
}
