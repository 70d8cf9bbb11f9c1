// SPDX-License-Identifier: MIT
/*
 * handler_tuxedo: the admin API compatible with tuxedo (Mozilla's old Django bouncer admin) and
 * its Flask re-implementation, which release automation drives: /api/<endpoint>[/] on the admin
 * listener, HTTP Basic auth in front (edge/app), text/xml answers, errors as HTTP 400 with
 * `<error number="N">message</error>`, 405 for the wrong method. The contract is the table in the
 * bouncer protocol reference; docs/bouncer.md lists every endpoint with its bodies and numbers.
 *
 * Parameters come from the query string and, for POST, from an application/x-www-form-urlencoded
 * body; `languages` may repeat. Reads load the catalog from the store (uptake reads the
 * published snapshot, which carries the health). Every write is one store transaction followed
 * by bouncer__republish, so the next redirect sees it, and a health-check round is requested.
 * Everything runs on the admin thread; every string that reaches the XML is escaped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <h2o.h>
#include "bouncer/module.h"
#include "edge/log.h"
#include "edge/query.h"
#include "edge/respond.h"

#define PARAMS_MAX 1024
#define VALUE_MAX 4096

typedef struct st_tuxedo_handler_t {
    h2o_handler_t super;
    bouncer_t *bouncer;
    snapshot_reader_t *reader; /* the admin thread's */
} tuxedo_handler_t;

typedef struct st_param_t {
    const char *name;
    const char *value;
} param_t;

typedef struct st_params_t {
    param_t items[PARAMS_MAX];
    size_t count;
} params_t;

/* ---- a growable output buffer (admin path: malloc is fine) ---- */

typedef struct st_xbuf_t {
    char *p;
    size_t len, cap;
    int oom;
} xbuf_t;

static void xb_add(xbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 1024 : b->cap;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void xb_str(xbuf_t *b, const char *s)
{
    xb_add(b, s, strlen(s));
}

/* Appends text with XML escaping (attributes and content alike); control bytes are dropped. */
static void xb_esc(xbuf_t *b, const char *s)
{
    for (; *s != '\0'; ++s) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': xb_str(b, "&amp;"); break;
        case '<': xb_str(b, "&lt;"); break;
        case '>': xb_str(b, "&gt;"); break;
        case '"': xb_str(b, "&quot;"); break;
        case '\'': xb_str(b, "&apos;"); break;
        default:
            if (c >= 0x20 || c == '\t' || c == '\n')
                xb_add(b, s, 1);
        }
    }
}

