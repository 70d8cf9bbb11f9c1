// SPDX-License-Identifier: MIT
/*
 * handler_json: the bouncer's JSON admin API under /api/v1/ on the admin listener (HTTP Basic
 * auth in front, edge/app). docs/bouncer.md is the reference; in short:
 *   GET  /api/v1/mirrors                  every mirror with its health summary, plus the checker's status
 *   POST /api/v1/mirrors                  add one mirror {"name","base_url","weight","enabled","countries","continents"}
 *   GET|PATCH|DELETE /api/v1/mirrors/NAME one mirror (PATCH takes any subset of the fields but name)
 *   GET|PUT /api/v1/rules                 the ordered rewrite rules (PUT replaces them; 409 with rules_file)
 *   GET|PUT /api/v1/catalog               export / import the whole catalog (docs/catalog-format.md)
 *   GET  /api/v1/products[?q=TEXT]        products with their locations and aliases (q: substring filter)
 *   PATCH /api/v1/products/NAME           change the product's flags {"ssl_only","active"}
 *   POST /api/v1/aliases                  create or re-point an alias {"alias","product"}
 *   DELETE /api/v1/aliases/NAME           delete an alias
 *   GET  /api/v1/status                   snapshot version and counts, health checker status
 * Validation errors are 400 {"error": "<json path>: <reason>"} and change nothing; every write is
 * one store transaction followed by bouncer__republish. Runs on the admin thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <h2o.h>
#include <jansson.h>
#include "bouncer/module.h"
#include "edge/log.h"
#include "edge/query.h"
#include "edge/respond.h"

#define PREFIX "/api/v1/"

typedef struct st_json_handler_t {
    h2o_handler_t super;
    bouncer_t *bouncer;
} json_handler_t;

/* ---- answers ---- */

static int send_body(h2o_req_t *req, int status, const char *reason, char *text /* malloc'd, freed */)
{
    if (text == NULL) {
        static const char body[] = "{\"error\": \"out of memory\"}\n";
        respond_text(req, 500, "Internal Server Error", "application/json", body, sizeof(body) - 1);
        return 0;
    }
    size_t len = strlen(text);
    char *body = h2o_mem_alloc_pool(&req->pool, len + 1);
    memcpy(body, text, len);
    body[len] = '\n';
    free(text);
    respond_text(req, status, reason, "application/json", body, len + 1);
    return 0;
}

static int send_json(h2o_req_t *req, int status, const char *reason, json_t *value /* stolen */)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    return send_body(req, status, reason, text);
}

static int send_error(h2o_req_t *req, int status, const char *reason, const char *message)
{
    return send_json(req, status, reason, json_pack("{ss}", "error", message));
}

static int send_store_error(h2o_req_t *req, int rc, const catalog_error_t *cerr, const char *what)
{
    char msg[400];
    switch (rc) {
    case STORE_INVALID:
        return send_error(req, 400, "Bad Request", cerr->message);
    case STORE_EXISTS:
        snprintf(msg, sizeof(msg), "%s already exists", what);
        return send_error(req, 409, "Conflict", msg);
    case STORE_NO_MIRROR:
    case STORE_NO_PRODUCT:
    case STORE_NOT_FOUND:
        snprintf(msg, sizeof(msg), "%s not found", what);
        return send_error(req, 404, "Not Found", msg);
    default:
        log_error("bouncer", "admin API: catalog store failure: %s", store_strerror(rc));
        snprintf(msg, sizeof(msg), "internal error: %s", store_strerror(rc));
        return send_error(req, 500, "Internal Server Error", msg);
    }
}

/* ---- renderers ---- */

static json_t *codes_json(char (*codes)[3], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i != n; ++i)
        json_array_append_new(a, json_string(codes[i]));
    return a;
}

static int cmp_names(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * How many locations an https:// mirror serves (all of them) and an http:// mirror serves (those
 * of products that are not SSL-only). Sorted names keep this O((products + locations) log products)
 * for catalogs of 50,000 products.
 */
