// SPDX-License-Identifier: MIT
/*
 * server: threads, listeners, TLS, connection accounting and graceful shutdown on libh2o.
 *
 * Two "planes" share this code: the public plane (N worker threads, the public listeners) and
 * the admin plane (one thread, the admin listeners, HTTP Basic auth in front of every route).
 * Each plane has its own h2o_globalconf_t, so public and admin routes can never be confused.
 *
 * Every accepted socket gets a conn_t (linked into its worker, found again through
 * sock->on_close.data) that counts the requests in flight on it. Shutdown uses that: workers
 * close their listeners, ask h2o to stop keep-alive, and every 100 ms check whether all their
 * connections are idle (no request in a handler, no byte read since the last answer); when
 * they are, the HTTP/1 request timeout is cut to zero so h2o closes the idle keep-alive
 * connections itself. A worker returns when it has no connection left or the deadline passed.
 */
#include "edge/app/server_internal.h"

/* workers whose contexts were abandoned at the shutdown deadline (see plane_dispose) */
static worker_t *retained_until_exit[2];

static const h2o_iovec_t http1_only_alpn[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

/* ---- connection accounting ---- */

/* Takes a connection off the counts that on_accept (and hand_over) added it to. */
static void uncount(worker_t *worker)
{
    plane_t *plane = worker->plane;
    --worker->num_conns;
    atomic_fetch_sub(&plane->server->open_connections, 1);
    metrics_gauge_add(plane->connections, -1);
}

static void on_conn_close(void *data)
{
    conn_t *conn = data;
    if (conn->requests == 0 && conn->sock->bytes_read != 0)
        metrics_counter_inc(conn->worker->plane->unrouted);
    h2o_linklist_unlink(&conn->link);
    uncount(conn->worker);
    free(conn);
}

/* Starts serving a connection on this worker (its num_conns already counts it). */
static void adopt(worker_t *worker, h2o_socket_t *sock, size_t listener_index)
{
    conn_t *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        h2o_socket_close(sock);
        uncount(worker);
        return;
    }
    conn->worker = worker;
    conn->sock = sock;
    h2o_linklist_insert(&worker->conns, &conn->link);
    sock->on_close.cb = on_conn_close;
    sock->on_close.data = conn;
    h2o_accept(&worker->accept_ctxs[listener_index], sock);
}

/* A connection another worker accepted for this one (cpu_accept_handoff), as an h2o message. */
typedef struct st_handoff_t {
    h2o_multithread_message_t super;
    h2o_socket_export_t sock;
    size_t listener_index;
} handoff_t;

static void on_handoff(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    worker_t *worker = H2O_STRUCT_FROM_MEMBER(worker_t, handoff, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        handoff_t *h = H2O_STRUCT_FROM_MEMBER(handoff_t, super.link, messages->next);
        h2o_linklist_unlink(&h->super.link);
        adopt(worker, h2o_socket_import(worker->ctx.loop, &h->sock), h->listener_index);
        free(h);
    }
}

/* Gives a just-accepted connection to a less loaded worker when this one holds too many.
 * @return 1 when handed over (the socket is gone from this worker), 0 to keep it. */
static int hand_over(worker_t *worker, h2o_socket_t *sock, size_t listener_index)
{
    plane_t *plane = worker->plane;
    if (!plane->cpu_local_accept || plane->num_threads > 64)
        return 0;
    size_t conns[64];
    for (unsigned t = 0; t < plane->num_threads; ++t)
        conns[t] = atomic_load_explicit(&plane->workers[t].num_conns, memory_order_relaxed);
    unsigned to = cpu_accept_handoff(conns, plane->num_threads, worker->index);
    if (to == worker->index)
        return 0;
    handoff_t *h = malloc(sizeof(*h));
    if (h == NULL)
        return 0;
    int sent = 0;
    /* the target unregisters its receiver only after it saw `stopping` and no sender in between */
    atomic_fetch_add(&plane->handoffs_sending, 1);
    if (!atomic_load(&plane->server->stopping) && h2o_socket_export(sock, &h->sock) == 0) {
        memset(&h->super, 0, sizeof(h->super)); /* unlinked */
        h->listener_index = listener_index;
        ++plane->workers[to].num_conns; /* before the message: the target's drain waits for it */
        h2o_multithread_send_message(&plane->workers[to].handoff, &h->super);
        metrics_counter_inc(plane->handed_over);
        sent = 1;
    }
    atomic_fetch_sub(&plane->handoffs_sending, 1);
    if (!sent)
        free(h);
    return sent;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    worker_t *worker = listener->data;
    plane_t *plane = worker->plane;
    if (err != NULL)
        return;
    size_t li = 0; /* which of this worker's listeners accepted */
    while (worker->listen_socks[li] != listener)
        ++li;
    for (int i = 0; i < 16; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        if (atomic_load(&plane->server->open_connections) >= plane->server->config->server.max_connections) {
            metrics_counter_inc(plane->refused);
            h2o_socket_close(sock);
            continue;
        }
        atomic_fetch_add(&plane->server->open_connections, 1);
        metrics_gauge_add(plane->connections, 1);
        metrics_counter_inc(plane->accepted);
        if (hand_over(worker, sock, li))
            continue;
        ++worker->num_conns;
        adopt(worker, sock, li);
    }
}

