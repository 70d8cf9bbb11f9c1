// SPDX-License-Identifier: MIT
/*
 * dockerflow: the health endpoints load balancers and operators poll on the public listeners:
 * /__lbheartbeat__ (always 200: the process answers), /__heartbeat__ (200 or 503 with every
 * check of edge/health.h as JSON) and /__version__ (version and commit as JSON).
 */
#ifndef edge__edge_app_dockerflow_h
#define edge__edge_app_dockerflow_h

#include "edge/route.h"

/** Adds the three routes. @return 0 or -ENOMEM. */
int dockerflow_register(route_registrar_t *routes);

/** The JSON body of /__version__ (static storage). */
const char *dockerflow_version_json(void);

#endif
