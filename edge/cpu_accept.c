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

unsigned cpu_accept_handoff(const size_t *conns, unsigned num_workers, unsigned self)
{
    size_t total = 1, mine = conns[self] + 1; /* with the new connection */
    unsigned least = self;
    for (unsigned i = 0; i < num_workers; ++i) {
        total += conns[i];
        if (conns[i] < conns[least])
            least = i;
    }
    if (num_workers < 2 || total <= 16 * (size_t)num_workers || 5 * mine * num_workers <= 6 * total)
        return self;
    return conns[least] + 1 < mine ? least : self;
}
