// SPDX-License-Identifier: MIT
/* Unit tests for collector/spool_ids: the in-memory crash-id set, against a plain array. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "collector/spool_ids.h"

#define N 5000

static void id_of(char *buf, unsigned n)
{
    snprintf(buf, SPOOL_CRASH_ID_MAX + 1, "%08x-0000-4000-8000-%06u261126", n * 2654435761u, n);
}

static void test_basics(void **state)
{
    spool_ids_t s;
    spool_ids_init(&s);
    assert_int_equal(spool_ids_get(&s, "a", 1), 0);
    assert_int_equal(spool_ids_del(&s, "a", 1), 0);
    assert_int_equal(spool_ids_put(&s, "a", 1, 7), 0);
    assert_int_equal(spool_ids_put(&s, "ab", 2, 8), 0);
    assert_int_equal(spool_ids_get(&s, "a", 1), 7);
    assert_int_equal(spool_ids_get(&s, "ab", 2), 8);
    assert_int_equal(spool_ids_get(&s, "b", 1), 0);
    assert_int_equal(spool_ids_put(&s, "a", 1, 9), 0); /* replaces */
    assert_int_equal(s.count, 2);
    assert_int_equal(spool_ids_get(&s, "a", 1), 9);
    assert_int_equal(spool_ids_put(&s, "a", 1, 0), -EINVAL);
    assert_int_equal(spool_ids_put(&s, "", 0, 1), -EINVAL);
    char big[SPOOL_CRASH_ID_MAX + 1];
    memset(big, 'x', sizeof(big));
    assert_int_equal(spool_ids_put(&s, big, sizeof(big), 1), -EINVAL);
    assert_int_equal(spool_ids_put(&s, big, SPOOL_CRASH_ID_MAX, 1), 0);
    assert_int_equal(spool_ids_get(&s, big, SPOOL_CRASH_ID_MAX), 1);
    assert_int_equal(spool_ids_del(&s, "a", 1), 1);
    assert_int_equal(spool_ids_get(&s, "a", 1), 0);
    spool_ids_clear(&s);
    assert_int_equal(s.count, 0);
    assert_int_equal(spool_ids_get(&s, "ab", 2), 0);
    spool_ids_dispose(&s);
}

/* Thousands of puts and deletes in random order (growth, long probe runs, wrap-around, backward
 * shifts): every lookup agrees with a plain array, and the sorted view is complete and ordered. */
static void test_random_against_reference(void **state)
{
    static uint64_t want[N + 1];
    spool_ids_t s;
    char id[SPOOL_CRASH_ID_MAX + 1];
    uint64_t next_seq = 1;
    unsigned seed = 12345;

    spool_ids_init(&s);
    memset(want, 0, sizeof(want));
    for (int round = 0; round != 40000; ++round) {
        unsigned n = 1 + (unsigned)(rand_r(&seed) % N);
        id_of(id, n);
        if (rand_r(&seed) % 3 != 0) {
            assert_int_equal(spool_ids_put(&s, id, strlen(id), next_seq), 0);
            want[n] = next_seq++;
        } else {
            assert_int_equal(spool_ids_del(&s, id, strlen(id)), want[n] != 0);
            want[n] = 0;
        }
        if (round % 997 == 0) {
            size_t count = 0;
            for (unsigned i = 1; i <= N; ++i) {
                id_of(id, i);
                assert_int_equal(spool_ids_get(&s, id, strlen(id)), want[i]);
                count += want[i] != 0;
            }
            assert_int_equal(s.count, count);
        }
    }
    size_t n;
    const spool_ids_entry_t **sorted = spool_ids_sorted(&s, &n);
    assert_int_equal(n, s.count);
    assert_non_null(sorted);
    for (size_t i = 1; i < n; ++i) {
        size_t l = sorted[i - 1]->len < sorted[i]->len ? sorted[i - 1]->len : sorted[i]->len;
        int c = memcmp(sorted[i - 1]->id, sorted[i]->id, l);
        assert_true(c < 0 || (c == 0 && sorted[i - 1]->len < sorted[i]->len));
    }
    free(sorted);
    spool_ids_dispose(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
