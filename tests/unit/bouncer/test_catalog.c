// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/catalog.c and catalog_json.c: the demo catalog and example rules,
 * validation errors with JSON paths, export/import round trip, mirror patches.
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

static char *read_source_file(const char *rel, size_t *len)
{
    const char *dir = getenv("EDGE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "../..", rel);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

static void test_demo_catalog(void **state)
{
    size_t len;
    char *json = read_source_file("data/catalog-demo.json", &len);
    catalog_t *cat = NULL;
    catalog_error_t err = {{0}};
    if (catalog_from_json(json, len, 0, &cat, &err) != 0)
        fail_msg("demo: %s", err.message);
    assert_int_equal(cat->num_products, 6);
    assert_int_equal(cat->num_oses, 9);
    assert_int_equal(cat->num_mirrors, 4);
    assert_int_equal(cat->products[0].id, 1); /* ids assigned */
    assert_int_equal(cat->locations[12].id, 13);
    assert_string_equal(cat->mirrors[3].countries[1], "AT");
    assert_non_null(catalog_find_product(cat, "FIREFOX-139.0-ssl"));
    assert_non_null(catalog_find_location(cat, "firefox-139.0-ssl", "WIN64"));
    catalog_destroy(cat);
    free(json);

    json = read_source_file("data/rules-example.json", &len);
    catalog_rule_t *rules;
    size_t n;
    if (catalog_rules_from_json(json, len, &rules, &n, &err) != 0)
        fail_msg("rules: %s", err.message);
    assert_int_equal(n, 4);
    assert_string_equal(rules[2].set_product, "firefox-esr115-latest-ssl");
    assert_int_equal(rules[2].final, 1);
    assert_string_equal(rules[3].ua_equals, "NSIS InetBgDL (Mozilla)");
    catalog_rules_free(rules, n);
    free(json);
}

static void test_errors(void **state)
{
    static const struct {
        const char *json;
        const char *message;
    } cases[] = {
        {"[", "line 1 column 1: ']' expected near end of file"},
        {"[]", "$: must be an object"},
        {"{\"prodcts\":[]}", "$.prodcts: unknown member"},
        {"{\"products\":{}}", "products: must be an array"},
        {"{\"products\":[{\"name\":\"a b\"}]}", "products[0].name: invalid product name (letters, digits, '-', '_', '.', '+', '~'; at most 255)"},
        {"{\"products\":[{\"name\":\"A\"},{\"name\":\"a\"}]}", "products[1].name: duplicate product name"},
        {"{\"products\":[{\"name\":\"A\",\"languages\":[\"en-US\",\"de\",\"en\\r\\n\"]}]}",
         "products[0].languages[2]: invalid language tag (letters, digits, '-'; at most 20)"},
        {"{\"products\":[{\"name\":\"A\",\"languages\":[\"de\",\"DE\"]}]}", "products[0].languages[1]: duplicate language"},
        {"{\"products\":[{\"name\":\"A\",\"ssl_only\":1}]}", "products[0].ssl_only: must be true or false"},
        {"{\"products\":[{\"name\":\"A\",\"wieght\":1}]}", "products[0].wieght: unknown member"},
        {"{\"oses\":[\"win\",\"WIN\"]}", "oses[1]: duplicate os name"},
        {"{\"products\":[{\"name\":\"A\"}],\"locations\":[{\"product\":\"B\",\"os\":\"win\",\"path\":\"/a\"}]}",
         "locations[0].product: no such product"},
        {"{\"products\":[{\"name\":\"A\"}],\"locations\":[{\"product\":\"A\",\"os\":\"beos\",\"path\":\"/a\"}]}",
         "locations[0].os: no such os"},
        {"{\"products\":[{\"name\":\"A\"}],\"locations\":[{\"product\":\"A\",\"os\":\"win\",\"path\":\"/a b\"}]}",
         "locations[0].path: must be a %-encoded path of visible ASCII (no spaces, '#', quotes), at most 2048"},
        {"{\"products\":[{\"name\":\"A\"}],\"locations\":[{\"product\":\"A\",\"os\":\"win\",\"path\":\"/a%zz\"}]}",
         "locations[0].path: must be a %-encoded path of visible ASCII (no spaces, '#', quotes), at most 2048"},
        {"{\"products\":[{\"name\":\"A\"}],\"locations\":[{\"product\":\"A\",\"os\":\"win\",\"path\":\"/a\"},"
         "{\"product\":\"a\",\"os\":\"WIN\",\"path\":\"/b\"}]}",
         "locations[1]: a location for this product and os already exists"},
        {"{\"products\":[{\"name\":\"A\"}],\"aliases\":[{\"alias\":\"a\",\"product\":\"A\"}]}", "aliases[0].alias: equals a product name"},
        {"{\"products\":[{\"name\":\"A\"}],\"aliases\":[{\"alias\":\"x\",\"product\":\"B\"}]}", "aliases[0].product: no such product"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\"},{\"name\":\"n\",\"base_url\":\"https://b/\"},"
         "{\"name\":\"o\",\"base_url\":\"https://c/\"},{\"name\":\"p\",\"base_url\":\"ftp://d/\"}]}",
         "mirrors[3].base_url: must start with http:// or https://"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\\r\\nX: y\"}]}",
         "mirrors[0].base_url: contains characters not allowed in a URL"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https:///x\"}]}", "mirrors[0].base_url: has no host"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\",\"weight\":-1}]}",
         "mirrors[0].weight: must be an integer from 0 to 1000000000"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\",\"countries\":[\"DEU\"]}]}",
         "mirrors[0].countries[0]: must be a two-letter code"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\",\"countries\":[\"d1\"]}]}",
         "mirrors[0].countries[0]: must be an ISO 3166 alpha-2 code"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\",\"continents\":[\"XX\"]}]}",
         "mirrors[0].continents[0]: must be one of AF AN AS EU NA OC SA"},
        {"{\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://a/\"},{\"name\":\"M\",\"base_url\":\"https://b/\"}]}",
         "mirrors[1].name: duplicate mirror name"},
        {"{\"rules\":[{\"name\":\"r\"}]}", "rules[0]: needs set_product or set_os"},
        {"{\"rules\":[{\"name\":\"r\",\"set_os\":\"win\",\"ua_contains\":[\"\"]}]}", "rules[0].ua_contains[0]: must be 1 to 512 characters"},
        {"{\"rules\":[{\"name\":\"r\",\"set_os\":\"win\",\"ua_regex\":\".*\"}]}", "rules[0].ua_regex: unknown member"},
        {"{\"products\":[{\"id\":3,\"name\":\"A\"},{\"id\":3,\"name\":\"B\"}]}", "products[1].id: duplicate id 3"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        catalog_t *cat = NULL;
        catalog_error_t err = {{0}};
        int rc = catalog_from_json(cases[i].json, strlen(cases[i].json), 0, &cat, &err);
        if (rc != -EINVAL || strcmp(err.message, cases[i].message) != 0)
            fail_msg("case %zu: rc %d message \"%s\", expected \"%s\"", i, rc, err.message, cases[i].message);
        assert_null(cat);
    }
}

static void test_round_trip(void **state)
{
    const char *doc = "{\"products\":[{\"name\":\"A\",\"ssl_only\":true,\"languages\":[\"en-US\"]},{\"id\":7,\"name\":\"B\",\"active\":false}],"
                      "\"oses\":[\"win\",\"Haiku\"],"
                      "\"locations\":[{\"product\":\"A\",\"os\":\"haiku\",\"path\":\"/a/:lang/x\"}],"
                      "\"aliases\":[{\"alias\":\"a-latest\",\"product\":\"A\"}],"
                      "\"mirrors\":[{\"name\":\"m\",\"base_url\":\"https://m.example/\",\"weight\":3,\"countries\":[\"fr\"],"
                      "\"continents\":[\"eu\"]}],"
                      "\"rules\":[{\"name\":\"r\",\"ua_contains\":[\"X\"],\"product_prefix\":[\"A\"],\"set_product\":\"B\"}],"
                      "\"health\":[{\"mirror\":\"m\",\"product\":\"A\",\"os\":\"HAIKU\",\"state\":\"absent\",\"checked_at\":5,"
                      "\"reason\":\"404\"}]}";
    catalog_t *cat = NULL, *again = NULL;
    char *out1 = NULL, *out2 = NULL;
    catalog_error_t err = {{0}};
    if (catalog_from_json(doc, strlen(doc), CATALOG_JSON_ACCEPT_HEALTH, &cat, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(cat->products[0].id, 8); /* above the largest given id */
    assert_string_equal(cat->oses[1], "haiku");
    assert_string_equal(cat->mirrors[0].countries[0], "FR");
    assert_string_equal(cat->rules[0].set_product, "b");
    assert_int_equal(cat->num_health, 1);
    assert_int_equal(catalog_to_json(cat, &out1), 0);
    if (catalog_from_json(out1, strlen(out1), CATALOG_JSON_ACCEPT_HEALTH, &again, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(catalog_to_json(again, &out2), 0);
    assert_string_equal(out1, out2);
    catalog_destroy(again);
    again = NULL;
    /* health is export-only by default */
    assert_int_equal(catalog_from_json(out1, strlen(out1), 0, &again, &err), 0);
    assert_int_equal(again->num_health, 0);
    catalog_destroy(again);
    free(out1);
    free(out2);
    catalog_destroy(cat);
}

static void test_mirror_patch(void **state)
{
    catalog_mirror_t m = {0, "m", "https://m.example/", 10, 1, NULL, 0, NULL, 0}, copy;
    catalog_error_t err = {{0}};
    assert_int_equal(catalog_mirror_copy(&copy, &m), 0);
    const char *p1 = "{\"weight\":0,\"enabled\":false,\"countries\":[\"de\"]}";
    assert_int_equal(catalog_mirror_patch(&copy, p1, strlen(p1), &err), 0);
    assert_int_equal(copy.weight, 0);
    assert_int_equal(copy.enabled, 0);
    assert_int_equal(copy.num_countries, 1);
    assert_string_equal(copy.countries[0], "DE");
    const char *p2 = "{\"base_url\":\"gopher://x/\"}";
    assert_int_equal(catalog_mirror_patch(&copy, p2, strlen(p2), &err), -EINVAL);
    assert_string_equal(err.message, "$.base_url: must start with http:// or https://");
    assert_string_equal(copy.base_url, "https://m.example/"); /* unchanged */
    const char *p3 = "{\"name\":\"other\"}";
    assert_int_equal(catalog_mirror_patch(&copy, p3, strlen(p3), &err), -EINVAL);
    assert_string_equal(err.message, "$.name: cannot be changed");
    catalog_mirror_dispose(&copy);
}

static void test_values(void **state)
{
    assert_true(catalog_lang_is_valid("ja-JP-mac", 9));
    assert_true(catalog_lang_is_valid("sat", 3));
    assert_false(catalog_lang_is_valid("", 0));
    assert_false(catalog_lang_is_valid("en_US", 5));
    assert_false(catalog_lang_is_valid("abcdefghijklmnopqrstu", 21));
    assert_null(catalog_base_url_check("http://a.example"));
    assert_non_null(catalog_base_url_check("https://a.example/?x=1"));
    assert_non_null(catalog_base_url_check("javascript:alert(1)"));
    catalog_health_state_t s;
    assert_int_equal(catalog_health_state_parse("absent", &s), 0);
    assert_int_equal(s, CATALOG_HEALTH_ABSENT);
    assert_int_equal(catalog_health_state_parse("bad", &s), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_catalog), cmocka_unit_test(test_errors), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_mirror_patch), cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
