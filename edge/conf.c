// SPDX-License-Identifier: MIT
/*
 * conf: builds a node tree from libyaml's event stream, then offers typed getters.
 *
 * Every node records its line and dotted path when it is built, so any later validation error
 * can point at "file:line: key.path". The tree is built once at start (and on SIGHUP into a new
 * tree) and never modified afterwards. Anchors and aliases are refused: they would make one node
 * appear under several paths and complicate ownership for no real benefit in a config file.
 */
#include "edge/conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct st_builder_t {
    yaml_parser_t parser;
    conf_doc_t *doc;
    conf_error_t *err;
} builder_t;

static void node_free(conf_node_t *node)
{
    if (node == NULL)
        return;
    for (size_t i = 0; i < node->count; ++i) {
        node_free(node->items[i]);
        if (node->keys != NULL)
            free((char *)node->keys[i]);
    }
    free(node->items);
    free(node->keys);
    free((char *)node->scalar);
    free((char *)node->path);
    free(node);
}

void conf_doc_destroy(conf_doc_t *doc)
{
    if (doc == NULL)
        return;
    node_free(doc->root);
    free((char *)doc->file);
    free((char *)doc->base_dir);
    free(doc);
}

static int set_error(conf_error_t *err, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int set_error(conf_error_t *err, const char *file, unsigned line, const char *fmt, ...)
{
    int n = snprintf(err->msg, sizeof(err->msg), "%s:%u: ", file, line);
    if (n < 0 || (size_t)n >= sizeof(err->msg))
        return -1;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, args);
    va_end(args);
    return -1;
}

int conf_fail(conf_error_t *err, const conf_node_t *node, const char *fmt, ...)
{
    int n = snprintf(err->msg, sizeof(err->msg), "%s:%u: %s: ", node->doc->file, node->line, node->path);
    if (n < 0 || (size_t)n >= sizeof(err->msg))
        return -1;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, args);
    va_end(args);
    return -1;
}

static conf_node_t *node_new(builder_t *b, conf_kind_t kind, unsigned line, const char *path)
{
    conf_node_t *node = calloc(1, sizeof(*node));
    if (node == NULL || (node->path = strdup(path)) == NULL) {
        free(node);
        set_error(b->err, b->doc->file, line, "out of memory");
        return NULL;
    }
    node->kind = kind;
    node->line = line;
    node->doc = b->doc;
    return node;
}

static int node_append(builder_t *b, conf_node_t *parent, char *key, conf_node_t *child)
{
    conf_node_t **items = realloc(parent->items, (parent->count + 1) * sizeof(*items));
    if (items == NULL)
        goto Error;
    parent->items = items;
    if (parent->kind == CONF_MAPPING) {
        const char **keys = realloc(parent->keys, (parent->count + 1) * sizeof(*keys));
        if (keys == NULL)
            goto Error;
        parent->keys = keys;
        parent->keys[parent->count] = key;
    }
    parent->items[parent->count++] = child;
    return 0;
Error:
    free(key);
    node_free(child);
    return set_error(b->err, b->doc->file, parent->line, "out of memory");
}

static int next_event(builder_t *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev))
        return set_error(b->err, b->doc->file, (unsigned)b->parser.problem_mark.line + 1, "YAML syntax error: %s",
                         b->parser.problem != NULL ? b->parser.problem : "unknown");
    return 0;
}

static conf_node_t *parse_node(builder_t *b, yaml_event_t *ev, const char *path, int depth);

