// SPDX-License-Identifier: MIT
/*
 * sentry_classify: the health checker's decisions, as pure functions with no libcurl types, so
 * that every rule is unit-tested directly (tests/unit/bouncer/test_sentry.c).
 *
 * - classification: what one HEAD answer (or transport failure) means for a location, and what a
 *   mirror root's answer means for the whole mirror;
 * - hysteresis: how consecutive observations move the persisted state (N failures to go down,
 *   M successes to come back);
 * - the quorum guard: whether a round's new downs are few enough to be believed;
 * - the check URL: base_url joined to the path with `:lang` replaced.
 *
 * Everything here is reentrant and allocation-free except sentry_check_url().
 */
#ifndef edge__bouncer_sentry_classify_h
#define edge__bouncer_sentry_classify_h

#include <stddef.h>
#include <stdint.h>
#include "bouncer/catalog.h"

/** How a transfer ended below HTTP (sentry_probe.c maps libcurl codes onto these). */
typedef enum en_sentry_transport_t {
    SENTRY_TRANSPORT_OK = 0,    /* an HTTP answer was received */
    SENTRY_TRANSPORT_TIMEOUT,   /* the per-request or connect timeout expired */
    SENTRY_TRANSPORT_DNS,       /* the host name did not resolve */
    SENTRY_TRANSPORT_CONNECT,   /* TCP connect refused / unreachable */
    SENTRY_TRANSPORT_TLS,       /* handshake or certificate verification failed */
    SENTRY_TRANSPORT_REDIRECTS, /* more than the one redirect that is followed */
    SENTRY_TRANSPORT_OTHER,     /* anything else (reset, bad answer, ...) */
} sentry_transport_t;

/** Result classes; also the `result` label of edge_bouncer_health_checks_total. */
typedef enum en_sentry_result_t {
    SENTRY_RESULT_OK = 0,     /* 200 and not text/html: present and healthy */
    SENTRY_RESULT_ABSENT,     /* 404 or 403: the mirror does not carry the file */
    SENTRY_RESULT_HTTP_ERROR, /* any other status (5xx, 401, a second redirect, ...) */
    SENTRY_RESULT_HTML,       /* 200 text/html: an error page or a portal, not the file */
    SENTRY_RESULT_TIMEOUT,
    SENTRY_RESULT_CONNECT, /* DNS, connect and TLS failures */
    SENTRY_RESULT_ERROR,   /* other transport failures */
    SENTRY_RESULT_COUNT
} sentry_result_t;

/** One finished check, as seen by the classifier. */
typedef struct st_sentry_answer_t {
    sentry_transport_t transport;
    long status;              /* HTTP status, 0 without an answer */
    const char *content_type; /* may be NULL */
    const char *detail;       /* transport error text, may be NULL */
} sentry_answer_t;

/**
 * Classifies the answer for a location and writes a short reason ("HTTP 500", "timeout: ...").
 * @param reason receives a NUL-terminated reason (truncated to size); may be NULL when size is 0
 * @return the result class.
 */
sentry_result_t sentry_classify(const sentry_answer_t *a, char *reason, size_t size);

/**
 * Classifies the answer for a mirror's base URL. Any HTTP status below 500 means the mirror is up
 * (roots commonly answer 403 or an HTML index); 5xx and transport failures mean it is down.
 * @return SENTRY_RESULT_OK when up, else the failure class (reason as for sentry_classify()).
 */
sentry_result_t sentry_classify_root(const sentry_answer_t *a, char *reason, size_t size);

/** "ok", "absent", "http_error", "html", "timeout", "connect", "error". */
const char *sentry_result_name(sentry_result_t r);

/** The state a result stands for: OK healthy, ABSENT absent, the rest unhealthy. */
catalog_health_state_t sentry_result_state(sentry_result_t r);

/**
 * Per (mirror, location) hysteresis memory. `state` is the persisted state (a location without a
 * health record is healthy); `streak` counts consecutive observations that disagree with it in
 * the direction of `pending`.
 */
typedef struct st_sentry_track_t {
    catalog_health_state_t state;
    catalog_health_state_t pending;
    uint32_t streak;
} sentry_track_t;

/** Initialises a track in the given persisted state with no streak. */
void sentry_track_init(sentry_track_t *t, catalog_health_state_t state);

/**
 * Feeds one observation.
 * - agreeing with the state: the streak resets;
 * - healthy while down: after successes_to_up consecutive healthy observations the state becomes healthy;
 * - unhealthy/absent while healthy: after failures_to_down consecutive non-healthy observations the
 *   state becomes the latest of them;
 * - unhealthy while absent or absent while unhealthy: the state follows at once (both are down).
 * @param failures_to_down, successes_to_up at least 1 (0 is treated as 1)
 * @return 1 when t->state changed, 0 otherwise.
 */
int sentry_track_observe(sentry_track_t *t, catalog_health_state_t observed, unsigned failures_to_down, unsigned successes_to_up);

/**
 * The quorum guard: a round that would newly mark `downs` of `total` items unhealthy is believed
 * only when downs <= max_down_fraction * total. Nothing to take down (downs 0) always passes; so
 * does a max_down_fraction of 1 or more.
 * @return 1 when the downs may be applied, 0 when the round must not take anything down.
 */
int sentry_quorum_allows(size_t downs, size_t total, double max_down_fraction);

/**
 * The language a check uses for `:lang`: en-US when the product lists no language or lists en-US
 * (case-insensitively), otherwise the first one listed.
 */
const char *sentry_pick_lang(const char *const *languages, size_t n);

/**
 * Builds base_url + path with exactly one '/' between them and every `:lang` replaced by lang.
 * @return a malloc'ed NUL-terminated URL the caller frees, or NULL on ENOMEM.
 */
char *sentry_check_url(const char *base_url, const char *path, const char *lang);

#endif
