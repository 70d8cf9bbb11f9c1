// SPDX-License-Identifier: MIT
/*
 * config: parses the `bouncer:` section into a bouncer_config_t (see config.h). Defaults live
 * here and in docs/configuration.md; every error names file:line:key through conf_fail().
 * URLs that end up in Location headers are checked for visible ASCII only, so nothing in the
 * configuration can inject a header. `trusted_proxies` is built item by item so that a bad
 * block is reported at its own line. `health_check` belongs to the health checker
 * (sentry_config_parse). Main thread only.
 */
#include "bouncer/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LANDING "https://www.mozilla.org/"
#define DEFAULT_PIN "X-Forwarded-Proto: https"
#define DEFAULT_MIRROR_HEADER "X-Edge-Mirror"
#define KEY_FILE_MAX 4096

static const char *const keys[] = {"prefix",          "landing_url",     "stub_root_url",   "attribution_key",
                                   "attribution_key_file", "cache_max_age", "fail_open",     "geoip_database",
                                   "trusted_proxies", "https_pin_header", "mirror_header",  "seed_catalog",
                                   "rules_file",      "catalog_map_size", "health_check",   NULL};

void bouncer_config_destroy(bouncer_config_t *c)
{
    if (c == NULL)
        return;
    free(c->prefix);
    free(c->landing_url);
    free(c->stub_root_url);
    if (c->attribution_key != NULL)
        memset(c->attribution_key, 0, c->attribution_key_len);
    free(c->attribution_key);
    free(c->geoip_database);
    clientaddr_list_destroy(c->trusted_proxies);
    free(c->pin_name);
    free(c->pin_value);
    free(c->mirror_header);
    free(c->seed_catalog);
    free(c->rules_file);
    sentry_config_destroy(c->health_check);
    free(c);
}

static int is_token(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL))
            return 0;
    }
    return 1;
}

/* A URL that goes into a Location header: http(s)://, visible ASCII only. */
static int url_ok(const char *s)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return 0;
    if (strlen(s) <= (s[4] == 's' ? 8u : 7u) || strlen(s) > 2048)
        return 0;
    for (const char *p = s; *p != '\0'; ++p)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

static int get_url(const conf_node_t *section, const char *key, int allow_empty, char **out, conf_error_t *err)
{
    const char *s = NULL;
    if (conf_get_string(section, key, &s, err) != 0)
        return -1;
    if (s == NULL)
        return 0;
    if (!(allow_empty && s[0] == '\0') && !url_ok(s))
        return conf_fail(err, conf_get(section, key), "expected an http:// or https:// URL of visible ASCII characters%s",
                         allow_empty ? " (or \"\" to disable)" : "");
    free(*out);
    if ((*out = strdup(s)) == NULL)
        return conf_fail(err, conf_get(section, key), "out of memory");
    return 0;
}

static int read_key_file(const conf_node_t *node, const char *path, bouncer_config_t *c, conf_error_t *err)
{
    int ret = -1;
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (fp == NULL) {
        ret = conf_fail(err, node, "cannot open %s: %s", path, strerror(errno));
        goto Exit;
    }
    if ((buf = malloc(KEY_FILE_MAX + 1)) == NULL) {
        ret = conf_fail(err, node, "out of memory");
        goto Exit;
    }
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, fp);
    if (n > KEY_FILE_MAX) {
        ret = conf_fail(err, node, "%s: longer than %d bytes", path, KEY_FILE_MAX);
        goto Exit;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        --n;
    if (n == 0) {
        ret = conf_fail(err, node, "%s: the key is empty", path);
        goto Exit;
    }
    c->attribution_key = buf;
    c->attribution_key_len = n;
    buf = NULL;
    ret = 0;
Exit:
    if (buf != NULL) {
        memset(buf, 0, KEY_FILE_MAX + 1);
        free(buf);
    }
    if (fp != NULL)
        fclose(fp);
    return ret;
}

static int parse_attribution_key(const conf_node_t *section, bouncer_config_t *c, conf_error_t *err)
{
    const char *key = NULL;
    char *path = NULL;
    int ret = -1;
    if (conf_get_string(section, "attribution_key", &key, err) != 0 || conf_get_path(section, "attribution_key_file", &path, err) != 0)
        goto Exit;
    if (key != NULL && path != NULL) {
        ret = conf_fail(err, conf_get(section, "attribution_key_file"), "give attribution_key or attribution_key_file, not both");
        goto Exit;
    }
    if (key != NULL) {
        if (key[0] == '\0') {
            ret = conf_fail(err, conf_get(section, "attribution_key"), "the key is empty");
            goto Exit;
        }
        if ((c->attribution_key = (unsigned char *)strdup(key)) == NULL) {
            ret = conf_fail(err, conf_get(section, "attribution_key"), "out of memory");
            goto Exit;
        }
        c->attribution_key_len = strlen(key);
    } else if (path != NULL && read_key_file(conf_get(section, "attribution_key_file"), path, c, err) != 0) {
        goto Exit;
    }
    ret = 0;
Exit:
    free(path);
    return ret;
}

