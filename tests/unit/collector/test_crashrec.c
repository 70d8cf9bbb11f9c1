// SPDX-License-Identifier: MIT
/*
 * Unit tests for collector/crashrec.c: record round trip (copied and in-place decoding), input
 * validation, detection of every single-byte corruption and every truncation, hostile lengths
 * behind a valid checksum, and the re-post multipart body (text and JSON forms, boundary clash).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>
#include "collector/crashrec.h"
#include "collector/multipart.h"

#define ID "de1bb258-cbbf-4589-a673-34f800160918"
#define RAW "{\"ProductName\":\"Firefox\",\"metadata\":{\"x\":1},\"submitted_timestamp\":\"t\",\"uuid\":\"" ID "\",\"version\":2}"

static const uint8_t dump1[] = {'M', 'D', 'M', 'P', 0, 1, 2, '\r', '\n'};
static const uint8_t dump2[] = {0xff, 0x00, 0x7f};

static crashrec_t *make(void)
{
    crashrec_dump_t dumps[2] = {
        {"upload_file_minidump", 20, dump1, sizeof(dump1)},
        {"upload_file_minidump_browser", 28, dump2, sizeof(dump2)},
    };
    crashrec_t *rec = NULL;
    assert_int_equal(crashrec_create(&rec, ID, RAW, strlen(RAW), dumps, 2), 0);
    assert_non_null(rec);
    return rec;
}

static void check_fields(const crashrec_t *rec)
{
    assert_string_equal(rec->crash_id, ID);
    assert_int_equal(rec->raw_crash_len, strlen(RAW));
    assert_string_equal(rec->raw_crash, RAW);
    assert_int_equal(rec->num_dumps, 2);
    assert_string_equal(rec->dumps[0].name, "upload_file_minidump");
    assert_int_equal(rec->dumps[0].name_len, 20);
    assert_int_equal(rec->dumps[0].len, sizeof(dump1));
    assert_memory_equal(rec->dumps[0].data, dump1, sizeof(dump1));
    assert_string_equal(rec->dumps[1].name, "upload_file_minidump_browser");
    assert_int_equal(rec->dumps[1].len, sizeof(dump2));
    assert_memory_equal(rec->dumps[1].data, dump2, sizeof(dump2));
}

static void test_round_trip(void **state)
{
    crashrec_t *rec = make(), *copy = NULL, *view = NULL;
    size_t len;
    const uint8_t *bytes = crashrec_record(rec, &len);

    check_fields(rec);
    assert_int_equal(len, 20 + 36 + 4 + 8 + strlen(RAW) + 1 + (2 + 20 + 1 + 8 + 9) + (2 + 28 + 1 + 8 + 3));
    assert_memory_equal(bytes, "EDCR\x01\x00\x00\x00", 8);
    assert_int_equal(crashrec_decode(&copy, bytes, len, 1), 0);
    check_fields(copy);
    assert_int_equal(crashrec_decode(&view, bytes, len, 0), 0);
    check_fields(view);
    size_t vlen;
    assert_ptr_equal(crashrec_record(view, &vlen), bytes);
    assert_ptr_equal(view->raw_crash, (const char *)bytes + 20 + 36 + 4 + 8);
    crashrec_destroy(rec); /* the copy must not depend on the original */
    check_fields(copy);
    crashrec_destroy(copy);
    crashrec_destroy(view);
    crashrec_destroy(NULL);
}

static void test_empty(void **state)
{
    crashrec_t *rec = NULL, *back = NULL;
    size_t len;

    assert_int_equal(crashrec_create(&rec, ID, NULL, 0, NULL, 0), 0);
    const uint8_t *bytes = crashrec_record(rec, &len);
    assert_int_equal(crashrec_decode(&back, bytes, len, 1), 0);
    assert_string_equal(back->raw_crash, "");
    assert_int_equal(back->num_dumps, 0);
    assert_null(back->dumps);
    crashrec_destroy(back);
    crashrec_destroy(rec);
}

