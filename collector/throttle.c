// SPDX-License-Identifier: MIT
/*
 * throttle: parses the throttle rules from conf nodes into a flat array of compiled rules, and
 * evaluates them against a crash's annotations.
 *
 * A rule is a name, one or more conditions (all must hold) and a result. Each condition looks at one
 * annotation (or at nothing, for `always`); every string it needs is copied out of the conf tree and
 * every regular expression is compiled at load time, so the conf tree may go away after loading and
 * evaluation only reads. That is what makes throttle_evaluate safe to run from every worker thread at
 * once without locks or allocations (POSIX regexec on a shared, compiled pattern is thread-safe).
 *
 * Sampling takes one uniform number per evaluation. After a sampled rule has used it, the number is
 * rescaled onto [0, 1) within the branch it fell in (u/p below p, (u-p)/(1-p) above), which is again
 * uniform and independent of the branch taken: a CONTINUE chain of sampled rules then samples each
 * rule independently, as if every rule had drawn its own number.
 *
 * throttle_decide is the pipeline's hook: it draws from a per-thread splitmix64 generator seeded from
 * getrandom, so concurrent workers never share generator state.
 */
#include "collector/throttle.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef enum en_cond_kind_t {
    COND_ALWAYS,
    COND_EXISTS,
    COND_EQUALS,
    COND_REGEX,
    COND_ONE_OF,
    COND_OLDER_THAN,
} cond_kind_t;

typedef struct st_cond_t {
    cond_kind_t kind;
    /** `not: true`: the condition holds when the test fails */
    int negate;
    /** the annotation looked at; NULL for COND_ALWAYS */
    char *key;
    /** value used when the annotation is absent (`default:`); NULL: an absent annotation fails the test */
    char *fallback;
    /** COND_EXISTS: 1 for `exists: true` */
    int want_exists;
    /** COND_EQUALS */
    char *value;
    /** COND_REGEX */
    regex_t re;
    int re_ready;
    /** COND_ONE_OF */
    char **values;
    size_t num_values;
    /** COND_OLDER_THAN, in seconds */
    int64_t max_age;
} cond_t;

typedef struct st_rule_t {
    char *name;
    unsigned line;
    cond_t *conds;
    size_t num_conds;
    /** plain results use then_result only */
    int sampled;
    double pct;
    throttle_result_t then_result;
    throttle_result_t else_result;
} rule_t;

struct st_throttle_rules_t {
    rule_t *rules;
    size_t count;
};

/* The keys that make a condition; exactly one per condition. */
static const char *const cond_kinds[] = {"exists", "equals", "regex", "one_of", "older_than_days", "always", NULL};
static const char *const cond_keys[] = {"key",    "exists",  "equals", "regex", "one_of", "older_than_days",
                                        "always", "default", "not",    NULL};
static const char *const rule_keys[] = {"name",  "description", "result",          "all",    "key",     "exists", "equals",
                                        "regex", "one_of",      "older_than_days", "always", "default", "not",    NULL};
static const char *const result_names[] = {"ACCEPT", "DEFER", "REJECT", "FAKEACCEPT", "CONTINUE"};

/* Fills err for an allocation failure and returns -ENOMEM. */
static int oom(conf_error_t *err, const conf_node_t *node)
{
    conf_fail(err, node, "out of memory");
    return -ENOMEM;
}

static void cond_dispose(cond_t *c)
{
    free(c->key);
    free(c->fallback);
    free(c->value);
    if (c->re_ready)
        regfree(&c->re);
    for (size_t i = 0; i < c->num_values; ++i)
        free(c->values[i]);
    free(c->values);
}

static void rule_dispose(rule_t *r)
{
    free(r->name);
    for (size_t i = 0; i < r->num_conds; ++i)
        cond_dispose(&r->conds[i]);
    free(r->conds);
}

void throttle_rules_destroy(throttle_rules_t *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->count; ++i)
        rule_dispose(&rules->rules[i]);
    free(rules->rules);
    free(rules);
}

