// SPDX-License-Identifier: MIT
/*
 * resolve_memo: remembered resolve__prepare plans (see resolve_memo.h).
 *
 * The key bytes are the query, then the User-Agent and the Referer when they can change the
 * answer; their lengths, the scheme, the snapshot (its serial) and the settings
 * (address and generation) complete it. A hit hands out the remembered plan for resolve__finish.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "bouncer/internal.h"
#include "bouncer/resolve_memo.h"

#define MEMO_ENTRIES 1024 /* power of two */

typedef struct st_memo_entry_t {
    uint64_t hash;
    uint64_t snap_serial; /* 0: empty */
    const resolve_config_t *config;
    uint64_t config_generation;
    uint16_t query_len, ua_len, ref_len;
    uint8_t https;
    char key[RESOLVE_MEMO_KEY_MAX];
    resolve_plan_t plan;
} memo_entry_t;

struct st_resolve_memo_t {
    _Atomic uint64_t hits, misses; /* written by the owner thread only (no locked add), read by scrapes */
    choose_memo_t *choose;         /* the mirror choice's own memo (NULL when out of memory: none) */
    memo_entry_t entries[MEMO_ENTRIES];
};

resolve_memo_t *resolve_memo_create(void)
{
    resolve_memo_t *memo = calloc(1, sizeof(*memo));
    if (memo != NULL)
        memo->choose = choose_memo_create();
    return memo;
}

void resolve_memo_destroy(resolve_memo_t *memo)
{
    if (memo == NULL)
        return;
    choose_memo_destroy(memo->choose);
    free(memo);
}

void resolve_memo_counts(const resolve_memo_t *memo, uint64_t *hits, uint64_t *misses)
{
    *hits = atomic_load_explicit(&memo->hits, memory_order_relaxed);
    *misses = atomic_load_explicit(&memo->misses, memory_order_relaxed);
}

static void count(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1, memory_order_relaxed);
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * k;
        h ^= h >> 29;
    }
    uint64_t v = 0;
    memcpy(&v, p, n);
    h = (h ^ v ^ (uint64_t)n << 56) * k;
    return h ^ h >> 32;
}

int resolve_memo_plan(resolve_memo_t *memo, const snapshot_t *snap, const resolve_input_t *in, resolve_plan_t *scratch,
                      const resolve_plan_t **plan, char *buf, size_t bufsize)
{
    *plan = scratch;
    if (memo == NULL)
        return resolve__prepare(snap, in, scratch, buf, bufsize);

    /* the request facts that can change the plan */
    const resolve_config_t *cfg = in->config;
    int stub = cfg->stub_root_url != NULL && cfg->stub_root_url[0] != '\0';
    const char *q = in->query != NULL ? in->query : "";
    size_t qlen = in->query != NULL ? in->query_len : 0;
    size_t ualen = snap->num_rules != 0 && in->user_agent != NULL ? in->user_agent_len : 0;
    size_t reflen = (snap->num_rules != 0 || stub) && in->referer != NULL ? in->referer_len : 0;
    if (qlen + ualen + reflen > RESOLVE_MEMO_KEY_MAX)
        return resolve__prepare(snap, in, scratch, buf, bufsize);
    uint64_t h = hash_bytes((uint64_t)(in->https != 0) << 63 | (uint64_t)qlen << 32 | ualen << 16 | reflen, q, qlen);
    if (ualen != 0)
        h = hash_bytes(h, in->user_agent, ualen);
    if (reflen != 0)
        h = hash_bytes(h, in->referer, reflen);

    memo_entry_t *e = &memo->entries[h & (MEMO_ENTRIES - 1)];
    if (e->hash == h && e->snap_serial == snap->serial && e->config == cfg && e->config_generation == cfg->generation &&
        e->https == (in->https != 0) && e->query_len == qlen && e->ua_len == ualen && e->ref_len == reflen &&
        memcmp(e->key, q, qlen) == 0 && (ualen == 0 || memcmp(e->key + qlen, in->user_agent, ualen) == 0) &&
        (reflen == 0 || memcmp(e->key + qlen + ualen, in->referer, reflen) == 0)) {
        count(&memo->hits);
        *plan = &e->plan;
        return 0;
    }

    count(&memo->misses);
    int ret = resolve__prepare(snap, in, scratch, buf, bufsize);
    if (ret == 0 && scratch->out.outcome != RESOLVE_STUB_REDIRECT) {
        e->hash = h;
        e->snap_serial = snap->serial;
        e->config = cfg;
        e->config_generation = cfg->generation;
        e->https = in->https != 0;
        e->query_len = (uint16_t)qlen;
        e->ua_len = (uint16_t)ualen;
        e->ref_len = (uint16_t)reflen;
        memcpy(e->key, q, qlen);
        if (ualen != 0)
            memcpy(e->key + qlen, in->user_agent, ualen);
        if (reflen != 0)
            memcpy(e->key + qlen + ualen, in->referer, reflen);
        e->plan = *scratch;
    }
    return ret;
}

int resolve_memo_answer(resolve_memo_t *memo, const snapshot_t *snap, const resolve_input_t *in, const resolve_plan_t *plan,
                        resolve_output_t *out, char *buf, size_t bufsize)
{
    return resolve__finish(snap, in, plan, memo != NULL ? memo->choose : NULL, out, buf, bufsize);
}

int resolve_request_memo(resolve_memo_t *memo, const snapshot_t *snap, const resolve_input_t *in, resolve_output_t *out,
                         char *buf, size_t bufsize)
{
    resolve_plan_t scratch;
    const resolve_plan_t *plan;
    int ret;

    memset(out, 0, sizeof(*out));
    if (snap == NULL || in->config == NULL)
        return -EINVAL;
    if ((ret = resolve_memo_plan(memo, snap, in, &scratch, &plan, buf, bufsize)) != 0)
        return ret;
    return resolve_memo_answer(memo, snap, in, plan, out, buf, bufsize);
}
