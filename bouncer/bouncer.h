// SPDX-License-Identifier: MIT
/*
 * bouncer: the module's face towards the process (the download redirector: catalog (LMDB), snapshot, redirect endpoint, GeoIP, mirror health checker and the admin APIs (tuxedo XML and JSON)).
 *
 * The process (edge/app) knows the module only through these functions. The module is enabled
 * when the configuration has a `bouncer:` section; its keys are parsed by bouncer/config.c.
 * Lifecycle, all on the main thread: bouncer_create (parse, open storage, start background
 * threads) -> bouncer_register (add h2o routes, before the server starts) -> bouncer_reload on SIGHUP
 * -> bouncer_destroy after the server has drained.
 */
#ifndef edge__bouncer_bouncer_h
#define edge__bouncer_bouncer_h

#include <stdio.h>
#include "edge/conf.h"
#include "edge/route.h"

typedef struct st_bouncer_t bouncer_t;

/**
 * Validates the `bouncer:` section without opening or starting anything (edge --check-config).
 * @return 0, or -1 with err naming file, line and key.
 */
int bouncer_check_config(const conf_node_t *section, conf_error_t *err);

/**
 * Parses the section, opens the module's storage under data_dir, registers its metrics and
 * health checks (edge/metrics.h, edge/health.h) and starts its background threads.
 * @param section the `bouncer:` node (not NULL); only used during the call
 * @param out receives the module (free with bouncer_destroy)
 * @return 0, or -1 with err filled (config errors name the key; runtime errors say what failed).
 */
int bouncer_create(const conf_node_t *section, const char *data_dir, bouncer_t **out, conf_error_t *err);

/**
 * Adds the module's routes. Called once, before the server starts.
 * @return 0 or -ENOMEM.
 */
int bouncer_register(bouncer_t *module, route_registrar_t *public_routes, route_registrar_t *admin_routes);

/**
 * SIGHUP: applies what can change without dropping connections; on error nothing changes.
 * @return 0, or -1 with err filled.
 */
int bouncer_reload(bouncer_t *module, const conf_node_t *section, conf_error_t *err);

/**
 * Runs a maintenance command from the command line (edge catalog import|export FILE --config FILE).
 * Works whether or not a server is running on the same data directory.
 * @param argv argv[0] is the command word ("catalog")
 * @return the process exit status; output goes to out, messages to err.
 */
int bouncer_command(const conf_node_t *section, const char *data_dir, int argc, char **argv, FILE *out, FILE *err);

/** Stops background threads and frees everything. Call after the server drained. NULL is a no-op. */
void bouncer_destroy(bouncer_t *module);

#endif
