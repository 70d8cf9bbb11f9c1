// SPDX-License-Identifier: MIT
/*
 * forwarder_config: parses `collector.upstream` (one mapping, or a list of mappings) and
 * `collector.forwarder` into a forwarder_config_t. Every error names file:line:key; defaults live
 * here and in docs/configuration.md. An upstream's position in the list is its bit in the spool's
 * delivered mask, so reordering upstreams while records are pending re-delivers some of them.
 * S3 credentials may come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/forwarder_internal.h"

#define NAME_MAX_LEN 64

static const char *const upstream_keys[] = {"name",       "kind",    "url",         "token",       "bucket",
                                            "region",     "access_key", "secret_key", "path_style", "prefix",
                                            "connect_timeout", "timeout", "concurrency", "ca_file", "insecure_skip_verify",
                                            NULL};
static const char *const forwarder_keys[] = {"backoff_initial", "backoff_max",       "max_pending_age", "dead_letter_window",
                                             "poll_interval",   "batch",             "circuit_threshold", "nice",
                                             NULL};

static void upstream_dispose(upstream_config_t *up)
{
    free(up->name);
    free(up->url);
    if (up->token != NULL) {
        explicit_bzero(up->token, strlen(up->token));
        free(up->token);
    }
    free(up->bucket);
    free(up->region);
    free(up->access_key);
    if (up->secret_key != NULL) {
        explicit_bzero(up->secret_key, strlen(up->secret_key));
        free(up->secret_key);
    }
    free(up->prefix);
    free(up->ca_file);
}

void forwarder_config_destroy(forwarder_config_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->count; ++i)
        upstream_dispose(&c->upstreams[i]);
    free(c->upstreams);
    free(c);
}

size_t forwarder_config_upstream_count(const forwarder_config_t *c)
{
    return c == NULL || c->count == 0 ? 1 : c->count;
}

static int valid_chars(const char *s, const char *extra)
{
    for (; *s != '\0'; ++s) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr(extra, ch) != NULL))
            return 0;
    }
    return 1;
}

/* Copies an optional string key; *out stays NULL when absent. */
static int get_strdup(const conf_node_t *map, const char *key, char **out, conf_error_t *err)
{
    const char *s = NULL;
    if (conf_get_string(map, key, &s, err) != 0)
        return -1;
    if (s != NULL && (*out = strdup(s)) == NULL)
        return conf_fail(err, conf_get(map, key), "out of memory");
    return 0;
}

