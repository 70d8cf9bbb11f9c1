// SPDX-License-Identifier: MIT
/*
 * store: the catalog's source of truth, an LMDB environment at <data_dir>/catalog.
 *
 * One named database per entity (products, oses, locations, aliases, mirrors, rules, health,
 * meta); records are small JSON objects keyed by lower-cased names, so a record can be read
 * with mdb_dump when something goes wrong. Every public write is exactly one write
 * transaction: either all of it is durable or none of it is. A fresh store starts with the
 * standard OS names. store_load() reads everything in one read transaction (a consistent view)
 * and returns a validated catalog_t, from which the caller builds a snapshot.
 *
 * Thread-safety: any thread may call any function; LMDB serialises write transactions and the
 * environment is opened with MDB_NOTLS.
 */
#ifndef edge__bouncer_store_h
#define edge__bouncer_store_h

#include <stddef.h>
#include <stdint.h>
#include "bouncer/catalog.h"

typedef struct st_store_t store_t;

/**
 * Domain outcomes of store writes (positive); functions return these, 0, or -errno for system
 * failures (-ENOMEM, -EIO, -ENOSPC when the map is full).
 */
typedef enum en_store_status_t {
    STORE_OK = 0,
    STORE_EXISTS,      /* product, location, mirror, alias target clash (tuxedo 104) */
    STORE_NOT_FOUND,   /* the record to change or delete does not exist (tuxedo 102) */
    STORE_NO_PRODUCT,  /* the named product does not exist (tuxedo 105 / 103 for aliases) */
    STORE_NO_OS,       /* the named os does not exist (tuxedo 106) */
    STORE_NO_LOCATION, /* no location for product x os (tuxedo 104 for location_modify) */
    STORE_NO_MIRROR,   /* the named mirror does not exist */
    STORE_INVALID,     /* invalid value; the err argument says which and why (tuxedo 103) */
    STORE_IS_PRODUCT,  /* an alias may not carry a product's name (tuxedo 104) */
} store_status_t;

/**
 * Opens (creating if needed) <data_dir>/catalog.
 * @param map_size LMDB map size in bytes (0: 1 GiB)
 * @param[out] out the store; close with store_close().
 * @return 0 or -errno.
 */
int store_open(const char *data_dir, size_t map_size, store_t **out);

/** Closes the store. NULL is a no-op. */
void store_close(store_t *st);

/**
 * The id of the last committed write transaction of the environment, by any process: it changes
 * whenever the catalog may have changed (e.g. `edge catalog import` from the command line).
 * @return the id, or 0 on error. Any thread; no transaction is opened.
 */
uint64_t store_last_change(store_t *st);

/** "ok", "exists", ... or strerror-like text for negative codes. */
const char *store_strerror(int code);

/**
 * Reads the whole catalog (including health) in one read transaction.
 * @param[out] out a validated catalog the caller owns (catalog_destroy()).
 * @return 0, -ENOMEM, -EIO, -EINVAL when the stored data does not validate.
 */
int store_load(store_t *st, catalog_t **out);

/**
 * Replaces the whole catalog in one transaction (JSON import). Validates first; health records
 * of cat are kept only if cat has any (an import normally has none: checks start afresh).
 * @param cat validated and normalised in place (ids assigned).
 * @return 0, STORE_INVALID (err says why), -errno.
 */
int store_replace(store_t *st, catalog_t *cat, catalog_error_t *err);

/* ---- per-entity writes (one transaction each) ---- */

/** Adds a product. @param[out] id may be NULL. @return 0, STORE_EXISTS, STORE_INVALID, -errno. */
int store_product_add(store_t *st, const char *name, int ssl_only, const char *const *languages, size_t num_languages,
                      uint32_t *id, catalog_error_t *err);

/**
 * Deletes a product by name (or, when name is NULL, by id) with its locations, their health
 * records and the aliases pointing to it.
 * @param[out] deleted_name malloc'd name of the deleted product (may be NULL), the caller frees it.
 * @return 0, STORE_NOT_FOUND, -errno.
 */
int store_product_delete(store_t *st, const char *name, uint32_t id, char **deleted_name);

/**
 * Changes a product's flags in one transaction.
 * @param ssl_only 0 or 1 to set, -1 to keep
 * @param active 0 or 1 to set, -1 to keep
 * @return 0, STORE_NO_PRODUCT, -errno.
 */
int store_product_patch(store_t *st, const char *name, int ssl_only, int active);

/** Adds languages (already present ones are skipped). @return 0, STORE_NO_PRODUCT, STORE_INVALID, -errno. */
int store_product_language_add(store_t *st, const char *product, const char *const *languages, size_t n, catalog_error_t *err);

/** Removes languages; "*" removes all; absent ones are ignored. @return 0, STORE_NO_PRODUCT, -errno. */
int store_product_language_delete(store_t *st, const char *product, const char *const *languages, size_t n);

/** Adds a location. @return 0, STORE_NO_PRODUCT, STORE_NO_OS, STORE_EXISTS, STORE_INVALID, -errno. */
int store_location_add(store_t *st, const char *product, const char *os, const char *path, uint32_t *id, catalog_error_t *err);

/** Changes a location's path. @return 0, STORE_NO_PRODUCT, STORE_NO_OS, STORE_NO_LOCATION, STORE_INVALID, -errno. */
int store_location_modify(store_t *st, const char *product, const char *os, const char *path, catalog_error_t *err);

/**
 * Deletes a location (and its health records) by id.
 * @param[out] deleted_path malloc'd path (may be NULL), the caller frees it.
 * @return 0, STORE_NOT_FOUND, -errno.
 */
int store_location_delete(store_t *st, uint32_t id, char **deleted_path);

/**
 * Creates or re-points an alias.
 * @param[out] created 1 when created, 0 when updated (may be NULL).
 * @return 0, STORE_NO_PRODUCT, STORE_IS_PRODUCT, STORE_INVALID, -errno.
 */
int store_alias_set(store_t *st, const char *alias, const char *product, int *created);

/** @return 0, STORE_NOT_FOUND, -errno. */
int store_alias_delete(store_t *st, const char *alias);

/** Adds an OS name. @return 0, STORE_EXISTS, STORE_INVALID, -errno. */
int store_os_add(store_t *st, const char *os);

/** Adds a mirror (id 0: assigned). @return 0, STORE_EXISTS, STORE_INVALID, -errno. */
int store_mirror_add(store_t *st, const catalog_mirror_t *m, uint32_t *id, catalog_error_t *err);

/** Applies a JSON patch (see catalog_mirror_patch()). @return 0, STORE_NO_MIRROR, STORE_INVALID, -errno. */
int store_mirror_patch(store_t *st, const char *name, const char *json, size_t len, catalog_error_t *err);

/** Deletes a mirror and its health records. @return 0, STORE_NO_MIRROR, -errno. */
int store_mirror_delete(store_t *st, const char *name);

/** Replaces the rules. @return 0, STORE_INVALID, -errno. */
int store_rules_set(store_t *st, const catalog_rule_t *rules, size_t num_rules, catalog_error_t *err);

/**
 * Writes health records (insert or replace per mirror x location), all in one transaction.
 * @return 0, STORE_NO_MIRROR, STORE_NO_LOCATION (nothing written), -errno.
 */
int store_health_put(store_t *st, const catalog_health_t *records, size_t n);

#endif