static void served_counts(const catalog_t *cat, size_t served[2] /* [http, https] */)
{
    served[1] = cat->num_locations;
    served[0] = 0;
    const char **ssl_only = malloc((cat->num_products + 1) * sizeof(*ssl_only));
    if (ssl_only == NULL)
        return;
    size_t n = 0;
    for (size_t i = 0; i != cat->num_products; ++i)
        if (cat->products[i].ssl_only)
            ssl_only[n++] = cat->products[i].name;
    qsort(ssl_only, n, sizeof(*ssl_only), cmp_names);
    for (size_t i = 0; i != cat->num_locations; ++i) {
        const char *product = cat->locations[i].product;
        served[0] += bsearch(&product, ssl_only, n, sizeof(*ssl_only), cmp_names) == NULL;
    }
    free(ssl_only);
}

static json_t *mirror_json(const catalog_t *cat, const catalog_mirror_t *m, const size_t served_by_scheme[2])
{
    /* A served location without a health record has not failed a check, so it counts as healthy
     * (the snapshot's rule). */
    size_t served = served_by_scheme[strncasecmp(m->base_url, "https://", 8) == 0], counts[3] = {0, 0, 0};
    int64_t last = 0;
    for (size_t i = 0; i != cat->num_health; ++i) {
        const catalog_health_t *h = &cat->health[i];
        if (strcasecmp(h->mirror, m->name) != 0)
            continue;
        if (h->state == CATALOG_HEALTH_UNHEALTHY || h->state == CATALOG_HEALTH_ABSENT)
            ++counts[h->state];
        if (h->checked_at > last)
            last = h->checked_at;
    }
    size_t failing = counts[CATALOG_HEALTH_UNHEALTHY] + counts[CATALOG_HEALTH_ABSENT];
    counts[CATALOG_HEALTH_HEALTHY] = served > failing ? served - failing : 0;
    json_t *health = json_pack("{sIsIsIsI}", "healthy", (json_int_t)counts[CATALOG_HEALTH_HEALTHY], "unhealthy",
                               (json_int_t)counts[CATALOG_HEALTH_UNHEALTHY], "absent", (json_int_t)counts[CATALOG_HEALTH_ABSENT],
                               "locations", (json_int_t)served);
    if (health != NULL)
        json_object_set_new(health, "last_check", last != 0 ? json_integer(last) : json_null());
    return json_pack("{sIsssssIsbsososo}", "id", (json_int_t)m->id, "name", m->name, "base_url", m->base_url, "weight",
                     (json_int_t)m->weight, "enabled", m->enabled, "countries", codes_json(m->countries, m->num_countries),
                     "continents", codes_json(m->continents, m->num_continents), "health", health);
}

static json_t *sentry_json(bouncer_t *b)
{
    char *text = b->sentry != NULL ? sentry_status_json(b->sentry) : NULL;
    json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return v != NULL ? v : json_null();
}

static json_t *product_json(const catalog_t *cat, const catalog_product_t *p)
{
    json_t *langs = json_array(), *locs = json_array(), *aliases = json_array();
    for (size_t i = 0; langs != NULL && i != p->num_languages; ++i)
        json_array_append_new(langs, json_string(p->languages[i]));
    for (size_t i = 0; locs != NULL && i != cat->num_locations; ++i)
        if (strcasecmp(cat->locations[i].product, p->name) == 0)
            json_array_append_new(locs, json_pack("{sIssss}", "id", (json_int_t)cat->locations[i].id, "os", cat->locations[i].os, "path",
                                                  cat->locations[i].path));
    for (size_t i = 0; aliases != NULL && i != cat->num_aliases; ++i)
        if (strcasecmp(cat->aliases[i].product, p->name) == 0)
            json_array_append_new(aliases, json_string(cat->aliases[i].alias));
    return json_pack("{sIsssbsbsososo}", "id", (json_int_t)p->id, "name", p->name, "ssl_only", p->ssl_only, "active", p->active,
                     "languages", langs, "locations", locs, "aliases", aliases);
}

/* ---- mirrors ---- */

static int mirrors_list(h2o_req_t *req, bouncer_t *b)
{
    catalog_t *cat = NULL;
    int rc = store_load(b->store, &cat);
    if (rc != 0)
        return send_store_error(req, rc, NULL, "catalog");
    size_t served[2];
    served_counts(cat, served);
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i != cat->num_mirrors; ++i)
        json_array_append_new(list, mirror_json(cat, &cat->mirrors[i], served));
    bouncer__catalog_release(cat);
    return send_json(req, 200, "OK", json_pack("{soso}", "mirrors", list, "health_check", sentry_json(b)));
}

