// SPDX-License-Identifier: MIT
/*
 * choose: weighted, geography-aware mirror choice over a location's candidate list.
 *
 * Two passes over the (short) candidate list: the first sums weights per (health class, tier),
 * the second walks the chosen class+tier to the mirror the random number points at. The target
 * is floor(random * total) in integer weight units, so mirror i is chosen for exactly weight_i
 * of the total possible targets: the probability is proportional to weight. A per-thread memo
 * (choose_memo_t) keeps the first pass's result for a list and a client's place.
 * Worker threads; no allocation (a memo is allocated once per thread).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bouncer/choose.h"
#include "bouncer/internal.h"

/* The tier a mirror serves this client in, or MIRROR_TIER_NONE when it may not serve it. */
static mirror_tier_t tier_of(const snapshot_t *snap, uint32_t mirror, uint16_t country, uint8_t continent)
{
    const snapshot_mirror_geo_t *g = snap->mirror_geo + mirror;
    if (g->num_countries == 0 && g->continents == 0)
        return MIRROR_TIER_ANY;
    if (country != 0 && g->num_countries != 0) {
        const snapshot_mirror_t *m = snap->mirrors + mirror;
        for (uint32_t i = 0; i != m->num_countries; ++i)
            if (m->countries[i] == country)
                return MIRROR_TIER_COUNTRY;
    }
    if ((g->continents & continent) != 0)
        return MIRROR_TIER_CONTINENT;
    return MIRROR_TIER_NONE;
}

/* Where a client's pick happens: a health class (0 healthy, 1 present but unhealthy) and tier, and its total weight. */
typedef struct st_bucket_t {
    int cls; /* -1: no mirror can serve */
    mirror_tier_t tier;
    uint64_t total;
} bucket_t;

/* The client's coordinates in the snapshot's packed forms. */
static void client_codes(const mirror_client_t *client, uint16_t *country, uint8_t *continent)
{
    *country = 0;
    *continent = 0;
    if (client != NULL) {
        if (client->country != NULL && client->country[0] != '\0')
            *country = bouncer__country_pack(client->country, strlen(client->country));
        if (client->continent != NULL && client->continent[0] != '\0')
            *continent = bouncer__continent_bit(client->continent, strlen(client->continent));
    }
}

/* First pass: weights per health class and tier; bucket[i] = unhealthy << 2 | tier of candidate i. */
static bucket_t find_bucket(const snapshot_t *snap, const uint16_t *cands, uint32_t n, uint16_t country, uint8_t continent,
                            int fail_open, uint8_t *bucket)
{
    uint64_t sums[2][4] = {{0}}; /* [unhealthy][tier] */
    for (uint32_t i = 0; i != n; ++i) {
        uint32_t mirror = SNAPSHOT_CAND_INDEX(cands[i]);
        int unhealthy = (cands[i] & SNAPSHOT_CAND_UNHEALTHY) != 0;
        mirror_tier_t t = tier_of(snap, mirror, country, continent);
        bucket[i] = (uint8_t)(unhealthy << 2 | t);
        sums[unhealthy][t] += snap->mirror_geo[mirror].weight;
    }
    /* healthy first, then (if allowed) present-but-unhealthy; nearest tier with weight */
    for (int c = 0; c != (fail_open ? 2 : 1); ++c)
        for (int t = MIRROR_TIER_COUNTRY; t <= MIRROR_TIER_ANY; ++t)
            if (sums[c][t] != 0)
                return (bucket_t){c, (mirror_tier_t)t, sums[c][t]};
    return (bucket_t){-1, MIRROR_TIER_NONE, 0};
}

/* floor(random * total) in weight units, so that candidate i is chosen for exactly weight_i of the targets. */
static uint64_t target_of(double random, uint64_t total)
{
    if (!(random >= 0)) /* also catches NaN */
        random = 0;
    uint64_t target = (uint64_t)(random * (double)total);
    return target < total ? target : total - 1;
}

static void fill_choice(const snapshot_t *snap, uint32_t mirror, const bucket_t *b, mirror_choice_t *out)
{
    const snapshot_mirror_t *m = snap->mirrors + mirror;
    out->mirror = mirror;
    out->name = m->name.ptr;
    out->name_len = m->name.len;
    out->base_url = m->base_url.ptr;
    out->base_url_len = m->base_url.len;
    out->tier = b->tier;
    out->healthy = b->cls == 0;
}

static const uint16_t *location_cands(const snapshot_t *snap, uint32_t location, int https, uint32_t *n)
{
    const snapshot_location_t *loc = snap->locations + location;
    *n = https ? loc->num_https : loc->num_http;
    return snap->cands + (https ? loc->https : loc->http);
}

/* The candidates in the chosen bucket, as a bitmap over the list (empty when none can serve). */
static void bucket_members(const uint8_t *bucket, uint32_t n, const bucket_t *b, uint64_t *members)
{
    memset(members, 0, (n + 63) / 64 * sizeof(*members));
    if (b->cls < 0)
        return;
    uint8_t want = (uint8_t)(b->cls << 2 | b->tier);
    for (uint32_t i = 0; i != n; ++i)
        if (bucket[i] == want)
            members[i / 64] |= 1ull << (i % 64);
}

