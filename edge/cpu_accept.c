// SPDX-License-Identifier: MIT
/* cpu_accept: see edge/cpu_accept.h. */
#include "edge/cpu_accept.h"

#include <errno.h>
#include <sched.h>
#include <sys/socket.h>

int cpu_accept_cpu_of_worker(unsigned index)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -1;
    int count = CPU_COUNT(&set);
    if (count == 0)
        return -1;
    unsigned want = index % (unsigned)count;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set) && want-- == 0)
            return cpu;
    return -1;
}

int cpu_accept_set(int fd, int cpu)
{
    return setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof(cpu)) == 0 ? 0 : -errno;
}

int cpu_accept_update(cpu_accept_state_t *st, size_t mine, size_t total, unsigned num_workers, uint64_t now_ms)
{
    if (num_workers < 2)
        return 0;
    if (!st->local) {
        if (mine * num_workers > total) /* still above its fair share */
            return 0;
        st->local = 1;
        return 1;
    }
    /* without division: mine / total > 1.2 / n */
    if (total < 16 * (size_t)num_workers || 5 * mine * num_workers <= 6 * total) {
        st->skewed_since_ms = 0;
        return 0;
    }
    if (st->skewed_since_ms == 0) {
        st->skewed_since_ms = now_ms != 0 ? now_ms : 1;
        return 0;
    }
    if (now_ms - st->skewed_since_ms < CPU_ACCEPT_SKEW_MS)
        return 0;
    st->local = 0;
    st->skewed_since_ms = 0;
    return 1;
}