static void test_create_invalid(void **state)
{
    crashrec_t *rec = (crashrec_t *)1;
    crashrec_dump_t bad_name = {"a-b", 3, dump1, 1};
    crashrec_dump_t empty_name = {"", 0, dump1, 1};
    crashrec_dump_t long_name = {"abcdefghijabcdefghijabcdefghijk", 31, dump1, 1};
    crashrec_dump_t null_data = {"ok", 2, NULL, 1};

    assert_int_equal(crashrec_create(&rec, "DE1BB258-CBBF-4589-A673-34F800160918", "{}", 2, NULL, 0), -EINVAL);
    assert_null(rec);
    assert_int_equal(crashrec_create(&rec, ID "0", "{}", 2, NULL, 0), -EINVAL);
    assert_int_equal(crashrec_create(&rec, ID, "{\0}", 3, NULL, 0), -EINVAL);
    assert_int_equal(crashrec_create(&rec, ID, "{}", 2, &bad_name, 1), -EINVAL);
    assert_int_equal(crashrec_create(&rec, ID, "{}", 2, &empty_name, 1), -EINVAL);
    assert_int_equal(crashrec_create(&rec, ID, "{}", 2, &long_name, 1), -EINVAL);
    assert_int_equal(crashrec_create(&rec, ID, "{}", 2, &null_data, 1), -EINVAL);
    assert_null(rec);
}

static void test_corruption_detected(void **state)
{
    crashrec_t *rec = make(), *back = NULL;
    size_t len;
    const uint8_t *bytes = crashrec_record(rec, &len);
    uint8_t *copy = malloc(len + 1);
    assert_non_null(copy);

    /* every single-byte change, at every position */
    for (size_t i = 0; i < len; ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            memcpy(copy, bytes, len);
            copy[i] ^= (uint8_t)(1u << bit);
            int r = crashrec_decode(&back, copy, len, 0);
            assert_true(r == -EBADMSG || r == -ENOTSUP);
            assert_null(back);
        }
    }
    /* every truncation, and one trailing byte more */
    for (size_t n = 0; n < len; ++n)
        assert_int_equal(crashrec_decode(&back, bytes, n, 1), -EBADMSG);
    memcpy(copy, bytes, len);
    copy[len] = 0;
    assert_int_equal(crashrec_decode(&back, copy, len + 1, 0), -EBADMSG);
    free(copy);
    crashrec_destroy(rec);
}

/* Rewrites a header or payload field and fixes the checksum, as a hostile writer would. */
static void patch(uint8_t *rec, size_t len, size_t off, uint64_t v, int width)
{
    for (int i = 0; i < width; ++i)
        rec[off + (size_t)i] = (uint8_t)(v >> (8 * i));
    uLong crc = crc32_z(0, rec, 8);
    crc = crc32_z(crc, rec + 12, len - 12);
    for (int i = 0; i < 4; ++i)
        rec[8 + i] = (uint8_t)(crc >> (8 * i));
}