/*
 * The catalog an answer is rendered from: after a write, the one its republish loaded (loading it a
 * second time would double the cost of every write on a big catalog), else a fresh load.
 * @return the catalog (release it with bouncer__catalog_release), or NULL with *rc set.
 */
static catalog_t *answer_catalog(bouncer_t *b, int after_write, int *rc)
{
    catalog_t *cat = NULL;
    if (after_write)
        bouncer__after_admin_write(b, &cat);
    *rc = cat == NULL ? store_load(b->store, &cat) : 0;
    return cat;
}

static int mirror_show(h2o_req_t *req, bouncer_t *b, const char *name, int after_write, int status, const char *reason)
{
    int rc;
    catalog_t *cat = answer_catalog(b, after_write, &rc);
    if (cat == NULL)
        return send_store_error(req, rc, NULL, "catalog");
    const catalog_mirror_t *m = catalog_find_mirror(cat, name);
    if (m == NULL) {
        bouncer__catalog_release(cat);
        return send_store_error(req, STORE_NO_MIRROR, NULL, "mirror");
    }
    size_t served[2];
    served_counts(cat, served);
    json_t *v = mirror_json(cat, m, served);
    bouncer__catalog_release(cat);
    return send_json(req, status, reason, v);
}

static int mirror_add(h2o_req_t *req, bouncer_t *b)
{
    json_t *root = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, NULL);
    catalog_mirror_t m = {0};
    catalog_error_t cerr;
    char *name = NULL;
    int ret;

    if (root == NULL || !json_is_object(root) || !json_is_string(json_object_get(root, "name"))) {
        ret = send_error(req, 400, "Bad Request", "$.name: required (a JSON object with name and base_url)");
        goto Exit;
    }
    if ((name = strdup(json_string_value(json_object_get(root, "name")))) == NULL) {
        ret = send_error(req, 500, "Internal Server Error", "out of memory");
        goto Exit;
    }
    /* defaults, then the body applied as a patch (same field rules as PATCH and import) */
    m.name = name;
    m.base_url = "";
    m.weight = 100;
    m.enabled = 1;
    catalog_mirror_t full = {0};
    if (catalog_mirror_copy(&full, &m) != 0) {
        ret = send_error(req, 500, "Internal Server Error", "out of memory");
        goto Exit;
    }
    if (catalog_mirror_patch(&full, req->entity.base, req->entity.len, &cerr) != 0) {
        catalog_mirror_dispose(&full);
        ret = send_error(req, 400, "Bad Request", cerr.message);
        goto Exit;
    }
    if (full.base_url[0] == '\0') {
        catalog_mirror_dispose(&full);
        ret = send_error(req, 400, "Bad Request", "$.base_url: required");
        goto Exit;
    }
    int rc = store_mirror_add(b->store, &full, NULL, &cerr);
    catalog_mirror_dispose(&full);
    if (rc != 0) {
        ret = send_store_error(req, rc, &cerr, "mirror");
        goto Exit;
    }
    ret = mirror_show(req, b, name, 1, 201, "Created");
Exit:
    free(name);
    json_decref(root);
    return ret;
}

static int mirror_item(h2o_req_t *req, bouncer_t *b, const char *name)
{
    catalog_error_t cerr;
    int rc;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return mirror_show(req, b, name, 0, 200, "OK");
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PATCH"))) {
        if ((rc = store_mirror_patch(b->store, name, req->entity.base != NULL ? req->entity.base : "", req->entity.len, &cerr)) != 0)
            return send_store_error(req, rc, &cerr, "mirror");
        return mirror_show(req, b, name, 1, 200, "OK");
    }
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"))) {
        if ((rc = store_mirror_delete(b->store, name)) != 0)
            return send_store_error(req, rc, NULL, "mirror");
        bouncer__after_admin_write(b, NULL);
        return send_json(req, 200, "OK", json_pack("{ss}", "deleted", name));
    }
    respond_add_header(req, "Allow", "GET, PATCH, DELETE");
    return send_error(req, 405, "Method Not Allowed", "method not allowed");
}

/* ---- rules, catalog, products, status ---- */

