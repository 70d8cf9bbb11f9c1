// SPDX-License-Identifier: MIT
/*
 * Unit tests for collector/multipart.c: boundary extraction from Content-Type, part headers and
 * quoting, CRLF rules, preamble/epilogue, boundary-like bytes inside data, size limits, truncation,
 * and linear behaviour on 10,000 tiny parts and a 25 MB part.
 */
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
#include "collector/multipart.h"
#include "intake_testutil.h"

#define B "XyZzY"

static multipart_parser_t parser;

static int boundary_of(const char *ct, char *buf, size_t *len)
{
    return multipart_boundary_from_content_type(ct, strlen(ct), buf, len);
}

static void test_boundary_from_content_type(void **state)
{
    char buf[MULTIPART_MAX_BOUNDARY + 1];
    size_t len = 0;

    assert_int_equal(boundary_of("multipart/form-data; boundary=abc", buf, &len), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(len, 3);
    /* anywhere among the parameters, any case, quoted with escapes, spaces around '=' */
    assert_int_equal(boundary_of("multipart/form-data; charset=utf-8; BOUNDARY=\"a \\\"b\\\\c\"", buf, &len), 0);
    assert_string_equal(buf, "a \"b\\c");
    assert_int_equal(boundary_of("multipart/form-data;charset=\"x;boundary=no\";Boundary = yes", buf, &len), 0);
    assert_string_equal(buf, "yes");
    assert_int_equal(boundary_of("multipart/form-data; boundary=----abc123; charset=utf-8", buf, &len), 0);
    assert_string_equal(buf, "----abc123");
    /* a parameter merely ending in "boundary" is not it */
    assert_int_equal(boundary_of("multipart/form-data; xboundary=abc", buf, &len), -ENOENT);
    assert_int_equal(boundary_of("multipart/form-data", buf, &len), -ENOENT);
    assert_int_equal(boundary_of("multipart/form-data; boundary", buf, &len), -ENOENT);
    assert_int_equal(boundary_of("multipart/form-data; boundary=", buf, &len), -EINVAL);
    assert_int_equal(boundary_of("multipart/form-data; boundary=\"\"", buf, &len), -EINVAL);
    assert_int_equal(boundary_of("multipart/form-data; boundary=\"abc", buf, &len), -EINVAL);
    char longct[400] = "multipart/form-data; boundary=";
    memset(longct + strlen(longct), 'a', MULTIPART_MAX_BOUNDARY + 1);
    assert_int_equal(boundary_of(longct, buf, &len), -EINVAL);
    longct[strlen(longct) - 1] = '\0';
    assert_int_equal(boundary_of(longct, buf, &len), 0);
    assert_int_equal(len, MULTIPART_MAX_BOUNDARY);
}

static void init(const tbuf_t *b)
{
    assert_int_equal(multipart_init(&parser, b->p, b->len, B, strlen(B)), 0);
}

static void expect_part(const char *name, const char *filename, const char *type, const void *body, size_t len)
{
    multipart_part_t part;
    assert_int_equal(multipart_next(&parser, &part), MULTIPART_PART);
    if (name == NULL) {
        assert_null(part.name);
    } else {
        assert_non_null(part.name);
        assert_int_equal(part.name_len, strlen(name));
        assert_string_equal(part.name, name);
    }
    if (filename == NULL) {
        assert_null(part.filename);
    } else {
        assert_non_null(part.filename);
        assert_string_equal(part.filename, filename);
    }
    if (type == NULL) {
        assert_null(part.content_type);
    } else {
        assert_int_equal(part.content_type_len, strlen(type));
        assert_memory_equal(part.content_type, type, strlen(type));
    }
    assert_int_equal(part.body_len, len);
    if (len > 0)
        assert_memory_equal(part.body, body, len);
}

static void expect_status(multipart_status_t want)
{
    multipart_part_t part;
    assert_int_equal(multipart_next(&parser, &part), want);
}

static void parse_string(const char *s)
{
    assert_int_equal(multipart_init(&parser, s, strlen(s), B, strlen(B)), 0);
}

static void test_basic(void **state)
{
    tbuf_t b = {0};
    tbuf_text(&b, B, "ProductName", "Firefox");
    tbuf_part(&b, B, "upload_file_minidump", "x.dmp", "application/octet-stream", "MDMP\0\r\n\x01", 8);
    tbuf_close(&b, B);
    init(&b);
    expect_part("ProductName", NULL, NULL, "Firefox", 7);
    expect_part("upload_file_minidump", "x.dmp", "application/octet-stream", "MDMP\0\r\n\x01", 8);
    expect_status(MULTIPART_END);
    expect_status(MULTIPART_END);
    tbuf_free(&b);
}

static void test_preamble_epilogue_padding(void **state)
{
    parse_string("this is the preamble\r\n--" B " \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" B
                 "\r\ncontent-disposition:form-data;name=\"b\"\r\n\r\n\r\n--" B "--\r\nepilogue --" B "\r\n");
    expect_part("a", NULL, NULL, "1", 1);
    expect_part("b", NULL, NULL, "", 0);
    expect_status(MULTIPART_END);

    /* a preamble that looks like a boundary but does not start a line */
    parse_string("x--" B "\r\n\r\n--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" B "--");
    expect_part("a", NULL, NULL, "v", 1);
    expect_status(MULTIPART_END);

    /* only a close delimiter: no parts */
    parse_string("--" B "--\r\n");
    expect_status(MULTIPART_END);
}

static void test_boundary_in_data(void **state)
{
    /* "--B" not after CRLF, "\r\n--B" followed by other characters, and LF-only lines are all data */
    static const char data[] = "a--" B "\r\n--" B "X\r\n--" B "-x\n--" B "\r\n\r--" B "--";
    tbuf_t b = {0};
    tbuf_part(&b, B, "upload_file_minidump", "f", "application/octet-stream", data, sizeof(data) - 1);
    tbuf_close(&b, B);
    init(&b);
    expect_part("upload_file_minidump", "f", "application/octet-stream", data, sizeof(data) - 1);
    expect_status(MULTIPART_END);
    tbuf_free(&b);
}

static void test_header_quoting(void **state)
{
    parse_string("--" B "\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\"; filename=\"C:\\Users\\x\\crash.dmp\"\r\n"
                 "Content-Type:   application/octet-stream  \r\nX-Other: ignored\r\n\r\nD\r\n--" B "--");
    expect_part("a\"b\\c", "C:\\Users\\x\\crash.dmp", "application/octet-stream", "D", 1);
    expect_status(MULTIPART_END);

    /* semicolon inside quotes, parameter names in any case, unquoted value with spaces */
    parse_string("--" B "\r\nCONTENT-DISPOSITION: form-data; NAME=\"x;y\"; FileName=my file.dmp\r\n\r\n\r\n--" B "--");
    expect_part("x;y", "my file.dmp", NULL, "", 0);
    expect_status(MULTIPART_END);

    /* folded header line; the last Content-Disposition wins */
    parse_string("--" B "\r\nContent-Disposition: form-data;\r\n name=\"first\"\r\nContent-Disposition: form-data; "
                 "name=second\r\n\r\nv\r\n--" B "--");
    expect_part("second", NULL, NULL, "v", 1);
    expect_status(MULTIPART_END);

    /* no name at all, and no headers at all */
    parse_string("--" B "\r\nContent-Disposition: form-data\r\n\r\nv\r\n--" B "\r\n\r\nw\r\n--" B "--");
    expect_part(NULL, NULL, NULL, "v", 1);
    expect_part(NULL, NULL, NULL, "w", 1);
    expect_status(MULTIPART_END);
}

static void test_malformed(void **state)
{
    /* wrong boundary or not multipart */
    parse_string("--other\r\n\r\nv\r\n--other--");
    expect_status(MULTIPART_ENOSTART);
    expect_status(MULTIPART_ENOSTART);
    parse_string("");
    expect_status(MULTIPART_ENOSTART);
    /* truncated in various places */
    parse_string("--" B);
    expect_status(MULTIPART_ETRUNCATED);
    parse_string("--" B "\r\n");
    expect_status(MULTIPART_ETRUNCATED);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=a\r\n");
    expect_status(MULTIPART_ETRUNCATED);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue");
    expect_status(MULTIPART_ETRUNCATED);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue\r\n--" B);
    expect_status(MULTIPART_ETRUNCATED);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue\r\n--" B "-");
    expect_status(MULTIPART_ETRUNCATED);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue\r\n--" B "\r\n");
    expect_part("a", NULL, NULL, "value", 5);
    expect_status(MULTIPART_ETRUNCATED);
    expect_status(MULTIPART_ETRUNCATED);
    /* missing CRLF: LF-only delimiter line and header lines */
    parse_string("--" B "\nContent-Disposition: form-data; name=a\n\nv\n--" B "--");
    expect_status(MULTIPART_ENOSTART);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nv\r\n--" B "--");
    expect_status(MULTIPART_EHEADER);
    /* header without colon, with space before the colon, continuation first, bad quoting */
    parse_string("--" B "\r\nContent-Disposition form-data\r\n\r\nv\r\n--" B "--");
    expect_status(MULTIPART_EHEADER);
    parse_string("--" B "\r\nContent-Disposition : form-data\r\n\r\nv\r\n--" B "--");
    expect_status(MULTIPART_EHEADER);
    parse_string("--" B "\r\n folded: x\r\n\r\nv\r\n--" B "--");
    expect_status(MULTIPART_EHEADER);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--" B "--");
    expect_status(MULTIPART_EHEADER);
    parse_string("--" B "\r\nContent-Disposition: form-data; name=\"a\"x\r\n\r\nv\r\n--" B "--");
    expect_status(MULTIPART_EHEADER);
    assert_int_equal(multipart_init(&parser, "", 0, "", 0), -EINVAL);
    assert_string_equal(multipart_strerror(MULTIPART_ETRUNCATED), "multipart body is truncated");
}

static void test_header_size_limit(void **state)
{
    tbuf_t b = {0};
    char *big = malloc(MULTIPART_MAX_HEADER_SIZE);
    assert_non_null(big);

    /* exactly at the limit: accepted */
    const char *head = "--" B "\r\nX: ";
    size_t fill = MULTIPART_MAX_HEADER_SIZE - 4 - 3 - strlen("Content-Disposition: form-data; name=a\r\n");
    memset(big, 'h', fill);
    tbuf_str(&b, head);
    tbuf_add(&b, big, fill);
    tbuf_str(&b, "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" B "--");
    init(&b);
    expect_part("a", NULL, NULL, "v", 1);
    expect_status(MULTIPART_END);

    /* one byte more: refused */
    b.len = 0;
    tbuf_str(&b, head);
    tbuf_add(&b, big, fill + 1);
    tbuf_str(&b, "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" B "--");
    init(&b);
    expect_status(MULTIPART_EHEADER_SIZE);
    free(big);
    tbuf_free(&b);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_many_tiny_parts(void **state)
{
    tbuf_t b = {0};
    char name[32];
    struct timespec t0;
    multipart_part_t part;
    size_t n = 0;

    for (int i = 0; i < 10000; ++i) {
        snprintf(name, sizeof(name), "k%d", i);
        tbuf_text(&b, B, name, "v");
    }
    tbuf_close(&b, B);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    init(&b);
    multipart_status_t st;
    while ((st = multipart_next(&parser, &part)) == MULTIPART_PART) {
        snprintf(name, sizeof(name), "k%zu", n);
        assert_string_equal(part.name, name);
        assert_int_equal(part.body_len, 1);
        ++n;
    }
    assert_int_equal(st, MULTIPART_END);
    assert_int_equal(n, 10000);
    assert_true(seconds_since(&t0) < 2.0);
    tbuf_free(&b);
}

static void test_big_dump(void **state)
{
    size_t size = 25u * 1024 * 1024;
    char *dump = malloc(size);
    tbuf_t b = {0};
    struct timespec t0;
    assert_non_null(dump);

    /* worst-ish case: the data is full of near-delimiters */
    static const char pattern[] = "\r\n--" B "x\r\n-";
    for (size_t i = 0; i < size; ++i)
        dump[i] = pattern[i % (sizeof(pattern) - 1)];
    tbuf_text(&b, B, "a", "1");
    tbuf_part(&b, B, "upload_file_minidump", "d", "application/octet-stream", dump, size);
    tbuf_close(&b, B);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    init(&b);
    expect_part("a", NULL, NULL, "1", 1);
    expect_part("upload_file_minidump", "d", "application/octet-stream", dump, size);
    expect_status(MULTIPART_END);
    double took = seconds_since(&t0);
    free(dump);
    tbuf_free(&b);
    assert_true(took < 5.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary_from_content_type),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_preamble_epilogue_padding),
        cmocka_unit_test(test_boundary_in_data),
        cmocka_unit_test(test_header_quoting),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_header_size_limit),
        cmocka_unit_test(test_many_tiny_parts),
        cmocka_unit_test(test_big_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
