// SPDX-License-Identifier: MIT
/*
 * Tests for collector/backoff: exact schedule, cap, jitter bounds, degenerate inputs, no overflow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "collector/backoff.h"

static void test_base_doubles_until_cap(void **state)
{
    (void)state;
    assert_int_equal(backoff_base_ms(1000, 300000, 1), 1000);
    assert_int_equal(backoff_base_ms(1000, 300000, 2), 2000);
    assert_int_equal(backoff_base_ms(1000, 300000, 3), 4000);
    assert_int_equal(backoff_base_ms(1000, 300000, 9), 256000);
    assert_int_equal(backoff_base_ms(1000, 300000, 10), 300000);
    assert_int_equal(backoff_base_ms(1000, 300000, 11), 300000);
}

static void test_base_never_overflows(void **state)
{
    (void)state;
    assert_int_equal(backoff_base_ms(1000, 300000, UINT32_MAX), 300000);
    assert_int_equal(backoff_base_ms(3, UINT64_MAX, 63), 3ull << 62);
    assert_int_equal(backoff_base_ms(3, UINT64_MAX, 200), UINT64_MAX);
    assert_int_equal(backoff_base_ms(UINT64_MAX / 2 + 1, UINT64_MAX, 5), UINT64_MAX);
}

static void test_degenerate_inputs(void **state)
{
    (void)state;
    /* attempt 0 is the first retry; initial 0 is 1 ms; a cap below initial is raised to it */
    assert_int_equal(backoff_base_ms(500, 10000, 0), 500);
    assert_int_equal(backoff_base_ms(0, 10000, 1), 1);
    assert_int_equal(backoff_base_ms(0, 10000, 4), 8);
    assert_int_equal(backoff_base_ms(5000, 1000, 1), 5000);
    assert_int_equal(backoff_base_ms(5000, 1000, 7), 5000);
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    /* base 4000: delay in [2000, 4000]; random picks the offset modulo 2001 */
    assert_int_equal(backoff_delay_ms(1000, 300000, 3, 0), 2000);
    assert_int_equal(backoff_delay_ms(1000, 300000, 3, 2000), 4000);
    assert_int_equal(backoff_delay_ms(1000, 300000, 3, 2001), 2000);
    assert_int_equal(backoff_delay_ms(1000, 300000, 3, 17), 2017);
    for (uint32_t r = 0; r < 100000; r += 7) {
        uint64_t d = backoff_delay_ms(1000, 300000, 30, r * 2654435761u);
        assert_true(d >= 150000 && d <= 300000);
    }
    /* base 1: delay 0 or 1 */
    assert_int_equal(backoff_delay_ms(1, 1, 1, 0), 0);
    assert_int_equal(backoff_delay_ms(1, 1, 1, 1), 1);
    assert_int_equal(backoff_delay_ms(UINT64_MAX, UINT64_MAX, 3, UINT32_MAX), UINT64_MAX / 2 + UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_doubles_until_cap),
        cmocka_unit_test(test_base_never_overflows),
        cmocka_unit_test(test_degenerate_inputs),
        cmocka_unit_test(test_jitter_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
