// SPDX-License-Identifier: MIT
/*
 * store: LMDB persistence of the catalog (see store.h).
 *
 * Keys are lower-cased names (locations: "product\0os"; health: "mirror\0product\0os"), values
 * are compact JSON objects. Deleting a product or a mirror removes dependent records by key
 * range (locations and mirror health are prefix ranges); location health is found by a scan of
 * the health table, which is acceptable for an admin operation. MDB_* codes stop here: they are
 * translated to -errno by lmdb_err().
 * Admin and health-checker threads.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include <lmdb.h>
#include "bouncer/store.h"

enum { DB_META, DB_PRODUCTS, DB_OSES, DB_LOCATIONS, DB_ALIASES, DB_MIRRORS, DB_RULES, DB_HEALTH, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"meta", "products", "oses", "locations", "aliases", "mirrors", "rules", "health"};

struct st_store_t {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
};

#define KEY_MAX 700

static int lmdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_MAP_FULL:
        return -ENOSPC;
    case ENOMEM:
        return -ENOMEM;
    default:
        return rc > 0 ? -rc : -EIO;
    }
}

const char *store_strerror(int code)
{
    switch (code) {
    case STORE_OK:
        return "ok";
    case STORE_EXISTS:
        return "already exists";
    case STORE_NOT_FOUND:
        return "not found";
    case STORE_NO_PRODUCT:
        return "no such product";
    case STORE_NO_OS:
        return "no such os";
    case STORE_NO_LOCATION:
        return "no such location";
    case STORE_NO_MIRROR:
        return "no such mirror";
    case STORE_INVALID:
        return "invalid value";
    case STORE_IS_PRODUCT:
        return "an alias cannot have a product's name";
    default:
        return code < 0 ? strerror(-code) : "unknown";
    }
}

static void set_err(catalog_error_t *err, const char *msg)
{
    if (err != NULL)
        snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* Lower-cased key parts joined by NUL. Returns the key length or 0 when too long. */
static size_t make_key(char *buf, const char *a, const char *b, const char *c)
{
    const char *parts[3] = {a, b, c};
    size_t len = 0;
    for (int i = 0; i != 3 && parts[i] != NULL; ++i) {
        size_t n = strlen(parts[i]);
        if (len + n + 1 > KEY_MAX)
            return 0;
        if (i != 0)
            buf[len++] = '\0';
        for (size_t j = 0; j != n; ++j) {
            char ch = parts[i][j];
            buf[len++] = (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch;
        }
    }
    return len;
}

/* ---- record encoding ---- */

static int put_json(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, json_t *v)
{
    char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (s == NULL)
        return -ENOMEM;
    MDB_val k = {klen, (void *)key}, d = {strlen(s), s};
    int rc = mdb_put(txn, dbi, &k, &d, 0);
    free(s);
    return lmdb_err(rc);
}

static json_t *get_json(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, int *ret)
{
    MDB_val k = {klen, (void *)key}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    *ret = 0;
    if (rc == MDB_NOTFOUND)
        return NULL;
    if (rc != 0) {
        *ret = lmdb_err(rc);
        return NULL;
    }
    json_t *v = json_loadb(d.mv_data, d.mv_size, 0, NULL);
    if (v == NULL)
        *ret = -EIO;
    return v;
}

static json_t *strs_json(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i != n; ++i)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

static json_t *product_json(const catalog_product_t *p)
{
    return json_pack("{s:I,s:s,s:b,s:b,s:o}", "id", (json_int_t)p->id, "name", p->name, "ssl_only", p->ssl_only, "active",
                     p->active, "languages", strs_json(p->languages, p->num_languages));
}

static json_t *location_json(const catalog_location_t *l)
{
    return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)l->id, "product", l->product, "os", l->os, "path", l->path);
}

static json_t *mirror_json(const catalog_mirror_t *m)
{
    json_t *c = json_array(), *k = json_array();
    for (size_t i = 0; c != NULL && i != m->num_countries; ++i)
        json_array_append_new(c, json_string(m->countries[i]));
    for (size_t i = 0; k != NULL && i != m->num_continents; ++i)
        json_array_append_new(k, json_string(m->continents[i]));
    return json_pack("{s:I,s:s,s:s,s:I,s:b,s:o,s:o}", "id", (json_int_t)m->id, "name", m->name, "base_url", m->base_url, "weight",
                     (json_int_t)m->weight, "enabled", m->enabled, "countries", c, "continents", k);
}