static void test_hostile_lengths(void **state)
{
    crashrec_t *rec = make(), *back = NULL;
    size_t len;
    const uint8_t *bytes = crashrec_record(rec, &len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    size_t ndumps_off = 20 + 36, rawlen_off = ndumps_off + 4, dump0_off = rawlen_off + 8 + strlen(RAW) + 1;

    static const struct {
        size_t which;
        uint64_t value;
        int width;
        int want;
    } cases[] = {
        {0, 0xffffffff, 4, -EBADMSG},     /* dump count */
        {0, 3, 4, -EBADMSG},              /* one dump more than present */
        {0, 1, 4, -EBADMSG},              /* one dump less: trailing bytes */
        {1, UINT64_MAX, 8, -EBADMSG},     /* raw crash length */
        {1, UINT64_MAX - 1, 8, -EBADMSG}, /* raw crash length + 1 overflows */
        {1, 5, 8, -EBADMSG},              /* NUL not where it should be */
        {2, 0xffff, 2, -EBADMSG},         /* dump name length */
        {2, 0, 2, -EBADMSG},              /* empty dump name */
        {3, UINT64_MAX, 8, -EBADMSG},     /* dump data length */
        {4, 2, 2, -ENOTSUP},              /* version */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        size_t off = cases[i].which == 0   ? ndumps_off
                     : cases[i].which == 1 ? rawlen_off
                     : cases[i].which == 2 ? dump0_off
                     : cases[i].which == 3 ? dump0_off + 2 + 20 + 1
                                           : 4;
        memcpy(copy, bytes, len);
        patch(copy, len, off, cases[i].value, cases[i].width);
        assert_int_equal(crashrec_decode(&back, copy, len, 0), cases[i].want);
        assert_null(back);
    }
    /* an invalid dump name character and an invalid crash id, behind valid checksums */
    memcpy(copy, bytes, len);
    copy[dump0_off + 2] = '-';
    patch(copy, len, 0, 'E', 1);
    assert_int_equal(crashrec_decode(&back, copy, len, 0), -EBADMSG);
    memcpy(copy, bytes, len);
    copy[20] = 'X';
    patch(copy, len, 0, 'E', 1);
    assert_int_equal(crashrec_decode(&back, copy, len, 0), -EBADMSG);
    free(copy);
    crashrec_destroy(rec);
}

typedef struct st_seen_part_t {
    char name[64];
    char filename[64];
    char type[64];
    char *body;
    size_t len;
} seen_part_t;

/* Parses a re-post body with our own parser; returns the number of parts. */
static size_t parse_repost(const char *body, size_t len, const char *boundary, seen_part_t *parts, size_t max)
{
    multipart_parser_t *p = malloc(sizeof(*p));
    multipart_part_t part;
    multipart_status_t st;
    size_t n = 0;

    assert_non_null(p);
    assert_int_equal(multipart_init(p, body, len, boundary, strlen(boundary)), 0);
    while ((st = multipart_next(p, &part)) == MULTIPART_PART) {
        assert_true(n < max);
        seen_part_t *s = parts + n++;
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", part.name != NULL ? part.name : "");
        snprintf(s->filename, sizeof(s->filename), "%s", part.filename != NULL ? part.filename : "(none)");
        snprintf(s->type, sizeof(s->type), "%.*s", part.content_type != NULL ? (int)part.content_type_len : 6,
                 part.content_type != NULL ? part.content_type : "(none)");
        s->body = malloc(part.body_len + 1);
        assert_non_null(s->body);
        memcpy(s->body, part.body, part.body_len);
        s->body[part.body_len] = '\0';
        s->len = part.body_len;
    }
    assert_int_equal(st, MULTIPART_END);
    free(p);
    return n;
}

static void free_parts(seen_part_t *parts, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        free(parts[i].body);
}

static void test_repost_text(void **state)
{
    crashrec_t *rec = make();
    seen_part_t parts[8];
    char *body = NULL;
    size_t len = 0;

    assert_int_equal(crashrec_repost_body(rec, "b0undary", 0, &body, &len), 0);
    assert_memory_equal(body + len - 14, "--b0undary--\r\n", 14);
    size_t n = parse_repost(body, len, "b0undary", parts, 8);
    assert_int_equal(n, 4);
    assert_string_equal(parts[0].name, "ProductName");
    assert_string_equal(parts[0].body, "Firefox");
    assert_string_equal(parts[0].type, "(none)");
    assert_string_equal(parts[0].filename, "(none)");
    assert_string_equal(parts[1].name, "uuid");
    assert_string_equal(parts[1].body, ID);
    assert_string_equal(parts[2].name, "upload_file_minidump");
    assert_string_equal(parts[2].filename, "upload_file_minidump.dmp");
    assert_string_equal(parts[2].type, "application/octet-stream");
    assert_int_equal(parts[2].len, sizeof(dump1));
    assert_memory_equal(parts[2].body, dump1, sizeof(dump1));
    assert_string_equal(parts[3].name, "upload_file_minidump_browser");
    assert_memory_equal(parts[3].body, dump2, sizeof(dump2));
    free_parts(parts, n);
    free(body);
    crashrec_destroy(rec);
}

static void check_json_part(const seen_part_t *part)
{
    assert_string_equal(part->name, "extra");
    assert_string_equal(part->filename, "extra.json");
    assert_string_equal(part->type, "application/json");
}

static void test_repost_json(void **state)
{
    crashrec_t *rec = make(), *rec2 = NULL;
    seen_part_t parts[8];
    char *body = NULL;
    size_t len = 0;

    assert_int_equal(crashrec_repost_body(rec, "bnd", 1, &body, &len), 0);
    size_t n = parse_repost(body, len, "bnd", parts, 8);
    assert_int_equal(n, 3);
    check_json_part(parts + 0);
    assert_string_equal(parts[0].body, "{\"ProductName\":\"Firefox\",\"uuid\":\"" ID "\"}");
    assert_string_equal(parts[1].name, "upload_file_minidump");
    free_parts(parts, n);
    free(body);

    /* a non-string annotation forces the JSON form */
    static const char raw2[] = "{\"A\":\"x\",\"Num\":5,\"version\":2}";
    assert_int_equal(crashrec_create(&rec2, ID, raw2, strlen(raw2), NULL, 0), 0);
    assert_int_equal(crashrec_repost_body(rec2, "bnd", 0, &body, &len), 0);
    n = parse_repost(body, len, "bnd", parts, 8);
    assert_int_equal(n, 1);
    check_json_part(parts + 0);
    assert_string_equal(parts[0].body, "{\"A\":\"x\",\"Num\":5,\"uuid\":\"" ID "\"}");
    free_parts(parts, n);
    free(body);
    crashrec_destroy(rec2);
    crashrec_destroy(rec);
}

static void test_repost_errors(void **state)
{
    crashrec_t *rec = make(), *rec2 = NULL;
    char *body = (char *)1;
    size_t len = 1;

    assert_int_equal(crashrec_repost_body(rec, "", 0, &body, &len), -EINVAL);
    assert_null(body);
    assert_int_equal(len, 0);
    assert_int_equal(crashrec_repost_body(rec, "a\"b", 0, &body, &len), -EINVAL);
    /* the boundary occurs in a dump, in an annotation */
    assert_int_equal(crashrec_repost_body(rec, "P", 0, &body, &len), 0); /* "--P" is nowhere */
    free(body);
    static const uint8_t clash[] = "xx--P\r\n";
    crashrec_dump_t d = {"upload_file_minidump", 20, clash, sizeof(clash) - 1};
    assert_int_equal(crashrec_create(&rec2, ID, "{\"a\":\"b\"}", 9, &d, 1), 0);
    assert_int_equal(crashrec_repost_body(rec2, "P", 0, &body, &len), -EEXIST);
    assert_null(body);
    crashrec_destroy(rec2);
    assert_int_equal(crashrec_create(&rec2, ID, "{\"a\":\"--Pb\"}", 12, NULL, 0), 0);
    assert_int_equal(crashrec_repost_body(rec2, "Pb", 0, &body, &len), -EEXIST);
    assert_int_equal(crashrec_repost_body(rec2, "Pb", 1, &body, &len), -EEXIST);
    crashrec_destroy(rec2);
    /* raw crash that is not a JSON object */
    assert_int_equal(crashrec_create(&rec2, ID, "[1]", 3, NULL, 0), 0);
    assert_int_equal(crashrec_repost_body(rec2, "bnd", 0, &body, &len), -EINVAL);
    crashrec_destroy(rec2);
    crashrec_destroy(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_empty),           cmocka_unit_test(test_create_invalid),
        cmocka_unit_test(test_corruption_detected), cmocka_unit_test(test_hostile_lengths), cmocka_unit_test(test_repost_text),
        cmocka_unit_test(test_repost_json),         cmocka_unit_test(test_repost_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
