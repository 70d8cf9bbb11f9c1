// SPDX-License-Identifier: MIT
/*
 * cpu_accept: CPU-local accepting of connections, kept in balance.
 *
 * Every worker thread listens on its own SO_REUSEPORT socket. By default the kernel picks one of
 * them by hashing each new connection, so a client's connections land on every worker and each
 * worker's answers wake the client from another thread (on the 2-core benchmark machine that cost
 * ~20% of the redirect rate and most of the 99th-percentile latency). With SO_INCOMING_CPU set to
 * one CPU per worker (Linux >= 6.1 honours it inside a reuseport group), a connection goes to the
 * worker of the CPU that processed its SYN: the CPU of its NIC queue, or of the client on loopback.
 *
 * That bets on SYNs being spread over the CPUs. A single-queue NIC, or clients that happen to
 * connect from one CPU, would send every connection to one worker. So a worker that would hold
 * more than 1.2 times its fair share of the open connections (judged beyond 16 per worker, so that
 * one client's burst of connections from one CPU still lands together) hands the new connection
 * to the least loaded worker, which takes the socket over before any byte of it is read.
 *
 * Pure logic (cpu_accept_handoff) is separate from the socket calls for testing.
 */
#ifndef edge__cpu_accept_h
#define edge__cpu_accept_h

#include <stddef.h>

/**
 * The CPU a worker's listeners are bound to: the (index mod count)-th CPU this process may run on.
 * @return the CPU number, or -1 when the affinity mask cannot be read.
 */
int cpu_accept_cpu_of_worker(unsigned index);

/** Sets (cpu >= 0) or clears (cpu = -1) SO_INCOMING_CPU on a listening socket. @return 0 or -errno. */
int cpu_accept_set(int fd, int cpu);

/**
 * Where a worker's newly accepted connection should go.
 * @param conns the open connections of each worker, not counting the new one
 * @return self, or the least loaded worker when self would hold more than 1.2 times its fair share
 * (judged beyond 16 connections per worker) and that worker holds fewer.
 */
unsigned cpu_accept_handoff(const size_t *conns, unsigned num_workers, unsigned self);

#endif
