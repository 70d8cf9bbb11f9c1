// SPDX-License-Identifier: MIT
/*
 * catalog: model lifecycle, validation and the JSON form (jansson).
 *
 * Parsing builds a catalog record by record, checking types as it goes, then runs
 * catalog_validate() for everything that needs the whole document (uniqueness, references).
 * Every error message starts with the JSON path of the offending value so an admin can find it
 * in a 50,000-product document. Uniqueness checks sort arrays of pointers instead of comparing
 * every pair, so validating a large catalog stays O(n log n).
 * Runs on admin and store threads only; nothing here is on the redirect path.
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

/* ---- validation ---- */

typedef struct st_keyed_t {
    const char *a, *b; /* compared case-insensitively, b may be NULL */
    size_t index;
} keyed_t;

static int cmp_keyed(const void *x, const void *y)
{
    const keyed_t *p = x, *q = y;
    int r = strcasecmp(p->a, q->a);
    if (r == 0 && p->b != NULL && q->b != NULL)
        r = strcasecmp(p->b, q->b);
    if (r == 0)
        r = p->index < q->index ? -1 : p->index > q->index;
    return r;
}

static int keyed_equal(const keyed_t *p, const keyed_t *q)
{
    return strcasecmp(p->a, q->a) == 0 && (p->b == NULL || q->b == NULL || strcasecmp(p->b, q->b) == 0);
}

static const keyed_t *keyed_find(const keyed_t *sorted, size_t n, const char *a, const char *b)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcasecmp(sorted[mid].a, a);
        if (r == 0 && b != NULL)
            r = strcasecmp(sorted[mid].b, b);
        if (r < 0) {
            lo = mid + 1;
        } else if (r > 0) {
            hi = mid;
        } else {
            return sorted + mid;
        }
    }
    return NULL;
}

