// SPDX-License-Identifier: MIT
/*
 * Unit tests for collector/submission.c: every malformed answer of the protocol reference with its
 * exact status and body, gzip (good, bad, truncated, bomb over the cap), annotations from text and
 * JSON parts and their collector notes, dumps (several, duplicates, unknown types, reserved names),
 * privacy removals, client-chosen uuids and the bearer token, the throttle decisions, the exact raw
 * crash document, NUL bytes, 10,000 tiny parts, and the real minidumps of the shared test data
 * (skipped when EDGE_SHARED_DIR has none).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "collector/submission.h"
#include "intake_testutil.h"

#define B "----MultipartBoundary-d83b1e5f9c2a4b7e"
#define CT "multipart/form-data; boundary=" B
#define TOKEN "s3cret-t0ken"
#define CLIENT_ID "de1bb258-cbbf-4589-a673-34f800160918"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define TIMESTAMP "2026-11-26T07:12:03.123456+00:00"

static submission_request_t request(const tbuf_t *body)
{
    submission_request_t req;
    memset(&req, 0, sizeof(req));
    req.content_type = CT;
    req.content_type_len = strlen(CT);
    req.body = (const uint8_t *)body->p;
    req.body_len = body->len;
    req.now.tv_sec = 1795677123; /* 2026-11-26T07:12:03Z */
    req.now.tv_nsec = 123456789;
    return req;
}

static void run(const submission_request_t *req, submission_result_t *res)
{
    assert_int_equal(submission_process(req, res), 0);
    assert_int_equal(res->body_len, strlen(res->body));
}

static void expect_answer(const submission_request_t *req, submission_outcome_t outcome, int status, const char *body)
{
    submission_result_t res;
    run(req, &res);
    assert_string_equal(res.body, body);
    assert_int_equal(res.status, status);
    assert_int_equal(res.outcome, outcome);
    assert_null(res.crash);
    submission_result_dispose(&res);
}

static void expect_malformed(const submission_request_t *req, const char *reason)
{
    submission_result_t res;
    char want[128];
    snprintf(want, sizeof(want), "Discarded=malformed_%s", reason);
    run(req, &res);
    assert_string_equal(res.body, want);
    assert_int_equal(res.status, 400);
    assert_int_equal(res.outcome, SUBMISSION_MALFORMED);
    assert_string_equal(res.malformed_reason, reason);
    assert_null(res.crash);
    submission_result_dispose(&res);
}

/* Runs an accepted submission and returns its parsed raw crash (caller decrefs). */
static json_t *expect_stored(const submission_request_t *req, submission_result_t *res)
{
    run(req, res);
    assert_int_equal(res->outcome, SUBMISSION_STORE);
    assert_int_equal(res->status, 200);
    assert_non_null(res->crash);
    assert_string_equal(res->crash->crash_id, res->crash_id);
    char want[64];
    snprintf(want, sizeof(want), "CrashID=bp-%s\n", res->crash_id);
    assert_string_equal(res->body, want);
    json_error_t err;
    json_t *raw = json_loadb(res->crash->raw_crash, res->crash->raw_crash_len, JSON_ALLOW_NUL, &err);
    assert_non_null(raw);
    assert_true(json_is_object(raw));
    assert_string_equal(json_string_value(json_object_get(raw, "uuid")), res->crash_id);
    assert_int_equal(json_integer_value(json_object_get(raw, "version")), 2);
    return raw;
}

static const char *meta_str(json_t *raw, const char *key)
{
    return json_string_value(json_object_get(json_object_get(raw, "metadata"), key));
}

static json_t *notes_of(json_t *raw)
{
    return json_object_get(json_object_get(raw, "metadata"), "collector_notes");
}

static void simple_body(tbuf_t *b)
{
    tbuf_text(b, B, "ProductName", "Firefox");
    tbuf_part(b, B, "upload_file_minidump", "x.dmp", "application/octet-stream", "abc", 3);
    tbuf_close(b, B);
}

static void gzip_into(const void *in, size_t len, tbuf_t *out)
{
    z_stream zs;
    unsigned char chunk[16384];
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    int r;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        r = deflate(&zs, Z_FINISH);
        tbuf_add(out, chunk, sizeof(chunk) - zs.avail_out);
    } while (r == Z_OK);
    assert_int_equal(r, Z_STREAM_END);
    deflateEnd(&zs);
}

/* --- step 1-2 --- */

