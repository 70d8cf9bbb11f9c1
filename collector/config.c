// SPDX-License-Identifier: MIT
/*
 * collector config: walks the `collector:` subtree with the typed getters of edge/conf.h and
 * fills collector_config_t. Every error names file, line and key; unknown keys are errors.
 * The throttle rules are compiled here; `upstream` and `forwarder` are handed, untouched, to
 * forwarder_config_parse (the forwarder owns their format). Main thread only.
 */
#include "collector/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector/forwarder.h"

static const char *const section_keys[] = {
    "path",        "max_body_size", "max_inflated_size", "submitter_token", "max_pending_bytes",
    "retry_after", "spool",         "throttle",          "upstream",        "forwarder",
    NULL};
static const char *const spool_keys[] = {"map_size_initial", "map_size_max", NULL};

/* An empty `collector:` line is a null scalar: treat it as an empty mapping. */
static int is_null_node(const conf_node_t *node)
{
    return node != NULL && node->kind == CONF_SCALAR && !node->quoted &&
           (node->scalar[0] == '\0' || strcmp(node->scalar, "null") == 0 || strcmp(node->scalar, "~") == 0);
}

void collector_config_destroy(collector_config_t *config)
{
    if (config == NULL)
        return;
    free(config->path);
    free(config->submitter_token);
    throttle_rules_destroy(config->throttle);
    forwarder_config_destroy(config->forwarder);
    free(config);
}

static int parse_path(const conf_node_t *section, collector_config_t *c, conf_error_t *err)
{
    const char *path = "/submit";
    if (conf_get_string(section, "path", &path, err) != 0)
        return -1;
    if (path[0] != '/' || strlen(path) > 256 || strpbrk(path, "?# \t\r\n") != NULL)
        return conf_fail(err, conf_get(section, "path"), "expected an absolute URL path such as /submit");
    if ((c->path = strdup(path)) == NULL)
        return conf_fail(err, section, "out of memory");
    return 0;
}

static int parse_token(const conf_node_t *section, collector_config_t *c, conf_error_t *err)
{
    const char *token = NULL;
    if (conf_get_string(section, "submitter_token", &token, err) != 0)
        return -1;
    if (token == NULL || token[0] == '\0')
        return 0;
    if (strlen(token) < 16)
        return conf_fail(err, conf_get(section, "submitter_token"), "a token shorter than 16 characters is too easy to guess");
    for (const char *p = token; *p != '\0'; ++p)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return conf_fail(err, conf_get(section, "submitter_token"), "the token must be printable ASCII without spaces");
    if ((c->submitter_token = strdup(token)) == NULL)
        return conf_fail(err, section, "out of memory");
    return 0;
}

int collector_config_parse(const conf_node_t *section, collector_config_t **out, conf_error_t *err)
{
    int ret = -1;
    collector_config_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err->msg, sizeof(err->msg), "collector: out of memory");
        goto Exit;
    }
    if (is_null_node(section))
        section = NULL;
    c->max_body_size = (uint64_t)25 << 20;
    c->max_inflated_size = (uint64_t)100 << 20;
    c->max_pending_bytes = (uint64_t)256 << 20;
    c->retry_after_s = 60;
    c->map_size_initial = (uint64_t)64 << 20;
    c->map_size_max = (uint64_t)32 << 30;
    uint64_t retry_after_ms = c->retry_after_s * 1000;

    const conf_node_t *spool = conf_get(section, "spool");
    if (conf_check_keys(section, section_keys, err) != 0 || parse_path(section, c, err) != 0 ||
        conf_get_size(section, "max_body_size", 1024, (uint64_t)4 << 30, &c->max_body_size, err) != 0 ||
        conf_get_size(section, "max_inflated_size", 1024, (uint64_t)4 << 30, &c->max_inflated_size, err) != 0 ||
        parse_token(section, c, err) != 0 ||
        conf_get_size(section, "max_pending_bytes", (uint64_t)1 << 20, (uint64_t)1 << 40, &c->max_pending_bytes, err) != 0 ||
        conf_get_duration_ms(section, "retry_after", 1000, 86400000, &retry_after_ms, err) != 0 ||
        conf_check_keys(spool, spool_keys, err) != 0 ||
        conf_get_size(spool, "map_size_initial", (uint64_t)1 << 20, (uint64_t)1 << 44, &c->map_size_initial, err) != 0 ||
        conf_get_size(spool, "map_size_max", (uint64_t)1 << 20, (uint64_t)1 << 44, &c->map_size_max, err) != 0)
        goto Exit;
    c->retry_after_s = (retry_after_ms + 999) / 1000;
    if (c->map_size_initial > c->map_size_max) {
        conf_fail(err, conf_get(spool, "map_size_initial"), "larger than spool.map_size_max");
        goto Exit;
    }
    /* a report holds its body and its stored record (about as large) until it is answered */
    if (c->max_pending_bytes / 2 < c->max_body_size) {
        conf_fail(err, conf_get(section, "max_pending_bytes"),
                  "smaller than twice max_body_size (body + stored record): no large report could ever be accepted");
        goto Exit;
    }
    if (throttle_rules_from_conf(conf_get(section, "throttle"), &c->throttle, err) != 0)
        goto Exit;

    /* upstream and forwarder: the forwarder's business */
    const conf_node_t *upstream = conf_get(section, "upstream"), *forwarder = conf_get(section, "forwarder");
    c->has_upstream = upstream != NULL;
    if ((upstream != NULL || forwarder != NULL) && forwarder_config_parse(upstream, forwarder, &c->forwarder, err) != 0)
        goto Exit;

    *out = c;
    c = NULL;
    ret = 0;
Exit:
    collector_config_destroy(c);
    return ret;
}