static json_t *health_json(const catalog_health_t *h)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s?}", "mirror", h->mirror, "product", h->product, "os", h->os, "state",
                     catalog_health_state_name(h->state), "checked_at", (json_int_t)h->checked_at, "reason", h->reason);
}

/* Reads a string array member into a malloc'd char* array. */
static int json_strs(json_t *a, char ***items, size_t *n)
{
    size_t i;
    json_t *v;
    *items = NULL;
    *n = 0;
    if (json_array_size(a) == 0)
        return 0;
    if ((*items = calloc(json_array_size(a), sizeof(char *))) == NULL)
        return -ENOMEM;
    json_array_foreach(a, i, v)
    {
        if (((*items)[i] = strdup(json_is_string(v) ? json_string_value(v) : "")) == NULL)
            return -ENOMEM;
        *n = i + 1;
    }
    return 0;
}

static void free_strs(char **items, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(items[i]);
    free(items);
}

static int product_from_json(json_t *v, catalog_product_t *p)
{
    memset(p, 0, sizeof(*p));
    p->id = (uint32_t)json_integer_value(json_object_get(v, "id"));
    p->name = (char *)json_string_value(json_object_get(v, "name"));
    p->ssl_only = json_is_true(json_object_get(v, "ssl_only"));
    p->active = json_is_true(json_object_get(v, "active"));
    if (p->name == NULL)
        return -EIO;
    return json_strs(json_object_get(v, "languages"), &p->languages, &p->num_languages);
}

static int mirror_from_json(json_t *v, catalog_mirror_t *m)
{
    char **c = NULL, **k = NULL;
    size_t nc = 0, nk = 0;
    int ret = -ENOMEM;
    catalog_mirror_t t = {0};
    memset(m, 0, sizeof(*m));
    t.id = (uint32_t)json_integer_value(json_object_get(v, "id"));
    t.name = (char *)json_string_value(json_object_get(v, "name"));
    t.base_url = (char *)json_string_value(json_object_get(v, "base_url"));
    t.weight = (uint32_t)json_integer_value(json_object_get(v, "weight"));
    t.enabled = json_is_true(json_object_get(v, "enabled"));
    if (t.name == NULL || t.base_url == NULL) {
        ret = -EIO;
        goto Exit;
    }
    if (json_strs(json_object_get(v, "countries"), &c, &nc) != 0 || json_strs(json_object_get(v, "continents"), &k, &nk) != 0)
        goto Exit;
    char(*cc)[3] = nc != 0 ? calloc(nc, 3) : NULL, (*kk)[3] = nk != 0 ? calloc(nk, 3) : NULL;
    if ((nc != 0 && cc == NULL) || (nk != 0 && kk == NULL)) {
        free(cc);
        free(kk);
        goto Exit;
    }
    for (size_t i = 0; i != nc; ++i)
        snprintf(cc[i], 3, "%s", c[i]);
    for (size_t i = 0; i != nk; ++i)
        snprintf(kk[i], 3, "%s", k[i]);
    t.countries = cc;
    t.num_countries = nc;
    t.continents = kk;
    t.num_continents = nk;
    ret = catalog_mirror_copy(m, &t);
    free(cc);
    free(kk);
Exit:
    free_strs(c, nc);
    free_strs(k, nk);
    return ret;
}

/* ---- meta: id counters ---- */

static int next_id(MDB_txn *txn, store_t *st, const char *counter, uint32_t *id)
{
    MDB_val k = {strlen(counter), (void *)counter}, d;
    uint32_t v = 1;
    int rc = mdb_get(txn, st->dbi[DB_META], &k, &d);
    if (rc == 0 && d.mv_size == sizeof(v))
        memcpy(&v, d.mv_data, sizeof(v));
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_err(rc);
    *id = v++;
    d.mv_size = sizeof(v);
    d.mv_data = &v;
    return lmdb_err(mdb_put(txn, st->dbi[DB_META], &k, &d, 0));
}

static int set_counter(MDB_txn *txn, store_t *st, const char *counter, uint32_t v)
{
    MDB_val k = {strlen(counter), (void *)counter}, d = {sizeof(v), &v};
    return lmdb_err(mdb_put(txn, st->dbi[DB_META], &k, &d, 0));
}

/* ---- open / close ---- */

