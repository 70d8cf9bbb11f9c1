// SPDX-License-Identifier: MIT
/*
 * upstream_s3: delivering a crash into an S3 bucket in the layout Socorro's processor reads:
 *   v1/dump/<id>                    the upload_file_minidump dump
 *   v1/<dump name>/<id>             every other dump
 *   v1/dump_names/<id>              JSON list of the dump names
 *   v1/raw_crash/<YYYYMMDD>/<id>    the raw crash JSON, written LAST: it is the commit marker
 * (YYYYMMDD is the submission date carried by the crash id's last six digits.) Each key is one PUT,
 * signed by libcurl (CURLOPT_AWS_SIGV4); the record is delivered when every PUT answered 2xx. A
 * retried record writes all objects again: PUTs are idempotent.
 * Pure functions; forwarder threads call them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/forwarder_internal.h"

#define UPLOAD_FILE_MINIDUMP "upload_file_minidump"

/* Builds the URL of key: path style <url>/<bucket>/<key>, else <scheme>://<bucket>.<authority>/<key>. */
static char *object_url(const upstream_config_t *up, const char *key)
{
    const char *url = up->url, *sep = strstr(url, "://");
    size_t url_len = strlen(url);
    char *out = NULL;

    while (url_len > 0 && url[url_len - 1] == '/')
        --url_len;
    if (up->path_style) {
        if (asprintf(&out, "%.*s/%s/%s%s", (int)url_len, url, up->bucket, up->prefix, key) < 0)
            out = NULL;
    } else {
        if (sep == NULL)
            return NULL;
        size_t scheme_len = (size_t)(sep - url) + 3;
        if (asprintf(&out, "%.*s%s.%.*s/%s%s", (int)scheme_len, url, up->bucket, (int)(url_len - scheme_len), url + scheme_len,
                     up->prefix, key) < 0)
            out = NULL;
    }
    return out;
}

static int add_request(const upstream_config_t *up, upstream_plan_t *plan, const char *key, const char *content_type,
                       const void *body, size_t body_len, char *owned_body)
{
    upstream_request_t *req = &plan->requests[plan->count];

    req->method = "PUT";
    req->body = body;
    req->body_len = body_len;
    req->owned_body = owned_body;
    ++plan->count; /* from here on, dispose frees what the request owns */
    if ((req->url = object_url(up, key)) == NULL || (req->content_type = strdup(content_type)) == NULL)
        return up->path_style || strstr(up->url, "://") != NULL ? -ENOMEM : -EINVAL;
    return 0;
}

/* The JSON list of dump names (names are [A-Za-z0-9_]: no escaping needed). */
static char *dump_names_json(const crashrec_t *rec, size_t *len)
{
    size_t cap = 3, n = 0;
    char *out;

    for (size_t i = 0; i < rec->num_dumps; ++i)
        cap += rec->dumps[i].name_len + 3;
    if ((out = malloc(cap)) == NULL)
        return NULL;
    out[n++] = '[';
    for (size_t i = 0; i < rec->num_dumps; ++i) {
        if (i != 0)
            out[n++] = ',';
        out[n++] = '"';
        memcpy(out + n, rec->dumps[i].name, rec->dumps[i].name_len);
        n += rec->dumps[i].name_len;
        out[n++] = '"';
    }
    out[n++] = ']';
    out[n] = '\0';
    *len = n;
    return out;
}

int upstream_s3__plan(const upstream_config_t *up, const crashrec_t *rec, upstream_plan_t *out)
{
    const char *id = rec->crash_id;
    size_t id_len = strlen(id);
    char key[64 + CRASHREC_MAX_DUMP_NAME + CRASHID_LEN];
    char *names = NULL;
    size_t names_len = 0;
    int ret = -ENOMEM;

    memset(out, 0, sizeof(*out));
    if (id_len < 6) {
        ret = -EINVAL;
        goto Exit;
    }
    if ((out->requests = calloc(rec->num_dumps + 2, sizeof(*out->requests))) == NULL)
        goto Exit;

    /* dumps first */
    for (size_t i = 0; i < rec->num_dumps; ++i) {
        const crashrec_dump_t *d = &rec->dumps[i];
        if (strcmp(d->name, UPLOAD_FILE_MINIDUMP) == 0)
            snprintf(key, sizeof(key), "v1/dump/%s", id);
        else
            snprintf(key, sizeof(key), "v1/%s/%s", d->name, id);
        if ((ret = add_request(up, out, key, "application/octet-stream", d->data, d->len, NULL)) != 0)
            goto Exit;
    }
    /* then the list of dump names */
    ret = -ENOMEM;
    if ((names = dump_names_json(rec, &names_len)) == NULL)
        goto Exit;
    snprintf(key, sizeof(key), "v1/dump_names/%s", id);
    ret = add_request(up, out, key, "application/json", names, names_len, names);
    names = NULL;
    if (ret != 0)
        goto Exit;
    /* the raw crash last: its presence tells Socorro the crash is complete */
    snprintf(key, sizeof(key), "v1/raw_crash/20%.6s/%s", id + id_len - 6, id);
    if ((ret = add_request(up, out, key, "application/json", rec->raw_crash, rec->raw_crash_len, NULL)) != 0)
        goto Exit;
    ret = 0;

Exit:
    free(names);
    if (ret != 0)
        upstream__plan_dispose(out);
    return ret;
}

forwarder_verdict_t upstream_s3__judge(long status, forwarder_cause_t *cause)
{
    forwarder_verdict_t verdict = FORWARDER_RETRY;

    if (status >= 200 && status <= 299) {
        *cause = FORWARDER_CAUSE_NONE;
        verdict = FORWARDER_DONE;
    } else if (status >= 300 && status <= 399) {
        *cause = FORWARDER_CAUSE_REDIRECT;
    } else if (status == 429) {
        *cause = FORWARDER_CAUSE_429;
    } else if (status == 408) {
        *cause = FORWARDER_CAUSE_TIMEOUT;
    } else if (status == 403 || status == 404 || status == 409) {
        /* credentials, clock skew, missing bucket: the bucket's problem, not the crash's */
        *cause = FORWARDER_CAUSE_4XX;
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

const char *upstream_s3__sigv4(const upstream_config_t *up, char *buf, size_t bufsize)
{
    snprintf(buf, bufsize, "aws:amz:%s:s3", up->region);
    return buf;
}
