// SPDX-License-Identifier: MIT
/*
 * throttle: the ordered rule list that decides, from a crash's annotations alone, whether a report
 * is accepted (stored and processed), deferred (stored only), rejected (answered
 * `Discarded=rule_<name>`, nothing stored) or fake-accepted (answered like an accept, nothing stored).
 *
 * Rules are read once from the configuration (`collector.throttle.rules`, or a separate YAML file
 * named by `collector.throttle.rules_file`), validated and compiled (regular expressions included),
 * and are immutable afterwards. Evaluation walks the list in order: the first rule whose condition
 * holds decides, unless its result is CONTINUE, which moves on to the next rule; when no rule
 * decides, the crash is rejected under the rule name "NO_MATCH". docs/throttle.md is the reference
 * for the rule format.
 *
 * Threads: loading runs on the thread that reads the configuration; throttle_evaluate and
 * throttle_decide run on any worker thread, concurrently, on the same rule set. Evaluation allocates
 * nothing itself (glibc's regexec keeps a little scratch memory of its own).
 */
#ifndef edge__collector_throttle_h
#define edge__collector_throttle_h

#include <stddef.h>
#include <time.h>

#include "edge/conf.h"

/**
 * What to do with a crash. The first four values are the throttle digits of the crash id
 * (0 accept, 1 defer, 3 fake-accept; 2, reject, never reaches a crash id).
 */
typedef enum en_throttle_result_t {
    /** store and process */
    THROTTLE_ACCEPT = 0,
    /** store, do not process */
    THROTTLE_DEFER = 1,
    /** answer `Discarded=rule_<name>`, store nothing */
    THROTTLE_REJECT = 2,
    /** answer like an accept, store nothing (for clients that retry rejections forever) */
    THROTTLE_FAKEACCEPT = 3,
    /** only inside a rule: go on with the next rule; never returned by throttle_evaluate */
    THROTTLE_CONTINUE = 4,
} throttle_result_t;

/** The rule name reported when no rule decided (the result is then THROTTLE_REJECT). */
#define THROTTLE_NO_MATCH "NO_MATCH"

/** The name of the single rule of the default rule set, which accepts every crash. */
#define THROTTLE_DEFAULT_RULE "accept_everything"

/** Longest rule name accepted (the name ends up in HTTP answers and metric labels). */
#define THROTTLE_NAME_MAX 64

typedef struct st_throttle_rules_t throttle_rules_t;

/**
 * Looks up one annotation of the crash being judged.
 * @param actx the caller's context, passed through unchanged
 * @param key annotation name, e.g. "ProductName"
 * @return the value (NUL-terminated), or NULL when the crash has no such annotation. The value must
 *         stay valid until the evaluation that asked for it returns.
 */
typedef const char *(*throttle_get_annotation_cb)(void *actx, const char *key);

/**
 * Builds the rule set from the `collector.throttle` section of the configuration: the rules given
 * inline under `rules` (a sequence), or the rules of the YAML file named by `rules_file` (resolved
 * against the config file's folder; its top level is a mapping whose only key is `rules`).
 * Giving both is an error; giving neither (or a NULL section) yields the default rule set.
 * The section may hold no other keys.
 * @param[in] throttle_section the `collector.throttle` mapping, or NULL when absent
 * @param[out] out receives the rule set on success; untouched on failure
 * @param[out] err on failure, "<file>:<line>: <key path>: <reason>"
 * @return 0, -EINVAL on a configuration error, -ENOMEM (err is filled in both cases)
 * @note The rule set copies everything it needs: the conf tree may be destroyed right after.
 *       Free it with throttle_rules_destroy.
 */
int throttle_rules_from_conf(const conf_node_t *throttle_section, throttle_rules_t **out, conf_error_t *err);

/**
 * Builds a rule set from a sequence node whose items are rules (the value of a `rules` key).
 * @param[in] rules_seq the sequence; an empty sequence is an error
 * @param[out] out receives the rule set on success; untouched on failure
 * @param[out] err on failure, "<file>:<line>: <key path>: <reason>"
 * @return 0, -EINVAL, -ENOMEM (err is filled in both cases)
 * @note Same ownership as throttle_rules_from_conf.
 */
int throttle_rules_parse(const conf_node_t *rules_seq, throttle_rules_t **out, conf_error_t *err);

/**
 * Loads a rule file: a YAML mapping with one key, `rules`, holding the rule sequence.
 * @param[in] path the file to read
 * @param[out] out receives the rule set on success; untouched on failure
 * @param[out] err on failure, names the file, line and key
 * @return 0, -EINVAL (unreadable file, YAML or rule error), -ENOMEM
 */
int throttle_rules_load(const char *path, throttle_rules_t **out, conf_error_t *err);

/**
 * Creates the default rule set: one rule, THROTTLE_DEFAULT_RULE, accepting every crash.
 * @param[out] out receives the rule set on success
 * @return 0 or -ENOMEM
 */
int throttle_rules_create_default(throttle_rules_t **out);

/** Frees a rule set and everything in it. NULL is a no-op. No evaluation may still be running on it. */
void throttle_rules_destroy(throttle_rules_t *rules);

/** @return the number of rules in the set (at least 1). */
size_t throttle_rules_count(const throttle_rules_t *rules);

/**
 * @return the name of rule i (i < throttle_rules_count), e.g. to pre-register metric labels.
 * @note Owned by the rule set; valid until throttle_rules_destroy.
 */
const char *throttle_rules_name(const throttle_rules_t *rules, size_t i);

/**
 * Judges one crash.
 * @param rules the rule set
 * @param get_annotation how to read the crash's annotations (called zero or more times)
 * @param actx passed to get_annotation
 * @param random01 a uniform random number in [0, 1). A sampled rule `{sample: pct, then, else}`
 *        takes `then` when random01 * 100 <= pct. When a chain meets several sampled rules, each
 *        one after the first draws from the part of random01 the previous draws left unused, so
 *        the samples stay independent of each other.
 * @param now the current time (UTC seconds), for `older_than_days` conditions
 * @param[out] rule_name receives the deciding rule's name, or THROTTLE_NO_MATCH; may be NULL
 * @return THROTTLE_ACCEPT, THROTTLE_DEFER, THROTTLE_REJECT or THROTTLE_FAKEACCEPT (never CONTINUE)
 * @note Thread-safe: any number of threads may evaluate the same rule set at once. *rule_name is
 *       owned by the rule set (or is a static string) and is valid until throttle_rules_destroy:
 *       copy it if the crash may outlive a configuration reload.
 */
throttle_result_t throttle_evaluate(const throttle_rules_t *rules, throttle_get_annotation_cb get_annotation, void *actx,
                                    double random01, time_t now, const char **rule_name);

/**
 * throttle_evaluate with a random number from a per-thread generator (seeded once per thread from
 * getrandom) and the current time, in the shape the submission pipeline expects of its throttle hook.
 * @param rules_ctx a const throttle_rules_t *
 * @return a throttle_result_t value
 * @note Same thread and lifetime notes as throttle_evaluate. The generator never yields exactly 0,
 *       so `sample: 0` never takes `then` and `sample: 100` always does.
 */
int throttle_decide(void *rules_ctx, const char *(*get_annotation)(void *actx, const char *key), void *actx,
                    const char **rule_name);

/** @return "accept", "defer", "reject", "fakeaccept", "continue", or "unknown" (static strings). */
const char *throttle_result_name(throttle_result_t result);

#endif
