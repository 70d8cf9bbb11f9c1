// SPDX-License-Identifier: MIT
/*
 * forwarder: delivers every crash of the spool to each configured upstream at least once, either by
 * re-posting it to another Antenna-compatible collector ("antenna") or by writing it into an S3
 * bucket in Socorro's storage layout ("s3").
 *
 * Design: one delivery thread per upstream, each with its own libcurl multi handle (keep-alive,
 * at most `concurrency` transfers at a time). A thread reads due records with spool_due() in short
 * read transactions, skips those already in flight or already delivered to it (delivered bitmask),
 * delivers them, and records the outcome as spool jobs (delivered / reschedule with capped
 * exponential backoff and jitter / dead letter for permanent refusals). Nothing is marked "in
 * flight" on disk: a killed process simply delivers the pending records again (at least once).
 * When an upstream keeps failing, its thread backs off as a whole (circuit), sleeping in
 * curl_multi_poll() until the pause ends or forwarder_destroy() wakes it; docs/forwarder.md is the reference.
 *
 * Threads: parse/create/destroy run on the main thread; forwarder_status_json and the health check
 * run on any thread; deliveries run on the forwarder's own threads.
 */
#ifndef edge__collector_forwarder_h
#define edge__collector_forwarder_h

#include <stddef.h>

#include "collector/spool.h"
#include "edge/conf.h"

typedef struct st_forwarder_config_t forwarder_config_t;
typedef struct st_forwarder_t forwarder_t;

/**
 * Parses `collector.upstream` and `collector.forwarder` into a config.
 * @param upstream  collector.upstream: a mapping (one upstream) or a sequence of mappings; may be NULL
 *                  (then the config has 0 upstreams and the forwarder delivers nothing)
 * @param forwarder collector.forwarder mapping; may be NULL (defaults)
 * @param[out] out  the config, freed with forwarder_config_destroy()
 * @param err       filled with "file:line: key: reason" on failure
 * @return 0 or -1.
 * @note Reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment for s3 upstreams
 *       without explicit keys.
 */
int forwarder_config_parse(const conf_node_t *upstream, const conf_node_t *forwarder, forwarder_config_t **out,
                           conf_error_t *err);

/** Frees a config. NULL is a no-op. */
void forwarder_config_destroy(forwarder_config_t *c);

/**
 * @return the number of upstreams, at least 1 (for spool sizing: spool_config_t.upstream_count).
 */
size_t forwarder_config_upstream_count(const forwarder_config_t *c);

/**
 * Starts one delivery thread per upstream, registers the metrics and the "forwarder_backlog" health
 * check.
 * @param config copied (the caller may destroy it afterwards)
 * @param spool  the spool to drain; must outlive the forwarder
 * @param[out] out the forwarder (also created, idle, when the config has 0 upstreams)
 * @param err    filled on failure
 * @return 0 or -1.
 */
int forwarder_create(const forwarder_config_t *config, spool_t *spool, forwarder_t **out, conf_error_t *err);

/**
 * Stops and joins the threads promptly: transfers in progress are aborted and their records simply
 * stay pending (due again at their stored time). NULL is a no-op.
 * @note Call before spool_destroy(); waits for the spool jobs the forwarder submitted.
 */
void forwarder_destroy(forwarder_t *f);

/**
 * @return a malloc'ed JSON object (caller frees)
 *   {"upstreams":[{"name","kind","url","state":"ok|failing","last_error","pending","pending_bytes",
 *   "oldest_pending_age_s","delivered","retries","dead_letters","in_flight","paused_for_ms"}]},
 *   or NULL if f is NULL or on ENOMEM.
 * @note Any thread.
 */
char *forwarder_status_json(forwarder_t *f);

#endif
