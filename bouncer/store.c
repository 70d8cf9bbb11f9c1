// SPDX-License-Identifier: MIT
/*
 * store: LMDB persistence of the catalog (see store.h): the environment, and the operations on the
 * whole catalog, store_load() (one read transaction) and store_replace() (one write transaction).
 *
 * The store is three files around store_internal.h: this one, store_record.c (how records are keyed
 * and encoded; an import and an admin change go through the same encoders, so they store the same
 * form) and store_edit.c (the per-entity writes). MDB_* codes stop at these files: they are
 * translated to -errno by store__lmdb_err().
 * Admin and health-checker threads.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <jansson.h>
#include <lmdb.h>
#include "bouncer/store_internal.h"

static const char *const db_names[DB_COUNT] = {"meta", "products", "oses", "locations", "aliases", "mirrors", "rules", "health"};

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
    if ((ret = store__lmdb_err(mdb_env_create(&st->env))) != 0)
        goto Exit;
    if ((ret = store__lmdb_err(mdb_env_set_maxdbs(st->env, DB_COUNT))) != 0 ||
        (ret = store__lmdb_err(mdb_env_set_mapsize(st->env, map_size != 0 ? map_size : (size_t)1 << 30))) != 0 ||
        (ret = store__lmdb_err(mdb_env_open(st->env, path, MDB_NOTLS, 0640))) != 0)
        goto Exit;
    if ((ret = store__lmdb_err(mdb_txn_begin(st->env, NULL, 0, &txn))) != 0)
        goto Exit;
    for (int i = 0; i != DB_COUNT; ++i)
        if ((ret = store__lmdb_err(mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbi[i]))) != 0)
            goto Exit;
    /* a fresh store starts with the standard OS names */
    MDB_val k = {11, "initialized"}, d;
    if (mdb_get(txn, st->dbi[DB_META], &k, &d) == MDB_NOTFOUND) {
        for (size_t i = 0; i != catalog_num_standard_oses; ++i) {
            MDB_val ok = {strlen(catalog_standard_oses[i]), (void *)catalog_standard_oses[i]}, od = {0, ""};
            if ((ret = store__lmdb_err(mdb_put(txn, st->dbi[DB_OSES], &ok, &od, 0))) != 0)
                goto Exit;
        }
        d.mv_size = 1;
        d.mv_data = "1";
        if ((ret = store__lmdb_err(mdb_put(txn, st->dbi[DB_META], &k, &d, 0))) != 0)
            goto Exit;
    }
    ret = store__lmdb_err(mdb_txn_commit(txn));
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

/*
 * Takes the map's pages out of this process's resident set. The catalog is read whole only to build
 * a snapshot (tens of MB with 50,000 products) and then not until the next change, so keeping those
 * pages mapped would only count them in edge's RSS. They stay in the page cache; the next read of
 * the map, by any thread, faults them back in (the mapping is a read-only view of the file, so
 * nothing can be lost).
 */
static void drop_resident_pages(store_t *st)
{
    /* LMDB does not tell where it mapped the file (me_mapaddr is only set with MDB_FIXEDMAP): find
     * the file's mappings in /proc/self/maps by device and inode */
    mdb_filehandle_t fd;
    struct stat sb;
    FILE *maps;
    char line[512];

    if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0 || (maps = fopen("/proc/self/maps", "re")) == NULL)
        return;
    while (fgets(line, sizeof(line), maps) != NULL) {
        unsigned long start, end, inode;
        unsigned dev_major, dev_minor;
        if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &start, &end, &dev_major, &dev_minor, &inode) == 5 &&
            inode == (unsigned long)sb.st_ino && makedev(dev_major, dev_minor) == sb.st_dev)
            madvise((void *)start, end - start, MADV_DONTNEED);
    }
    fclose(maps);
}

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
    if ((ret = store__lmdb_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))) != 0)
        goto Exit;
    for (int db = DB_PRODUCTS; db != DB_COUNT; ++db) {
        if ((ret = store__lmdb_err(mdb_cursor_open(txn, st->dbi[db], &cur))) != 0)
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
                if ((ret = store__product_from_json(v, &p)) == 0)
                    ret = catalog_add_product(cat, &p);
                store__free_strs(p.languages, p.num_languages);
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
                if ((ret = store__mirror_from_json(v, &m)) == 0)
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
            ret = store__lmdb_err(rc);
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
    drop_resident_pages(st);
    return ret;
}

