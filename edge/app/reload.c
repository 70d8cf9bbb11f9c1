// SPDX-License-Identifier: MIT
/*
 * reload: a recursive walk over two conf trees. Scalars compare by text; collections by their
 * children. Paths under server.*, admin.listen and storage.* are reported as needing a restart.
 */
#include "edge/app/reload.h"

#include <string.h>
#include "edge/log.h"

static int restart_only(const char *path)
{
    static const char *const prefixes[] = {"server", "admin.listen", "storage", NULL};
    for (const char *const *p = prefixes; *p != NULL; ++p) {
        size_t n = strlen(*p);
        if (strncmp(path, *p, n) == 0 && (path[n] == '\0' || path[n] == '.' || path[n] == '['))
            return 1;
    }
    return 0;
}

static void report(const char *path, const char *what, size_t *count, size_t *needs_restart)
{
    ++*count;
    if (restart_only(path)) {
        ++*needs_restart;
        log_warn("reload", "%s %s: takes effect only after a restart", path, what);
    } else {
        log_info("reload", "%s %s", path, what);
    }
}

static void diff(const conf_node_t *a, const conf_node_t *b, const char *path, size_t *count, size_t *needs_restart)
{
    if (a == NULL || b == NULL) {
        report(path, a == NULL ? "added" : "removed", count, needs_restart);
        return;
    }
    if (a->kind != b->kind) {
        report(path, "changed", count, needs_restart);
        return;
    }
    switch (a->kind) {
    case CONF_SCALAR:
        if (strcmp(a->scalar, b->scalar) != 0)
            report(path, "changed", count, needs_restart);
        break;
    case CONF_SEQUENCE:
        if (a->count != b->count) {
            report(path, "changed", count, needs_restart);
            break;
        }
        for (size_t i = 0; i < a->count; ++i)
            diff(a->items[i], b->items[i], a->items[i]->path, count, needs_restart);
        break;
    case CONF_MAPPING:
        for (size_t i = 0; i < a->count; ++i)
            diff(a->items[i], conf_get(b, a->keys[i]), a->items[i]->path, count, needs_restart);
        for (size_t i = 0; i < b->count; ++i)
            if (conf_get(a, b->keys[i]) == NULL)
                diff(NULL, b->items[i], b->items[i]->path, count, needs_restart);
        break;
    }
}

size_t reload_log_changes(const conf_node_t *old_root, const conf_node_t *new_root, size_t *needs_restart)
{
    size_t count = 0;
    *needs_restart = 0;
    diff(old_root, new_root, "(top level)", &count, needs_restart);
    return count;
}
