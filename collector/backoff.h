// SPDX-License-Identifier: MIT
/*
 * backoff: how long the forwarder waits before trying again, as pure functions of the attempt
 * number (no clock, no randomness of its own: the caller passes a random number), so that the
 * schedule can be unit-tested exactly.
 *
 * The delay before retry n (n >= 1) is "capped exponential with equal jitter":
 *   base  = min(max, initial * 2^(n-1))
 *   delay = base/2 + random % (base - base/2 + 1)        (so delay is in [base/2, base])
 * Half of the delay is certain (a failing upstream is never hammered), the other half is spread
 * at random so that reports that failed together do not all come back at the same instant.
 * Any thread.
 */
#ifndef edge__collector_backoff_h
#define edge__collector_backoff_h

#include <stdint.h>

/**
 * The un-jittered delay before retry number attempt.
 * @param initial_ms delay before the first retry (0 is treated as 1)
 * @param max_ms     cap (values below initial_ms are raised to it)
 * @param attempt    1 for the first retry; 0 is treated as 1
 * @return min(max_ms, initial_ms * 2^(attempt-1)), without overflow.
 */
uint64_t backoff_base_ms(uint64_t initial_ms, uint64_t max_ms, uint32_t attempt);

/**
 * The jittered delay before retry number attempt: in [base/2, base] where base = backoff_base_ms().
 * @param random any 32-bit random number (e.g. from random_r or getrandom)
 */
uint64_t backoff_delay_ms(uint64_t initial_ms, uint64_t max_ms, uint32_t attempt, uint32_t random);

#endif
