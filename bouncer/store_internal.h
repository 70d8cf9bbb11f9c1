// SPDX-License-Identifier: MIT
/*
 * store_internal.h: what the store's files share, and nowhere else: store.c (the environment and
 * the whole-catalog operations), store_record.c (keys and record encoding) and store_edit.c (the
 * per-entity writes). Callers outside the store only see store.h and the opaque store_t.
 *
 * The functions that take a transaction work inside the caller's: they never commit or abort it,
 * so every public write stays exactly one transaction.
 */
#ifndef edge__bouncer_store_internal_h
#define edge__bouncer_store_internal_h

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <lmdb.h>
#include "bouncer/store.h"

/* One named database per entity; db_names in store.c spells them in this order. */
enum { DB_META, DB_PRODUCTS, DB_OSES, DB_LOCATIONS, DB_ALIASES, DB_MIRRORS, DB_RULES, DB_HEALTH, DB_COUNT };

struct st_store_t {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
};

/* Size of a key buffer; store__make_key() refuses longer keys. */
#define STORE__KEY_MAX 700

/** LMDB or system code to 0 / -errno: MDB_* codes never leave the store. */
static inline int store__lmdb_err(int rc)
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

/* store_record.c */

/** Lower-cased a, b, c (parts after the first NULL are left out) joined by NUL. @return the length, 0 when too long. */
size_t store__make_key(char *buf, const char *a, const char *b, const char *c);

/** Stores v as compact JSON; v is consumed (NULL: -ENOMEM). @return 0 or -errno. */
int store__put_json(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, json_t *v);

/** Parses the record under key. @return a new reference, or NULL with *ret 0 (absent) or -errno. */
json_t *store__get_json(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, int *ret);

/* The stored form of each record: a new reference, NULL when out of memory. */
json_t *store__product_json(const catalog_product_t *p);
json_t *store__location_json(const catalog_location_t *l);
json_t *store__mirror_json(const catalog_mirror_t *m);
json_t *store__health_json(const catalog_health_t *h);

/**
 * Decodes a product record. The strings point into v, except languages, which the caller frees
 * with store__free_strs() whatever the result. @return 0, -EIO, -ENOMEM.
 */
int store__product_from_json(json_t *v, catalog_product_t *p);

/**
 * Decodes a mirror record into a copy the caller disposes of (catalog_mirror_dispose()) whatever
 * the result. @return 0, -EIO, -ENOMEM.
 */
int store__mirror_from_json(json_t *v, catalog_mirror_t *m);

void store__free_strs(char **items, size_t n);

/** Takes the next id of a counter of the meta database (a new counter starts at 1). @return 0 or -errno. */
int store__next_id(MDB_txn *txn, store_t *st, const char *counter, uint32_t *id);

/** Sets a counter so that the next id it gives is v. @return 0 or -errno. */
int store__set_counter(MDB_txn *txn, store_t *st, const char *counter, uint32_t v);

/** Stores the rules as the one record of the rules database. @return 0 or -errno. */
int store__write_rules(MDB_txn *txn, store_t *st, const catalog_rule_t *rules, size_t n);

#endif