static int has_scheme(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static int parse_upstream(const conf_node_t *node, size_t index, size_t total, upstream_config_t *up, conf_error_t *err)
{
    const char *kind = NULL;
    int64_t concurrency = 32; /* draining a backlog waits on the upstream's commits, not on our CPU (docs/performance.md) */

    if (node->kind != CONF_MAPPING)
        return conf_fail(err, node, "expected a mapping (an upstream)");
    if (conf_check_keys(node, upstream_keys, err) != 0)
        return -1;

    /* kind */
    if (conf_get_string(node, "kind", &kind, err) != 0)
        return -1;
    if (kind == NULL)
        return conf_fail(err, node, "kind is required (antenna or s3)");
    if (strcmp(kind, "antenna") == 0)
        up->kind = UPSTREAM_ANTENNA;
    else if (strcmp(kind, "s3") == 0)
        up->kind = UPSTREAM_S3;
    else
        return conf_fail(err, conf_get(node, "kind"), "expected antenna or s3, got \"%s\"", kind);

    /* name: defaults to the kind, with the index when there are several upstreams */
    if (get_strdup(node, "name", &up->name, err) != 0)
        return -1;
    if (up->name == NULL) {
        if ((total > 1 ? asprintf(&up->name, "%s%zu", kind, index) : asprintf(&up->name, "%s", kind)) < 0) {
            up->name = NULL;
            return conf_fail(err, node, "out of memory");
        }
    } else if (up->name[0] == '\0' || strlen(up->name) > NAME_MAX_LEN || !valid_chars(up->name, "_.-")) {
        return conf_fail(err, conf_get(node, "name"), "expected 1 to %d characters of [A-Za-z0-9_.-]", NAME_MAX_LEN);
    }

    /* common keys */
    up->connect_timeout_ms = 10000;
    up->timeout_ms = 60000;
    up->path_style = 0;
    if (get_strdup(node, "url", &up->url, err) != 0 || get_strdup(node, "token", &up->token, err) != 0 ||
        conf_get_duration_ms(node, "connect_timeout", 1, 3600000, &up->connect_timeout_ms, err) != 0 ||
        conf_get_duration_ms(node, "timeout", 1, 24 * 3600000ull, &up->timeout_ms, err) != 0 ||
        conf_get_int(node, "concurrency", 1, 64, &concurrency, err) != 0 || conf_get_path(node, "ca_file", &up->ca_file, err) != 0 ||
        conf_get_bool(node, "insecure_skip_verify", &up->insecure_skip_verify, err) != 0)
        return -1;
    up->concurrency = (unsigned)concurrency;
    if (up->url != NULL && !has_scheme(up->url))
        return conf_fail(err, conf_get(node, "url"), "expected an http:// or https:// URL, got \"%s\"", up->url);

    if (up->kind == UPSTREAM_ANTENNA) {
        static const char *const s3_only[] = {"bucket", "region", "access_key", "secret_key", "path_style", "prefix"};
        for (size_t i = 0; i < sizeof(s3_only) / sizeof(s3_only[0]); ++i)
            if (conf_get(node, s3_only[i]) != NULL)
                return conf_fail(err, conf_get(node, s3_only[i]), "only for kind s3");
        if (up->url == NULL)
            return conf_fail(err, node, "url is required for kind antenna (the upstream's submit URL)");
        return 0;
    }

    /* s3 */
    if (conf_get(node, "token") != NULL)
        return conf_fail(err, conf_get(node, "token"), "only for kind antenna");
    if (get_strdup(node, "bucket", &up->bucket, err) != 0 || get_strdup(node, "region", &up->region, err) != 0 ||
        get_strdup(node, "access_key", &up->access_key, err) != 0 || get_strdup(node, "secret_key", &up->secret_key, err) != 0 ||
        get_strdup(node, "prefix", &up->prefix, err) != 0 || conf_get_bool(node, "path_style", &up->path_style, err) != 0)
        return -1;
    if (up->bucket == NULL)
        return conf_fail(err, node, "bucket is required for kind s3");
    if (up->bucket[0] == '\0' || strlen(up->bucket) > 63 || !valid_chars(up->bucket, ".-"))
        return conf_fail(err, conf_get(node, "bucket"), "expected an S3 bucket name (3 to 63 of [a-z0-9.-])");
    if (up->region == NULL && (up->region = strdup("us-east-1")) == NULL)
        return conf_fail(err, node, "out of memory");
    if (up->region[0] == '\0' || strlen(up->region) > 32 || !valid_chars(up->region, "-"))
        return conf_fail(err, conf_get(node, "region"), "expected a region name such as eu-west-1");
    if (up->url == NULL && asprintf(&up->url, "https://s3.%s.amazonaws.com", up->region) < 0) {
        up->url = NULL;
        return conf_fail(err, node, "out of memory");
    }
    if (up->access_key == NULL && getenv("AWS_ACCESS_KEY_ID") != NULL && (up->access_key = strdup(getenv("AWS_ACCESS_KEY_ID"))) == NULL)
        return conf_fail(err, node, "out of memory");
    if (up->secret_key == NULL && getenv("AWS_SECRET_ACCESS_KEY") != NULL &&
        (up->secret_key = strdup(getenv("AWS_SECRET_ACCESS_KEY"))) == NULL)
        return conf_fail(err, node, "out of memory");
    if (up->access_key == NULL || up->secret_key == NULL || up->access_key[0] == '\0' || up->secret_key[0] == '\0')
        return conf_fail(err, node, "access_key and secret_key are required for kind s3 (or set AWS_ACCESS_KEY_ID and "
                                    "AWS_SECRET_ACCESS_KEY)");
    if (strchr(up->access_key, ':') != NULL)
        return conf_fail(err, conf_get(node, "access_key"), "must not contain ':'");
    /* prefix: "" or a key prefix of [A-Za-z0-9_.-/] ending in '/' */
    if (up->prefix == NULL) {
        if ((up->prefix = strdup("")) == NULL)
            return conf_fail(err, node, "out of memory");
    } else {
        size_t len = strlen(up->prefix);
        if (len > 256 || !valid_chars(up->prefix, "_.-/") || up->prefix[0] == '/')
            return conf_fail(err, conf_get(node, "prefix"), "expected up to 256 of [A-Za-z0-9_.-/], not starting with '/'");
        if (len > 0 && up->prefix[len - 1] != '/') {
            char *p;
            if (asprintf(&p, "%s/", up->prefix) < 0)
                return conf_fail(err, node, "out of memory");
            free(up->prefix);
            up->prefix = p;
        }
    }
    return 0;
}

static int dup_or_null(const char *s, char **out)
{
    *out = NULL;
    return s == NULL || (*out = strdup(s)) != NULL ? 0 : -ENOMEM;
}

int forwarder_config__copy(const forwarder_config_t *src, forwarder_config_t **out)
{
    forwarder_config_t *c = NULL;
    int ret = -ENOMEM;

    if ((c = calloc(1, sizeof(*c))) == NULL)
        goto Exit;
    *c = *src;
    c->upstreams = NULL;
    c->count = 0;
    if (src->count != 0 && (c->upstreams = calloc(src->count, sizeof(*c->upstreams))) == NULL)
        goto Exit;
    for (size_t i = 0; i < src->count; ++i) {
        const upstream_config_t *s = &src->upstreams[i];
        upstream_config_t *d = &c->upstreams[c->count++];
        *d = *s;
        d->name = d->url = d->token = d->bucket = d->region = d->access_key = d->secret_key = d->prefix = d->ca_file = NULL;
        if (dup_or_null(s->name, &d->name) != 0 || dup_or_null(s->url, &d->url) != 0 || dup_or_null(s->token, &d->token) != 0 ||
            dup_or_null(s->bucket, &d->bucket) != 0 || dup_or_null(s->region, &d->region) != 0 ||
            dup_or_null(s->access_key, &d->access_key) != 0 || dup_or_null(s->secret_key, &d->secret_key) != 0 ||
            dup_or_null(s->prefix, &d->prefix) != 0 || dup_or_null(s->ca_file, &d->ca_file) != 0)
            goto Exit;
    }
    *out = c;
    c = NULL;
    ret = 0;

Exit:
    forwarder_config_destroy(c);
    return ret;
}

int forwarder_config_parse(const conf_node_t *upstream, const conf_node_t *forwarder, forwarder_config_t **out, conf_error_t *err)
{
    forwarder_config_t *c = NULL;
    int64_t batch = 64, threshold = 5, nice = 10;
    int ret = -1;

    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    c->backoff_initial_ms = 1000;
    c->backoff_max_ms = 300000;
    c->max_pending_age_ms = 3600000;
    c->dead_letter_window_ms = 900000;
    c->poll_interval_ms = 200;

    /* forwarder */
    if (forwarder != NULL && forwarder->kind != CONF_MAPPING) {
        conf_fail(err, forwarder, "expected a mapping");
        goto Exit;
    }
    if (conf_check_keys(forwarder, forwarder_keys, err) != 0 ||
        conf_get_duration_ms(forwarder, "backoff_initial", 1, 24 * 3600000ull, &c->backoff_initial_ms, err) != 0 ||
        conf_get_duration_ms(forwarder, "backoff_max", 1, 7 * 24 * 3600000ull, &c->backoff_max_ms, err) != 0 ||
        conf_get_duration_ms(forwarder, "max_pending_age", 1000, 365 * 24 * 3600000ull, &c->max_pending_age_ms, err) != 0 ||
        conf_get_duration_ms(forwarder, "dead_letter_window", 0, 30 * 24 * 3600000ull, &c->dead_letter_window_ms, err) != 0 ||
        conf_get_duration_ms(forwarder, "poll_interval", 10, 60000, &c->poll_interval_ms, err) != 0 ||
        conf_get_int(forwarder, "batch", 1, 4096, &batch, err) != 0 ||
        conf_get_int(forwarder, "circuit_threshold", 1, 1000, &threshold, err) != 0 ||
        conf_get_int(forwarder, "nice", 0, 19, &nice, err) != 0)
        goto Exit;
    if (c->backoff_max_ms < c->backoff_initial_ms) {
        conf_fail(err, conf_get(forwarder, "backoff_max"), "must not be below backoff_initial");
        goto Exit;
    }
    c->batch = (unsigned)batch;
    c->circuit_threshold = (unsigned)threshold;
    c->nice = (int)nice;

    /* upstream: a mapping or a list of mappings */
    if (upstream != NULL) {
        const conf_node_t *const *items = (const conf_node_t *const *)&upstream;
        size_t n = 1;
        if (upstream->kind == CONF_SEQUENCE) {
            items = (const conf_node_t *const *)upstream->items;
            n = upstream->count;
            if (n == 0) {
                conf_fail(err, upstream, "expected at least one upstream");
                goto Exit;
            }
        } else if (upstream->kind != CONF_MAPPING) {
            conf_fail(err, upstream, "expected a mapping or a list of mappings");
            goto Exit;
        }
        if (n > SPOOL_UPSTREAMS_MAX) {
            conf_fail(err, upstream, "at most %d upstreams", SPOOL_UPSTREAMS_MAX);
            goto Exit;
        }
        if ((c->upstreams = calloc(n, sizeof(*c->upstreams))) == NULL) {
            conf_fail(err, upstream, "out of memory");
            goto Exit;
        }
        for (size_t i = 0; i < n; ++i) {
            ++c->count; /* so that destroy frees a half-parsed entry */
            if (parse_upstream(items[i], i, n, &c->upstreams[i], err) != 0)
                goto Exit;
            for (size_t j = 0; j < i; ++j) {
                if (strcmp(c->upstreams[j].name, c->upstreams[i].name) == 0) {
                    conf_fail(err, conf_get(items[i], "name") != NULL ? conf_get(items[i], "name") : items[i],
                              "duplicate upstream name \"%s\"", c->upstreams[i].name);
                    goto Exit;
                }
            }
        }
    }
    *out = c;
    c = NULL;
    ret = 0;

Exit:
    forwarder_config_destroy(c);
    return ret;
}