/* Copies the string value of map[key] into *out (left NULL when absent). */
static int copy_string(const conf_node_t *map, const char *key, int allow_empty, char **out, conf_error_t *err)
{
    const char *s = NULL;
    if (conf_get_string(map, key, &s, err) != 0)
        return -EINVAL;
    if (s == NULL)
        return 0;
    if (!allow_empty && s[0] == '\0') {
        conf_fail(err, conf_get(map, key), "must not be empty");
        return -EINVAL;
    }
    if ((*out = strdup(s)) == NULL)
        return oom(err, conf_get(map, key));
    return 0;
}

static int parse_one_of(const conf_node_t *node, cond_t *c, conf_error_t *err)
{
    if (node->kind != CONF_SEQUENCE || node->count == 0) {
        conf_fail(err, node, "expected a non-empty list of strings");
        return -EINVAL;
    }
    if ((c->values = calloc(node->count, sizeof(*c->values))) == NULL)
        return oom(err, node);
    for (size_t i = 0; i < node->count; ++i) {
        const char *s;
        if (conf_node_string(node->items[i], &s, err) != 0)
            return -EINVAL;
        if ((c->values[i] = strdup(s)) == NULL)
            return oom(err, node->items[i]);
        ++c->num_values;
    }
    return 0;
}

static int compile_regex(const conf_node_t *node, cond_t *c, conf_error_t *err)
{
    const char *pattern;
    if (conf_node_string(node, &pattern, err) != 0)
        return -EINVAL;
    if (pattern[0] == '\0') {
        conf_fail(err, node, "empty regular expression (it would match everything; use always: true)");
        return -EINVAL;
    }
    int rc = regcomp(&c->re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char reason[128];
        regerror(rc, &c->re, reason, sizeof(reason));
        conf_fail(err, node, "invalid regular expression \"%s\": %s", pattern, reason);
        return rc == REG_ESPACE ? -ENOMEM : -EINVAL;
    }
    c->re_ready = 1;
    return 0;
}

/*
 * Parses the condition written in map (a rule, or an item of a rule's `all` list). The caller has
 * already checked which keys map may hold.
 */
static int parse_cond(const conf_node_t *map, cond_t *c, conf_error_t *err)
{
    /* exactly one kind */
    const char *kind = NULL;
    for (const char *const *k = cond_kinds; *k != NULL; ++k) {
        if (conf_get(map, *k) == NULL)
            continue;
        if (kind != NULL) {
            conf_fail(err, conf_get(map, *k), "a condition has only one of %s and %s; combine conditions with all", kind, *k);
            return -EINVAL;
        }
        kind = *k;
    }
    if (kind == NULL) {
        conf_fail(err, map,
                  "no condition: give one of exists, equals, regex, one_of, older_than_days, always (or a list under all)");
        return -EINVAL;
    }
    const conf_node_t *node = conf_get(map, kind);

    int ret;
    if ((ret = copy_string(map, "key", 0, &c->key, err)) != 0 || (ret = copy_string(map, "default", 1, &c->fallback, err)) != 0)
        return ret;
    if (conf_get_bool(map, "not", &c->negate, err) != 0)
        return -EINVAL;

    if (strcmp(kind, "always") == 0) {
        int always = 0;
        if (conf_get_bool(map, "always", &always, err) != 0)
            return -EINVAL;
        const char *extra = c->key != NULL ? "key" : c->fallback != NULL ? "default" : conf_get(map, "not") != NULL ? "not" : NULL;
        if (extra != NULL) {
            conf_fail(err, conf_get(map, extra), "an always condition takes no %s", extra);
            return -EINVAL;
        }
        if (!always) {
            conf_fail(err, node, "always can only be true (a rule that never matches is better deleted)");
            return -EINVAL;
        }
        c->kind = COND_ALWAYS;
        return 0;
    }
    if (c->key == NULL) {
        conf_fail(err, map, "missing key: the annotation the %s condition looks at", kind);
        return -EINVAL;
    }

    if (strcmp(kind, "exists") == 0) {
        c->kind = COND_EXISTS;
        if (c->fallback != NULL) {
            conf_fail(err, conf_get(map, "default"), "an exists condition takes no default");
            return -EINVAL;
        }
        return conf_get_bool(map, "exists", &c->want_exists, err) == 0 ? 0 : -EINVAL;
    } else if (strcmp(kind, "equals") == 0) {
        c->kind = COND_EQUALS;
        return copy_string(map, "equals", 1, &c->value, err);
    } else if (strcmp(kind, "regex") == 0) {
        c->kind = COND_REGEX;
        return compile_regex(node, c, err);
    } else if (strcmp(kind, "one_of") == 0) {
        c->kind = COND_ONE_OF;
        return parse_one_of(node, c, err);
    } else {
        int64_t days = 0;
        c->kind = COND_OLDER_THAN;
        if (conf_get_int(map, "older_than_days", 0, 100000, &days, err) != 0)
            return -EINVAL;
        c->max_age = days * 86400;
        return 0;
    }
}

