// SPDX-License-Identifier: MIT
/*
 * snapshot: building the immutable catalog index, its lookups and its read-only accessors
 * (uptake, counts); publishing it to readers is in snapshot_publish.c.
 *
 * Build (admin/health thread): strings and small arrays go to a chunked arena owned by the
 * snapshot, so freeing it is a walk over a few chunks. Lookups use open-addressing tables of
 * uint32 indexes hashed case-insensitively. Candidate lists: the "every enabled mirror" list of
 * each scheme is stored once; a location with health records gets a list derived from it
 * (absent mirrors dropped, unhealthy ones flagged) and identical derived lists are interned, so
 * memory grows with the number of distinct health situations, not with locations x mirrors.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bouncer/snapshot.h"
#include "bouncer/internal.h"

/* ---- arena ---- */

struct st_snapshot_chunk_t {
    struct st_snapshot_chunk_t *next;
    size_t size, used;
    _Alignas(16) char data[];
};

#define CHUNK_SIZE (1024 * 1024)

static void *arena_alloc(snapshot_t *snap, size_t size)
{
    struct st_snapshot_chunk_t *c = snap->_chunks;
    size = (size + 15) & ~(size_t)15;
    if (c != NULL)
        c->used = (c->used + 15) & ~(size_t)15; /* strings are packed; realign */
    if (c == NULL || c->used > c->size || c->size - c->used < size) {
        size_t csize = size > CHUNK_SIZE ? size : CHUNK_SIZE;
        if ((c = malloc(sizeof(*c) + csize)) == NULL)
            return NULL;
        c->size = csize;
        c->used = 0;
        c->next = snap->_chunks;
        snap->_chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static int arena_str(snapshot_t *snap, const char *s, int lowercase, snapshot_str_t *out)
{
    size_t len = strlen(s);
    char *p;
    /* strings are packed: no alignment padding */
    struct st_snapshot_chunk_t *c = snap->_chunks;
    if (c != NULL && c->size - c->used >= len + 1) {
        p = c->data + c->used;
        c->used += len + 1;
    } else if ((p = arena_alloc(snap, len + 1)) == NULL) {
        return -ENOMEM;
    }
    memcpy(p, s, len + 1);
    if (lowercase)
        for (size_t i = 0; i != len; ++i)
            if (p[i] >= 'A' && p[i] <= 'Z')
                p[i] += 'a' - 'A';
    out->ptr = p;
    out->len = (uint32_t)len;
    return 0;
}

/* ---- small helpers shared with the module ---- */

uint16_t bouncer__country_pack(const char *s, size_t len)
{
    if (len != 2)
        return 0;
    char a = s[0], b = s[1];
    if (a >= 'a' && a <= 'z')
        a -= 'a' - 'A';
    if (b >= 'a' && b <= 'z')
        b -= 'a' - 'A';
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
        return 0;
    return (uint16_t)((unsigned)a << 8 | (unsigned)b);
}

uint8_t bouncer__continent_bit(const char *s, size_t len)
{
    static const char names[][3] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    if (len != 2)
        return 0;
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i)
        if (strncasecmp(names[i], s, 2) == 0)
            return (uint8_t)(1u << i);
    return 0;
}

/* ---- hash tables ---- */

#define HASH_EMPTY UINT64_MAX

static int hash_init(snapshot_t *snap, snapshot_hash_t *h, uint32_t n)
{
    uint32_t cap = 8;
    while (cap < n * 2 + 1)
        cap *= 2;
    if ((h->slots = arena_alloc(snap, cap * sizeof(*h->slots))) == NULL)
        return -ENOMEM;
    memset(h->slots, 0xff, cap * sizeof(*h->slots));
    h->mask = cap - 1;
    return 0;
}

/* Elements of base have a snapshot_str_t key as first member, stride bytes apart. */
static const snapshot_str_t *key_at(const void *base, size_t stride, uint32_t i)
{
    return (const snapshot_str_t *)((const char *)base + stride * i);
}

/* The slot holding name, or the empty slot where it would go. */
static uint64_t *hash_probe(const snapshot_hash_t *h, const void *base, size_t stride, const char *name, size_t len, uint32_t hash)
{
    for (uint32_t pos = hash & h->mask;; pos = (pos + 1) & h->mask) {
        uint64_t slot = h->slots[pos];
        if (slot == HASH_EMPTY)
            return h->slots + pos;
        if ((uint32_t)(slot >> 32) == hash) {
            const snapshot_str_t *o = key_at(base, stride, (uint32_t)slot);
            if (bouncer__eq_ci(o->ptr, o->len, name, len))
                return h->slots + pos;
        }
    }
}

static void hash_insert(snapshot_hash_t *h, const void *base, size_t stride, uint32_t idx)
{
    const snapshot_str_t *k = key_at(base, stride, idx);
    uint32_t hash = bouncer__hash_ci(k->ptr, k->len);
    uint64_t *slot = hash_probe(h, base, stride, k->ptr, k->len, hash);
    if (*slot == HASH_EMPTY) /* else a duplicate: the first one wins */
        *slot = (uint64_t)hash << 32 | idx;
}

static uint32_t hash_find_hashed(const snapshot_hash_t *h, const void *base, size_t stride, const char *name, size_t len,
                                 uint32_t hash)
{
    if (h->slots == NULL)
        return UINT32_MAX;
    uint64_t slot = *hash_probe(h, base, stride, name, len, hash);
    return slot == HASH_EMPTY ? UINT32_MAX : (uint32_t)slot;
}

static uint32_t hash_find(const snapshot_hash_t *h, const void *base, size_t stride, const char *name, size_t len)
{
    return hash_find_hashed(h, base, stride, name, len, bouncer__hash_ci(name, len));
}

uint32_t snapshot__find_product(const snapshot_t *snap, const char *name, size_t len)
{
    return hash_find(&snap->product_index, snap->products, sizeof(*snap->products), name, len);
}

uint32_t snapshot__find_os(const snapshot_t *snap, const char *name, size_t len)
{
    return hash_find(&snap->os_index, snap->oses, sizeof(*snap->oses), name, len);
}

uint32_t snapshot__find_alias(const snapshot_t *snap, const char *name, size_t len)
{
    return hash_find(&snap->alias_index, snap->aliases, sizeof(*snap->aliases), name, len);
}

uint32_t snapshot__find_alias_or_product(const snapshot_t *snap, const char *name, size_t len, uint32_t *alias)
{
    uint32_t hash = bouncer__hash_ci(name, len);
    if ((*alias = hash_find_hashed(&snap->alias_index, snap->aliases, sizeof(*snap->aliases), name, len, hash)) != UINT32_MAX)
        return snap->aliases[*alias].product;
    return hash_find_hashed(&snap->product_index, snap->products, sizeof(*snap->products), name, len, hash);
}

/* ---- candidate list interning (build time only, malloc'd scratch) ---- */

typedef struct st_cand_pool_t {
    uint16_t *items;
    size_t count, cap;
    /* interning table: (offset, len) pairs, 0 len = empty slot */
    uint32_t *offsets;
    uint16_t *lens;
    uint32_t mask;
    size_t used;
} cand_pool_t;

static uint32_t list_hash(const uint16_t *l, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)n;
    for (size_t i = 0; i != n; ++i) {
        h ^= l[i];
        h *= 16777619u;
    }
    return h;
}