static int parse_trusted(const conf_node_t *section, bouncer_config_t *c, conf_error_t *err)
{
    const conf_node_t *node = conf_get(section, "trusted_proxies");
    char msg[300];
    if (node == NULL)
        return 0;
    if (node->kind == CONF_SCALAR) {
        /* one string: "10.0.0.0/8, ::1" */
        if (clientaddr_list_parse(c->trusted_proxies, node->scalar, strlen(node->scalar), msg, sizeof(msg)) != 0)
            return conf_fail(err, node, "%s", msg);
        return 0;
    }
    if (node->kind != CONF_SEQUENCE)
        return conf_fail(err, node, "expected a list of CIDR blocks");
    for (size_t i = 0; i < node->count; ++i) {
        const char *s;
        if (conf_node_string(node->items[i], &s, err) != 0)
            return -1;
        int ret = clientaddr_list_add(c->trusted_proxies, s, strlen(s), msg, sizeof(msg));
        if (ret != 0)
            return conf_fail(err, node->items[i], "%s", ret == -ENOMEM ? "out of memory" : msg);
    }
    return 0;
}

static int parse_pin(const conf_node_t *section, bouncer_config_t *c, conf_error_t *err)
{
    const char *s = DEFAULT_PIN;
    if (conf_get_string(section, "https_pin_header", &s, err) != 0)
        return -1;
    if (s[0] == '\0')
        return 0; /* disabled */
    const char *colon = strchr(s, ':');
    const char *name_end = colon, *value = colon != NULL ? colon + 1 : NULL;
    while (value != NULL && (*value == ' ' || *value == '\t'))
        ++value;
    size_t value_len = value != NULL ? strlen(value) : 0;
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        --value_len;
    if (colon == NULL || !is_token(s, (size_t)(name_end - s)) || value_len == 0 || !is_token(value, value_len))
        return conf_fail(err, conf_get(section, "https_pin_header"), "expected \"Header-Name: value\" (e.g. \"%s\") or \"\"",
                         DEFAULT_PIN);
    if ((c->pin_name = strndup(s, (size_t)(name_end - s))) == NULL || (c->pin_value = strndup(value, value_len)) == NULL)
        return conf_fail(err, conf_get(section, "https_pin_header"), "out of memory");
    for (char *p = c->pin_name; *p != '\0'; ++p)
        *p = (char)tolower((unsigned char)*p); /* h2o keeps request header names lower case */
    return 0;
}

int bouncer_config_parse(const conf_node_t *section, bouncer_config_t **out, conf_error_t *err)
{
    bouncer_config_t *c = NULL;
    int ret = -1;
    const char *s;

    *out = NULL;
    if (section != NULL && section->kind == CONF_SCALAR && section->scalar != NULL && section->scalar[0] == '\0')
        section = NULL; /* `bouncer:` with nothing under it: all defaults */
    if (conf_check_keys(section, keys, err) != 0)
        goto Exit;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->prefix = strdup("/")) == NULL ||
        (c->landing_url = strdup(DEFAULT_LANDING)) == NULL || (c->trusted_proxies = clientaddr_list_create()) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "bouncer: out of memory");
        goto Exit;
    }
    c->cache_max_age = 60;
    c->fail_open = 1;
    c->catalog_map_size = (uint64_t)1 << 30;

    /* prefix */
    s = NULL;
    if (conf_get_string(section, "prefix", &s, err) != 0)
        goto Exit;
    if (s != NULL) {
        if (s[0] != '/' || strpbrk(s, "?# \t\r\n") != NULL || strlen(s) > 256) {
            conf_fail(err, conf_get(section, "prefix"), "expected a path starting with '/' (no '?', '#' or spaces)");
            goto Exit;
        }
        free(c->prefix);
        if ((c->prefix = strdup(s)) == NULL) {
            conf_fail(err, conf_get(section, "prefix"), "out of memory");
            goto Exit;
        }
    }
    if (get_url(section, "landing_url", 1, &c->landing_url, err) != 0 || get_url(section, "stub_root_url", 0, &c->stub_root_url, err) != 0 ||
        parse_attribution_key(section, c, err) != 0)
        goto Exit;
    uint64_t ms = c->cache_max_age * 1000;
    if (conf_get_duration_ms(section, "cache_max_age", 0, (uint64_t)365 * 86400 * 1000, &ms, err) != 0)
        goto Exit;
    c->cache_max_age = ms / 1000;
    if (conf_get_bool(section, "fail_open", &c->fail_open, err) != 0 || conf_get_path(section, "geoip_database", &c->geoip_database, err) != 0 ||
        parse_trusted(section, c, err) != 0 || parse_pin(section, c, err) != 0)
        goto Exit;

    /* mirror_header */
    s = DEFAULT_MIRROR_HEADER;
    if (conf_get_string(section, "mirror_header", &s, err) != 0)
        goto Exit;
    if (s[0] != '\0') {
        if (!is_token(s, strlen(s))) {
            conf_fail(err, conf_get(section, "mirror_header"), "expected a header name (or \"\" to disable)");
            goto Exit;
        }
        if ((c->mirror_header = strdup(s)) == NULL) {
            conf_fail(err, conf_get(section, "mirror_header"), "out of memory");
            goto Exit;
        }
    }
    if (conf_get_path(section, "seed_catalog", &c->seed_catalog, err) != 0 || conf_get_path(section, "rules_file", &c->rules_file, err) != 0 ||
        conf_get_size(section, "catalog_map_size", (uint64_t)1 << 20, (uint64_t)1 << 40, &c->catalog_map_size, err) != 0)
        goto Exit;
    if (sentry_config_parse(conf_get(section, "health_check"), &c->health_check, err) != 0)
        goto Exit;

    *out = c;
    c = NULL;
    ret = 0;
Exit:
    bouncer_config_destroy(c);
    return ret;
}
