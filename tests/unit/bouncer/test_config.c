// SPDX-License-Identifier: MIT
/* Unit tests for bouncer/config: defaults, every kind of value, and errors naming file:line:key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bouncer/config.h"

static conf_doc_t *parse_doc(const char *text)
{
    conf_error_t err;
    conf_doc_t *doc = conf_doc_parse(text, strlen(text), "t.yaml", "/etc/edge", &err);
    assert_non_null(doc);
    return doc;
}

static void expect_error(const char *text, const char *message)
{
    conf_doc_t *doc = parse_doc(text);
    bouncer_config_t *c = NULL;
    conf_error_t err;
    if (bouncer_config_parse(conf_get(doc->root, "bouncer"), &c, &err) != -1)
        fail_msg("accepted: %s", text);
    assert_null(c);
    if (strstr(err.msg, message) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", message, err.msg);
    conf_doc_destroy(doc);
}

static void test_defaults(void **state)
{
    conf_doc_t *doc = parse_doc("bouncer: {}\n");
    bouncer_config_t *c = NULL;
    conf_error_t err;
    assert_int_equal(bouncer_config_parse(conf_get(doc->root, "bouncer"), &c, &err), 0);
    assert_string_equal(c->prefix, "/");
    assert_string_equal(c->landing_url, "https://www.mozilla.org/");
    assert_null(c->stub_root_url);
    assert_null(c->attribution_key);
    assert_int_equal(c->cache_max_age, 60);
    assert_int_equal(c->fail_open, 1);
    assert_null(c->geoip_database);
    assert_non_null(c->trusted_proxies);
    assert_string_equal(c->mirror_header, "X-Edge-Mirror");
    assert_non_null(c->health_check);
    bouncer_config_destroy(c);
    conf_doc_destroy(doc);
}

static void test_values(void **state)
{
    conf_doc_t *doc = parse_doc("bouncer:\n"
                                "  prefix: /download\n"
                                "  landing_url: https://example.org/\n"
                                "  stub_root_url: https://stubdownloader.example.org/\n"
                                "  attribution_key: s3cret\n"
                                "  cache_max_age: 5m\n"
                                "  fail_open: false\n"
                                "  geoip_database: geo/db.mmdb\n"
                                "  trusted_proxies: ['10.0.0.0/8', '::1']\n"
                                "  https_pin_header: 'X-Forwarded-Proto: https'\n"
                                "  mirror_header: ''\n"
                                "  seed_catalog: seed.json\n");
    bouncer_config_t *c = NULL;
    conf_error_t err;
    assert_int_equal(bouncer_config_parse(conf_get(doc->root, "bouncer"), &c, &err), 0);
    assert_string_equal(c->prefix, "/download");
    assert_string_equal(c->landing_url, "https://example.org/");
    assert_string_equal(c->stub_root_url, "https://stubdownloader.example.org/");
    assert_int_equal(c->attribution_key_len, 6);
    assert_memory_equal(c->attribution_key, "s3cret", 6);
    assert_int_equal(c->cache_max_age, 300);
    assert_int_equal(c->fail_open, 0);
    assert_string_equal(c->geoip_database, "/etc/edge/geo/db.mmdb"); /* relative to the config file */
    assert_int_equal(clientaddr_list_size(c->trusted_proxies), 2);
    assert_string_equal(c->pin_name, "x-forwarded-proto"); /* header names compare lower-cased */
    assert_null(c->mirror_header);
    assert_string_equal(c->seed_catalog, "/etc/edge/seed.json");
    bouncer_config_destroy(c);
    conf_doc_destroy(doc);
}

static void test_errors_name_line_and_key(void **state)
{
    expect_error("bouncer:\n  prefixx: /\n", "t.yaml:2: bouncer.prefixx: unknown key");
    expect_error("bouncer:\n  prefix: download\n", "t.yaml:2: bouncer.prefix: expected a path starting with '/'");
    expect_error("bouncer:\n  landing_url: ftp://x/\n", "t.yaml:2: bouncer.landing_url: expected an http:// or https:// URL");
    expect_error("bouncer:\n  landing_url: \"https://x/\\r\\nSet-Cookie: a\"\n", "bouncer.landing_url: expected an http:// or https:// URL");
    expect_error("bouncer:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - 10.0.0.1/8\n", "t.yaml:4: bouncer.trusted_proxies[1]");
    expect_error("bouncer:\n  trusted_proxies: {a: b}\n", "bouncer.trusted_proxies: expected a list of CIDR blocks");
    expect_error("bouncer:\n  trusted_proxies: \"10.0.0.0/8, nonsense\"\n", "t.yaml:2: bouncer.trusted_proxies: ");
    expect_error("bouncer:\n  https_pin_header: nocolon\n", "bouncer.https_pin_header: expected \"Header-Name: value\"");
    expect_error("bouncer:\n  mirror_header: 'bad header'\n", "bouncer.mirror_header: expected a header name");
    expect_error("bouncer:\n  attribution_key: k\n  attribution_key_file: f\n", "give attribution_key or attribution_key_file, not both");
    expect_error("bouncer:\n  attribution_key_file: /nonexistent/key\n", "bouncer.attribution_key_file: cannot open /nonexistent/key");
    expect_error("bouncer:\n  cache_max_age: soon\n", "t.yaml:2: bouncer.cache_max_age: expected a duration");
    expect_error("bouncer:\n  health_check:\n    interval: never\n", "t.yaml:3: bouncer.health_check.interval");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors_name_line_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