static void xb_printf(xbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xb_printf(xbuf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        xb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- answers ---- */

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

static void send_xml(h2o_req_t *req, int status, const char *reason, xbuf_t *b)
{
    if (b->oom) {
        free(b->p);
        static const char body[] = XML_HEAD "<error number=\"500\">out of memory</error>\n";
        respond_text(req, 500, "Internal Server Error", "text/xml; charset=utf-8", body, sizeof(body) - 1);
        return;
    }
    xb_str(b, "\n");
    respond_text(req, status, reason, "text/xml; charset=utf-8", b->p, b->len); /* copies the body */
    free(b->p);
}

static int send_error(h2o_req_t *req, int number, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int send_error(h2o_req_t *req, int number, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xbuf_t b = {0};
    xb_str(&b, XML_HEAD);
    xb_printf(&b, "<error number=\"%d\">", number);
    xb_esc(&b, msg);
    xb_str(&b, "</error>");
    if (number >= 500)
        send_xml(req, 500, "Internal Server Error", &b);
    else
        send_xml(req, 400, "Bad Request", &b);
    return 0;
}

static int send_success(h2o_req_t *req, const char *what, const char *name)
{
    xbuf_t b = {0};
    xb_str(&b, XML_HEAD "<success>");
    xb_esc(&b, what);
    xb_esc(&b, name);
    xb_str(&b, "</success>");
    send_xml(req, 200, "OK", &b);
    return 0;
}

static int send_system_error(h2o_req_t *req, int code)
{
    log_error("bouncer", "admin API: catalog store failure: %s", store_strerror(code));
    return send_error(req, 500, "internal error: %s", store_strerror(code));
}

/* ---- parameters ---- */

static void parse_pairs(h2o_req_t *req, params_t *ps, const char *s, size_t len)
{
    const char *cursor = s, *end = s + len;
    query_pair_t pair;
    while (ps->count < PARAMS_MAX && query_next_pair(&cursor, end, &pair)) {
        size_t klen = pair.name_len, vlen = pair.value_len;
        if (klen != 0 && klen <= 64 && vlen <= VALUE_MAX * 3) {
            char *k = h2o_mem_alloc_pool(&req->pool, klen + 1), *v = h2o_mem_alloc_pool(&req->pool, vlen + 1);
            long kl = resolve_query_unescape(pair.name, klen, k, klen), vl = resolve_query_unescape(pair.value, vlen, v, vlen);
            /* pairs with invalid escapes or NUL bytes are ignored */
            if (kl >= 0 && vl >= 0 && vl <= VALUE_MAX && memchr(k, '\0', (size_t)kl) == NULL && memchr(v, '\0', (size_t)vl) == NULL) {
                k[kl] = '\0';
                v[vl] = '\0';
                ps->items[ps->count].name = k;
                ps->items[ps->count++].value = v;
            }
        }
    }
}

static void parse_params(h2o_req_t *req, params_t *ps)
{
    ps->count = 0;
    if (req->query_at != SIZE_MAX)
        parse_pairs(req, ps, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    if (req->entity.base != NULL && req->entity.len != 0)
        parse_pairs(req, ps, req->entity.base, req->entity.len);
}

/* The first value of name, trimmed; NULL when absent or empty. */
static const char *param(const params_t *ps, const char *name)
{
    for (size_t i = 0; i != ps->count; ++i) {
        if (strcmp(ps->items[i].name, name) == 0) {
            const char *v = ps->items[i].value;
            while (*v == ' ')
                ++v;
            return *v != '\0' ? v : NULL;
        }
    }
    return NULL;
}

/* Every non-empty value of name (also "languages[]"), in order; *n receives the count. */
static const char **param_all(h2o_req_t *req, const params_t *ps, const char *name, size_t *n)
{
    const char **out = h2o_mem_alloc_pool(&req->pool, sizeof(*out) * (ps->count + 1));
    size_t k = 0, nlen = strlen(name);
    for (size_t i = 0; i != ps->count; ++i) {
        const char *pn = ps->items[i].name;
        if ((strcmp(pn, name) == 0 || (strncmp(pn, name, nlen) == 0 && strcmp(pn + nlen, "[]") == 0)) && ps->items[i].value[0] != '\0')
            out[k++] = ps->items[i].value;
    }
    *n = k;
    return out;
}

static int is_true(const char *v)
{
    return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}

static int name_matches(const char *name, const char *want, int fuzzy)
{
    if (want == NULL)
        return 1;
    return fuzzy ? strcasestr(name, want) != NULL : strcasecmp(name, want) == 0;
}

/* ---- renderers ---- */

static void render_product(xbuf_t *b, const catalog_product_t *p)
{
    xb_printf(b, "<product id=\"%u\" name=\"", p->id);
    xb_esc(b, p->name);
    xb_str(b, "\">");
    for (size_t i = 0; i != p->num_languages; ++i) {
        xb_str(b, "<language locale=\"");
        xb_esc(b, p->languages[i]);
        xb_str(b, "\"/>");
    }
    xb_str(b, "</product>");
}

static void render_locations(xbuf_t *b, const catalog_t *cat, const catalog_product_t *p)
{
    xb_printf(b, "<product id=\"%u\" name=\"", p->id);
    xb_esc(b, p->name);
    xb_str(b, "\">");
    for (size_t i = 0; i != cat->num_locations; ++i) {
        const catalog_location_t *l = &cat->locations[i];
        if (strcasecmp(l->product, p->name) != 0)
            continue;
        xb_printf(b, "<location id=\"%u\" os=\"", l->id);
        xb_esc(b, l->os);
        xb_str(b, "\">");
        xb_esc(b, l->path);
        xb_str(b, "</location>");
    }
    xb_str(b, "</product>");
}

/*
 * Renders one product (product XML) or its locations (locations XML) from cat, which it takes
 * over: the catalog the write's republish loaded. Loads the store itself when cat is NULL.
 */
static int answer_product(h2o_req_t *req, bouncer_t *bn, catalog_t *cat, const char *name, int locations)
{
    int rc;
    if (cat == NULL && (rc = store_load(bn->store, &cat)) != 0)
        return send_system_error(req, rc);
    const catalog_product_t *p = catalog_find_product(cat, name);
    xbuf_t b = {0};
    xb_str(&b, XML_HEAD);
    xb_str(&b, locations ? "<locations>" : "<products>");
    if (p != NULL) {
        if (locations)
            render_locations(&b, cat, p);
        else
            render_product(&b, p);
    }
    xb_str(&b, locations ? "</locations>" : "</products>");
    bouncer__catalog_release(cat);
    send_xml(req, 200, "OK", &b);
    return 0;
}

/* ---- endpoints ---- */

static int product_show(h2o_req_t *req, bouncer_t *bn, const params_t *ps, int locations)
{
    const char *want = param(ps, "product");
    int fuzzy = is_true(param(ps, "fuzzy"));
    catalog_t *cat = NULL;
    int rc = store_load(bn->store, &cat);
    if (rc != 0)
        return send_system_error(req, rc);
    xbuf_t b = {0};
    xb_str(&b, XML_HEAD);
    xb_str(&b, locations ? "<locations>" : "<products>");
    for (size_t i = 0; i != cat->num_products; ++i) {
        if (!name_matches(cat->products[i].name, want, fuzzy))
            continue;
        if (locations)
            render_locations(&b, cat, &cat->products[i]);
        else
            render_product(&b, &cat->products[i]);
    }
    xb_str(&b, locations ? "</locations>" : "</products>");
    bouncer__catalog_release(cat);
    send_xml(req, 200, "OK", &b);
    return 0;
}

static int product_add(h2o_req_t *req, bouncer_t *bn, const params_t *ps)
{
    const char *name = param(ps, "product");
    size_t n;
    const char **langs = param_all(req, ps, "languages", &n);
    catalog_error_t cerr;
    if (name == NULL)
        return send_error(req, 103, "Product name is required.");
    if (!catalog_product_name_is_valid(name, strlen(name)))
        return send_error(req, 103, "Invalid product name: %s", name);
    for (size_t i = 0; i != n; ++i)
        if (!catalog_lang_is_valid(langs[i], strlen(langs[i])))
            return send_error(req, 103, "Invalid language: %s", langs[i]);
    int rc = store_product_add(bn->store, name, is_true(param(ps, "ssl_only")), langs, n, NULL, &cerr);
    if (rc == STORE_EXISTS)
        return send_error(req, 104, "Product already exists: %s", name);
    if (rc == STORE_INVALID)
        return send_error(req, 103, "%s", cerr.message);
    if (rc != 0)
        return send_system_error(req, rc);
    catalog_t *loaded = NULL;
    bouncer__after_admin_write(bn, &loaded);
    return answer_product(req, bn, loaded, name, 0);
}

static int product_delete(h2o_req_t *req, bouncer_t *bn, const params_t *ps)
{
    const char *name = param(ps, "product"), *id_text = param(ps, "product_id");
    char *deleted = NULL;
    unsigned long id = 0;
    if (name == NULL && id_text == NULL)
        return send_error(req, 101, "product_id or product is required.");
    if (name == NULL) {
        char *end;
        id = strtoul(id_text, &end, 10);
        if (*end != '\0' || id == 0 || id > UINT32_MAX)
            return send_error(req, 102, "Product not found: %s", id_text);
    }
    int rc = store_product_delete(bn->store, name, (uint32_t)id, &deleted);
    if (rc == STORE_NOT_FOUND)
        return send_error(req, 102, "Product not found: %s", name != NULL ? name : id_text);
    if (rc != 0)
        return send_system_error(req, rc);
    bouncer__after_admin_write(bn, NULL);
    send_success(req, "Deleted product: ", deleted != NULL ? deleted : "");
    free(deleted);
    return 0;
}

static int language_edit(h2o_req_t *req, bouncer_t *bn, const params_t *ps, int add)
{
    const char *name = param(ps, "product");
    size_t n;
    const char **langs = param_all(req, ps, "languages", &n);
    catalog_t *cat = NULL;
    catalog_error_t cerr;
    int rc;

    if (name == NULL || n == 0)
        return send_error(req, 101, "product and languages are required.");
    if ((rc = store_load(bn->store, &cat)) != 0)
        return send_system_error(req, rc);
    const catalog_product_t *p = catalog_find_product(cat, name);
    if (p == NULL) {
        bouncer__catalog_release(cat);
        return send_error(req, 102, "Product not found: %s", name);
    }
    /* check every language against the product before changing anything */
    for (size_t i = 0; i != n; ++i) {
        int all = !add && strcmp(langs[i], "*") == 0, present = 0;
        if (!all && !catalog_lang_is_valid(langs[i], strlen(langs[i]))) {
            bouncer__catalog_release(cat);
            return send_error(req, 103, "Invalid language: %s", langs[i]);
        }
        for (size_t j = 0; !all && j != p->num_languages; ++j)
            present |= strcasecmp(p->languages[j], langs[i]) == 0;
        if (add && present) {
            bouncer__catalog_release(cat);
            return send_error(req, 104, "Language already exists for %s: %s", name, langs[i]);
        }
        if (!add && !all && !present) {
            bouncer__catalog_release(cat);
            return send_error(req, 103, "Language not found for %s: %s", name, langs[i]);
        }
    }
    bouncer__catalog_release(cat);
    rc = add ? store_product_language_add(bn->store, name, langs, n, &cerr) : store_product_language_delete(bn->store, name, langs, n);
    if (rc == STORE_NO_PRODUCT)
        return send_error(req, 102, "Product not found: %s", name);
    if (rc == STORE_INVALID)
        return send_error(req, 103, "%s", cerr.message);
    if (rc != 0)
        return send_system_error(req, rc);
    catalog_t *loaded = NULL;
    bouncer__after_admin_write(bn, add ? &loaded : NULL);
    if (add)
        return answer_product(req, bn, loaded, name, 0);
    return send_success(req, "Deleted languages from product: ", name);
}

static int location_write(h2o_req_t *req, bouncer_t *bn, const params_t *ps, int add)
{
    const char *product = param(ps, "product"), *os = param(ps, "os"), *path = param(ps, "path");
    catalog_error_t cerr;
    if (product == NULL || os == NULL || path == NULL)
        return send_error(req, 101, "product, os and path are required.");
    int rc = add ? store_location_add(bn->store, product, os, path, NULL, &cerr) : store_location_modify(bn->store, product, os, path, &cerr);
    switch (rc) {
    case 0: {
        catalog_t *loaded = NULL;
        bouncer__after_admin_write(bn, &loaded);
        return answer_product(req, bn, loaded, product, 1);
    }
    case STORE_EXISTS:
        return send_error(req, 104, "The location already exists: %s on %s", product, os);
    case STORE_NO_LOCATION:
        return send_error(req, 104, "No location for %s on %s", product, os);
    case STORE_NO_PRODUCT:
        return send_error(req, 105, "Product not found: %s", product);
    case STORE_NO_OS:
        return send_error(req, 106, "OS not found: %s", os);
    case STORE_INVALID:
        return send_error(req, 103, "%s", cerr.message);
    default:
        return send_system_error(req, rc);
    }
}

static int location_delete(h2o_req_t *req, bouncer_t *bn, const params_t *ps)
{
    const char *id_text = param(ps, "location_id");
    char *deleted = NULL, *end;
    if (id_text == NULL)
        return send_error(req, 101, "location_id is required.");
    unsigned long id = strtoul(id_text, &end, 10);
    if (*end != '\0' || id == 0 || id > UINT32_MAX)
        return send_error(req, 102, "Location not found: %s", id_text);
    int rc = store_location_delete(bn->store, (uint32_t)id, &deleted);
    if (rc == STORE_NOT_FOUND)
        return send_error(req, 102, "Location not found: %s", id_text);
    if (rc != 0)
        return send_system_error(req, rc);
    bouncer__after_admin_write(bn, NULL);
    send_success(req, "Deleted location: ", deleted != NULL ? deleted : "");
    free(deleted);
    return 0;
}

static int alias_set(h2o_req_t *req, bouncer_t *bn, const params_t *ps)
{
    const char *alias = param(ps, "alias"), *product = param(ps, "related_product");
    if (alias == NULL || !catalog_product_name_is_valid(alias, strlen(alias)))
        return send_error(req, 102, alias == NULL ? "alias is required." : "Invalid alias: %s", alias);
    if (product == NULL)
        return send_error(req, 103, "related_product is required.");
    int rc = store_alias_set(bn->store, alias, product, NULL);
    switch (rc) {
    case 0:
        bouncer__after_admin_write(bn, NULL);
        return send_success(req, "Created/updated alias ", alias);
    case STORE_NO_PRODUCT:
        return send_error(req, 103, "Related product not found: %s", product);
    case STORE_IS_PRODUCT:
        return send_error(req, 104, "Alias has the name of a product: %s", alias);
    case STORE_INVALID:
        return send_error(req, 102, "Invalid alias: %s", alias);
    default:
        return send_system_error(req, rc);
    }
}

static int uptake(h2o_req_t *req, bouncer_t *bn, snapshot_reader_t *reader, const params_t *ps)
{
    const char *want_product = param(ps, "product"), *want_os = param(ps, "os");
    int fuzzy = is_true(param(ps, "fuzzy"));
    size_t found = 0;
    if (want_product == NULL && want_os == NULL)
        return send_error(req, 101, "product and/or os are required.");
    const snapshot_t *snap = reader != NULL ? snapshot_acquire(reader) : NULL;
    if (snap == NULL)
        return send_error(req, 500, "no catalog snapshot");
    xbuf_t b = {0};
    xb_str(&b, XML_HEAD "<mirror_uptake>");
    for (size_t i = 0; i != snapshot_num_locations(snap); ++i) {
        const char *product, *os;
        uint64_t available, total;
        snapshot_location_names(snap, i, &product, &os);
        if (!name_matches(product, want_product, fuzzy) || !name_matches(os, want_os, fuzzy))
            continue;
        if (snapshot_uptake(snap, product, os, &available, &total) != 0)
            continue;
        ++found;
        xb_str(&b, "<item><product>");
        xb_esc(&b, product);
        xb_str(&b, "</product><os>");
        xb_esc(&b, os);
        xb_printf(&b, "</os><available>%llu</available><total>%llu</total></item>", (unsigned long long)available,
                  (unsigned long long)total);
    }
    xb_str(&b, "</mirror_uptake>");
    snapshot_release(reader);
    if (found == 0) {
        free(b.p);
        return send_error(req, 102, "No locations found.");
    }
    send_xml(req, 200, "OK", &b);
    return 0;
}

static int mirror_list(h2o_req_t *req, bouncer_t *bn)
{
    catalog_t *cat = NULL;
    int rc = store_load(bn->store, &cat);
    if (rc != 0)
        return send_system_error(req, rc);
    xbuf_t b = {0};
    xb_str(&b, XML_HEAD "<mirrors>");
    for (size_t i = 0; i != cat->num_mirrors; ++i) {
        if (!cat->mirrors[i].enabled)
            continue;
        xb_str(&b, "<mirror baseurl=\"");
        xb_esc(&b, cat->mirrors[i].base_url);
        xb_str(&b, "\"/>");
    }
    xb_str(&b, "</mirrors>");
    bouncer__catalog_release(cat);
    send_xml(req, 200, "OK", &b);
    return 0;
}

/* ---- dispatch ---- */

enum { EP_PRODUCT_SHOW, EP_PRODUCT_ADD, EP_PRODUCT_DELETE, EP_LANG_ADD, EP_LANG_DELETE, EP_LOCATION_SHOW, EP_LOCATION_ADD,
       EP_LOCATION_MODIFY, EP_LOCATION_DELETE, EP_ALIAS, EP_UPTAKE, EP_MIRROR_LIST };

static const struct {
    const char *name;
    int post;
} endpoints[] = {
    [EP_PRODUCT_SHOW] = {"product_show", 0},         [EP_PRODUCT_ADD] = {"product_add", 1},
    [EP_PRODUCT_DELETE] = {"product_delete", 1},     [EP_LANG_ADD] = {"product_language_add", 1},
    [EP_LANG_DELETE] = {"product_language_delete", 1}, [EP_LOCATION_SHOW] = {"location_show", 0},
    [EP_LOCATION_ADD] = {"location_add", 1},         [EP_LOCATION_MODIFY] = {"location_modify", 1},
    [EP_LOCATION_DELETE] = {"location_delete", 1},   [EP_ALIAS] = {"create_update_alias", 1},
    [EP_UPTAKE] = {"uptake", 0},                     [EP_MIRROR_LIST] = {"mirror_list", 0},
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    tuxedo_handler_t *h = (tuxedo_handler_t *)self;
    bouncer_t *bn = h->bouncer;
    static params_t ps; /* the admin listener runs on one thread */

    /* /api/<name>[/] */
    h2o_iovec_t path = req->path_normalized;
    size_t skip = sizeof("/api/") - 1;
    if (path.len < skip)
        return -1;
    const char *name = path.base + skip;
    size_t len = path.len - skip;
    if (len != 0 && name[len - 1] == '/')
        --len;
    int ep = -1;
    for (size_t i = 0; i != sizeof(endpoints) / sizeof(endpoints[0]); ++i)
        if (strlen(endpoints[i].name) == len && memcmp(endpoints[i].name, name, len) == 0)
            ep = (int)i;
    if (ep < 0) {
        static const char body[] = XML_HEAD "<error number=\"404\">No such API endpoint.</error>\n";
        respond_text(req, 404, "Not Found", "text/xml; charset=utf-8", body, sizeof(body) - 1);
        return 0;
    }
    int is_get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
                 h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    int is_post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
    if (endpoints[ep].post ? !is_post : !is_get) {
        respond_add_header(req, "Allow", endpoints[ep].post ? "POST" : "GET, HEAD");
        static const char body[] = XML_HEAD "<error number=\"405\">Method not allowed.</error>\n";
        respond_text(req, 405, "Method Not Allowed", "text/xml; charset=utf-8", body, sizeof(body) - 1);
        return 0;
    }
    parse_params(req, &ps);
    switch (ep) {
    case EP_PRODUCT_SHOW:
        return product_show(req, bn, &ps, 0);
    case EP_PRODUCT_ADD:
        return product_add(req, bn, &ps);
    case EP_PRODUCT_DELETE:
        return product_delete(req, bn, &ps);
    case EP_LANG_ADD:
        return language_edit(req, bn, &ps, 1);
    case EP_LANG_DELETE:
        return language_edit(req, bn, &ps, 0);
    case EP_LOCATION_SHOW:
        return product_show(req, bn, &ps, 1);
    case EP_LOCATION_ADD:
        return location_write(req, bn, &ps, 1);
    case EP_LOCATION_MODIFY:
        return location_write(req, bn, &ps, 0);
    case EP_LOCATION_DELETE:
        return location_delete(req, bn, &ps);
    case EP_ALIAS:
        return alias_set(req, bn, &ps);
    case EP_UPTAKE:
        return uptake(req, bn, h->reader, &ps);
    default:
        return mirror_list(req, bn);
    }
}

static void on_context_init(h2o_handler_t *self, h2o_context_t *ctx)
{
    tuxedo_handler_t *h = (tuxedo_handler_t *)self;
    if (h->reader == NULL)
        h->reader = snapshot_reader_register(h->bouncer->snapshots);
}

static void on_context_dispose(h2o_handler_t *self, h2o_context_t *ctx)
{
    tuxedo_handler_t *h = (tuxedo_handler_t *)self;
    snapshot_reader_unregister(h->reader);
    h->reader = NULL;
}

int bouncer__tuxedo_register(bouncer_t *b, route_registrar_t *routes)
{
    h2o_pathconf_t *pathconf = routes->add(routes, "/api/", "bouncer_tuxedo");
    if (pathconf == NULL)
        return -ENOMEM;
    tuxedo_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->super.on_context_init = on_context_init;
    h->super.on_context_dispose = on_context_dispose;
    h->bouncer = b;
    return 0;
}
