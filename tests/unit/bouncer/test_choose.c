// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/choose.c: weight proportionality (statistical), weight 0, health
 * classes with fail-open, geography tiers and restricted mirrors. Every choice is also made
 * through one choose_memo that lives across all tests, and must be the same.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bouncer/catalog.h"
#include "bouncer/choose.h"
#include "bouncer/snapshot.h"

/* Builds a snapshot with product P (not ssl-only), os win, one location, the given mirrors and health. */
static snapshot_t *build(const char *mirrors_json, const char *health_json)
{
    char doc[8192];
    catalog_t *cat = NULL;
    catalog_error_t err = {{0}};
    snapshot_t *snap = NULL;
    snprintf(doc, sizeof(doc),
             "{\"products\":[{\"name\":\"P\"}],\"locations\":[{\"product\":\"P\",\"os\":\"win\",\"path\":\"/p\"}],"
             "\"mirrors\":%s,\"health\":%s}",
             mirrors_json, health_json != NULL ? health_json : "[]");
    if (catalog_from_json(doc, strlen(doc), CATALOG_JSON_ACCEPT_HEALTH, &cat, &err) != 0)
        fail_msg("catalog: %s", err.message);
    assert_int_equal(snapshot_build(cat, &snap), 0);
    catalog_destroy(cat);
    return snap;
}

static choose_memo_t *memo; /* lives across the tests: entries of destroyed snapshots must never be used */

/* mirror_choose(), checked against mirror_choose_memo() with the same arguments (a miss or a hit). */
static int pick(const snapshot_t *snap, int https, const char *country, const char *continent, int fail_open, double r,
                mirror_choice_t *c)
{
    mirror_client_t client = {country, continent};
    mirror_choice_t m;
    int ret = mirror_choose(snap, 0, https, &client, fail_open, r, c);
    if (memo == NULL)
        assert_non_null(memo = choose_memo_create());
    for (int i = 0; i != 2; ++i) {
        assert_int_equal(mirror_choose_memo(memo, snap, 0, https, &client, fail_open, r, &m), ret);
        assert_int_equal(m.mirror, c->mirror);
        assert_ptr_equal(m.name, c->name);
        assert_ptr_equal(m.base_url, c->base_url);
        assert_int_equal(m.tier, c->tier);
        assert_int_equal(m.healthy, c->healthy);
    }
    return ret;
}

static void test_weights(void **state)
{
    snapshot_t *snap = build("[{\"name\":\"a\",\"base_url\":\"http://a.example/\",\"weight\":1},"
                             "{\"name\":\"b\",\"base_url\":\"http://b.example/\",\"weight\":2},"
                             "{\"name\":\"zero\",\"base_url\":\"http://z.example/\",\"weight\":0},"
                             "{\"name\":\"c\",\"base_url\":\"http://c.example/\",\"weight\":7}]",
                             NULL);
    size_t counts[4] = {0};
    const size_t n = 100000;
    uint64_t x = 88172645463325252ull; /* xorshift64: deterministic */
    for (size_t i = 0; i != n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double r = (double)(x >> 11) / 9007199254740992.0;
        mirror_choice_t c;
        assert_int_equal(pick(snap, 0, "", "", 1, r, &c), 0);
        assert_true(c.mirror < 4);
        ++counts[c.mirror];
    }
    assert_int_equal(counts[2], 0);
    double sa = (double)counts[0] / n, sb = (double)counts[1] / n, sc = (double)counts[3] / n;
    assert_true(sa > 0.09 && sa < 0.11);
    assert_true(sb > 0.19 && sb < 0.21);
    assert_true(sc > 0.69 && sc < 0.71);

    /* exact boundaries: r maps to floor(r * 10) weight units */
    mirror_choice_t c;
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.0, &c), 0);
    assert_string_equal(c.name, "a");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.0999, &c), 0);
    assert_string_equal(c.name, "a");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.1, &c), 0);
    assert_string_equal(c.name, "b");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.2999, &c), 0);
    assert_string_equal(c.name, "b");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.3, &c), 0);
    assert_string_equal(c.name, "c");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.999999, &c), 0);
    assert_string_equal(c.name, "c");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 1.5, &c), 0); /* clamped */
    assert_string_equal(c.name, "c");
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, -3, &c), 0);
    assert_string_equal(c.name, "a");
    assert_int_equal(c.tier, MIRROR_TIER_ANY);
    assert_int_equal(c.healthy, 1);
    /* no https mirror at all */
    assert_int_equal(pick(snap, 1, NULL, NULL, 1, 0.5, &c), -ENOENT);
    snapshot_destroy(snap);
}