static int parse_result_word(const conf_node_t *node, throttle_result_t *out, conf_error_t *err)
{
    if (node->kind == CONF_SCALAR) {
        for (size_t i = 0; i < sizeof(result_names) / sizeof(result_names[0]); ++i) {
            if (strcmp(node->scalar, result_names[i]) == 0) {
                *out = (throttle_result_t)i;
                return 0;
            }
        }
    }
    conf_fail(err, node, "expected ACCEPT, DEFER, REJECT, FAKEACCEPT or CONTINUE, got \"%s\"",
              node->kind == CONF_SCALAR ? node->scalar : "(a collection)");
    return -EINVAL;
}

static int parse_result(const conf_node_t *rule_map, rule_t *r, conf_error_t *err)
{
    static const char *const sample_keys[] = {"sample", "then", "else", NULL};
    const conf_node_t *node = conf_get(rule_map, "result");
    if (node == NULL) {
        conf_fail(err, rule_map, "missing result: one of ACCEPT, DEFER, REJECT, FAKEACCEPT, CONTINUE or {sample, then, else}");
        return -EINVAL;
    }
    if (node->kind != CONF_MAPPING) {
        r->pct = 100;
        return parse_result_word(node, &r->then_result, err);
    }

    /* {sample: pct, then: RESULT, else: RESULT} */
    if (conf_check_keys(node, sample_keys, err) != 0)
        return -EINVAL;
    for (const char *const *k = sample_keys; *k != NULL; ++k) {
        if (conf_get(node, *k) == NULL) {
            conf_fail(err, node, "a sampled result needs sample, then and else; %s is missing", *k);
            return -EINVAL;
        }
    }
    const conf_node_t *pct = conf_get(node, "sample");
    char *end = NULL;
    double v = pct->kind == CONF_SCALAR && pct->scalar[0] != '\0' ? strtod(pct->scalar, &end) : NAN;
    if (end == NULL || *end != '\0' || !(v >= 0 && v <= 100)) {
        conf_fail(err, pct, "expected a percentage between 0 and 100, got \"%s\"",
                  pct->kind == CONF_SCALAR ? pct->scalar : "(a collection)");
        return -EINVAL;
    }
    r->sampled = 1;
    r->pct = v;
    if (parse_result_word(conf_get(node, "then"), &r->then_result, err) != 0 ||
        parse_result_word(conf_get(node, "else"), &r->else_result, err) != 0)
        return -EINVAL;
    return 0;
}

