// SPDX-License-Identifier: MIT
/*
 * respond: the one way edge's h2o glue answers a request with a small in-memory body.
 *
 * It always sets Content-Length (h2o_send_inline alone would answer HTTP/1.1 with a chunked body,
 * which Crashpad's transport cannot read). The body is copied into the request's pool (by
 * h2o_send_inline) before respond_text returns, so callers may pass any buffer and free it after.
 * Header-only because both the server and the modules' handler files use it; only h2o glue
 * files include it. Must be called on the request's worker thread.
 */
#ifndef edge__edge_respond_h
#define edge__edge_respond_h

#include <string.h>
#include <h2o.h>

/** The standard reason phrase of the statuses edge answers with ("Internal Server Error" otherwise). */
static inline const char *respond_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/*
 * Sends the final body. An empty body goes out with no buffer at all: h2o 2.2.5's evloop writev()
 * leaves a trailing zero-length buffer "unwritten", then polls for writability just to write it,
 * which costs two epoll_ctl and a second writev per answer (every 302 has an empty body).
 */
static inline void respond_send_body(h2o_req_t *req, const char *body, size_t len)
{
    static h2o_generator_t no_generator = {NULL, NULL};

    if (len != 0) {
        h2o_send_inline(req, body, len);
        return;
    }
    h2o_start_response(req, &no_generator);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

static inline void respond_text(h2o_req_t *req, int status, const char *reason, const char *content_type, const char *body,
                                size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = len;
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    respond_send_body(req, body, len);
}

/** Adds a response header by name (for names that have no h2o token). Both strings must outlive the request. */
static inline void respond_add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value, strlen(value));
}

#endif
