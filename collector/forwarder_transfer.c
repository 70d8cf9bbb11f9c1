// SPDX-License-Identifier: MIT
/*
 * forwarder_transfer: one request of a record's plan on a slot's libcurl easy handle, and the
 * judging of its answer. forwarder.c owns the record (spool read, decode, plan, outcome) and the
 * multi handle; this file owns the request, so forwarder.c only ever sees a verdict, a cause and
 * a short text.
 *
 * The easy handle is reset before every request so no option of one request of a plan leaks into
 * the next; the multi handle's connection cache keeps the connection across the reset. An answer
 * is kept up to FORWARDER__RESPONSE_MAX bytes (enough for Antenna's CrashID line and for the
 * quoted reason) and the rest is read and dropped, so a chatty upstream costs no memory. A request
 * that succeeds starts the plan's next one; the last success, or any failure, goes back to
 * forwarder__finish_record(). Runs on the upstream's thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/sha.h>

#include "collector/forwarder_internal.h"

/*
 * Copies text into buf with control characters replaced, at most max bytes (for reasons and logs).
 * Non-ASCII bytes become '?': an upstream's answer may be Latin-1, or cut inside a UTF-8 sequence,
 * and the result must stay valid UTF-8 for the JSON views of the spool.
 */
static void quote_text(char *buf, size_t bufsize, const char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < bufsize; ++i) {
        unsigned char ch = (unsigned char)text[i];
        buf[n++] = ch < 0x20 || ch == 0x7f ? ' ' : ch >= 0x80 ? '?' : (char)ch;
    }
    while (n > 0 && buf[n - 1] == ' ')
        --n;
    buf[n] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    slot_t *slot = arg;
    size_t len = size * nmemb, room = sizeof(slot->response) - 1 - slot->response_len;
    if (len < room)
        room = len;
    memcpy(slot->response + slot->response_len, data, room);
    slot->response_len += room;
    slot->response[slot->response_len] = '\0';
    return len; /* the rest of a long answer is read and dropped */
}

static int add_header(struct curl_slist **list, const char *fmt, const char *value)
{
    char *line = NULL;
    struct curl_slist *l;
    if (asprintf(&line, fmt, value) < 0)
        return -ENOMEM;
    l = curl_slist_append(*list, line);
    free(line);
    if (l == NULL)
        return -ENOMEM;
    *list = l;
    return 0;
}

int forwarder__start_request(slot_t *slot)
{
    upstream_t *up = slot->up;
    const upstream_config_t *cfg = up->cfg;
    const upstream_request_t *req = &slot->plan.requests[slot->step];
    CURL *e = slot->easy;
    char sigv4[64];

    curl_slist_free_all(slot->headers);
    slot->headers = NULL;
    slot->response_len = 0;
    slot->response[0] = '\0';
    slot->errbuf[0] = '\0';
    if (add_header(&slot->headers, "Content-Type: %s", req->content_type) != 0)
        return -ENOMEM;
    /* no "Expect: 100-continue" round trip for antenna; for s3 libcurl 7.88 would sign the
     * suppressed (empty) Expect header and S3 would refuse the signature, so leave it alone there */
    if (cfg->kind == UPSTREAM_ANTENNA && add_header(&slot->headers, "Expect:%s", "") != 0)
        return -ENOMEM;
    if (cfg->kind == UPSTREAM_ANTENNA && cfg->token != NULL && add_header(&slot->headers, "Authorization: Bearer %s", cfg->token) != 0)
        return -ENOMEM;
    if (cfg->kind == UPSTREAM_S3) {
        /* sign the payload (S3 checks it) rather than sending UNSIGNED-PAYLOAD */
        unsigned char digest[SHA256_DIGEST_LENGTH];
        char hex[2 * SHA256_DIGEST_LENGTH + 1];
        SHA256(req->body != NULL ? req->body : (const uint8_t *)"", req->body_len, digest);
        for (size_t i = 0; i < sizeof(digest); ++i)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        if (add_header(&slot->headers, "x-amz-content-sha256: %s", hex) != 0)
            return -ENOMEM;
    }

    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_PRIVATE, slot);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "edge-forwarder");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, slot);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body != NULL ? (const char *)req->body : "");
    if (strcmp(req->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, slot->headers);
    if (cfg->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cfg->kind == UPSTREAM_S3) {
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, upstream_s3__sigv4(cfg, sigv4, sizeof(sigv4)));
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->access_key);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->secret_key);
    }
    if (curl_multi_add_handle(up->multi, e) != CURLM_OK)
        return -ENOMEM;
    return 0;
}

static forwarder_cause_t cause_of_curl(CURLcode code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return FORWARDER_CAUSE_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return FORWARDER_CAUSE_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
        return FORWARDER_CAUSE_TLS;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
        return FORWARDER_CAUSE_NETWORK;
    default:
        return FORWARDER_CAUSE_OTHER;
    }
}

void forwarder__on_transfer_done(slot_t *slot, CURLcode code)
{
    upstream_t *up = slot->up;
    forwarder_verdict_t verdict;
    forwarder_cause_t cause;
    char detail[FORWARDER__QUOTE_MAX + 64], quoted[FORWARDER__QUOTE_MAX];
    long status = 0;

    curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(up->multi, slot->easy);
    if (code != CURLE_OK) {
        verdict = FORWARDER_RETRY;
        cause = cause_of_curl(code);
        snprintf(detail, sizeof(detail), "%s", slot->errbuf[0] != '\0' ? slot->errbuf : curl_easy_strerror(code));
    } else {
        if (up->cfg->kind == UPSTREAM_ANTENNA)
            verdict = upstream_antenna__judge(slot->rec.crash_id, status, slot->response, slot->response_len, &cause);
        else
            verdict = upstream_s3__judge(status, &cause);
        quote_text(quoted, sizeof(quoted), slot->response, slot->response_len);
        snprintf(detail, sizeof(detail), "HTTP %ld: %s", status, quoted);
    }
    if (verdict == FORWARDER_DONE && slot->step + 1 < slot->plan.count) {
        ++slot->step;
        if (forwarder__start_request(slot) == 0)
            return;
        verdict = FORWARDER_RETRY;
        cause = FORWARDER_CAUSE_OTHER;
        snprintf(detail, sizeof(detail), "out of memory");
    }
    forwarder__finish_record(slot, verdict, cause, detail);
}
