// SPDX-License-Identifier: MIT
/*
 * app: wires the process together: the server, the modules (bouncer, collector), metrics,
 * statsd and signals. The only file that knows every part; main.c only parses arguments.
 */
#ifndef edge__edge_app_app_h
#define edge__edge_app_app_h

#include "edge/app/config.h"

/** The commit the binary was built from. */
const char *app_commit(void);

/** Validates everything --check-config promises (module sections, readable files). @return 0 or 1 with err filled. */
int app_check(const config_t *config, conf_error_t *err);

/** Runs a maintenance command (catalog ..., spool ...). @return the process exit status. */
int app_command(const config_t *config, int argc, char **argv);

/**
 * Runs the server until SIGTERM/SIGINT and a graceful shutdown.
 * @param config taken over (freed by app_run); config_path is re-read on SIGHUP
 * @return the process exit status.
 */
int app_run(config_t *config, const char *config_path);

#endif
