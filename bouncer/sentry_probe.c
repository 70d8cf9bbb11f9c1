// SPDX-License-Identifier: MIT
/*
 * sentry_probe: the health checker's HTTP client, the only file of the sentry that knows libcurl.
 *
 * One curl multi handle and a pool of `concurrency` easy handles: a batch of URLs is fed through
 * the pool so that at most `concurrency` HEAD requests are in flight, connections to the same
 * mirror are reused through the multi handle's connection cache, and the sentry thread sleeps in
 * curl_multi_poll() between events for at most 100 ms, so a stop request (the flag plus
 * sentry__probe_wakeup()) ends a batch promptly even when a mirror hangs. libcurl codes stop
 * here: answers leave as sentry_answer_t. Runs on the sentry thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "bouncer/sentry_internal.h"

#define POLL_MS 100

struct st_sentry_probe_t {
    const sentry_config_t *config;
    CURLM *multi;
    CURL **easies;
    size_t num_easies;
    size_t *free_slots; /* stack of idle easy handle indexes */
    size_t num_free;
    size_t *slot_job; /* job index each busy handle runs */
    char (*errbufs)[CURL_ERROR_SIZE];
    int global_ok; /* curl_global_init succeeded */
};

void sentry__probe_destroy(sentry_probe_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->easies != NULL && i != p->num_easies; ++i)
        if (p->easies[i] != NULL)
            curl_easy_cleanup(p->easies[i]);
    if (p->multi != NULL)
        curl_multi_cleanup(p->multi);
    if (p->global_ok)
        curl_global_cleanup();
    free(p->easies);
    free(p->free_slots);
    free(p->slot_job);
    free(p->errbufs);
    free(p);
}

int sentry__probe_create(const sentry_config_t *config, sentry_probe_t **out)
{
    sentry_probe_t *p = NULL;
    size_t n = config->concurrency != 0 ? config->concurrency : 1;
    int ret = -ENOMEM;

    *out = NULL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        goto Exit;
    p->config = config;
    /* reference-counted by libcurl, and thread-safe in the libcurl Debian 12 ships (>= 7.84) */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ret = -EIO;
        goto Exit;
    }
    p->global_ok = 1;
    if ((p->easies = calloc(n, sizeof(*p->easies))) == NULL || (p->free_slots = calloc(n, sizeof(*p->free_slots))) == NULL ||
        (p->slot_job = calloc(n, sizeof(*p->slot_job))) == NULL || (p->errbufs = calloc(n, sizeof(*p->errbufs))) == NULL)
        goto Exit;
    p->num_easies = n;
    if ((p->multi = curl_multi_init()) == NULL)
        goto Exit;
    curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)n);
    for (size_t i = 0; i != n; ++i) {
        if ((p->easies[i] = curl_easy_init()) == NULL)
            goto Exit;
        p->free_slots[i] = n - 1 - i;
    }
    p->num_free = n;
    *out = p;
    p = NULL;
    ret = 0;
Exit:
    sentry__probe_destroy(p);
    return ret;
}

void sentry__probe_wakeup(sentry_probe_t *p)
{
    if (p != NULL && p->multi != NULL)
        curl_multi_wakeup(p->multi);
}

/* Prepares easy handle `slot` for a HEAD of url. @return 0 or -ENOMEM. */
static int setup(sentry_probe_t *p, size_t slot, const char *url)
{
    CURL *e = p->easies[slot];
    const sentry_config_t *c = p->config;

    curl_easy_reset(e);
    p->errbufs[slot][0] = '\0';
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK || curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        (c->ca_file != NULL && curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK))
        return -ENOMEM;
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbufs[slot]);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(uintptr_t)slot);
    return 0;
}

static sentry_transport_t transport_of(CURLcode code)
{
    switch (code) {
    case CURLE_OK:
        return SENTRY_TRANSPORT_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return SENTRY_TRANSPORT_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return SENTRY_TRANSPORT_DNS;
    case CURLE_COULDNT_CONNECT:
        return SENTRY_TRANSPORT_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return SENTRY_TRANSPORT_TLS;
    case CURLE_TOO_MANY_REDIRECTS:
        return SENTRY_TRANSPORT_REDIRECTS;
    default:
        return SENTRY_TRANSPORT_OTHER;
    }
}

/* Reports every finished transfer. @return the number finished. */
static size_t collect(sentry_probe_t *p, sentry_probe_done_cb on_done, void *arg)
{
    CURLMsg *msg;
    int left;
    size_t done = 0;

    while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        void *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        size_t slot = (size_t)(uintptr_t)priv;
        sentry_answer_t a = {transport_of(msg->data.result), 0, NULL, NULL};
        if (a.transport == SENTRY_TRANSPORT_OK) {
            char *ct = NULL;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a.status);
            if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK)
                a.content_type = ct;
        } else {
            a.detail = p->errbufs[slot][0] != '\0' ? p->errbufs[slot] : curl_easy_strerror(msg->data.result);
        }
        on_done(arg, p->slot_job[slot], &a);
        curl_multi_remove_handle(p->multi, e);
        p->free_slots[p->num_free++] = slot;
        ++done;
    }
    return done;
}

int sentry__probe_run(sentry_probe_t *p, const char *const *urls, size_t n, const atomic_int *stop, sentry_probe_done_cb on_done,
                      void *arg)
{
    size_t next = 0, done = 0;
    int running, ret = 0;

    while (done != n) {
        if (atomic_load(stop)) {
            ret = -ECANCELED;
            break;
        }
        /* fill the pool */
        while (p->num_free != 0 && next != n) {
            size_t slot = p->free_slots[p->num_free - 1];
            if (setup(p, slot, urls[next]) != 0 || curl_multi_add_handle(p->multi, p->easies[slot]) != CURLM_OK) {
                ret = -ENOMEM;
                goto Exit;
            }
            --p->num_free;
            p->slot_job[slot] = next++;
        }
        if (curl_multi_perform(p->multi, &running) != CURLM_OK) {
            ret = -ENOMEM;
            goto Exit;
        }
        done += collect(p, on_done, arg);
        if (done != n && curl_multi_poll(p->multi, NULL, 0, POLL_MS, NULL) != CURLM_OK) {
            ret = -ENOMEM;
            goto Exit;
        }
    }
Exit:
    /* abort whatever is still in flight (a stop, or an error) */
    for (size_t i = 0; i != p->num_easies; ++i) {
        int busy = 1;
        for (size_t j = 0; j != p->num_free; ++j)
            if (p->free_slots[j] == i)
                busy = 0;
        if (busy) {
            curl_multi_remove_handle(p->multi, p->easies[i]);
            p->free_slots[p->num_free++] = i;
        }
    }
    return ret;
}