static int parse_name(const conf_node_t *rule_map, const throttle_rules_t *rules, rule_t *r, conf_error_t *err)
{
    const conf_node_t *node = conf_get(rule_map, "name");
    const char *name = NULL;
    if (node == NULL) {
        conf_fail(err, rule_map, "missing name");
        return -EINVAL;
    }
    if (conf_node_string(node, &name, err) != 0)
        return -EINVAL;
    size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_");
    if (len == 0 || name[len] != '\0' || len > THROTTLE_NAME_MAX) {
        conf_fail(err, node, "\"%s\" is not a rule name: 1 to %d characters among a-z, 0-9 and _", name, THROTTLE_NAME_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < rules->count; ++i) {
        if (strcmp(rules->rules[i].name, name) == 0) {
            conf_fail(err, node, "duplicate rule name \"%s\" (first used on line %u)", name, rules->rules[i].line);
            return -EINVAL;
        }
    }
    if ((r->name = strdup(name)) == NULL)
        return oom(err, node);
    r->line = node->line;
    return 0;
}

static int parse_rule(const conf_node_t *map, const throttle_rules_t *rules, rule_t *r, conf_error_t *err)
{
    int ret;
    const char *description = NULL;

    if (map->kind != CONF_MAPPING) {
        conf_fail(err, map, "expected a rule: a mapping with name, a condition and result");
        return -EINVAL;
    }
    if (conf_check_keys(map, rule_keys, err) != 0 || conf_get_string(map, "description", &description, err) != 0)
        return -EINVAL;
    if ((ret = parse_name(map, rules, r, err)) != 0)
        return ret;

    const conf_node_t *all = conf_get(map, "all");
    if (all == NULL) {
        if ((r->conds = calloc(1, sizeof(*r->conds))) == NULL)
            return oom(err, map);
        r->num_conds = 1;
        if ((ret = parse_cond(map, &r->conds[0], err)) != 0)
            return ret;
    } else {
        /* the conditions are the items of all, none may sit next to it */
        for (const char *const *k = cond_keys; *k != NULL; ++k) {
            if (conf_get(map, *k) != NULL) {
                conf_fail(err, conf_get(map, *k), "conditions go either under all or directly in the rule, not both");
                return -EINVAL;
            }
        }
        if (all->kind != CONF_SEQUENCE || all->count == 0) {
            conf_fail(err, all, "expected a non-empty list of conditions");
            return -EINVAL;
        }
        if ((r->conds = calloc(all->count, sizeof(*r->conds))) == NULL)
            return oom(err, all);
        for (size_t i = 0; i < all->count; ++i) {
            ++r->num_conds;
            if (conf_check_keys(all->items[i], cond_keys, err) != 0)
                return -EINVAL;
            if ((ret = parse_cond(all->items[i], &r->conds[i], err)) != 0)
                return ret;
        }
    }
    return parse_result(map, r, err);
}

int throttle_rules_parse(const conf_node_t *rules_seq, throttle_rules_t **out, conf_error_t *err)
{
    throttle_rules_t *rules = NULL;
    int ret = -EINVAL;

    if (rules_seq->kind != CONF_SEQUENCE || rules_seq->count == 0) {
        conf_fail(err, rules_seq, "expected a non-empty list of rules (leave the key out to accept every crash)");
        goto Exit;
    }
    if ((rules = calloc(1, sizeof(*rules))) == NULL || (rules->rules = calloc(rules_seq->count, sizeof(*rules->rules))) == NULL) {
        ret = oom(err, rules_seq);
        goto Exit;
    }
    for (size_t i = 0; i < rules_seq->count; ++i) {
        rule_t r = {0};
        ret = parse_rule(rules_seq->items[i], rules, &r, err);
        if (ret != 0) {
            rule_dispose(&r);
            goto Exit;
        }
        rules->rules[rules->count++] = r;
    }
    *out = rules;
    rules = NULL;
    ret = 0;
Exit:
    throttle_rules_destroy(rules);
    return ret;
}

/* Loads a rule file; referrer is the config node that named it (its position prefixes load errors), or NULL. */
static int load_file(const char *path, const conf_node_t *referrer, throttle_rules_t **out, conf_error_t *err)
{
    static const char *const file_keys[] = {"rules", NULL};
    int ret = -EINVAL;
    conf_doc_t *doc = conf_doc_load(path, err);

    if (doc == NULL) {
        if (referrer != NULL) {
            char inner[sizeof(err->msg)];
            memcpy(inner, err->msg, sizeof(inner));
            inner[sizeof(inner) - 1] = '\0';
            conf_fail(err, referrer, "cannot load the rule file: %s", inner);
        }
        goto Exit;
    }
    if (conf_check_keys(doc->root, file_keys, err) != 0)
        goto Exit;
    const conf_node_t *seq = conf_get(doc->root, "rules");
    if (seq == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s:%u: rules: missing; a rule file is a mapping whose only key is rules", doc->file,
                 doc->root->line);
        goto Exit;
    }
    ret = throttle_rules_parse(seq, out, err);
Exit:
    conf_doc_destroy(doc);
    return ret;
}

