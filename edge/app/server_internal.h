// SPDX-License-Identifier: MIT
/*
 * server_internal: the types shared by the server's files: server.c (threads, listeners, routes,
 * shutdown) and server_auth.c (admin authentication). Nothing outside edge/app/server*.c uses them.
 */
#ifndef edge__app_server_internal_h
#define edge__app_server_internal_h

#include "edge/app/server.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <h2o.h>
#include <h2o/http2.h>
#include "edge/cpu_accept.h"
#include "edge/log.h"
#include "edge/metrics.h"
#include "edge/respond.h"

#define DRAIN_POLL_MS 100
/* a client address that failed admin authentication this often within the window is answered 429
 * without running bcrypt (only credentials verified recently still get in) */
#define AUTH_FAILURES_MAX 10
#define AUTH_WINDOW_MS 60000
#define AUTH_TRACKED_PEERS 256
#define MAX_STATUS 600

typedef struct st_plane_t plane_t;
typedef struct st_worker_t worker_t;

typedef struct st_listener_t {
    const config_listen_t *conf;
    SSL_CTX *ssl_ctx;
    int *fds; /* one per thread of the plane; -1 once an h2o socket owns it */
} listener_t;

typedef struct st_conn_t {
    h2o_linklist_t link;
    worker_t *worker;
    h2o_socket_t *sock;
    unsigned inflight;
    unsigned long requests;
    /* sock->bytes_read when the connection last became idle: more bytes since means a request is arriving */
    size_t bytes_read_when_idle;
} conn_t;

struct st_worker_t {
    plane_t *plane;
    unsigned index;
    pthread_t tid;
    int started;
    sem_t registered; /* posted once `wakeup` can receive: server_stop may message it from then on */
    h2o_context_t ctx;
    h2o_multithread_receiver_t wakeup;
    h2o_multithread_receiver_t handoff; /* connections other workers accepted for this one */
    h2o_socket_t **listen_socks;
    h2o_accept_ctx_t *accept_ctxs;
    h2o_linklist_t conns;
    _Atomic size_t num_conns; /* read by the other workers' hand_over */
    h2o_timeout_t poll_timeout;
    h2o_timeout_entry_t poll_entry;
    /* the context was disposed after a clean drain (else connections still use it) */
    int disposed;
};

typedef struct st_route_t {
    struct st_route_t *next;
    plane_t *plane;
    char *name;
    metrics_histogram_t *latency;
    metrics_counter_t *_Atomic by_status[MAX_STATUS];
} route_t;

struct st_plane_t {
    route_registrar_t super;
    server_t *server;
    const char *name;
    h2o_globalconf_t gc;
    h2o_hostconf_t *host;
    listener_t *listeners;
    size_t num_listeners;
    unsigned num_threads;
    worker_t *workers;
    route_t *routes;
    h2o_access_log_filehandle_t *access_log;
    metrics_gauge_t *inflight;
    metrics_gauge_t *connections;
    metrics_counter_t *accepted;
    metrics_counter_t *refused;
    metrics_counter_t *unrouted;
    int cpu_local_accept; /* server.cpu_local_accept, with 2+ threads */
    metrics_counter_t *handed_over;
    _Atomic unsigned handoffs_sending; /* senders between their `stopping` check and their message */
    /* sources of the h2o-internal error counters (see register_protocol_error_metrics) */
    struct st_protocol_error_source_t {
        plane_t *plane;
        size_t index;
    } protocol_errors[H2O_STATUS_ERROR_MAX];
};

struct st_server_t {
    const config_t *config;
    plane_t public_plane;
    plane_t admin_plane;
    _Atomic(htpasswd_t *) htpasswd;
    /* tables replaced by SIGHUP: the admin thread may still be verifying against one (bcrypt takes
     * tens of ms), and reloads are rare, so they are freed only with the server */
    htpasswd_t **retired_htpasswd;
    size_t num_retired;
    _Atomic int stopping;
    _Atomic uint64_t open_connections;
    /* failed admin logins per client address (admin thread only): see on_auth_req */
    struct st_auth_failures_t {
        uint8_t addr[16];
        uint8_t used;
        uint32_t count;
        uint64_t since_ms;
    } auth_failures[AUTH_TRACKED_PEERS];
    uint64_t deadline_ms;
};

/** Puts the credentials check in front of every admin route (after every route is registered). */
void server__guard_admin_paths(server_t *server);

#endif
