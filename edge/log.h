// SPDX-License-Identifier: MIT
/*
 * log: one JSON object per line on stderr, the only place edge writes diagnostics.
 *
 * Every line carries a UTC timestamp, a level, a component and a message, e.g.
 *   {"ts":"2026-11-26T07:12:03.123Z","level":"warn","component":"spool","msg":"disk nearly full"}
 * The message is printf-formatted and JSON-escaped here, so callers may pass hostile text.
 * A line is written with a single write(2), so lines from different threads never interleave.
 * Thread-safe; callable from any thread.
 */
#ifndef edge__edge_log_h
#define edge__edge_log_h

#include <stdarg.h>

typedef enum en_log_level_t {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
} log_level_t;

/** Lines below this level are dropped (default LOG_LEVEL_INFO). */
void log_set_level(log_level_t level);

/**
 * Parses "debug", "info", "warn" or "error".
 * @return 0, or -1 when the name is unknown.
 */
int log_level_parse(const char *name, log_level_t *out);

/** Writes one line. @param component short lowercase name of the emitting module. */
void log_write(log_level_t level, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vwrite(log_level_t level, const char *component, const char *fmt, va_list args);

#define log_debug(component, ...) log_write(LOG_LEVEL_DEBUG, component, __VA_ARGS__)
#define log_info(component, ...) log_write(LOG_LEVEL_INFO, component, __VA_ARGS__)
#define log_warn(component, ...) log_write(LOG_LEVEL_WARN, component, __VA_ARGS__)
#define log_error(component, ...) log_write(LOG_LEVEL_ERROR, component, __VA_ARGS__)

#endif
