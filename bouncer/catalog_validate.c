// SPDX-License-Identifier: MIT
/*
 * catalog_validate: catalog_validate(), the whole-catalog checks (names, URLs, paths, language
 * tags, country/continent codes, uniqueness, cross references, limits), id assignment and case
 * normalisation. The single-value checks it builds on are in catalog.c (catalog.h).
 *
 * Every error message starts with the JSON path of the offending value so an admin can find it
 * in a 50,000-product document. Uniqueness checks sort arrays of pointers instead of comparing
 * every pair, so validating a large catalog stays O(n log n).
 * Runs on admin and store threads only; nothing here is on the redirect path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "bouncer/catalog.h"
#include "bouncer/internal.h"

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

/* Sorts keys (names of what[i]) and refuses a duplicate name; then fix_ids(). */
static int check_names_and_ids(keyed_t *keys, uint32_t **ids, size_t n, const char *what, const char *noun, catalog_error_t *err)
{
    size_t dup = 0;
    qsort(keys, n, sizeof(*keys), cmp_keyed);
    if (keyed_first_dup(keys, n, &dup)) {
        catalog__set_error(err, "%s[%zu].name: duplicate %s name", what, dup, noun);
        return -EINVAL;
    }
    return fix_ids(ids, n, what, err);
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
    size_t dup = 0, maxn;

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
    if ((ret = check_names_and_ids(prods, ids, cat->num_products, "products", "product", err)) != 0)
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
    if ((ret = check_names_and_ids(mirrors, ids, cat->num_mirrors, "mirrors", "mirror", err)) != 0)
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