static int pool_grow_table(cand_pool_t *p)
{
    uint32_t ncap = p->mask == 0 ? 64 : (p->mask + 1) * 2;
    uint32_t *no = calloc(ncap, sizeof(*no));
    uint16_t *nl = calloc(ncap, sizeof(*nl));
    if (no == NULL || nl == NULL) {
        free(no);
        free(nl);
        return -ENOMEM;
    }
    for (uint32_t i = 0; p->offsets != NULL && i <= p->mask; ++i) {
        if (p->lens[i] == 0)
            continue;
        uint32_t pos = list_hash(p->items + p->offsets[i], p->lens[i]) & (ncap - 1);
        while (nl[pos] != 0)
            pos = (pos + 1) & (ncap - 1);
        no[pos] = p->offsets[i];
        nl[pos] = p->lens[i];
    }
    free(p->offsets);
    free(p->lens);
    p->offsets = no;
    p->lens = nl;
    p->mask = ncap - 1;
    return 0;
}

/* Stores list (or finds an identical one); *offset receives its position. Empty lists take no room. */
static int pool_intern(cand_pool_t *p, const uint16_t *l, size_t n, uint32_t *offset)
{
    if (n == 0) {
        *offset = 0;
        return 0;
    }
    if ((p->used + 1) * 2 > (size_t)p->mask + 1 && pool_grow_table(p) != 0)
        return -ENOMEM;
    uint32_t pos = list_hash(l, n) & p->mask;
    while (p->lens[pos] != 0) {
        if (p->lens[pos] == n && memcmp(p->items + p->offsets[pos], l, n * sizeof(*l)) == 0) {
            *offset = p->offsets[pos];
            return 0;
        }
        pos = (pos + 1) & p->mask;
    }
    if (p->count + n > p->cap) {
        size_t ncap = p->cap == 0 ? 1024 : p->cap;
        while (ncap < p->count + n)
            ncap *= 2;
        uint16_t *ni = realloc(p->items, ncap * sizeof(*ni));
        if (ni == NULL)
            return -ENOMEM;
        p->items = ni;
        p->cap = ncap;
    }
    memcpy(p->items + p->count, l, n * sizeof(*l));
    p->offsets[pos] = (uint32_t)p->count;
    p->lens[pos] = (uint16_t)n;
    *offset = (uint32_t)p->count;
    p->count += n;
    ++p->used;
    return 0;
}

