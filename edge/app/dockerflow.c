// SPDX-License-Identifier: MIT
/*
 * dockerflow: thin h2o handlers over edge/health.h. The heartbeat runs the checks on the worker
 * thread that got the request; checks are cheap by contract (see health.h).
 */
#include "edge/app/dockerflow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <h2o.h>
#include "edge/health.h"
#include "edge/respond.h"

#include "edge_commit.h" /* generated at build time: EDGE_COMMIT */

const char *dockerflow_version_json(void)
{
    return "{\"build\":\"" __DATE__ " " __TIME__ "\",\"commit\":\"" EDGE_COMMIT "\",\"source\":\"edge\",\"version\":\"" EDGE_VERSION
           "\"}\n";
}

/* The endpoints are read-only: anything but GET and HEAD is 405. */
static int refuse_method(h2o_req_t *req)
{
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return 0;
    respond_add_header(req, "Allow", "GET, HEAD");
    respond_text(req, 405, "Method Not Allowed", "text/plain; charset=utf-8", "Method Not Allowed\n", 19);
    return 1;
}

static int on_lbheartbeat(h2o_handler_t *self, h2o_req_t *req)
{
    if (refuse_method(req))
        return 0;
    respond_text(req, 200, "OK", "text/plain; charset=utf-8", "OK\n", 3);
    return 0;
}

static int on_heartbeat(h2o_handler_t *self, h2o_req_t *req)
{
    if (refuse_method(req))
        return 0;
    int healthy;
    size_t len;
    char *json = health_report(&healthy, &len);
    if (json == NULL) {
        respond_text(req, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
        return 0;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    respond_text(req, healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable", "application/json", json, len); /* copies */
    free(json);
    return 0;
}

static int on_version(h2o_handler_t *self, h2o_req_t *req)
{
    if (refuse_method(req))
        return 0;
    const char *json = dockerflow_version_json();
    respond_text(req, 200, "OK", "application/json", json, strlen(json));
    return 0;
}

static int add(route_registrar_t *routes, const char *path, const char *name, int (*on_req)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *pathconf = routes->add(routes, path, name);
    if (pathconf == NULL)
        return -ENOMEM;
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = on_req;
    return 0;
}

int dockerflow_register(route_registrar_t *routes)
{
    int ret;
    if ((ret = add(routes, "/__lbheartbeat__", "lbheartbeat", on_lbheartbeat)) != 0 ||
        (ret = add(routes, "/__heartbeat__", "heartbeat", on_heartbeat)) != 0 ||
        (ret = add(routes, "/__version__", "version", on_version)) != 0)
        return ret;
    return 0;
}
