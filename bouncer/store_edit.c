// SPDX-License-Identifier: MIT
/*
 * store_edit: the per-entity writes of the store (see store.h), store_product_add() to
 * store_health_put(), one write transaction each; records are keyed and encoded by store_record.c.
 *
 * Deleting a product or a mirror removes dependent records by key range (locations and mirror
 * health are prefix ranges); location health is found by a scan of the health table, which is
 * acceptable for an admin operation.
 * Admin and health-checker threads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <lmdb.h>
#include "bouncer/store_internal.h"

static void set_err(catalog_error_t *err, const char *msg)
{
    if (err != NULL)
        snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* ---- per-entity helpers ---- */

static int begin(store_t *st, MDB_txn **txn)
{
    return store__lmdb_err(mdb_txn_begin(st->env, NULL, 0, txn));
}

/* Commits when ret is 0, aborts otherwise; returns the final code. */
static int finish(MDB_txn *txn, int ret)
{
    if (txn == NULL)
        return ret;
    if (ret != 0) {
        mdb_txn_abort(txn);
        return ret;
    }
    return store__lmdb_err(mdb_txn_commit(txn));
}

static int exists(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, int *ret)
{
    MDB_val k = {klen, (void *)key}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    *ret = rc == 0 || rc == MDB_NOTFOUND ? 0 : store__lmdb_err(rc);
    return rc == 0;
}

/* Which keys to delete: those starting with prefix (plen 0: all) for which pred (optional) holds. */
typedef struct st_match_t {
    const char *prefix;
    size_t plen;
    int (*pred)(const MDB_val *key, const MDB_val *data, void *ctx);
    void *ctx;
} match_t;

/* Deletes every matching key of dbi. LMDB keeps a cursor valid across mdb_cursor_del (the next
 * MDB_NEXT returns the record after the deleted one). */