/* ---- replace ---- */

int store_replace(store_t *st, catalog_t *cat, catalog_error_t *err)
{
    int ret;
    MDB_txn *txn = NULL;
    char key[STORE__KEY_MAX];
    size_t klen;
    uint32_t maxp = 0, maxl = 0, maxm = 0;

    if (catalog_validate(cat, err) != 0)
        return STORE_INVALID;
    if ((ret = store__lmdb_err(mdb_txn_begin(st->env, NULL, 0, &txn))) != 0)
        goto Exit;
    for (int db = DB_PRODUCTS; db != DB_COUNT; ++db)
        if ((ret = store__lmdb_err(mdb_drop(txn, st->dbi[db], 0))) != 0)
            goto Exit;
    for (size_t i = 0; i != cat->num_products; ++i) {
        klen = store__make_key(key, cat->products[i].name, NULL, NULL);
        if ((ret = store__put_json(txn, st->dbi[DB_PRODUCTS], key, klen, store__product_json(cat->products + i))) != 0)
            goto Exit;
        if (cat->products[i].id > maxp)
            maxp = cat->products[i].id;
    }
    for (size_t i = 0; i != cat->num_oses; ++i) {
        MDB_val k = {strlen(cat->oses[i]), cat->oses[i]}, d = {0, ""};
        if ((ret = store__lmdb_err(mdb_put(txn, st->dbi[DB_OSES], &k, &d, 0))) != 0)
            goto Exit;
    }
    for (size_t i = 0; i != cat->num_locations; ++i) {
        klen = store__make_key(key, cat->locations[i].product, cat->locations[i].os, NULL);
        if ((ret = store__put_json(txn, st->dbi[DB_LOCATIONS], key, klen, store__location_json(cat->locations + i))) != 0)
            goto Exit;
        if (cat->locations[i].id > maxl)
            maxl = cat->locations[i].id;
    }
    for (size_t i = 0; i != cat->num_aliases; ++i) {
        klen = store__make_key(key, cat->aliases[i].alias, NULL, NULL);
        if ((ret = store__put_json(txn, st->dbi[DB_ALIASES], key, klen,
                                   json_pack("{s:s,s:s}", "alias", cat->aliases[i].alias, "product",
                                             cat->aliases[i].product))) != 0)
            goto Exit;
    }
    for (size_t i = 0; i != cat->num_mirrors; ++i) {
        klen = store__make_key(key, cat->mirrors[i].name, NULL, NULL);
        if ((ret = store__put_json(txn, st->dbi[DB_MIRRORS], key, klen, store__mirror_json(cat->mirrors + i))) != 0)
            goto Exit;
        if (cat->mirrors[i].id > maxm)
            maxm = cat->mirrors[i].id;
    }
    if ((ret = store__write_rules(txn, st, cat->rules, cat->num_rules)) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_health; ++i) {
        const catalog_health_t *h = cat->health + i;
        klen = store__make_key(key, h->mirror, h->product, h->os);
        if ((ret = store__put_json(txn, st->dbi[DB_HEALTH], key, klen, store__health_json(h))) != 0)
            goto Exit;
    }
    if ((ret = store__set_counter(txn, st, "next_product_id", maxp + 1)) != 0 ||
        (ret = store__set_counter(txn, st, "next_location_id", maxl + 1)) != 0 ||
        (ret = store__set_counter(txn, st, "next_mirror_id", maxm + 1)) != 0)
        goto Exit;
    ret = store__lmdb_err(mdb_txn_commit(txn));
    txn = NULL;
Exit:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return ret;
}