static void test_only_zero_weights(void **state)
{
    snapshot_t *snap = build("[{\"name\":\"z\",\"base_url\":\"http://z.example/\",\"weight\":0}]", NULL);
    mirror_choice_t c;
    assert_int_equal(pick(snap, 0, NULL, NULL, 1, 0.5, &c), -ENOENT);
    snapshot_destroy(snap);
}

static void test_health(void **state)
{
    const char *mirrors = "[{\"name\":\"a\",\"base_url\":\"https://a.example/\",\"weight\":5},"
                          "{\"name\":\"b\",\"base_url\":\"https://b.example/\",\"weight\":5},"
                          "{\"name\":\"off\",\"base_url\":\"https://off.example/\",\"weight\":5,\"enabled\":false}]";
    mirror_choice_t c;

    /* a unhealthy: only b is chosen, whatever r */
    snapshot_t *snap = build(mirrors, "[{\"mirror\":\"a\",\"product\":\"P\",\"os\":\"win\",\"state\":\"unhealthy\"}]");
    for (double r = 0; r < 1; r += 0.05) {
        assert_int_equal(pick(snap, 1, NULL, NULL, 1, r, &c), 0);
        assert_string_equal(c.name, "b");
        assert_int_equal(c.healthy, 1);
    }
    snapshot_destroy(snap);

    /* a unhealthy, b absent: fail open to a; never b; disabled never */
    snap = build(mirrors, "[{\"mirror\":\"a\",\"product\":\"P\",\"os\":\"win\",\"state\":\"unhealthy\"},"
                          "{\"mirror\":\"b\",\"product\":\"p\",\"os\":\"WIN\",\"state\":\"absent\"}]");
    for (double r = 0; r < 1; r += 0.05) {
        assert_int_equal(pick(snap, 1, NULL, NULL, 1, r, &c), 0);
        assert_string_equal(c.name, "a");
        assert_int_equal(c.healthy, 0);
    }
    assert_int_equal(pick(snap, 1, NULL, NULL, 0, 0.5, &c), -ENOENT); /* fail closed */
    snapshot_destroy(snap);

    /* both absent: nothing, even failing open */
    snap = build(mirrors, "[{\"mirror\":\"a\",\"product\":\"P\",\"os\":\"win\",\"state\":\"absent\"},"
                          "{\"mirror\":\"b\",\"product\":\"P\",\"os\":\"win\",\"state\":\"absent\"}]");
    assert_int_equal(pick(snap, 1, NULL, NULL, 1, 0.5, &c), -ENOENT);
    snapshot_destroy(snap);
}

static void test_geo(void **state)
{
    snapshot_t *snap = build("[{\"name\":\"any\",\"base_url\":\"http://any.example/\",\"weight\":1},"
                             "{\"name\":\"eu\",\"base_url\":\"http://eu.example/\",\"weight\":1,\"continents\":[\"EU\"]},"
                             "{\"name\":\"de\",\"base_url\":\"http://de.example/\",\"weight\":1,\"countries\":[\"de\",\"AT\"]},"
                             "{\"name\":\"jp\",\"base_url\":\"http://jp.example/\",\"weight\":1,\"countries\":[\"JP\"],\"continents\":[\"OC\"]}]",
                             NULL);
    mirror_choice_t c;
    for (double r = 0; r < 1; r += 0.1) {
        /* same country beats continent and anywhere */
        assert_int_equal(pick(snap, 0, "DE", "EU", 1, r, &c), 0);
        assert_string_equal(c.name, "de");
        assert_int_equal(c.tier, MIRROR_TIER_COUNTRY);
        assert_int_equal(pick(snap, 0, "at", "eu", 1, r, &c), 0);
        assert_string_equal(c.name, "de");
        /* same continent beats anywhere */
        assert_int_equal(pick(snap, 0, "FR", "EU", 1, r, &c), 0);
        assert_string_equal(c.name, "eu");
        assert_int_equal(c.tier, MIRROR_TIER_CONTINENT);
        /* a country- or continent-restricted mirror serves no one else */
        assert_int_equal(pick(snap, 0, "US", "NA", 1, r, &c), 0);
        assert_string_equal(c.name, "any");
        assert_int_equal(c.tier, MIRROR_TIER_ANY);
        /* unknown client location: unrestricted mirrors only */
        assert_int_equal(pick(snap, 0, "", "", 1, r, &c), 0);
        assert_string_equal(c.name, "any");
        assert_int_equal(pick(snap, 0, NULL, NULL, 1, r, &c), 0);
        assert_string_equal(c.name, "any");
        /* country match or continent match for a mirror with both */
        assert_int_equal(pick(snap, 0, "JP", "AS", 1, r, &c), 0);
        assert_string_equal(c.name, "jp");
        assert_int_equal(pick(snap, 0, "AU", "OC", 1, r, &c), 0);
        assert_string_equal(c.name, "jp");
        assert_int_equal(c.tier, MIRROR_TIER_CONTINENT);
    }
    snapshot_destroy(snap);

    /* a healthy far mirror beats an unhealthy near one */
    snap = build("[{\"name\":\"any\",\"base_url\":\"http://any.example/\",\"weight\":1},"
                 "{\"name\":\"de\",\"base_url\":\"http://de.example/\",\"weight\":1,\"countries\":[\"DE\"]}]",
                 "[{\"mirror\":\"de\",\"product\":\"P\",\"os\":\"win\",\"state\":\"unhealthy\"}]");
    assert_int_equal(pick(snap, 0, "DE", "EU", 1, 0.7, &c), 0);
    assert_string_equal(c.name, "any");
    snapshot_destroy(snap);

    /* only restricted mirrors and a client elsewhere: no mirror */
    snap = build("[{\"name\":\"de\",\"base_url\":\"http://de.example/\",\"weight\":1,\"countries\":[\"DE\"]}]", NULL);
    assert_int_equal(pick(snap, 0, "US", "NA", 1, 0.7, &c), -ENOENT);
    assert_string_equal(mirror_tier_name(MIRROR_TIER_COUNTRY), "country");
    snapshot_destroy(snap);
}

