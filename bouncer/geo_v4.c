// SPDX-License-Identifier: MIT
/*
 * geo_v4: flattening of a MaxMind DB's IPv4 tree into sorted ranges (see geo_v4.h).
 *
 * The build walks the tree depth first, left (bit 0) before right, so leaves come out in address
 * order and each leaf's start is the address its path spells. A search tree visits each of its
 * nodes once; a file whose records point back into the tree (a loop, or a DAG that would make the
 * walk exponential) is caught by counting visits against the node count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bouncer/geo_v4.h"

#define BLOCKS 65536 /* one per value of the top 16 bits */

/* start and answer side by side: the binary search's last read also brings the answer */
typedef struct st_range_t {
    uint32_t start;
    uint32_t answer;
} range_t;

struct st_geo_v4_t {
    uint32_t num_ranges;
    range_t *ranges;            /* ascending starts; ranges[0].start == 0, so every address has a range */
    uint32_t first[BLOCKS + 1]; /* first[b]: the range holding address b << 16; first[BLOCKS]: the last range */
};

typedef struct st_builder_t {
    geo_v4_t *table;
    uint32_t cap;
    const MMDB_s *mmdb;
    geo_v4_answer_cb answer;
    void *ctx;
    uint32_t max_ranges;
    uint64_t visits;
} builder_t;

static int emit(builder_t *b, uint32_t start, uint16_t answer)
{
    geo_v4_t *t = b->table;
    if (t->num_ranges != 0 && t->ranges[t->num_ranges - 1].answer == answer)
        return 0; /* the same answer goes on */
    if (t->num_ranges == b->max_ranges)
        return -E2BIG;
    if (t->num_ranges == b->cap) {
        uint32_t cap = b->cap != 0 ? b->cap * 2 : 4096;
        range_t *ranges = realloc(t->ranges, cap * sizeof(*ranges));
        if (ranges == NULL)
            return -ENOMEM;
        t->ranges = ranges;
        b->cap = cap;
    }
    t->ranges[t->num_ranges++] = (range_t){start, answer};
    return 0;
}

static int walk(builder_t *b, uint32_t node, int depth, uint32_t start);

/* One record of a node: the leaf it is, or the subtree it leads to; depth counts the bits of start that are decided. */
static int take_record(builder_t *b, uint64_t value, uint8_t type, MMDB_entry_s *entry, int depth, uint32_t start)
{
    switch (type) {
    case MMDB_RECORD_TYPE_SEARCH_NODE:
        return depth < 32 ? walk(b, (uint32_t)value, depth, start) : -EINVAL; /* a 33rd bit: not an IPv4 tree */
    case MMDB_RECORD_TYPE_EMPTY:
        return emit(b, start, GEO_V4_NONE);
    case MMDB_RECORD_TYPE_DATA: {
        int answer = b->answer(b->ctx, entry);
        return answer > 0 && answer <= UINT16_MAX ? emit(b, start, (uint16_t)answer) : -EINVAL;
    }
    default:
        return -EINVAL;
    }
}

static int walk(builder_t *b, uint32_t node, int depth, uint32_t start)
{
    MMDB_search_node_s n;
    if (++b->visits > b->mmdb->metadata.node_count || MMDB_read_node(b->mmdb, node, &n) != MMDB_SUCCESS)
        return -EINVAL;
    int ret = take_record(b, n.left_record, n.left_record_type, &n.left_record_entry, depth + 1, start);
    if (ret == 0)
        ret = take_record(b, n.right_record, n.right_record_type, &n.right_record_entry, depth + 1, start | (1u << (31 - depth)));
    return ret;
}

/* Walks the tree from its IPv4 root: node 0 of an IPv4 tree, or 96 zero bits down an IPv6 one. */
static int walk_ipv4(builder_t *b)
{
    uint32_t node = 0;
    if (b->mmdb->metadata.ip_version == 6) {
        for (int bit = 0; bit != 96; ++bit) {
            MMDB_search_node_s n;
            if (MMDB_read_node(b->mmdb, node, &n) != MMDB_SUCCESS)
                return -EINVAL;
            if (n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) /* one record covers all of IPv4 */
                return take_record(b, n.left_record, n.left_record_type, &n.left_record_entry, 0, 0);
            node = (uint32_t)n.left_record;
        }
    }
    return walk(b, node, 0, 0);
}

int geo_v4_build(const MMDB_s *mmdb, geo_v4_answer_cb answer, void *ctx, uint32_t max_ranges, geo_v4_t **out)
{
    builder_t b = {.mmdb = mmdb, .answer = answer, .ctx = ctx, .max_ranges = max_ranges};
    int ret;

    *out = NULL;
    if ((b.table = calloc(1, sizeof(*b.table))) == NULL)
        return -ENOMEM;
    if ((ret = walk_ipv4(&b)) != 0)
        goto Error;
    geo_v4_t *t = b.table;
    if (t->num_ranges == 0 || t->ranges[0].start != 0) { /* cannot happen with a walk from address 0 */
        ret = -EINVAL;
        goto Error;
    }
    uint32_t r = 0;
    for (uint32_t block = 0; block != BLOCKS; ++block) {
        uint32_t addr = block << 16;
        while (r + 1 < t->num_ranges && t->ranges[r + 1].start <= addr)
            ++r;
        t->first[block] = r;
    }
    t->first[BLOCKS] = t->num_ranges - 1;
    range_t *ranges = realloc(t->ranges, t->num_ranges * sizeof(*ranges)); /* give back what the doubling over-allocated */
    if (ranges != NULL)
        t->ranges = ranges;
    *out = t;
    return 0;

Error:
    geo_v4_destroy(b.table);
    return ret;
}

uint16_t geo_v4_find(const geo_v4_t *t, uint32_t addr)
{
    /* the answer is in [first[block], first[block + 1]]: the last range that starts at or before addr
     * (ranges[first[block]] does). A branchy search: with the ranges out of the cache, speculation
     * runs ahead of the loads, which a branchless (cmov) search made 25% slower. */
    uint32_t block = addr >> 16, lo = t->first[block], hi = t->first[block + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (t->ranges[mid].start <= addr)
            lo = mid;
        else
            hi = mid - 1;
    }
    return (uint16_t)t->ranges[lo].answer;
}

uint32_t geo_v4_num_ranges(const geo_v4_t *t)
{
    return t->num_ranges;
}

void geo_v4_destroy(geo_v4_t *t)
{
    if (t == NULL)
        return;
    free(t->ranges);
    free(t);
}
