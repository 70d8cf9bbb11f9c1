// SPDX-License-Identifier: MIT
/*
 * Tests for collector/config: defaults (also for an empty `collector:`), every key, throttle rules
 * compiled on parse, the upstream/forwarder delegation, and errors that name file:line:key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collector/config.h"
#include "collector/forwarder.h"

/* Parses the collector section of yaml; returns 0/-1 with the message in err. */
static int parse(const char *yaml, collector_config_t **out, conf_error_t *err)
{
    conf_error_t load_err;
    conf_doc_t *doc = conf_doc_parse(yaml, strlen(yaml), "t.yaml", "/etc/edge", &load_err);
    assert_non_null(doc);
    int ret = collector_config_parse(conf_get(doc->root, "collector"), out, err);
    conf_doc_destroy(doc);
    return ret;
}

static void expect_error(const char *yaml, const char *message)
{
    collector_config_t *c = NULL;
    conf_error_t err;
    assert_int_equal(parse(yaml, &c, &err), -1);
    assert_null(c);
    if (strstr(err.msg, message) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", message, err.msg);
}

static void test_defaults(void **state)
{
    const char *docs[] = {"collector:\n", "collector: {}\n"};
    (void)state;
    for (size_t i = 0; i < 2; ++i) {
        collector_config_t *c = NULL;
        conf_error_t err;
        assert_int_equal(parse(docs[i], &c, &err), 0);
        assert_string_equal(c->path, "/submit");
        assert_int_equal(c->max_body_size, 25 << 20);
        assert_int_equal(c->max_inflated_size, 100 << 20);
        assert_int_equal(c->max_pending_bytes, 256 << 20);
        assert_int_equal(c->retry_after_s, 60);
        assert_int_equal(c->map_size_initial, 64 << 20);
        assert_int_equal(c->map_size_max, (uint64_t)32 << 30);
        assert_null(c->submitter_token);
        assert_null(c->forwarder);
        assert_int_equal(c->has_upstream, 0);
        assert_int_equal(throttle_rules_count(c->throttle), 1);
        assert_string_equal(throttle_rules_name(c->throttle, 0), THROTTLE_DEFAULT_RULE);
        collector_config_destroy(c);
    }
    collector_config_destroy(NULL);
}

static void test_every_key(void **state)
{
    collector_config_t *c = NULL;
    conf_error_t err;
    (void)state;
    assert_int_equal(parse("collector:\n"
                           "  path: /crash-reports/submit\n"
                           "  max_body_size: 10m\n"
                           "  max_inflated_size: 50m\n"
                           "  submitter_token: abcdefghijklmnop0123\n"
                           "  max_pending_bytes: 1g\n"
                           "  retry_after: 1500ms\n"
                           "  spool: {map_size_initial: 1m, map_size_max: 2g}\n"
                           "  throttle:\n"
                           "    rules:\n"
                           "      - {name: no_nightly, key: ReleaseChannel, equals: nightly, result: REJECT}\n"
                           "      - {name: rest, always: true, result: ACCEPT}\n"
                           "  upstream: {kind: antenna, url: \"http://127.0.0.1:1/submit\"}\n"
                           "  forwarder: {batch: 8}\n",
                           &c, &err),
                     0);
    assert_string_equal(c->path, "/crash-reports/submit");
    assert_int_equal(c->max_body_size, 10 << 20);
    assert_int_equal(c->max_inflated_size, 50 << 20);
    assert_string_equal(c->submitter_token, "abcdefghijklmnop0123");
    assert_int_equal(c->max_pending_bytes, 1 << 30);
    assert_int_equal(c->retry_after_s, 2);
    assert_int_equal(c->map_size_initial, 1 << 20);
    assert_int_equal(c->map_size_max, (uint64_t)2 << 30);
    assert_int_equal(throttle_rules_count(c->throttle), 2);
    assert_string_equal(throttle_rules_name(c->throttle, 0), "no_nightly");
    assert_non_null(c->forwarder);
    assert_int_equal(c->has_upstream, 1);
    assert_int_equal(forwarder_config_upstream_count(c->forwarder), 1);
    collector_config_destroy(c);
}

static void test_forwarder_only(void **state)
{
    collector_config_t *c = NULL;
    conf_error_t err;
    (void)state;
    assert_int_equal(parse("collector:\n  forwarder: {batch: 8}\n", &c, &err), 0);
    assert_non_null(c->forwarder);
    assert_int_equal(c->has_upstream, 0);
    collector_config_destroy(c);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("collector:\n  pth: /submit\n", "t.yaml:2: collector.pth: unknown key");
    expect_error("collector:\n  path: submit\n", "t.yaml:2: collector.path: expected an absolute URL path");
    expect_error("collector:\n  max_body_size: huge\n", "t.yaml:2: collector.max_body_size: expected a size");
    expect_error("collector:\n  max_inflated_size: 10\n", "collector.max_inflated_size: expected a size");
    expect_error("collector:\n  submitter_token: short\n", "t.yaml:2: collector.submitter_token: a token shorter than 16");
    expect_error("collector:\n  submitter_token: \"has a space in it, sadly\"\n", "printable ASCII without spaces");
    expect_error("collector:\n  max_body_size: 30m\n  max_pending_bytes: 50m\n",
                 "t.yaml:3: collector.max_pending_bytes: smaller than twice max_body_size");
    expect_error("collector:\n  retry_after: 10\n", "t.yaml:2: collector.retry_after");
    expect_error("collector:\n  spool: {map_size: 1g}\n", "collector.spool.map_size: unknown key");
    expect_error("collector:\n  spool: {map_size_initial: 2g, map_size_max: 1g}\n",
                 "collector.spool.map_size_initial: larger than spool.map_size_max");
    expect_error("collector:\n  throttle:\n    rules: []\n", "t.yaml:3: collector.throttle.rules");
    expect_error("collector:\n  throttle: {rules_file: /nonexistent/rules.yaml}\n", "/nonexistent/rules.yaml");
    expect_error("collector:\n  upstream: {kind: ftp}\n", "t.yaml:2: collector.upstream.kind: expected antenna or s3");
    expect_error("collector: [1, 2]\n", "collector: expected a mapping");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_forwarder_only),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
