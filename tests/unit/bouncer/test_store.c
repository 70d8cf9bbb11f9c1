// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/store*.c: a fresh store, every per-entity write and its domain
 * outcomes, whole-catalog replace, persistence across reopen, cascading deletes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "bouncer/catalog.h"
#include "bouncer/snapshot.h"
#include "bouncer/store.h"

typedef struct st_fixture_t {
    char dir[64];
    store_t *st;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/edge-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(store_open(f->dir, 0, &f->st), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char path[256];
    store_close(f->st);
    snprintf(path, sizeof(path), "%s/catalog/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/catalog/lock.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/catalog", f->dir);
    rmdir(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static catalog_t *load(fixture_t *f)
{
    catalog_t *cat = NULL;
    assert_int_equal(store_load(f->st, &cat), 0);
    return cat;
}

static void test_fresh(void **state)
{
    fixture_t *f = *state;
    catalog_t *cat = load(f);
    assert_int_equal(cat->num_oses, catalog_num_standard_oses);
    assert_true(catalog_has_os(cat, "win64-aarch64"));
    assert_int_equal(cat->num_products, 0);
    catalog_destroy(cat);
}

static void test_entities(void **state)
{
    fixture_t *f = *state;
    catalog_error_t err = {{0}};
    const char *langs[] = {"en-US", "de"}, *bad[] = {"en US"}, *more[] = {"fr", "DE"}, *del[] = {"de", "xx"}, *all[] = {"*"};
    uint32_t id = 0, lid = 0, mid = 0;
    int created = -1;
    char *s = NULL;

    /* products */
    assert_int_equal(store_product_add(f->st, "Firefox-1.0-SSL", 1, langs, 2, &id, &err), 0);
    assert_int_equal(id, 1);
    assert_int_equal(store_product_add(f->st, "firefox-1.0-ssl", 0, NULL, 0, NULL, &err), STORE_EXISTS);
    assert_int_equal(store_product_add(f->st, "Bad Name", 0, NULL, 0, NULL, &err), STORE_INVALID);
    assert_int_equal(store_product_add(f->st, "Other", 0, bad, 1, NULL, &err), STORE_INVALID);
    assert_int_equal(store_product_add(f->st, "Other", 0, NULL, 0, &id, &err), 0);
    assert_int_equal(id, 2);
    assert_int_equal(store_product_language_add(f->st, "FIREFOX-1.0-SSL", more, 2, &err), 0);
    assert_int_equal(store_product_language_add(f->st, "nope", more, 2, &err), STORE_NO_PRODUCT);
    assert_int_equal(store_product_language_add(f->st, "Other", bad, 1, &err), STORE_INVALID);
    assert_int_equal(store_product_language_delete(f->st, "Firefox-1.0-SSL", del, 2), 0);

    /* locations */
    assert_int_equal(store_location_add(f->st, "firefox-1.0-ssl", "win", "/f/:lang/setup.exe", &lid, &err), 0);
    assert_int_equal(lid, 1);
    assert_int_equal(store_location_add(f->st, "Firefox-1.0-SSL", "WIN", "/other", NULL, &err), STORE_EXISTS);
    assert_int_equal(store_location_add(f->st, "nope", "win", "/x", NULL, &err), STORE_NO_PRODUCT);
    assert_int_equal(store_location_add(f->st, "Other", "beos", "/x", NULL, &err), STORE_NO_OS);
    assert_int_equal(store_location_add(f->st, "Other", "win", "/x y", NULL, &err), STORE_INVALID);
    assert_int_equal(store_location_add(f->st, "Other", "win", "/other.exe", &lid, &err), 0);
    assert_int_equal(lid, 2);
    assert_int_equal(store_location_modify(f->st, "Other", "win", "/other2.exe", &err), 0);
    assert_int_equal(store_location_modify(f->st, "Other", "osx", "/x", &err), STORE_NO_LOCATION);
    assert_int_equal(store_os_add(f->st, "Haiku"), 0);
    assert_int_equal(store_os_add(f->st, "haiku"), STORE_EXISTS);
    assert_int_equal(store_location_add(f->st, "Other", "haiku", "/h", NULL, &err), 0);

    /* aliases */
    assert_int_equal(store_alias_set(f->st, "firefox-latest-ssl", "firefox-1.0-ssl", &created), 0);
    assert_int_equal(created, 1);
    assert_int_equal(store_alias_set(f->st, "firefox-latest-ssl", "Other", &created), 0);
    assert_int_equal(created, 0);
    assert_int_equal(store_alias_set(f->st, "x", "nope", NULL), STORE_NO_PRODUCT);
    assert_int_equal(store_alias_set(f->st, "OTHER", "Firefox-1.0-SSL", NULL), STORE_IS_PRODUCT);
    assert_int_equal(store_alias_set(f->st, "firefox-1.0-alias", "Firefox-1.0-SSL", NULL), 0);
    assert_int_equal(store_product_add(f->st, "Firefox-1.0-alias", 0, NULL, 0, NULL, &err), STORE_EXISTS);

    /* mirrors */
    catalog_mirror_t m = {0, "cdn", "https://cdn.example.net/pub/", 10, 1, NULL, 0, NULL, 0};
    assert_int_equal(store_mirror_add(f->st, &m, &mid, &err), 0);
    assert_int_equal(mid, 1);
    assert_int_equal(store_mirror_add(f->st, &m, NULL, &err), STORE_EXISTS);
    catalog_mirror_t badm = {0, "bad", "ftp://x/", 10, 1, NULL, 0, NULL, 0};
    assert_int_equal(store_mirror_add(f->st, &badm, NULL, &err), STORE_INVALID);
    assert_string_equal(err.message, "mirrors[0].base_url: must start with http:// or https://");
    const char *patch = "{\"weight\":42,\"continents\":[\"eu\"]}";
    assert_int_equal(store_mirror_patch(f->st, "CDN", patch, strlen(patch), &err), 0);
    assert_int_equal(store_mirror_patch(f->st, "none", patch, strlen(patch), &err), STORE_NO_MIRROR);
    assert_int_equal(store_mirror_patch(f->st, "cdn", "{\"weight\":\"x\"}", 14, &err), STORE_INVALID);

    /* rules */
    catalog_rule_t rule = {0};
    rule.name = "r";
    rule.set_os = "WIN64";
    assert_int_equal(store_rules_set(f->st, &rule, 1, &err), 0);
    rule.set_os = NULL;
    assert_int_equal(store_rules_set(f->st, &rule, 1, &err), STORE_INVALID);

    /* health */
    catalog_health_t h[2] = {{"cdn", "Firefox-1.0-SSL", "win", CATALOG_HEALTH_UNHEALTHY, 100, "HTTP 503"},
                             {"cdn", "other", "WIN", CATALOG_HEALTH_ABSENT, 101, NULL}};
    assert_int_equal(store_health_put(f->st, h, 2), 0);
    catalog_health_t hb = {"cdn", "Other", "osx", CATALOG_HEALTH_HEALTHY, 1, NULL};
    assert_int_equal(store_health_put(f->st, &hb, 1), STORE_NO_LOCATION);
    hb.mirror = "none";
    assert_int_equal(store_health_put(f->st, &hb, 1), STORE_NO_MIRROR);

    /* everything is there */
    catalog_t *cat = load(f);
    catalog_product_t *p = catalog_find_product(cat, "firefox-1.0-ssl");
    assert_non_null(p);
    assert_int_equal(p->ssl_only, 1);
    assert_int_equal(p->num_languages, 2); /* en-US, fr (de removed, DE not re-added twice) */
    assert_string_equal(p->languages[0], "en-US");
    assert_string_equal(p->languages[1], "fr");
    assert_string_equal(catalog_find_location(cat, "other", "win")->path, "/other2.exe");
    assert_int_equal(cat->num_aliases, 2);
    catalog_mirror_t *cm = catalog_find_mirror(cat, "cdn");
    assert_int_equal(cm->weight, 42);
    assert_string_equal(cm->continents[0], "EU");
    assert_int_equal(cat->num_rules, 1);
    assert_string_equal(cat->rules[0].set_os, "win64");
    assert_int_equal(cat->num_health, 2);
    snapshot_t *snap = NULL;
    assert_int_equal(snapshot_build(cat, &snap), 0);
    uint64_t avail, total;
    assert_int_equal(snapshot_uptake(snap, "firefox-latest-ssl", "win", &avail, &total), 0);
    assert_int_equal(avail, 0); /* "other" x win is absent on cdn */
    assert_int_equal(total, 42);
    snapshot_destroy(snap);
    catalog_destroy(cat);

    /* deletes cascade */
    assert_int_equal(store_product_language_delete(f->st, "Firefox-1.0-SSL", all, 1), 0);
    assert_int_equal(store_location_delete(f->st, 2, &s), 0);
    assert_string_equal(s, "/other2.exe");
    free(s);
    assert_int_equal(store_location_delete(f->st, 2, &s), STORE_NOT_FOUND);
    assert_null(s);
    assert_int_equal(store_product_delete(f->st, NULL, 1, &s), 0);
    assert_string_equal(s, "Firefox-1.0-SSL");
    free(s);
    assert_int_equal(store_product_delete(f->st, "firefox-1.0-ssl", 0, NULL), STORE_NOT_FOUND);
    assert_int_equal(store_alias_delete(f->st, "firefox-latest-ssl"), 0);
    assert_int_equal(store_alias_delete(f->st, "firefox-latest-ssl"), STORE_NOT_FOUND);
    assert_int_equal(store_mirror_delete(f->st, "cdn"), 0);
    assert_int_equal(store_mirror_delete(f->st, "cdn"), STORE_NO_MIRROR);
    cat = load(f);
    assert_int_equal(cat->num_products, 1);
    assert_int_equal(cat->num_locations, 1); /* Other x haiku */
    assert_int_equal(cat->num_aliases, 0);   /* firefox-1.0-alias went with its product */
    assert_int_equal(cat->num_mirrors, 0);
    assert_int_equal(cat->num_health, 0);
    catalog_destroy(cat);
    assert_string_equal(store_strerror(STORE_NO_OS), "no such os");
}

static void test_product_patch(void **state)
{
    fixture_t *f = *state;
    catalog_error_t err = {{0}};
    const char *langs[] = {"en-US"};
    char alias_too_long[CATALOG_NAME_MAX * 4];
    assert_int_equal(store_product_add(f->st, "Plain-1.0", 0, langs, 1, NULL, &err), 0);
    assert_int_equal(store_product_patch(f->st, "PLAIN-1.0", 1, -1), 0);
    catalog_t *cat = load(f);
    catalog_product_t *p = catalog_find_product(cat, "plain-1.0");
    assert_non_null(p);
    assert_string_equal(p->name, "Plain-1.0");
    assert_int_equal(p->ssl_only, 1);
    assert_int_equal(p->active, 1);
    assert_int_equal(p->num_languages, 1);
    assert_string_equal(p->languages[0], "en-US");
    catalog_destroy(cat);
    assert_int_equal(store_product_patch(f->st, "Plain-1.0", -1, 0), 0);
    assert_int_equal(store_product_patch(f->st, "Plain-1.0", -1, -1), 0);
    cat = load(f);
    p = catalog_find_product(cat, "Plain-1.0");
    assert_int_equal(p->ssl_only, 1);
    assert_int_equal(p->active, 0);
    catalog_destroy(cat);
    assert_int_equal(store_product_patch(f->st, "nope", 1, 1), STORE_NO_PRODUCT);
    /* a name too long for a key is simply unknown */
    memset(alias_too_long, 'a', sizeof(alias_too_long) - 1);
    alias_too_long[sizeof(alias_too_long) - 1] = '\0';
    assert_int_equal(store_product_patch(f->st, alias_too_long, 1, 1), STORE_NO_PRODUCT);
    assert_int_equal(store_alias_delete(f->st, alias_too_long), STORE_NOT_FOUND);
}

static void test_replace_and_reopen(void **state)
{
    fixture_t *f = *state;
    const char *doc = "{\"products\":[{\"name\":\"A\",\"languages\":[\"de\"]},{\"id\":9,\"name\":\"B\"}],"
                      "\"locations\":[{\"product\":\"A\",\"os\":\"win\",\"path\":\"/a\"}],"
                      "\"aliases\":[{\"alias\":\"a-latest\",\"product\":\"A\"}],"
                      "\"mirrors\":[{\"name\":\"m\",\"base_url\":\"http://m.example/\",\"countries\":[\"DE\"]}],"
                      "\"rules\":[{\"name\":\"r\",\"ua_equals\":\"x\",\"set_product\":\"a\"}]}";
    catalog_t *cat = NULL;
    catalog_error_t err = {{0}};
    uint32_t id;
    assert_int_equal(store_product_add(f->st, "Gone", 0, NULL, 0, NULL, &err), 0);
    assert_int_equal(catalog_from_json(doc, strlen(doc), 0, &cat, &err), 0);
    assert_int_equal(store_replace(f->st, cat, &err), 0);
    catalog_destroy(cat);
    /* ids continue above the imported ones */
    assert_int_equal(store_product_add(f->st, "C", 0, NULL, 0, &id, &err), 0);
    assert_int_equal(id, 11);

    store_close(f->st);
    assert_int_equal(store_open(f->dir, 0, &f->st), 0);
    cat = load(f);
    assert_int_equal(cat->num_products, 3);
    assert_null(catalog_find_product(cat, "Gone"));
    assert_int_equal(catalog_find_product(cat, "b")->id, 9);
    assert_int_equal(cat->num_rules, 1);
    assert_string_equal(cat->mirrors[0].countries[0], "DE");
    char *json = NULL;
    assert_int_equal(catalog_to_json(cat, &json), 0);
    assert_non_null(strstr(json, "\"a-latest\""));
    free(json);

    /* an invalid replacement changes nothing */
    catalog_location_t bad = {0, "A", "win", "/dup"};
    assert_int_equal(catalog_add_location(cat, &bad), 0);
    assert_int_equal(store_replace(f->st, cat, &err), STORE_INVALID);
    assert_string_equal(err.message, "locations[1]: a location for this product and os already exists");
    catalog_destroy(cat);
    cat = load(f);
    assert_int_equal(cat->num_locations, 1);
    catalog_destroy(cat);
}

/* Resident kB of this process's mappings of the store's data file (smaps). */
static long mapped_rss_kb(const fixture_t *f)
{
    char want[128], line[512];
    long total = 0;
    int in_file = 0;
    snprintf(want, sizeof(want), "%s/catalog/data.mdb", f->dir);
    FILE *smaps = fopen("/proc/self/smaps", "r");
    assert_non_null(smaps);
    while (fgets(line, sizeof(line), smaps) != NULL) {
        unsigned long a, b;
        long kb;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2)
            in_file = strstr(line, want) != NULL;
        else if (in_file && sscanf(line, "Rss: %ld kB", &kb) == 1)
            total += kb;
    }
    fclose(smaps);
    return total;
}

/* A load reads the whole map, then hands its pages back: the catalog is not part of edge's RSS. */
static void test_load_leaves_map_unresident(void **state)
{
    fixture_t *f = *state;
    catalog_error_t err = {{0}};
    char name[32];
    for (int i = 0; i != 2000; ++i) {
        snprintf(name, sizeof(name), "Product-%d", i);
        assert_int_equal(store_product_add(f->st, name, 0, NULL, 0, NULL, &err), 0);
    }
    catalog_t *cat = load(f);
    assert_int_equal(cat->num_products, 2000);
    catalog_destroy(cat);
    assert_int_equal(mapped_rss_kb(f), 0);
    /* and the map still reads correctly afterwards */
    cat = load(f);
    assert_non_null(catalog_find_product(cat, "Product-1999"));
    catalog_destroy(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_product_patch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_leaves_map_unresident, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