int store_open(const char *data_dir, size_t map_size, store_t **out)
{
    int ret;
    char path[PATH_MAX];
    store_t *st = NULL;
    MDB_txn *txn = NULL;

    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/catalog", data_dir) >= (int)sizeof(path)) {
        ret = -ENAMETOOLONG;
        goto Exit;
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        ret = -errno;
        goto Exit;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    if ((ret = lmdb_err(mdb_env_create(&st->env))) != 0)
        goto Exit;
    if ((ret = lmdb_err(mdb_env_set_maxdbs(st->env, DB_COUNT))) != 0 ||
        (ret = lmdb_err(mdb_env_set_mapsize(st->env, map_size != 0 ? map_size : (size_t)1 << 30))) != 0 ||
        (ret = lmdb_err(mdb_env_open(st->env, path, MDB_NOTLS, 0640))) != 0)
        goto Exit;
    if ((ret = lmdb_err(mdb_txn_begin(st->env, NULL, 0, &txn))) != 0)
        goto Exit;
    for (int i = 0; i != DB_COUNT; ++i)
        if ((ret = lmdb_err(mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbi[i]))) != 0)
            goto Exit;
    /* a fresh store starts with the standard OS names */
    MDB_val k = {11, "initialized"}, d;
    if (mdb_get(txn, st->dbi[DB_META], &k, &d) == MDB_NOTFOUND) {
        for (size_t i = 0; i != catalog_num_standard_oses; ++i) {
            MDB_val ok = {strlen(catalog_standard_oses[i]), (void *)catalog_standard_oses[i]}, od = {0, ""};
            if ((ret = lmdb_err(mdb_put(txn, st->dbi[DB_OSES], &ok, &od, 0))) != 0)
                goto Exit;
        }
        d.mv_size = 1;
        d.mv_data = "1";
        if ((ret = lmdb_err(mdb_put(txn, st->dbi[DB_META], &k, &d, 0))) != 0)
            goto Exit;
    }
    ret = lmdb_err(mdb_txn_commit(txn));
    txn = NULL;
    if (ret != 0)
        goto Exit;
    *out = st;
    st = NULL;
Exit:
    if (txn != NULL)
        mdb_txn_abort(txn);
    store_close(st);
    return ret;
}

uint64_t store_last_change(store_t *st)
{
    MDB_envinfo info;
    if (mdb_env_info(st->env, &info) != 0)
        return 0;
    return (uint64_t)info.me_last_txnid;
}

void store_close(store_t *st)
{
    if (st == NULL)
        return;
    if (st->env != NULL)
        mdb_env_close(st->env);
    free(st);
}

/* ---- load ---- */

