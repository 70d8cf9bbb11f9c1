// SPDX-License-Identifier: MIT
/*
 * sentry_internal.h: declarations shared by the health checker's files (sentry.c, sentry_config.c,
 * sentry_probe.c) and nowhere else.
 *
 * The probe is the only part that knows libcurl: it runs a batch of HEAD requests on one curl
 * multi handle, at most `concurrency` at once, and reports each answer through a callback in
 * libcurl-free terms (sentry_answer_t). It runs on the sentry thread; only
 * sentry__probe_wakeup() may be called from another thread.
 */
#ifndef edge__bouncer_sentry_internal_h
#define edge__bouncer_sentry_internal_h

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "bouncer/sentry.h"
#include "bouncer/sentry_classify.h"

struct st_sentry_config_t {
    int enabled;
    uint64_t interval_ms;
    uint64_t timeout_ms;
    uint64_t connect_timeout_ms;
    unsigned concurrency;
    unsigned failures_to_down;
    unsigned successes_to_up;
    double max_down_fraction;
    char *user_agent; /* never NULL after parse */
    char *canary_url; /* NULL: no canary */
    char *ca_file;    /* NULL: the system's trust store */
};

/** Deep copy. @return 0 or -ENOMEM. */
int sentry__config_copy(sentry_config_t **out, const sentry_config_t *src);

typedef struct st_sentry_probe_t sentry_probe_t;

/** Called once per job when its transfer ends; a is only valid during the call. */
typedef void (*sentry_probe_done_cb)(void *arg, size_t index, const sentry_answer_t *a);

/**
 * @param config borrowed; must outlive the probe
 * @return 0, -ENOMEM, -EIO (libcurl refused to initialise).
 */
int sentry__probe_create(const sentry_config_t *config, sentry_probe_t **out);
void sentry__probe_destroy(sentry_probe_t *p);

/**
 * HEADs every URL (following at most one redirect, TLS verified), calling on_done for each.
 * @param stop checked between polls (every 100 ms at most, sooner after sentry__probe_wakeup())
 * @return 0 when every job finished, -ECANCELED when stop was set (unfinished jobs get no
 *         callback), -ENOMEM.
 */
int sentry__probe_run(sentry_probe_t *p, const char *const *urls, size_t n, const atomic_int *stop, sentry_probe_done_cb on_done,
                      void *arg);

/** Interrupts a sentry__probe_run() poll. Any thread. */
void sentry__probe_wakeup(sentry_probe_t *p);

#endif