/* Many mirrors, mixed restrictions and health: the memo's choice is mirror_choose's for every client and draw. */
static void test_memo_matches(void **state)
{
    char mirrors[16384], health[16384];
    size_t m = 0, h = 0;
    static const char *const countries[] = {"DE", "FR", "US", "JP", "BR", "AU", "ZA", "IN"};
    static const char *const continents[] = {"EU", "EU", "NA", "AS", "SA", "OC", "AF", "AS"};
    m += (size_t)snprintf(mirrors + m, sizeof(mirrors) - m, "[");
    h += (size_t)snprintf(health + h, sizeof(health) - h, "[");
    for (int i = 0; i != 90; ++i) {
        const char *restrict_to = i % 3 == 1 ? ",\"countries\":[\"%s\"]" : i % 6 == 2 ? ",\"continents\":[\"%s\"]" : "";
        char extra[64];
        snprintf(extra, sizeof(extra), restrict_to, i % 3 == 1 ? countries[i % 8] : continents[i % 8]);
        m += (size_t)snprintf(mirrors + m, sizeof(mirrors) - m, "%s{\"name\":\"m%d\",\"base_url\":\"%s://m%d.example/\",\"weight\":%d%s}",
                              i != 0 ? "," : "", i, i % 2 ? "https" : "http", i, (i * 37) % 50, extra);
        if (i % 5 == 0)
            h += (size_t)snprintf(health + h, sizeof(health) - h, "%s{\"mirror\":\"m%d\",\"product\":\"P\",\"os\":\"win\",\"state\":\"%s\"}",
                                  h > 1 ? "," : "", i, i % 10 == 0 ? "unhealthy" : "absent");
    }
    snprintf(mirrors + m, sizeof(mirrors) - m, "]");
    snprintf(health + h, sizeof(health) - h, "]");
    snapshot_t *snap = build(mirrors, health);
    mirror_choice_t c;
    int chosen = 0;
    for (int round = 0; round != 3; ++round)
        for (size_t k = 0; k != 9; ++k)
            for (int https = 0; https != 2; ++https)
                for (double r = 0; r < 1; r += 0.0625)
                    chosen += pick(snap, https, k < 8 ? countries[k] : "", k < 8 ? continents[k] : NULL, round == 1, r, &c) == 0;
    assert_true(chosen > 0);
    /* more clients than the memo has entries: keys share entries and must still be told apart */
    for (char a = 'A'; a <= 'Z'; ++a)
        for (char b = 'A'; b <= 'Z'; ++b)
            for (double r = 0.1; r < 1; r += 0.4) {
                char country[3] = {a, b, '\0'};
                pick(snap, (a + b) % 2, country, continents[(a * 26 + b) % 8], 1, r, &c);
            }
    snapshot_destroy(snap);

    /* a new snapshot (likely at the old one's address, same list length) where the health changed */
    const char *two = "[{\"name\":\"a\",\"base_url\":\"http://a.example/\",\"weight\":5},"
                      "{\"name\":\"b\",\"base_url\":\"http://b.example/\",\"weight\":5}]";
    for (int i = 0; i != 4; ++i) {
        snap = build(two, i % 2 ? "[{\"mirror\":\"a\",\"product\":\"P\",\"os\":\"win\",\"state\":\"unhealthy\"}]" : NULL);
        assert_int_equal(pick(snap, 0, "DE", "EU", 1, 0.1, &c), 0);
        assert_string_equal(c.name, i % 2 ? "b" : "a");
        snapshot_destroy(snap);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_only_zero_weights),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_geo),
        cmocka_unit_test(test_memo_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
