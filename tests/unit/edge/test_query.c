// SPDX-License-Identifier: MIT
/* Unit tests for edge/query: pair walking and lookup, raw (not unescaped) bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "edge/query.h"

static void expect_pair(const query_pair_t *p, const char *name, const char *value)
{
    assert_int_equal(p->name_len, strlen(name));
    assert_memory_equal(p->name, name, p->name_len);
    assert_int_equal(p->value_len, strlen(value));
    if (p->value_len != 0)
        assert_memory_equal(p->value, value, p->value_len);
}

static void test_walk(void **state)
{
    static const char q[] = "a=1&b=&c&=x&&d=e=f&p%20q=r%26s";
    const char *cursor = q, *end = q + strlen(q);
    query_pair_t p;
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "a", "1");
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "b", "");
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "c", "");
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "", "x");
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "", "");
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "d", "e=f"); /* the first '=' splits */
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "p%20q", "r%26s"); /* raw: the caller unescapes */
    assert_false(query_next_pair(&cursor, end, &p));
    assert_false(query_next_pair(&cursor, end, &p));
}

static void test_trailing_and_empty(void **state)
{
    static const char q[] = "a=1&";
    const char *cursor = q, *end = q + strlen(q);
    query_pair_t p;
    assert_true(query_next_pair(&cursor, end, &p));
    expect_pair(&p, "a", "1");
    assert_false(query_next_pair(&cursor, end, &p));
    cursor = end = q;
    assert_false(query_next_pair(&cursor, end, &p));
}

static void test_find(void **state)
{
    static const char q[] = "limit=10&lim=3&after=&limit=20&x";
    const char *v;
    size_t len;
    assert_true(query_find(q, strlen(q), "limit", &v, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(v, "10", 2); /* the first one wins */
    assert_true(query_find(q, strlen(q), "lim", &v, &len));
    assert_memory_equal(v, "3", 1);
    assert_true(query_find(q, strlen(q), "after", &v, &len));
    assert_int_equal(len, 0);
    assert_true(query_find(q, strlen(q), "x", &v, &len));
    assert_int_equal(len, 0);
    assert_false(query_find(q, strlen(q), "li", &v, &len));
    assert_false(query_find(q, 0, "limit", &v, &len));
    /* a length that cuts the string short is honoured */
    assert_false(query_find(q, 4, "limit", &v, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_trailing_and_empty),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