static int rules(h2o_req_t *req, bouncer_t *b, int put)
{
    catalog_error_t cerr;
    int rc;
    if (put) {
        if (b->boot->rules_file != NULL)
            return send_error(req, 409, "Conflict", "the rules come from bouncer.rules_file: edit that file and send SIGHUP");
        /* accept the bare array or {"rules": [...]} */
        json_t *root = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, NULL);
        json_t *arr = root != NULL && json_is_object(root) ? json_object_get(root, "rules") : root;
        char *text = arr != NULL ? json_dumps(arr, JSON_ENCODE_ANY) : NULL;
        json_decref(root);
        catalog_rule_t *list = NULL;
        size_t n = 0;
        rc = catalog_rules_from_json(text != NULL ? text : req->entity.base, text != NULL ? strlen(text) : req->entity.len, &list, &n, &cerr);
        free(text);
        if (rc != 0)
            return rc == -EINVAL ? send_error(req, 400, "Bad Request", cerr.message) : send_error(req, 500, "Internal Server Error", "out of memory");
        rc = store_rules_set(b->store, list, n, &cerr);
        catalog_rules_free(list, n);
        if (rc != 0)
            return send_store_error(req, rc, &cerr, "rules");
    }
    char *text = NULL;
    catalog_t *cat = answer_catalog(b, put, &rc);
    if (cat == NULL)
        return send_store_error(req, rc, NULL, "catalog");
    rc = catalog_rules_to_json(cat->rules, cat->num_rules, &text);
    bouncer__catalog_release(cat);
    json_t *arr = rc == 0 ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return send_json(req, 200, "OK", arr != NULL ? json_pack("{so}", "rules", arr) : NULL);
}

static int catalog_io(h2o_req_t *req, bouncer_t *b, int put)
{
    catalog_t *cat = NULL;
    catalog_error_t cerr;
    char *text = NULL;
    int rc, ret;
    if (put) {
        if ((rc = catalog_from_json(req->entity.base != NULL ? req->entity.base : "", req->entity.len, 0, &cat, &cerr)) != 0) {
            ret = rc == -EINVAL ? send_error(req, 400, "Bad Request", cerr.message) : send_error(req, 500, "Internal Server Error", "out of memory");
            goto Exit;
        }
        if ((rc = store_replace(b->store, cat, &cerr)) != 0) {
            ret = send_store_error(req, rc, &cerr, "catalog");
            goto Exit;
        }
        json_t *counts = json_pack("{sIsIsIsIsIsI}", "products", (json_int_t)cat->num_products, "oses", (json_int_t)cat->num_oses,
                                   "locations", (json_int_t)cat->num_locations, "aliases", (json_int_t)cat->num_aliases, "mirrors",
                                   (json_int_t)cat->num_mirrors, "rules", (json_int_t)cat->num_rules);
        /* the republish loads a catalog of its own: this one would only add to the peak memory of an import */
        bouncer__catalog_release(cat);
        cat = NULL;
        bouncer__after_admin_write(b, NULL);
        ret = send_json(req, 200, "OK", counts);
        goto Exit;
    }
    if ((rc = store_load(b->store, &cat)) != 0) {
        ret = send_store_error(req, rc, NULL, "catalog");
        goto Exit;
    }
    rc = catalog_to_json(cat, &text);
    ret = send_body(req, 200, "OK", rc == 0 ? text : NULL);
Exit:
    bouncer__catalog_release(cat);
    return ret;
}

#define PRODUCTS_MAX 200

static int products(h2o_req_t *req, bouncer_t *b)
{
    char q[CATALOG_NAME_MAX + 1] = "";
    const char *raw;
    size_t raw_len;
    if (req->query_at != SIZE_MAX &&
        query_find(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1, "q", &raw, &raw_len)) {
        long n = resolve_query_unescape(raw, raw_len, q, sizeof(q) - 1);
        if (n < 0 || (size_t)n >= sizeof(q) || memchr(q, '\0', (size_t)n) != NULL)
            return send_error(req, 400, "Bad Request", "q: invalid or longer than a product name");
        q[n] = '\0';
    }
    catalog_t *cat = NULL;
    int rc = store_load(b->store, &cat);
    if (rc != 0)
        return send_store_error(req, rc, NULL, "catalog");
    /* at most PRODUCTS_MAX answers: each product_json walks the locations, and the admin thread
     * must stay responsive with 50,000 products (search with q= to narrow) */
    json_t *list = json_array();
    size_t matched = 0;
    for (size_t i = 0; list != NULL && i != cat->num_products; ++i) {
        if (q[0] != '\0' && strcasestr(cat->products[i].name, q) == NULL)
            continue;
        if (++matched <= PRODUCTS_MAX)
            json_array_append_new(list, product_json(cat, &cat->products[i]));
    }
    bouncer__catalog_release(cat);
    return send_json(req, 200, "OK", json_pack("{sosIsb}", "products", list, "matched", (json_int_t)matched, "truncated",
                                               matched > PRODUCTS_MAX));
}

