// SPDX-License-Identifier: MIT
/*
 * statsd: optionally pushes the same counters and gauges as /metrics to a statsd server over UDP,
 * from its own thread, every interval. Counters are sent as deltas (`name:delta|c`), gauges as
 * values (`name:value|g`); labels become part of the name (`edge.http_requests_total.route.redirect...`),
 * the common denominator of statsd servers.
 */
#ifndef edge__edge_app_statsd_h
#define edge__edge_app_statsd_h

#include <stdint.h>
#include <sys/socket.h>

typedef struct st_statsd_t statsd_t;

/** Starts the pushing thread. @return the handle, or NULL with errno set. */
statsd_t *statsd_start(const struct sockaddr *addr, socklen_t addrlen, const char *prefix, uint64_t interval_ms);

/** Sends a last batch, stops and frees. NULL is a no-op. */
void statsd_stop(statsd_t *statsd);

#endif