static int delete_matching(MDB_txn *txn, MDB_dbi dbi, const match_t *m)
{
    MDB_cursor *cur = NULL;
    MDB_val k = {m->plen, (void *)m->prefix}, d;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return store__lmdb_err(rc);
    for (rc = mdb_cursor_get(cur, &k, &d, m->plen != 0 ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (m->plen != 0 && (k.mv_size < m->plen || memcmp(k.mv_data, m->prefix, m->plen) != 0))
            break;
        if (m->pred != NULL && !m->pred(&k, &d, m->ctx))
            continue;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store__lmdb_err(rc);
}

/* Health keys are "mirror\0product\0os" (lower case); ctx is a health_filter_t. */
typedef struct st_health_filter_t {
    const char *product; /* lower case */
    size_t plen;
    const char *os; /* NULL: any */
    size_t oslen;
} health_filter_t;

static int health_pred(const MDB_val *k, const MDB_val *d, void *ctx)
{
    const health_filter_t *f = ctx;
    const char *s = k->mv_data, *end = s + k->mv_size, *p = memchr(s, '\0', k->mv_size), *o;
    if (p == NULL || (o = memchr(p + 1, '\0', (size_t)(end - p - 1))) == NULL)
        return 0;
    ++p;
    if ((size_t)(o - p) != f->plen || memcmp(p, f->product, f->plen) != 0)
        return 0;
    ++o;
    return f->os == NULL || ((size_t)(end - o) == f->oslen && memcmp(o, f->os, f->oslen) == 0);
}

/* Alias records whose target is ctx (a product name). */
static int alias_pred(const MDB_val *k, const MDB_val *d, void *ctx)
{
    json_t *a = json_loadb(d->mv_data, d->mv_size, 0, NULL);
    const char *target = a != NULL ? json_string_value(json_object_get(a, "product")) : NULL;
    int del = target != NULL && strcasecmp(target, ctx) == 0;
    json_decref(a);
    return del;
}

/* Deletes health records of a product (os NULL) or of one location. */
static int delete_health(MDB_txn *txn, store_t *st, const char *product, const char *os)
{
    char p[STORE__KEY_MAX], o[STORE__KEY_MAX];
    health_filter_t f = {p, store__make_key(p, product, NULL, NULL), os != NULL ? o : NULL,
                         os != NULL ? store__make_key(o, os, NULL, NULL) : 0};
    match_t m = {NULL, 0, health_pred, &f};
    return delete_matching(txn, st->dbi[DB_HEALTH], &m);
}

/* Reads a product record; NULL with *ret 0 when absent. */
static json_t *get_product(MDB_txn *txn, store_t *st, const char *name, int *ret)
{
    char key[STORE__KEY_MAX];
    size_t klen = store__make_key(key, name, NULL, NULL);
    if (klen == 0) {
        *ret = 0;
        return NULL;
    }
    return store__get_json(txn, st->dbi[DB_PRODUCTS], key, klen, ret);
}

int store_product_add(store_t *st, const char *name, int ssl_only, const char *const *languages, size_t num_languages,
                      uint32_t *id, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    size_t klen;
    int ret;
    catalog_product_t p = {0, (char *)name, ssl_only, 1, (char **)languages, num_languages};
    catalog_t scratch = {.products = &p, .num_products = 1};

    if (catalog_validate(&scratch, err) != 0)
        return STORE_INVALID;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    klen = store__make_key(key, name, NULL, NULL);
    if (exists(txn, st->dbi[DB_PRODUCTS], key, klen, &ret) || exists(txn, st->dbi[DB_ALIASES], key, klen, &ret)) {
        ret = STORE_EXISTS;
        goto Exit;
    }
    if (ret != 0 || (ret = store__next_id(txn, st, "next_product_id", &p.id)) != 0)
        goto Exit;
    ret = store__put_json(txn, st->dbi[DB_PRODUCTS], key, klen, store__product_json(&p));
    if (ret == 0 && id != NULL)
        *id = p.id;
Exit:
    return finish(txn, ret);
}

int store_product_delete(store_t *st, const char *name, uint32_t id, char **deleted_name)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    char key[STORE__KEY_MAX], found[CATALOG_NAME_MAX + 1] = "";
    size_t klen;
    json_t *v = NULL;
    int ret;

    if (deleted_name != NULL)
        *deleted_name = NULL;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if (name != NULL) {
        if ((v = get_product(txn, st, name, &ret)) == NULL) {
            ret = ret != 0 ? ret : STORE_NOT_FOUND;
            goto Exit;
        }
    } else {
        int rc;
        if ((ret = store__lmdb_err(mdb_cursor_open(txn, st->dbi[DB_PRODUCTS], &cur))) != 0)
            goto Exit;
        for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
            json_t *p = json_loadb(d.mv_data, d.mv_size, 0, NULL);
            if (p != NULL && (uint32_t)json_integer_value(json_object_get(p, "id")) == id) {
                v = p;
                break;
            }
            json_decref(p);
        }
        mdb_cursor_close(cur);
        cur = NULL;
        if (v == NULL) {
            ret = rc == 0 || rc == MDB_NOTFOUND ? STORE_NOT_FOUND : store__lmdb_err(rc);
            goto Exit;
        }
    }
    if (json_string_value(json_object_get(v, "name")) == NULL) {
        ret = -EIO;
        goto Exit;
    }
    snprintf(found, sizeof(found), "%s", json_string_value(json_object_get(v, "name")));
    klen = store__make_key(key, found, NULL, NULL);
    MDB_val dk = {klen, key};
    if ((ret = store__lmdb_err(mdb_del(txn, st->dbi[DB_PRODUCTS], &dk, NULL))) != 0)
        goto Exit;

    /* its locations (keys "product\0os"), their health, and the aliases pointing to it */
    {
        char prefix[STORE__KEY_MAX + 1];
        size_t plen = store__make_key(prefix, found, NULL, NULL);
        prefix[plen++] = '\0';
        match_t locs = {prefix, plen, NULL, NULL}, aliases = {NULL, 0, alias_pred, found};
        if ((ret = delete_matching(txn, st->dbi[DB_LOCATIONS], &locs)) != 0 || (ret = delete_health(txn, st, found, NULL)) != 0 ||
            (ret = delete_matching(txn, st->dbi[DB_ALIASES], &aliases)) != 0)
            goto Exit;
    }
    if (deleted_name != NULL && (*deleted_name = strdup(found)) == NULL)
        ret = -ENOMEM;
Exit:
    if (cur != NULL)
        mdb_cursor_close(cur);
    json_decref(v);
    ret = finish(txn, ret);
    if (ret != 0 && deleted_name != NULL) {
        free(*deleted_name);
        *deleted_name = NULL;
    }
    return ret;
}