static void test_content_type(void **state)
{
    tbuf_t b = {0};
    simple_body(&b);
    submission_request_t req = request(&b);
    submission_result_t res;

    req.content_type = NULL;
    expect_malformed(&req, "no_content_type");
    req.content_type = "  ";
    req.content_type_len = 2;
    expect_malformed(&req, "no_content_type");
    req.content_type = "text/plain; boundary=" B;
    req.content_type_len = strlen(req.content_type);
    expect_malformed(&req, "wrong_content_type");
    req.content_type = "application/x-www-form-urlencoded";
    req.content_type_len = strlen(req.content_type);
    expect_malformed(&req, "wrong_content_type");
    req.content_type = "multipart/form-data";
    req.content_type_len = strlen(req.content_type);
    expect_malformed(&req, "no_boundary");
    req.content_type = "multipart/form-data; charset=utf-8";
    req.content_type_len = strlen(req.content_type);
    expect_malformed(&req, "no_boundary");
    req.content_type = "multipart/form-data; boundary=\"\"";
    req.content_type_len = strlen(req.content_type);
    expect_malformed(&req, "invalid_payload_structure");
    /* boundary anywhere, quoted, media type in any case, multipart/mixed */
    static const char *const good[] = {"multipart/form-data; charset=utf-8; boundary=\"" B "\"", "Multipart/Form-Data;BOUNDARY=" B,
                                       "multipart/mixed; boundary=" B};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        req.content_type = good[i];
        req.content_type_len = strlen(good[i]);
        json_decref(expect_stored(&req, &res));
        submission_result_dispose(&res);
    }
    /* empty body */
    req.body_len = 0;
    expect_malformed(&req, "no_content_length");
    req.body = NULL;
    expect_malformed(&req, "no_content_length");
    tbuf_free(&b);
}

/* --- step 3 --- */

