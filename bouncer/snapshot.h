// SPDX-License-Identifier: MIT
/*
 * snapshot: the immutable, indexed form of the catalog that the redirect path reads, and the
 * one atomic pointer through which it is published.
 *
 * A snapshot is built from a catalog_t on an admin/health thread (snapshot_build), then handed
 * to snapshot_publish(), which swaps it in with one atomic exchange. Readers (worker threads)
 * never lock: each registers a snapshot_reader_t once, then brackets every use with
 * snapshot_acquire()/snapshot_release(). A reader's slot is a hazard pointer: the publisher
 * retires the old snapshot and frees it only once no reader slot points at it (checked again on
 * each publish and by snapshot_reclaim()). acquire is wait-free unless a publish races it, in
 * which case it retries once per race.
 *
 * Inside, products/aliases/OS names are in case-insensitive hash tables, language tags are
 * interned, and each location carries its candidate mirrors pre-split by scheme as compact
 * uint16 index lists shared between locations with identical sets (most locations share the
 * "every enabled mirror" lists), so 50,000 products x 100 mirrors stays small and fast to build.
 */
#ifndef edge__bouncer_snapshot_h
#define edge__bouncer_snapshot_h

#include <stddef.h>
#include <stdint.h>
#include "bouncer/catalog.h"

typedef struct st_snapshot_t snapshot_t;
typedef struct st_snapshot_holder_t snapshot_holder_t;
typedef struct st_snapshot_reader_t snapshot_reader_t;

/** Maximum number of concurrently registered readers per holder. */
#define SNAPSHOT_MAX_READERS 256

/**
 * Builds a snapshot from a validated catalog (see catalog_validate()).
 * @param[out] out the new snapshot; the caller owns it until it passes it to snapshot_publish().
 * @return 0, -ENOMEM, -E2BIG (more distinct languages or OS names than the 16-bit indexes hold).
 * @note The snapshot copies everything; the catalog may be destroyed right after.
 */
int snapshot_build(const catalog_t *cat, snapshot_t **out);

/** Frees a snapshot that was never published. NULL is a no-op. */
void snapshot_destroy(snapshot_t *snap);

/** Version assigned by snapshot_publish() (1, 2, ...; 0 before publication). */
uint64_t snapshot_version(const snapshot_t *snap);
/** Build time, microseconds since the epoch (CLOCK_REALTIME). */
int64_t snapshot_built_at(const snapshot_t *snap);
/** How long snapshot_build() took, in microseconds. */
uint64_t snapshot_build_usec(const snapshot_t *snap);
size_t snapshot_num_products(const snapshot_t *snap);
size_t snapshot_num_locations(const snapshot_t *snap);
size_t snapshot_num_mirrors(const snapshot_t *snap);

/**
 * The product and os names of location i (0 <= i < snapshot_num_locations()), for listing.
 * @note The strings belong to the snapshot and live as long as it.
 */
void snapshot_location_names(const snapshot_t *snap, size_t i, const char **product, const char **os);

/**
 * Mirror uptake for product x os (the tuxedo `uptake` API).
 * available: sum of the weights of enabled mirrors of the product's scheme that carry the
 * location and are healthy. total: sum of the weights of enabled mirrors of the product's
 * scheme. The scheme is https for SSL-only products; any scheme otherwise (such products are
 * served from http:// mirrors to HTTP clients and from https:// mirrors to HTTPS clients).
 * @param product product or alias name (case-insensitive)
 * @return 0, or -ENOENT when there is no such product/os/location.
 */
int snapshot_uptake(const snapshot_t *snap, const char *product, const char *os, uint64_t *available, uint64_t *total);

/**
 * Creates the publication point (holds no snapshot yet).
 * @return the holder or NULL on allocation failure.
 */
snapshot_holder_t *snapshot_holder_create(void);

/**
 * Frees the holder, its current snapshot and every retired one.
 * @note No reader may be inside acquire/release any more. NULL is a no-op.
 */
void snapshot_holder_destroy(snapshot_holder_t *h);

/**
 * Publishes a snapshot: assigns it the next version and makes it current with one atomic swap.
 * The previous one is retired and freed as soon as no reader holds it.
 * @param snap takes ownership.
 * @return the version given to snap.
 * @note Any thread; publishers serialise on an internal mutex; readers are never blocked.
 */
uint64_t snapshot_publish(snapshot_holder_t *h, snapshot_t *snap);

/** Frees retired snapshots that no reader holds any more. Any thread. */
void snapshot_reclaim(snapshot_holder_t *h);

/** The version of the current snapshot (0 when none). Any thread. */
uint64_t snapshot_current_version(snapshot_holder_t *h);

/**
 * Registers a reader slot; do it once per thread.
 * @return the reader or NULL when SNAPSHOT_MAX_READERS are registered.
 */
snapshot_reader_t *snapshot_reader_register(snapshot_holder_t *h);

/** Gives the slot back. The reader must not hold a snapshot. NULL is a no-op. */
void snapshot_reader_unregister(snapshot_reader_t *r);

/**
 * Takes the current snapshot for reading.
 * @return the snapshot (NULL when none was published yet), valid until snapshot_release().
 * @note Only the thread owning the reader calls this; no nesting (one snapshot per reader).
 */
const snapshot_t *snapshot_acquire(snapshot_reader_t *r);

/** Ends the use of the snapshot returned by snapshot_acquire(). */
void snapshot_release(snapshot_reader_t *r);

#endif
