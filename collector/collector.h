// SPDX-License-Identifier: MIT
/*
 * collector: the module's face towards the process (the crash collector: POST /submit intake, throttle rules, LMDB spool with group commit, forwarder to upstreams, and the spool admin API).
 *
 * The process (edge/app) knows the module only through these functions. The module is enabled
 * when the configuration has a `collector:` section; its keys are parsed by collector/config.c.
 * Lifecycle, all on the main thread: collector_create (parse, open storage, start background
 * threads) -> collector_register (add h2o routes, before the server starts) -> collector_reload on SIGHUP
 * -> collector_destroy after the server has drained.
 */
#ifndef edge__collector_collector_h
#define edge__collector_collector_h

#include <stdio.h>
#include "edge/conf.h"
#include "edge/route.h"

typedef struct st_collector_t collector_t;

/**
 * Validates the `collector:` section without opening or starting anything (edge --check-config).
 * @return 0, or -1 with err naming file, line and key.
 */
int collector_check_config(const conf_node_t *section, conf_error_t *err);

/**
 * Parses the section, opens the module's storage under data_dir, registers its metrics and
 * health checks (edge/metrics.h, edge/health.h) and starts its background threads.
 * @param section the `collector:` node (not NULL); only used during the call
 * @param out receives the module (free with collector_destroy)
 * @return 0, or -1 with err filled (config errors name the key; runtime errors say what failed).
 */
int collector_create(const conf_node_t *section, const char *data_dir, collector_t **out, conf_error_t *err);

/**
 * Adds the module's routes. Called once, before the server starts.
 * @return 0 or -ENOMEM.
 */
int collector_register(collector_t *module, route_registrar_t *public_routes, route_registrar_t *admin_routes);

/**
 * SIGHUP: applies what can change without dropping connections; on error nothing changes.
 * @return 0, or -1 with err filled.
 */
int collector_reload(collector_t *module, const conf_node_t *section, conf_error_t *err);

/**
 * Runs a maintenance command from the command line (edge spool stats|list|show ID|deadletter ... --config FILE).
 * Works whether or not a server is running on the same data directory.
 * @param argv argv[0] is the command word ("spool")
 * @return the process exit status; output goes to out, messages to err.
 */
int collector_command(const conf_node_t *section, const char *data_dir, int argc, char **argv, FILE *out, FILE *err);

/** Stops background threads and frees everything. Call after the server drained. NULL is a no-op. */
void collector_destroy(collector_t *module);

#endif
