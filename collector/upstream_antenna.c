// SPDX-License-Identifier: MIT
/*
 * upstream_antenna: delivering a crash to another Antenna-compatible collector. The plan is one
 * multipart POST built by crashrec_repost_body() (the crash id travels as the `uuid` annotation,
 * honoured by the upstream because the forwarder sends `Authorization: Bearer <token>`); the
 * boundary is random and drawn again when it happens to occur in the content.
 * The answer counts only when it is 2xx AND names the same crash id (`CrashID=bp-<id>` on a line
 * of its own): a proxy's 200 page, or an upstream that minted another id, is a bad answer and the
 * record is retried. Pure functions; any thread (forwarder threads in practice).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "collector/forwarder_internal.h"

/** Attempts at drawing a boundary that does not occur in the content. */
#define BOUNDARY_TRIES 8

static void make_boundary(char *buf, size_t bufsize)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t rnd[16];
    size_t n = 0;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* getrandom on Linux >= 3.17 does not fail for 16 bytes once seeded; keep going with whatever we have */
        for (size_t i = 0; i < sizeof(rnd); ++i)
            rnd[i] = (uint8_t)random();
    }
    n = (size_t)snprintf(buf, bufsize, "edgefwd-");
    for (size_t i = 0; i < sizeof(rnd) && n + 2 < bufsize; ++i) {
        buf[n++] = hex[rnd[i] >> 4];
        buf[n++] = hex[rnd[i] & 15];
    }
    buf[n] = '\0';
}

int upstream_antenna__plan(const upstream_config_t *up, const crashrec_t *rec, upstream_plan_t *out)
{
    char boundary[64];
    char *body = NULL;
    size_t body_len = 0;
    int ret = -ENOMEM;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < BOUNDARY_TRIES; ++i) {
        make_boundary(boundary, sizeof(boundary));
        ret = crashrec_repost_body(rec, boundary, 0, &body, &body_len);
        if (ret != -EEXIST)
            break;
    }
    if (ret != 0)
        goto Exit;

    ret = -ENOMEM;
    if ((out->requests = calloc(1, sizeof(*out->requests))) == NULL)
        goto Exit;
    out->count = 1;
    upstream_request_t *req = &out->requests[0];
    req->method = "POST";
    req->owned_body = body;
    req->body = (const uint8_t *)body;
    req->body_len = body_len;
    body = NULL;
    if ((req->url = strdup(up->url)) == NULL || asprintf(&req->content_type, "multipart/form-data; boundary=%s", boundary) < 0) {
        req->content_type = NULL;
        goto Exit;
    }
    ret = 0;

Exit:
    free(body);
    if (ret != 0)
        upstream__plan_dispose(out);
    return ret;
}

/* Is there a line "CrashID=bp-<crash_id>" (optionally ending in CR) in body? */
static int has_crash_id_line(const char *crash_id, const char *body, size_t body_len)
{
    char want[96];
    int want_len = snprintf(want, sizeof(want), "CrashID=bp-%s", crash_id);
    const char *p = body, *end = body + body_len;

    if (want_len <= 0 || (size_t)want_len >= sizeof(want))
        return 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol != NULL ? eol : end;
        size_t len = (size_t)(line_end - p);
        if (len > 0 && p[len - 1] == '\r')
            --len;
        if (len == (size_t)want_len && memcmp(p, want, len) == 0)
            return 1;
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return 0;
}

forwarder_verdict_t upstream_antenna__judge(const char *crash_id, long status, const char *body, size_t body_len,
                                            forwarder_cause_t *cause)
{
    forwarder_verdict_t verdict = FORWARDER_RETRY;

    if (status >= 200 && status <= 299) {
        if (has_crash_id_line(crash_id, body, body_len)) {
            *cause = FORWARDER_CAUSE_NONE;
            verdict = FORWARDER_DONE;
        } else {
            *cause = FORWARDER_CAUSE_BAD_ANSWER;
        }
    } else if (status >= 300 && status <= 399) {
        *cause = FORWARDER_CAUSE_REDIRECT;
    } else if (status == 429) {
        *cause = FORWARDER_CAUSE_429;
    } else if (status == 408) {
        *cause = FORWARDER_CAUSE_TIMEOUT;
    } else if (status >= 400 && status <= 499) {
        *cause = FORWARDER_CAUSE_4XX;
        verdict = FORWARDER_PERMANENT;
    } else if (status >= 500 && status <= 599) {
        *cause = FORWARDER_CAUSE_5XX;
    } else {
        *cause = FORWARDER_CAUSE_BAD_ANSWER;
    }
    return verdict;
}
