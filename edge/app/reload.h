// SPDX-License-Identifier: MIT
/*
 * reload: what SIGHUP changes. Compares the running and the new configuration key by key, logs
 * every difference, and says which ones need a restart (listeners, threads, storage) because
 * they cannot change without dropping connections.
 */
#ifndef edge__edge_app_reload_h
#define edge__edge_app_reload_h

#include "edge/conf.h"

/**
 * Logs one line per changed, added or removed key between two config trees.
 * @return the number of differences found; *needs_restart counts those under restart-only sections.
 */
size_t reload_log_changes(const conf_node_t *old_root, const conf_node_t *new_root, size_t *needs_restart);

#endif
