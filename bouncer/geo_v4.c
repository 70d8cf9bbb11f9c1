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
#include <sys/mman.h>
#include "bouncer/geo_v4.h"

#define BLOCKS 65536 /* one per value of the top 16 bits */
#define INLINE_STARTS 3 /* range starts a block entry holds itself */

/* A range as the walk emits it. */
typedef struct st_range_t {
    uint32_t start;
    uint32_t answer;
} range_t;

/*
 * One /16: the answer at its first address, and the ranges that start inside it. Most blocks
 * have at most INLINE_STARTS of those, kept in the entry (16 bytes: one cache line holds four
 * blocks), so a lookup reads one line; busier blocks point into the overflow arrays.
 */
typedef struct st_block_t {
    uint16_t answer;
    uint16_t count;
    union {
        struct {
            uint16_t low[INLINE_STARTS]; /* the low 16 bits of the starts, ascending */
            uint16_t answer[INLINE_STARTS];
        } in;           /* count <= INLINE_STARTS */
        uint32_t first; /* else: the block's first entry in over_low / over_answer */
    } u;
} block_t;

struct st_geo_v4_t {
    uint32_t num_ranges;
    uint16_t *over_low, *over_answer; /* the busier blocks' starts (low 16 bits) and answers, block after block */
    block_t blocks[BLOCKS];
};

typedef struct st_builder_t {
    range_t *ranges;
    uint32_t num_ranges, cap;
    const MMDB_s *mmdb;
    geo_v4_answer_cb answer;
    void *ctx;
    uint32_t max_ranges;
    uint64_t visits;
} builder_t;

static int emit(builder_t *b, uint32_t start, uint16_t answer)
{
    if (b->num_ranges != 0 && b->ranges[b->num_ranges - 1].answer == answer)
        return 0; /* the same answer goes on */
    if (b->num_ranges == b->max_ranges)
        return -E2BIG;
    if (b->num_ranges == b->cap) {
        uint32_t cap = b->cap != 0 ? b->cap * 2 : 4096;
        range_t *ranges = realloc(b->ranges, cap * sizeof(*ranges));
        if (ranges == NULL)
            return -ENOMEM;
        b->ranges = ranges;
        b->cap = cap;
    }
    b->ranges[b->num_ranges++] = (range_t){start, answer};
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

/* Ranges that start inside a block after its first address: they go to the overflow arrays when more than INLINE_STARTS. */
static uint32_t overflow_count(const range_t *ranges, uint32_t n)
{
    uint32_t total = 0, run = 0, run_block = UINT32_MAX;
    for (uint32_t i = 0; i != n; ++i) {
        if ((ranges[i].start & 0xffff) == 0)
            continue; /* starts a block: that block's own answer */
        if (ranges[i].start >> 16 != run_block) {
            total += run > INLINE_STARTS ? run : 0;
            run = 0;
            run_block = ranges[i].start >> 16;
        }
        ++run;
    }
    return total + (run > INLINE_STARTS ? run : 0);
}

/* Fills the block entries from the sorted ranges (ranges[0].start == 0). */
static void index_blocks(geo_v4_t *t, const range_t *ranges, uint32_t n)
{
    uint32_t num_over = 0;
    uint32_t r = 0; /* the range that holds the block's first address */
    for (uint32_t block = 0; block != BLOCKS; ++block) {
        while (r + 1 < n && ranges[r + 1].start <= block << 16)
            ++r;
        block_t *blk = t->blocks + block;
        blk->answer = (uint16_t)ranges[r].answer;
        uint32_t j = r + 1;
        while (j < n && ranges[j].start >> 16 == block)
            ++j;
        blk->count = (uint16_t)(j - r - 1); /* < 65536: the starts inside a block are distinct and not its first address */
        if (blk->count <= INLINE_STARTS) {
            for (uint32_t i = 0; i != blk->count; ++i) {
                blk->u.in.low[i] = (uint16_t)ranges[r + 1 + i].start;
                blk->u.in.answer[i] = (uint16_t)ranges[r + 1 + i].answer;
            }
        } else {
            blk->u.first = num_over;
            for (uint32_t i = r + 1; i != j; ++i, ++num_over) {
                t->over_low[num_over] = (uint16_t)ranges[i].start;
                t->over_answer[num_over] = (uint16_t)ranges[i].answer;
            }
        }
    }
}

/*
 * The table and its overflow arrays in one allocation on 2 MB boundaries, offered to the kernel
 * as huge pages: lookups land anywhere in it, and with 4 KB pages most of them also missed the TLB.
 */
static geo_v4_t *table_alloc(uint32_t num_over)
{
    const size_t huge = 2u << 20;
    size_t size = sizeof(geo_v4_t) + 2 * (size_t)num_over * sizeof(uint16_t);
    size = (size + huge - 1) / huge * huge;
    geo_v4_t *t = aligned_alloc(huge, size);
    if (t == NULL)
        return NULL;
    madvise(t, size, MADV_HUGEPAGE); /* advice only: without it the table still works */
    memset(t, 0, size);
    t->over_low = (uint16_t *)(t + 1);
    t->over_answer = t->over_low + num_over;
    return t;
}

int geo_v4_build(const MMDB_s *mmdb, geo_v4_answer_cb answer, void *ctx, uint32_t max_ranges, geo_v4_t **out)
{
    builder_t b = {.mmdb = mmdb, .answer = answer, .ctx = ctx, .max_ranges = max_ranges};
    geo_v4_t *t;
    int ret;

    *out = NULL;
    if ((ret = walk_ipv4(&b)) != 0)
        goto Exit;
    if (b.num_ranges == 0 || b.ranges[0].start != 0) { /* cannot happen with a walk from address 0 */
        ret = -EINVAL;
        goto Exit;
    }
    if ((t = table_alloc(overflow_count(b.ranges, b.num_ranges))) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    index_blocks(t, b.ranges, b.num_ranges);
    t->num_ranges = b.num_ranges;
    *out = t;
Exit:
    free(b.ranges);
    return ret;
}

uint16_t geo_v4_find(const geo_v4_t *t, uint32_t addr)
{
    const block_t *blk = t->blocks + (addr >> 16);
    uint16_t low = (uint16_t)addr, answer = blk->answer;
    if (blk->count <= INLINE_STARTS) {
        for (uint32_t i = 0; i != blk->count && blk->u.in.low[i] <= low; ++i)
            answer = blk->u.in.answer[i];
        return answer;
    }
    /* how many of the block's starts are at or before the address */
    const uint16_t *starts = t->over_low + blk->u.first;
    uint32_t lo = 0, hi = blk->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (starts[mid] <= low)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? answer : t->over_answer[blk->u.first + lo - 1];
}

void geo_v4_prefetch(const geo_v4_t *t, uint32_t addr)
{
    __builtin_prefetch(t->blocks + (addr >> 16));
}

uint32_t geo_v4_num_ranges(const geo_v4_t *t)
{
    return t->num_ranges;
}

void geo_v4_destroy(geo_v4_t *t)
{
    free(t);
}