static conf_node_t *parse_collection(builder_t *b, conf_node_t *node, yaml_event_type_t end_type, int depth)
{
    char child_path[1024];
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev) != 0)
            goto Error;
        if (ev.type == end_type) {
            yaml_event_delete(&ev);
            return node;
        }
        char *key = NULL;
        if (node->kind == CONF_MAPPING) {
            if (ev.type != YAML_SCALAR_EVENT) {
                set_error(b->err, b->doc->file, (unsigned)ev.start_mark.line + 1, "%s: mapping keys must be plain strings",
                          node->path[0] != '\0' ? node->path : "(top level)");
                yaml_event_delete(&ev);
                goto Error;
            }
            key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            unsigned key_line = (unsigned)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            if (key == NULL) {
                set_error(b->err, b->doc->file, key_line, "out of memory");
                goto Error;
            }
            for (size_t i = 0; i < node->count; ++i) {
                if (strcmp(node->keys[i], key) == 0) {
                    set_error(b->err, b->doc->file, key_line, "%s%s%s: duplicate key", node->path, node->path[0] ? "." : "", key);
                    free(key);
                    goto Error;
                }
            }
            snprintf(child_path, sizeof(child_path), "%s%s%s", node->path, node->path[0] != '\0' ? "." : "", key);
            if (next_event(b, &ev) != 0) {
                free(key);
                goto Error;
            }
        } else {
            snprintf(child_path, sizeof(child_path), "%s[%zu]", node->path, node->count);
        }
        conf_node_t *child = parse_node(b, &ev, child_path, depth + 1);
        yaml_event_delete(&ev);
        if (child == NULL) {
            free(key);
            goto Error;
        }
        if (node_append(b, node, key, child) != 0)
            goto Error;
    }
Error:
    node_free(node);
    return NULL;
}

/* Builds the node that starts with ev (which the caller deletes). */
static conf_node_t *parse_node(builder_t *b, yaml_event_t *ev, const char *path, int depth)
{
    unsigned line = (unsigned)ev->start_mark.line + 1;
    if (depth > 64) {
        set_error(b->err, b->doc->file, line, "%s: nesting too deep", path);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor != NULL) {
            set_error(b->err, b->doc->file, line, "%s: anchors and aliases are not supported", path);
            return NULL;
        }
        conf_node_t *node = node_new(b, CONF_SCALAR, line, path);
        if (node == NULL)
            return NULL;
        node->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                       ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        if ((node->scalar = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length)) == NULL) {
            node_free(node);
            set_error(b->err, b->doc->file, line, "out of memory");
            return NULL;
        }
        if (strlen(node->scalar) != ev->data.scalar.length) {
            set_error(b->err, b->doc->file, line, "%s: NUL byte in value", path);
            node_free(node);
            return NULL;
        }
        return node;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        if ((is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor) != NULL) {
            set_error(b->err, b->doc->file, line, "%s: anchors and aliases are not supported", path);
            return NULL;
        }
        conf_node_t *node = node_new(b, is_map ? CONF_MAPPING : CONF_SEQUENCE, line, path);
        if (node == NULL)
            return NULL;
        return parse_collection(b, node, is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth);
    }
    case YAML_ALIAS_EVENT:
        set_error(b->err, b->doc->file, line, "%s: anchors and aliases are not supported", path);
        return NULL;
    default:
        set_error(b->err, b->doc->file, line, "%s: unexpected YAML event", path);
        return NULL;
    }
}

conf_doc_t *conf_doc_parse(const char *text, size_t len, const char *file, const char *base_dir, conf_error_t *err)
{
    builder_t b = {.err = err};
    int parser_ready = 0;
    if ((b.doc = calloc(1, sizeof(*b.doc))) == NULL || (b.doc->file = strdup(file)) == NULL ||
        (b.doc->base_dir = strdup(base_dir)) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: out of memory", file);
        goto Error;
    }
    if (!yaml_parser_initialize(&b.parser)) {
        snprintf(err->msg, sizeof(err->msg), "%s: out of memory", file);
        goto Error;
    }
    parser_ready = 1;
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);

    /* stream start, then either stream end (empty file) or one document */
    yaml_event_t ev;
    int done = 0, documents = 0;
    while (!done) {
        if (next_event(&b, &ev) != 0)
            goto Error;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                set_error(err, file, (unsigned)ev.start_mark.line + 1, "only one YAML document is allowed");
                yaml_event_delete(&ev);
                goto Error;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            if (b.doc->root != NULL) {
                set_error(err, file, (unsigned)ev.start_mark.line + 1, "only one YAML document is allowed");
                yaml_event_delete(&ev);
                goto Error;
            }
            if ((b.doc->root = parse_node(&b, &ev, "", 0)) == NULL) {
                yaml_event_delete(&ev);
                goto Error;
            }
            if (b.doc->root->kind == CONF_SCALAR && b.doc->root->scalar[0] == '\0' && !b.doc->root->quoted) {
                node_free(b.doc->root);
                b.doc->root = NULL;
            } else if (b.doc->root->kind != CONF_MAPPING) {
                set_error(err, file, b.doc->root->line, "the top level must be a mapping of keys");
                yaml_event_delete(&ev);
                goto Error;
            }
            break;
        }
        yaml_event_delete(&ev);
    }
    if (b.doc->root == NULL) {
        conf_node_t *root = node_new(&b, CONF_MAPPING, 1, "");
        if (root == NULL)
            goto Error;
        b.doc->root = root;
    }
    yaml_parser_delete(&b.parser);
    return b.doc;
