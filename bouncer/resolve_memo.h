// SPDX-License-Identifier: MIT
/*
 * resolve_memo: a worker thread's memory of recent resolutions, so that a download URL seen
 * before skips query parsing, rewrite rules and catalog lookups and only draws its mirror.
 *
 * Download buttons send the same few thousand query strings over and over; what they resolve to
 * depends only on the query, the scheme, the snapshot, the settings and, when the catalog has
 * rewrite rules or a stub service is configured, the User-Agent and Referer. Those are the key
 * (compared byte for byte, not only by hash). The client's place and the random draw are never
 * part of a memory: every request still gets its own weighted, GeoIP-aware mirror choice.
 *
 * One memo per thread, no lock. Entries are overwritten in place (direct-mapped by hash); an
 * entry made under another snapshot or settings is never used. Stub hand-offs (their URL is the
 * request's own) and requests whose key would exceed RESOLVE_MEMO_KEY_MAX bytes pass through.
 */
#ifndef edge__bouncer_resolve_memo_h
#define edge__bouncer_resolve_memo_h

#include <stddef.h>
#include <stdint.h>
#include "bouncer/resolve.h"
#include "bouncer/snapshot.h"

/** Longest query + User-Agent + Referer a memory keeps. */
#define RESOLVE_MEMO_KEY_MAX 320

typedef struct st_resolve_memo_t resolve_memo_t;

/** A new, empty memo (about 0.5 MB), or NULL when out of memory. */
resolve_memo_t *resolve_memo_create(void);

/** Frees a memo; NULL is a no-op. */
void resolve_memo_destroy(resolve_memo_t *memo);

/**
 * resolve_request() through the memo: the same answer for the same inputs, with the steps before
 * the mirror choice taken from memory when this thread resolved the same key under the same
 * snapshot and settings. memo may be NULL (then it is resolve_request()).
 */
int resolve_request_memo(resolve_memo_t *memo, const snapshot_t *snap, const resolve_input_t *in, resolve_output_t *out,
                         char *buf, size_t bufsize);

/* The two halves of resolve_request_memo(), for a caller with work to do in between (the GeoIP
 * lookup the answer needs, while the plan is found). resolve_plan_t is in bouncer/internal.h. */
struct st_resolve_plan_t;

/**
 * The plan for a request: *plan points at the memo's entry on a hit (valid until the memo's next
 * use), else at scratch, prepared there (and remembered unless it is a stub hand-off, whose URL
 * is written into buf). memo may be NULL. @return 0 or -ENOSPC.
 */
int resolve_memo_plan(resolve_memo_t *memo, const snapshot_t *snap, const resolve_input_t *in, struct st_resolve_plan_t *scratch,
                      const struct st_resolve_plan_t **plan, char *buf, size_t bufsize);

/** The answer for a plan: the mirror for in's country, continent and random draw, and the URL. @return 0 or -ENOSPC. */
int resolve_memo_answer(resolve_memo_t *memo, const snapshot_t *snap, const resolve_input_t *in, const struct st_resolve_plan_t *plan,
                        resolve_output_t *out, char *buf, size_t bufsize);

/** Lookups answered from memory and lookups that resolved afresh, since the memo was created (any thread may ask). */
void resolve_memo_counts(const resolve_memo_t *memo, uint64_t *hits, uint64_t *misses);

#endif