static void test_gzip(void **state)
{
    tbuf_t plain = {0}, gz = {0};
    submission_result_t res;
    simple_body(&plain);
    gzip_into(plain.p, plain.len, &gz);
    submission_request_t req = request(&gz);
    req.content_encoding = "gzip";
    req.content_encoding_len = 4;

    json_t *raw = expect_stored(&req, &res);
    assert_int_equal(res.compressed, 1);
    assert_int_equal(res.payload_size, gz.len);
    assert_int_equal(res.inflated_size, plain.len);
    assert_string_equal(meta_str(raw, "payload_compressed"), "1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(raw, "metadata"), "payload_size")), gz.len);
    assert_string_equal(json_string_value(json_object_get(raw, "ProductName")), "Firefox");
    assert_int_equal(res.crash->dumps[0].len, 3);
    assert_memory_equal(res.crash->dumps[0].data, "abc", 3);
    json_decref(raw);
    submission_result_dispose(&res);

    /* exactly at the cap is fine; one byte under the inflated size is 413 */
    req.inflate_cap = plain.len;
    json_decref(expect_stored(&req, &res));
    submission_result_dispose(&res);
    req.inflate_cap = plain.len - 1;
    expect_answer(&req, SUBMISSION_TOO_LARGE, 413, "Discarded=too_large");

    /* without Content-Encoding the gzip bytes are not multipart */
    req.content_encoding = NULL;
    expect_malformed(&req, "invalid_payload_structure");

    /* not gzip, truncated gzip, corrupted gzip */
    req.content_encoding = " GZIP ";
    req.content_encoding_len = 6;
    req.inflate_cap = 0;
    req.body = (const uint8_t *)plain.p;
    req.body_len = plain.len;
    expect_malformed(&req, "bad_gzip");
    req.body = (const uint8_t *)gz.p;
    req.body_len = gz.len - 9;
    expect_malformed(&req, "bad_gzip");
    gz.p[gz.len / 2] ^= 0x55;
    req.body_len = gz.len;
    expect_malformed(&req, "bad_gzip");
    tbuf_free(&plain);
    tbuf_free(&gz);
}

static void test_gzip_bomb(void **state)
{
    /* 64 MiB of zeros inflate from ~64 KiB: stopped at the cap, memory stays bounded */
    size_t size = 64u << 20;
    char *zeros = calloc(1, size);
    tbuf_t gz = {0};
    assert_non_null(zeros);
    memcpy(zeros, "--" B "\r\n", strlen(B) + 4);
    gzip_into(zeros, size, &gz);
    free(zeros);
    assert_true(gz.len < 200 * 1024);
    submission_request_t req = request(&gz);
    req.content_encoding = "gzip";
    req.content_encoding_len = 4;
    expect_answer(&req, SUBMISSION_TOO_LARGE, 413, "Discarded=too_large"); /* default cap: 25 MiB */
    req.inflate_cap = 1 << 20;
    expect_answer(&req, SUBMISSION_TOO_LARGE, 413, "Discarded=too_large");
    tbuf_free(&gz);
}

/* --- steps 4-6 --- */

static void test_payload_structure(void **state)
{
    tbuf_t b = {0};
    tbuf_text(&b, B, "ProductName", "Firefox");
    submission_request_t req = request(&b);
    expect_malformed(&req, "invalid_payload_structure"); /* no close delimiter */
    tbuf_str(&b, "--" B "--");
    req = request(&b);
    submission_result_t res;
    json_decref(expect_stored(&req, &res));
    submission_result_dispose(&res);
    req.content_type = "multipart/form-data; boundary=other";
    req.content_type_len = strlen(req.content_type);
    expect_malformed(&req, "invalid_payload_structure");
    tbuf_free(&b);

    /* a bare LF header line */
    tbuf_str(&b, "--" B "\r\nContent-Disposition: form-data; name=a\n\r\n\r\nv\r\n--" B "--\r\n");
    req = request(&b);
    expect_malformed(&req, "invalid_payload_structure");
    tbuf_free(&b);

    /* a structural error after a part-level one wins; the first part-level one wins over later ones */
    tbuf_part(&b, B, "extra", "extra.json", "application/json", "{bad", 4);
    tbuf_text(&b, B, "a", "b");
    req = request(&b);
    expect_malformed(&req, "invalid_payload_structure");
    tbuf_part(&b, B, "raw_crash", "f", "application/octet-stream", "x", 1);
    tbuf_close(&b, B);
    req = request(&b);
    expect_malformed(&req, "invalid_json");
    tbuf_free(&b);
}

static void test_json_errors(void **state)
{
    static const struct {
        const char *body;
        const char *reason;
    } cases[] = {
        {"{\"a\":", "invalid_json"},
        {"", "invalid_json"},
        {"{\"a\":\"\xff\"}", "invalid_json"},
        {"{\"a\":1} x", "invalid_json"},
        {"[1,2]", "invalid_json_value"},
        {"\"str\"", "invalid_json_value"},
        {"5", "invalid_json_value"},
        {"null", "invalid_json_value"},
        {"{}", "no_annotations"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        tbuf_t b = {0};
        tbuf_part(&b, B, "extra", "extra.json", "application/json; charset=utf-8", cases[i].body, strlen(cases[i].body));
        tbuf_close(&b, B);
        submission_request_t req = request(&b);
        expect_malformed(&req, cases[i].reason);
        tbuf_free(&b);
    }
}

static void test_dump_names(void **state)
{
    static const char *const reserved[] = {"dump_names", "raw_crash", "processed_crash", "raw-crash!", "---"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); ++i) {
        tbuf_t b = {0};
        tbuf_text(&b, B, "ProductName", "Firefox");
        tbuf_part(&b, B, reserved[i], "f.dmp", "application/octet-stream", "x", 1);
        tbuf_close(&b, B);
        submission_request_t req = request(&b);
        if (i == 3) {
            /* sanitised to "rawcrash", which is not reserved */
            submission_result_t res;
            json_decref(expect_stored(&req, &res));
            assert_string_equal(res.crash->dumps[0].name, "rawcrash");
            submission_result_dispose(&res);
        } else {
            expect_malformed(&req, "invalid_dump_name");
        }
        tbuf_free(&b);
    }
}

static void test_no_annotations(void **state)
{
    tbuf_t b = {0};
    tbuf_part(&b, B, "upload_file_minidump", "x.dmp", "application/octet-stream", "abc", 3);
    tbuf_close(&b, B);
    submission_request_t req = request(&b);
    expect_malformed(&req, "no_annotations");
    tbuf_free(&b);

    /* an annotation dropped for bad UTF-8 does not count; parts without a usable name are ignored */
    tbuf_text(&b, B, "Bad", "\xc3\x28");
    tbuf_str(&b, "--" B "\r\nContent-Disposition: form-data\r\n\r\nno name\r\n");
    tbuf_text(&b, B, "", "empty name");
    static const char nul_name[] = "--" B "\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n\r\nNUL in the name\r\n";
    tbuf_add(&b, nul_name, sizeof(nul_name) - 1);
    tbuf_text(&b, B, "bad\xff", "name not UTF-8");
    tbuf_close(&b, B);
    req = request(&b);
    expect_malformed(&req, "no_annotations");
    tbuf_free(&b);

    tbuf_close(&b, B);
    req = request(&b);
    expect_malformed(&req, "no_annotations");
    tbuf_free(&b);
}

/* --- the whole raw crash --- */

static void test_raw_crash_exact(void **state)
{
    tbuf_t b = {0};
    submission_result_t res;
    char want[2048];

    tbuf_str(&b, "preamble\r\n");
    tbuf_text(&b, B, "ProductName", "Firefox");
    tbuf_text(&b, B, "Version", "120.0");
    tbuf_text(&b, B, "Email", "someone@example.com");
    tbuf_text(&b, B, "Bad", "\xff\xfe");
    tbuf_part(&b, B, "upload_file_minidump", "x.dmp", "application/octet-stream", "abc", 3);
    tbuf_part(&b, B, "upload_file_minidump_browser", "b.dmp", "text/x-weird", "abc", 3);
    tbuf_part(&b, B, "upload_file_minidump", "y.dmp", "application/octet-stream", "", 0);
    tbuf_str(&b, "--" B "\r\nContent-Disposition: form-data\r\n\r\nignored\r\n");
    tbuf_text(&b, B, "metadata", "client value is overwritten");
    tbuf_text(&b, B, "version", "1");
    tbuf_text(&b, B, "submitted_timestamp", "yesterday");
    tbuf_close(&b, B);
    tbuf_str(&b, "epilogue");
    submission_request_t req = request(&b);
    req.user_agent = "Crashpad/0.8.0";
    req.user_agent_len = strlen(req.user_agent);

    json_t *raw = expect_stored(&req, &res);
    json_decref(raw);
    assert_int_equal(res.throttle_result, SUBMISSION_THROTTLE_ACCEPT);
    assert_string_equal(res.throttle_rule, "accept_everything");
    assert_int_equal(res.compressed, 0);
    assert_string_equal(res.crash_id + 29, "0261126");
    snprintf(want, sizeof(want),
             "{\"ProductName\":\"Firefox\",\"Version\":\"120.0\",\"metadata\":{\"collector_notes\":["
             "\"extract payload text part exception: invalid text or charset: utf-8\","
             "\"unknown content type: upload_file_minidump_browser text/x-weird\","
             "\"Removed Email from raw crash.\"],"
             "\"dump_checksums\":{\"upload_file_minidump\":\"" SHA_EMPTY "\",\"upload_file_minidump_browser\":\"" SHA_ABC
             "\"},\"payload\":\"multipart\",\"payload_compressed\":\"0\",\"payload_size\":%zu,"
             "\"throttle_rule\":\"accept_everything\",\"user_agent\":\"Crashpad/0.8.0\"},"
             "\"submitted_timestamp\":\"" TIMESTAMP "\",\"uuid\":\"%s\",\"version\":2}",
             b.len, res.crash_id);
    assert_string_equal(res.crash->raw_crash, want);
    /* dumps: the last duplicate wins, in first-seen order */
    assert_int_equal(res.crash->num_dumps, 2);
    assert_string_equal(res.crash->dumps[0].name, "upload_file_minidump");
    assert_int_equal(res.crash->dumps[0].len, 0);
    assert_string_equal(res.crash->dumps[1].name, "upload_file_minidump_browser");
    assert_int_equal(res.crash->dumps[1].len, 3);
    submission_result_dispose(&res);
    submission_result_dispose(&res);
    tbuf_free(&b);
}

static void test_json_and_text(void **state)
{
    tbuf_t b = {0};
    submission_result_t res;
    static const char extra[] = "{\"ProductName\":\"Firefox\",\"Num\":5,\"Nested\":{\"a\":[1]},\"TelemetryClientId\":\"x\"}";

    /* text before JSON is replaced by it; text after is added; both kinds give a note */
    tbuf_text(&b, B, "Lost", "replaced by the JSON");
    tbuf_part(&b, B, "extra", "extra.json", "application/json", extra, strlen(extra));
    tbuf_part(&b, B, "Comments", NULL, "text/plain; charset=utf-8", "hello", 5);
    tbuf_part(&b, B, "upload_file_minidump", NULL, NULL, "abc", 3); /* no filename, no type: text */
    tbuf_part(&b, B, "upload_file_minidump_content", NULL, "application/octet-stream", "abc", 3);
    tbuf_part(&b, B, "upload_file_minidump_flash1", "f.dmp", NULL, "abc", 3);
    tbuf_close(&b, B);
    submission_request_t req = request(&b);
    json_t *raw = expect_stored(&req, &res);
    assert_null(json_object_get(raw, "Lost"));
    assert_null(json_object_get(raw, "TelemetryClientId"));
    assert_int_equal(json_integer_value(json_object_get(raw, "Num")), 5);
    assert_string_equal(json_string_value(json_object_get(raw, "Comments")), "hello");
    assert_string_equal(json_string_value(json_object_get(raw, "upload_file_minidump")), "abc");
    assert_string_equal(meta_str(raw, "payload"), "json");
    assert_string_equal(meta_str(raw, "user_agent"), "None");
    json_t *notes = notes_of(raw);
    assert_int_equal(json_array_size(notes), 3);
    assert_string_equal(json_string_value(json_array_get(notes, 0)), "unknown content type: upload_file_minidump_flash1 None");
    assert_string_equal(json_string_value(json_array_get(notes, 1)),
                        "includes annotations in both json-encoded extra and formdata parts");
    assert_string_equal(json_string_value(json_array_get(notes, 2)), "Removed TelemetryClientId from raw crash.");
    assert_int_equal(res.crash->num_dumps, 2);
    assert_string_equal(res.crash->dumps[0].name, "upload_file_minidump_content");
    assert_string_equal(res.crash->dumps[1].name, "upload_file_minidump_flash1");
    json_decref(raw);
    submission_result_dispose(&res);
    tbuf_free(&b);

    /* JSON only: no "both" note, all four private keys removed in order */
    static const char extra2[] = "{\"Email\":\"e\",\"TelemetryServerURL\":\"u\",\"TelemetrySessionId\":\"s\","
                                 "\"TelemetryClientId\":\"c\",\"A\":\"1\"}";
    tbuf_part(&b, B, "extra", "extra.json", "application/json", extra2, strlen(extra2));
    tbuf_close(&b, B);
    req = request(&b);
    raw = expect_stored(&req, &res);
    notes = notes_of(raw);
    assert_int_equal(json_array_size(notes), 4);
    assert_string_equal(json_string_value(json_array_get(notes, 0)), "Removed Email from raw crash.");
    assert_string_equal(json_string_value(json_array_get(notes, 1)), "Removed TelemetryClientId from raw crash.");
    assert_string_equal(json_string_value(json_array_get(notes, 2)), "Removed TelemetryServerURL from raw crash.");
    assert_string_equal(json_string_value(json_array_get(notes, 3)), "Removed TelemetrySessionId from raw crash.");
    assert_int_equal(json_object_size(raw), 5); /* A, metadata, submitted_timestamp, uuid, version */
    json_decref(raw);
    submission_result_dispose(&res);
    tbuf_free(&b);
}

static void test_nul_bytes_and_utf8(void **state)
{
    tbuf_t b = {0};
    submission_result_t res;
    static const char dump[] = "MDMP\0\0\0\xff";

    tbuf_part(&b, B, "Nul", NULL, NULL, "a\0b", 3);
    tbuf_text(&b, B, "Utf8", "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x92\xa5");
    tbuf_text(&b, B, "Overlong", "\xc0\xaf");
    tbuf_text(&b, B, "Surrogate", "\xed\xa0\x80");
    tbuf_part(&b, B, "upload_file_minidump", "x.dmp", "application/octet-stream", dump, sizeof(dump) - 1);
    tbuf_close(&b, B);
    submission_request_t req = request(&b);
    req.user_agent = "bad \xff agent";
    req.user_agent_len = strlen(req.user_agent);
    json_t *raw = expect_stored(&req, &res);
    json_t *nul = json_object_get(raw, "Nul");
    assert_int_equal(json_string_length(nul), 3);
    assert_memory_equal(json_string_value(nul), "a\0b", 3);
    assert_non_null(strstr(res.crash->raw_crash, "\"Nul\":\"a\\u0000b\""));
    assert_string_equal(json_string_value(json_object_get(raw, "Utf8")), "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x92\xa5");
    assert_null(json_object_get(raw, "Overlong"));
    assert_null(json_object_get(raw, "Surrogate"));
    assert_int_equal(json_array_size(notes_of(raw)), 2);
    assert_string_equal(meta_str(raw, "user_agent"), "bad ? agent");
    assert_int_equal(res.crash->dumps[0].len, sizeof(dump) - 1);
    assert_memory_equal(res.crash->dumps[0].data, dump, sizeof(dump) - 1);
    json_decref(raw);
    submission_result_dispose(&res);
    tbuf_free(&b);
}

/* --- steps 8-10: throttle and uuid --- */

typedef struct st_throttle_ctx_t {
    submission_throttle_t result;
    const char *rule;
    int calls;
    char product[32], num[32], flag[32], missing[8];
} throttle_ctx_t;

static submission_throttle_t on_throttle(void *ctx, const char *(*get)(void *actx, const char *key), void *actx,
                                         const char **rule_name)
{
    throttle_ctx_t *t = ctx;
    const char *v;
    ++t->calls;
    snprintf(t->product, sizeof(t->product), "%s", (v = get(actx, "ProductName")) != NULL ? v : "(null)");
    snprintf(t->num, sizeof(t->num), "%s", (v = get(actx, "Num")) != NULL ? v : "(null)");
    snprintf(t->flag, sizeof(t->flag), "%s", (v = get(actx, "Flag")) != NULL ? v : "(null)");
    snprintf(t->missing, sizeof(t->missing), "%s", (v = get(actx, "Missing")) != NULL ? v : "(null)");
    *rule_name = t->rule;
    return t->result;
}

static void test_throttle(void **state)
{
    tbuf_t b = {0};
    submission_result_t res;
    static const char extra[] = "{\"ProductName\":\"Firefox\",\"Num\":5,\"Flag\":true}";
    tbuf_part(&b, B, "extra", "extra.json", "application/json", extra, strlen(extra));
    tbuf_close(&b, B);
    submission_request_t req = request(&b);
    throttle_ctx_t t = {SUBMISSION_THROTTLE_REJECT, "has_comments", 0, "", "", "", ""};
    req.throttle = on_throttle;
    req.throttle_ctx = &t;

    expect_answer(&req, SUBMISSION_REJECTED, 200, "Discarded=rule_has_comments");
    assert_int_equal(t.calls, 1);
    assert_string_equal(t.product, "Firefox");
    assert_string_equal(t.num, "5");
    assert_string_equal(t.flag, "true");
    assert_string_equal(t.missing, "(null)");

    t.result = SUBMISSION_THROTTLE_DEFER;
    t.rule = "is_nightly";
    json_t *raw = expect_stored(&req, &res);
    assert_int_equal(res.throttle_result, SUBMISSION_THROTTLE_DEFER);
    assert_string_equal(res.throttle_rule, "is_nightly");
    assert_string_equal(res.crash_id + 29, "1261126");
    assert_string_equal(meta_str(raw, "throttle_rule"), "is_nightly");
    json_decref(raw);
    submission_result_dispose(&res);

    t.result = SUBMISSION_THROTTLE_FAKEACCEPT;
    t.rule = "bad_client";
    run(&req, &res);
    assert_int_equal(res.outcome, SUBMISSION_FAKE_ACCEPT);
    assert_int_equal(res.status, 200);
    assert_null(res.crash);
    assert_string_equal(res.crash_id + 29, "3261126");
    char want[64];
    snprintf(want, sizeof(want), "CrashID=bp-%s\n", res.crash_id);
    assert_string_equal(res.body, want);
    submission_result_dispose(&res);

    t.result = SUBMISSION_THROTTLE_ACCEPT;
    t.rule = "accept_all";
    json_decref(expect_stored(&req, &res));
    assert_string_equal(res.crash_id + 29, "0261126");
    submission_result_dispose(&res);
    assert_int_equal(t.calls, 4);
    tbuf_free(&b);
}

static void uuid_request(tbuf_t *b, const char *uuid)
{
    tbuf_text(b, B, "ProductName", "Firefox");
    tbuf_text(b, B, "uuid", uuid);
    tbuf_close(b, B);
}

static void test_client_uuid(void **state)
{
    tbuf_t b = {0};
    submission_result_t res;
    uuid_request(&b, CLIENT_ID);
    submission_request_t req = request(&b);

    /* no token configured: nobody may choose */
    expect_answer(&req, SUBMISSION_UNAUTHORIZED, 401, "Discarded=unauthorized_uuid");
    req.authorization = "Bearer " TOKEN;
    req.authorization_len = strlen(req.authorization);
    expect_answer(&req, SUBMISSION_UNAUTHORIZED, 401, "Discarded=unauthorized_uuid");
    req.submitter_token = "";
    expect_answer(&req, SUBMISSION_UNAUTHORIZED, 401, "Discarded=unauthorized_uuid");
    /* token configured: missing, wrong, prefix, other scheme */
    req.submitter_token = TOKEN;
    static const char *const wrong[] = {NULL,      "Bearer s3cret-t0ke", "Bearer s3cret-t0ken2", "Basic " TOKEN, TOKEN, "Bearer",
                                        "Bearer  "};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); ++i) {
        req.authorization = wrong[i];
        req.authorization_len = wrong[i] != NULL ? strlen(wrong[i]) : 0;
        expect_answer(&req, SUBMISSION_UNAUTHORIZED, 401, "Discarded=unauthorized_uuid");
    }
    /* right token: the client's id is kept */
    req.authorization = " bearer  " TOKEN " ";
    req.authorization_len = strlen(req.authorization);
    json_t *raw = expect_stored(&req, &res);
    assert_string_equal(res.crash_id, CLIENT_ID);
    assert_string_equal(json_string_value(json_object_get(raw, "uuid")), CLIENT_ID);
    json_decref(raw);
    submission_result_dispose(&res);
    /* the token does not matter without a uuid annotation */
    tbuf_free(&b);
    simple_body(&b);
    req = request(&b);
    req.authorization = "Bearer nonsense";
    req.authorization_len = strlen(req.authorization);
    json_decref(expect_stored(&req, &res));
    submission_result_dispose(&res);
    tbuf_free(&b);

    /* authorised but invalid ids */
    static const char *const bad[] = {"DE1BB258-CBBF-4589-A673-34F800160918", "de1bb258-cbbf-4589-a673-34f80016091", "not a uuid",
                                      ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        uuid_request(&b, bad[i]);
        req = request(&b);
        req.submitter_token = TOKEN;
        req.authorization = "Bearer " TOKEN;
        req.authorization_len = strlen(req.authorization);
        expect_malformed(&req, "invalid_uuid");
        tbuf_free(&b);
    }
    static const char extra[] = "{\"ProductName\":\"Firefox\",\"uuid\":42}";
    tbuf_part(&b, B, "extra", "extra.json", "application/json", extra, strlen(extra));
    tbuf_close(&b, B);
    req = request(&b);
    req.submitter_token = TOKEN;
    req.authorization = "Bearer " TOKEN;
    req.authorization_len = strlen(req.authorization);
    expect_malformed(&req, "invalid_uuid");
    tbuf_free(&b);
}