/* ---- per-route accounting: a first handler that counts in-flight requests, a logger that counts outcomes ---- */

typedef struct st_route_handler_t {
    h2o_handler_t super;
    route_t *route;
} route_handler_t;

typedef struct st_route_logger_t {
    h2o_logger_t super;
    route_t *route;
} route_logger_t;

/* The accounting record of the connection a request came on, NULL when it has none. */
static conn_t *request_conn(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL ? req->conn->callbacks->get_socket(req->conn) : NULL;
    return sock != NULL && sock->on_close.cb == on_conn_close ? sock->on_close.data : NULL;
}

/* Runs first on every routed request; on_route_log, which h2o calls when it disposes of any request
 * that reached a route's handlers, undoes the in-flight counts (no allocation per request). */
static int on_route_req(h2o_handler_t *self, h2o_req_t *req)
{
    route_t *route = ((route_handler_t *)self)->route;
    conn_t *conn = request_conn(req);
    if (conn != NULL) {
        ++conn->inflight;
        ++conn->requests;
    }
    metrics_gauge_add(route->plane->inflight, 1);
    /* a header rather than h2o's server_name, which h2o 2.2.5 prints with one more sprintf per answer */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SERVER, NULL, H2O_STRLIT("edge"));
    return -1; /* go on to the route's real handler */
}