Error:
    if (parser_ready)
        yaml_parser_delete(&b.parser);
    conf_doc_destroy(b.doc);
    return NULL;
}

conf_doc_t *conf_doc_load(const char *path, conf_error_t *err)
{
    conf_doc_t *doc = NULL;
    char *text = NULL, *base = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", path, strerror(errno));
        goto Exit;
    }
    size_t cap = 4096, len = 0, n;
    if ((text = malloc(cap)) == NULL)
        goto Oom;
    while ((n = fread(text + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap) {
            if (cap >= 16 * 1024 * 1024) {
                snprintf(err->msg, sizeof(err->msg), "%s: file is larger than 16 MiB", path);
                goto Exit;
            }
            char *bigger = realloc(text, cap * 2);
            if (bigger == NULL)
                goto Oom;
            text = bigger;
            cap *= 2;
        }
    }
    if (ferror(fp)) {
        snprintf(err->msg, sizeof(err->msg), "%s: read error: %s", path, strerror(errno));
        goto Exit;
    }
    /* base directory: everything before the last slash, or "." */
    const char *slash = strrchr(path, '/');
    base = slash == NULL ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
    if (base == NULL)
        goto Oom;
    doc = conf_doc_parse(text, len, path, base, err);
    goto Exit;
Oom:
    snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
Exit:
    if (fp != NULL)
        fclose(fp);
    free(text);
    free(base);
    return doc;
}

