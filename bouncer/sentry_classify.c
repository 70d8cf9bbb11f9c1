// SPDX-License-Identifier: MIT
/*
 * sentry_classify: pure decision functions of the mirror health checker (see sentry_classify.h).
 *
 * Classification follows the old checkers: only a 200 that is not an HTML page proves the file is
 * there; 404 and 403 are a definite "not carried"; everything else (5xx, other statuses, a second
 * redirect, timeouts, connection and TLS failures) is "present but failing". Reasons are short,
 * bounded texts meant for the status JSON, the store's health records and logs.
 * Runs on the sentry thread (and in unit tests); no state, no locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bouncer/sentry_classify.h"

static const char *const result_names[SENTRY_RESULT_COUNT] = {"ok", "absent", "http_error", "html", "timeout", "connect", "error"};

const char *sentry_result_name(sentry_result_t r)
{
    return (unsigned)r < SENTRY_RESULT_COUNT ? result_names[r] : "error";
}

catalog_health_state_t sentry_result_state(sentry_result_t r)
{
    switch (r) {
    case SENTRY_RESULT_OK:
        return CATALOG_HEALTH_HEALTHY;
    case SENTRY_RESULT_ABSENT:
        return CATALOG_HEALTH_ABSENT;
    default:
        return CATALOG_HEALTH_UNHEALTHY;
    }
}

static int is_html(const char *ct)
{
    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ++ct;
    if (strncasecmp(ct, "text/html", 9) != 0)
        return 0;
    return ct[9] == '\0' || ct[9] == ';' || ct[9] == ' ' || ct[9] == '\t';
}

/* Writes "<what>[: <detail>]" into reason. */
static void say(char *reason, size_t size, const char *what, const char *detail)
{
    if (size == 0)
        return;
    if (detail != NULL && detail[0] != '\0')
        snprintf(reason, size, "%s: %s", what, detail);
    else
        snprintf(reason, size, "%s", what);
}

/* Classifies a transport failure (a->transport != OK). */
static sentry_result_t transport_failure(const sentry_answer_t *a, char *reason, size_t size)
{
    switch (a->transport) {
    case SENTRY_TRANSPORT_TIMEOUT:
        say(reason, size, "timeout", a->detail);
        return SENTRY_RESULT_TIMEOUT;
    case SENTRY_TRANSPORT_DNS:
        say(reason, size, "dns", a->detail);
        return SENTRY_RESULT_CONNECT;
    case SENTRY_TRANSPORT_CONNECT:
        say(reason, size, "connect", a->detail);
        return SENTRY_RESULT_CONNECT;
    case SENTRY_TRANSPORT_TLS:
        say(reason, size, "tls", a->detail);
        return SENTRY_RESULT_CONNECT;
    case SENTRY_TRANSPORT_REDIRECTS:
        say(reason, size, "more than one redirect", NULL);
        return SENTRY_RESULT_HTTP_ERROR;
    default:
        say(reason, size, "error", a->detail);
        return SENTRY_RESULT_ERROR;
    }
}

sentry_result_t sentry_classify(const sentry_answer_t *a, char *reason, size_t size)
{
    if (a->transport != SENTRY_TRANSPORT_OK)
        return transport_failure(a, reason, size);
    if (a->status == 200) {
        if (is_html(a->content_type)) {
            say(reason, size, "HTTP 200 text/html (an HTML page, not the file)", NULL);
            return SENTRY_RESULT_HTML;
        }
        say(reason, size, "HTTP 200", NULL);
        return SENTRY_RESULT_OK;
    }
    if (size != 0)
        snprintf(reason, size, "HTTP %ld", a->status);
    if (a->status == 404 || a->status == 403)
        return SENTRY_RESULT_ABSENT;
    return SENTRY_RESULT_HTTP_ERROR;
}

sentry_result_t sentry_classify_root(const sentry_answer_t *a, char *reason, size_t size)
{
    sentry_result_t r;
    if (a->transport != SENTRY_TRANSPORT_OK) {
        r = transport_failure(a, reason, size);
        /* a root that redirects twice still answers: the mirror is up */
        return a->transport == SENTRY_TRANSPORT_REDIRECTS ? SENTRY_RESULT_OK : r;
    }
    if (size != 0)
        snprintf(reason, size, "HTTP %ld", a->status);
    return a->status >= 100 && a->status < 500 ? SENTRY_RESULT_OK : SENTRY_RESULT_HTTP_ERROR;
}

void sentry_track_init(sentry_track_t *t, catalog_health_state_t state)
{
    t->state = state;
    t->pending = state;
    t->streak = 0;
}

int sentry_track_observe(sentry_track_t *t, catalog_health_state_t observed, unsigned failures_to_down, unsigned successes_to_up)
{
    unsigned need;
    if (failures_to_down == 0)
        failures_to_down = 1;
    if (successes_to_up == 0)
        successes_to_up = 1;

    if (observed == t->state) {
        t->pending = t->state;
        t->streak = 0;
        return 0;
    }
    if (t->state != CATALOG_HEALTH_HEALTHY && observed != CATALOG_HEALTH_HEALTHY) {
        /* unhealthy <-> absent: both keep the mirror out of the healthy set; follow at once */
        sentry_track_init(t, observed);
        return 1;
    }
    /* a streak in the other direction starts over */
    if ((t->pending == CATALOG_HEALTH_HEALTHY) != (observed == CATALOG_HEALTH_HEALTHY) || t->pending == t->state)
        t->streak = 0;
    t->pending = observed;
    if (t->streak < UINT32_MAX)
        ++t->streak;
    need = observed == CATALOG_HEALTH_HEALTHY ? successes_to_up : failures_to_down;
    if (t->streak < need)
        return 0;
    sentry_track_init(t, observed);
    return 1;
}

int sentry_quorum_allows(size_t downs, size_t total, double max_down_fraction)
{
    if (downs == 0 || max_down_fraction >= 1.0)
        return 1;
    /* small epsilon so that e.g. 0.3 * 10 allows 3 downs despite binary rounding */
    return (double)downs <= max_down_fraction * (double)total + 1e-9;
}

const char *sentry_pick_lang(const char *const *languages, size_t n)
{
    if (n == 0)
        return "en-US";
    for (size_t i = 0; i != n; ++i)
        if (strcasecmp(languages[i], "en-US") == 0)
            return languages[i];
    return languages[0];
}

char *sentry_check_url(const char *base_url, const char *path, const char *lang)
{
    size_t blen = strlen(base_url), plen = strlen(path), llen = strlen(lang), n = 0, cap;
    char *url;

    /* count the :lang occurrences to size the result exactly */
    for (size_t i = 0; i + 5 <= plen;) {
        if (memcmp(path + i, ":lang", 5) == 0) {
            ++n;
            i += 5;
        } else {
            ++i;
        }
    }
    while (blen != 0 && base_url[blen - 1] == '/')
        --blen;
    while (plen != 0 && path[0] == '/') {
        ++path;
        --plen;
    }
    cap = blen + 1 + plen + n * llen + 1;
    if ((url = malloc(cap)) == NULL)
        return NULL;
    memcpy(url, base_url, blen);
    size_t o = blen;
    url[o++] = '/';
    for (size_t i = 0; i < plen;) {
        if (i + 5 <= plen && memcmp(path + i, ":lang", 5) == 0) {
            memcpy(url + o, lang, llen);
            o += llen;
            i += 5;
        } else {
            url[o++] = path[i++];
        }
    }
    url[o] = '\0';
    return url;
}
