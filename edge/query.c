// SPDX-License-Identifier: MIT
/* query: see edge/query.h. */
#include "edge/query.h"

#include <string.h>

int query_next_pair(const char **cursor, const char *end, query_pair_t *pair)
{
    const char *p = *cursor;
    if (p >= end)
        return 0;
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pair_end = amp != NULL ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pair_end - p));
    pair->name = p;
    pair->name_len = (size_t)((eq != NULL ? eq : pair_end) - p);
    pair->value = eq != NULL ? eq + 1 : pair_end;
    pair->value_len = (size_t)(pair_end - pair->value);
    *cursor = amp != NULL ? amp + 1 : end;
    return 1;
}

int query_find(const char *query, size_t len, const char *name, const char **value, size_t *value_len)
{
    const char *cursor = query, *end = query + len;
    size_t name_len = strlen(name);
    query_pair_t pair;
    while (query_next_pair(&cursor, end, &pair)) {
        if (pair.name_len == name_len && memcmp(pair.name, name, name_len) == 0) {
            *value = pair.value;
            *value_len = pair.value_len;
            return 1;
        }
    }
    return 0;
}