static void on_route_log(h2o_logger_t *self, h2o_req_t *req)
{
    route_t *route = ((route_logger_t *)self)->route;
    metrics_gauge_add(route->plane->inflight, -1);
    conn_t *conn = request_conn(req);
    if (conn != NULL && --conn->inflight == 0)
        conn->bytes_read_when_idle = conn->sock->bytes_read;
    int status = req->res.status;
    if (status < 100 || status >= MAX_STATUS)
        status = 0; /* the client went away before an answer */
    metrics_counter_t *counter = atomic_load_explicit(&route->by_status[status], memory_order_acquire);
    if (counter == NULL) {
        char labels[256];
        snprintf(labels, sizeof(labels), "listener=\"%s\",route=\"%s\",status=\"%d\"", route->plane->name, route->name, status);
        counter = metrics_counter("edge_http_requests_total", "HTTP requests answered, by listener, route and status", labels);
        atomic_store_explicit(&route->by_status[status], counter, memory_order_release);
    }
    metrics_counter_inc(counter);
    struct timeval now;
    gettimeofday(&now, NULL);
    double seconds = (double)(now.tv_sec - req->timestamps.request_begin_at.tv_sec) +
                     (double)(now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1e6;
    if (seconds >= 0)
        metrics_histogram_observe(route->latency, seconds);
}

static h2o_pathconf_t *add_route(route_registrar_t *self, const char *path, const char *name)
{
    plane_t *plane = (plane_t *)self;
    route_t *route = calloc(1, sizeof(*route));
    if (route == NULL || (route->name = strdup(name)) == NULL) {
        free(route);
        return NULL;
    }
    route->plane = plane;
    route->next = plane->routes;
    plane->routes = route;
    char labels[256];
    snprintf(labels, sizeof(labels), "listener=\"%s\",route=\"%s\"", plane->name, name);
    route->latency = metrics_histogram("edge_http_request_duration_seconds", "Time from request start to the end of the answer",
                                       labels, metrics_latency_buckets, metrics_latency_buckets_count);

    h2o_pathconf_t *pathconf = h2o_config_register_path(plane->host, path, 0);
    route_handler_t *handler = (void *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = on_route_req;
    handler->route = route;
    route_logger_t *logger = (void *)h2o_create_logger(pathconf, sizeof(*logger));
    logger->super.log_access = on_route_log;
    logger->route = route;
    if (plane->access_log != NULL)
        h2o_access_log_register(pathconf, plane->access_log);
    return pathconf;
}

/* ---- server's own routes ---- */

typedef struct st_simple_handler_t {
    h2o_handler_t super;
    server_t *server;
} simple_handler_t;

static int on_metrics_req(h2o_handler_t *self, h2o_req_t *req)
{
    size_t len;
    char *text = metrics_render(&len);
    if (text == NULL) {
        respond_text(req, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
        return 0;
    }
    respond_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len); /* copies the body */
    free(text);
    return 0;
}

static int on_not_found_req(h2o_handler_t *self, h2o_req_t *req)
{
    static const char body[] = "Not Found\n";
    respond_text(req, 404, "Not Found", "text/plain; charset=utf-8", body, sizeof(body) - 1);
    return 0;
}

static void add_simple_route(plane_t *plane, const char *path, const char *name, int (*on_req)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *pathconf = add_route(&plane->super, path, name);
    if (pathconf == NULL)
        return;
    simple_handler_t *handler = (void *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->server = plane->server;
}

/* ---- listeners ---- */

static SSL_CTX *create_ssl_ctx(const config_listen_t *conf, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        goto Error;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, conf->certificate) != 1) {
        snprintf(err, errlen, "listener %s: cannot load certificate %s: %s", conf->address, conf->certificate,
                 ERR_reason_error_string(ERR_get_error()));
        goto Error;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, conf->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "listener %s: cannot load key %s or it does not match the certificate: %s", conf->address, conf->key,
                 ERR_reason_error_string(ERR_get_error()));
        goto Error;
    }
    h2o_ssl_register_alpn_protocols(ctx, conf->http2 ? h2o_http2_alpn_protocols : http1_only_alpn);
    return ctx;
Error:
    if (ctx == NULL)
        snprintf(err, errlen, "cannot create a TLS context");
    SSL_CTX_free(ctx);
    return NULL;
}

