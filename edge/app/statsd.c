// SPDX-License-Identifier: MIT
/*
 * statsd: a thread that wakes every interval, walks the metrics registry and sends one UDP
 * datagram per ~1400 bytes of lines. Previous counter values are remembered in a small
 * open-addressing table keyed by the series' full name so only deltas are sent.
 */
#include "edge/app/statsd.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "edge/metrics.h"

#define MAX_SERIES 4096
#define DATAGRAM_SIZE 1400

struct st_statsd_t {
    int fd;
    char *prefix;
    uint64_t interval_ms;
    pthread_t tid;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int stopping;
    struct {
        char *key;
        double value;
    } previous[MAX_SERIES];
    char datagram[DATAGRAM_SIZE];
    size_t datagram_len;
};

static void flush(statsd_t *s)
{
    if (s->datagram_len != 0) {
        ssize_t unused = send(s->fd, s->datagram, s->datagram_len, 0);
        (void)unused;
        s->datagram_len = 0;
    }
}

/* statsd names: labels `a="x",b="y"` become `.a.x.b.y`; characters other than [A-Za-z0-9_-] become '_' */
static void build_name(char *out, size_t cap, const char *prefix, const char *name, const char *labels)
{
    size_t o = (size_t)snprintf(out, cap, "%s.%s%s", prefix, name, labels[0] != '\0' ? "." : "");
    for (const char *p = labels; *p != '\0' && o + 2 < cap; ++p) {
        char c = *p;
        if (c == '=' || c == ',')
            out[o++] = '.';
        else if (c == '"')
            continue;
        else
            out[o++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') ? c : '_';
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static double *previous_slot(statsd_t *s, const char *key)
{
    size_t h = 5381;
    for (const char *p = key; *p != '\0'; ++p)
        h = h * 33 + (unsigned char)*p;
    for (size_t i = 0; i < MAX_SERIES; ++i) {
        size_t slot = (h + i) % MAX_SERIES;
        if (s->previous[slot].key == NULL) {
            if ((s->previous[slot].key = strdup(key)) == NULL)
                return NULL;
            return &s->previous[slot].value;
        }
        if (strcmp(s->previous[slot].key, key) == 0)
            return &s->previous[slot].value;
    }
    return NULL;
}

static void on_series(const char *name, const char *labels, int is_counter, double value, void *arg)
{
    statsd_t *s = arg;
    char full[512], line[600];
    build_name(full, sizeof(full), s->prefix, name, labels);
    int len;
    if (is_counter) {
        double *prev = previous_slot(s, full);
        if (prev == NULL)
            return;
        double delta = value - *prev;
        *prev = value;
        if (delta <= 0)
            return;
        len = snprintf(line, sizeof(line), "%s:%.0f|c\n", full, delta);
    } else {
        len = snprintf(line, sizeof(line), "%s:%.15g|g\n", full, value);
    }
    if (len <= 0 || (size_t)len >= sizeof(line))
        return;
    if (s->datagram_len + (size_t)len > DATAGRAM_SIZE)
        flush(s);
    memcpy(s->datagram + s->datagram_len, line, (size_t)len);
    s->datagram_len += (size_t)len;
}

static void *statsd_main(void *arg)
{
    statsd_t *s = arg;
    pthread_mutex_lock(&s->mutex);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(s->interval_ms / 1000);
        until.tv_nsec += (long)(s->interval_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000;
        }
        while (!s->stopping && pthread_cond_timedwait(&s->cond, &s->mutex, &until) != ETIMEDOUT)
            ;
        metrics_foreach(on_series, s);
        flush(s);
    }
    pthread_mutex_unlock(&s->mutex);
    return NULL;
}

statsd_t *statsd_start(const struct sockaddr *addr, socklen_t addrlen, const char *prefix, uint64_t interval_ms)
{
    statsd_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->interval_ms = interval_ms;
    s->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0 || connect(s->fd, addr, addrlen) != 0 || (s->prefix = strdup(prefix)) == NULL)
        goto Error;
    pthread_mutex_init(&s->mutex, NULL);
    pthread_cond_init(&s->cond, NULL);
    if ((errno = pthread_create(&s->tid, NULL, statsd_main, s)) != 0)
        goto Error;
    pthread_setname_np(s->tid, "edge-statsd");
    return s;
Error:
    if (s->fd >= 0)
        close(s->fd);
    free(s->prefix);
    free(s);
    return NULL;
}

void statsd_stop(statsd_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mutex);
    s->stopping = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mutex);
    pthread_join(s->tid, NULL);
    close(s->fd);
    for (size_t i = 0; i < MAX_SERIES; ++i)
        free(s->previous[i].key);
    free(s->prefix);
    pthread_mutex_destroy(&s->mutex);
    pthread_cond_destroy(&s->cond);
    free(s);
}