static void pool_dispose(cand_pool_t *p)
{
    free(p->items);
    free(p->offsets);
    free(p->lens);
}

/* A health record resolved to indexes. */
typedef struct st_hrec_t {
    uint32_t location;
    uint16_t mirror;
    uint8_t state;
} hrec_t;

static int cmp_hrec(const void *x, const void *y)
{
    const hrec_t *a = x, *b = y;
    if (a->location != b->location)
        return a->location < b->location ? -1 : 1;
    return (a->mirror > b->mirror) - (a->mirror < b->mirror);
}

static uint32_t find_location(const snapshot_t *snap, uint32_t product, uint32_t os)
{
    const snapshot_product_t *p = snap->products + product;
    for (uint32_t i = 0; i != p->num_locations; ++i)
        if (snap->locations[p->locations + i].os == os)
            return p->locations + i;
    return UINT32_MAX;
}

/* Builds the candidate lists of one location from the default lists and its sorted health records. */
static int location_cands(snapshot_t *snap, cand_pool_t *pool, const uint16_t *defaults[2], const size_t ndefaults[2],
                          const hrec_t *recs, size_t nrecs, uint16_t *scratch, snapshot_location_t *loc)
{
    for (int scheme = 0; scheme != 2; ++scheme) {
        size_t n = 0, r = 0;
        for (size_t i = 0; i != ndefaults[scheme]; ++i) {
            uint16_t m = defaults[scheme][i];
            while (r != nrecs && recs[r].mirror < m)
                ++r;
            if (r != nrecs && recs[r].mirror == m) {
                if (recs[r].state == CATALOG_HEALTH_ABSENT)
                    continue;
                if (recs[r].state == CATALOG_HEALTH_UNHEALTHY)
                    m |= SNAPSHOT_CAND_UNHEALTHY;
            }
            scratch[n++] = m;
        }
        uint32_t off;
        if (pool_intern(pool, scratch, n, &off) != 0)
            return -ENOMEM;
        if (scheme == 0) {
            loc->https = off;
            loc->num_https = (uint16_t)n;
        } else {
            loc->http = off;
            loc->num_http = (uint16_t)n;
        }
    }
    return 0;
}

