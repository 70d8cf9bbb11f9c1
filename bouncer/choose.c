// SPDX-License-Identifier: MIT
/*
 * choose: weighted, geography-aware mirror choice over a location's candidate list.
 *
 * Two passes over the (short) candidate list: the first sums weights per (health class, tier),
 * the second walks the chosen class+tier to the mirror the random number points at. The target
 * is floor(random * total) in integer weight units, so mirror i is chosen for exactly weight_i
 * of the total possible targets: the probability is proportional to weight.
 * Worker threads; no allocation.
 */
#include <errno.h>
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

int mirror_choose(const snapshot_t *snap, uint32_t location, int https, const mirror_client_t *client, int fail_open,
                  double random, mirror_choice_t *out)
{
    const snapshot_location_t *loc = snap->locations + location;
    const uint16_t *cands = snap->cands + (https ? loc->https : loc->http);
    uint32_t n = https ? loc->num_https : loc->num_http;
    uint16_t country = 0;
    uint8_t continent = 0;
    uint64_t sums[2][4] = {{0}};     /* [unhealthy][tier] */
    uint8_t bucket[CATALOG_MIRRORS_MAX]; /* per candidate: unhealthy << 2 | tier, so that the walk reads no mirror twice */

    memset(out, 0, sizeof(*out));
    if (client != NULL) {
        if (client->country != NULL && client->country[0] != '\0')
            country = bouncer__country_pack(client->country, strlen(client->country));
        if (client->continent != NULL && client->continent[0] != '\0')
            continent = bouncer__continent_bit(client->continent, strlen(client->continent));
    }

    /* weights per health class and tier */
    for (uint32_t i = 0; i != n; ++i) {
        uint32_t mirror = SNAPSHOT_CAND_INDEX(cands[i]);
        int unhealthy = (cands[i] & SNAPSHOT_CAND_UNHEALTHY) != 0;
        mirror_tier_t t = tier_of(snap, mirror, country, continent);
        bucket[i] = (uint8_t)(unhealthy << 2 | t);
        sums[unhealthy][t] += snap->mirror_geo[mirror].weight;
    }

    /* healthy first, then (if allowed) present-but-unhealthy; nearest tier with weight */
    int cls = -1;
    mirror_tier_t tier = MIRROR_TIER_NONE;
    for (int c = 0; c != (fail_open ? 2 : 1) && cls < 0; ++c) {
        for (int t = MIRROR_TIER_COUNTRY; t <= MIRROR_TIER_ANY; ++t) {
            if (sums[c][t] != 0) {
                cls = c;
                tier = (mirror_tier_t)t;
                break;
            }
        }
    }
    if (cls < 0)
        return -ENOENT;

    /* weighted pick */
    uint64_t total = sums[cls][tier];
    if (!(random >= 0)) /* also catches NaN */
        random = 0;
    uint64_t target = (uint64_t)(random * (double)total);
    if (target >= total)
        target = total - 1;
    uint8_t want = (uint8_t)(cls << 2 | tier);
    for (uint32_t i = 0; i != n; ++i) {
        if (bucket[i] != want)
            continue;
        uint32_t weight = snap->mirror_geo[SNAPSHOT_CAND_INDEX(cands[i])].weight;
        if (target < weight) {
            const snapshot_mirror_t *m = snap->mirrors + SNAPSHOT_CAND_INDEX(cands[i]);
            out->mirror = SNAPSHOT_CAND_INDEX(cands[i]);
            out->name = m->name.ptr;
            out->name_len = m->name.len;
            out->base_url = m->base_url.ptr;
            out->base_url_len = m->base_url.len;
            out->tier = tier;
            out->healthy = cls == 0;
            return 0;
        }
        target -= weight;
    }
    return -ENOENT; /* not reached: the sums match the walk */
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
