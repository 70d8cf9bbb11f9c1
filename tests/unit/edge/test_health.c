// SPDX-License-Identifier: MIT
/* Unit tests for edge/health: report rendering, failing checks, the disk check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "edge/health.h"

static int fixed(void *arg, char *detail, size_t size)
{
    snprintf(detail, size, "said \"%s\"", (const char *)arg);
    return strcmp(arg, "ok") == 0;
}

static int teardown(void **state)
{
    health_reset();
    return 0;
}

static void test_all_healthy(void **state)
{
    health_register("one", fixed, "ok");
    int healthy = -1;
    size_t len;
    char *json = health_report(&healthy, &len);
    assert_int_equal(healthy, 1);
    assert_string_equal(json, "{\"checks\":{\"one\":{\"ok\":true,\"detail\":\"said \\\"ok\\\"\"}},\"healthy\":true}\n");
    assert_int_equal(strlen(json), len);
    free(json);
}

static void test_one_failing(void **state)
{
    health_register("one", fixed, "ok");
    health_register("two", fixed, "broken\n");
    int healthy = -1;
    size_t len;
    char *json = health_report(&healthy, &len);
    assert_int_equal(healthy, 0);
    assert_non_null(strstr(json, "\"two\":{\"ok\":false,\"detail\":\"said \\\"broken\\u000a\\\"\"}"));
    assert_non_null(strstr(json, "\"healthy\":false"));
    free(json);
}

static void test_disk_check(void **state)
{
    char detail[512];
    health_disk_t ok = {.path = "/tmp", .min_free = 0};
    assert_int_equal(health_check_disk(&ok, detail, sizeof(detail)), 1);
    assert_non_null(strstr(detail, "MiB free"));
    health_disk_t full = {.path = "/tmp", .min_free = ~0ull};
    assert_int_equal(health_check_disk(&full, detail, sizeof(detail)), 0);
    assert_non_null(strstr(detail, "only"));
    health_disk_t missing = {.path = "/nonexistent/dir", .min_free = 0};
    assert_int_equal(health_check_disk(&missing, detail, sizeof(detail)), 0);
    assert_non_null(strstr(detail, "not writable"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_all_healthy, teardown),
        cmocka_unit_test_teardown(test_one_failing, teardown),
        cmocka_unit_test_teardown(test_disk_check, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