int store_product_patch(store_t *st, const char *name, int ssl_only, int active)
{
    MDB_txn *txn = NULL;
    json_t *v = NULL;
    char key[STORE__KEY_MAX];
    int ret;

    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if ((v = get_product(txn, st, name, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_PRODUCT;
        goto Exit;
    }
    if ((ssl_only >= 0 && json_object_set_new(v, "ssl_only", json_boolean(ssl_only)) != 0) ||
        (active >= 0 && json_object_set_new(v, "active", json_boolean(active)) != 0)) {
        ret = -ENOMEM;
        goto Exit;
    }
    /* the record was found under this key */
    ret = store__put_json(txn, st->dbi[DB_PRODUCTS], key, store__make_key(key, name, NULL, NULL), json_incref(v));
Exit:
    json_decref(v);
    return finish(txn, ret);
}

/* Rewrites a product's language list: adds (add != 0) or deletes the given languages. */
static int edit_languages(store_t *st, const char *product, const char *const *langs, size_t n, int add, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    json_t *v = NULL, *arr;
    char key[STORE__KEY_MAX];
    int ret;

    if (add) {
        for (size_t i = 0; i != n; ++i) {
            if (!catalog_lang_is_valid(langs[i], strlen(langs[i]))) {
                set_err(err, "languages: invalid language tag (letters, digits, '-'; at most 20)");
                return STORE_INVALID;
            }
        }
    }
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if ((v = get_product(txn, st, product, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_PRODUCT;
        goto Exit;
    }
    if (!json_is_array(arr = json_object_get(v, "languages"))) {
        json_object_set_new(v, "languages", arr = json_array());
        if (arr == NULL) {
            ret = -ENOMEM;
            goto Exit;
        }
    }
    for (size_t i = 0; i != n; ++i) {
        size_t j;
        json_t *l;
        int all = !add && strcmp(langs[i], "*") == 0, found = 0;
        if (all) {
            json_array_clear(arr);
            continue;
        }
        json_array_foreach(arr, j, l)
        {
            if (strcasecmp(json_string_value(l), langs[i]) == 0) {
                found = 1;
                break;
            }
        }
        if (add && !found && json_array_append_new(arr, json_string(langs[i])) != 0) {
            ret = -ENOMEM;
            goto Exit;
        }
        if (!add && found)
            json_array_remove(arr, j);
    }
    if (json_array_size(arr) > 65535) {
        set_err(err, "languages: too many");
        ret = STORE_INVALID;
        goto Exit;
    }
    ret = store__put_json(txn, st->dbi[DB_PRODUCTS], key,
                          store__make_key(key, json_string_value(json_object_get(v, "name")), NULL, NULL), json_incref(v));
Exit:
    json_decref(v);
    return finish(txn, ret);
}

int store_product_language_add(store_t *st, const char *product, const char *const *languages, size_t n, catalog_error_t *err)
{
    return edit_languages(st, product, languages, n, 1, err);
}

int store_product_language_delete(store_t *st, const char *product, const char *const *languages, size_t n)
{
    return edit_languages(st, product, languages, n, 0, NULL);
}

/* Checks product and os for location writes; fills the product's stored name. */
static int location_refs(MDB_txn *txn, store_t *st, const char *product, const char *os, char *pname, size_t pcap)
{
    int ret;
    char key[STORE__KEY_MAX];
    json_t *v = get_product(txn, st, product, &ret);
    if (v == NULL)
        return ret != 0 ? ret : STORE_NO_PRODUCT;
    snprintf(pname, pcap, "%s", json_string_value(json_object_get(v, "name")));
    json_decref(v);
    size_t klen = store__make_key(key, os, NULL, NULL);
    if (klen == 0 || !exists(txn, st->dbi[DB_OSES], key, klen, &ret))
        return ret != 0 ? ret : STORE_NO_OS;
    return 0;
}

/*
 * What adding and modifying a location share: a valid path, an open transaction, an existing product
 * and OS (pname receives the product's stored name) and the location's key. On failure no
 * transaction is left open.
 */
static int location_write_begin(store_t *st, const char *product, const char *os, const char *path, catalog_error_t *err,
                                MDB_txn **txn, char *key, size_t *klen, char *pname, size_t pcap)
{
    int ret;

    if (!catalog_path_is_valid(path, strlen(path))) {
        set_err(err, "path: must be a %-encoded path of visible ASCII (no spaces, '#', quotes)");
        return STORE_INVALID;
    }
    if ((ret = begin(st, txn)) != 0)
        return ret;
    if ((ret = location_refs(*txn, st, product, os, pname, pcap)) != 0)
        return finish(*txn, ret);
    *klen = store__make_key(key, pname, os, NULL);
    return 0;
}

int store_location_add(store_t *st, const char *product, const char *os, const char *path, uint32_t *id, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX], pname[CATALOG_NAME_MAX + 1], osl[STORE__KEY_MAX];
    size_t klen;
    int ret;

    if ((ret = location_write_begin(st, product, os, path, err, &txn, key, &klen, pname, sizeof(pname))) != 0)
        return ret;
    if (exists(txn, st->dbi[DB_LOCATIONS], key, klen, &ret)) {
        ret = STORE_EXISTS;
        goto Exit;
    }
    store__make_key(osl, os, NULL, NULL);
    osl[strlen(os)] = '\0';
    catalog_location_t l = {0, pname, osl, (char *)path};
    if (ret != 0 || (ret = store__next_id(txn, st, "next_location_id", &l.id)) != 0)
        goto Exit;
    if ((ret = store__put_json(txn, st->dbi[DB_LOCATIONS], key, klen, store__location_json(&l))) == 0 && id != NULL)
        *id = l.id;
Exit:
    return finish(txn, ret);
}

int store_location_modify(store_t *st, const char *product, const char *os, const char *path, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX], pname[CATALOG_NAME_MAX + 1];
    size_t klen;
    json_t *v = NULL;
    int ret;

    if ((ret = location_write_begin(st, product, os, path, err, &txn, key, &klen, pname, sizeof(pname))) != 0)
        return ret;
    if ((v = store__get_json(txn, st->dbi[DB_LOCATIONS], key, klen, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_LOCATION;
        goto Exit;
    }
    if (json_object_set_new(v, "path", json_string(path)) != 0) {
        ret = -ENOMEM;
        goto Exit;
    }
    ret = store__put_json(txn, st->dbi[DB_LOCATIONS], key, klen, json_incref(v));
Exit:
    json_decref(v);
    return finish(txn, ret);
}

typedef struct st_id_match_t {
    uint32_t id;
    char *product, *os, *path; /* copies of the match */
    int found;
} id_match_t;

static int location_id_pred(const MDB_val *k, const MDB_val *d, void *ctx)
{
    id_match_t *m = ctx;
    if (m->found)
        return 0;
    json_t *v = json_loadb(d->mv_data, d->mv_size, 0, NULL);
    int hit = v != NULL && (uint32_t)json_integer_value(json_object_get(v, "id")) == m->id;
    if (hit) {
        m->found = 1;
        m->product = strdup(json_string_value(json_object_get(v, "product")));
        m->os = strdup(json_string_value(json_object_get(v, "os")));
        m->path = strdup(json_string_value(json_object_get(v, "path")));
    }
    json_decref(v);
    return hit;
}

int store_location_delete(store_t *st, uint32_t id, char **deleted_path)
{
    MDB_txn *txn = NULL;
    id_match_t im = {id, NULL, NULL, NULL, 0};
    match_t m = {NULL, 0, location_id_pred, &im};
    int ret;

    if (deleted_path != NULL)
        *deleted_path = NULL;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if ((ret = delete_matching(txn, st->dbi[DB_LOCATIONS], &m)) != 0)
        goto Exit;
    if (!im.found) {
        ret = STORE_NOT_FOUND;
        goto Exit;
    }
    if (im.product == NULL || im.os == NULL || im.path == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    if ((ret = delete_health(txn, st, im.product, im.os)) != 0)
        goto Exit;
    if (deleted_path != NULL) {
        *deleted_path = im.path;
        im.path = NULL;
    }
Exit:
    free(im.product);
    free(im.os);
    free(im.path);
    ret = finish(txn, ret);
    if (ret != 0 && deleted_path != NULL) {
        free(*deleted_path);
        *deleted_path = NULL;
    }
    return ret;
}

int store_alias_set(store_t *st, const char *alias, const char *product, int *created)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    size_t klen;
    json_t *p = NULL;
    int ret;

    if (!catalog_product_name_is_valid(alias, strlen(alias)))
        return STORE_INVALID;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if ((p = get_product(txn, st, product, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_PRODUCT;
        goto Exit;
    }
    klen = store__make_key(key, alias, NULL, NULL);
    if (exists(txn, st->dbi[DB_PRODUCTS], key, klen, &ret)) {
        ret = STORE_IS_PRODUCT;
        goto Exit;
    }
    int had = exists(txn, st->dbi[DB_ALIASES], key, klen, &ret);
    if (ret != 0)
        goto Exit;
    if (created != NULL)
        *created = !had;
    ret = store__put_json(txn, st->dbi[DB_ALIASES], key, klen,
                          json_pack("{s:s,s:s}", "alias", alias, "product", json_string_value(json_object_get(p, "name"))));
Exit:
    json_decref(p);
    return finish(txn, ret);
}

int store_alias_delete(store_t *st, const char *alias)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    int ret;
    MDB_val k = {store__make_key(key, alias, NULL, NULL), key};
    if (k.mv_size == 0)
        return STORE_NOT_FOUND;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    int rc = mdb_del(txn, st->dbi[DB_ALIASES], &k, NULL);
    ret = rc == MDB_NOTFOUND ? STORE_NOT_FOUND : store__lmdb_err(rc);
    return finish(txn, ret);
}

int store_os_add(store_t *st, const char *os)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    int ret;
    if (!catalog_os_name_is_valid(os, strlen(os)))
        return STORE_INVALID;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    size_t klen = store__make_key(key, os, NULL, NULL);
    if (exists(txn, st->dbi[DB_OSES], key, klen, &ret)) {
        ret = STORE_EXISTS;
    } else if (ret == 0) {
        MDB_val k = {klen, key}, d = {0, ""};
        ret = store__lmdb_err(mdb_put(txn, st->dbi[DB_OSES], &k, &d, 0));
    }
    return finish(txn, ret);
}

int store_mirror_add(store_t *st, const catalog_mirror_t *m, uint32_t *id, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    size_t klen;
    int ret;
    catalog_mirror_t n;

    if ((ret = catalog_mirror_copy(&n, m)) != 0)
        return ret;
    catalog_t scratch = {.mirrors = &n, .num_mirrors = 1};
    if (catalog_validate(&scratch, err) != 0) {
        ret = STORE_INVALID;
        goto Exit;
    }
    if ((ret = begin(st, &txn)) != 0)
        goto Exit;
    klen = store__make_key(key, n.name, NULL, NULL);
    if (exists(txn, st->dbi[DB_MIRRORS], key, klen, &ret)) {
        ret = STORE_EXISTS;
        goto Exit;
    }
    if (ret != 0 || (ret = store__next_id(txn, st, "next_mirror_id", &n.id)) != 0)
        goto Exit;
    if ((ret = store__put_json(txn, st->dbi[DB_MIRRORS], key, klen, store__mirror_json(&n))) == 0 && id != NULL)
        *id = n.id;
Exit:
    catalog_mirror_dispose(&n);
    return finish(txn, ret);
}

int store_mirror_patch(store_t *st, const char *name, const char *json, size_t len, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    size_t klen;
    json_t *v = NULL;
    catalog_mirror_t m = {0};
    int ret;

    if ((ret = begin(st, &txn)) != 0)
        return ret;
    klen = store__make_key(key, name, NULL, NULL);
    if ((v = store__get_json(txn, st->dbi[DB_MIRRORS], key, klen, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_MIRROR;
        goto Exit;
    }
    if ((ret = store__mirror_from_json(v, &m)) != 0)
        goto Exit;
    if ((ret = catalog_mirror_patch(&m, json, len, err)) != 0) {
        ret = ret == -EINVAL ? STORE_INVALID : ret;
        goto Exit;
    }
    ret = store__put_json(txn, st->dbi[DB_MIRRORS], key, klen, store__mirror_json(&m));
Exit:
    catalog_mirror_dispose(&m);
    json_decref(v);
    return finish(txn, ret);
}


int store_mirror_delete(store_t *st, const char *name)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX + 1];
    int ret;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    size_t klen = store__make_key(key, name, NULL, NULL);
    MDB_val k = {klen, key};
    int rc = mdb_del(txn, st->dbi[DB_MIRRORS], &k, NULL);
    if (rc == MDB_NOTFOUND) {
        ret = STORE_NO_MIRROR;
        goto Exit;
    }
    if ((ret = store__lmdb_err(rc)) != 0)
        goto Exit;
    key[klen] = '\0';
    match_t m = {key, klen + 1, NULL, NULL};
    ret = delete_matching(txn, st->dbi[DB_HEALTH], &m);
Exit:
    return finish(txn, ret);
}

int store_rules_set(store_t *st, const catalog_rule_t *rules, size_t num_rules, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    catalog_t scratch = {0};
    int ret = 0;

    /* validation normalises, so it runs on a copy */
    for (size_t i = 0; i != num_rules && ret == 0; ++i)
        ret = catalog_add_rule(&scratch, rules + i);
    if (ret != 0)
        goto Exit;
    if (catalog_validate(&scratch, err) != 0) {
        ret = STORE_INVALID;
        goto Exit;
    }
    if ((ret = begin(st, &txn)) != 0)
        goto Exit;
    ret = finish(txn, store__write_rules(txn, st, scratch.rules, scratch.num_rules));
    txn = NULL;
Exit:
    catalog_rules_free(scratch.rules, scratch.num_rules);
    return ret;
}

int store_health_put(store_t *st, const catalog_health_t *records, size_t n)
{
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    int ret;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    for (size_t i = 0; i != n && ret == 0; ++i) {
        const catalog_health_t *h = records + i;
        size_t klen = store__make_key(key, h->mirror, NULL, NULL);
        if (klen == 0 || !exists(txn, st->dbi[DB_MIRRORS], key, klen, &ret)) {
            ret = ret != 0 ? ret : STORE_NO_MIRROR;
            break;
        }
        klen = store__make_key(key, h->product, h->os, NULL);
        if (klen == 0 || !exists(txn, st->dbi[DB_LOCATIONS], key, klen, &ret)) {
            ret = ret != 0 ? ret : STORE_NO_LOCATION;
            break;
        }
        catalog_health_t c = *h;
        char reason[513];
        if (c.reason != NULL && strlen(c.reason) > 512) {
            memcpy(reason, c.reason, 512);
            reason[512] = '\0';
            c.reason = reason;
        }
        klen = store__make_key(key, h->mirror, h->product, h->os);
        ret = store__put_json(txn, st->dbi[DB_HEALTH], key, klen, store__health_json(&c));
    }
    return finish(txn, ret);
}
