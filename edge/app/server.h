// SPDX-License-Identifier: MIT
/*
 * server: the h2o plumbing. N worker threads serve the public listeners, one more thread serves
 * the admin listeners; each thread runs its own h2o evloop with its own SO_REUSEPORT socket per
 * address, so the kernel spreads connections over the cores without a shared accept lock.
 *
 * Lifecycle (main thread): server_create binds every socket (so a busy port fails before any
 * thread starts), modules add routes through server_public_routes / server_admin_routes, then
 * server_start launches the threads, server_stop begins a graceful shutdown (stop accepting,
 * finish in-flight requests, close idle keep-alive connections) and server_wait joins the
 * threads, returning once every connection is closed or the configured deadline passed.
 */
#ifndef edge__edge_app_server_h
#define edge__edge_app_server_h

#include "edge/app/config.h"
#include "edge/htpasswd.h"
#include "edge/route.h"

typedef struct st_server_t server_t;

/**
 * Creates listening sockets and the h2o configuration. Nothing runs yet.
 * @param config must outlive the server (listeners, limits and paths are read from it)
 * @param err receives the reason on failure (e.g. "cannot bind 127.0.0.1:80: Permission denied")
 * @return the server, or NULL.
 */
server_t *server_create(const config_t *config, htpasswd_t *htpasswd, char *err, size_t errlen);

/** Registrars for the public and admin listeners; valid until server_destroy. */
route_registrar_t *server_public_routes(server_t *server);
route_registrar_t *server_admin_routes(server_t *server);

/** Registers the server's own routes (Dockerflow endpoints, /metrics) and starts the threads. @return 0 or -errno. */
int server_start(server_t *server);

/** Replaces the admin credentials (SIGHUP); the server takes ownership and frees the old table later. */
void server_set_htpasswd(server_t *server, htpasswd_t *htpasswd);

/** Starts a graceful shutdown; safe to call from the signal-handling thread, more than once. */
void server_stop(server_t *server);

/**
 * Waits until every thread finished.
 * @return the number of connections that were still open at the deadline (0 after a clean drain).
 */
size_t server_wait(server_t *server);

/** Frees everything; call after server_wait (or instead of server_start). NULL is a no-op. */
void server_destroy(server_t *server);

#endif