const conf_node_t *conf_get(const conf_node_t *map, const char *key)
{
    if (map == NULL || map->kind != CONF_MAPPING)
        return NULL;
    for (size_t i = 0; i < map->count; ++i)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

int conf_check_keys(const conf_node_t *map, const char *const *allowed, conf_error_t *err)
{
    if (map == NULL)
        return 0;
    if (map->kind != CONF_MAPPING)
        return conf_fail(err, map, "expected a mapping");
    for (size_t i = 0; i < map->count; ++i) {
        const char *const *a;
        for (a = allowed; *a != NULL; ++a)
            if (strcmp(*a, map->keys[i]) == 0)
                break;
        if (*a == NULL)
            return conf_fail(err, map->items[i], "unknown key");
    }
    return 0;
}

int conf_node_string(const conf_node_t *node, const char **out, conf_error_t *err)
{
    if (node->kind != CONF_SCALAR)
        return conf_fail(err, node, "expected a string");
    *out = node->scalar;
    return 0;
}

int conf_get_string(const conf_node_t *map, const char *key, const char **out, conf_error_t *err)
{
    const conf_node_t *node = conf_get(map, key);
    return node == NULL ? 0 : conf_node_string(node, out, err);
}

int conf_get_bool(const conf_node_t *map, const char *key, int *out, conf_error_t *err)
{
    const conf_node_t *node = conf_get(map, key);
    if (node == NULL)
        return 0;
    if (node->kind == CONF_SCALAR && !node->quoted) {
        if (strcmp(node->scalar, "true") == 0 || strcmp(node->scalar, "yes") == 0 || strcmp(node->scalar, "on") == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(node->scalar, "false") == 0 || strcmp(node->scalar, "no") == 0 || strcmp(node->scalar, "off") == 0) {
            *out = 0;
            return 0;
        }
    }
    return conf_fail(err, node, "expected true or false");
}

/* Parses a decimal number with an optional unit suffix taken from units[] (multipliers). */
static int parse_scaled(const conf_node_t *node, const char *const *unit_names, const uint64_t *unit_values, uint64_t *out)
{
    if (node->kind != CONF_SCALAR)
        return -1;
    const char *s = node->scalar;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    while (*end == ' ')
        ++end;
    uint64_t mult = 0;
    for (size_t i = 0; unit_names[i] != NULL; ++i) {
        if (strcasecmp(end, unit_names[i]) == 0) {
            mult = unit_values[i];
            break;
        }
    }
    if (mult == 0 || (v != 0 && mult > UINT64_MAX / v))
        return -1;
    *out = (uint64_t)v * mult;
    return 0;
}

int conf_get_int(const conf_node_t *map, const char *key, int64_t min, int64_t max, int64_t *out, conf_error_t *err)
{
    const conf_node_t *node = conf_get(map, key);
    if (node == NULL)
        return 0;
    if (node->kind == CONF_SCALAR && node->scalar[0] != '\0') {
        errno = 0;
        char *end;
        long long v = strtoll(node->scalar, &end, 10);
        if (errno == 0 && *end == '\0' && v >= min && v <= max) {
            *out = v;
            return 0;
        }
    }
    return conf_fail(err, node, "expected an integer between %" PRId64 " and %" PRId64 ", got \"%s\"", min, max,
                     node->kind == CONF_SCALAR ? node->scalar : "(a collection)");
}

int conf_get_size(const conf_node_t *map, const char *key, uint64_t min, uint64_t max, uint64_t *out, conf_error_t *err)
{
    static const char *const names[] = {"", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", NULL};
    static const uint64_t values[] = {1, 1, 1024, 1024, 1024, 1 << 20, 1 << 20, 1 << 20, 1 << 30, 1 << 30, 1 << 30};
    const conf_node_t *node = conf_get(map, key);
    if (node == NULL)
        return 0;
    uint64_t v;
    if (parse_scaled(node, names, values, &v) == 0 && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    return conf_fail(err, node, "expected a size between %" PRIu64 " and %" PRIu64 " bytes (suffixes k, m, g), got \"%s\"", min,
                     max, node->kind == CONF_SCALAR ? node->scalar : "(a collection)");
}

int conf_get_duration_ms(const conf_node_t *map, const char *key, uint64_t min_ms, uint64_t max_ms, uint64_t *out,
                         conf_error_t *err)
{
    static const char *const names[] = {"ms", "s", "m", "h", NULL};
    static const uint64_t values[] = {1, 1000, 60000, 3600000};
    const conf_node_t *node = conf_get(map, key);
    if (node == NULL)
        return 0;
    uint64_t v;
    if (parse_scaled(node, names, values, &v) == 0 && v >= min_ms && v <= max_ms) {
        *out = v;
        return 0;
    }
    return conf_fail(err, node, "expected a duration between %" PRIu64 "ms and %" PRIu64 "ms (units ms, s, m, h), got \"%s\"",
                     min_ms, max_ms, node->kind == CONF_SCALAR ? node->scalar : "(a collection)");
}

char *conf_resolve_path(const conf_doc_t *doc, const char *p)
{
    if (p[0] == '/')
        return strdup(p);
    char *out;
    if (asprintf(&out, "%s/%s", doc->base_dir, p) < 0)
        return NULL;
    return out;
}

int conf_node_path(const conf_node_t *node, char **out, conf_error_t *err)
{
    if (node->kind != CONF_SCALAR || node->scalar[0] == '\0')
        return conf_fail(err, node, "expected a file or directory path");
    char *p = conf_resolve_path(node->doc, node->scalar);
    if (p == NULL)
        return conf_fail(err, node, "out of memory");
    free(*out);
    *out = p;
    return 0;
}

int conf_get_path(const conf_node_t *map, const char *key, char **out, conf_error_t *err)
{
    const conf_node_t *node = conf_get(map, key);
    return node == NULL ? 0 : conf_node_path(node, out, err);
}
