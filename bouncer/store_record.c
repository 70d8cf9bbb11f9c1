// SPDX-License-Identifier: MIT
/*
 * store_record: how the catalog is laid out in LMDB (see store.h): the keys, the JSON value of each
 * kind of record, the rules record and the id counters of the meta database.
 *
 * Keys are lower-cased names (locations: "product\0os"; health: "mirror\0product\0os"), values
 * are compact JSON objects. The whole-catalog operations (store.c) and the per-entity writes
 * (store_edit.c) both encode and decode through here, so a record has one form whichever path
 * wrote it. Everything runs inside the caller's transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <lmdb.h>
#include "bouncer/store_internal.h"

/* Lower-cased key parts joined by NUL. Returns the key length or 0 when too long. */
size_t store__make_key(char *buf, const char *a, const char *b, const char *c)
{
    const char *parts[3] = {a, b, c};
    size_t len = 0;
    for (int i = 0; i != 3 && parts[i] != NULL; ++i) {
        size_t n = strlen(parts[i]);
        if (len + n + 1 > STORE__KEY_MAX)
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

int store__put_json(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, json_t *v)
{
    char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (s == NULL)
        return -ENOMEM;
    MDB_val k = {klen, (void *)key}, d = {strlen(s), s};
    int rc = mdb_put(txn, dbi, &k, &d, 0);
    free(s);
    return store__lmdb_err(rc);
}

json_t *store__get_json(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, int *ret)
{
    MDB_val k = {klen, (void *)key}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    *ret = 0;
    if (rc == MDB_NOTFOUND)
        return NULL;
    if (rc != 0) {
        *ret = store__lmdb_err(rc);
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

json_t *store__product_json(const catalog_product_t *p)
{
    return json_pack("{s:I,s:s,s:b,s:b,s:o}", "id", (json_int_t)p->id, "name", p->name, "ssl_only", p->ssl_only, "active",
                     p->active, "languages", strs_json(p->languages, p->num_languages));
}

json_t *store__location_json(const catalog_location_t *l)
{
    return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)l->id, "product", l->product, "os", l->os, "path", l->path);
}

json_t *store__mirror_json(const catalog_mirror_t *m)
{
    json_t *c = json_array(), *k = json_array();
    for (size_t i = 0; c != NULL && i != m->num_countries; ++i)
        json_array_append_new(c, json_string(m->countries[i]));
    for (size_t i = 0; k != NULL && i != m->num_continents; ++i)
        json_array_append_new(k, json_string(m->continents[i]));
    return json_pack("{s:I,s:s,s:s,s:I,s:b,s:o,s:o}", "id", (json_int_t)m->id, "name", m->name, "base_url", m->base_url, "weight",
                     (json_int_t)m->weight, "enabled", m->enabled, "countries", c, "continents", k);
}

json_t *store__health_json(const catalog_health_t *h)
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

void store__free_strs(char **items, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(items[i]);
    free(items);
}

int store__product_from_json(json_t *v, catalog_product_t *p)
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

int store__mirror_from_json(json_t *v, catalog_mirror_t *m)
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
    store__free_strs(c, nc);
    store__free_strs(k, nk);
    return ret;
}

/* ---- meta: id counters ---- */

int store__next_id(MDB_txn *txn, store_t *st, const char *counter, uint32_t *id)
{
    MDB_val k = {strlen(counter), (void *)counter}, d;
    uint32_t v = 1;
    int rc = mdb_get(txn, st->dbi[DB_META], &k, &d);
    if (rc == 0 && d.mv_size == sizeof(v))
        memcpy(&v, d.mv_data, sizeof(v));
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return store__lmdb_err(rc);
    *id = v++;
    d.mv_size = sizeof(v);
    d.mv_data = &v;
    return store__lmdb_err(mdb_put(txn, st->dbi[DB_META], &k, &d, 0));
}

int store__set_counter(MDB_txn *txn, store_t *st, const char *counter, uint32_t v)
{
    MDB_val k = {strlen(counter), (void *)counter}, d = {sizeof(v), &v};
    return store__lmdb_err(mdb_put(txn, st->dbi[DB_META], &k, &d, 0));
}

/* ---- the rules record ---- */

int store__write_rules(MDB_txn *txn, store_t *st, const catalog_rule_t *rules, size_t n)
{
    char *s = NULL;
    int ret = catalog_rules_to_json(rules, n, &s);
    if (ret == 0) {
        MDB_val k = {5, "rules"}, d = {strlen(s), s};
        ret = store__lmdb_err(mdb_put(txn, st->dbi[DB_RULES], &k, &d, 0));
    }
    free(s);
    return ret;
}
