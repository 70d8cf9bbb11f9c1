// SPDX-License-Identifier: MIT
/*
 * config: validates the top-level keys of edge.yaml and fills config_t. Every error names the
 * file, line and key; unknown keys are errors so that a typo never silently changes nothing.
 */
#include "edge/app/config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const top_keys[] = {"server", "admin", "storage", "log", "metrics", "health", "bouncer", "collector", NULL};
static const char *const server_keys[] = {"threads",         "listen",         "max_connections",  "max_request_body",
                                          "request_timeout", "http2_idle_timeout", "shutdown_timeout", "access_log",
                                          "cpu_local_accept", NULL};
static const char *const admin_keys[] = {"listen", "htpasswd", NULL};
static const char *const storage_keys[] = {"data_dir", NULL};
static const char *const log_keys[] = {"level", NULL};
static const char *const metrics_keys[] = {"statsd", NULL};
static const char *const statsd_keys[] = {"address", "prefix", "interval", NULL};
static const char *const health_keys[] = {"min_free_disk", NULL};
static const char *const listen_keys[] = {"address", "tls", "http2", NULL};
static const char *const tls_keys[] = {"certificate", "key", NULL};

int config_parse_address(const char *text, struct sockaddr_storage *out, socklen_t *outlen)
{
    char host[64];
    const char *port_text;
    memset(out, 0, sizeof(*out));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL || (size_t)(colon - text) >= sizeof(host) || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return -1;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port_text = colon + 1;
    }
    char *end;
    long port = strtol(port_text, &end, 10);
    if (port_text[0] == '\0' || *end != '\0' || port < 0 || port > 65535)
        return -1;
    struct sockaddr_in *sin = (void *)out;
    struct sockaddr_in6 *sin6 = (void *)out;
    if (text[0] == '[') {
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return -1;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *outlen = sizeof(*sin6);
    } else {
        if (host[0] == '\0' || strcmp(host, "*") == 0)
            strcpy(host, "0.0.0.0");
        else if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return -1;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *outlen = sizeof(*sin);
    }
    return 0;
}

static void listens_free(config_listen_t *list, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        free(list[i].address);
        free(list[i].certificate);
        free(list[i].key);
    }
    free(list);
}

static int parse_listen_entry(const conf_node_t *node, int allow_tls, config_listen_t *out, conf_error_t *err)
{
    const conf_node_t *address_node = node;
    out->line = node->line;
    if (node->kind == CONF_MAPPING) {
        if (conf_check_keys(node, allow_tls ? listen_keys : (const char *const[]){"address", NULL}, err) != 0)
            return -1;
        if ((address_node = conf_get(node, "address")) == NULL)
            return conf_fail(err, node, "a listener needs an address");
        const conf_node_t *tls = conf_get(node, "tls");
        if (tls != NULL) {
            if (conf_check_keys(tls, tls_keys, err) != 0 || conf_get_path(tls, "certificate", &out->certificate, err) != 0 ||
                conf_get_path(tls, "key", &out->key, err) != 0)
                return -1;
            if (out->certificate == NULL || out->key == NULL)
                return conf_fail(err, tls, "tls needs both certificate and key");
            if (access(out->certificate, R_OK) != 0)
                return conf_fail(err, conf_get(tls, "certificate"), "cannot read %s", out->certificate);
            if (access(out->key, R_OK) != 0)
                return conf_fail(err, conf_get(tls, "key"), "cannot read %s", out->key);
        }
        if (conf_get_bool(node, "http2", &out->http2, err) != 0)
            return -1;
    }
    const char *text;
    if (conf_node_string(address_node, &text, err) != 0)
        return -1;
    if (config_parse_address(text, &out->addr, &out->addrlen) != 0)
        return conf_fail(err, address_node, "expected an address like 127.0.0.1:8080 or [::1]:8080, got \"%s\"", text);
    if ((out->address = strdup(text)) == NULL)
        return conf_fail(err, address_node, "out of memory");
    return 0;
}

/* A listen key holds one entry or a list of entries. */
static int parse_listen(const conf_node_t *section, int allow_tls, config_listen_t **out, size_t *count, conf_error_t *err)
{
    const conf_node_t *node = conf_get(section, "listen");
    if (node == NULL)
        return 0;
    const conf_node_t *const *entries = (const conf_node_t *const *)&node;
    size_t n = 1;
    if (node->kind == CONF_SEQUENCE) {
        entries = (const conf_node_t *const *)node->items;
        n = node->count;
        if (n == 0)
            return conf_fail(err, node, "needs at least one address");
    }
    config_listen_t *list = calloc(n, sizeof(*list));
    if (list == NULL)
        return conf_fail(err, node, "out of memory");
    for (size_t i = 0; i < n; ++i) {
        if (parse_listen_entry(entries[i], allow_tls, &list[i], err) != 0) {
            listens_free(list, n);
            return -1;
        }
    }
    listens_free(*out, *count);
    *out = list;
    *count = n;
    return 0;
}

static int set_default_listen(config_listen_t **out, size_t *count, const char *address)
{
    config_listen_t *l = calloc(1, sizeof(*l));
    if (l == NULL || (l->address = strdup(address)) == NULL) {
        free(l);
        return -1;
    }
    config_parse_address(address, &l->addr, &l->addrlen);
    *out = l;
    *count = 1;
    return 0;
}

void config_destroy(config_t *config)
{
    if (config == NULL)
        return;
    listens_free(config->server.listen, config->server.listen_count);
    listens_free(config->admin.listen, config->admin.listen_count);
    free(config->server.access_log);
    free(config->admin.htpasswd);
    free(config->storage.data_dir);
    free(config->metrics.statsd_address);
    free(config->metrics.statsd_prefix);
    conf_doc_destroy(config->doc);
    free(config);
}

