// SPDX-License-Identifier: MIT
/*
 * catalog_json: the JSON form of the catalog (docs/catalog-format.md), through jansson.
 *
 * Import is strict: unknown members are errors (a typo such as "wieght" must not silently
 * fall back to a default), every type is checked, and the first problem is reported with its
 * JSON path. Whole-document checks (uniqueness, references) are catalog_validate()'s.
 * Export writes the same shape plus the export-only "health" member.
 * Admin and store threads only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "bouncer/catalog.h"
#include "bouncer/internal.h"

/* Rejects members of obj that are not in allowed (NULL-terminated). */
static int check_members(json_t *obj, const char *const *allowed, const char *path, catalog_error_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i;
        for (i = 0; allowed[i] != NULL; ++i)
            if (strcmp(allowed[i], key) == 0)
                break;
        if (allowed[i] == NULL) {
            catalog__set_error(err, "%s.%.64s: unknown member", path, key);
            return -EINVAL;
        }
    }
    return 0;
}

/* Gets a string member; required or optional (*out NULL when absent or null). */
static int get_string(json_t *obj, const char *name, int required, char **out, const char *path, catalog_error_t *err)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            catalog__set_error(err, "%s.%s: required", path, name);
            return -EINVAL;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        catalog__set_error(err, "%s.%s: must be a string", path, name);
        return -EINVAL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        catalog__set_error(err, "%s.%s: must not contain NUL", path, name);
        return -EINVAL;
    }
    if ((*out = strdup(json_string_value(v))) == NULL)
        return -ENOMEM;
    return 0;
}

static int get_bool(json_t *obj, const char *name, int def, int *out, const char *path, catalog_error_t *err)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) {
        catalog__set_error(err, "%s.%s: must be true or false", path, name);
        return -EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}

static int get_u32(json_t *obj, const char *name, uint32_t def, uint32_t *out, const char *path, catalog_error_t *err)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000) {
        catalog__set_error(err, "%s.%s: must be an integer from 0 to 1000000000", path, name);
        return -EINVAL;
    }
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/* An array of strings into (items, count); absent = empty. */
static int get_strings(json_t *obj, const char *name, char ***items, size_t *count, const char *path, catalog_error_t *err)
{
    json_t *arr = json_object_get(obj, name), *v;
    size_t i;
    *items = NULL;
    *count = 0;
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        catalog__set_error(err, "%s.%s: must be an array of strings", path, name);
        return -EINVAL;
    }
    if (json_array_size(arr) == 0)
        return 0;
    if ((*items = calloc(json_array_size(arr), sizeof(char *))) == NULL)
        return -ENOMEM;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            catalog__set_error(err, "%s.%s[%zu]: must be a string", path, name, i);
            return -EINVAL;
        }
        if (((*items)[i] = strdup(json_string_value(v))) == NULL)
            return -ENOMEM;
        *count = i + 1;
    }
    return 0;
}

static void free_strs(char **items, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(items[i]);
    free(items);
}

