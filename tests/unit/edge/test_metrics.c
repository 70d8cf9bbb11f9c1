// SPDX-License-Identifier: MIT
/* Unit tests for edge/metrics: registration, atomic updates from threads, exposition format. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "edge/metrics.h"

static int teardown(void **state)
{
    metrics_reset();
    return 0;
}

static char *render(void)
{
    size_t len;
    char *text = metrics_render(&len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_counter_idempotent_registration(void **state)
{
    metrics_counter_t *a = metrics_counter("t_requests_total", "help", "route=\"x\"");
    metrics_counter_t *b = metrics_counter("t_requests_total", "help", "route=\"x\"");
    metrics_counter_t *c = metrics_counter("t_requests_total", "help", "route=\"y\"");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    metrics_counter_add(a, 5);
    metrics_counter_inc(b);
    assert_int_equal(metrics_counter_value(a), 6);
    assert_null(metrics_gauge("t_requests_total", "help", "route=\"x\"")); /* type clash */
    char *text = render();
    assert_non_null(strstr(text, "# HELP t_requests_total help\n# TYPE t_requests_total counter\n"));
    assert_non_null(strstr(text, "t_requests_total{route=\"x\"} 6\n"));
    assert_non_null(strstr(text, "t_requests_total{route=\"y\"} 0\n"));
    free(text);
}

static double seven(void *arg)
{
    return *(double *)arg;
}

static void test_gauges(void **state)
{
    metrics_gauge_t *g = metrics_gauge("t_gauge", "g", NULL);
    metrics_gauge_set(g, 2.5);
    metrics_gauge_add(g, -1);
    assert_true(metrics_gauge_value(g) == 1.5);
    static double value = 7;
    assert_int_equal(metrics_gauge_fn("t_fn", "f", "a=\"b\"", seven, &value), 0);
    assert_int_equal(metrics_gauge_fn("t_fn", "f", "a=\"b\"", seven, NULL), -EEXIST);
    char *text = render();
    assert_non_null(strstr(text, "t_gauge 1.5\n"));
    assert_non_null(strstr(text, "t_fn{a=\"b\"} 7\n"));
    free(text);
}

static void test_counter_fn(void **state)
{
    static double kept_elsewhere = 41;
    assert_int_equal(metrics_counter_fn("t_external_total", "x", "k=\"v\"", seven, &kept_elsewhere), 0);
    kept_elsewhere = 42;
    char *text = render();
    assert_non_null(strstr(text, "# TYPE t_external_total counter\nt_external_total{k=\"v\"} 42\n"));
    free(text);
    assert_int_equal(metrics_counter_fn("t_external_total", "x", "k=\"v\"", seven, NULL), -EEXIST);
}

static void test_histogram_cumulative(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    metrics_histogram_t *h = metrics_histogram("t_latency", "l", "r=\"a\"", bounds, 3);
    metrics_histogram_observe(h, 0.05);
    metrics_histogram_observe(h, 0.1); /* le is inclusive */
    metrics_histogram_observe(h, 5);
    metrics_histogram_observe(h, 50);
    char *text = render();
    assert_non_null(strstr(text, "# TYPE t_latency histogram\n"));
    assert_non_null(strstr(text, "t_latency_bucket{r=\"a\",le=\"0.1\"} 2\n"));
    assert_non_null(strstr(text, "t_latency_bucket{r=\"a\",le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "t_latency_bucket{r=\"a\",le=\"10\"} 3\n"));
    assert_non_null(strstr(text, "t_latency_bucket{r=\"a\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "t_latency_sum{r=\"a\"} 55.15\n"));
    assert_non_null(strstr(text, "t_latency_count{r=\"a\"} 4\n"));
    free(text);
}

#define HAMMER_THREADS 12 /* more threads than the registry has shards: some share one */
#define HAMMER_ROUNDS 100000

static const double hammer_bounds[] = {0.5, 2};

static void *hammer(void *arg)
{
    metrics_counter_t *c = metrics_counter("t_concurrent_total", "c", NULL);
    metrics_histogram_t *h = metrics_histogram("t_concurrent_seconds", "h", NULL, hammer_bounds, 2);
    for (int i = 0; i < HAMMER_ROUNDS; ++i) {
        metrics_counter_inc(c);
        metrics_histogram_observe(h, 1);
        metrics_gauge_add(arg, 1);
        metrics_gauge_add(arg, -1);
    }
    metrics_gauge_add(arg, 1);
    return NULL;
}

/* Every update from every thread counts exactly once, whichever shard it went to. */
static void test_concurrent_updates(void **state)
{
    metrics_gauge_t *g = metrics_gauge("t_threads", "t", NULL);
    pthread_t threads[HAMMER_THREADS];
    for (int i = 0; i < HAMMER_THREADS; ++i)
        assert_int_equal(pthread_create(&threads[i], NULL, hammer, g), 0);
    for (int i = 0; i < HAMMER_THREADS; ++i)
        pthread_join(threads[i], NULL);
    assert_int_equal(metrics_counter_value(metrics_counter("t_concurrent_total", "c", NULL)), HAMMER_THREADS * HAMMER_ROUNDS);
    assert_true(metrics_gauge_value(g) == HAMMER_THREADS);
    char *text = render();
    assert_non_null(strstr(text, "t_concurrent_seconds_bucket{le=\"0.5\"} 0\n"));
    assert_non_null(strstr(text, "t_concurrent_seconds_bucket{le=\"2\"} 1200000\n"));
    assert_non_null(strstr(text, "t_concurrent_seconds_sum 1200000\n"));
    assert_non_null(strstr(text, "t_concurrent_seconds_count 1200000\n"));
    free(text);
}

static void test_label_escape(void **state)
{
    char buf[32];
    assert_string_equal(metrics_label_escape("a\"b\\c\nd", buf, sizeof(buf)), "a\\\"b\\\\c\\nd");
    char tiny[4];
    metrics_label_escape("abcdef", tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void collect(const char *name, const char *labels, int is_counter, double value, void *arg)
{
    int *n = arg;
    if (strcmp(name, "t_each_total") == 0 && is_counter && value == 3)
        ++*n;
}

static void test_foreach(void **state)
{
    metrics_counter_add(metrics_counter("t_each_total", "e", NULL), 3);
    int n = 0;
    metrics_foreach(collect, &n);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_counter_idempotent_registration, teardown),
        cmocka_unit_test_teardown(test_gauges, teardown),
        cmocka_unit_test_teardown(test_counter_fn, teardown),
        cmocka_unit_test_teardown(test_histogram_cumulative, teardown),
        cmocka_unit_test_teardown(test_concurrent_updates, teardown),
        cmocka_unit_test_teardown(test_label_escape, teardown),
        cmocka_unit_test_teardown(test_foreach, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