/* Parses a request body that must be a JSON object with only the members in allowed (NULL-terminated).
 * Returns the object, or NULL after answering 400. */
static json_t *body_object(h2o_req_t *req, const char *const *allowed)
{
    json_error_t jerr;
    char msg[400];
    const char *key;
    json_t *root = json_loadb(req->entity.base != NULL ? req->entity.base : "", req->entity.len, JSON_REJECT_DUPLICATES, &jerr), *v;
    if (root == NULL) {
        snprintf(msg, sizeof(msg), "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        send_error(req, 400, "Bad Request", msg);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        send_error(req, 400, "Bad Request", "$: must be an object");
        return NULL;
    }
    json_object_foreach(root, key, v)
    {
        size_t i;
        for (i = 0; allowed[i] != NULL; ++i)
            if (strcmp(allowed[i], key) == 0)
                break;
        if (allowed[i] == NULL) {
            snprintf(msg, sizeof(msg), "$.%.64s: unknown member", key);
            json_decref(root);
            send_error(req, 400, "Bad Request", msg);
            return NULL;
        }
    }
    return root;
}

/* An optional boolean member: -1 when absent or null, else 0/1; -2 when it is another type. */
static int member_bool(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL || json_is_null(v))
        return -1;
    return json_is_boolean(v) ? json_is_true(v) : -2;
}

static int product_patch(h2o_req_t *req, bouncer_t *b, const char *name)
{
    static const char *const allowed[] = {"ssl_only", "active", NULL};
    catalog_t *cat = NULL;
    json_t *root;
    int rc, ret;

    if ((root = body_object(req, allowed)) == NULL)
        return 0;
    int ssl_only = member_bool(root, "ssl_only"), active = member_bool(root, "active");
    json_decref(root);
    if (ssl_only == -2 || active == -2)
        return send_error(req, 400, "Bad Request", ssl_only == -2 ? "$.ssl_only: must be true or false" : "$.active: must be true or false");
    if ((rc = store_product_patch(b->store, name, ssl_only, active)) != 0)
        return send_store_error(req, rc, NULL, "product");
    if ((cat = answer_catalog(b, 1, &rc)) == NULL)
        return send_store_error(req, rc, NULL, "catalog");
    const catalog_product_t *p = catalog_find_product(cat, name);
    ret = p != NULL ? send_json(req, 200, "OK", product_json(cat, p)) : send_store_error(req, STORE_NO_PRODUCT, NULL, "product");
    bouncer__catalog_release(cat);
    return ret;
}

/* POST {"alias","product"}: tuxedo's create_update_alias (201 created, 200 re-pointed). */
static int alias_set(h2o_req_t *req, bouncer_t *b)
{
    static const char *const allowed[] = {"alias", "product", NULL};
    catalog_t *cat = NULL;
    json_t *root;
    int created = 0, rc, ret;

    if ((root = body_object(req, allowed)) == NULL)
        return 0;
    json_t *a = json_object_get(root, "alias"), *p = json_object_get(root, "product");
    if (!json_is_string(a) || !catalog_product_name_is_valid(json_string_value(a), json_string_length(a))) {
        ret = send_error(req, 400, "Bad Request", a == NULL ? "$.alias: required" : "$.alias: must be a valid product name");
        goto Exit;
    }
    if (!json_is_string(p) || strlen(json_string_value(p)) != json_string_length(p)) {
        ret = send_error(req, 400, "Bad Request", p == NULL ? "$.product: required" : "$.product: must be a string");
        goto Exit;
    }
    switch (rc = store_alias_set(b->store, json_string_value(a), json_string_value(p), &created)) {
    case 0:
        break;
    case STORE_NO_PRODUCT:
        ret = send_error(req, 400, "Bad Request", "$.product: no such product");
        goto Exit;
    case STORE_IS_PRODUCT:
        ret = send_error(req, 409, "Conflict", "$.alias: a product has this name");
        goto Exit;
    case STORE_INVALID:
        ret = send_error(req, 400, "Bad Request", "$.alias: must be a valid product name");
        goto Exit;
    default:
        ret = send_store_error(req, rc, NULL, "alias");
        goto Exit;
    }
    if ((cat = answer_catalog(b, 1, &rc)) == NULL) {
        ret = send_store_error(req, rc, NULL, "catalog");
        goto Exit;
    }
    const catalog_product_t *target = catalog_find_product(cat, json_string_value(p));
    ret = send_json(req, created ? 201 : 200, created ? "Created" : "OK",
                    json_pack("{sssssb}", "alias", json_string_value(a), "product", target != NULL ? target->name : json_string_value(p),
                              "created", created));
Exit:
    bouncer__catalog_release(cat);
    json_decref(root);
    return ret;
}