static int copy_strs(snapshot_t *snap, const catalog_strlist_t *l, int lowercase, snapshot_strs_t *out)
{
    snapshot_str_t *items = NULL;
    out->items = NULL;
    out->count = 0;
    if (l->count == 0)
        return 0;
    if ((items = arena_alloc(snap, l->count * sizeof(*items))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i != l->count; ++i)
        if (arena_str(snap, l->items[i], lowercase, items + i) != 0)
            return -ENOMEM;
    out->items = items;
    out->count = (uint32_t)l->count;
    return 0;
}

static int build_rules(snapshot_t *snap, const catalog_t *cat)
{
    if (cat->num_rules == 0)
        return 0;
    if ((snap->rules = arena_alloc(snap, cat->num_rules * sizeof(*snap->rules))) == NULL)
        return -ENOMEM;
    memset(snap->rules, 0, cat->num_rules * sizeof(*snap->rules));
    for (size_t i = 0; i != cat->num_rules; ++i) {
        const catalog_rule_t *r = cat->rules + i;
        snapshot_rule_t *o = snap->rules + i;
        o->final = r->final;
        if (arena_str(snap, r->name, 0, &o->name) != 0 || (r->ua_equals != NULL && arena_str(snap, r->ua_equals, 0, &o->ua_equals) != 0) ||
            (r->set_product != NULL && arena_str(snap, r->set_product, 1, &o->set_product) != 0) ||
            (r->set_os != NULL && arena_str(snap, r->set_os, 1, &o->set_os) != 0) ||
            copy_strs(snap, &r->ua_contains, 0, &o->ua_contains) != 0 ||
            copy_strs(snap, &r->ua_contains_also, 0, &o->ua_contains_also) != 0 ||
            copy_strs(snap, &r->ua_not_contains, 0, &o->ua_not_contains) != 0 ||
            copy_strs(snap, &r->product_equals, 1, &o->product_equals) != 0 ||
            copy_strs(snap, &r->product_prefix, 1, &o->product_prefix) != 0 ||
            copy_strs(snap, &r->product_contains, 1, &o->product_contains) != 0 ||
            copy_strs(snap, &r->product_excludes, 1, &o->product_excludes) != 0 || copy_strs(snap, &r->os, 1, &o->os) != 0 ||
            copy_strs(snap, &r->referer_prefix, 0, &o->referer_prefix) != 0 ||
            copy_strs(snap, &r->referer_not_prefix, 0, &o->referer_not_prefix) != 0)
            return -ENOMEM;
    }
    snap->num_rules = (uint32_t)cat->num_rules;
    return 0;
}

static uint64_t now_usec(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int snapshot_build(const catalog_t *cat, snapshot_t **out)
{
    int ret = -ENOMEM;
    uint64_t start = now_usec(CLOCK_MONOTONIC);
    snapshot_t *snap = NULL;
    snapshot_hash_t langs_index = {NULL, 0}, mirror_index = {NULL, 0};
    uint32_t *loc_fill = NULL, *loc_map = NULL;
    uint16_t *defaults_buf = NULL, *scratch = NULL;
    hrec_t *recs = NULL;
    size_t nrecs = 0, total_langs = 0;
    cand_pool_t pool = {0};
    snapshot_str_t *langs_tmp = NULL;

    *out = NULL;
    if ((snap = calloc(1, sizeof(*snap))) == NULL)
        goto Exit;
    static _Atomic uint64_t last_serial;
    snap->serial = atomic_fetch_add(&last_serial, 1) + 1;
    if (cat->num_oses > 65535 || cat->num_mirrors > CATALOG_MIRRORS_MAX) {
        ret = -E2BIG;
        goto Exit;
    }

    /* OS names */
    snap->num_oses = (uint32_t)cat->num_oses;
    if ((snap->oses = arena_alloc(snap, (cat->num_oses + 1) * sizeof(*snap->oses))) == NULL ||
        hash_init(snap, &snap->os_index, snap->num_oses) != 0)
        goto Exit;
    for (uint32_t i = 0; i != snap->num_oses; ++i) {
        if (arena_str(snap, cat->oses[i], 1, snap->oses + i) != 0)
            goto Exit;
        hash_insert(&snap->os_index, snap->oses, sizeof(*snap->oses), i);
    }

    /* products and their interned languages */
    for (size_t i = 0; i != cat->num_products; ++i)
        total_langs += cat->products[i].num_languages;
    snap->num_products = (uint32_t)cat->num_products;
    if ((snap->products = arena_alloc(snap, (cat->num_products + 1) * sizeof(*snap->products))) == NULL ||
        hash_init(snap, &snap->product_index, snap->num_products) != 0 ||
        (snap->product_langs = arena_alloc(snap, (total_langs + 1) * sizeof(uint16_t))) == NULL ||
        (langs_tmp = malloc(65536 * sizeof(*langs_tmp))) == NULL)
        goto Exit;
    {
        /* the language table is sized for the 16-bit limit; it is scratch and freed below */
        uint32_t cap = 1u << 17;
        if ((langs_index.slots = malloc(cap * sizeof(*langs_index.slots))) == NULL)
            goto Exit;
        memset(langs_index.slots, 0xff, cap * sizeof(*langs_index.slots));
        langs_index.mask = cap - 1;
    }
    size_t lang_pos = 0;
    for (uint32_t i = 0; i != snap->num_products; ++i) {
        const catalog_product_t *cp = cat->products + i;
        snapshot_product_t *p = snap->products + i;
        memset(p, 0, sizeof(*p));
        if (arena_str(snap, cp->name, 0, &p->name) != 0)
            goto Exit;
        p->ssl_only = cp->ssl_only != 0;
        p->active = cp->active != 0;
        p->languages = (uint32_t)lang_pos;
        p->num_languages = (uint16_t)cp->num_languages;
        for (size_t j = 0; j != cp->num_languages; ++j) {
            const char *l = cp->languages[j];
            size_t len = strlen(l);
            uint32_t id = hash_find(&langs_index, langs_tmp, sizeof(*langs_tmp), l, len);
            if (id == UINT32_MAX) {
                if (snap->num_langs == 65535) {
                    ret = -E2BIG;
                    goto Exit;
                }
                id = snap->num_langs++;
                if (arena_str(snap, l, 0, langs_tmp + id) != 0)
                    goto Exit;
                hash_insert(&langs_index, langs_tmp, sizeof(*langs_tmp), id);
            }
            snap->product_langs[lang_pos++] = (uint16_t)id;
        }
        hash_insert(&snap->product_index, snap->products, sizeof(*snap->products), i);
    }
    if ((snap->langs = arena_alloc(snap, (snap->num_langs + 1) * sizeof(*snap->langs))) == NULL)
        goto Exit;
    memcpy(snap->langs, langs_tmp, snap->num_langs * sizeof(*snap->langs));

    /* locations, grouped by product */
    if ((loc_map = malloc((cat->num_locations + 1) * sizeof(*loc_map))) == NULL ||
        (loc_fill = calloc(snap->num_products + 1, sizeof(*loc_fill))) == NULL ||
        (snap->locations = arena_alloc(snap, (cat->num_locations + 1) * sizeof(*snap->locations))) == NULL)
        goto Exit;
    for (size_t i = 0; i != cat->num_locations; ++i) {
        const catalog_location_t *l = cat->locations + i;
        uint32_t p = snapshot__find_product(snap, l->product, strlen(l->product));
        uint32_t o = snapshot__find_os(snap, l->os, strlen(l->os));
        loc_map[i] = UINT32_MAX;
        if (p == UINT32_MAX || o == UINT32_MAX || snap->products[p].num_locations == 65535)
            continue; /* dangling (validation prevents it) */
        loc_map[i] = p; /* product for now */
        ++snap->products[p].num_locations;
    }
    {
        uint32_t pos = 0;
        for (uint32_t p = 0; p != snap->num_products; ++p) {
            snap->products[p].locations = pos;
            loc_fill[p] = pos;
            pos += snap->products[p].num_locations;
        }
        snap->num_locations = pos;
    }
    for (size_t i = 0; i != cat->num_locations; ++i) {
        if (loc_map[i] == UINT32_MAX)
            continue;
        const catalog_location_t *l = cat->locations + i;
        uint32_t p = loc_map[i], idx = loc_fill[p]++;
        snapshot_location_t *sl = snap->locations + idx;
        memset(sl, 0, sizeof(*sl));
        sl->product = p;
        sl->os = (uint16_t)snapshot__find_os(snap, l->os, strlen(l->os));
        if (arena_str(snap, l->path, 0, &sl->path) != 0)
            goto Exit;
        loc_map[i] = idx;
    }

    /* aliases */
    if ((snap->aliases = arena_alloc(snap, (cat->num_aliases + 1) * sizeof(*snap->aliases))) == NULL ||
        hash_init(snap, &snap->alias_index, (uint32_t)cat->num_aliases) != 0)
        goto Exit;
    for (size_t i = 0; i != cat->num_aliases; ++i) {
        const catalog_alias_t *a = cat->aliases + i;
        uint32_t p = snapshot__find_product(snap, a->product, strlen(a->product));
        if (p == UINT32_MAX)
            continue;
        snapshot_alias_t *sa = snap->aliases + snap->num_aliases;
        if (arena_str(snap, a->alias, 0, &sa->alias) != 0)
            goto Exit;
        sa->product = p;
        hash_insert(&snap->alias_index, snap->aliases, sizeof(*snap->aliases), snap->num_aliases++);
    }

    /* mirrors */
    snap->num_mirrors = (uint32_t)cat->num_mirrors;
    if ((snap->mirrors = arena_alloc(snap, (cat->num_mirrors + 1) * sizeof(*snap->mirrors))) == NULL ||
        (snap->mirror_geo = arena_alloc(snap, (cat->num_mirrors + 1) * sizeof(*snap->mirror_geo))) == NULL ||
        hash_init(snap, &mirror_index, snap->num_mirrors) != 0)
        goto Exit;
    for (uint32_t i = 0; i != snap->num_mirrors; ++i) {
        const catalog_mirror_t *cm = cat->mirrors + i;
        snapshot_mirror_t *m = snap->mirrors + i;
        memset(m, 0, sizeof(*m));
        if (arena_str(snap, cm->name, 0, &m->name) != 0 || arena_str(snap, cm->base_url, 0, &m->base_url) != 0)
            goto Exit;
        m->weight = cm->weight;
        m->enabled = cm->enabled != 0;
        m->https = strncasecmp(cm->base_url, "https://", 8) == 0;
        for (size_t j = 0; j != cm->num_continents; ++j)
            m->continents |= bouncer__continent_bit(cm->continents[j], strlen(cm->continents[j]));
        if (cm->num_countries != 0) {
            size_t n = cm->num_countries > 255 ? 255 : cm->num_countries;
            if ((m->countries = arena_alloc(snap, n * sizeof(uint16_t))) == NULL)
                goto Exit;
            for (size_t j = 0; j != n; ++j) {
                uint16_t c = bouncer__country_pack(cm->countries[j], strlen(cm->countries[j]));
                if (c != 0)
                    m->countries[m->num_countries++] = c;
            }
        }
        snap->mirror_geo[i] = (snapshot_mirror_geo_t){m->weight, m->continents, m->num_countries};
        hash_insert(&mirror_index, snap->mirrors, sizeof(*snap->mirrors), i);
    }

    /* default candidate lists: every enabled mirror of each scheme (index 0: https, 1: http) */
    const uint16_t *defaults[2];
    size_t ndefaults[2] = {0, 0};
    if ((defaults_buf = malloc((2 * snap->num_mirrors + 1) * sizeof(uint16_t))) == NULL ||
        (scratch = malloc((snap->num_mirrors + 1) * sizeof(uint16_t))) == NULL)
        goto Exit;
    defaults[0] = defaults_buf;
    defaults[1] = defaults_buf + snap->num_mirrors;
    for (uint32_t i = 0; i != snap->num_mirrors; ++i) {
        if (!snap->mirrors[i].enabled)
            continue;
        int s = snap->mirrors[i].https ? 0 : 1;
        defaults_buf[s * snap->num_mirrors + ndefaults[s]++] = (uint16_t)i;
    }

    /* health records -> (location, mirror, state), sorted */
    if ((recs = malloc((cat->num_health + 1) * sizeof(*recs))) == NULL)
        goto Exit;
    for (size_t i = 0; i != cat->num_health; ++i) {
        const catalog_health_t *h = cat->health + i;
        uint32_t m = hash_find(&mirror_index, snap->mirrors, sizeof(*snap->mirrors), h->mirror, strlen(h->mirror));
        uint32_t p = snapshot__find_product(snap, h->product, strlen(h->product));
        uint32_t o = snapshot__find_os(snap, h->os, strlen(h->os));
        uint32_t l = (p == UINT32_MAX || o == UINT32_MAX) ? UINT32_MAX : find_location(snap, p, o);
        if (m == UINT32_MAX || l == UINT32_MAX || h->state == CATALOG_HEALTH_HEALTHY)
            continue; /* healthy is the default */
        recs[nrecs++] = (hrec_t){l, (uint16_t)m, (uint8_t)h->state};
    }
    qsort(recs, nrecs, sizeof(*recs), cmp_hrec);

    /* the default lists go first in the pool, then one list per distinct health situation */
    {
        uint32_t off[2];
        if (pool_intern(&pool, defaults[0], ndefaults[0], &off[0]) != 0 ||
            pool_intern(&pool, defaults[1], ndefaults[1], &off[1]) != 0)
            goto Exit;
        size_t r = 0;
        for (uint32_t l = 0; l != snap->num_locations; ++l) {
            snapshot_location_t *sl = snap->locations + l;
            if (r == nrecs || recs[r].location != l) {
                sl->https = off[0];
                sl->num_https = (uint16_t)ndefaults[0];
                sl->http = off[1];
                sl->num_http = (uint16_t)ndefaults[1];
                continue;
            }
            size_t first = r;
            while (r != nrecs && recs[r].location == l)
                ++r;
            if (location_cands(snap, &pool, defaults, ndefaults, recs + first, r - first, scratch, sl) != 0)
                goto Exit;
        }
    }
    snap->num_cands = (uint32_t)pool.count;
    if ((snap->cands = arena_alloc(snap, (pool.count + 1) * sizeof(uint16_t))) == NULL)
        goto Exit;
    if (pool.count != 0)
        memcpy(snap->cands, pool.items, pool.count * sizeof(uint16_t));

    if ((ret = build_rules(snap, cat)) != 0)
        goto Exit;

    snap->built_at_usec = (int64_t)now_usec(CLOCK_REALTIME);
    snap->build_usec = now_usec(CLOCK_MONOTONIC) - start;
    *out = snap;
    snap = NULL;
    ret = 0;

Exit:
    snapshot_destroy(snap);
    free(langs_index.slots);
    free(langs_tmp);
    free(loc_fill);
    free(loc_map);
    free(defaults_buf);
    free(scratch);
    free(recs);
    pool_dispose(&pool);
    return ret;
}

void snapshot_destroy(snapshot_t *snap)
{
    if (snap == NULL)
        return;
    struct st_snapshot_chunk_t *c = snap->_chunks;
    while (c != NULL) {
        struct st_snapshot_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(snap);
}

uint64_t snapshot_version(const snapshot_t *snap)
{
    return snap->version;
}

int64_t snapshot_built_at(const snapshot_t *snap)
{
    return snap->built_at_usec;
}

uint64_t snapshot_build_usec(const snapshot_t *snap)
{
    return snap->build_usec;
}

size_t snapshot_num_products(const snapshot_t *snap)
{
    return snap->num_products;
}

size_t snapshot_num_locations(const snapshot_t *snap)
{
    return snap->num_locations;
}

size_t snapshot_num_mirrors(const snapshot_t *snap)
{
    return snap->num_mirrors;
}

void snapshot_location_names(const snapshot_t *snap, size_t i, const char **product, const char **os)
{
    const snapshot_location_t *l = snap->locations + i;
    *product = snap->products[l->product].name.ptr;
    *os = snap->oses[l->os].ptr;
}

int snapshot_uptake(const snapshot_t *snap, const char *product, const char *os, uint64_t *available, uint64_t *total)
{
    uint32_t p = snapshot__find_product(snap, product, strlen(product));
    if (p == UINT32_MAX) {
        uint32_t a = snapshot__find_alias(snap, product, strlen(product));
        if (a != UINT32_MAX)
            p = snap->aliases[a].product;
    }
    uint32_t o = snapshot__find_os(snap, os, strlen(os));
    uint32_t l = (p == UINT32_MAX || o == UINT32_MAX) ? UINT32_MAX : find_location(snap, p, o);
    if (l == UINT32_MAX)
        return -ENOENT;
    int ssl_only = snap->products[p].ssl_only;
    const snapshot_location_t *loc = snap->locations + l;

    *available = 0;
    *total = 0;
    for (uint32_t i = 0; i != snap->num_mirrors; ++i)
        if (snap->mirrors[i].enabled && (!ssl_only || snap->mirrors[i].https))
            *total += snap->mirrors[i].weight;
    for (int s = 0; s != (ssl_only ? 1 : 2); ++s) {
        const uint16_t *c = snap->cands + (s == 0 ? loc->https : loc->http);
        uint32_t n = s == 0 ? loc->num_https : loc->num_http;
        for (uint32_t i = 0; i != n; ++i)
            if ((c[i] & SNAPSHOT_CAND_UNHEALTHY) == 0)
                *available += snap->mirrors[SNAPSHOT_CAND_INDEX(c[i])].weight;
    }
    return 0;
}
