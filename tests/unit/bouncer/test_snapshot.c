// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/snapshot.c: lookups, shared candidate lists, uptake, a large build,
 * and publication under concurrent readers (run under ASan: a snapshot freed while a reader
 * holds it would be a use-after-free).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "bouncer/catalog.h"
#include "bouncer/resolve.h"
#include "bouncer/snapshot.h"

static snapshot_t *from_json(const char *doc)
{
    catalog_t *cat = NULL;
    catalog_error_t err = {{0}};
    snapshot_t *snap = NULL;
    if (catalog_from_json(doc, strlen(doc), CATALOG_JSON_ACCEPT_HEALTH, &cat, &err) != 0)
        fail_msg("catalog: %s", err.message);
    assert_int_equal(snapshot_build(cat, &snap), 0);
    catalog_destroy(cat);
    return snap;
}

static void test_uptake(void **state)
{
    snapshot_t *snap = from_json(
        "{\"products\":[{\"name\":\"S\",\"ssl_only\":true},{\"name\":\"P\"}],"
        "\"locations\":[{\"product\":\"S\",\"os\":\"win\",\"path\":\"/s\"},{\"product\":\"P\",\"os\":\"win\",\"path\":\"/p\"}],"
        "\"aliases\":[{\"alias\":\"s-latest\",\"product\":\"S\"}],"
        "\"mirrors\":[{\"name\":\"h1\",\"base_url\":\"https://h1.example/\",\"weight\":10},"
        "{\"name\":\"h2\",\"base_url\":\"https://h2.example/\",\"weight\":20},"
        "{\"name\":\"h3\",\"base_url\":\"https://h3.example/\",\"weight\":40},"
        "{\"name\":\"off\",\"base_url\":\"https://off.example/\",\"weight\":1000,\"enabled\":false},"
        "{\"name\":\"p1\",\"base_url\":\"http://p1.example/\",\"weight\":5}],"
        "\"health\":[{\"mirror\":\"h2\",\"product\":\"S\",\"os\":\"win\",\"state\":\"unhealthy\",\"checked_at\":1,\"reason\":\"503\"},"
        "{\"mirror\":\"h3\",\"product\":\"S\",\"os\":\"win\",\"state\":\"absent\"},"
        "{\"mirror\":\"p1\",\"product\":\"P\",\"os\":\"win\",\"state\":\"healthy\"}]}");
    uint64_t avail, total;
    assert_int_equal(snapshot_uptake(snap, "s", "WIN", &avail, &total), 0);
    assert_int_equal(avail, 10);
    assert_int_equal(total, 70);
    assert_int_equal(snapshot_uptake(snap, "S-LATEST", "win", &avail, &total), 0);
    assert_int_equal(avail, 10);
    assert_int_equal(snapshot_uptake(snap, "P", "win", &avail, &total), 0);
    assert_int_equal(avail, 75);
    assert_int_equal(total, 75);
    assert_int_equal(snapshot_uptake(snap, "P", "osx", &avail, &total), -ENOENT);
    assert_int_equal(snapshot_uptake(snap, "nope", "win", &avail, &total), -ENOENT);

    assert_int_equal(snapshot_num_products(snap), 2);
    assert_int_equal(snapshot_num_locations(snap), 2);
    assert_int_equal(snapshot_num_mirrors(snap), 5);
    const char *p, *o;
    snapshot_location_names(snap, 1, &p, &o);
    assert_string_equal(p, "P");
    assert_string_equal(o, "win");
    assert_true(snapshot_built_at(snap) > 1700000000LL * 1000000);
    assert_int_equal(snapshot_version(snap), 0);
    snapshot_destroy(snap);
    snapshot_destroy(NULL);
}

/* A large catalog: 50,000 products x 2 OSes, 100 mirrors, some health records. */
static catalog_t *big_catalog(size_t nproducts, size_t nmirrors)
{
    catalog_t *cat = catalog_create();
    char name[64], path[128], *langs[] = {"en-US", "de", "fr", "ja", "es-AR"};
    assert_non_null(cat);
    assert_int_equal(catalog_add_standard_oses(cat), 0);
    for (size_t i = 0; i != nproducts; ++i) {
        snprintf(name, sizeof(name), "Product-%zu-SSL", i);
        catalog_product_t p = {0, name, (int)(i & 1), 1, langs, 5};
        assert_int_equal(catalog_add_product(cat, &p), 0);
        for (int os = 0; os != 2; ++os) {
            snprintf(path, sizeof(path), "/product/%zu/%s/:lang/setup.exe", i, os ? "win64" : "win");
            catalog_location_t l = {0, name, os ? "win64" : "win", path};
            assert_int_equal(catalog_add_location(cat, &l), 0);
        }
    }
    for (size_t i = 0; i != nmirrors; ++i) {
        char mname[32], url[64];
        snprintf(mname, sizeof(mname), "m%zu", i);
        snprintf(url, sizeof(url), "%s://m%zu.example.net/pub/", i & 1 ? "http" : "https", i);
        catalog_mirror_t m = {0, mname, url, (uint32_t)(i + 1), 1, NULL, 0, NULL, 0};
        assert_int_equal(catalog_add_mirror(cat, &m), 0);
    }
    for (size_t i = 0; i != 1000; ++i) {
        char mname[32];
        snprintf(mname, sizeof(mname), "m%zu", i % nmirrors);
        snprintf(name, sizeof(name), "Product-%zu-SSL", (i * 37) % nproducts);
        catalog_health_t h = {mname, name, "win", i % 3 == 0 ? CATALOG_HEALTH_ABSENT : CATALOG_HEALTH_UNHEALTHY, 0, "test"};
        assert_int_equal(catalog_add_health(cat, &h), 0);
    }
    catalog_error_t err;
    if (catalog_validate(cat, &err) != 0)
        fail_msg("%s", err.message);
    return cat;
}