static int get_codes(json_t *obj, const char *name, char (**codes)[3], size_t *count, const char *path, catalog_error_t *err)
{
    char **items = NULL;
    size_t n = 0;
    int ret = get_strings(obj, name, &items, &n, path, err);
    *codes = NULL;
    *count = 0;
    if (ret != 0)
        goto Exit;
    if (n == 0)
        goto Exit;
    if ((*codes = calloc(n, 3)) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    for (size_t i = 0; i != n; ++i) {
        if (strlen(items[i]) != 2) {
            catalog__set_error(err, "%s.%s[%zu]: must be a two-letter code", path, name, i);
            ret = -EINVAL;
            goto Exit;
        }
        memcpy((*codes)[i], items[i], 3);
    }
    *count = n;
Exit:
    free_strs(items, n);
    return ret;
}

static json_t *get_array(json_t *root, const char *name, catalog_error_t *err, int *ret)
{
    json_t *a = json_object_get(root, name);
    *ret = 0;
    if (a == NULL || json_is_null(a))
        return NULL;
    if (!json_is_array(a)) {
        catalog__set_error(err, "%s: must be an array", name);
        *ret = -EINVAL;
        return NULL;
    }
    return a;
}

static int parse_mirror(json_t *v, catalog_mirror_t *m, const char *path, catalog_error_t *err)
{
    static const char *const allowed[] = {"id", "name", "base_url", "weight", "enabled", "countries", "continents", NULL};
    int ret;
    memset(m, 0, sizeof(*m));
    if (!json_is_object(v)) {
        catalog__set_error(err, "%s: must be an object", path);
        return -EINVAL;
    }
    if ((ret = check_members(v, allowed, path, err)) != 0 || (ret = get_u32(v, "id", 0, &m->id, path, err)) != 0 ||
        (ret = get_string(v, "name", 1, &m->name, path, err)) != 0 ||
        (ret = get_string(v, "base_url", 1, &m->base_url, path, err)) != 0 ||
        (ret = get_u32(v, "weight", 100, &m->weight, path, err)) != 0 ||
        (ret = get_bool(v, "enabled", 1, &m->enabled, path, err)) != 0 ||
        (ret = get_codes(v, "countries", &m->countries, &m->num_countries, path, err)) != 0 ||
        (ret = get_codes(v, "continents", &m->continents, &m->num_continents, path, err)) != 0)
        return ret;
    return 0;
}

static int parse_rule(json_t *v, catalog_rule_t *r, const char *path, catalog_error_t *err)
{
    static const char *const allowed[] = {"name",           "ua_equals",        "ua_contains",      "ua_contains_also",
                                          "ua_not_contains", "product_equals",  "product_prefix",   "product_contains",
                                          "product_excludes", "os",             "referer_prefix",   "referer_not_prefix",
                                          "set_product",    "set_os",           "final",            "comment",
                                          NULL};
    int ret;
    memset(r, 0, sizeof(*r));
    if (!json_is_object(v)) {
        catalog__set_error(err, "%s: must be an object", path);
        return -EINVAL;
    }
#define LIST(f) (ret = get_strings(v, #f, &r->f.items, &r->f.count, path, err)) != 0
    if ((ret = check_members(v, allowed, path, err)) != 0 || (ret = get_string(v, "name", 1, &r->name, path, err)) != 0 ||
        (ret = get_string(v, "ua_equals", 0, &r->ua_equals, path, err)) != 0 || LIST(ua_contains) || LIST(ua_contains_also) ||
        LIST(ua_not_contains) || LIST(product_equals) || LIST(product_prefix) || LIST(product_contains) ||
        LIST(product_excludes) || LIST(os) || LIST(referer_prefix) || LIST(referer_not_prefix) ||
        (ret = get_string(v, "set_product", 0, &r->set_product, path, err)) != 0 ||
        (ret = get_string(v, "set_os", 0, &r->set_os, path, err)) != 0 || (ret = get_bool(v, "final", 0, &r->final, path, err)) != 0)
        return ret;
#undef LIST
    json_t *c = json_object_get(v, "comment");
    if (c != NULL && !json_is_string(c)) {
        catalog__set_error(err, "%s.comment: must be a string", path);
        return -EINVAL;
    }
    return 0;
}

static int parse_rules_array(json_t *arr, const char *name, catalog_rule_t **rules, size_t *num, catalog_error_t *err)
{
    size_t i;
    json_t *v;
    *rules = NULL;
    *num = 0;
    if (json_array_size(arr) == 0)
        return 0;
    if ((*rules = calloc(json_array_size(arr), sizeof(**rules))) == NULL)
        return -ENOMEM;
    json_array_foreach(arr, i, v)
    {
        char path[48];
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        int ret = parse_rule(v, *rules + i, path, err);
        *num = i + 1;
        if (ret != 0)
            return ret;
    }
    return 0;
}

int catalog_rules_from_json(const char *json, size_t len, catalog_rule_t **rules, size_t *num_rules, catalog_error_t *err)
{
    json_error_t jerr;
    int ret;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    *rules = NULL;
    *num_rules = 0;
    if (root == NULL) {
        catalog__set_error(err, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return -EINVAL;
    }
    if (!json_is_array(root)) {
        catalog__set_error(err, "rules: must be an array");
        ret = -EINVAL;
        goto Exit;
    }
    if ((ret = parse_rules_array(root, "rules", rules, num_rules, err)) != 0)
        goto Exit;
    /* validate through a scratch catalog so rules get exactly the document's checks */
    catalog_t scratch = {.rules = *rules, .num_rules = *num_rules};
    ret = catalog_validate(&scratch, err);
Exit:
    if (ret != 0) {
        catalog_rules_free(*rules, *num_rules);
        *rules = NULL;
        *num_rules = 0;
    }
    json_decref(root);
    return ret;
}

int catalog_from_json(const char *json, size_t len, int flags, catalog_t **out, catalog_error_t *err)
{
    static const char *const allowed[] = {"products", "oses", "locations", "aliases", "mirrors", "rules", "health", "comment", NULL};
    json_error_t jerr;
    json_t *root = NULL, *arr, *v;
    catalog_t *cat = NULL;
    size_t i;
    int ret = -EINVAL;

    *out = NULL;
    if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        catalog__set_error(err, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        goto Exit;
    }
    if (!json_is_object(root)) {
        catalog__set_error(err, "$: must be an object");
        goto Exit;
    }
    if ((ret = check_members(root, allowed, "$", err)) != 0)
        goto Exit;
    if ((cat = catalog_create()) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }

    /* oses: absent means the standard set */
    if ((arr = get_array(root, "oses", err, &ret)) == NULL) {
        if (ret != 0 || (ret = catalog_add_standard_oses(cat)) != 0)
            goto Exit;
    } else {
        json_array_foreach(arr, i, v)
        {
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                catalog__set_error(err, "oses[%zu]: must be a string", i);
                ret = -EINVAL;
                goto Exit;
            }
            if ((ret = catalog_add_os(cat, json_string_value(v))) != 0)
                goto Exit;
        }
    }

    /* products */
    if ((arr = get_array(root, "products", err, &ret)) == NULL && ret != 0)
        goto Exit;
    json_array_foreach(arr, i, v)
    {
        static const char *const pallowed[] = {"id", "name", "ssl_only", "active", "languages", NULL};
        char path[48];
        catalog_product_t p = {0};
        snprintf(path, sizeof(path), "products[%zu]", i);
        if (!json_is_object(v)) {
            catalog__set_error(err, "%s: must be an object", path);
            ret = -EINVAL;
            goto Exit;
        }
        if ((ret = check_members(v, pallowed, path, err)) == 0 && (ret = get_u32(v, "id", 0, &p.id, path, err)) == 0 &&
            (ret = get_string(v, "name", 1, &p.name, path, err)) == 0 &&
            (ret = get_bool(v, "ssl_only", 0, &p.ssl_only, path, err)) == 0 &&
            (ret = get_bool(v, "active", 1, &p.active, path, err)) == 0 &&
            (ret = get_strings(v, "languages", &p.languages, &p.num_languages, path, err)) == 0)
            ret = catalog_add_product(cat, &p);
        free(p.name);
        free_strs(p.languages, p.num_languages);
        if (ret != 0)
            goto Exit;
    }

    /* each array is dropped from the tree once converted: with 50,000 products the tree is several
     * times the size of the catalog, and an import must not hold both whole (peak RSS) */
    json_object_del(root, "products");

    /* locations */
    if ((arr = get_array(root, "locations", err, &ret)) == NULL && ret != 0)
        goto Exit;
    json_array_foreach(arr, i, v)
    {
        static const char *const lallowed[] = {"id", "product", "os", "path", NULL};
        char path[48];
        catalog_location_t l = {0};
        snprintf(path, sizeof(path), "locations[%zu]", i);
        if (!json_is_object(v)) {
            catalog__set_error(err, "%s: must be an object", path);
            ret = -EINVAL;
            goto Exit;
        }
        if ((ret = check_members(v, lallowed, path, err)) == 0 && (ret = get_u32(v, "id", 0, &l.id, path, err)) == 0 &&
            (ret = get_string(v, "product", 1, &l.product, path, err)) == 0 &&
            (ret = get_string(v, "os", 1, &l.os, path, err)) == 0 && (ret = get_string(v, "path", 1, &l.path, path, err)) == 0)
            ret = catalog_add_location(cat, &l);
        free(l.product);
        free(l.os);
        free(l.path);
        if (ret != 0)
            goto Exit;
    }

    json_object_del(root, "locations");

    /* aliases */
    if ((arr = get_array(root, "aliases", err, &ret)) == NULL && ret != 0)
        goto Exit;
    json_array_foreach(arr, i, v)
    {
        static const char *const aallowed[] = {"alias", "product", NULL};
        char path[48];
        catalog_alias_t a = {0};
        snprintf(path, sizeof(path), "aliases[%zu]", i);
        if (!json_is_object(v)) {
            catalog__set_error(err, "%s: must be an object", path);
            ret = -EINVAL;
            goto Exit;
        }
        if ((ret = check_members(v, aallowed, path, err)) == 0 && (ret = get_string(v, "alias", 1, &a.alias, path, err)) == 0 &&
            (ret = get_string(v, "product", 1, &a.product, path, err)) == 0)
            ret = catalog_add_alias(cat, &a);
        free(a.alias);
        free(a.product);
        if (ret != 0)
            goto Exit;
    }

    json_object_del(root, "aliases");

    /* mirrors */
    if ((arr = get_array(root, "mirrors", err, &ret)) == NULL && ret != 0)
        goto Exit;
    json_array_foreach(arr, i, v)
    {
        char path[48];
        catalog_mirror_t m;
        snprintf(path, sizeof(path), "mirrors[%zu]", i);
        if ((ret = parse_mirror(v, &m, path, err)) == 0)
            ret = catalog_add_mirror(cat, &m);
        catalog_mirror_dispose(&m);
        if (ret != 0)
            goto Exit;
    }

    /* rules */
    if ((arr = get_array(root, "rules", err, &ret)) == NULL && ret != 0)
        goto Exit;
    if (arr != NULL) {
        catalog_rule_t *rules;
        size_t n;
        if ((ret = parse_rules_array(arr, "rules", &rules, &n, err)) != 0) {
            catalog_rules_free(rules, n);
            goto Exit;
        }
        cat->rules = rules;
        cat->num_rules = cat->_cap_rules = n;
    }

    /* health (export-only unless asked for) */
    if ((arr = get_array(root, "health", err, &ret)) == NULL && ret != 0)
        goto Exit;
    if ((flags & CATALOG_JSON_ACCEPT_HEALTH) != 0) {
        json_array_foreach(arr, i, v)
        {
            static const char *const hallowed[] = {"mirror", "product", "os", "state", "checked_at", "reason", NULL};
            char path[48], *state = NULL;
            catalog_health_t h = {0};
            json_t *t;
            snprintf(path, sizeof(path), "health[%zu]", i);
            if (!json_is_object(v)) {
                catalog__set_error(err, "%s: must be an object", path);
                ret = -EINVAL;
                goto Exit;
            }
            if ((ret = check_members(v, hallowed, path, err)) == 0 &&
                (ret = get_string(v, "mirror", 1, &h.mirror, path, err)) == 0 &&
                (ret = get_string(v, "product", 1, &h.product, path, err)) == 0 &&
                (ret = get_string(v, "os", 1, &h.os, path, err)) == 0 && (ret = get_string(v, "state", 1, &state, path, err)) == 0 &&
                (ret = get_string(v, "reason", 0, &h.reason, path, err)) == 0) {
                if (catalog_health_state_parse(state, &h.state) != 0) {
                    catalog__set_error(err, "%s.state: must be healthy, unhealthy or absent", path);
                    ret = -EINVAL;
                } else if ((t = json_object_get(v, "checked_at")) != NULL && !json_is_integer(t)) {
                    catalog__set_error(err, "%s.checked_at: must be an integer (unix seconds)", path);
                    ret = -EINVAL;
                } else {
                    h.checked_at = t != NULL ? (int64_t)json_integer_value(t) : 0;
                    ret = catalog_add_health(cat, &h);
                }
            }
            free(state);
            free(h.mirror);
            free(h.product);
            free(h.os);
            free(h.reason);
            if (ret != 0)
                goto Exit;
        }
    }

    if ((ret = catalog_validate(cat, err)) != 0)
        goto Exit;
    *out = cat;
    cat = NULL;

Exit:
    catalog_destroy(cat);
    json_decref(root);
    return ret;
}

int catalog_mirror_patch(catalog_mirror_t *m, const char *json, size_t len, catalog_error_t *err)
{
    static const char *const allowed[] = {"name", "base_url", "weight", "enabled", "countries", "continents", NULL};
    json_error_t jerr;
    json_t *root = NULL;
    catalog_mirror_t n;
    int ret = -EINVAL;

    memset(&n, 0, sizeof(n));
    if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        catalog__set_error(err, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        goto Exit;
    }
    if (!json_is_object(root)) {
        catalog__set_error(err, "$: must be an object");
        goto Exit;
    }
    if ((ret = check_members(root, allowed, "$", err)) != 0)
        goto Exit;
    if (json_object_get(root, "name") != NULL &&
        (!json_is_string(json_object_get(root, "name")) || strcasecmp(json_string_value(json_object_get(root, "name")), m->name) != 0)) {
        catalog__set_error(err, "$.name: cannot be changed");
        ret = -EINVAL;
        goto Exit;
    }
    if ((ret = catalog_mirror_copy(&n, m)) != 0)
        goto Exit;
    if (json_object_get(root, "base_url") != NULL) {
        free(n.base_url);
        if ((ret = get_string(root, "base_url", 1, &n.base_url, "$", err)) != 0)
            goto Exit;
    }
    if ((ret = get_u32(root, "weight", n.weight, &n.weight, "$", err)) != 0 ||
        (ret = get_bool(root, "enabled", n.enabled, &n.enabled, "$", err)) != 0)
        goto Exit;
    if (json_object_get(root, "countries") != NULL) {
        free(n.countries);
        if ((ret = get_codes(root, "countries", &n.countries, &n.num_countries, "$", err)) != 0)
            goto Exit;
    }
    if (json_object_get(root, "continents") != NULL) {
        free(n.continents);
        if ((ret = get_codes(root, "continents", &n.continents, &n.num_continents, "$", err)) != 0)
            goto Exit;
    }
    /* validate the result as a one-mirror catalog */
    catalog_t scratch = {.mirrors = &n, .num_mirrors = 1};
    if ((ret = catalog_validate(&scratch, err)) != 0) {
        /* messages from the scratch say mirrors[0]; the patch is the root */
        if (err != NULL && strncmp(err->message, "mirrors[0].", 11) == 0)
            memmove(err->message + 2, err->message + 11, strlen(err->message + 11) + 1), err->message[0] = '$', err->message[1] = '.';
        goto Exit;
    }
    catalog_mirror_dispose(m);
    *m = n;
    memset(&n, 0, sizeof(n));
    ret = 0;
Exit:
    catalog_mirror_dispose(&n);
    json_decref(root);
    return ret;
}

/* ---- export ---- */

static json_t *strs_to_json(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i != n; ++i) {
        if (json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *codes_to_json(char (*codes)[3], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i != n; ++i) {
        if (json_array_append_new(a, json_string(codes[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Adds a member, taking the value; fails on NULL. */
static int put(json_t *obj, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(obj, key, v) != 0 ? -1 : 0;
}

static int put_list(json_t *obj, const char *key, const catalog_strlist_t *l)
{
    return l->count == 0 ? 0 : put(obj, key, strs_to_json(l->items, l->count));
}

static json_t *rule_to_json(const catalog_rule_t *r)
{
    json_t *o = json_object();
    if (o == NULL || put(o, "name", json_string(r->name)) != 0 ||
        (r->ua_equals != NULL && put(o, "ua_equals", json_string(r->ua_equals)) != 0) ||
        put_list(o, "ua_contains", &r->ua_contains) != 0 || put_list(o, "ua_contains_also", &r->ua_contains_also) != 0 ||
        put_list(o, "ua_not_contains", &r->ua_not_contains) != 0 || put_list(o, "product_equals", &r->product_equals) != 0 ||
        put_list(o, "product_prefix", &r->product_prefix) != 0 || put_list(o, "product_contains", &r->product_contains) != 0 ||
        put_list(o, "product_excludes", &r->product_excludes) != 0 || put_list(o, "os", &r->os) != 0 ||
        put_list(o, "referer_prefix", &r->referer_prefix) != 0 || put_list(o, "referer_not_prefix", &r->referer_not_prefix) != 0 ||
        (r->set_product != NULL && put(o, "set_product", json_string(r->set_product)) != 0) ||
        (r->set_os != NULL && put(o, "set_os", json_string(r->set_os)) != 0) || (r->final && put(o, "final", json_true()) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int catalog_to_json(const catalog_t *cat, char **out)
{
    int ret = -ENOMEM;
    json_t *root = json_object(), *a, *o;
    *out = NULL;
    if (root == NULL)
        goto Exit;

    if (put(root, "products", a = json_array()) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_products; ++i) {
        const catalog_product_t *p = cat->products + i;
        if (json_array_append_new(a, o = json_object()) != 0 || o == NULL || put(o, "id", json_integer(p->id)) != 0 ||
            put(o, "name", json_string(p->name)) != 0 || put(o, "ssl_only", json_boolean(p->ssl_only)) != 0 ||
            put(o, "active", json_boolean(p->active)) != 0 || put(o, "languages", strs_to_json(p->languages, p->num_languages)) != 0)
            goto Exit;
    }
    if (put(root, "oses", strs_to_json(cat->oses, cat->num_oses)) != 0)
        goto Exit;
    if (put(root, "locations", a = json_array()) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_locations; ++i) {
        const catalog_location_t *l = cat->locations + i;
        if (json_array_append_new(a, o = json_object()) != 0 || o == NULL || put(o, "id", json_integer(l->id)) != 0 ||
            put(o, "product", json_string(l->product)) != 0 || put(o, "os", json_string(l->os)) != 0 ||
            put(o, "path", json_string(l->path)) != 0)
            goto Exit;
    }
    if (put(root, "aliases", a = json_array()) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_aliases; ++i) {
        if (json_array_append_new(a, o = json_object()) != 0 || o == NULL ||
            put(o, "alias", json_string(cat->aliases[i].alias)) != 0 || put(o, "product", json_string(cat->aliases[i].product)) != 0)
            goto Exit;
    }
    if (put(root, "mirrors", a = json_array()) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_mirrors; ++i) {
        const catalog_mirror_t *m = cat->mirrors + i;
        if (json_array_append_new(a, o = json_object()) != 0 || o == NULL || put(o, "id", json_integer(m->id)) != 0 ||
            put(o, "name", json_string(m->name)) != 0 || put(o, "base_url", json_string(m->base_url)) != 0 ||
            put(o, "weight", json_integer(m->weight)) != 0 || put(o, "enabled", json_boolean(m->enabled)) != 0 ||
            put(o, "countries", codes_to_json(m->countries, m->num_countries)) != 0 ||
            put(o, "continents", codes_to_json(m->continents, m->num_continents)) != 0)
            goto Exit;
    }
    if (put(root, "rules", a = json_array()) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_rules; ++i)
        if (json_array_append_new(a, rule_to_json(cat->rules + i)) != 0)
            goto Exit;
    if (put(root, "health", a = json_array()) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_health; ++i) {
        const catalog_health_t *h = cat->health + i;
        if (json_array_append_new(a, o = json_object()) != 0 || o == NULL || put(o, "mirror", json_string(h->mirror)) != 0 ||
            put(o, "product", json_string(h->product)) != 0 || put(o, "os", json_string(h->os)) != 0 ||
            put(o, "state", json_string(catalog_health_state_name(h->state))) != 0 ||
            put(o, "checked_at", json_integer(h->checked_at)) != 0 ||
            (h->reason != NULL && put(o, "reason", json_string(h->reason)) != 0))
            goto Exit;
    }
    if ((*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
        goto Exit;
    ret = 0;
Exit:
    json_decref(root);
    return ret;
}

int catalog_rules_to_json(const catalog_rule_t *rules, size_t num_rules, char **out)
{
    int ret = -ENOMEM;
    json_t *a = json_array();
    *out = NULL;
    if (a == NULL)
        goto Exit;
    for (size_t i = 0; i != num_rules; ++i)
        if (json_array_append_new(a, rule_to_json(rules + i)) != 0)
            goto Exit;
    if ((*out = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        goto Exit;
    ret = 0;
Exit:
    json_decref(a);
    return ret;
}
