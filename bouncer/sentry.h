// SPDX-License-Identifier: MIT
/*
 * sentry: the mirror health checker. One background thread wakes every `interval` (or when
 * sentry_trigger() asks), loads the catalog from the store, and sends a HEAD request for every
 * location of every enabled mirror whose scheme fits the product (https:// mirrors for SSL-only
 * products, http:// mirrors for the others), with `:lang` replaced by one of the product's
 * languages (en-US when it lists none or lists en-US). Requests run through one libcurl multi
 * handle with a bounded number of transfers in flight.
 *
 * Each answer is classified (see sentry_classify.h): 200 and not text/html is healthy, 404/403
 * absent, anything else unhealthy. Every mirror's base URL is checked first; a failing root makes
 * every location of that mirror unhealthy for the round. Hysteresis (N failures before a location
 * goes down, M successes before it comes back) is kept in memory; the persisted state is the
 * store's health records. A round whose downs would exceed `max_down_fraction`, or whose canary
 * fails, is not applied: the checker assumes its own network is broken. All changes of a round are
 * written in one store transaction, after which on_change is called once.
 *
 * Thread model: sentry_create/destroy on the owner's thread; the checker thread runs rounds;
 * sentry_status_json and sentry_trigger may be called from any thread.
 */
#ifndef edge__bouncer_sentry_h
#define edge__bouncer_sentry_h

#include "edge/conf.h"
#include "bouncer/store.h"

typedef struct st_sentry_config_t sentry_config_t;
typedef struct st_sentry_t sentry_t;

/**
 * Called on the sentry thread after a round changed health records in the store (once per round).
 * Typically rebuilds and publishes a snapshot. Must not call sentry_destroy().
 */
typedef void (*sentry_change_cb)(void *arg);

/**
 * Parses the `bouncer.health_check` section (keys: docs/configuration.md).
 * @param node the section, or NULL for all defaults
 * @param[out] out the parsed configuration (free with sentry_config_destroy())
 * @param[out] err file, line and key of the first problem
 * @return 0, -1 with err filled (invalid key or value, or out of memory).
 * @note The configuration copies every string it keeps; node is only read during the call.
 */
int sentry_config_parse(const conf_node_t *node, sentry_config_t **out, conf_error_t *err);

/** Frees a configuration. NULL is a no-op. */
void sentry_config_destroy(sentry_config_t *c);

/** @return 1 when health checking is enabled (the `enabled` key), 0 otherwise. */
int sentry_enabled(const sentry_config_t *c);

/**
 * Starts the checker thread (when the configuration is enabled; otherwise the sentry exists, reports
 * `"enabled":false` in its status and never checks anything). The first round starts at once.
 * @param config copied; the caller may destroy it after the call
 * @param store borrowed; must outlive the sentry
 * @param on_change may be NULL; called as described above with arg
 * @param[out] out the sentry (stop and free with sentry_destroy())
 * @param[out] err why it failed
 * @return 0, or -1 with err filled (out of memory, libcurl or thread start failure). On failure
 *         on_change is never called.
 */
int sentry_create(const sentry_config_t *config, store_t *store, sentry_change_cb on_change, void *arg, sentry_t **out,
                  conf_error_t *err);

/**
 * Stops the thread promptly, even in the middle of a round (transfers in flight are aborted and the
 * round's results are dropped), and frees everything. NULL is a no-op.
 * @note After it returns on_change is never called again.
 */
void sentry_destroy(sentry_t *s);

/**
 * Renders the checker's state as a JSON object:
 * {"enabled":bool,"running":bool,"rounds":n,"last_round_start":unix-s|null,"last_round_end":unix-s|null,
 *  "last_round_duration_ms":n,"checks":n,"last_round_skipped":bool,"skipped_reason":str|null,"rounds_skipped":n,
 *  "interval_ms":n,"mirrors":{"<name>":{"state":"healthy"|"unhealthy"|"absent"|"unknown","healthy":n,"unhealthy":n,
 *  "absent":n,"last_check":unix-s|null,"last_reason":str|null}}}
 * "mirrors" lists the enabled mirrors as of the last round that ran its checks (a round skipped by
 * the canary leaves it as it was). Counts are per location, after
 * hysteresis and the quorum guard (what the store holds). A mirror's "state" is healthy when any of
 * its locations is, else unhealthy when any is unhealthy, else absent when any is absent, else
 * unknown (nothing to check). "last_reason" is the reason of its worst last check (a root failure
 * or an unhealthy location before an absent one), null when every check passed.
 * @return a malloc'ed NUL-terminated string the caller frees, or NULL on ENOMEM.
 * @note Any thread.
 */
char *sentry_status_json(sentry_t *s);

/**
 * Asks for a round now (e.g. after an admin write added a mirror or location). When a round is in
 * progress, another one starts as soon as it ends. Any thread; never blocks for long.
 */
void sentry_trigger(sentry_t *s);

#endif
