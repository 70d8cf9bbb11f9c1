// SPDX-License-Identifier: MIT
/*
 * Tests for collector/forwarder_config: defaults, one upstream or a list, s3 keys and environment
 * credentials, and errors that name file:line:key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collector/forwarder_internal.h"

static conf_doc_t *load(const char *yaml)
{
    conf_error_t err;
    conf_doc_t *doc = conf_doc_parse(yaml, strlen(yaml), "t.yaml", "/etc/edge", &err);
    assert_non_null(doc);
    return doc;
}

/* Parses `upstream`/`forwarder` of the document's collector section; returns 0/-1 and the message. */
static int parse(const char *yaml, forwarder_config_t **out, conf_error_t *err)
{
    conf_doc_t *doc = load(yaml);
    const conf_node_t *section = conf_get(doc->root, "collector");
    int ret = forwarder_config_parse(conf_get(section, "upstream"), conf_get(section, "forwarder"), out, err);
    conf_doc_destroy(doc);
    return ret;
}

static void test_defaults_no_upstream(void **state)
{
    forwarder_config_t *c = NULL;
    conf_error_t err;
    (void)state;
    assert_int_equal(forwarder_config_parse(NULL, NULL, &c, &err), 0);
    assert_int_equal(c->count, 0);
    assert_int_equal(forwarder_config_upstream_count(c), 1);
    assert_int_equal(c->backoff_initial_ms, 1000);
    assert_int_equal(c->backoff_max_ms, 300000);
    assert_int_equal(c->max_pending_age_ms, 3600000);
    assert_int_equal(c->dead_letter_window_ms, 900000);
    assert_int_equal(c->poll_interval_ms, 200);
    assert_int_equal(c->batch, 64);
    assert_int_equal(c->circuit_threshold, 5);
    assert_int_equal(c->nice, 10);
    forwarder_config_destroy(c);
    forwarder_config_destroy(NULL);
}

static void test_one_antenna(void **state)
{
    forwarder_config_t *c = NULL, *copy = NULL;
    conf_error_t err;
    (void)state;
    assert_int_equal(parse("collector:\n"
                           "  upstream:\n"
                           "    kind: antenna\n"
                           "    url: https://crash.example.com/submit\n"
                           "    token: s3cret\n"
                           "    timeout: 5s\n"
                           "    ca_file: ca.pem\n"
                           "  forwarder:\n"
                           "    backoff_initial: 500ms\n"
                           "    backoff_max: 1m\n"
                           "    batch: 10\n"
                           "    nice: 0\n",
                           &c, &err),
                     0);
    assert_int_equal(c->count, 1);
    assert_int_equal(forwarder_config_upstream_count(c), 1);
    const upstream_config_t *u = &c->upstreams[0];
    assert_string_equal(u->name, "antenna");
    assert_int_equal(u->kind, UPSTREAM_ANTENNA);
    assert_string_equal(u->url, "https://crash.example.com/submit");
    assert_string_equal(u->token, "s3cret");
    assert_int_equal(u->timeout_ms, 5000);
    assert_int_equal(u->connect_timeout_ms, 10000);
    assert_int_equal(u->concurrency, 32);
    assert_string_equal(u->ca_file, "/etc/edge/ca.pem");
    assert_int_equal(u->insecure_skip_verify, 0);
    assert_int_equal(c->backoff_initial_ms, 500);
    assert_int_equal(c->backoff_max_ms, 60000);
    assert_int_equal(c->batch, 10);
    assert_int_equal(c->nice, 0);
    assert_int_equal(forwarder_config__copy(c, &copy), 0);
    forwarder_config_destroy(c);
    assert_string_equal(copy->upstreams[0].token, "s3cret");
    assert_string_equal(copy->upstreams[0].ca_file, "/etc/edge/ca.pem");
    assert_null(copy->upstreams[0].bucket);
    forwarder_config_destroy(copy);
}

static void test_list_with_s3_env_credentials(void **state)
{
    forwarder_config_t *c = NULL;
    conf_error_t err;
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
    assert_int_equal(parse("collector:\n"
                           "  upstream:\n"
                           "    - kind: antenna\n"
                           "      url: http://a/submit\n"
                           "    - kind: s3\n"
                           "      bucket: crashes\n"
                           "      region: eu-central-1\n"
                           "      prefix: edge\n"
                           "      path_style: true\n"
                           "      concurrency: 2\n",
                           &c, &err),
                     0);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(c->count, 2);
    assert_string_equal(c->upstreams[0].name, "antenna0");
    assert_string_equal(c->upstreams[1].name, "s31");
    assert_string_equal(c->upstreams[1].url, "https://s3.eu-central-1.amazonaws.com");
    assert_string_equal(c->upstreams[1].access_key, "AKID");
    assert_string_equal(c->upstreams[1].secret_key, "SECRET");
    assert_string_equal(c->upstreams[1].prefix, "edge/");
    assert_int_equal(c->upstreams[1].path_style, 1);
    assert_int_equal(c->upstreams[1].concurrency, 2);
    forwarder_config_destroy(c);
}

static void expect_error(const char *yaml, const char *message)
{
    forwarder_config_t *c = NULL;
    conf_error_t err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(parse(yaml, &c, &err), -1);
    assert_null(c);
    assert_string_equal(err.msg, message);
}

static void test_errors(void **state)
{
    (void)state;
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    expect_error("collector:\n  upstream:\n    kind: ftp\n", "t.yaml:3: collector.upstream.kind: expected antenna or s3, got \"ftp\"");
    expect_error("collector:\n  upstream:\n    url: http://x/\n", "t.yaml:3: collector.upstream: kind is required (antenna or s3)");
    expect_error("collector:\n  upstream:\n    kind: antenna\n    url: ftp://x/\n",
                 "t.yaml:4: collector.upstream.url: expected an http:// or https:// URL, got \"ftp://x/\"");
    expect_error("collector:\n  upstream:\n    kind: antenna\n    url: http://x/\n    bucket: b\n",
                 "t.yaml:5: collector.upstream.bucket: only for kind s3");
    expect_error("collector:\n  upstream:\n    kind: s3\n    bucket: b\n",
                 "t.yaml:3: collector.upstream: access_key and secret_key are required for kind s3 (or set AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY)");
    expect_error("collector:\n  upstream:\n    - kind: antenna\n      url: http://x/\n      name: a\n"
                 "    - kind: antenna\n      url: http://y/\n      name: a\n",
                 "t.yaml:8: collector.upstream[1].name: duplicate upstream name \"a\"");
    expect_error("collector:\n  upstream:\n    kind: antenna\n    url: http://x/\n    concurrency: 0\n",
                 "t.yaml:5: collector.upstream.concurrency: expected an integer between 1 and 64, got \"0\"");
    expect_error("collector:\n  forwarder:\n    backoff_initial: 10s\n    backoff_max: 1s\n",
                 "t.yaml:4: collector.forwarder.backoff_max: must not be below backoff_initial");
    expect_error("collector:\n  upstream: []\n", "t.yaml:2: collector.upstream: expected at least one upstream");
    expect_error("collector:\n  forwarder:\n    nice: 20\n",
                 "t.yaml:3: collector.forwarder.nice: expected an integer between 0 and 19, got \"20\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_no_upstream),
        cmocka_unit_test(test_one_antenna),
        cmocka_unit_test(test_list_with_s3_env_credentials),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
