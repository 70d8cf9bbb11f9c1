// SPDX-License-Identifier: MIT
/*
 * config: the process-level settings of edge (server, admin, storage, log, metrics, health)
 * parsed from the YAML file into one plain struct. The `bouncer:` and `collector:` subtrees are
 * kept as nodes and handed to those modules, which parse them in their own config.c.
 *
 * A config owns its conf document; it is built on the main thread at start and again on SIGHUP,
 * and is read-only once built.
 */
#ifndef edge__edge_app_config_h
#define edge__edge_app_config_h

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include "edge/conf.h"
#include "edge/log.h"

typedef struct st_config_listen_t {
    /** the address as written, e.g. "127.0.0.1:8080" or "[::]:443" */
    char *address;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    /** PEM certificate chain and key; both NULL for plain HTTP */
    char *certificate;
    char *key;
    /** offer HTTP/2 (ALPN h2 on TLS, prior knowledge on plain) */
    int http2;
    /** where it was configured, for messages */
    unsigned line;
} config_listen_t;

typedef struct st_config_t {
    conf_doc_t *doc;
    const char *file;

    struct {
        unsigned threads;
        config_listen_t *listen;
        size_t listen_count;
        uint64_t max_connections;
        uint64_t max_request_body;
        uint64_t request_timeout_ms;
        uint64_t http2_idle_timeout_ms;
        uint64_t shutdown_timeout_ms;
        /** Apache combined access log path, or NULL */
        char *access_log;
        /** new connections to the worker of the CPU that received them (edge/cpu_accept.h) */
        int cpu_local_accept;
    } server;

    struct {
        config_listen_t *listen;
        size_t listen_count;
        char *htpasswd;
    } admin;

    struct {
        char *data_dir;
    } storage;

    struct {
        log_level_t level;
    } log;

    struct {
        /** statsd UDP target "host:port", or NULL when off */
        char *statsd_address;
        struct sockaddr_storage statsd_addr;
        socklen_t statsd_addrlen;
        char *statsd_prefix;
        uint64_t statsd_interval_ms;
    } metrics;

    struct {
        /** /__heartbeat__ fails when the data directory's file system has less free space */
        uint64_t min_free_disk;
    } health;

    /** module subtrees (may be NULL when absent) */
    const conf_node_t *bouncer;
    const conf_node_t *collector;
} config_t;

/**
 * Loads and validates a config file.
 * @return a config to free with config_destroy, or NULL with err filled ("file:line: key: reason").
 */
config_t *config_load(const char *path, conf_error_t *err);

/** NULL is a no-op. */
void config_destroy(config_t *config);

/**
 * Parses "host:port", "[v6]:port" or ":port" (all IPv4 addresses) into a socket address.
 * @return 0, or -1 when the text is not such an address.
 */
int config_parse_address(const char *text, struct sockaddr_storage *out, socklen_t *outlen);

#endif
