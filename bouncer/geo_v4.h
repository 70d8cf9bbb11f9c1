// SPDX-License-Identifier: MIT
/*
 * geo_v4: the IPv4 part of a MaxMind DB flattened into sorted address ranges, for geo.c.
 *
 * Walking the database's search tree costs one dependent memory read per bit of the address, and
 * below the first dozen levels each read misses the CPU cache when clients come from everywhere.
 * The flat table answers in one read for most of the address space: an entry per value of the
 * top 16 bits holds the answer at the block's start and up to three later range starts with their
 * answers (85% of the /16 blocks of the shipped database); busier blocks (the other 15%, holding
 * 92% of its ranges) add a binary search over their starts' low 16 bits. An answer is a small number
 * that the caller maps to its decoded record (a country database has a few hundred distinct
 * records, so the numbers fit in 16 bits).
 *
 * Built once when the database is opened (the whole IPv4 subtree is walked in address order;
 * adjacent ranges with the same answer are merged); immutable afterwards, so any number of threads
 * may look up at once without a lock. No h2o types; unit-tested with the test fixtures.
 */
#ifndef edge__bouncer_geo_v4_h
#define edge__bouncer_geo_v4_h

#include <stdint.h>
#include <maxminddb.h>

typedef struct st_geo_v4_t geo_v4_t;

/** The answer number for an address that no record covers. */
#define GEO_V4_NONE 0

/**
 * Gives the answer number (1..65535) for a data record, the same number for records that decode
 * to the same answer; returns a negative value when the record is corrupt or there are too many.
 */
typedef int (*geo_v4_answer_cb)(void *ctx, MMDB_entry_s *entry);

/**
 * Flattens the IPv4 addresses of an open database (an IPv4 tree, or the ::/96 subtree of an IPv6
 * one).
 * @param max_ranges refuse (-E2BIG) rather than build a table of more ranges than this
 * @return 0 and the table in *out; -EINVAL on a corrupt tree or a negative answer from the
 *         callback; -E2BIG; -ENOMEM
 */
int geo_v4_build(const MMDB_s *mmdb, geo_v4_answer_cb answer, void *ctx, uint32_t max_ranges, geo_v4_t **out);

/** The answer number for an IPv4 address in host byte order (GEO_V4_NONE when no record covers it). */
uint16_t geo_v4_find(const geo_v4_t *table, uint32_t addr);

/** Asks the CPU to start loading what geo_v4_find() will read first for this address. */
void geo_v4_prefetch(const geo_v4_t *table, uint32_t addr);

/** Ranges in the table (after merging), for the startup log. */
uint32_t geo_v4_num_ranges(const geo_v4_t *table);

/** Frees a table; NULL is a no-op. */
void geo_v4_destroy(geo_v4_t *table);

#endif
