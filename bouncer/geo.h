// SPDX-License-Identifier: MIT
/*
 * geo: where is this client? Country and continent of an IP address, from a MaxMind DB (.mmdb)
 * file read through libmaxminddb.
 *
 * Two database shapes are understood, detected once when the file is opened:
 *   - GeoIP2 (nested): {"country": {"iso_code": "GB"}, "continent": {"code": "EU"},
 *     "registered_country": {"iso_code": ...}}; registered_country is the fallback country;
 *   - flat (ip-location-db, DB-IP lite): {"country_code": "GB"}, optionally "continent_code".
 * When an entry has a country but no continent, the continent comes from a static ISO 3166-1
 * alpha-2 table (geo_country_continent), so a flat database still yields both codes.
 *
 * A geo_t is immutable once opened: any number of threads may call geo_lookup on it at once, with
 * no lock; a lookup reads the memory-mapped file and allocates nothing. To reload the database
 * (SIGHUP, new file), open a new handle, publish it to the workers the way the catalog snapshot
 * is published (atomic pointer swap), and destroy the old handle only once no worker can still
 * be inside geo_lookup on it. A handle opened with no path answers "unknown" to every lookup, so
 * callers never need a NULL check.
 */
#ifndef edge__bouncer_geo_h
#define edge__bouncer_geo_h

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct st_geo_t geo_t;

/** The answer to one lookup, filled in place; codes are NUL-terminated, "" when unknown. */
typedef struct st_geo_location_t {
    char country[3];   /**< ISO 3166-1 alpha-2, uppercase (e.g. "GB"), or "" */
    char continent[3]; /**< one of AF AN AS EU NA OC SA, or "" */
} geo_location_t;

typedef enum en_geo_status_t {
    GEO_FOUND = 0,   /**< the country, the continent or both are known */
    GEO_NOT_FOUND,   /**< no database, no entry for the address, or an entry without usable codes */
    GEO_BAD_ADDRESS, /**< not AF_INET/AF_INET6, or an IPv6 address looked up in an IPv4-only database */
    GEO_DB_ERROR,    /**< the database is corrupt where this address points */
} geo_status_t;

/** What the database is, for startup logs and the admin API. */
typedef struct st_geo_info_t {
    const char *path;          /**< file name as given to geo_open, or NULL for the empty handle */
    const char *database_type; /**< metadata database_type, e.g. "GeoIP2-Country", or "" */
    const char *shape;         /**< "geoip2", "flat" or "none" */
    uint64_t build_epoch;      /**< seconds since 1970 when the file was built (0 if none) */
    unsigned ip_version;       /**< 4 or 6 (0 for the empty handle) */
    uint32_t node_count;       /**< search tree nodes */
    uint32_t ipv4_ranges;      /**< IPv4 ranges of the flattened table, 0 when IPv4 addresses walk the tree */
} geo_info_t;

/**
 * Opens a GeoIP database, or the empty handle.
 * The file is memory-mapped (MMDB_MODE_MMAP) and checked: its metadata must be readable and its
 * records must carry a country in one of the two supported shapes (the first records of the
 * search tree are inspected), otherwise the open fails and says why.
 * @param[in] path .mmdb file, or NULL for a handle that answers GEO_NOT_FOUND to every lookup
 * @param[out] geo receives the new handle on success, NULL on failure
 * @param[out] err receives a one-line reason on failure (may be NULL), e.g.
 *             "/etc/edge/geo.mmdb: not a MaxMind DB file (no metadata section)"
 * @param[in] err_size size of err
 * @return 0; -ENOENT or -EACCES (and other -errno from open) when the file cannot be opened;
 *         -EINVAL when it is not a usable MaxMind DB (corrupt, or no country data); -EIO on read
 *         errors; -ENOMEM
 * @note The caller owns the handle and releases it with geo_destroy. The file may be replaced on
 *       disk afterwards (rename over it) without affecting the open handle; truncating it in
 *       place is unsafe, as for any mmap.
 */
int geo_open(const char *path, geo_t **geo, char *err, size_t err_size);

/**
 * Closes a handle. NULL is a no-op.
 * @note No thread may be inside geo_lookup on this handle (see the reload rules at the top).
 */
void geo_destroy(geo_t *geo);

/**
 * Starts loading, in the background, the memory geo_lookup() will first read for this address
 * (IPv4 only; a no-op otherwise). A caller with other work to do first hides most of a cache
 * miss: with clients from everywhere, the table is seldom in the cache.
 */
void geo_prefetch(const geo_t *geo, const struct sockaddr *addr);

/**
 * Looks up the country and continent of an address.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are looked up as the IPv4 address they carry.
 * @param[in] geo handle (never NULL; use the empty handle when no database is configured)
 * @param[in] addr a struct sockaddr_in or sockaddr_in6
 * @param[out] out always written: the codes found, "" for each unknown one
 * @return GEO_FOUND, GEO_NOT_FOUND, GEO_BAD_ADDRESS or GEO_DB_ERROR
 * @note Thread-safe, lock-free and allocation-free; the handle is only read.
 */
geo_status_t geo_lookup(const geo_t *geo, const struct sockaddr *addr, geo_location_t *out);

/**
 * Describes the open database.
 * @param[out] info pointers into the handle, valid until geo_destroy
 */
void geo_describe(const geo_t *geo, geo_info_t *info);

/** A short name for a status, for logs and metrics labels ("found", "not_found", ...). */
const char *geo_status_name(geo_status_t status);

/**
 * The continent of a country, from the built-in ISO 3166-1 alpha-2 table (the 249 assigned codes,
 * plus XK for Kosovo as GeoIP databases use it), using GeoNames/MaxMind conventions (e.g. TR and CY:
 * AS and EU, RU: EU, EG: AF, PA: NA, AQ: AN).
 * @param[in] country two characters, either case; need not be NUL-terminated (a shorter
 *            NUL-terminated string is read safely and refused)
 * @return a static string "AF", "AN", "AS", "EU", "NA", "OC" or "SA", or NULL for an unknown code
 */
const char *geo_country_continent(const char *country);

/**
 * Tells whether a code is one of the seven continent codes (AF AN AS EU NA OC SA), e.g. to
 * validate a mirror's configured continents.
 * @param[in] continent two characters, either case; need not be NUL-terminated (a shorter
 *            NUL-terminated string is read safely and refused)
 */
int geo_continent_is_valid(const char *continent);

#endif