config_t *config_load(const char *path, conf_error_t *err)
{
    config_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    if ((c->doc = conf_doc_load(path, err)) == NULL)
        goto Error;
    c->file = c->doc->file;
    const conf_node_t *root = c->doc->root;
    if (conf_check_keys(root, top_keys, err) != 0)
        goto Error;

    /* server */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t threads = ncpu > 0 ? ncpu : 1;
    const conf_node_t *server = conf_get(root, "server");
    c->server.max_connections = 10000;
    c->server.max_request_body = 32 << 20;
    c->server.request_timeout_ms = 60000;
    c->server.http2_idle_timeout_ms = 10000;
    c->server.shutdown_timeout_ms = 30000;
    c->server.cpu_local_accept = 1;
    if (conf_check_keys(server, server_keys, err) != 0 || conf_get_int(server, "threads", 1, 1024, &threads, err) != 0 ||
        parse_listen(server, 1, &c->server.listen, &c->server.listen_count, err) != 0 ||
        conf_get_size(server, "max_connections", 1, 1000000, &c->server.max_connections, err) != 0 ||
        conf_get_size(server, "max_request_body", 1024, (uint64_t)1 << 32, &c->server.max_request_body, err) != 0 ||
        conf_get_duration_ms(server, "request_timeout", 100, 3600000, &c->server.request_timeout_ms, err) != 0 ||
        conf_get_duration_ms(server, "http2_idle_timeout", 100, 3600000, &c->server.http2_idle_timeout_ms, err) != 0 ||
        conf_get_duration_ms(server, "shutdown_timeout", 0, 3600000, &c->server.shutdown_timeout_ms, err) != 0 ||
        conf_get_path(server, "access_log", &c->server.access_log, err) != 0 ||
        conf_get_bool(server, "cpu_local_accept", &c->server.cpu_local_accept, err) != 0)
        goto Error;
    c->server.threads = (unsigned)threads;
    if (c->server.listen == NULL && set_default_listen(&c->server.listen, &c->server.listen_count, "127.0.0.1:8080") != 0)
        goto Oom;

    /* admin */
    const conf_node_t *admin = conf_get(root, "admin");
    if (conf_check_keys(admin, admin_keys, err) != 0 ||
        parse_listen(admin, 0, &c->admin.listen, &c->admin.listen_count, err) != 0 ||
        conf_get_path(admin, "htpasswd", &c->admin.htpasswd, err) != 0)
        goto Error;
    if (c->admin.listen == NULL && set_default_listen(&c->admin.listen, &c->admin.listen_count, "127.0.0.1:9090") != 0)
        goto Oom;
    if (c->admin.htpasswd == NULL) {
        conf_fail(err, admin != NULL ? admin : root, "admin.htpasswd is required (every admin request is authenticated)");
        goto Error;
    }

    /* storage */
    const conf_node_t *storage = conf_get(root, "storage");
    if (conf_check_keys(storage, storage_keys, err) != 0 || conf_get_path(storage, "data_dir", &c->storage.data_dir, err) != 0)
        goto Error;
    if (c->storage.data_dir == NULL) {
        conf_fail(err, storage != NULL ? storage : root, "storage.data_dir is required");
        goto Error;
    }

    /* log */
    const conf_node_t *log = conf_get(root, "log");
    const char *level = "info";
    c->log.level = LOG_LEVEL_INFO;
    if (conf_check_keys(log, log_keys, err) != 0 || conf_get_string(log, "level", &level, err) != 0)
        goto Error;
    if (log_level_parse(level, &c->log.level) != 0) {
        conf_fail(err, conf_get(log, "level"), "expected debug, info, warn or error");
        goto Error;
    }

    /* metrics */
    const conf_node_t *metrics = conf_get(root, "metrics");
    const conf_node_t *statsd = conf_get(metrics, "statsd");
    const char *statsd_address = NULL, *statsd_prefix = "edge";
    c->metrics.statsd_interval_ms = 10000;
    if (conf_check_keys(metrics, metrics_keys, err) != 0 || conf_check_keys(statsd, statsd_keys, err) != 0 ||
        conf_get_string(statsd, "address", &statsd_address, err) != 0 ||
        conf_get_string(statsd, "prefix", &statsd_prefix, err) != 0 ||
        conf_get_duration_ms(statsd, "interval", 100, 3600000, &c->metrics.statsd_interval_ms, err) != 0)
        goto Error;
    if (statsd_address != NULL) {
        if (config_parse_address(statsd_address, &c->metrics.statsd_addr, &c->metrics.statsd_addrlen) != 0) {
            conf_fail(err, conf_get(statsd, "address"), "expected host:port");
            goto Error;
        }
        if ((c->metrics.statsd_address = strdup(statsd_address)) == NULL)
            goto Oom;
    }
    if ((c->metrics.statsd_prefix = strdup(statsd_prefix)) == NULL)
        goto Oom;

    /* health */
    const conf_node_t *health = conf_get(root, "health");
    c->health.min_free_disk = 256 << 20;
    if (conf_check_keys(health, health_keys, err) != 0 ||
        conf_get_size(health, "min_free_disk", 0, UINT64_MAX, &c->health.min_free_disk, err) != 0)
        goto Error;

    c->bouncer = conf_get(root, "bouncer");
    c->collector = conf_get(root, "collector");
    return c;

Oom:
    snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
Error:
    config_destroy(c);
    return NULL;
}
