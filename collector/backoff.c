// SPDX-License-Identifier: MIT
/*
 * backoff: capped exponential delays with equal jitter (see backoff.h for the formula).
 * Pure arithmetic; any thread.
 */
#include "collector/backoff.h"

uint64_t backoff_base_ms(uint64_t initial_ms, uint64_t max_ms, uint32_t attempt)
{
    uint64_t base;

    if (initial_ms == 0)
        initial_ms = 1;
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    if (attempt == 0)
        attempt = 1;

    /* Double until the cap; stop early so that the shift never overflows. */
    base = initial_ms;
    for (uint32_t i = 1; i < attempt && base < max_ms; ++i) {
        if (base > max_ms / 2) {
            base = max_ms;
            break;
        }
        base *= 2;
    }
    if (base > max_ms)
        base = max_ms;
    return base;
}

uint64_t backoff_delay_ms(uint64_t initial_ms, uint64_t max_ms, uint32_t attempt, uint32_t random)
{
    uint64_t base = backoff_base_ms(initial_ms, max_ms, attempt);
    uint64_t half = base / 2;

    return half + (uint64_t)random % (base - half + 1);
}