/* Finds the first duplicate (in original order) among sorted keys; returns the later index. */
static int keyed_first_dup(const keyed_t *sorted, size_t n, size_t *dup)
{
    int found = 0;
    for (size_t i = 1; i < n; ++i) {
        if (keyed_equal(sorted + i - 1, sorted + i) && (!found || sorted[i].index < *dup)) {
            *dup = sorted[i].index;
            found = 1;
        }
    }
    return found;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* Checks ids for duplicates and assigns fresh ones to zero ids. ids is an array of pointers. */
static int fix_ids(uint32_t **ids, size_t n, const char *what, catalog_error_t *err)
{
    int ret = -1;
    uint32_t *sorted = NULL, max = 0;
    size_t m = 0;
    if (n == 0)
        return 0;
    if ((sorted = malloc(n * sizeof(*sorted))) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    for (size_t i = 0; i != n; ++i) {
        if (*ids[i] != 0) {
            sorted[m++] = *ids[i];
            if (*ids[i] > max)
                max = *ids[i];
        }
    }
    qsort(sorted, m, sizeof(*sorted), cmp_u32);
    for (size_t i = 1; i < m; ++i) {
        if (sorted[i] == sorted[i - 1]) {
            for (size_t j = n; j-- != 0;) {
                if (*ids[j] == sorted[i]) {
                    catalog__set_error(err, "%s[%zu].id: duplicate id %u", what, j, (unsigned)sorted[i]);
                    break;
                }
            }
            ret = -EINVAL;
            goto Exit;
        }
    }
    for (size_t i = 0; i != n; ++i)
        if (*ids[i] == 0)
            *ids[i] = ++max;
    ret = 0;
Exit:
    free(sorted);
    return ret;
}

static void lower(char *s)
{
    for (; *s != '\0'; ++s)
        if (*s >= 'A' && *s <= 'Z')
            *s += 'a' - 'A';
}

static void upper(char *s)
{
    for (; *s != '\0'; ++s)
        if (*s >= 'a' && *s <= 'z')
            *s -= 'a' - 'A';
}

static int check_codes(char (*codes)[3], size_t n, int countries, const char *prefix, catalog_error_t *err)
{
    for (size_t i = 0; i != n; ++i) {
        char *c = codes[i];
        c[2] = '\0';
        upper(c);
        if (countries) {
            if (bouncer__country_pack(c, strlen(c)) == 0) {
                catalog__set_error(err, "%s.countries[%zu]: must be an ISO 3166 alpha-2 code", prefix, i);
                return -EINVAL;
            }
        } else if (bouncer__continent_bit(c, strlen(c)) == 0) {
            catalog__set_error(err, "%s.continents[%zu]: must be one of AF AN AS EU NA OC SA", prefix, i);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_strlist(const catalog_strlist_t *l, const char *prefix, const char *field, catalog_error_t *err)
{
    for (size_t i = 0; i != l->count; ++i) {
        size_t len = strlen(l->items[i]);
        if (len == 0 || len > 512) {
            catalog__set_error(err, "%s.%s[%zu]: must be 1 to 512 characters", prefix, field, i);
            return -EINVAL;
        }
    }
    return 0;
}

static int validate_rule(catalog_rule_t *r, size_t i, catalog_error_t *err)
{
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "rules[%zu]", i);
    if (r->name == NULL || r->name[0] == '\0' || strlen(r->name) > CATALOG_NAME_MAX) {
        catalog__set_error(err, "%s.name: required, at most %d characters", prefix, CATALOG_NAME_MAX);
        return -EINVAL;
    }
    if (r->set_product == NULL && r->set_os == NULL) {
        catalog__set_error(err, "%s: needs set_product or set_os", prefix);
        return -EINVAL;
    }
    if (r->set_product != NULL) {
        if (!catalog_product_name_is_valid(r->set_product, strlen(r->set_product))) {
            catalog__set_error(err, "%s.set_product: invalid product name", prefix);
            return -EINVAL;
        }
        lower(r->set_product);
    }
    if (r->set_os != NULL) {
        if (!catalog_os_name_is_valid(r->set_os, strlen(r->set_os))) {
            catalog__set_error(err, "%s.set_os: invalid os name", prefix);
            return -EINVAL;
        }
        lower(r->set_os);
    }
    if (r->ua_equals != NULL && strlen(r->ua_equals) > 512) {
        catalog__set_error(err, "%s.ua_equals: at most 512 characters", prefix);
        return -EINVAL;
    }
#define CHECK(f)                                                                                                             \
    if (check_strlist(&r->f, prefix, #f, err) != 0)                                                                          \
        return -EINVAL;
    CHECK(ua_contains)
    CHECK(ua_contains_also)
    CHECK(ua_not_contains)
    CHECK(product_equals)
    CHECK(product_prefix)
    CHECK(product_contains)
    CHECK(product_excludes)
    CHECK(os)
    CHECK(referer_prefix)
    CHECK(referer_not_prefix)
#undef CHECK
    return 0;
}

int catalog_validate(catalog_t *cat, catalog_error_t *err)
{
    int ret = -EINVAL;
    keyed_t *prods = NULL, *locs = NULL, *tmp = NULL, *mirrors = NULL;
    uint32_t **ids = NULL;
    size_t dup, maxn;

    maxn = cat->num_products;
    if (cat->num_locations > maxn)
        maxn = cat->num_locations;
    if (cat->num_mirrors > maxn)
        maxn = cat->num_mirrors;
    if (cat->num_aliases > maxn)
        maxn = cat->num_aliases;
    if (cat->num_oses > maxn)
        maxn = cat->num_oses;
    if ((prods = malloc((cat->num_products + 1) * sizeof(*prods))) == NULL ||
        (locs = malloc((cat->num_locations + 1) * sizeof(*locs))) == NULL ||
        (mirrors = malloc((cat->num_mirrors + 1) * sizeof(*mirrors))) == NULL ||
        (tmp = malloc((maxn + 1) * sizeof(*tmp))) == NULL || (ids = malloc((maxn + 1) * sizeof(*ids))) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }

    /* OS names: valid, lower case, unique */
    if (cat->num_oses > 65535) {
        catalog__set_error(err, "oses: too many");
        goto Exit;
    }
    for (size_t i = 0; i != cat->num_oses; ++i) {
        if (!catalog_os_name_is_valid(cat->oses[i], strlen(cat->oses[i]))) {
            catalog__set_error(err, "oses[%zu]: invalid os name (letters, digits, '-', '_', '.'; at most %d)", i, CATALOG_OS_MAX);
            goto Exit;
        }
        lower(cat->oses[i]);
        tmp[i] = (keyed_t){cat->oses[i], NULL, i};
    }
    qsort(tmp, cat->num_oses, sizeof(*tmp), cmp_keyed);
    if (keyed_first_dup(tmp, cat->num_oses, &dup)) {
        catalog__set_error(err, "oses[%zu]: duplicate os name", dup);
        goto Exit;
    }

    /* products */
    for (size_t i = 0; i != cat->num_products; ++i) {
        catalog_product_t *p = cat->products + i;
        if (!catalog_product_name_is_valid(p->name, strlen(p->name))) {
            catalog__set_error(err, "products[%zu].name: invalid product name (letters, digits, '-', '_', '.', '+', '~'; at most %d)", i,
                      CATALOG_NAME_MAX);
            goto Exit;
        }
        if (p->num_languages > 65535) {
            catalog__set_error(err, "products[%zu].languages: too many", i);
            goto Exit;
        }
        for (size_t j = 0; j != p->num_languages; ++j) {
            if (!catalog_lang_is_valid(p->languages[j], strlen(p->languages[j]))) {
                catalog__set_error(err, "products[%zu].languages[%zu]: invalid language tag (letters, digits, '-'; at most %d)", i, j,
                          CATALOG_LANG_MAX);
                goto Exit;
            }
        }
        if (p->num_languages > 1) {
            keyed_t *l = malloc(p->num_languages * sizeof(*l));
            if (l == NULL) {
                ret = -ENOMEM;
                goto Exit;
            }
            for (size_t j = 0; j != p->num_languages; ++j)
                l[j] = (keyed_t){p->languages[j], NULL, j};
            qsort(l, p->num_languages, sizeof(*l), cmp_keyed);
            int d = keyed_first_dup(l, p->num_languages, &dup);
            free(l);
            if (d) {
                catalog__set_error(err, "products[%zu].languages[%zu]: duplicate language", i, dup);
                goto Exit;
            }
        }
        prods[i] = (keyed_t){p->name, NULL, i};
        ids[i] = &p->id;
    }
    qsort(prods, cat->num_products, sizeof(*prods), cmp_keyed);
    if (keyed_first_dup(prods, cat->num_products, &dup)) {
        catalog__set_error(err, "products[%zu].name: duplicate product name", dup);
        goto Exit;
    }
    if ((ret = fix_ids(ids, cat->num_products, "products", err)) != 0)
        goto Exit;
    ret = -EINVAL;

    /* OS lookup by sorted keys */
    for (size_t i = 0; i != cat->num_oses; ++i)
        tmp[i] = (keyed_t){cat->oses[i], NULL, i};
    qsort(tmp, cat->num_oses, sizeof(*tmp), cmp_keyed);

    /* locations */
    for (size_t i = 0; i != cat->num_locations; ++i) {
        catalog_location_t *l = cat->locations + i;
        if (keyed_find(prods, cat->num_products, l->product, NULL) == NULL) {
            catalog__set_error(err, "locations[%zu].product: no such product", i);
            goto Exit;
        }
        lower(l->os);
        if (keyed_find(tmp, cat->num_oses, l->os, NULL) == NULL) {
            catalog__set_error(err, "locations[%zu].os: no such os", i);
            goto Exit;
        }
        if (!catalog_path_is_valid(l->path, strlen(l->path))) {
            catalog__set_error(err, "locations[%zu].path: must be a %%-encoded path of visible ASCII (no spaces, '#', quotes), at most %d",
                      i, CATALOG_PATH_MAX);
            goto Exit;
        }
        locs[i] = (keyed_t){l->product, l->os, i};
        ids[i] = &l->id;
    }
    qsort(locs, cat->num_locations, sizeof(*locs), cmp_keyed);
    if (keyed_first_dup(locs, cat->num_locations, &dup)) {
        catalog__set_error(err, "locations[%zu]: a location for this product and os already exists", dup);
        goto Exit;
    }
    if ((ret = fix_ids(ids, cat->num_locations, "locations", err)) != 0)
        goto Exit;
    ret = -EINVAL;

    /* aliases */
    for (size_t i = 0; i != cat->num_aliases; ++i) {
        catalog_alias_t *a = cat->aliases + i;
        if (!catalog_product_name_is_valid(a->alias, strlen(a->alias))) {
            catalog__set_error(err, "aliases[%zu].alias: invalid alias name", i);
            goto Exit;
        }
        if (keyed_find(prods, cat->num_products, a->alias, NULL) != NULL) {
            catalog__set_error(err, "aliases[%zu].alias: equals a product name", i);
            goto Exit;
        }
        if (keyed_find(prods, cat->num_products, a->product, NULL) == NULL) {
            catalog__set_error(err, "aliases[%zu].product: no such product", i);
            goto Exit;
        }
        tmp[i] = (keyed_t){a->alias, NULL, i};
    }
    qsort(tmp, cat->num_aliases, sizeof(*tmp), cmp_keyed);
    if (keyed_first_dup(tmp, cat->num_aliases, &dup)) {
        catalog__set_error(err, "aliases[%zu].alias: duplicate alias", dup);
        goto Exit;
    }

    /* mirrors */
    if (cat->num_mirrors > CATALOG_MIRRORS_MAX) {
        catalog__set_error(err, "mirrors: more than %d", CATALOG_MIRRORS_MAX);
        goto Exit;
    }
    for (size_t i = 0; i != cat->num_mirrors; ++i) {
        catalog_mirror_t *m = cat->mirrors + i;
        char prefix[48];
        const char *why;
        snprintf(prefix, sizeof(prefix), "mirrors[%zu]", i);
        if (!catalog_product_name_is_valid(m->name, strlen(m->name))) {
            catalog__set_error(err, "%s.name: invalid mirror name (letters, digits, '-', '_', '.', '+', '~')", prefix);
            goto Exit;
        }
        if ((why = catalog_base_url_check(m->base_url)) != NULL) {
            catalog__set_error(err, "%s.base_url: %s", prefix, why);
            goto Exit;
        }
        if (m->num_countries > 255) {
            catalog__set_error(err, "%s.countries: too many", prefix);
            goto Exit;
        }
        if (check_codes(m->countries, m->num_countries, 1, prefix, err) != 0 ||
            check_codes(m->continents, m->num_continents, 0, prefix, err) != 0)
            goto Exit;
        mirrors[i] = (keyed_t){m->name, NULL, i};
        ids[i] = &m->id;
    }
    qsort(mirrors, cat->num_mirrors, sizeof(*mirrors), cmp_keyed);
    if (keyed_first_dup(mirrors, cat->num_mirrors, &dup)) {
        catalog__set_error(err, "mirrors[%zu].name: duplicate mirror name", dup);
        goto Exit;
    }
    if ((ret = fix_ids(ids, cat->num_mirrors, "mirrors", err)) != 0)
        goto Exit;
    ret = -EINVAL;

    /* rules */
    for (size_t i = 0; i != cat->num_rules; ++i)
        if (validate_rule(cat->rules + i, i, err) != 0)
            goto Exit;

    /* health */
    for (size_t i = 0; i != cat->num_health; ++i) {
        catalog_health_t *h = cat->health + i;
        lower(h->os);
        if (keyed_find(mirrors, cat->num_mirrors, h->mirror, NULL) == NULL) {
            catalog__set_error(err, "health[%zu].mirror: no such mirror", i);
            goto Exit;
        }
        if (keyed_find(locs, cat->num_locations, h->product, h->os) == NULL) {
            catalog__set_error(err, "health[%zu]: no location for this product and os", i);
            goto Exit;
        }
        if (h->reason != NULL && strlen(h->reason) > 512)
            h->reason[512] = '\0';
    }
    ret = 0;

Exit:
    free(prods);
    free(locs);
    free(mirrors);
    free(tmp);
    free(ids);
    return ret;
}
