// SPDX-License-Identifier: MIT
/*
 * health: the named checks behind /__heartbeat__ (Dockerflow). Modules register a check at
 * start (e.g. "spool_writable", "catalog_snapshot"); each request runs every check and the
 * endpoint answers 200 when all pass, else 503 with the failing checks and their reasons.
 *
 * Registration happens on the main thread before the workers start; health_report may then be
 * called from any thread, so checks must be thread-safe and cheap (no blocking I/O beyond a
 * statvfs or an atomic load).
 */
#ifndef edge__edge_health_h
#define edge__edge_health_h

#include <stddef.h>

/**
 * @param detail receives a short reason (NUL-terminated) when the check fails, or a note when it passes
 * @return 1 healthy, 0 failing
 */
typedef int (*health_check_cb)(void *arg, char *detail, size_t detail_size);

/** @return 0 or -ENOMEM. name must be a static string. */
int health_register(const char *name, health_check_cb cb, void *arg);

/**
 * Runs every check and renders {"healthy":bool,"checks":{"name":{"ok":bool,"detail":"..."}}}.
 * @param healthy receives 1 when every check passed
 * @return malloc'ed JSON (caller frees) with its length in *len, or NULL on ENOMEM.
 */
char *health_report(int *healthy, size_t *len);

/** Forgets every check (tests and shutdown). */
void health_reset(void);

/**
 * A ready-made check: the directory must be writable and its file system must have at least
 * min_free bytes available.
 */
typedef struct st_health_disk_t {
    const char *path;
    unsigned long long min_free;
} health_disk_t;
int health_check_disk(void *health_disk, char *detail, size_t detail_size);

#endif
