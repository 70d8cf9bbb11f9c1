// SPDX-License-Identifier: MIT
/* Unit tests for edge/cpu_accept: where a new connection goes, the CPU of a worker and SO_INCOMING_CPU on
 * a real listening socket. */
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

static void test_handoff(void **state)
{
    (void)state;
    size_t burst[] = {31, 0};         /* the 32nd connection of one client's burst: fine */
    assert_int_equal(cpu_accept_handoff(burst, 2, 0), 0);
    size_t crowded[] = {32, 0};       /* the 33rd on the same worker: 100% of 33 */
    assert_int_equal(cpu_accept_handoff(crowded, 2, 0), 1);
    size_t even[] = {20, 18};
    assert_int_equal(cpu_accept_handoff(even, 2, 0), 0);
    assert_int_equal(cpu_accept_handoff(even, 2, 1), 1);
    size_t edge_of_share[] = {23, 16}; /* 24 of 40 = 60%: not above 1.2 x half */
    assert_int_equal(cpu_accept_handoff(edge_of_share, 2, 0), 0);
    size_t over[] = {24, 16};          /* 25 of 41 */
    assert_int_equal(cpu_accept_handoff(over, 2, 0), 1);
    size_t four[] = {30, 10, 5, 20};   /* the least loaded takes it */
    assert_int_equal(cpu_accept_handoff(four, 4, 0), 2);
    assert_int_equal(cpu_accept_handoff(four, 4, 2), 2);
    size_t one[] = {100};
    assert_int_equal(cpu_accept_handoff(one, 1, 0), 0);
    /* a burst of 64 from one CPU ends evenly split */
    size_t conns[2] = {0, 0};
    for (int i = 0; i < 64; ++i)
        ++conns[cpu_accept_handoff(conns, 2, 0)];
    assert_true(conns[0] <= 39 && conns[1] >= 25);
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
        cmocka_unit_test(test_handoff),
        cmocka_unit_test(test_cpu_of_worker),
        cmocka_unit_test(test_socket_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
