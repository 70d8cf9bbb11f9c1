// SPDX-License-Identifier: MIT
/*
 * sentry_config: parses `bouncer.health_check` into a sentry_config_t. Defaults live here and in
 * docs/configuration.md; every error names file:line:key. An absent section means all defaults
 * (checking enabled). Main thread only; the result is immutable and copied by sentry_create().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/sentry_internal.h"

#define DEFAULT_USER_AGENT "edge-bouncer-sentry/1"

static const char *const keys[] = {"enabled",     "interval",         "timeout",         "connect_timeout",
                                   "concurrency", "failures_to_down", "successes_to_up", "max_down_fraction",
                                   "user_agent",  "canary_url",       "ca_file",         NULL};

void sentry_config_destroy(sentry_config_t *c)
{
    if (c == NULL)
        return;
    free(c->user_agent);
    free(c->canary_url);
    free(c->ca_file);
    free(c);
}

int sentry_enabled(const sentry_config_t *c)
{
    return c != NULL && c->enabled;
}

static int dup_or_null(char **dst, const char *src)
{
    *dst = NULL;
    return src == NULL || (*dst = strdup(src)) != NULL ? 0 : -ENOMEM;
}

int sentry__config_copy(sentry_config_t **out, const sentry_config_t *src)
{
    sentry_config_t *c;
    int ret = -ENOMEM;

    *out = NULL;
    if ((c = malloc(sizeof(*c))) == NULL)
        goto Exit;
    *c = *src;
    c->user_agent = c->canary_url = c->ca_file = NULL;
    if (dup_or_null(&c->user_agent, src->user_agent) != 0 || dup_or_null(&c->canary_url, src->canary_url) != 0 ||
        dup_or_null(&c->ca_file, src->ca_file) != 0)
        goto Exit;
    *out = c;
    c = NULL;
    ret = 0;
Exit:
    sentry_config_destroy(c);
    return ret;
}

/* A max_down_fraction given as a plain decimal number between 0 and 1. */
static int get_fraction(const conf_node_t *map, const char *key, double *out, conf_error_t *err)
{
    const conf_node_t *n = conf_get(map, key);
    char *end;
    double v;
    if (n == NULL)
        return 0;
    if (n->kind != CONF_SCALAR || n->scalar == NULL)
        return conf_fail(err, n, "expected a number between 0 and 1");
    errno = 0;
    v = strtod(n->scalar, &end);
    if (errno != 0 || end == n->scalar || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        return conf_fail(err, n, "expected a number between 0 and 1, got \"%s\"", n->scalar);
    *out = v;
    return 0;
}

static int get_string_copy(const conf_node_t *map, const char *key, char **out, conf_error_t *err)
{
    const char *s = NULL;
    if (conf_get_string(map, key, &s, err) != 0)
        return -1;
    if (s == NULL)
        return 0;
    free(*out);
    if ((*out = strdup(s)) == NULL)
        return conf_fail(err, conf_get(map, key), "out of memory");
    return 0;
}

static int is_visible_ascii(const char *s)
{
    for (; *s != '\0'; ++s)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

int sentry_config_parse(const conf_node_t *node, sentry_config_t **out, conf_error_t *err)
{
    sentry_config_t *c = NULL;
    int64_t concurrency = 16, failures = 3, successes = 2;
    int ret = -1;

    *out = NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }
    c->enabled = 1;
    c->interval_ms = 5 * 60 * 1000;
    c->timeout_ms = 10 * 1000;
    c->connect_timeout_ms = 3 * 1000;
    c->max_down_fraction = 0.5;
    if ((c->user_agent = strdup(DEFAULT_USER_AGENT)) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto Exit;
    }

    if (node != NULL) {
        if (node->kind != CONF_MAPPING) {
            conf_fail(err, node, "expected a mapping");
            goto Exit;
        }
        if (conf_check_keys(node, keys, err) != 0 || conf_get_bool(node, "enabled", &c->enabled, err) != 0 ||
            conf_get_duration_ms(node, "interval", 100, 7 * 24 * 3600 * 1000ull, &c->interval_ms, err) != 0 ||
            conf_get_duration_ms(node, "timeout", 100, 600 * 1000, &c->timeout_ms, err) != 0 ||
            conf_get_duration_ms(node, "connect_timeout", 100, 600 * 1000, &c->connect_timeout_ms, err) != 0 ||
            conf_get_int(node, "concurrency", 1, 1024, &concurrency, err) != 0 ||
            conf_get_int(node, "failures_to_down", 1, 1000, &failures, err) != 0 ||
            conf_get_int(node, "successes_to_up", 1, 1000, &successes, err) != 0 ||
            get_fraction(node, "max_down_fraction", &c->max_down_fraction, err) != 0 ||
            get_string_copy(node, "user_agent", &c->user_agent, err) != 0 ||
            get_string_copy(node, "canary_url", &c->canary_url, err) != 0 || conf_get_path(node, "ca_file", &c->ca_file, err) != 0)
            goto Exit;
        if (c->user_agent[0] == '\0' || strlen(c->user_agent) > 256 || !is_visible_ascii(c->user_agent)) {
            conf_fail(err, conf_get(node, "user_agent"), "expected 1 to 256 visible ASCII characters");
            goto Exit;
        }
        if (c->canary_url != NULL &&
            ((strncmp(c->canary_url, "http://", 7) != 0 && strncmp(c->canary_url, "https://", 8) != 0) ||
             strlen(c->canary_url) > 2048 || !is_visible_ascii(c->canary_url) || strchr(c->canary_url, ' ') != NULL)) {
            conf_fail(err, conf_get(node, "canary_url"), "expected an http:// or https:// URL, got \"%s\"", c->canary_url);
            goto Exit;
        }
    }
    c->concurrency = (unsigned)concurrency;
    c->failures_to_down = (unsigned)failures;
    c->successes_to_up = (unsigned)successes;
    *out = c;
    c = NULL;
    ret = 0;
Exit:
    sentry_config_destroy(c);
    return ret;
}