int store_load(store_t *st, catalog_t **out)
{
    int ret;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    catalog_t *cat = NULL;
    json_t *v = NULL;
    catalog_error_t err;

    *out = NULL;
    if ((cat = catalog_create()) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    if ((ret = lmdb_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))) != 0)
        goto Exit;
    for (int db = DB_PRODUCTS; db != DB_COUNT; ++db) {
        if ((ret = lmdb_err(mdb_cursor_open(txn, st->dbi[db], &cur))) != 0)
            goto Exit;
        int rc;
        for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
            if (db == DB_OSES) {
                char os[CATALOG_OS_MAX + 1];
                snprintf(os, sizeof(os), "%.*s", (int)k.mv_size, (const char *)k.mv_data);
                if ((ret = catalog_add_os(cat, os)) != 0)
                    goto Exit;
                continue;
            }
            if (db == DB_RULES) {
                catalog_rule_t *rules;
                size_t n;
                if (catalog_rules_from_json(d.mv_data, d.mv_size, &rules, &n, &err) != 0) {
                    ret = -EIO;
                    goto Exit;
                }
                catalog_rules_free(cat->rules, cat->num_rules);
                cat->rules = rules;
                cat->num_rules = cat->_cap_rules = n;
                continue;
            }
            if ((v = json_loadb(d.mv_data, d.mv_size, 0, NULL)) == NULL) {
                ret = -EIO;
                goto Exit;
            }
            switch (db) {
            case DB_PRODUCTS: {
                catalog_product_t p;
                if ((ret = product_from_json(v, &p)) == 0)
                    ret = catalog_add_product(cat, &p);
                free_strs(p.languages, p.num_languages);
            } break;
            case DB_LOCATIONS: {
                catalog_location_t l = {(uint32_t)json_integer_value(json_object_get(v, "id")),
                                        (char *)json_string_value(json_object_get(v, "product")),
                                        (char *)json_string_value(json_object_get(v, "os")),
                                        (char *)json_string_value(json_object_get(v, "path"))};
                ret = l.product == NULL || l.os == NULL || l.path == NULL ? -EIO : catalog_add_location(cat, &l);
            } break;
            case DB_ALIASES: {
                catalog_alias_t a = {(char *)json_string_value(json_object_get(v, "alias")),
                                     (char *)json_string_value(json_object_get(v, "product"))};
                ret = a.alias == NULL || a.product == NULL ? -EIO : catalog_add_alias(cat, &a);
            } break;
            case DB_MIRRORS: {
                catalog_mirror_t m;
                if ((ret = mirror_from_json(v, &m)) == 0)
                    ret = catalog_add_mirror(cat, &m);
                catalog_mirror_dispose(&m);
            } break;
            case DB_HEALTH: {
                catalog_health_t h = {(char *)json_string_value(json_object_get(v, "mirror")),
                                      (char *)json_string_value(json_object_get(v, "product")),
                                      (char *)json_string_value(json_object_get(v, "os")),
                                      CATALOG_HEALTH_HEALTHY,
                                      (int64_t)json_integer_value(json_object_get(v, "checked_at")),
                                      (char *)json_string_value(json_object_get(v, "reason"))};
                const char *state = json_string_value(json_object_get(v, "state"));
                if (h.mirror == NULL || h.product == NULL || h.os == NULL || state == NULL ||
                    catalog_health_state_parse(state, &h.state) != 0)
                    ret = -EIO;
                else
                    ret = catalog_add_health(cat, &h);
            } break;
            }
            json_decref(v);
            v = NULL;
            if (ret != 0)
                goto Exit;
        }
        mdb_cursor_close(cur);
        cur = NULL;
        if (rc != MDB_NOTFOUND) {
            ret = lmdb_err(rc);
            goto Exit;
        }
    }
    if ((ret = catalog_validate(cat, &err)) != 0)
        goto Exit;
    *out = cat;
    cat = NULL;
Exit:
    json_decref(v);
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        mdb_txn_abort(txn);
    catalog_destroy(cat);
    return ret;
}

/* ---- replace ---- */

static int write_rules(MDB_txn *txn, store_t *st, const catalog_rule_t *rules, size_t n)
{
    char *s = NULL;
    int ret = catalog_rules_to_json(rules, n, &s);
    if (ret == 0) {
        MDB_val k = {5, "rules"}, d = {strlen(s), s};
        ret = lmdb_err(mdb_put(txn, st->dbi[DB_RULES], &k, &d, 0));
    }
    free(s);
    return ret;
}

int store_replace(store_t *st, catalog_t *cat, catalog_error_t *err)
{
    int ret;
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
    size_t klen;
    uint32_t maxp = 0, maxl = 0, maxm = 0;

    if (catalog_validate(cat, err) != 0)
        return STORE_INVALID;
    if ((ret = lmdb_err(mdb_txn_begin(st->env, NULL, 0, &txn))) != 0)
        goto Exit;
    for (int db = DB_PRODUCTS; db != DB_COUNT; ++db)
        if ((ret = lmdb_err(mdb_drop(txn, st->dbi[db], 0))) != 0)
            goto Exit;
    for (size_t i = 0; i != cat->num_products; ++i) {
        klen = make_key(key, cat->products[i].name, NULL, NULL);
        if ((ret = put_json(txn, st->dbi[DB_PRODUCTS], key, klen, product_json(cat->products + i))) != 0)
            goto Exit;
        if (cat->products[i].id > maxp)
            maxp = cat->products[i].id;
    }
    for (size_t i = 0; i != cat->num_oses; ++i) {
        MDB_val k = {strlen(cat->oses[i]), cat->oses[i]}, d = {0, ""};
        if ((ret = lmdb_err(mdb_put(txn, st->dbi[DB_OSES], &k, &d, 0))) != 0)
            goto Exit;
    }
    for (size_t i = 0; i != cat->num_locations; ++i) {
        klen = make_key(key, cat->locations[i].product, cat->locations[i].os, NULL);
        if ((ret = put_json(txn, st->dbi[DB_LOCATIONS], key, klen, location_json(cat->locations + i))) != 0)
            goto Exit;
        if (cat->locations[i].id > maxl)
            maxl = cat->locations[i].id;
    }
    for (size_t i = 0; i != cat->num_aliases; ++i) {
        klen = make_key(key, cat->aliases[i].alias, NULL, NULL);
        if ((ret = put_json(txn, st->dbi[DB_ALIASES], key, klen,
                            json_pack("{s:s,s:s}", "alias", cat->aliases[i].alias, "product", cat->aliases[i].product))) != 0)
            goto Exit;
    }
    for (size_t i = 0; i != cat->num_mirrors; ++i) {
        klen = make_key(key, cat->mirrors[i].name, NULL, NULL);
        if ((ret = put_json(txn, st->dbi[DB_MIRRORS], key, klen, mirror_json(cat->mirrors + i))) != 0)
            goto Exit;
        if (cat->mirrors[i].id > maxm)
            maxm = cat->mirrors[i].id;
    }
    if ((ret = write_rules(txn, st, cat->rules, cat->num_rules)) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_health; ++i) {
        const catalog_health_t *h = cat->health + i;
        klen = make_key(key, h->mirror, h->product, h->os);
        if ((ret = put_json(txn, st->dbi[DB_HEALTH], key, klen, health_json(h))) != 0)
            goto Exit;
    }
    if ((ret = set_counter(txn, st, "next_product_id", maxp + 1)) != 0 ||
        (ret = set_counter(txn, st, "next_location_id", maxl + 1)) != 0 ||
        (ret = set_counter(txn, st, "next_mirror_id", maxm + 1)) != 0)
        goto Exit;
    ret = lmdb_err(mdb_txn_commit(txn));
    txn = NULL;
Exit:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return ret;
}

