// SPDX-License-Identifier: MIT
/*
 * Tests for collector/upstream_antenna: the re-POST plan (multipart with a random boundary, uuid
 * annotation) and the answer verdicts (CrashID line of the same id, 3xx/408/429/4xx/5xx).
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
#define RAW "{\"ProductName\":\"Firefox\",\"metadata\":{\"a\":1},\"uuid\":\"" ID "\",\"version\":2}"

static void test_plan(void **state)
{
    (void)state;
    static const uint8_t dump[] = {'M', 'D', 'M', 'P', 0, 1};
    crashrec_dump_t d = {.name = "upload_file_minidump", .name_len = 20, .data = dump, .len = sizeof(dump)};
    upstream_config_t up = {.kind = UPSTREAM_ANTENNA, .url = "http://127.0.0.1:8000/submit", .token = "t"};
    upstream_plan_t plan, plan2;
    crashrec_t *rec = NULL;

    assert_int_equal(crashrec_create(&rec, ID, RAW, strlen(RAW), &d, 1), 0);
    assert_int_equal(upstream_antenna__plan(&up, rec, &plan), 0);
    assert_int_equal(upstream_antenna__plan(&up, rec, &plan2), 0);
    assert_int_equal(plan.count, 1);
    const upstream_request_t *r = &plan.requests[0];
    assert_string_equal(r->url, "http://127.0.0.1:8000/submit");
    assert_string_equal(r->method, "POST");
    assert_int_equal(strncmp(r->content_type, "multipart/form-data; boundary=edgefwd-", 38), 0);
    assert_int_equal(strlen(r->content_type), 38 + 32);
    /* a fresh boundary each time */
    assert_string_not_equal(r->content_type, plan2.requests[0].content_type);
    /* the body starts with the boundary, carries the id as uuid and the dump, not metadata/version */
    const char *boundary = r->content_type + 30;
    assert_int_equal(memcmp(r->body, "--", 2), 0);
    assert_int_equal(memcmp(r->body + 2, boundary, strlen(boundary)), 0);
    assert_non_null(memmem(r->body, r->body_len, ID, strlen(ID)));
    assert_non_null(memmem(r->body, r->body_len, "upload_file_minidump", 20));
    assert_non_null(memmem(r->body, r->body_len, dump, sizeof(dump)));
    assert_null(memmem(r->body, r->body_len, "metadata", 8));
    upstream__plan_dispose(&plan);
    upstream__plan_dispose(&plan2);
    crashrec_destroy(rec);
}

static void test_judge(void **state)
{
    forwarder_cause_t cause = FORWARDER_CAUSE_OTHER;
    const char *ok = "CrashID=bp-" ID "\n";
    (void)state;

    assert_int_equal(upstream_antenna__judge(ID, 200, ok, strlen(ok), &cause), FORWARDER_DONE);
    assert_int_equal(cause, FORWARDER_CAUSE_NONE);
    /* CRLF, other lines around it, no final newline */
    const char *ok2 = "hello\r\nCrashID=bp-" ID "\r\nbye";
    assert_int_equal(upstream_antenna__judge(ID, 201, ok2, strlen(ok2), &cause), FORWARDER_DONE);
    const char *ok3 = "CrashID=bp-" ID;
    assert_int_equal(upstream_antenna__judge(ID, 200, ok3, strlen(ok3), &cause), FORWARDER_DONE);
    /* another id, a prefix of the line, a discard, an empty body: bad answers */
    const char *other = "CrashID=bp-de1bb258-cbbf-4589-a673-34f802250208\n";
    assert_int_equal(upstream_antenna__judge(ID, 200, other, strlen(other), &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_BAD_ANSWER);
    const char *longer = "CrashID=bp-" ID "x\n";
    assert_int_equal(upstream_antenna__judge(ID, 200, longer, strlen(longer), &cause), FORWARDER_RETRY);
    const char *discarded = "Discarded=rule_x\n";
    assert_int_equal(upstream_antenna__judge(ID, 200, discarded, strlen(discarded), &cause), FORWARDER_RETRY);
    assert_int_equal(upstream_antenna__judge(ID, 200, "", 0, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_BAD_ANSWER);
    /* statuses */
    assert_int_equal(upstream_antenna__judge(ID, 302, ok, strlen(ok), &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_REDIRECT);
    assert_int_equal(upstream_antenna__judge(ID, 429, "", 0, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_429);
    assert_int_equal(upstream_antenna__judge(ID, 408, "", 0, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_TIMEOUT);
    assert_int_equal(upstream_antenna__judge(ID, 500, "", 0, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_5XX);
    assert_int_equal(upstream_antenna__judge(ID, 503, "", 0, &cause), FORWARDER_RETRY);
    assert_int_equal(upstream_antenna__judge(ID, 400, "Discarded=malformed", 19, &cause), FORWARDER_PERMANENT);
    assert_int_equal(cause, FORWARDER_CAUSE_4XX);
    assert_int_equal(upstream_antenna__judge(ID, 401, "", 0, &cause), FORWARDER_PERMANENT);
    assert_int_equal(upstream_antenna__judge(ID, 413, "", 0, &cause), FORWARDER_PERMANENT);
    assert_int_equal(upstream_antenna__judge(ID, 100, "", 0, &cause), FORWARDER_RETRY);
    assert_int_equal(cause, FORWARDER_CAUSE_BAD_ANSWER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
