// SPDX-License-Identifier: MIT
/*
 * catalog: the bouncer's data model (products, OS names, locations, aliases, mirrors, rewrite
 * rules, per-mirror/per-location health) as plain heap structs, plus its JSON form.
 *
 * A catalog_t is a mutable value owned by one thread at a time: the admin API and the store build
 * and edit it, the snapshot builder reads it. The redirect path never sees it; it reads the
 * immutable snapshot built from it (snapshot.h).
 *
 * catalog_from_json() parses and validates a whole document (format: docs/catalog-format.md) and
 * reports the first problem with a JSON path, e.g. `mirrors[3].base_url: must start with http://
 * or https://`. catalog_validate() runs the same checks on a catalog built in memory, so every
 * way into the store is validated the same way. Names are compared case-insensitively
 * (products, aliases, mirrors) or stored lower-cased (OS names).
 */
#ifndef edge__bouncer_catalog_h
#define edge__bouncer_catalog_h

#include <stddef.h>
#include <stdint.h>

/** Limits enforced by validation (and relied upon by the snapshot and the resolver). */
#define CATALOG_NAME_MAX 255      /* product, alias, mirror names */
#define CATALOG_OS_MAX 64         /* OS names */
#define CATALOG_LANG_MAX 20       /* language tags */
#define CATALOG_PATH_MAX 2048     /* location paths */
#define CATALOG_URL_MAX 1024      /* mirror base URLs */
#define CATALOG_MIRRORS_MAX 32767 /* the snapshot indexes mirrors with 15 bits */

typedef enum en_catalog_health_state_t {
    CATALOG_HEALTH_HEALTHY = 0, /* present and answering correctly */
    CATALOG_HEALTH_UNHEALTHY,   /* present but failing (5xx, timeout, HTML page) */
    CATALOG_HEALTH_ABSENT,      /* the mirror does not carry the file (404/403) */
} catalog_health_state_t;

typedef struct st_catalog_product_t {
    uint32_t id;      /* stable numeric id (tuxedo API product_id); 0 = assign one */
    char *name;       /* as entered; unique case-insensitively */
    int ssl_only;     /* served from https:// mirrors only */
    int active;       /* inactive products answer 404 */
    char **languages; /* empty: any language is accepted */
    size_t num_languages;
} catalog_product_t;

typedef struct st_catalog_location_t {
    uint32_t id;   /* stable numeric id (tuxedo API location_id); 0 = assign one */
    char *product; /* product name (must exist) */
    char *os;      /* OS name (must exist) */
    char *path;    /* already %-encoded, may contain `:lang` */
} catalog_location_t;

typedef struct st_catalog_alias_t {
    char *alias;   /* unique, never equal to a product name (case-insensitively) */
    char *product; /* target product name (one level) */
} catalog_alias_t;

typedef struct st_catalog_mirror_t {
    uint32_t id;
    char *name;     /* unique case-insensitively */
    char *base_url; /* http:// or https://; the scheme decides what it may serve */
    uint32_t weight;
    int enabled;
    char (*countries)[3];  /* ISO 3166 alpha-2, upper case; empty with continents empty: serves everyone */
    size_t num_countries;
    char (*continents)[3]; /* AF AN AS EU NA OC SA */
    size_t num_continents;
} catalog_mirror_t;

/** A list of strings (rule conditions). */
typedef struct st_catalog_strlist_t {
    char **items;
    size_t count;
} catalog_strlist_t;

/**
 * A user-agent/referer rewrite rule, evaluated in order before alias resolution. Every condition
 * that is present must hold; list conditions are "any of" (or "none of" for the *_not/excludes
 * ones). Matching is by exact string, substring or prefix, never by regular expression, so that
 * evaluation is linear, allocation-free and cannot be steered into catastrophic backtracking.
 * Product comparisons are case-insensitive (the requested product is lower-cased), UA and referer
 * comparisons are case-sensitive. A matching rule rewrites product and/or os; evaluation goes on
 * with the next rule (seeing the rewritten values) unless the rule is final.
 */
typedef struct st_catalog_rule_t {
    char *name;
    char *ua_equals;                     /* NULL: any */
    catalog_strlist_t ua_contains;       /* any of */
    catalog_strlist_t ua_contains_also;  /* any of, in addition to ua_contains */
    catalog_strlist_t ua_not_contains;   /* none of */
    catalog_strlist_t product_equals;    /* any of */
    catalog_strlist_t product_prefix;    /* any of */
    catalog_strlist_t product_contains;  /* any of */
    catalog_strlist_t product_excludes;  /* none of (substrings) */
    catalog_strlist_t os;                /* any of */
    catalog_strlist_t referer_prefix;    /* any of */
    catalog_strlist_t referer_not_prefix;/* none of (an absent referer matches none) */
    char *set_product;                   /* NULL: unchanged */
    char *set_os;                        /* NULL: unchanged */
    int final;
} catalog_rule_t;

typedef struct st_catalog_health_t {
    char *mirror;  /* mirror name */
    char *product; /* location's product */
    char *os;      /* location's os */
    catalog_health_state_t state;
    int64_t checked_at; /* unix seconds of the last check */
    char *reason;       /* short human text, may be NULL */
} catalog_health_t;

typedef struct st_catalog_t {
    catalog_product_t *products;
    size_t num_products;
    char **oses;
    size_t num_oses;
    catalog_location_t *locations;
    size_t num_locations;
    catalog_alias_t *aliases;
    size_t num_aliases;
    catalog_mirror_t *mirrors;
    size_t num_mirrors;
    catalog_rule_t *rules;
    size_t num_rules;
    catalog_health_t *health;
    size_t num_health;
    /* capacities (internal) */
    size_t _cap_products, _cap_oses, _cap_locations, _cap_aliases, _cap_mirrors, _cap_rules, _cap_health;
} catalog_t;

