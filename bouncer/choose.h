// SPDX-License-Identifier: MIT
/*
 * choose: picks the mirror for one redirect, given a location in a snapshot, the scheme, the
 * client's country/continent and a random number.
 *
 * Candidates are the location's pre-split list for the scheme (enabled mirrors that are not
 * absent). Healthy candidates are preferred; when none is usable and fail_open is set, present
 * but unhealthy ones are used; absent mirrors never. Geography: a mirror with no countries and
 * no continents serves everyone ("any" tier); a restricted mirror serves only clients in one of
 * its countries (country tier) or continents (continent tier). The best non-empty tier with a
 * positive total weight wins: country > continent > any. Within it, the pick is weighted random,
 * exactly proportional to weight (weight 0 is never picked). No allocation, no locks: runs on
 * worker threads under a held snapshot.
 */
#ifndef edge__bouncer_choose_h
#define edge__bouncer_choose_h

#include <stddef.h>
#include <stdint.h>
#include "bouncer/snapshot.h"

typedef enum en_mirror_tier_t {
    MIRROR_TIER_NONE = 0,  /* nothing chosen */
    MIRROR_TIER_COUNTRY,   /* a mirror restricted to the client's country */
    MIRROR_TIER_CONTINENT, /* a mirror restricted to the client's continent */
    MIRROR_TIER_ANY,       /* an unrestricted mirror */
} mirror_tier_t;

typedef struct st_mirror_client_t {
    const char *country;   /* ISO 3166 alpha-2 ("DE"), "" or NULL when unknown */
    const char *continent; /* "EU", "" or NULL when unknown */
} mirror_client_t;

typedef struct st_mirror_choice_t {
    uint32_t mirror;     /* index in the snapshot */
    const char *name;    /* snapshot-owned */
    size_t name_len;
    const char *base_url; /* snapshot-owned */
    size_t base_url_len;
    mirror_tier_t tier;
    int healthy; /* 0 when failing open to a present-but-unhealthy mirror */
} mirror_choice_t;

/**
 * Chooses a mirror for a location.
 * @param location index of the location in the snapshot
 * @param https 1: https:// mirrors only, 0: http:// mirrors only
 * @param random a number in [0, 1) (values outside are clamped)
 * @param[out] out the choice; its strings live as long as the snapshot.
 * @return 0, or -ENOENT when no mirror can serve.
 */
int mirror_choose(const snapshot_t *snap, uint32_t location, int https, const mirror_client_t *client, int fail_open,
                  double random, mirror_choice_t *out);

/**
 * A worker thread's memory of recent client-dependent sums (see choose.c): what tier and health
 * class a (candidate list, country, continent) pair ends in, and which candidates are in it.
 * Not shared between threads.
 */
typedef struct st_choose_memo_t choose_memo_t;

/** A new, empty memo, or NULL when out of memory. */
choose_memo_t *choose_memo_create(void);

/** Frees a memo; NULL is a no-op. */
void choose_memo_destroy(choose_memo_t *memo);

/** mirror_choose() through a memo (NULL: mirror_choose()): the same choice for the same arguments. */
int mirror_choose_memo(choose_memo_t *memo, const snapshot_t *snap, uint32_t location, int https, const mirror_client_t *client,
                       int fail_open, double random, mirror_choice_t *out);

/** "country", "continent", "any" or "none". */
const char *mirror_tier_name(mirror_tier_t tier);

#endif
