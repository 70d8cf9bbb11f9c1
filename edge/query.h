// SPDX-License-Identifier: MIT
/*
 * query: walks the name=value pairs of a query string or an application/x-www-form-urlencoded
 * body, without unescaping (callers unescape what they keep, with their own limits). The admin
 * handlers of both modules read their parameters through it. Pure: no allocation, no h2o.
 */
#ifndef edge__edge_query_h
#define edge__edge_query_h

#include <stddef.h>

typedef struct st_query_pair_t {
    const char *name; /* raw bytes, not NUL-terminated */
    size_t name_len;
    const char *value; /* raw bytes after the first '=', empty when there is none */
    size_t value_len;
} query_pair_t;

/**
 * Reads the pair at *cursor (pairs are separated by '&') and moves *cursor past it.
 * @return 1 when a pair was read (possibly with an empty name), 0 when *cursor reached end.
 */
int query_next_pair(const char **cursor, const char *end, query_pair_t *pair);

/**
 * Finds the first pair whose raw name equals name.
 * @return 1 and the raw value in *value / *value_len, or 0 when there is none.
 */
int query_find(const char *query, size_t len, const char *name, const char **value, size_t *value_len);

#endif
