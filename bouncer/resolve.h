// SPDX-License-Identifier: MIT
/*
 * resolve: one download request (query string + a few request facts) -> one answer, with
 * go-bouncer's semantics (see the bouncer protocol reference and docs/catalog-format.md).
 *
 * Order: parse the query (first valid value of a repeated key wins, '+' is a space, a pair with
 * invalid %-escapes or a ';' is ignored as Go's url.ParseQuery does); trim and lower-case
 * product and os; no product -> landing page; defaults os=win, lang=en-US; lang must be a
 * language tag (letters, digits, '-', at most 20) or the answer is 400; rewrite rules; stub
 * attribution hand-off; alias (one level); os, product, language, location (each 404 when
 * unknown); scheme (https when the product is SSL-only or the request came over HTTPS: never a
 * downgrade); mirror choice (choose.h); URL = base URL + path with `:lang` replaced.
 *
 * Nothing here allocates or locks: results are views into the snapshot or the caller's buffer.
 * Runs on worker threads while the caller holds the snapshot (snapshot_acquire()).
 */
#ifndef edge__bouncer_resolve_h
#define edge__bouncer_resolve_h

#include <stddef.h>
#include <stdint.h>
#include "bouncer/choose.h"
#include "bouncer/snapshot.h"

/** A buffer of this size always holds the longest URL resolve_request() can produce. */
#define RESOLVE_BUF_SIZE 16384
/** Longest attribution_code / attribution_sig considered (longer: no attribution hand-off). */
#define RESOLVE_ATTRIBUTION_MAX 4096

typedef enum en_resolve_outcome_t {
    RESOLVE_REDIRECT = 0,  /* 302 to url (Cache-Control max-age) */
    RESOLVE_PRINT,         /* print=yes: 200 text/plain, body url */
    RESOLVE_LANDING,       /* no product: 302 to the landing page (url) */
    RESOLVE_STUB_REDIRECT, /* 302 to the stub attribution service (url) */
    RESOLVE_NOT_FOUND,     /* 404, see reason */
    RESOLVE_BAD_REQUEST,   /* 400, see reason */
} resolve_outcome_t;

typedef enum en_resolve_reason_t {
    RESOLVE_REASON_NONE = 0,
    RESOLVE_REASON_NO_LANDING,      /* no product and no landing page configured (404) */
    RESOLVE_REASON_INVALID_LANG,    /* lang is not a language tag (400) */
    RESOLVE_REASON_UNKNOWN_OS,      /* 404 */
    RESOLVE_REASON_UNKNOWN_PRODUCT, /* unknown, inactive or overlong product (404) */
    RESOLVE_REASON_UNKNOWN_LANG,    /* the product lists languages and not this one (404) */
    RESOLVE_REASON_NO_LOCATION,     /* no location for product x os (404) */
    RESOLVE_REASON_NO_MIRROR,       /* no enabled, present mirror of the scheme may serve (404) */
} resolve_reason_t;

/** Settings that change answers; parsed by the module's config.c, read-only here. */
typedef struct st_resolve_config_t {
    const char *landing_url;   /* NULL or "": 404 when there is no product */
    const char *stub_root_url; /* NULL or "": no stub attribution hand-off */
    const unsigned char *attribution_key; /* HMAC-SHA256 key; NULL/0: the signature is not checked */
    size_t attribution_key_len;
    int fail_open; /* use present-but-unhealthy mirrors when no healthy one can serve */
    uint64_t generation; /* differs between any two configs alive in one process (resolve_memo.h keys on it) */
} resolve_config_t;

typedef struct st_resolve_input_t {
    const resolve_config_t *config;
    const char *query; /* raw query string without '?' (may be NULL) */
    size_t query_len;
    const char *user_agent; /* may be NULL */
    size_t user_agent_len;
    const char *referer; /* may be NULL */
    size_t referer_len;
    int https;             /* the request came over HTTPS (TLS listener or trusted pin header) */
    const char *country;   /* client's ISO country code, NUL-terminated; NULL or "" when unknown */
    const char *continent; /* client's continent code; NULL or "" when unknown */
    double random;         /* uniform in [0, 1) */
} resolve_input_t;

typedef struct st_resolve_output_t {
    resolve_outcome_t outcome;
    resolve_reason_t reason;
    const char *url; /* REDIRECT/PRINT/STUB_REDIRECT: in buf; LANDING: the config's landing_url */
    size_t url_len;
    const char *mirror; /* chosen mirror name (snapshot), NULL when none */
    size_t mirror_len;
    const char *product; /* the product or alias as named in the catalog (snapshot); NULL when unknown */
    size_t product_len;
    const char *os; /* the os as named in the catalog (snapshot); NULL when unknown */
    size_t os_len;
    const char *rule; /* name of the last rewrite rule applied (snapshot), NULL when none */
    size_t rule_len;
    mirror_tier_t tier;
    int mirror_healthy; /* 0 when a present-but-unhealthy mirror was used (fail open) */
    int https;          /* the scheme decided for the mirror */
} resolve_output_t;

/**
 * Resolves one request.
 * @param snap the snapshot (held by the caller for as long as it uses out's views)
 * @param buf, bufsize where URLs are written (RESOLVE_BUF_SIZE is always enough)
 * @return 0 (see out->outcome), -EINVAL when snap or in->config is NULL, -ENOSPC when buf is too small.
 * @note No allocation except inside OpenSSL's HMAC when an attribution key is configured and
 *       a request carries attribution parameters.
 */
int resolve_request(const snapshot_t *snap, const resolve_input_t *in, resolve_output_t *out, char *buf, size_t bufsize);

/** Short lowercase names for logs and metric labels ("not_found", "unknown_os", ...). */
const char *resolve_outcome_name(resolve_outcome_t o);
const char *resolve_reason_name(resolve_reason_t r);

/**
 * Decodes one query component the way Go's url.QueryUnescape does ('+' is a space).
 * Writes at most cap bytes to dst (a longer result is truncated, but still checked).
 * @return the full decoded length, or -1 on an invalid escape.
 */
long resolve_query_unescape(const char *src, size_t len, char *dst, size_t cap);

#endif