static void test_big_build(void **state)
{
    catalog_t *cat = big_catalog(50000, 100);
    snapshot_t *snap = NULL;
    assert_int_equal(snapshot_build(cat, &snap), 0);
    catalog_destroy(cat);
    /* generous bound: sanitizers slow this build several times */
    assert_true(snapshot_build_usec(snap) < 5 * 1000000);
    assert_int_equal(snapshot_num_locations(snap), 100000);
    uint64_t avail, total;
    assert_int_equal(snapshot_uptake(snap, "product-49999-ssl", "win64", &avail, &total), 0);
    assert_int_equal(avail, total);
    snapshot_destroy(snap);
}

/* ---- concurrency ---- */

typedef struct st_shared_t {
    snapshot_holder_t *holder;
    atomic_int stop;
    atomic_long reads;
    resolve_config_t cfg;
} shared_t;

static void *reader_main(void *arg)
{
    shared_t *s = arg;
    snapshot_reader_t *r = snapshot_reader_register(s->holder);
    char buf[RESOLVE_BUF_SIZE];
    long n = 0, bad = 0;
    if (r == NULL)
        return (void *)1;
    while (!atomic_load(&s->stop)) {
        const snapshot_t *snap = snapshot_acquire(r);
        if (snap != NULL) {
            resolve_input_t in = {.config = &s->cfg, .query = "product=p&os=win", .query_len = 16, .https = 1, .random = 0.5};
            resolve_output_t out;
            if (resolve_request(snap, &in, &out, buf, sizeof(buf)) != 0 || out.outcome != RESOLVE_REDIRECT ||
                memcmp(out.url, "https://m.example/v", 19) != 0)
                ++bad;
            /* touch the mirror name to catch a freed snapshot */
            if (out.mirror == NULL || out.mirror[0] != 'm')
                ++bad;
            ++n;
        }
        snapshot_release(r);
    }
    snapshot_reader_unregister(r);
    atomic_fetch_add(&s->reads, n);
    return (void *)(intptr_t)(bad != 0);
}

static snapshot_t *small_snapshot(int version)
{
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"products\":[{\"name\":\"P\"}],\"locations\":[{\"product\":\"P\",\"os\":\"win\",\"path\":\"/v%d/file\"}],"
             "\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://m.example/\",\"weight\":1}]}",
             version);
    return from_json(doc);
}

static void test_concurrent_publish(void **state)
{
    shared_t s = {.holder = snapshot_holder_create()};
    pthread_t threads[3];
    assert_non_null(s.holder);
    atomic_init(&s.stop, 0);
    atomic_init(&s.reads, 0);
    assert_int_equal(snapshot_current_version(s.holder), 0);
    assert_int_equal(snapshot_publish(s.holder, small_snapshot(0)), 1);
    for (int i = 0; i != 3; ++i)
        assert_int_equal(pthread_create(threads + i, NULL, reader_main, &s), 0);
    for (int i = 1; i <= 1000; ++i)
        assert_int_equal(snapshot_publish(s.holder, small_snapshot(i)), (uint64_t)i + 1);
    atomic_store(&s.stop, 1);
    for (int i = 0; i != 3; ++i) {
        void *bad;
        assert_int_equal(pthread_join(threads[i], &bad), 0);
        assert_null(bad);
    }
    assert_true(atomic_load(&s.reads) > 0);
    assert_int_equal(snapshot_current_version(s.holder), 1001);
    snapshot_reclaim(s.holder);

    /* a reader holding an old snapshot keeps it alive across publishes */
    snapshot_reader_t *r = snapshot_reader_register(s.holder);
    const snapshot_t *held = snapshot_acquire(r);
    assert_int_equal(snapshot_version(held), 1001);
    snapshot_publish(s.holder, small_snapshot(2000));
    snapshot_publish(s.holder, small_snapshot(2001));
    assert_int_equal(snapshot_version(held), 1001); /* ASan would flag a freed snapshot */
    snapshot_release(r);
    snapshot_reclaim(s.holder);
    assert_int_equal(snapshot_version(snapshot_acquire(r)), 1003);
    snapshot_release(r);
    snapshot_reader_unregister(r);
    snapshot_holder_destroy(s.holder);
    snapshot_holder_destroy(NULL);
}

static void test_reader_slots(void **state)
{
    snapshot_holder_t *h = snapshot_holder_create();
    snapshot_reader_t *readers[SNAPSHOT_MAX_READERS];
    for (int i = 0; i != SNAPSHOT_MAX_READERS; ++i)
        assert_non_null(readers[i] = snapshot_reader_register(h));
    assert_null(snapshot_reader_register(h));
    assert_null(snapshot_acquire(readers[0])); /* nothing published yet */
    snapshot_release(readers[0]);
    snapshot_reader_unregister(readers[5]);
    assert_ptr_equal(snapshot_reader_register(h), readers[5]);
    for (int i = 0; i != SNAPSHOT_MAX_READERS; ++i)
        snapshot_reader_unregister(readers[i]);
    snapshot_holder_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uptake),
        cmocka_unit_test(test_big_build),
        cmocka_unit_test(test_concurrent_publish),
        cmocka_unit_test(test_reader_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