/** The first problem found by parsing or validation, as `<json path>: <reason>`. */
typedef struct st_catalog_error_t {
    char message[320];
} catalog_error_t;

/** Flags for catalog_from_json(). */
#define CATALOG_JSON_ACCEPT_HEALTH 0x1 /* parse "health" (otherwise it is ignored: export-only) */

/** The standard OS names a fresh catalog starts with. */
extern const char *const catalog_standard_oses[];
extern const size_t catalog_num_standard_oses;

/**
 * Allocates an empty catalog.
 * @return the catalog or NULL on allocation failure.
 * @note Free with catalog_destroy().
 */
catalog_t *catalog_create(void);

/** Frees a catalog and everything it owns. NULL is a no-op. */
void catalog_destroy(catalog_t *cat);

/**
 * Adds the standard OS names that are missing.
 * @return 0 or -ENOMEM.
 */
int catalog_add_standard_oses(catalog_t *cat);

/**
 * Appends copies of the given records. Fields are copied (deeply); the arguments stay the caller's.
 * No validation happens here: call catalog_validate() before using the result.
 * @return 0 or -ENOMEM.
 */
int catalog_add_product(catalog_t *cat, const catalog_product_t *p);
int catalog_add_os(catalog_t *cat, const char *os);
int catalog_add_location(catalog_t *cat, const catalog_location_t *loc);
int catalog_add_alias(catalog_t *cat, const catalog_alias_t *a);
int catalog_add_mirror(catalog_t *cat, const catalog_mirror_t *m);
int catalog_add_rule(catalog_t *cat, const catalog_rule_t *r);
int catalog_add_health(catalog_t *cat, const catalog_health_t *h);

/**
 * Case-insensitive lookups (linear; admin paths only).
 * @return a pointer into the catalog (valid until it is modified or destroyed) or NULL.
 */
catalog_product_t *catalog_find_product(const catalog_t *cat, const char *name);
catalog_mirror_t *catalog_find_mirror(const catalog_t *cat, const char *name);
catalog_location_t *catalog_find_location(const catalog_t *cat, const char *product, const char *os);
int catalog_has_os(const catalog_t *cat, const char *os);

/**
 * Checks the whole catalog: names, URLs, paths, language tags, country/continent codes,
 * uniqueness, cross references, limits. Assigns ids to records whose id is 0 (above the
 * largest id present) and normalises case (OS names lower case, codes upper case).
 * @param[out] err receives the first problem (may be NULL).
 * @return 0, -EINVAL when invalid, -ENOMEM.
 */
int catalog_validate(catalog_t *cat, catalog_error_t *err);

/**
 * Parses and validates a JSON catalog document.
 * @param json the document (need not be NUL-terminated)
 * @param flags CATALOG_JSON_* flags
 * @param[out] out the new catalog on success (the caller owns it: catalog_destroy()).
 * @param[out] err the first problem on -EINVAL (may be NULL).
 * @return 0, -EINVAL for an invalid document, -ENOMEM.
 */
int catalog_from_json(const char *json, size_t len, int flags, catalog_t **out, catalog_error_t *err);

/**
 * Serialises the catalog (including health) as a JSON document.
 * @param[out] out a NUL-terminated malloc'd string the caller frees.
 * @return 0 or -ENOMEM.
 */
int catalog_to_json(const catalog_t *cat, char **out);

/**
 * Parses a JSON array of rules (the "rules" member of a catalog) into a list.
 * @param[out] rules, num_rules a malloc'd array; free with catalog_rules_free().
 * @return 0, -EINVAL (err says why), -ENOMEM.
 */
int catalog_rules_from_json(const char *json, size_t len, catalog_rule_t **rules, size_t *num_rules, catalog_error_t *err);
void catalog_rules_free(catalog_rule_t *rules, size_t num_rules);

/**
 * Serialises rules as a JSON array (the "rules" member's form).
 * @param[out] out a NUL-terminated malloc'd string the caller frees.
 * @return 0 or -ENOMEM.
 */
int catalog_rules_to_json(const catalog_rule_t *rules, size_t num_rules, char **out);

/**
 * Applies a JSON object patch to a mirror: any of "base_url", "weight", "enabled", "countries",
 * "continents" (the name cannot change). The mirror is changed only if the whole patch is valid.
 * @return 0, -EINVAL (err says why), -ENOMEM.
 */
int catalog_mirror_patch(catalog_mirror_t *m, const char *json, size_t len, catalog_error_t *err);

/** Deep copy / free of a single record (store helpers). @return 0 or -ENOMEM. */
int catalog_mirror_copy(catalog_mirror_t *dst, const catalog_mirror_t *src);
void catalog_mirror_dispose(catalog_mirror_t *m);

/** Validity of single values, shared with the resolver and the admin API. @return 1 if valid. */
int catalog_lang_is_valid(const char *s, size_t len);
int catalog_product_name_is_valid(const char *s, size_t len);
int catalog_os_name_is_valid(const char *s, size_t len);
int catalog_path_is_valid(const char *s, size_t len);
/** @return NULL when valid, else a reason. */
const char *catalog_base_url_check(const char *s);

/** "healthy", "unhealthy", "absent". */
const char *catalog_health_state_name(catalog_health_state_t s);
/** @return 0 and sets *out, or -EINVAL. */
int catalog_health_state_parse(const char *s, catalog_health_state_t *out);

#endif