/* ---- per-entity helpers ---- */

static int begin(store_t *st, MDB_txn **txn)
{
    return lmdb_err(mdb_txn_begin(st->env, NULL, 0, txn));
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
    return lmdb_err(mdb_txn_commit(txn));
}

static int exists(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, int *ret)
{
    MDB_val k = {klen, (void *)key}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    *ret = rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
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
        return lmdb_err(rc);
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
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
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
    char p[KEY_MAX], o[KEY_MAX];
    health_filter_t f = {p, make_key(p, product, NULL, NULL), os != NULL ? o : NULL, os != NULL ? make_key(o, os, NULL, NULL) : 0};
    match_t m = {NULL, 0, health_pred, &f};
    return delete_matching(txn, st->dbi[DB_HEALTH], &m);
}

/* Reads a product record; NULL with *ret 0 when absent. */
static json_t *get_product(MDB_txn *txn, store_t *st, const char *name, int *ret)
{
    char key[KEY_MAX];
    size_t klen = make_key(key, name, NULL, NULL);
    if (klen == 0) {
        *ret = 0;
        return NULL;
    }
    return get_json(txn, st->dbi[DB_PRODUCTS], key, klen, ret);
}

int store_product_add(store_t *st, const char *name, int ssl_only, const char *const *languages, size_t num_languages,
                      uint32_t *id, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
    size_t klen;
    int ret;
    catalog_product_t p = {0, (char *)name, ssl_only, 1, (char **)languages, num_languages};
    catalog_t scratch = {.products = &p, .num_products = 1};

    if (catalog_validate(&scratch, err) != 0)
        return STORE_INVALID;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    klen = make_key(key, name, NULL, NULL);
    if (exists(txn, st->dbi[DB_PRODUCTS], key, klen, &ret) || exists(txn, st->dbi[DB_ALIASES], key, klen, &ret)) {
        ret = STORE_EXISTS;
        goto Exit;
    }
    if (ret != 0 || (ret = next_id(txn, st, "next_product_id", &p.id)) != 0)
        goto Exit;
    ret = put_json(txn, st->dbi[DB_PRODUCTS], key, klen, product_json(&p));
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
    char key[KEY_MAX], found[CATALOG_NAME_MAX + 1] = "";
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
        if ((ret = lmdb_err(mdb_cursor_open(txn, st->dbi[DB_PRODUCTS], &cur))) != 0)
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
            ret = rc == 0 || rc == MDB_NOTFOUND ? STORE_NOT_FOUND : lmdb_err(rc);
            goto Exit;
        }
    }
    if (json_string_value(json_object_get(v, "name")) == NULL) {
        ret = -EIO;
        goto Exit;
    }
    snprintf(found, sizeof(found), "%s", json_string_value(json_object_get(v, "name")));
    klen = make_key(key, found, NULL, NULL);
    MDB_val dk = {klen, key};
    if ((ret = lmdb_err(mdb_del(txn, st->dbi[DB_PRODUCTS], &dk, NULL))) != 0)
        goto Exit;

    /* its locations (keys "product\0os"), their health, and the aliases pointing to it */
    {
        char prefix[KEY_MAX + 1];
        size_t plen = make_key(prefix, found, NULL, NULL);
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
    char key[KEY_MAX];
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
    ret = put_json(txn, st->dbi[DB_PRODUCTS], key, make_key(key, name, NULL, NULL), json_incref(v));
Exit:
    json_decref(v);
    return finish(txn, ret);
}