/* A TCP socket bound to the listener's address (SO_REUSEADDR: connections in TIME_WAIT do not count), or -1 and err. */
static int bound_socket(const config_listen_t *conf, int reuseport, char *err, size_t errlen)
{
    int fd = socket(conf->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0) {
        snprintf(err, errlen, "listener %s: socket: %s", conf->address, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    if (conf->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (const struct sockaddr *)&conf->addr, conf->addrlen) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s%s", conf->address, strerror(errno),
                 errno == EADDRINUSE ? " (another process listens there)" : "");
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * SO_REUSEPORT lets a second process of the same user bind a port that is already listening, and
 * the kernel then splits the connections between the two without a word. A probe bind without it
 * fails with EADDRINUSE in that case, so a second instance (or another server) is refused at start.
 */
static int check_address_free(const config_listen_t *conf, char *err, size_t errlen)
{
    int fd = bound_socket(conf, 0, err, errlen);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int bind_listener(const config_listen_t *conf, char *err, size_t errlen)
{
    int fd = bound_socket(conf, 1, err, errlen), on = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", conf->address, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int plane_init(server_t *server, plane_t *plane, const char *name, const config_listen_t *listens, size_t num_listens,
                      unsigned threads, char *err, size_t errlen)
{
    const config_t *config = server->config;
    plane->super.add = add_route;
    plane->server = server;
    plane->name = name;
    plane->num_threads = threads;
    h2o_config_init(&plane->gc);
    plane->gc.max_request_entity_size = config->server.max_request_body;
    plane->gc.http1.req_timeout = config->server.request_timeout_ms;
    plane->gc.http1.upgrade_to_http2 = 0;
    plane->gc.http2.idle_timeout = config->server.http2_idle_timeout_ms;
    plane->gc.http2.graceful_shutdown_timeout = config->server.shutdown_timeout_ms;
    plane->gc.server_name = h2o_iovec_init(H2O_STRLIT("")); /* on_route_req adds the header */
    plane->host = h2o_config_register_host(&plane->gc, h2o_iovec_init(H2O_STRLIT("default")), 65535);

    char labels[64];
    snprintf(labels, sizeof(labels), "listener=\"%s\"", name);
    plane->inflight = metrics_gauge("edge_http_requests_in_flight", "Requests being handled", labels);
    plane->connections = metrics_gauge("edge_http_connections", "Open client connections", labels);
    plane->accepted = metrics_counter("edge_http_connections_accepted_total", "Connections accepted", labels);
    plane->refused = metrics_counter("edge_http_connections_refused_total", "Connections closed at once because max_connections was reached",
                                     labels);
    plane->unrouted = metrics_counter("edge_http_connections_without_request_total",
                                      "Connections that sent data but no request h2o could parse and route (malformed requests, "
                                      "oversized headers or bodies, timeouts, TLS failures)",
                                      labels);
    if (strcmp(name, "public") == 0 && config->server.access_log != NULL) {
        plane->access_log = h2o_access_log_open_handle(
            config->server.access_log, "%h %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-agent}i\"", H2O_LOGCONF_ESCAPE_APACHE);
        if (plane->access_log == NULL) {
            snprintf(err, errlen, "cannot open access log %s", config->server.access_log);
            return -1;
        }
    }

    if ((plane->listeners = calloc(num_listens, sizeof(*plane->listeners))) == NULL)
        goto Oom;
    plane->num_listeners = num_listens;
    for (size_t i = 0; i < num_listens; ++i) {
        listener_t *l = &plane->listeners[i];
        l->conf = &listens[i];
        if ((l->fds = malloc(threads * sizeof(int))) == NULL)
            goto Oom;
        for (unsigned t = 0; t < threads; ++t)
            l->fds[t] = -1;
        if (listens[i].certificate != NULL && (l->ssl_ctx = create_ssl_ctx(&listens[i], err, errlen)) == NULL)
            return -1;
        if (listens[i].http2 && listens[i].certificate == NULL) {
            snprintf(err, errlen, "listener %s: http2 needs tls (HTTP/2 is only offered through ALPN)", listens[i].address);
            return -1;
        }
        if (check_address_free(&listens[i], err, errlen) != 0)
            return -1;
        for (unsigned t = 0; t < threads; ++t)
            if ((l->fds[t] = bind_listener(&listens[i], err, errlen)) < 0)
                return -1;
    }
    if ((plane->workers = calloc(threads, sizeof(*plane->workers))) == NULL)
        goto Oom;

    /* CPU-local accepting (edge/cpu_accept.h): worker t takes the connections whose SYN reached its CPU */
    plane->cpu_local_accept = config->server.cpu_local_accept && threads > 1;
    for (unsigned t = 0; plane->cpu_local_accept && t < threads; ++t) {
        int cpu = cpu_accept_cpu_of_worker(t);
        for (size_t i = 0; cpu >= 0 && i < num_listens; ++i) {
            int e = cpu_accept_set(plane->listeners[i].fds[t], cpu);
            if (e != 0) {
                log_warn("main", "%s listeners: cannot bind worker %u to CPU %d (%s): its connections are spread by hash", name, t,
                         cpu, strerror(-e));
                break;
            }
        }
    }
    if (plane->cpu_local_accept)
        plane->handed_over = metrics_counter("edge_http_connections_handed_over_total",
                                             "Connections a worker accepted and gave to a less loaded worker, to keep them "
                                             "balanced (server.cpu_local_accept)",
                                             labels);
    return 0;
Oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

server_t *server_create(const config_t *config, htpasswd_t *htpasswd, char *err, size_t errlen)
{
    server_t *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    server->config = config;
    atomic_store(&server->htpasswd, htpasswd);
    if (plane_init(server, &server->public_plane, "public", config->server.listen, config->server.listen_count,
                   config->server.threads, err, errlen) != 0 ||
        plane_init(server, &server->admin_plane, "admin", config->admin.listen, config->admin.listen_count, 1, err, errlen) != 0) {
        server_destroy(server);
        return NULL;
    }
    return server;
}

route_registrar_t *server_public_routes(server_t *server)
{
    return &server->public_plane.super;
}

route_registrar_t *server_admin_routes(server_t *server)
{
    return &server->admin_plane.super;
}

void server_set_htpasswd(server_t *server, htpasswd_t *htpasswd)
{
    htpasswd_t **retired = realloc(server->retired_htpasswd, (server->num_retired + 1) * sizeof(*retired));
    if (retired == NULL) {
        htpasswd_destroy(htpasswd); /* keep the running table rather than risk freeing one in use */
        log_error("server", "out of memory: admin credentials not replaced");
        return;
    }
    server->retired_htpasswd = retired;
    server->retired_htpasswd[server->num_retired++] = atomic_exchange(&server->htpasswd, htpasswd);
}

/* ---- worker threads ---- */

static void on_wakeup(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
    }
}

static int all_connections_idle(worker_t *worker)
{
    for (h2o_linklist_t *node = worker->conns.next; node != &worker->conns; node = node->next) {
        conn_t *conn = H2O_STRUCT_FROM_MEMBER(conn_t, link, node);
        if (conn->inflight != 0 || conn->sock->bytes_read != conn->bytes_read_when_idle)
            return 0;
    }
    return 1;
}

static void on_drain_poll(h2o_timeout_entry_t *entry)
{
    worker_t *worker = H2O_STRUCT_FROM_MEMBER(worker_t, poll_entry, entry);
    /* Idle keep-alive connections wait on the HTTP/1 request timeout: expire it now. */
    if (all_connections_idle(worker))
        worker->ctx.http1.req_timeout.timeout = 0;
    h2o_timeout_link(worker->ctx.loop, &worker->poll_timeout, &worker->poll_entry);
}

/* h2o_context_dispose asserts that none of the context's timeouts has an entry left. */
static int context_timeouts_idle(h2o_context_t *ctx)
{
    h2o_timeout_t *timeouts[] = {&ctx->zero_timeout,       &ctx->one_sec_timeout,   &ctx->hundred_ms_timeout,
                                 &ctx->handshake_timeout,  &ctx->http1.req_timeout, &ctx->http2.idle_timeout,
                                 &ctx->http2.graceful_shutdown_timeout, &ctx->proxy.io_timeout};
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); ++i)
        if (!h2o_linklist_is_empty(&timeouts[i]->_entries))
            return 0;
    return 1;
}

static void *worker_main(void *arg)
{
    worker_t *worker = arg;
    plane_t *plane = worker->plane;
    server_t *server = plane->server;

    /* named by itself before it serves anything: what top -H, perf and the tests see */
    char thread_name[32];
    snprintf(thread_name, sizeof(thread_name), "edge-%.6s-%u", plane->name, worker->index);
    thread_name[15] = '\0'; /* the kernel keeps 15 bytes */
    pthread_setname_np(pthread_self(), thread_name);

    h2o_context_init(&worker->ctx, h2o_evloop_create(), &plane->gc);
    h2o_multithread_register_receiver(worker->ctx.queue, &worker->wakeup, on_wakeup);
    h2o_multithread_register_receiver(worker->ctx.queue, &worker->handoff, on_handoff);
    sem_post(&worker->registered);
    h2o_linklist_init_anchor(&worker->conns);
    for (size_t i = 0; i < plane->num_listeners; ++i) {
        listener_t *l = &plane->listeners[i];
        worker->accept_ctxs[i] = (h2o_accept_ctx_t){.ctx = &worker->ctx, .hosts = plane->gc.hosts, .ssl_ctx = l->ssl_ctx};
        h2o_socket_t *sock = h2o_evloop_socket_create(worker->ctx.loop, l->fds[worker->index], H2O_SOCKET_FLAG_DONT_READ);
        l->fds[worker->index] = -1; /* now owned by the socket */
        sock->data = worker;
        worker->listen_socks[i] = sock;
        h2o_socket_read_start(sock, on_accept);
    }

    while (!atomic_load(&server->stopping))
        h2o_evloop_run(worker->ctx.loop, INT32_MAX);

    /* graceful shutdown: stop accepting, let in-flight requests finish, close idle connections */
    for (size_t i = 0; i < plane->num_listeners; ++i) {
        h2o_socket_read_stop(worker->listen_socks[i]);
        h2o_socket_close(worker->listen_socks[i]);
        worker->listen_socks[i] = NULL;
    }
    h2o_context_request_shutdown(&worker->ctx);
    h2o_timeout_init(worker->ctx.loop, &worker->poll_timeout, DRAIN_POLL_MS);
    worker->poll_entry.cb = on_drain_poll;
    h2o_timeout_link(worker->ctx.loop, &worker->poll_timeout, &worker->poll_entry);
    /* a connection handed over to this worker is counted in its num_conns before the message is sent */
    while ((worker->num_conns != 0 || atomic_load(&plane->handoffs_sending) != 0) && h2o_now(worker->ctx.loop) < server->deadline_ms)
        h2o_evloop_run(worker->ctx.loop, DRAIN_POLL_MS);
    h2o_timeout_unlink(&worker->poll_entry);
    if (worker->num_conns != 0) {
        /* connections still reference the context: leave it to the process exit */
        log_warn("server", "%s worker %u: %zu connections still open at the shutdown deadline", plane->name, worker->index,
                 worker->num_conns);
        return NULL;
    }
    /* HTTP/2's GOAWAY re-send / straggler timer stays armed after the last connection closed */
    if (h2o_timeout_is_linked(&worker->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&worker->ctx.http2._graceful_shutdown_timeout);
    if (!context_timeouts_idle(&worker->ctx))
        return NULL; /* h2o_context_dispose would assert: leave it to the process exit */
    h2o_multithread_unregister_receiver(worker->ctx.queue, &worker->wakeup);
    h2o_multithread_unregister_receiver(worker->ctx.queue, &worker->handoff);
    h2o_context_dispose(&worker->ctx);
    worker->disposed = 1;
    /* h2o 2.2.5 has no evloop destructor: the (small) loop stays allocated until exit */
    return NULL;
}

static int plane_start(plane_t *plane)
{
    for (unsigned t = 0; t < plane->num_threads; ++t) {
        worker_t *w = &plane->workers[t];
        w->plane = plane;
        w->index = t;
        w->listen_socks = calloc(plane->num_listeners, sizeof(*w->listen_socks));
        w->accept_ctxs = calloc(plane->num_listeners, sizeof(*w->accept_ctxs));
        if (w->listen_socks == NULL || w->accept_ctxs == NULL)
            return -ENOMEM;
        if (sem_init(&w->registered, 0, 0) != 0)
            return -errno;
        int ret = pthread_create(&w->tid, NULL, worker_main, w);
        if (ret != 0) {
            sem_destroy(&w->registered);
            return -ret;
        }
        /* a SIGTERM right after start must not message a receiver the thread has not registered yet */
        while (sem_wait(&w->registered) != 0 && errno == EINTR)
            ;
        sem_destroy(&w->registered);
        w->started = 1;
    }
    return 0;
}

/*
 * h2o 2.2.5 picks the first registered path that is a prefix of the request path, so a module's
 * "/" registered before another's "/submit" would shadow it. Order the paths longest first
 * (stable) once every module has registered; no pathconf pointer is held anywhere yet.
 */
static void sort_paths_longest_first(h2o_hostconf_t *host)
{
    for (size_t i = 1; i < host->paths.size; ++i) {
        h2o_pathconf_t moving = host->paths.entries[i];
        size_t j = i;
        while (j > 0 && host->paths.entries[j - 1].path.len < moving.path.len) {
            host->paths.entries[j] = host->paths.entries[j - 1];
            --j;
        }
        host->paths.entries[j] = moving;
    }
}

/* h2o counts the error answers it emits itself (e.g. 400/413 from its parsers) per context. */
static double protocol_errors_sum(void *arg)
{
    const struct st_protocol_error_source_t *src = arg;
    uint64_t sum = 0;
    for (unsigned t = 0; t < src->plane->num_threads; ++t)
        if (src->plane->workers[t].started)
            sum += src->plane->workers[t].ctx.emitted_error_status[src->index]; /* a racy read of a counter is fine here */
    return (double)sum;
}

static void register_protocol_error_metrics(plane_t *plane)
{
    static const int statuses[H2O_STATUS_ERROR_MAX] = {400, 403, 404, 405, 413, 416, 417, 500, 502, 503};
    for (size_t i = 0; i < H2O_STATUS_ERROR_MAX; ++i) {
        char labels[96];
        snprintf(labels, sizeof(labels), "listener=\"%s\",status=\"%d\"", plane->name, statuses[i]);
        plane->protocol_errors[i] = (struct st_protocol_error_source_t){plane, i};
        metrics_counter_fn("edge_http_h2o_errors_total", "Error answers emitted by h2o itself, outside edge's handlers", labels,
                           protocol_errors_sum, &plane->protocol_errors[i]);
    }
}

int server_start(server_t *server)
{
    plane_t *admin = &server->admin_plane;
    add_simple_route(admin, "/metrics", "metrics", on_metrics_req);
    add_simple_route(admin, "/", "other", on_not_found_req);
    /* a counted 404 for paths no module serves (a module's own "/" was registered first and wins) */
    add_simple_route(&server->public_plane, "/", "other", on_not_found_req);
    server__guard_admin_paths(server);
    register_protocol_error_metrics(&server->public_plane);
    register_protocol_error_metrics(admin);
    sort_paths_longest_first(server->public_plane.host);
    sort_paths_longest_first(admin->host);
    int ret;
    if ((ret = plane_start(&server->public_plane)) != 0 || (ret = plane_start(admin)) != 0) {
        server_stop(server);
        return ret;
    }
    return 0;
}

void server_stop(server_t *server)
{
    if (server->deadline_ms != 0)
        return;
    /* h2o's loop clock is wall-clock milliseconds */
    struct timeval now;
    gettimeofday(&now, NULL);
    server->deadline_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_usec / 1000 + server->config->server.shutdown_timeout_ms;
    atomic_store(&server->stopping, 1);
    plane_t *planes[] = {&server->public_plane, &server->admin_plane};
    for (size_t p = 0; p < 2; ++p)
        for (unsigned t = 0; t < planes[p]->num_threads; ++t)
            if (planes[p]->workers[t].started)
                h2o_multithread_send_message(&planes[p]->workers[t].wakeup, NULL);
}

size_t server_wait(server_t *server)
{
    plane_t *planes[] = {&server->public_plane, &server->admin_plane};
    size_t left = 0;
    for (size_t p = 0; p < 2; ++p) {
        for (unsigned t = 0; t < planes[p]->num_threads; ++t) {
            worker_t *w = &planes[p]->workers[t];
            if (w->started) {
                pthread_join(w->tid, NULL);
                left += w->num_conns;
            }
        }
    }
    return left;
}

static void plane_dispose(plane_t *plane)
{
    for (size_t i = 0; i < plane->num_listeners; ++i) {
        listener_t *l = &plane->listeners[i];
        for (unsigned t = 0; l->fds != NULL && t < plane->num_threads; ++t)
            if (l->fds[t] >= 0)
                close(l->fds[t]);
        free(l->fds);
        SSL_CTX_free(l->ssl_ctx);
    }
    free(plane->listeners);
    int abandoned = 0;
    for (unsigned t = 0; plane->workers != NULL && t < plane->num_threads; ++t) {
        abandoned |= plane->workers[t].started && !plane->workers[t].disposed;
        free(plane->workers[t].listen_socks);
        free(plane->workers[t].accept_ctxs);
    }
    if (abandoned) {
        /* Connections cut at the shutdown deadline still hang off these contexts; the process is
         * about to exit, so keep them reachable instead of freeing memory h2o may still touch. */
        retained_until_exit[plane == &plane->server->public_plane ? 0 : 1] = plane->workers;
    } else {
        free(plane->workers);
    }
    while (plane->routes != NULL) {
        route_t *r = plane->routes;
        plane->routes = r->next;
        free(r->name);
        free(r);
    }
    if (plane->host != NULL)
        h2o_config_dispose(&plane->gc);
}

void server_destroy(server_t *server)
{
    if (server == NULL)
        return;
    plane_dispose(&server->public_plane);
    plane_dispose(&server->admin_plane);
    htpasswd_destroy(atomic_load(&server->htpasswd));
    for (size_t i = 0; i < server->num_retired; ++i)
        htpasswd_destroy(server->retired_htpasswd[i]);
    free(server->retired_htpasswd);
    free(server);
}
