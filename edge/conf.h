// SPDX-License-Identifier: MIT
/*
 * conf: the YAML configuration file as a tree of nodes that remember their line and key path,
 * plus typed getters that validate and produce error messages people can act on:
 *   "edge.yaml:12: server.threads: expected an integer between 1 and 1024, got \"many\""
 *
 * Each module's config.c walks its own subtree with these getters and fills a plain struct;
 * nothing else in edge reads YAML. Relative paths are resolved against the config file's folder.
 * Getters never abort: they return 0 or -1 and fill a conf_error_t.
 * A conf tree is immutable once loaded and may be read from any thread.
 */
#ifndef edge__edge_conf_h
#define edge__edge_conf_h

#include <stddef.h>
#include <stdint.h>

typedef enum en_conf_kind_t {
    CONF_SCALAR,
    CONF_SEQUENCE,
    CONF_MAPPING,
} conf_kind_t;

typedef struct st_conf_node_t conf_node_t;
struct st_conf_node_t {
    conf_kind_t kind;
    unsigned line;
    /** dotted key path, e.g. "server.listen[1].tls.key"; owned by the tree */
    const char *path;
    /** scalar text (CONF_SCALAR), NUL-terminated; NULL for collections */
    const char *scalar;
    /** whether a scalar was quoted in the file (a quoted "null" is a string) */
    int quoted;
    /** children: items of a sequence, values of a mapping */
    conf_node_t **items;
    /** keys of a mapping, parallel to items; NULL for sequences */
    const char **keys;
    size_t count;
    /** the document this node belongs to (file name, base directory) */
    const struct st_conf_doc_t *doc;
};

typedef struct st_conf_doc_t {
    /** the config file path as given */
    const char *file;
    /** directory relative paths are resolved against */
    const char *base_dir;
    conf_node_t *root;
} conf_doc_t;

typedef struct st_conf_error_t {
    char msg[512];
} conf_error_t;

/**
 * Loads and parses a YAML file. The top level must be a mapping (an empty file is an empty mapping).
 * Anchors/aliases and duplicate keys are rejected.
 * @return a document to free with conf_doc_destroy, or NULL with err filled.
 */
conf_doc_t *conf_doc_load(const char *path, conf_error_t *err);

/** Parses YAML from memory; file is used in messages and base_dir for relative paths. */
conf_doc_t *conf_doc_parse(const char *text, size_t len, const char *file, const char *base_dir, conf_error_t *err);

/** Frees a document and every node in it. NULL is a no-op. */
void conf_doc_destroy(conf_doc_t *doc);

/** @return the child of a mapping by key, or NULL (also when map is NULL or not a mapping). */
const conf_node_t *conf_get(const conf_node_t *map, const char *key);

/**
 * Fails when map is not a mapping or has a key outside allowed (a NULL-terminated list).
 * A NULL map passes (absent sections are fine).
 */
int conf_check_keys(const conf_node_t *map, const char *const *allowed, conf_error_t *err);

/** Fills err with "<file>:<line>: <path>: <formatted reason>" for node and returns -1. */
int conf_fail(conf_error_t *err, const conf_node_t *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Typed getters on map[key]. When the key is absent, *out is left unchanged (callers preset
 * defaults) and 0 is returned. A present key with the wrong type or value is an error.
 */
int conf_get_string(const conf_node_t *map, const char *key, const char **out, conf_error_t *err);
int conf_get_bool(const conf_node_t *map, const char *key, int *out, conf_error_t *err);
int conf_get_int(const conf_node_t *map, const char *key, int64_t min, int64_t max, int64_t *out, conf_error_t *err);
/** sizes: plain bytes or with a suffix k, m, g (powers of 1024), e.g. "25m". */
int conf_get_size(const conf_node_t *map, const char *key, uint64_t min, uint64_t max, uint64_t *out, conf_error_t *err);
/** durations: a number with a unit ms, s, m, h (e.g. "500ms", "30s"); stored in milliseconds. */
int conf_get_duration_ms(const conf_node_t *map, const char *key, uint64_t min_ms, uint64_t max_ms, uint64_t *out,
                         conf_error_t *err);
/**
 * A path resolved against the config file's directory when relative.
 * @param out receives a malloc'ed string (caller frees); a previous non-NULL *out is freed first.
 *            Unchanged when the key is absent.
 */
int conf_get_path(const conf_node_t *map, const char *key, char **out, conf_error_t *err);

/** Scalar conversions on a node itself (for list items). */
int conf_node_string(const conf_node_t *node, const char **out, conf_error_t *err);
int conf_node_path(const conf_node_t *node, char **out, conf_error_t *err);

/** @return a malloc'ed path: p itself when absolute, else base_dir/p. NULL on ENOMEM. */
char *conf_resolve_path(const conf_doc_t *doc, const char *p);

#endif
