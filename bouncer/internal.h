// SPDX-License-Identifier: MIT
/*
 * internal.h: declarations shared between the bouncer domain files and nowhere else.
 *
 * The snapshot layout lives here (not in snapshot.h) because choose.c and resolve.c index it
 * directly on the redirect path, while callers outside the module only see the opaque
 * snapshot_t. Everything in a snapshot is immutable once built: any thread may read it without
 * locks for as long as it holds it (see snapshot_acquire()).
 */
#ifndef edge__bouncer_internal_h
#define edge__bouncer_internal_h

#include <stddef.h>
#include <stdint.h>
#include <strings.h>
#include "bouncer/catalog.h"
#include "bouncer/resolve.h"
#include "bouncer/snapshot.h"

/* A candidate entry: mirror index in the low 15 bits, the "unhealthy" flag in the top bit. */
#define SNAPSHOT_CAND_UNHEALTHY 0x8000u
#define SNAPSHOT_CAND_INDEX(c) ((uint32_t)((c) & 0x7fffu))

/* Continent bits (mirror and client). */
#define SNAPSHOT_CONT_AF 0x01u
#define SNAPSHOT_CONT_AN 0x02u
#define SNAPSHOT_CONT_AS 0x04u
#define SNAPSHOT_CONT_EU 0x08u
#define SNAPSHOT_CONT_NA 0x10u
#define SNAPSHOT_CONT_OC 0x20u
#define SNAPSHOT_CONT_SA 0x40u

typedef struct st_snapshot_str_t {
    const char *ptr; /* NUL-terminated, inside the snapshot's string arena */
    uint32_t len;
} snapshot_str_t;

typedef struct st_snapshot_product_t {
    snapshot_str_t name;
    uint8_t ssl_only;
    uint8_t active;
    uint16_t num_languages;
    uint32_t languages;     /* first index into snapshot->product_langs (uint16 language ids) */
    uint32_t locations;     /* first index into snapshot->locations (sorted by product) */
    uint16_t num_locations;
} snapshot_product_t;

typedef struct st_snapshot_location_t {
    snapshot_str_t path;
    uint32_t product;    /* product index */
    uint16_t os;         /* os index */
    uint16_t num_https;  /* candidates with https:// base URLs */
    uint16_t num_http;   /* candidates with http:// base URLs */
    uint32_t https;      /* first index into snapshot->cands */
    uint32_t http;       /* first index into snapshot->cands */
} snapshot_location_t;

typedef struct st_snapshot_mirror_t {
    snapshot_str_t name;
    snapshot_str_t base_url;
    uint32_t weight;
    uint8_t https;
    uint8_t enabled;
    uint8_t continents; /* SNAPSHOT_CONT_* bits */
    uint8_t num_countries;
    uint16_t *countries; /* packed ('D' << 8 | 'E'), inside the snapshot */
} snapshot_mirror_t;

/* What mirror_choose() reads of every candidate, packed: 100 mirrors fit in 13 cache lines
 * (their snapshot_mirror_t records take 75). */
typedef struct st_snapshot_mirror_geo_t {
    uint32_t weight;
    uint8_t continents;    /* SNAPSHOT_CONT_* bits */
    uint8_t num_countries; /* the countries are in the snapshot_mirror_t */
} snapshot_mirror_geo_t;

/* A rule with its lists flattened into the snapshot. */
typedef struct st_snapshot_strs_t {
    const snapshot_str_t *items;
    uint32_t count;
} snapshot_strs_t;

typedef struct st_snapshot_rule_t {
    snapshot_str_t name;
    snapshot_str_t ua_equals; /* ptr NULL: any */
    snapshot_strs_t ua_contains, ua_contains_also, ua_not_contains;
    snapshot_strs_t product_equals, product_prefix, product_contains, product_excludes;
    snapshot_strs_t os, referer_prefix, referer_not_prefix;
    snapshot_str_t set_product; /* ptr NULL: unchanged; stored lower case */
    snapshot_str_t set_os;      /* ptr NULL: unchanged; stored lower case */
    int final;
} snapshot_rule_t;

/* Open-addressing hash table. A slot is (key hash << 32 | index), all ones when empty: a probe
 * compares hashes before it touches a key, so a miss (most alias lookups) reads no string. */
typedef struct st_snapshot_hash_t {
    uint64_t *slots;
    uint32_t mask;
} snapshot_hash_t;

