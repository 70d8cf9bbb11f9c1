// SPDX-License-Identifier: MIT
/*
 * catalog: the model's lifecycle (create, append, deep copy, destroy), its linear lookups and
 * the single-value checks (names, language tags, paths, base URLs, health states) shared with
 * the resolver and the admin API.
 *
 * Whole-catalog validation (catalog_validate()) is in catalog_validate.c; the JSON form
 * (jansson) is in catalog_json.c, which builds a catalog record by record, checking types as it
 * goes, then runs catalog_validate() for everything that needs the whole document (uniqueness,
 * references). Runs on admin and store threads only; nothing here is on the redirect path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "bouncer/catalog.h"
#include "bouncer/internal.h"

const char *const catalog_standard_oses[] = {"win",     "win64",   "win64-aarch64", "osx",        "linux",
                                             "linux64", "linux64-aarch64", "android", "android-x86"};
const size_t catalog_num_standard_oses = sizeof(catalog_standard_oses) / sizeof(catalog_standard_oses[0]);


void catalog__set_error(catalog_error_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);
}

static char *dupstr(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

/* Grows *items (of elemsize) so that one more fits. */
static int reserve(void **items, size_t *cap, size_t count, size_t elemsize)
{
    if (count < *cap)
        return 0;
    size_t ncap = *cap == 0 ? 16 : *cap * 2;
    void *n = realloc(*items, ncap * elemsize);
    if (n == NULL)
        return -ENOMEM;
    *items = n;
    *cap = ncap;
    return 0;
}

/* ---- single value checks ---- */

int catalog_lang_is_valid(const char *s, size_t len)
{
    if (len == 0 || len > CATALOG_LANG_MAX)
        return 0;
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

int catalog_product_name_is_valid(const char *s, size_t len)
{
    if (len == 0 || len > CATALOG_NAME_MAX)
        return 0;
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == '+' || c == '~'))
            return 0;
    }
    return 1;
}