int throttle_rules_load(const char *path, throttle_rules_t **out, conf_error_t *err)
{
    return load_file(path, NULL, out, err);
}

int throttle_rules_create_default(throttle_rules_t **out)
{
    throttle_rules_t *rules = calloc(1, sizeof(*rules));
    if (rules == NULL || (rules->rules = calloc(1, sizeof(*rules->rules))) == NULL ||
        (rules->rules[0].conds = calloc(1, sizeof(cond_t))) == NULL ||
        (rules->rules[0].name = strdup(THROTTLE_DEFAULT_RULE)) == NULL) {
        if (rules != NULL && rules->rules != NULL)
            rules->count = 1;
        throttle_rules_destroy(rules);
        return -ENOMEM;
    }
    rules->count = 1;
    rules->rules[0].num_conds = 1;
    rules->rules[0].conds[0].kind = COND_ALWAYS;
    rules->rules[0].then_result = THROTTLE_ACCEPT;
    rules->rules[0].pct = 100;
    *out = rules;
    return 0;
}

int throttle_rules_from_conf(const conf_node_t *throttle_section, throttle_rules_t **out, conf_error_t *err)
{
    static const char *const section_keys[] = {"rules", "rules_file", NULL};
    char *path = NULL;
    int ret = -EINVAL;

    if (conf_check_keys(throttle_section, section_keys, err) != 0)
        goto Exit;
    const conf_node_t *inline_rules = conf_get(throttle_section, "rules");
    const conf_node_t *file_node = conf_get(throttle_section, "rules_file");
    if (inline_rules != NULL && file_node != NULL) {
        conf_fail(err, file_node, "give either rules or rules_file, not both");
        goto Exit;
    }
    if (inline_rules != NULL) {
        ret = throttle_rules_parse(inline_rules, out, err);
    } else if (file_node != NULL) {
        if (conf_get_path(throttle_section, "rules_file", &path, err) != 0)
            goto Exit;
        ret = load_file(path, file_node, out, err);
    } else if ((ret = throttle_rules_create_default(out)) != 0) {
        snprintf(err->msg, sizeof(err->msg), "throttle rules: out of memory");
    }
Exit:
    free(path);
    return ret;
}

size_t throttle_rules_count(const throttle_rules_t *rules)
{
    return rules->count;
}

const char *throttle_rules_name(const throttle_rules_t *rules, size_t i)
{
    assert(i < rules->count);
    return rules->rules[i].name;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (eras of 400 years, March-based years). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/* Reads a BuildID, YYYYMMDDhhmmss (UTC), into seconds since the epoch. Anything else is -1. */
static int parse_buildid(const char *s, int64_t *out)
{
    int f[6] = {0};
    static const int widths[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0, pos = 0; i < 6; ++i) {
        for (int j = 0; j < widths[i]; ++j, ++pos) {
            if (s[pos] < '0' || s[pos] > '9')
                return -1;
            f[i] = f[i] * 10 + (s[pos] - '0');
        }
    }
    if (s[14] != '\0')
        return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (f[0] % 4 == 0 && f[0] % 100 != 0) || f[0] % 400 == 0;
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > mdays[f[1] - 1] || (f[1] == 2 && f[2] == 29 && !leap) || f[3] > 23 ||
        f[4] > 59 || f[5] > 59)
        return -1;
    *out = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
    return 0;
}

