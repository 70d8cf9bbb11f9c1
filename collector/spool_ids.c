// SPDX-License-Identifier: MIT
/* spool_ids: see collector/spool_ids.h. */
#include "collector/spool_ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define INITIAL_CAP 1024

/* FNV-1a over the id, seeded, with a final avalanche so that linear probing sees well-spread bits. */
static uint64_t hash_id(uint64_t seed, const char *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i != len; ++i) {
        h ^= (unsigned char)id[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int same(const spool_ids_entry_t *e, const char *id, size_t len)
{
    return e->len == len && memcmp(e->id, id, len) == 0;
}

void spool_ids_init(spool_ids_t *s)
{
    memset(s, 0, sizeof(*s));
    if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != (ssize_t)sizeof(s->seed))
        s->seed = (uint64_t)(uintptr_t)s ^ 0x9e3779b97f4a7c15ULL;
}

void spool_ids_dispose(spool_ids_t *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* The slot holding id, or the empty slot where it would go. */
static size_t find_slot(const spool_ids_t *s, const char *id, size_t len)
{
    size_t mask = s->cap - 1, i = hash_id(s->seed, id, len) & mask;
    while (s->slots[i].seq != 0 && !same(&s->slots[i], id, len))
        i = (i + 1) & mask;
    return i;
}

static int grow(spool_ids_t *s)
{
    size_t cap = s->cap != 0 ? s->cap * 2 : INITIAL_CAP;
    spool_ids_t bigger = *s;
    if (cap < s->cap || (bigger.slots = calloc(cap, sizeof(*bigger.slots))) == NULL)
        return -ENOMEM;
    bigger.cap = cap;
    for (size_t i = 0; i != s->cap; ++i)
        if (s->slots[i].seq != 0)
            bigger.slots[find_slot(&bigger, s->slots[i].id, s->slots[i].len)] = s->slots[i];
    free(s->slots);
    *s = bigger;
    return 0;
}

int spool_ids_put(spool_ids_t *s, const char *id, size_t len, uint64_t seq)
{
    if (seq == 0 || len == 0 || len > SPOOL_CRASH_ID_MAX)
        return -EINVAL;
    if ((s->count + 1) * 2 > s->cap && grow(s) != 0)
        return -ENOMEM;
    spool_ids_entry_t *e = &s->slots[find_slot(s, id, len)];
    if (e->seq == 0) {
        e->len = (uint8_t)len;
        memcpy(e->id, id, len);
        ++s->count;
    }
    e->seq = seq;
    return 0;
}

uint64_t spool_ids_get(const spool_ids_t *s, const char *id, size_t len)
{
    if (s->count == 0 || len == 0 || len > SPOOL_CRASH_ID_MAX)
        return 0;
    return s->slots[find_slot(s, id, len)].seq;
}

int spool_ids_del(spool_ids_t *s, const char *id, size_t len)
{
    if (s->count == 0 || len == 0 || len > SPOOL_CRASH_ID_MAX)
        return 0;
    size_t mask = s->cap - 1, i = find_slot(s, id, len);
    if (s->slots[i].seq == 0)
        return 0;
    /* backward shift: move later members of the probe run into the hole, so lookups never stop early */
    for (size_t j = (i + 1) & mask; s->slots[j].seq != 0; j = (j + 1) & mask) {
        size_t home = hash_id(s->seed, s->slots[j].id, s->slots[j].len) & mask;
        /* j may move to i only if its home is not in (i, j] (cyclically) */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i].seq = 0;
    --s->count;
    return 1;
}

void spool_ids_clear(spool_ids_t *s)
{
    if (s->slots != NULL)
        memset(s->slots, 0, s->cap * sizeof(*s->slots));
    s->count = 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const spool_ids_entry_t *x = *(const spool_ids_entry_t *const *)a, *y = *(const spool_ids_entry_t *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->id, y->id, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

const spool_ids_entry_t **spool_ids_sorted(const spool_ids_t *s, size_t *count)
{
    const spool_ids_entry_t **out;
    size_t n = 0;
    *count = 0;
    if (s->count == 0)
        return NULL;
    if ((out = malloc(s->count * sizeof(*out))) == NULL) {
        *count = SIZE_MAX;
        return NULL;
    }
    for (size_t i = 0; i != s->cap; ++i)
        if (s->slots[i].seq != 0)
            out[n++] = &s->slots[i];
    qsort(out, n, sizeof(*out), cmp_entry);
    *count = n;
    return out;
}