static void test_uuid_before_reject(void **state)
{
    /* step 9 comes before step 10: an unauthorised uuid is 401 even when a rule rejects */
    tbuf_t b = {0};
    uuid_request(&b, CLIENT_ID);
    submission_request_t req = request(&b);
    throttle_ctx_t t = {SUBMISSION_THROTTLE_REJECT, "no_match", 0, "", "", "", ""};
    req.throttle = on_throttle;
    req.throttle_ctx = &t;
    expect_answer(&req, SUBMISSION_UNAUTHORIZED, 401, "Discarded=unauthorized_uuid");
    assert_int_equal(t.calls, 1);
    tbuf_free(&b);
}

/* --- scale and real data --- */

static void test_many_tiny_parts(void **state)
{
    tbuf_t b = {0};
    submission_result_t res;
    char name[32];
    struct timespec t0, t1;

    for (int i = 0; i < 10000; ++i) {
        snprintf(name, sizeof(name), "Annotation%d", i);
        tbuf_text(&b, B, name, "v");
    }
    tbuf_close(&b, B);
    submission_request_t req = request(&b);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *raw = expect_stored(&req, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(json_object_size(raw), 10000 + 4);
    assert_string_equal(json_string_value(json_object_get(raw, "Annotation9999")), "v");
    assert_true((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < 5.0);
    json_decref(raw);
    submission_result_dispose(&res);
    tbuf_free(&b);
}

static void test_result_ownership(void **state)
{
    /* the stored crash does not point into the request body */
    tbuf_t b = {0};
    submission_result_t res;
    simple_body(&b);
    submission_request_t req = request(&b);
    json_decref(expect_stored(&req, &res));
    memset(b.p, 'X', b.len);
    tbuf_free(&b);
    assert_memory_equal(res.crash->dumps[0].data, "abc", 3);
    crashrec_t *taken = res.crash;
    res.crash = NULL;
    submission_result_dispose(&res);
    assert_string_equal(taken->dumps[0].name, "upload_file_minidump");
    crashrec_destroy(taken);
    assert_string_equal(submission_outcome_name(SUBMISSION_REJECTED), "rejected");
}

static void test_repost_round_trip(void **state)
{
    /* a record re-posted with crashrec_repost_body is accepted upstream with the same id and data */
    tbuf_t b = {0};
    submission_result_t res, res2;
    static const uint8_t dump[] = "MDMP\0\r\n--x";
    tbuf_text(&b, B, "ProductName", "Firefox");
    tbuf_text(&b, B, "BuildID", "20231120000000");
    tbuf_part(&b, B, "upload_file_minidump", "x.dmp", "application/octet-stream", dump, sizeof(dump) - 1);
    tbuf_part(&b, B, "upload_file_minidump_browser", "y.dmp", "application/octet-stream", "abc", 3);
    tbuf_close(&b, B);
    submission_request_t req = request(&b);
    json_t *raw = expect_stored(&req, &res);

    for (int json_extra = 0; json_extra <= 1; ++json_extra) {
        char *body = NULL;
        size_t len = 0;
        assert_int_equal(crashrec_repost_body(res.crash, "fwd-boundary", json_extra, &body, &len), 0);
        submission_request_t up;
        memset(&up, 0, sizeof(up));
        up.content_type = "multipart/form-data; boundary=fwd-boundary";
        up.content_type_len = strlen(up.content_type);
        up.body = (const uint8_t *)body;
        up.body_len = len;
        up.submitter_token = TOKEN;
        up.authorization = "Bearer " TOKEN;
        up.authorization_len = strlen(up.authorization);
        json_t *raw2 = expect_stored(&up, &res2);
        free(body);
        assert_string_equal(res2.crash_id, res.crash_id);
        assert_string_equal(json_string_value(json_object_get(raw2, "BuildID")), "20231120000000");
        assert_true(json_equal(json_object_get(json_object_get(raw2, "metadata"), "dump_checksums"),
                               json_object_get(json_object_get(raw, "metadata"), "dump_checksums")));
        assert_string_equal(meta_str(raw2, "payload"), json_extra ? "json" : "multipart");
        assert_int_equal(res2.crash->num_dumps, 2);
        assert_memory_equal(res2.crash->dumps[0].data, dump, sizeof(dump) - 1);
        json_decref(raw2);
        submission_result_dispose(&res2);
    }
    json_decref(raw);
    submission_result_dispose(&res);
    tbuf_free(&b);
}

/* --- golden fixtures --- */

static void read_file(const char *path, tbuf_t *out)
{
    FILE *fp = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    assert_non_null(fp);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        tbuf_add(out, chunk, n);
    fclose(fp);
}

static json_t *run_fixture(const char *name, int gzip, submission_result_t *res, tbuf_t *body)
{
    const char *src = getenv("EDGE_SOURCE_DIR");
    char path[4096];
    tbuf_t ct = {0}, plain = {0};

    snprintf(path, sizeof(path), "%s/tests/fixtures/collector/%s.content-type", src != NULL ? src : "../..", name);
    read_file(path, &ct);
    while (ct.len > 0 && (ct.p[ct.len - 1] == '\n' || ct.p[ct.len - 1] == '\r'))
        ct.p[--ct.len] = '\0';
    snprintf(path, sizeof(path), "%s/tests/fixtures/collector/%s.multipart", src != NULL ? src : "../..", name);
    read_file(path, &plain);
    if (gzip) {
        gzip_into(plain.p, plain.len, body);
        tbuf_free(&plain);
    } else {
        *body = plain;
    }
    submission_request_t req = request(body);
    req.content_type = ct.p;
    req.content_type_len = ct.len;
    if (gzip) {
        req.content_encoding = "gzip";
        req.content_encoding_len = 4;
    }
    json_t *raw = expect_stored(&req, res);
    tbuf_free(&ct);
    return raw;
}

static void test_fixtures(void **state)
{
    for (int gzip = 0; gzip <= 1; ++gzip) {
        submission_result_t res;
        tbuf_t body = {0};
        json_t *raw;

        raw = run_fixture("crashpad", gzip, &res, &body);
        assert_string_equal(json_string_value(json_object_get(raw, "prod")), "Electron");
        assert_string_equal(json_string_value(json_object_get(raw, "ver")), "27.1.3");
        assert_string_equal(json_string_value(json_object_get(raw, "guid")), "6f1b7a1e-4a4e-4b6e-9d1c-2f0c6c1d7e8f");
        assert_int_equal(json_array_size(notes_of(raw)), 0);
        assert_int_equal(res.crash->num_dumps, 1);
        assert_int_equal(res.crash->dumps[0].len, 8 + 256 + 20 + 32);
        assert_string_equal(meta_str(raw, "payload_compressed"), gzip ? "1" : "0");
        json_decref(raw);
        submission_result_dispose(&res);
        tbuf_free(&body);

        raw = run_fixture("firefox", gzip, &res, &body);
        assert_string_equal(meta_str(raw, "payload"), "json");
        assert_string_equal(json_string_value(json_object_get(raw, "ProductName")), "Firefox");
        assert_string_equal(json_string_value(json_object_get(json_object_get(raw, "StackTraces"), "status")), "OK");
        assert_null(json_object_get(raw, "Email"));
        assert_null(json_object_get(raw, "TelemetryClientId"));
        assert_int_equal(json_array_size(notes_of(raw)), 2);
        assert_int_equal(res.crash->num_dumps, 2);
        assert_string_equal(res.crash->dumps[1].name, "upload_file_minidump_browser");
        assert_int_equal(res.crash->dumps[1].len, 64);
        json_decref(raw);
        submission_result_dispose(&res);
        tbuf_free(&body);

        raw = run_fixture("breakpad-windows", gzip, &res, &body);
        assert_string_equal(json_string_value(json_object_get(raw, "prod")), "MyApp");
        assert_string_equal(json_string_value(json_object_get(raw, "ver")), "1.2.3");
        assert_int_equal(res.crash->num_dumps, 1);
        json_decref(raw);
        submission_result_dispose(&res);
        tbuf_free(&body);

        raw = run_fixture("curl", gzip, &res, &body);
        assert_string_equal(json_string_value(json_object_get(raw, "ProductName")), "Test");
        assert_int_equal(res.crash->num_dumps, 1);
        json_decref(raw);
        submission_result_dispose(&res);
        tbuf_free(&body);
    }
}

static void test_real_minidumps(void **state)
{
    const char *shared = getenv("EDGE_SHARED_DIR");
    char dir[4096], path[8192], hex[65];
    DIR *d;
    struct dirent *e;
    int seen = 0;

    if (shared == NULL) {
        skip();
        return;
    }
    snprintf(dir, sizeof(dir), "%s/testdata/minidumps", shared);
    if ((d = opendir(dir)) == NULL) {
        skip();
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        if (fp == NULL)
            continue;
        tbuf_t dump = {0}, b = {0};
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            tbuf_add(&dump, chunk, n);
        fclose(fp);

        unsigned char md[32];
        assert_int_equal(EVP_Digest(dump.p, dump.len, md, NULL, EVP_sha256(), NULL), 1);
        for (int i = 0; i < 32; ++i)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        tbuf_text(&b, B, "ProductName", "Electron");
        tbuf_text(&b, B, "prod", "Electron");
        tbuf_part(&b, B, "upload_file_minidump", e->d_name, "application/octet-stream", dump.p, dump.len);
        tbuf_close(&b, B);
        submission_request_t req = request(&b);
        submission_result_t res;
        json_t *raw = expect_stored(&req, &res);
        json_t *sums = json_object_get(json_object_get(raw, "metadata"), "dump_checksums");
        assert_string_equal(json_string_value(json_object_get(sums, "upload_file_minidump")), hex);
        assert_int_equal(res.crash->dumps[0].len, dump.len);
        assert_memory_equal(res.crash->dumps[0].data, dump.p, dump.len);
        json_decref(raw);
        submission_result_dispose(&res);
        tbuf_free(&dump);
        tbuf_free(&b);
        ++seen;
    }
    closedir(d);
    if (seen == 0)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),       cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_bomb),          cmocka_unit_test(test_payload_structure),
        cmocka_unit_test(test_json_errors),        cmocka_unit_test(test_dump_names),
        cmocka_unit_test(test_no_annotations),     cmocka_unit_test(test_raw_crash_exact),
        cmocka_unit_test(test_json_and_text),      cmocka_unit_test(test_nul_bytes_and_utf8),
        cmocka_unit_test(test_throttle),           cmocka_unit_test(test_client_uuid),
        cmocka_unit_test(test_uuid_before_reject), cmocka_unit_test(test_many_tiny_parts),
        cmocka_unit_test(test_result_ownership),   cmocka_unit_test(test_repost_round_trip),
        cmocka_unit_test(test_fixtures),           cmocka_unit_test(test_real_minidumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
