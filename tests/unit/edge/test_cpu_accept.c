// SPDX-License-Identifier: MIT
/* Unit tests for edge/cpu_accept: the balance and its hysteresis, the CPU of a worker and SO_INCOMING_CPU on a
 * real listening socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "edge/cpu_accept.h"

static void test_update(void **state)
{
    (void)state;
    cpu_accept_state_t st = {1, 0};
    /* two workers: within 60% nothing happens */
    assert_false(cpu_accept_update(&st, 32, 64, 2, 1000));
    assert_false(cpu_accept_update(&st, 38, 64, 2, 1000)); /* 59% */
    assert_int_equal(st.skewed_since_ms, 0);
    /* fewer than 16 per worker: a burst, no verdict however long */
    assert_false(cpu_accept_update(&st, 31, 31, 2, 2000));
    assert_false(cpu_accept_update(&st, 31, 31, 2, 2000 + 10 * CPU_ACCEPT_SKEW_MS));
    /* above 60% of 32+: the worker gives way only once that lasted CPU_ACCEPT_SKEW_MS */
    assert_false(cpu_accept_update(&st, 39, 64, 2, 50000)); /* 61%: the skew starts */
    assert_false(cpu_accept_update(&st, 40, 64, 2, 50000 + CPU_ACCEPT_SKEW_MS - 1));
    assert_false(cpu_accept_update(&st, 32, 64, 2, 50000 + CPU_ACCEPT_SKEW_MS)); /* back in line: start over */
    assert_false(cpu_accept_update(&st, 40, 64, 2, 60000));
    assert_true(st.local);
    assert_true(cpu_accept_update(&st, 41, 64, 2, 60000 + CPU_ACCEPT_SKEW_MS)); /* lasted: give way */
    assert_false(st.local);
    /* off: it takes its CPU's connections again once at or below its share */
    assert_false(cpu_accept_update(&st, 33, 64, 2, 70000));
    assert_true(cpu_accept_update(&st, 32, 64, 2, 70001));
    assert_true(st.local);
    /* four workers: 30% is 1.2 x a quarter */
    cpu_accept_state_t four = {1, 0};
    assert_false(cpu_accept_update(&four, 19, 64, 4, 1000));
    assert_int_equal(four.skewed_since_ms, 0);
    assert_false(cpu_accept_update(&four, 20, 64, 4, 1000));
    assert_true(cpu_accept_update(&four, 20, 64, 4, 1000 + CPU_ACCEPT_SKEW_MS));
    /* one worker has nothing to choose */
    cpu_accept_state_t one = {1, 0};
    assert_false(cpu_accept_update(&one, 100, 100, 1, 1000));
    assert_false(cpu_accept_update(&one, 100, 100, 1, 1000 + 10 * CPU_ACCEPT_SKEW_MS));
    assert_true(one.local);
}

/* Connections that all arrive on one worker's CPU, one every 10 ms: after the first 32 and a skew
 * of CPU_ACCEPT_SKEW_MS, the spread stays within bounds. */
static void test_crowd_is_bounded(void **state)
{
    (void)state;
    size_t conns[2] = {0, 0};
    cpu_accept_state_t st[2] = {{1, 0}, {1, 0}};
    unsigned hash = 0;
    for (uint64_t i = 0; i < 5000; ++i) {
        /* the kernel: the worker bound to the SYN's CPU (0) while it is local, else a hashed one */
        unsigned w = st[0].local ? 0 : (hash++ & 1);
        ++conns[w];
        cpu_accept_update(&st[w], conns[w], conns[0] + conns[1], 2, 1000 + 10 * i);
    }
    size_t total = conns[0] + conns[1];
    assert_true(conns[0] * 100 <= total * 70); /* crowded for 3 s of 50 s, then about 60% at most */
    assert_true(conns[1] * 100 >= total * 30);
}

static void test_cpu_of_worker(void **state)
{
    (void)state;
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    int count = CPU_COUNT(&set);
    for (unsigned w = 0; w < 3 * (unsigned)count; ++w) {
        int cpu = cpu_accept_cpu_of_worker(w);
        assert_true(cpu >= 0 && CPU_ISSET(cpu, &set));
        assert_int_equal(cpu, cpu_accept_cpu_of_worker(w + (unsigned)count)); /* wraps around the allowed CPUs */
        if (count > 1)
            assert_int_not_equal(cpu, cpu_accept_cpu_of_worker(w + 1));
    }
}

static void test_socket_option(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1, cpu = -2;
    socklen_t len = sizeof(cpu);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(cpu_accept_set(fd, 0), 0);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len), 0);
    assert_int_equal(cpu, 0);
    assert_int_equal(cpu_accept_set(fd, -1), 0);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len), 0);
    assert_int_equal(cpu, -1);
    assert_true(cpu_accept_set(-1, 0) < 0); /* errors come back as -errno */
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_crowd_is_bounded),
        cmocka_unit_test(test_cpu_of_worker),
        cmocka_unit_test(test_socket_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
