// SPDX-License-Identifier: MIT
/*
 * config: the `bouncer:` section of the configuration as a plain struct (keys and defaults:
 * docs/configuration.md, "bouncer"). Parsed once on the main thread at start, at
 * --check-config and on every SIGHUP; `health_check` is delegated to sentry_config_parse().
 * The result copies every string it keeps, so the YAML tree may be freed right after parsing.
 */
#ifndef edge__bouncer_config_h
#define edge__bouncer_config_h

#include <stddef.h>
#include <stdint.h>
#include "edge/conf.h"
#include "bouncer/clientaddr.h"
#include "bouncer/sentry.h"

typedef struct st_bouncer_config_t {
    char *prefix;           /* redirect path prefix, default "/" */
    char *landing_url;      /* "" disables the landing redirect (404 without a product) */
    char *stub_root_url;    /* NULL: no stub attribution hand-off */
    unsigned char *attribution_key; /* NULL: signatures are not checked */
    size_t attribution_key_len;
    uint64_t cache_max_age; /* seconds */
    int fail_open;
    char *geoip_database;   /* NULL: no GeoIP (every client is "unknown") */
    clientaddr_list_t *trusted_proxies; /* never NULL after parsing (may be empty) */
    char *pin_name;         /* https pin header name, NULL: disabled */
    char *pin_value;        /* its value (compared case-insensitively) */
    char *mirror_header;    /* NULL: disabled */
    char *seed_catalog;     /* NULL: no seed */
    char *rules_file;       /* NULL: rules live in the catalog (API/import) */
    uint64_t catalog_map_size;
    sentry_config_t *health_check;
} bouncer_config_t;

/**
 * Parses the `bouncer:` section.
 * @param section the section node (a mapping; NULL means all defaults)
 * @param[out] out the configuration, free with bouncer_config_destroy()
 * @return 0, or -1 with err naming file, line and key.
 */
int bouncer_config_parse(const conf_node_t *section, bouncer_config_t **out, conf_error_t *err);

/** Frees a configuration. NULL is a no-op. */
void bouncer_config_destroy(bouncer_config_t *c);

#endif