typedef struct st_snapshot_alias_t {
    snapshot_str_t alias;
    uint32_t product; /* product index */
} snapshot_alias_t;

struct st_snapshot_t {
    uint64_t version;
    uint64_t serial; /* unique in the process (a build counter), so a memory keyed on it cannot outlive the snapshot */
    int64_t built_at_usec; /* CLOCK_REALTIME */
    uint64_t build_usec;   /* how long the build took */

    snapshot_product_t *products;
    uint32_t num_products;
    snapshot_hash_t product_index;

    snapshot_str_t *oses;
    uint32_t num_oses;
    snapshot_hash_t os_index;

    snapshot_str_t *langs; /* distinct language tags */
    uint32_t num_langs;
    uint16_t *product_langs;

    snapshot_location_t *locations;
    uint32_t num_locations;

    snapshot_alias_t *aliases;
    uint32_t num_aliases;
    snapshot_hash_t alias_index;

    snapshot_mirror_t *mirrors;
    snapshot_mirror_geo_t *mirror_geo; /* parallel to mirrors */
    uint32_t num_mirrors;

    snapshot_rule_t *rules;
    uint32_t num_rules;

    uint16_t *cands; /* candidate lists, shared between locations with identical sets */
    uint32_t num_cands;

    /* one allocation arena for strings and small arrays */
    struct st_snapshot_chunk_t *_chunks;

    /* reclamation (snapshot_publish.c) */
    struct st_snapshot_t *_next_retired;
};

/** Case-insensitive (ASCII) hash of a byte string. */
static inline uint32_t bouncer__hash_ci(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

static inline int bouncer__eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i != alen; ++i) { /* ASCII only, and inline: libc's is locale-aware and a call */
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned char)((x | 0x20) - 'a') > 'z' - 'a'))
            return 0;
    }
    return 1;
}

/**
 * Looks a name up in one of the snapshot's hash tables.
 * @return the index or UINT32_MAX.
 */
uint32_t snapshot__find_product(const snapshot_t *snap, const char *name, size_t len);
uint32_t snapshot__find_os(const snapshot_t *snap, const char *name, size_t len);
uint32_t snapshot__find_alias(const snapshot_t *snap, const char *name, size_t len);
/**
 * Finds a product by alias first, then by name (the order of go-bouncer), hashing the name once.
 * @param[out] alias the alias index, UINT32_MAX when the name is not an alias
 * @return the product index or UINT32_MAX.
 */
uint32_t snapshot__find_alias_or_product(const snapshot_t *snap, const char *name, size_t len, uint32_t *alias);

/** Packs a country code ("de" / "DE") as ('D' << 8 | 'E'); 0 when not two letters. */
uint16_t bouncer__country_pack(const char *s, size_t len);
/** Continent code to SNAPSHOT_CONT_* bit; 0 when unknown. */
uint8_t bouncer__continent_bit(const char *s, size_t len);

/** Formats an error message into err (NULL is allowed); shared by catalog.c, catalog_validate.c and catalog_json.c. */
void catalog__set_error(catalog_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * resolve.c's two halves. resolve__prepare runs every step that does not depend on the client's
 * place or the random draw (query, rules, stub hand-off, lookups); resolve__finish chooses the
 * mirror and writes the URL. A plan holds views into the snapshot and the config only (the
 * language is copied), so resolve_memo.c may keep it for as long as both stay the same.
 */
typedef struct st_resolve_plan_t {
    resolve_output_t out; /* the answer, but for the mirror and the URL of a redirect or print */
    uint32_t location;    /* REDIRECT/PRINT: the location to choose a mirror for */
    size_t lang_len;
    char lang[CATALOG_LANG_MAX + 1]; /* last: prepare clears the fields before it */
} resolve_plan_t;

/* Fills plan (a stub hand-off URL goes into buf); 0 or -ENOSPC. Needs snap and in->config. */
int resolve__prepare(const snapshot_t *snap, const resolve_input_t *in, resolve_plan_t *plan, char *buf, size_t bufsize);
/* The answer for a plan (the mirror through choose, a memo when not NULL); 0 or -ENOSPC. */
int resolve__finish(const snapshot_t *snap, const resolve_input_t *in, const resolve_plan_t *plan, choose_memo_t *choose,
                    resolve_output_t *out, char *buf, size_t bufsize);

#endif
