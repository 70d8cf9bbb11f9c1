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
 * connect from one CPU, would send every connection to one worker. So each worker, when it
 * accepts, compares its open connections with its fair share: when it has held more than 1.2 times
 * the share (with at least 16 connections per worker in total) for CPU_ACCEPT_SKEW_MS, it clears
 * SO_INCOMING_CPU on its sockets and its CPU's SYNs are spread by hash; at or below its share it
 * sets it again. One client's burst of connections from one CPU does not last long enough to
 * count; a NIC that sends everything to one CPU does, and the imbalance then stays bounded.
 *
 * Pure logic (cpu_accept_decide) is separate from the socket calls for testing.
 */
#ifndef edge__cpu_accept_h
#define edge__cpu_accept_h

#include <stddef.h>
#include <stdint.h>

/**
 * The CPU a worker's listeners are bound to: the (index mod count)-th CPU this process may run on.
 * @return the CPU number, or -1 when the affinity mask cannot be read.
 */
int cpu_accept_cpu_of_worker(unsigned index);

/** Sets (cpu >= 0) or clears (cpu = -1) SO_INCOMING_CPU on a listening socket. @return 0 or -errno. */
int cpu_accept_set(int fd, int cpu);

/** How long a worker must hold too many connections before it stops taking its CPU's. */
#define CPU_ACCEPT_SKEW_MS 3000

/** A worker's side of the balance (its own thread only). */
typedef struct st_cpu_accept_state_t {
    int local;                 /* SO_INCOMING_CPU is set on its sockets */
    uint64_t skewed_since_ms;  /* 0: within its share at its last accept */
} cpu_accept_state_t;

/**
 * Looks at a worker's open connections after it accepted one.
 * @param mine its open connections; total: over the num_workers workers of its listeners
 * @return 1 when st->local changed (the caller sets or clears SO_INCOMING_CPU), else 0.
 */
int cpu_accept_update(cpu_accept_state_t *st, size_t mine, size_t total, unsigned num_workers, uint64_t now_ms);

#endif
