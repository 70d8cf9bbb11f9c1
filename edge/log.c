// SPDX-License-Identifier: MIT
/*
 * log: formats one JSON line per event and writes it to stderr with a single write(2).
 * The level threshold is an atomic so SIGHUP may change it while workers log.
 */
#include "edge/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = LOG_LEVEL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level_t level)
{
    atomic_store(&min_level, (int)level);
}

int log_level_parse(const char *name, log_level_t *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); ++i) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

/* Appends s JSON-escaped; stops (truncating) before overrunning the buffer. */
static size_t append_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s != '\0' && pos + 7 < cap; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c == '\n') {
            buf[pos++] = '\\';
            buf[pos++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(buf + pos, "\\u00", 4);
            buf[pos + 4] = hex[c >> 4];
            buf[pos + 5] = hex[c & 15];
            pos += 6;
        } else {
            buf[pos++] = (char)c;
        }
    }
    return pos;
}

void log_vwrite(log_level_t level, const char *component, const char *fmt, va_list args)
{
    if ((int)level < atomic_load(&min_level))
        return;

    char msg[2048], line[4608];
    vsnprintf(msg, sizeof(msg), fmt, args);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t pos = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\",\"component\":\"",
                                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                  (int)(tv.tv_usec / 1000), level_names[level]);
    pos = append_escaped(line, pos, sizeof(line) - 4, component);
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"msg\":\"");
    pos = append_escaped(line, pos, sizeof(line) - 4, msg);
    memcpy(line + pos, "\"}\n", 3);
    pos += 3;
    ssize_t unused = write(STDERR_FILENO, line, pos);
    (void)unused;
}

void log_write(log_level_t level, const char *component, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    log_vwrite(level, component, fmt, args);
    va_end(args);
}
