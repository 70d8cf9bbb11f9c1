// SPDX-License-Identifier: MIT
/*
 * collector config: the `collector:` section of edge.yaml as a plain struct.
 *
 * Parsed once on the main thread (start, --check-config, SIGHUP, `edge spool ...`). The throttle
 * rules are compiled here (throttle_rules_from_conf) so that a bad rule fails the start or the
 * reload before anything changes. `upstream` and `forwarder` belong to the forwarder: this file
 * only hands those two nodes to forwarder_config_parse. docs/configuration.md documents each key.
 */
#ifndef edge__collector_config_h
#define edge__collector_config_h

#include <stddef.h>
#include <stdint.h>
#include "edge/conf.h"
#include "collector/throttle.h"

struct st_forwarder_config_t;

typedef struct st_collector_config_t {
    /** public route of the submission endpoint (h2o path prefix), default "/submit" */
    char *path;
    /** largest body accepted on the wire (after chunked decoding), default 25 MiB */
    uint64_t max_body_size;
    /** largest body after gzip inflation, default 100 MiB */
    uint64_t max_inflated_size;
    /** bearer token that lets a client choose its crash id; NULL = nobody may */
    char *submitter_token;
    /** global budget of bytes held by submissions in progress, default 256 MiB */
    uint64_t max_pending_bytes;
    /** Retry-After seconds sent with 503 answers, default 60 */
    uint64_t retry_after_s;
    /** spool LMDB map sizes */
    uint64_t map_size_initial;
    uint64_t map_size_max;
    /** compiled throttle rules (never NULL after a successful parse) */
    throttle_rules_t *throttle;
    /** forwarder settings; NULL when neither `upstream` nor `forwarder` is present */
    struct st_forwarder_config_t *forwarder;
    /** 1 when `upstream` is present (the forwarder is started) */
    int has_upstream;
} collector_config_t;

/**
 * Parses and validates the `collector:` section.
 * @param[in] section the section node (a mapping; an empty `collector:` is NULL-valued and allowed)
 * @param[out] out receives the config (free with collector_config_destroy); untouched on failure
 * @param[out] err on failure "<file>:<line>: <key>: <reason>"
 * @return 0 or -1.
 * @note Everything is copied: the conf tree may be destroyed after the call.
 */
int collector_config_parse(const conf_node_t *section, collector_config_t **out, conf_error_t *err);

/** Frees a config and what it owns. NULL is a no-op. */
void collector_config_destroy(collector_config_t *config);

#endif
