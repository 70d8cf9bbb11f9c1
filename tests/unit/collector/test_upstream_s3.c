// SPDX-License-Identifier: MIT
/*
 * Tests for collector/upstream_s3: Socorro key layout and order, path-style and virtual-host URLs,
 * prefix, dump_names JSON, answer verdicts.
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

#define ID "de1bb258-cbbf-4589-a673-34f802250207"
#define RAW "{\"ProductName\":\"Firefox\",\"uuid\":\"" ID "\"}"

static crashrec_t *make_rec(size_t ndumps)
{
    static const uint8_t a[] = {1, 2, 3}, b[] = {'M', 'D', 'M', 'P'};
    crashrec_dump_t dumps[2] = {{.name = "upload_file_minidump", .name_len = 20, .data = a, .len = sizeof(a)},
                                {.name = "upload_file_minidump_browser", .name_len = 28, .data = b, .len = sizeof(b)}};
    crashrec_t *rec = NULL;
    assert_int_equal(crashrec_create(&rec, ID, RAW, strlen(RAW), dumps, ndumps), 0);
    return rec;
}

static void test_layout_path_style(void **state)
{
    (void)state;
    upstream_config_t up = {.kind = UPSTREAM_S3, .url = "http://127.0.0.1:4569/", .bucket = "crashes", .region = "us-east-1",
                            .prefix = "", .path_style = 1};
    upstream_plan_t plan;
    crashrec_t *rec = make_rec(2);

    assert_int_equal(upstream_s3__plan(&up, rec, &plan), 0);
    assert_int_equal(plan.count, 4);
    assert_string_equal(plan.requests[0].url, "http://127.0.0.1:4569/crashes/v1/dump/" ID);
    assert_string_equal(plan.requests[0].method, "PUT");
    assert_string_equal(plan.requests[0].content_type, "application/octet-stream");
    assert_int_equal(plan.requests[0].body_len, 3);
    assert_memory_equal(plan.requests[0].body, "\1\2\3", 3);
    assert_string_equal(plan.requests[1].url, "http://127.0.0.1:4569/crashes/v1/upload_file_minidump_browser/" ID);
    assert_int_equal(plan.requests[1].body_len, 4);
    assert_string_equal(plan.requests[2].url, "http://127.0.0.1:4569/crashes/v1/dump_names/" ID);
    assert_string_equal(plan.requests[2].content_type, "application/json");
    assert_int_equal(plan.requests[2].body_len, strlen("[\"upload_file_minidump\",\"upload_file_minidump_browser\"]"));
    assert_memory_equal(plan.requests[2].body, "[\"upload_file_minidump\",\"upload_file_minidump_browser\"]", plan.requests[2].body_len);
    /* the raw crash last, dated by the id's last six digits */
    assert_string_equal(plan.requests[3].url, "http://127.0.0.1:4569/crashes/v1/raw_crash/20250207/" ID);
    assert_int_equal(plan.requests[3].body_len, strlen(RAW));
    assert_memory_equal(plan.requests[3].body, RAW, strlen(RAW));
    upstream__plan_dispose(&plan);
    assert_null(plan.requests);
    crashrec_destroy(rec);
}

static void test_layout_virtual_host_prefix_no_dumps(void **state)
{
    (void)state;
    upstream_config_t up = {.kind = UPSTREAM_S3, .url = "https://s3.eu-west-1.amazonaws.com", .bucket = "b", .region = "eu-west-1",
                            .prefix = "edge/", .path_style = 0};
    upstream_plan_t plan;
    crashrec_t *rec = make_rec(0);
    char buf[64];

    assert_int_equal(upstream_s3__plan(&up, rec, &plan), 0);
    assert_int_equal(plan.count, 2);
    assert_string_equal(plan.requests[0].url, "https://b.s3.eu-west-1.amazonaws.com/edge/v1/dump_names/" ID);
    assert_int_equal(plan.requests[0].body_len, 2);
    assert_memory_equal(plan.requests[0].body, "[]", 2);
    assert_string_equal(plan.requests[1].url, "https://b.s3.eu-west-1.amazonaws.com/edge/v1/raw_crash/20250207/" ID);
    assert_string_equal(upstream_s3__sigv4(&up, buf, sizeof(buf)), "aws:amz:eu-west-1:s3");
    upstream__plan_dispose(&plan);
    crashrec_destroy(rec);
}

static void test_judge(void **state)
{
    forwarder_cause_t cause = FORWARDER_CAUSE_OTHER;
    (void)state;
    assert_int_equal(upstream_s3__judge(200, &cause), FORWARDER_DONE);
    assert_int_equal(cause, FORWARDER_CAUSE_NONE);
    assert_int_equal(upstream_s3__judge(204, &cause), FORWARDER_DONE);
    assert_int_equal(upstream_s3__judge(301, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_REDIRECT);
    assert_int_equal(upstream_s3__judge(403, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_4XX);
    assert_int_equal(upstream_s3__judge(404, &cause), FORWARDER_RETRY);
    assert_int_equal(upstream_s3__judge(429, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_429);
    assert_int_equal(upstream_s3__judge(503, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_5XX);
    assert_int_equal(upstream_s3__judge(400, &cause), FORWARDER_PERMANENT);
    assert_int_equal(cause, FORWARDER_CAUSE_4XX);
    assert_int_equal(upstream_s3__judge(413, &cause), FORWARDER_PERMANENT);
    assert_string_equal(forwarder__cause_name(FORWARDER_CAUSE_429), "429");
    assert_string_equal(forwarder__cause_name(FORWARDER_CAUSE_BAD_ANSWER), "bad_answer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_path_style),
        cmocka_unit_test(test_layout_virtual_host_prefix_no_dumps),
        cmocka_unit_test(test_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
