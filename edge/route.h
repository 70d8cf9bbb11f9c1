// SPDX-License-Identifier: MIT
/*
 * route: how modules attach their h2o handlers to a listener without knowing the server.
 *
 * The server hands each module a registrar per listener kind (public, admin). add() creates a
 * path configuration that already carries the server's per-route metrics, in-flight accounting
 * and (on public listeners) access logging; the module then adds its handler to the returned
 * pathconf with h2o_create_handler. Registration happens on the main thread before the workers
 * start. Only the h2o glue files (handler*.c) use this header.
 */
#ifndef edge__edge_route_h
#define edge__edge_route_h

struct st_h2o_pathconf_t;

typedef struct st_route_registrar_t route_registrar_t;
struct st_route_registrar_t {
    /**
     * @param path  path prefix, e.g. "/submit" or "/api/v1/mirrors"
     * @param route short metric label for the route, e.g. "submit"
     * @return the pathconf (owned by the server), or NULL on ENOMEM
     */
    struct st_h2o_pathconf_t *(*add)(route_registrar_t *self, const char *path, const char *route);
};

#endif