static int alias_delete(h2o_req_t *req, bouncer_t *b, const char *name)
{
    int rc;
    if ((rc = store_alias_delete(b->store, name)) != 0)
        return send_store_error(req, rc, NULL, "alias");
    bouncer__after_admin_write(b, NULL);
    return send_json(req, 200, "OK", json_pack("{ss}", "deleted", name));
}

static int status(h2o_req_t *req, bouncer_t *b)
{
    return send_json(req, 200, "OK", json_pack("{sIso}", "snapshot_version", (json_int_t)snapshot_current_version(b->snapshots),
                                               "health_check", sentry_json(b)));
}

/* ---- dispatch ---- */

static int method_is(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static int wrong_method(h2o_req_t *req, const char *allow)
{
    respond_add_header(req, "Allow", allow);
    return send_error(req, 405, "Method Not Allowed", "method not allowed");
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    bouncer_t *b = ((json_handler_t *)self)->bouncer;
    h2o_iovec_t path = req->path_normalized;
    size_t skip = sizeof(PREFIX) - 1;
    if (path.len < skip)
        return -1;
    char name[CATALOG_NAME_MAX + 16];
    size_t len = path.len - skip;
    if (len != 0 && path.base[path.len - 1] == '/')
        --len;
    if (len >= sizeof(name))
        return send_error(req, 404, "Not Found", "no such resource");
    memcpy(name, path.base + skip, len);
    name[len] = '\0';

    if (strcmp(name, "mirrors") == 0) {
        if (method_is(req, "GET"))
            return mirrors_list(req, b);
        if (method_is(req, "POST"))
            return mirror_add(req, b);
        return wrong_method(req, "GET, POST");
    }
    if (strncmp(name, "mirrors/", 8) == 0 && name[8] != '\0' && strchr(name + 8, '/') == NULL)
        return mirror_item(req, b, name + 8);
    if (strcmp(name, "rules") == 0)
        return method_is(req, "GET") ? rules(req, b, 0) : method_is(req, "PUT") ? rules(req, b, 1) : wrong_method(req, "GET, PUT");
    if (strcmp(name, "catalog") == 0)
        return method_is(req, "GET") ? catalog_io(req, b, 0) : method_is(req, "PUT") ? catalog_io(req, b, 1) : wrong_method(req, "GET, PUT");
    if (strcmp(name, "products") == 0)
        return method_is(req, "GET") ? products(req, b) : wrong_method(req, "GET");
    if (strncmp(name, "products/", 9) == 0 && name[9] != '\0' && strchr(name + 9, '/') == NULL)
        return method_is(req, "PATCH") ? product_patch(req, b, name + 9) : wrong_method(req, "PATCH");
    if (strcmp(name, "aliases") == 0)
        return method_is(req, "POST") ? alias_set(req, b) : wrong_method(req, "POST");
    if (strncmp(name, "aliases/", 8) == 0 && name[8] != '\0' && strchr(name + 8, '/') == NULL)
        return method_is(req, "DELETE") ? alias_delete(req, b, name + 8) : wrong_method(req, "DELETE");
    if (strcmp(name, "status") == 0)
        return method_is(req, "GET") ? status(req, b) : wrong_method(req, "GET");
    return send_error(req, 404, "Not Found", "no such resource");
}

int bouncer__json_register(bouncer_t *b, route_registrar_t *routes)
{
    h2o_pathconf_t *pathconf = routes->add(routes, PREFIX, "bouncer_json");
    if (pathconf == NULL)
        return -ENOMEM;
    json_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->bouncer = b;
    return 0;
}