/* Rewrites a product's language list through fn (add or delete). */
static int edit_languages(store_t *st, const char *product, const char *const *langs, size_t n, int add, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    json_t *v = NULL, *arr;
    char key[KEY_MAX];
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
    ret = put_json(txn, st->dbi[DB_PRODUCTS], key, make_key(key, json_string_value(json_object_get(v, "name")), NULL, NULL),
                   json_incref(v));
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
    char key[KEY_MAX];
    json_t *v = get_product(txn, st, product, &ret);
    if (v == NULL)
        return ret != 0 ? ret : STORE_NO_PRODUCT;
    snprintf(pname, pcap, "%s", json_string_value(json_object_get(v, "name")));
    json_decref(v);
    size_t klen = make_key(key, os, NULL, NULL);
    if (klen == 0 || !exists(txn, st->dbi[DB_OSES], key, klen, &ret))
        return ret != 0 ? ret : STORE_NO_OS;
    return 0;
}

int store_location_add(store_t *st, const char *product, const char *os, const char *path, uint32_t *id, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX], pname[CATALOG_NAME_MAX + 1], osl[KEY_MAX];
    size_t klen;
    int ret;

    if (!catalog_path_is_valid(path, strlen(path))) {
        set_err(err, "path: must be a %-encoded path of visible ASCII (no spaces, '#', quotes)");
        return STORE_INVALID;
    }
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if ((ret = location_refs(txn, st, product, os, pname, sizeof(pname))) != 0)
        goto Exit;
    klen = make_key(key, pname, os, NULL);
    if (exists(txn, st->dbi[DB_LOCATIONS], key, klen, &ret)) {
        ret = STORE_EXISTS;
        goto Exit;
    }
    make_key(osl, os, NULL, NULL);
    osl[strlen(os)] = '\0';
    catalog_location_t l = {0, pname, osl, (char *)path};
    if (ret != 0 || (ret = next_id(txn, st, "next_location_id", &l.id)) != 0)
        goto Exit;
    if ((ret = put_json(txn, st->dbi[DB_LOCATIONS], key, klen, location_json(&l))) == 0 && id != NULL)
        *id = l.id;
Exit:
    return finish(txn, ret);
}

int store_location_modify(store_t *st, const char *product, const char *os, const char *path, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX], pname[CATALOG_NAME_MAX + 1];
    size_t klen;
    json_t *v = NULL;
    int ret;

    if (!catalog_path_is_valid(path, strlen(path))) {
        set_err(err, "path: must be a %-encoded path of visible ASCII (no spaces, '#', quotes)");
        return STORE_INVALID;
    }
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    if ((ret = location_refs(txn, st, product, os, pname, sizeof(pname))) != 0)
        goto Exit;
    klen = make_key(key, pname, os, NULL);
    if ((v = get_json(txn, st->dbi[DB_LOCATIONS], key, klen, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_LOCATION;
        goto Exit;
    }
    if (json_object_set_new(v, "path", json_string(path)) != 0) {
        ret = -ENOMEM;
        goto Exit;
    }
    ret = put_json(txn, st->dbi[DB_LOCATIONS], key, klen, json_incref(v));
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
    char key[KEY_MAX];
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
    klen = make_key(key, alias, NULL, NULL);
    if (exists(txn, st->dbi[DB_PRODUCTS], key, klen, &ret)) {
        ret = STORE_IS_PRODUCT;
        goto Exit;
    }
    int had = exists(txn, st->dbi[DB_ALIASES], key, klen, &ret);
    if (ret != 0)
        goto Exit;
    if (created != NULL)
        *created = !had;
    ret = put_json(txn, st->dbi[DB_ALIASES], key, klen,
                   json_pack("{s:s,s:s}", "alias", alias, "product", json_string_value(json_object_get(p, "name"))));
Exit:
    json_decref(p);
    return finish(txn, ret);
}

int store_alias_delete(store_t *st, const char *alias)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
    int ret;
    MDB_val k = {make_key(key, alias, NULL, NULL), key};
    if (k.mv_size == 0)
        return STORE_NOT_FOUND;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    int rc = mdb_del(txn, st->dbi[DB_ALIASES], &k, NULL);
    ret = rc == MDB_NOTFOUND ? STORE_NOT_FOUND : lmdb_err(rc);
    return finish(txn, ret);
}

