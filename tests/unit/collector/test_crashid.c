// SPDX-License-Identifier: MIT
/*
 * Unit tests for collector/crashid.c: minted ids have the UUID4 layout, the throttle digit and
 * the UTC date; validation follows the reference regex exactly (lower case, strict digits);
 * date and digit extraction.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "collector/crashid.h"

/* 2026-11-26T07:12:03Z */
#define WHEN ((time_t)1795677123)

static int valid(const char *s, int strict)
{
    return crashid_validate(s, strlen(s), strict);
}

static void test_mint_layout(void **state)
{
    char id[CRASHID_LEN + 1];

    for (int digit = 0; digit <= 9; ++digit) {
        assert_int_equal(crashid_mint(id, digit, WHEN), 0);
        assert_int_equal(strlen(id), CRASHID_LEN);
        assert_true(valid(id, 0));
        assert_int_equal(valid(id, 1), digit <= 1);
        assert_int_equal(id[8], '-');
        assert_int_equal(id[13], '-');
        assert_int_equal(id[18], '-');
        assert_int_equal(id[23], '-');
        assert_int_equal(id[14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", id[19])); /* RFC 4122 variant */
        char tail[8] = "x261126";
        tail[0] = (char)('0' + digit);
        assert_string_equal(id + 29, tail);
        assert_int_equal(crashid_throttle_digit(id), digit);
    }
    assert_int_equal(crashid_mint(id, 3, (time_t)946684800), 0); /* 2000-01-01 */
    assert_string_equal(id + 29, "3000101");
    assert_int_equal(crashid_mint(id, -1, WHEN), -EINVAL);
    assert_int_equal(crashid_mint(id, 10, WHEN), -EINVAL);
}

static int cmp_ids(const void *a, const void *b)
{
    return memcmp(a, b, CRASHID_LEN + 1);
}

static void test_mint_unique(void **state)
{
    enum { N = 2000 };
    char(*ids)[CRASHID_LEN + 1] = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < N; ++i)
        assert_int_equal(crashid_mint(ids[i], 0, WHEN), 0);
    qsort(ids, N, sizeof(*ids), cmp_ids);
    for (int i = 1; i < N; ++i)
        assert_int_not_equal(memcmp(ids[i - 1], ids[i], CRASHID_LEN), 0);
    free(ids);
}

static void test_validate(void **state)
{
    assert_true(valid("de1bb258-cbbf-4589-a673-34f800160918", 1));
    assert_true(valid("00000000-0000-0000-0000-000000000000", 1));
    assert_true(valid("de1bb258-cbbf-4589-a673-34f801160918", 1));
    /* non-strict: any hex at the throttle position, strict: 0 or 1 only */
    assert_true(valid("de1bb258-cbbf-4589-a673-34f803160918", 0));
    assert_false(valid("de1bb258-cbbf-4589-a673-34f803160918", 1));
    assert_true(valid("de1bb258-cbbf-4589-a673-34f80a160918", 0));
    assert_false(valid("de1bb258-cbbf-4589-a673-34f80a160918", 1));
    /* upper case, wrong lengths, misplaced dashes, non-digits in the date */
    assert_false(valid("DE1BB258-CBBF-4589-A673-34F800160918", 0));
    assert_false(valid("de1bb258-cbbf-4589-a673-34f80016091", 0));
    assert_false(valid("de1bb258-cbbf-4589-a673-34f8001609181", 0));
    assert_false(valid("de1bb258cbbf-4589-a673-34f8001609181", 0));
    assert_false(valid("de1bb258-cbbf-4589-a673-34f80016091a", 0));
    assert_false(valid("de1bb258-cbbf-4589-a673-34f8001a0918", 0));
    assert_false(valid("ge1bb258-cbbf-4589-a673-34f800160918", 0));
    assert_false(valid("", 0));
    assert_false(crashid_validate(NULL, 0, 0));
    assert_false(crashid_validate("de1bb258-cbbf-4589-a673-34f80016\0918", CRASHID_LEN, 0));
}

static void test_date_and_digit(void **state)
{
    char date[9];

    assert_int_equal(crashid_date("de1bb258-cbbf-4589-a673-34f800160918", date), 0);
    assert_string_equal(date, "20160918");
    assert_int_equal(crashid_date("de1bb258-cbbf-4589-a673-34f800160918x", date), -EINVAL);
    assert_int_equal(crashid_date("nope", date), -EINVAL);
    assert_int_equal(crashid_throttle_digit("de1bb258-cbbf-4589-a673-34f801160918"), 1);
    assert_int_equal(crashid_throttle_digit("de1bb258-cbbf-4589-a673-34f80a160918"), -EINVAL);
    assert_int_equal(crashid_throttle_digit("short"), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_layout),
        cmocka_unit_test(test_mint_unique),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_date_and_digit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
