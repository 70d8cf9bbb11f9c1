// SPDX-License-Identifier: MIT
/*
 * sentry_round: a health check round's working set, built from the loaded catalog alone: the
 * (mirror, location) pairs to check, the language each check uses and each pair's persisted state
 * from the store's health records. It does no I/O and takes no lock, so which pairs a catalog
 * yields does not depend on the thread, libcurl or the store; sentry.c loads the catalog, sorts
 * the pairs and probes them, sentry_apply.c judges them. Sentry thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bouncer/sentry_internal.h"

void sentry__round_dispose(round_t *r)
{
    for (size_t i = 0; i != r->num_mirrors; ++i)
        free(r->mirrors[i].root_reason);
    for (size_t i = 0; i != r->num_pairs; ++i)
        free(r->pairs[i].reason);
    free(r->mirrors);
    free(r->pairs);
    free(r->todo);
    catalog_destroy(r->cat);
}

static int cmp_product_ptr(const void *a, const void *b)
{
    return strcasecmp((*(const catalog_product_t *const *)a)->name, (*(const catalog_product_t *const *)b)->name);
}

static const catalog_product_t *find_product(const catalog_product_t *const *sorted, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(sorted[mid]->name, name);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * Lists the pairs: every enabled mirror x every location whose product it may serve (https://
 * mirrors serve every product, http:// mirrors only products that are not SSL-only), sorted by key.
 */
int sentry__build_round(round_t *r)
{
    const catalog_t *cat = r->cat;
    const catalog_product_t **products = NULL, **loc_product = NULL;
    size_t cap = 0;
    int ret = -ENOMEM;

    if ((products = malloc((cat->num_products + 1) * sizeof(*products))) == NULL ||
        (loc_product = calloc(cat->num_locations + 1, sizeof(*loc_product))) == NULL ||
        (r->mirrors = calloc(cat->num_mirrors + 1, sizeof(*r->mirrors))) == NULL)
        goto Exit;
    for (size_t i = 0; i != cat->num_products; ++i)
        products[i] = cat->products + i;
    qsort(products, cat->num_products, sizeof(*products), cmp_product_ptr);
    for (size_t l = 0; l != cat->num_locations; ++l)
        loc_product[l] = find_product(products, cat->num_products, cat->locations[l].product);

    for (size_t mi = 0; mi != cat->num_mirrors; ++mi) {
        const catalog_mirror_t *m = cat->mirrors + mi;
        int https = strncasecmp(m->base_url, "https://", 8) == 0;
        if (!m->enabled)
            continue;
        rmirror_t *rm = r->mirrors + r->num_mirrors;
        rm->m = m;
        rm->first = r->num_pairs;
        for (size_t l = 0; l != cat->num_locations; ++l) {
            const catalog_product_t *p = loc_product[l];
            if (p == NULL || (p->ssl_only && !https))
                continue;
            if (r->num_pairs == cap) {
                size_t ncap = cap == 0 ? 64 : cap * 2;
                pair_t *np = realloc(r->pairs, ncap * sizeof(*np));
                if (np == NULL)
                    goto Exit;
                r->pairs = np;
                cap = ncap;
            }
            pair_t *pr = r->pairs + r->num_pairs++;
            memset(pr, 0, sizeof(*pr));
            pr->key = (uint64_t)m->id << 32 | cat->locations[l].id;
            pr->mirror = (uint32_t)r->num_mirrors;
            pr->loc = (uint32_t)l;
            pr->lang = sentry_pick_lang((const char *const *)p->languages, p->num_languages);
            pr->persisted = CATALOG_HEALTH_HEALTHY; /* no record: healthy */
        }
        rm->count = r->num_pairs - rm->first;
        ++r->num_mirrors;
    }
    if ((r->todo = malloc((r->num_pairs + 1) * sizeof(*r->todo))) == NULL)
        goto Exit;
    ret = 0;
Exit:
    free(products);
    free(loc_product);
    return ret;
}

static int cmp_mirror_ptr(const void *a, const void *b)
{
    return strcasecmp((*(const catalog_mirror_t *const *)a)->name, (*(const catalog_mirror_t *const *)b)->name);
}

static int cmp_location_ptr(const void *a, const void *b)
{
    const catalog_location_t *x = *(const catalog_location_t *const *)a, *y = *(const catalog_location_t *const *)b;
    int c = strcasecmp(x->product, y->product);
    return c != 0 ? c : strcasecmp(x->os, y->os);
}

/*
 * Sets each pair's persisted state from the store's health records (looked up through sorted
 * indexes: a large catalog has many records). @return 0 or -ENOMEM.
 */
int sentry__apply_persisted(round_t *r)
{
    const catalog_t *cat = r->cat;
    const catalog_mirror_t **ms = NULL;
    const catalog_location_t **ls = NULL;
    int ret = -ENOMEM;

    if (cat->num_health == 0)
        return 0;
    if ((ms = malloc((cat->num_mirrors + 1) * sizeof(*ms))) == NULL ||
        (ls = malloc((cat->num_locations + 1) * sizeof(*ls))) == NULL)
        goto Exit;
    for (size_t i = 0; i != cat->num_mirrors; ++i)
        ms[i] = cat->mirrors + i;
    for (size_t i = 0; i != cat->num_locations; ++i)
        ls[i] = cat->locations + i;
    qsort(ms, cat->num_mirrors, sizeof(*ms), cmp_mirror_ptr);
    qsort(ls, cat->num_locations, sizeof(*ls), cmp_location_ptr);
    for (size_t h = 0; h != cat->num_health; ++h) {
        const catalog_health_t *rec = cat->health + h;
        catalog_mirror_t mkey = {.name = rec->mirror};
        catalog_location_t lkey = {.product = rec->product, .os = rec->os};
        const catalog_mirror_t *mk = &mkey, *const *m = bsearch(&mk, ms, cat->num_mirrors, sizeof(*ms), cmp_mirror_ptr);
        const catalog_location_t *lk = &lkey, *const *l = bsearch(&lk, ls, cat->num_locations, sizeof(*ls), cmp_location_ptr);
        pair_t *p;
        if (m == NULL || l == NULL || (p = sentry__find_key(r->pairs, r->num_pairs, sizeof(*r->pairs), (uint64_t)(*m)->id << 32 | (*l)->id)) == NULL)
            continue;
        p->persisted = rec->state;
    }
    ret = 0;
Exit:
    free(ms);
    free(ls);
    return ret;
}