static int cond_holds(const cond_t *c, throttle_get_annotation_cb get_annotation, void *actx, time_t now)
{
    if (c->kind == COND_ALWAYS)
        return 1;
    const char *v = get_annotation(actx, c->key);
    int match = 0;
    if (c->kind == COND_EXISTS) {
        match = (v != NULL) == c->want_exists;
    } else {
        if (v == NULL)
            v = c->fallback;
        if (v != NULL) {
            switch (c->kind) {
            case COND_EQUALS:
                match = strcmp(v, c->value) == 0;
                break;
            case COND_REGEX:
                match = regexec(&c->re, v, 0, NULL, 0) == 0;
                break;
            case COND_ONE_OF:
                for (size_t i = 0; i < c->num_values && !match; ++i)
                    match = strcmp(v, c->values[i]) == 0;
                break;
            case COND_OLDER_THAN: {
                int64_t built;
                match = parse_buildid(v, &built) == 0 && (int64_t)now - built > c->max_age;
            } break;
            default:
                assert(!"unreachable");
                break;
            }
        }
    }
    return match != c->negate;
}

throttle_result_t throttle_evaluate(const throttle_rules_t *rules, throttle_get_annotation_cb get_annotation, void *actx,
                                    double random01, time_t now, const char **rule_name)
{
    double u = random01 >= 0 ? (random01 <= 1 ? random01 : 1) : 0; /* also maps NaN to 0 */

    for (size_t i = 0; i < rules->count; ++i) {
        const rule_t *r = &rules->rules[i];
        size_t c = 0;
        while (c < r->num_conds && cond_holds(&r->conds[c], get_annotation, actx, now))
            ++c;
        if (c != r->num_conds)
            continue;

        throttle_result_t result = r->then_result;
        if (r->sampled) {
            /* Decide, then rescale u within the branch taken so that later samples stay independent. */
            double p = r->pct / 100;
            if (u * 100 <= r->pct) {
                u = p > 0 ? u / p : 0;
            } else {
                result = r->else_result;
                u = (u - p) / (1 - p);
            }
            u = u < 0 ? 0 : u > 1 ? 1 : u;
        }
        if (result != THROTTLE_CONTINUE) {
            if (rule_name != NULL)
                *rule_name = r->name;
            return result;
        }
    }
    if (rule_name != NULL)
        *rule_name = THROTTLE_NO_MATCH;
    return THROTTLE_REJECT;
}

/* splitmix64: tiny, fast, passes BigCrush; one state per thread. */
static _Thread_local uint64_t prng_state;
static _Thread_local int prng_seeded;

static double prng_next01(void)
{
    if (!prng_seeded) {
        uint64_t seed;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
            /* No entropy yet (early boot): sampling needs unpredictability, not secrecy. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&prng_state;
        }
        prng_state = seed;
        prng_seeded = 1;
    }
    uint64_t z = (prng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    /* 53 random bits, centred in their interval: strictly between 0 and 1 */
    return ((double)(z >> 11) + 0.5) * 0x1.0p-53;
}

int throttle_decide(void *rules_ctx, const char *(*get_annotation)(void *actx, const char *key), void *actx, const char **rule_name)
{
    assert(rules_ctx != NULL);
    return (int)throttle_evaluate(rules_ctx, get_annotation, actx, prng_next01(), time(NULL), rule_name);
}

const char *throttle_result_name(throttle_result_t result)
{
    switch (result) {
    case THROTTLE_ACCEPT:
        return "accept";
    case THROTTLE_DEFER:
        return "defer";
    case THROTTLE_REJECT:
        return "reject";
    case THROTTLE_FAKEACCEPT:
        return "fakeaccept";
    case THROTTLE_CONTINUE:
        return "continue";
    }
    return "unknown";
}