int catalog_os_name_is_valid(const char *s, size_t len)
{
    if (len == 0 || len > CATALOG_OS_MAX)
        return 0;
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

static int isxdigit_ascii(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Visible ASCII without '#', quotes, angle brackets or backslashes; every '%' starts a valid escape.
 * Nothing that could split or smuggle a header can reach a Location through a path or base URL. */
static int url_chars_ok(const char *s, size_t len)
{
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\')
            return 0;
        if (c == '%' && (i + 2 >= len || !isxdigit_ascii(s[i + 1]) || !isxdigit_ascii(s[i + 2])))
            return 0;
    }
    return 1;
}

int catalog_path_is_valid(const char *s, size_t len)
{
    return len != 0 && len <= CATALOG_PATH_MAX && url_chars_ok(s, len);
}

const char *catalog_base_url_check(const char *s)
{
    size_t len = strlen(s), skip;
    if (strncmp(s, "https://", 8) == 0) {
        skip = 8;
    } else if (strncmp(s, "http://", 7) == 0) {
        skip = 7;
    } else {
        return "must start with http:// or https://";
    }
    if (len > CATALOG_URL_MAX)
        return "too long";
    if (len == skip || s[skip] == '/' || s[skip] == '?')
        return "has no host";
    if (!url_chars_ok(s, len))
        return "contains characters not allowed in a URL";
    if (strchr(s, '?') != NULL)
        return "must not contain a query";
    return NULL;
}

const char *catalog_health_state_name(catalog_health_state_t s)
{
    switch (s) {
    case CATALOG_HEALTH_HEALTHY:
        return "healthy";
    case CATALOG_HEALTH_UNHEALTHY:
        return "unhealthy";
    case CATALOG_HEALTH_ABSENT:
        return "absent";
    }
    return "unknown";
}

int catalog_health_state_parse(const char *s, catalog_health_state_t *out)
{
    if (strcmp(s, "healthy") == 0) {
        *out = CATALOG_HEALTH_HEALTHY;
    } else if (strcmp(s, "unhealthy") == 0) {
        *out = CATALOG_HEALTH_UNHEALTHY;
    } else if (strcmp(s, "absent") == 0) {
        *out = CATALOG_HEALTH_ABSENT;
    } else {
        return -EINVAL;
    }
    return 0;
}

/* ---- lifecycle ---- */

catalog_t *catalog_create(void)
{
    return calloc(1, sizeof(catalog_t));
}

static void free_strs(char **items, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(items[i]);
    free(items);
}

static void strlist_dispose(catalog_strlist_t *l)
{
    free_strs(l->items, l->count);
    l->items = NULL;
    l->count = 0;
}

static int strlist_copy(catalog_strlist_t *dst, const catalog_strlist_t *src)
{
    dst->items = NULL;
    dst->count = 0;
    if (src->count == 0)
        return 0;
    if ((dst->items = calloc(src->count, sizeof(char *))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i != src->count; ++i) {
        if ((dst->items[i] = strdup(src->items[i])) == NULL) {
            dst->count = i;
            strlist_dispose(dst);
            return -ENOMEM;
        }
    }
    dst->count = src->count;
    return 0;
}

static void product_dispose(catalog_product_t *p)
{
    free(p->name);
    free_strs(p->languages, p->num_languages);
}

static void location_dispose(catalog_location_t *l)
{
    free(l->product);
    free(l->os);
    free(l->path);
}

static void alias_dispose(catalog_alias_t *a)
{
    free(a->alias);
    free(a->product);
}

void catalog_mirror_dispose(catalog_mirror_t *m)
{
    free(m->name);
    free(m->base_url);
    free(m->countries);
    free(m->continents);
    memset(m, 0, sizeof(*m));
}

static void rule_dispose(catalog_rule_t *r)
{
    free(r->name);
    free(r->ua_equals);
    strlist_dispose(&r->ua_contains);
    strlist_dispose(&r->ua_contains_also);
    strlist_dispose(&r->ua_not_contains);
    strlist_dispose(&r->product_equals);
    strlist_dispose(&r->product_prefix);
    strlist_dispose(&r->product_contains);
    strlist_dispose(&r->product_excludes);
    strlist_dispose(&r->os);
    strlist_dispose(&r->referer_prefix);
    strlist_dispose(&r->referer_not_prefix);
    free(r->set_product);
    free(r->set_os);
}

static void health_dispose(catalog_health_t *h)
{
    free(h->mirror);
    free(h->product);
    free(h->os);
    free(h->reason);
}

void catalog_rules_free(catalog_rule_t *rules, size_t num_rules)
{
    for (size_t i = 0; i != num_rules; ++i)
        rule_dispose(rules + i);
    free(rules);
}

void catalog_destroy(catalog_t *cat)
{
    if (cat == NULL)
        return;
    for (size_t i = 0; i != cat->num_products; ++i)
        product_dispose(cat->products + i);
    free(cat->products);
    free_strs(cat->oses, cat->num_oses);
    for (size_t i = 0; i != cat->num_locations; ++i)
        location_dispose(cat->locations + i);
    free(cat->locations);
    for (size_t i = 0; i != cat->num_aliases; ++i)
        alias_dispose(cat->aliases + i);
    free(cat->aliases);
    for (size_t i = 0; i != cat->num_mirrors; ++i)
        catalog_mirror_dispose(cat->mirrors + i);
    free(cat->mirrors);
    catalog_rules_free(cat->rules, cat->num_rules);
    for (size_t i = 0; i != cat->num_health; ++i)
        health_dispose(cat->health + i);
    free(cat->health);
    free(cat);
}

/* ---- appending ---- */

int catalog_add_product(catalog_t *cat, const catalog_product_t *p)
{
    if (reserve((void **)&cat->products, &cat->_cap_products, cat->num_products, sizeof(*cat->products)) != 0)
        return -ENOMEM;
    catalog_product_t n = {.id = p->id, .ssl_only = p->ssl_only, .active = p->active};
    if ((n.name = strdup(p->name)) == NULL)
        goto Error;
    if (p->num_languages != 0) {
        if ((n.languages = calloc(p->num_languages, sizeof(char *))) == NULL)
            goto Error;
        for (; n.num_languages != p->num_languages; ++n.num_languages)
            if ((n.languages[n.num_languages] = strdup(p->languages[n.num_languages])) == NULL)
                goto Error;
    }
    cat->products[cat->num_products++] = n;
    return 0;
Error:
    product_dispose(&n);
    return -ENOMEM;
}

int catalog_add_os(catalog_t *cat, const char *os)
{
    if (reserve((void **)&cat->oses, &cat->_cap_oses, cat->num_oses, sizeof(*cat->oses)) != 0)
        return -ENOMEM;
    if ((cat->oses[cat->num_oses] = strdup(os)) == NULL)
        return -ENOMEM;
    ++cat->num_oses;
    return 0;
}

int catalog_add_standard_oses(catalog_t *cat)
{
    for (size_t i = 0; i != catalog_num_standard_oses; ++i)
        if (!catalog_has_os(cat, catalog_standard_oses[i]) && catalog_add_os(cat, catalog_standard_oses[i]) != 0)
            return -ENOMEM;
    return 0;
}

int catalog_add_location(catalog_t *cat, const catalog_location_t *loc)
{
    if (reserve((void **)&cat->locations, &cat->_cap_locations, cat->num_locations, sizeof(*cat->locations)) != 0)
        return -ENOMEM;
    catalog_location_t n = {.id = loc->id, .product = strdup(loc->product), .os = strdup(loc->os), .path = strdup(loc->path)};
    if (n.product == NULL || n.os == NULL || n.path == NULL) {
        location_dispose(&n);
        return -ENOMEM;
    }
    cat->locations[cat->num_locations++] = n;
    return 0;
}

int catalog_add_alias(catalog_t *cat, const catalog_alias_t *a)
{
    if (reserve((void **)&cat->aliases, &cat->_cap_aliases, cat->num_aliases, sizeof(*cat->aliases)) != 0)
        return -ENOMEM;
    catalog_alias_t n = {.alias = strdup(a->alias), .product = strdup(a->product)};
    if (n.alias == NULL || n.product == NULL) {
        alias_dispose(&n);
        return -ENOMEM;
    }
    cat->aliases[cat->num_aliases++] = n;
    return 0;
}

int catalog_mirror_copy(catalog_mirror_t *dst, const catalog_mirror_t *src)
{
    *dst = (catalog_mirror_t){.id = src->id, .weight = src->weight, .enabled = src->enabled};
    if ((dst->name = strdup(src->name)) == NULL || (dst->base_url = strdup(src->base_url)) == NULL)
        goto Error;
    if (src->num_countries != 0) {
        if ((dst->countries = malloc(src->num_countries * 3)) == NULL)
            goto Error;
        memcpy(dst->countries, src->countries, src->num_countries * 3);
        dst->num_countries = src->num_countries;
    }
    if (src->num_continents != 0) {
        if ((dst->continents = malloc(src->num_continents * 3)) == NULL)
            goto Error;
        memcpy(dst->continents, src->continents, src->num_continents * 3);
        dst->num_continents = src->num_continents;
    }
    return 0;
Error:
    catalog_mirror_dispose(dst);
    return -ENOMEM;
}

int catalog_add_mirror(catalog_t *cat, const catalog_mirror_t *m)
{
    if (reserve((void **)&cat->mirrors, &cat->_cap_mirrors, cat->num_mirrors, sizeof(*cat->mirrors)) != 0)
        return -ENOMEM;
    if (catalog_mirror_copy(cat->mirrors + cat->num_mirrors, m) != 0)
        return -ENOMEM;
    ++cat->num_mirrors;
    return 0;
}

static int rule_copy(catalog_rule_t *d, const catalog_rule_t *s)
{
    memset(d, 0, sizeof(*d));
    d->final = s->final;
    if ((s->name != NULL && (d->name = strdup(s->name)) == NULL) ||
        (s->ua_equals != NULL && (d->ua_equals = strdup(s->ua_equals)) == NULL) ||
        (s->set_product != NULL && (d->set_product = strdup(s->set_product)) == NULL) ||
        (s->set_os != NULL && (d->set_os = strdup(s->set_os)) == NULL) || strlist_copy(&d->ua_contains, &s->ua_contains) != 0 ||
        strlist_copy(&d->ua_contains_also, &s->ua_contains_also) != 0 ||
        strlist_copy(&d->ua_not_contains, &s->ua_not_contains) != 0 ||
        strlist_copy(&d->product_equals, &s->product_equals) != 0 ||
        strlist_copy(&d->product_prefix, &s->product_prefix) != 0 ||
        strlist_copy(&d->product_contains, &s->product_contains) != 0 ||
        strlist_copy(&d->product_excludes, &s->product_excludes) != 0 || strlist_copy(&d->os, &s->os) != 0 ||
        strlist_copy(&d->referer_prefix, &s->referer_prefix) != 0 ||
        strlist_copy(&d->referer_not_prefix, &s->referer_not_prefix) != 0) {
        rule_dispose(d);
        return -ENOMEM;
    }
    return 0;
}

int catalog_add_rule(catalog_t *cat, const catalog_rule_t *r)
{
    if (reserve((void **)&cat->rules, &cat->_cap_rules, cat->num_rules, sizeof(*cat->rules)) != 0)
        return -ENOMEM;
    if (rule_copy(cat->rules + cat->num_rules, r) != 0)
        return -ENOMEM;
    ++cat->num_rules;
    return 0;
}

int catalog_add_health(catalog_t *cat, const catalog_health_t *h)
{
    if (reserve((void **)&cat->health, &cat->_cap_health, cat->num_health, sizeof(*cat->health)) != 0)
        return -ENOMEM;
    catalog_health_t n = {.mirror = strdup(h->mirror),
                          .product = strdup(h->product),
                          .os = strdup(h->os),
                          .state = h->state,
                          .checked_at = h->checked_at,
                          .reason = dupstr(h->reason)};
    if (n.mirror == NULL || n.product == NULL || n.os == NULL || (h->reason != NULL && n.reason == NULL)) {
        health_dispose(&n);
        return -ENOMEM;
    }
    cat->health[cat->num_health++] = n;
    return 0;
}

/* ---- lookups ---- */

catalog_product_t *catalog_find_product(const catalog_t *cat, const char *name)
{
    for (size_t i = 0; i != cat->num_products; ++i)
        if (strcasecmp(cat->products[i].name, name) == 0)
            return cat->products + i;
    return NULL;
}

catalog_mirror_t *catalog_find_mirror(const catalog_t *cat, const char *name)
{
    for (size_t i = 0; i != cat->num_mirrors; ++i)
        if (strcasecmp(cat->mirrors[i].name, name) == 0)
            return cat->mirrors + i;
    return NULL;
}

catalog_location_t *catalog_find_location(const catalog_t *cat, const char *product, const char *os)
{
    for (size_t i = 0; i != cat->num_locations; ++i)
        if (strcasecmp(cat->locations[i].product, product) == 0 && strcasecmp(cat->locations[i].os, os) == 0)
            return cat->locations + i;
    return NULL;
}

int catalog_has_os(const catalog_t *cat, const char *os)
{
    for (size_t i = 0; i != cat->num_oses; ++i)
        if (strcasecmp(cat->oses[i], os) == 0)
            return 1;
    return 0;
}