int store_os_add(store_t *st, const char *os)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
    int ret;
    if (!catalog_os_name_is_valid(os, strlen(os)))
        return STORE_INVALID;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    size_t klen = make_key(key, os, NULL, NULL);
    if (exists(txn, st->dbi[DB_OSES], key, klen, &ret)) {
        ret = STORE_EXISTS;
    } else if (ret == 0) {
        MDB_val k = {klen, key}, d = {0, ""};
        ret = lmdb_err(mdb_put(txn, st->dbi[DB_OSES], &k, &d, 0));
    }
    return finish(txn, ret);
}

int store_mirror_add(store_t *st, const catalog_mirror_t *m, uint32_t *id, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
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
    klen = make_key(key, n.name, NULL, NULL);
    if (exists(txn, st->dbi[DB_MIRRORS], key, klen, &ret)) {
        ret = STORE_EXISTS;
        goto Exit;
    }
    if (ret != 0 || (ret = next_id(txn, st, "next_mirror_id", &n.id)) != 0)
        goto Exit;
    if ((ret = put_json(txn, st->dbi[DB_MIRRORS], key, klen, mirror_json(&n))) == 0 && id != NULL)
        *id = n.id;
Exit:
    catalog_mirror_dispose(&n);
    return finish(txn, ret);
}

int store_mirror_patch(store_t *st, const char *name, const char *json, size_t len, catalog_error_t *err)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
    size_t klen;
    json_t *v = NULL;
    catalog_mirror_t m = {0};
    int ret;

    if ((ret = begin(st, &txn)) != 0)
        return ret;
    klen = make_key(key, name, NULL, NULL);
    if ((v = get_json(txn, st->dbi[DB_MIRRORS], key, klen, &ret)) == NULL) {
        ret = ret != 0 ? ret : STORE_NO_MIRROR;
        goto Exit;
    }
    if ((ret = mirror_from_json(v, &m)) != 0)
        goto Exit;
    if ((ret = catalog_mirror_patch(&m, json, len, err)) != 0) {
        ret = ret == -EINVAL ? STORE_INVALID : ret;
        goto Exit;
    }
    ret = put_json(txn, st->dbi[DB_MIRRORS], key, klen, mirror_json(&m));
Exit:
    catalog_mirror_dispose(&m);
    json_decref(v);
    return finish(txn, ret);
}


int store_mirror_delete(store_t *st, const char *name)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX + 1];
    int ret;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    size_t klen = make_key(key, name, NULL, NULL);
    MDB_val k = {klen, key};
    int rc = mdb_del(txn, st->dbi[DB_MIRRORS], &k, NULL);
    if (rc == MDB_NOTFOUND) {
        ret = STORE_NO_MIRROR;
        goto Exit;
    }
    if ((ret = lmdb_err(rc)) != 0)
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
    ret = finish(txn, write_rules(txn, st, scratch.rules, scratch.num_rules));
    txn = NULL;
Exit:
    catalog_rules_free(scratch.rules, scratch.num_rules);
    return ret;
}

int store_health_put(store_t *st, const catalog_health_t *records, size_t n)
{
    MDB_txn *txn = NULL;
    char key[KEY_MAX];
    int ret;
    if ((ret = begin(st, &txn)) != 0)
        return ret;
    for (size_t i = 0; i != n && ret == 0; ++i) {
        const catalog_health_t *h = records + i;
        size_t klen = make_key(key, h->mirror, NULL, NULL);
        if (klen == 0 || !exists(txn, st->dbi[DB_MIRRORS], key, klen, &ret)) {
            ret = ret != 0 ? ret : STORE_NO_MIRROR;
            break;
        }
        klen = make_key(key, h->product, h->os, NULL);
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
        klen = make_key(key, h->mirror, h->product, h->os);
        ret = put_json(txn, st->dbi[DB_HEALTH], key, klen, health_json(&c));
    }
    return finish(txn, ret);
}
