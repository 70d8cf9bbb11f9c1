// SPDX-License-Identifier: MIT
/*
 * server_auth: HTTP Basic authentication in front of every admin route, with a per-address limit
 * of failed logins (answered 429 without running bcrypt) and a refusal of cross-site writes.
 * Runs on the admin thread; the credential table is swapped by SIGHUP (server.c).
 */
#include "edge/app/server_internal.h"

typedef struct st_auth_handler_t {
    h2o_handler_t super;
    server_t *server;
} auth_handler_t;

/*
 * A browser that holds the admin credentials would attach them to a form that another site posts
 * to the admin listener. Writes are therefore refused when the browser says the request comes from
 * another site (Sec-Fetch-Site) or names another origin (Origin); scripts and release automation
 * send neither header.
 */
static int is_cross_site_write(h2o_req_t *req)
{
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return 0;
    ssize_t idx = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-site"), -1);
    if (idx >= 0) {
        h2o_iovec_t v = req->headers.entries[idx].value;
        if (!h2o_memis(v.base, v.len, H2O_STRLIT("same-origin")) && !h2o_memis(v.base, v.len, H2O_STRLIT("none")))
            return 1;
    }
    if ((idx = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) >= 0) {
        /* the origin must be this very host: "<scheme>://<Host header>" */
        h2o_iovec_t origin = req->headers.entries[idx].value, host = req->authority;
        const char *sep = memchr(origin.base, ':', origin.len);
        if (sep == NULL || (size_t)(origin.base + origin.len - sep) < 3 || sep[1] != '/' || sep[2] != '/')
            return 1;
        const char *origin_host = sep + 3;
        size_t origin_host_len = (size_t)(origin.base + origin.len - origin_host);
        if (!h2o_memis(origin_host, origin_host_len, host.base, host.len))
            return 1;
    }
    return 0;
}

/* The failure record of the request's peer (created when absent, evicting the stalest probe). */
static struct st_auth_failures_t *auth_failures_of(server_t *server, h2o_req_t *req, uint64_t now)
{
    struct sockaddr_storage ss;
    uint8_t addr[16] = {0};
    if (req->conn->callbacks->get_peername(req->conn, (void *)&ss) == 0)
        return NULL;
    if (ss.ss_family == AF_INET)
        memcpy(addr + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    else if (ss.ss_family == AF_INET6)
        memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < sizeof(addr); ++i)
        hash = (hash ^ addr[i]) * 16777619u;
    struct st_auth_failures_t *stalest = NULL;
    for (uint32_t i = 0; i < 8; ++i) {
        struct st_auth_failures_t *e = &server->auth_failures[(hash + i) % AUTH_TRACKED_PEERS];
        if (e->used && memcmp(e->addr, addr, sizeof(addr)) == 0)
            return e;
        if (stalest == NULL || !e->used || (stalest->used && e->since_ms < stalest->since_ms))
            stalest = e;
    }
    *stalest = (struct st_auth_failures_t){.used = 1, .since_ms = now};
    memcpy(stalest->addr, addr, sizeof(addr));
    return stalest;
}

static int on_auth_req(h2o_handler_t *self, h2o_req_t *req)
{
    if (is_cross_site_write(req)) {
        metrics_counter_inc(metrics_counter("edge_admin_auth_failures_total", "Admin requests refused for missing or wrong credentials",
                                            "reason=\"cross_site\""));
        static const char body[] = "Forbidden: cross-site write to the admin API\n";
        respond_text(req, 403, "Forbidden", "text/plain; charset=utf-8", body, sizeof(body) - 1);
        return 0;
    }
    server_t *server = ((auth_handler_t *)self)->server;
    ssize_t idx = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    htpasswd_t *table = atomic_load(&server->htpasswd);
    uint64_t now = h2o_now(req->conn->ctx->loop);
    struct st_auth_failures_t *failures = idx >= 0 ? auth_failures_of(server, req, now) : NULL;
    if (failures != NULL && now - failures->since_ms >= AUTH_WINDOW_MS) {
        failures->count = 0;
        failures->since_ms = now;
    }
    if (failures != NULL && failures->count >= AUTH_FAILURES_MAX) {
        if (htpasswd_verify_basic_cached(table, req->headers.entries[idx].value.base, req->headers.entries[idx].value.len))
            return -1;
        metrics_counter_inc(metrics_counter("edge_admin_auth_failures_total", "Admin requests refused for missing or wrong credentials",
                                            "reason=\"locked_out\""));
        char *retry = h2o_mem_alloc_pool(&req->pool, 24);
        snprintf(retry, 24, "%llu", (unsigned long long)((AUTH_WINDOW_MS - (now - failures->since_ms)) / 1000 + 1));
        respond_add_header(req, "Retry-After", retry);
        static const char body[] = "Too Many Requests: too many failed logins from this address\n";
        respond_text(req, 429, "Too Many Requests", "text/plain; charset=utf-8", body, sizeof(body) - 1);
        return 0;
    }
    if (idx >= 0 && htpasswd_verify_basic(table, req->headers.entries[idx].value.base, req->headers.entries[idx].value.len))
        return -1;
    if (failures != NULL)
        ++failures->count;
    metrics_counter_inc(metrics_counter("edge_admin_auth_failures_total", "Admin requests refused for missing or wrong credentials",
                                        idx >= 0 ? "reason=\"wrong\"" : "reason=\"missing\""));
    respond_add_header(req, "WWW-Authenticate", "Basic realm=\"Bouncer API\"");
    static const char body[] = "Unauthorized\n";
    respond_text(req, 401, "Unauthorized", "text/plain; charset=utf-8", body, sizeof(body) - 1);
    return 0;
}

void server__guard_admin_paths(server_t *server)
{
    plane_t *admin = &server->admin_plane;
    /* the credentials check must run before any admin route: h2o matches the longest path, so it
     * is added as the first handler of every admin pathconf */
    for (size_t i = 0; i < admin->host->paths.size; ++i) {
        h2o_pathconf_t *pathconf = &admin->host->paths.entries[i];
        auth_handler_t *auth = (void *)h2o_create_handler(pathconf, sizeof(*auth));
        auth->super.on_req = on_auth_req;
        auth->server = server;
        /* run it right after the accounting handler (index 0), before the route's own handler, so
         * refused requests are counted and do not look like an upload in progress at shutdown */
        memmove(pathconf->handlers.entries + 2, pathconf->handlers.entries + 1, (pathconf->handlers.size - 2) * sizeof(h2o_handler_t *));
        pathconf->handlers.entries[1] = &auth->super;
    }
}