/* Second pass: walks the bucket's members to the one the random number points at. */
static int pick_member(const snapshot_t *snap, const uint16_t *cands, uint32_t n, const uint64_t *members, const bucket_t *b,
                       double random, mirror_choice_t *out)
{
    memset(out, 0, sizeof(*out));
    if (b->cls < 0)
        return -ENOENT;
    uint64_t target = target_of(random, b->total);
    for (uint32_t word = 0; word != (n + 63) / 64; ++word) {
        for (uint64_t bits = members[word]; bits != 0; bits &= bits - 1) {
            uint32_t i = word * 64 + (uint32_t)__builtin_ctzll(bits);
            uint32_t weight = snap->mirror_geo[SNAPSHOT_CAND_INDEX(cands[i])].weight;
            if (target < weight) {
                fill_choice(snap, SNAPSHOT_CAND_INDEX(cands[i]), b, out);
                return 0;
            }
            target -= weight;
        }
    }
    return -ENOENT; /* not reached: the members' weights add up to the total */
}

int mirror_choose(const snapshot_t *snap, uint32_t location, int https, const mirror_client_t *client, int fail_open,
                  double random, mirror_choice_t *out)
{
    uint32_t n;
    const uint16_t *cands = location_cands(snap, location, https, &n);
    uint16_t country;
    uint8_t continent;
    uint8_t bucket[CATALOG_MIRRORS_MAX]; /* so that the walk reads no mirror's geography twice */
    uint64_t members[(CATALOG_MIRRORS_MAX + 63) / 64];

    client_codes(client, &country, &continent);
    bucket_t b = find_bucket(snap, cands, n, country, continent, fail_open, bucket);
    bucket_members(bucket, n, &b, members);
    return pick_member(snap, cands, n, members, &b, random, out);
}

/* ---- the memo ---- */

/*
 * The first pass depends on the candidate list (lists are shared between locations with the same
 * mirrors and health), the client's country and continent, and fail_open. A memo entry keeps its
 * result and the members of the chosen bucket as a bitmap, so a hit walks only those members and
 * calls no tier_of. Lists longer than MEMO_MAX_CANDIDATES are chosen without the memo.
 */
#define MEMO_ENTRIES 512 /* power of two */
#define MEMO_MAX_CANDIDATES 256

typedef struct st_memo_entry_t {
    uint64_t snap_serial; /* 0: empty */
    const uint16_t *cands;
    uint32_t n;
    uint16_t country;
    uint8_t continent;
    uint8_t fail_open;
    bucket_t bucket;
    uint64_t members[MEMO_MAX_CANDIDATES / 64];
} memo_entry_t;

struct st_choose_memo_t {
    memo_entry_t entries[MEMO_ENTRIES];
};

choose_memo_t *choose_memo_create(void)
{
    return calloc(1, sizeof(choose_memo_t));
}

void choose_memo_destroy(choose_memo_t *memo)
{
    free(memo);
}

int mirror_choose_memo(choose_memo_t *memo, const snapshot_t *snap, uint32_t location, int https, const mirror_client_t *client,
                       int fail_open, double random, mirror_choice_t *out)
{
    uint32_t n;
    const uint16_t *cands = location_cands(snap, location, https, &n);
    if (memo == NULL || n > MEMO_MAX_CANDIDATES)
        return mirror_choose(snap, location, https, client, fail_open, random, out);
    uint16_t country;
    uint8_t continent;
    client_codes(client, &country, &continent);
    fail_open = fail_open != 0;

    uint64_t h = ((uint64_t)(uintptr_t)cands * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)country << 8 | continent) * 0xc2b2ae3d27d4eb4full;
    memo_entry_t *e = &memo->entries[(h >> 40) & (MEMO_ENTRIES - 1)];
    if (e->snap_serial != snap->serial || e->cands != cands || e->n != n || e->country != country ||
        e->continent != continent || e->fail_open != fail_open) {
        uint8_t bucket[MEMO_MAX_CANDIDATES];
        e->bucket = find_bucket(snap, cands, n, country, continent, fail_open, bucket);
        bucket_members(bucket, n, &e->bucket, e->members);
        e->snap_serial = snap->serial;
        e->cands = cands;
        e->n = n;
        e->country = country;
        e->continent = continent;
        e->fail_open = (uint8_t)fail_open;
    }

    return pick_member(snap, cands, n, e->members, &e->bucket, random, out);
}

const char *mirror_tier_name(mirror_tier_t tier)
{
    switch (tier) {
    case MIRROR_TIER_COUNTRY:
        return "country";
    case MIRROR_TIER_CONTINENT:
        return "continent";
    case MIRROR_TIER_ANY:
        return "any";
    default:
        return "none";
    }
}
