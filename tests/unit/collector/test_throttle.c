// SPDX-License-Identifier: MIT
/*
 * Unit tests for collector/throttle: every condition kind, every result, CONTINUE chains, NO_MATCH,
 * sampling (exact boundaries with injected random numbers, statistics with the real generator),
 * BuildID ages, configuration errors (each message must name the file, line and key), rule files
 * (relative paths included), and the shipped data/throttle-mozilla.yaml on sample crashes.
 * Rules are written as YAML text and parsed with conf_doc_parse, as the server does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "collector/throttle.h"

/* 2026-01-15T12:00:00Z */
#define NOW ((time_t)1768478400)

/* A crash is a NULL-terminated list of key, value, key, value, ... */
#define CRASH(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ANNOTATIONS ((const char *const[]){NULL})

static const char *get_annotation(void *actx, const char *key)
{
    const char *const *kv = actx;
    for (; kv[0] != NULL; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

static throttle_result_t eval(const throttle_rules_t *rules, const char *const *crash, double u, const char **name)
{
    *name = NULL;
    return throttle_evaluate(rules, get_annotation, (void *)crash, u, NOW, name);
}

/* Parses "rules:\n..." YAML and builds the rule set from its rules key; the test fails on any error. */
static throttle_rules_t *rules_from_yaml(const char *yaml)
{
    conf_error_t err = {{0}};
    conf_doc_t *doc = conf_doc_parse(yaml, strlen(yaml), "test.yaml", ".", &err);
    if (doc == NULL)
        fail_msg("YAML: %s", err.msg);
    throttle_rules_t *rules = NULL;
    int ret = throttle_rules_from_conf(doc->root, &rules, &err);
    if (ret != 0)
        fail_msg("rules: %s", err.msg);
    conf_doc_destroy(doc);
    return rules;
}

/* Expects the section in yaml to fail with a message holding each of the NULL-terminated substrings. */
static void expect_error(const char *yaml, ...)
{
    conf_error_t err = {{0}};
    conf_doc_t *doc = conf_doc_parse(yaml, strlen(yaml), "edge.yaml", "/nonexistent", &err);
    if (doc == NULL)
        fail_msg("YAML: %s", err.msg);
    throttle_rules_t *rules = NULL;
    int ret = throttle_rules_from_conf(doc->root, &rules, &err);
    conf_doc_destroy(doc);
    if (ret == 0) {
        throttle_rules_destroy(rules);
        fail_msg("expected an error for:\n%s", yaml);
    }
    assert_int_equal(ret, -EINVAL);
    assert_null(rules);
    va_list args;
    va_start(args, yaml);
    for (const char *want; (want = va_arg(args, const char *)) != NULL;) {
        if (strstr(err.msg, want) == NULL)
            fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
    }
    va_end(args);
}

static void test_default_rules(void **state)
{
    throttle_rules_t *rules = NULL;
    conf_error_t err = {{0}};
    const char *name;

    assert_int_equal(throttle_rules_from_conf(NULL, &rules, &err), 0);
    assert_int_equal(throttle_rules_count(rules), 1);
    assert_string_equal(throttle_rules_name(rules, 0), "accept_everything");
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.99, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "accept_everything");
    assert_int_equal(eval(rules, CRASH("ProductName", "Firefox"), 0, &name), THROTTLE_ACCEPT);
    throttle_rules_destroy(rules);

    /* an empty section is the default too */
    rules = rules_from_yaml("");
    assert_int_equal(throttle_rules_count(rules), 1);
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "accept_everything");
    throttle_rules_destroy(rules);

    throttle_rules_destroy(NULL);
}

static void test_exists(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: has_comments, key: Comments, exists: true, result: ACCEPT}\n"
                                              "  - {name: no_version, key: Version, exists: false, result: DEFER}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("Comments", "it broke", "Version", "1"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "has_comments");
    /* an empty value is still present */
    assert_int_equal(eval(rules, CRASH("Comments", ""), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "has_comments");
    assert_int_equal(eval(rules, CRASH("ProductName", "Firefox"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "no_version");
    assert_int_equal(eval(rules, CRASH("Version", "120.0"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    throttle_rules_destroy(rules);
}

static void test_equals(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - name: throttleable_0\n"
                                              "    key: Throttleable\n"
                                              "    equals: 0\n"
                                              "    result: ACCEPT\n"
                                              "  - {name: empty_channel, key: ReleaseChannel, equals: \"\", result: DEFER}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("Throttleable", "0"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "throttleable_0");
    assert_int_equal(eval(rules, CRASH("Throttleable", "1"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    assert_int_equal(eval(rules, CRASH("Throttleable", "00"), 0.5, &name), THROTTLE_REJECT);
    assert_int_equal(eval(rules, CRASH("ReleaseChannel", ""), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "empty_channel");
    /* an absent annotation equals nothing, not even "" */
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    throttle_rules_destroy(rules);
}

static void test_regex(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: is_nightly, key: ReleaseChannel, regex: \"^nightly\", result: ACCEPT}\n"
                                              "  - {name: pre_release, key: Version, regex: \"[0-9](a|b)[0-9]+$\", result: DEFER}\n"
                                              "  - {name: mentions_gpu, key: Notes, regex: \"gpu|GPU\", result: FAKEACCEPT}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("ReleaseChannel", "nightly-cck"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "is_nightly");
    assert_int_equal(eval(rules, CRASH("ReleaseChannel", "not-nightly"), 0.5, &name), THROTTLE_REJECT);
    assert_int_equal(eval(rules, CRASH("Version", "121.0b3"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "pre_release");
    assert_int_equal(eval(rules, CRASH("Version", "121.0b3 "), 0.5, &name), THROTTLE_REJECT);
    /* unanchored patterns search anywhere in the value */
    assert_int_equal(eval(rules, CRASH("Notes", "adapter: GPU #2"), 0.5, &name), THROTTLE_FAKEACCEPT);
    assert_string_equal(name, "mentions_gpu");
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    throttle_rules_destroy(rules);
}

static void test_one_of(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - name: is_background\n"
                                              "    key: ProcessType\n"
                                              "    one_of:\n"
                                              "      - gpu\n"
                                              "      - rdd\n"
                                              "      - utility\n"
                                              "    result: ACCEPT\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("ProcessType", "gpu"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "is_background");
    assert_int_equal(eval(rules, CRASH("ProcessType", "utility"), 0.5, &name), THROTTLE_ACCEPT);
    assert_int_equal(eval(rules, CRASH("ProcessType", "content"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    assert_int_equal(eval(rules, CRASH("ProcessType", "GPU"), 0.5, &name), THROTTLE_REJECT);
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.5, &name), THROTTLE_REJECT);
    throttle_rules_destroy(rules);
}

static void test_always(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: defer_all, always: true, result: DEFER}\n"
                                              "  - {name: unreachable, always: true, result: ACCEPT}\n");
    const char *name;
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "defer_all");
    assert_int_equal(eval(rules, CRASH("A", "b"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "defer_all");
    throttle_rules_destroy(rules);
}

static void test_not_and_default(void **state)
{
    throttle_rules_t *rules =
        rules_from_yaml("rules:\n"
                        "  - name: unsupported_product\n"
                        "    key: ProductName\n"
                        "    one_of: [Firefox, Thunderbird]\n"
                        "    not: true\n"
                        "    result: REJECT\n"
                        "  - {name: browser, key: ProcessType, equals: browser, default: browser, result: DEFER}\n"
                        "  - {name: rest, always: true, result: ACCEPT}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("ProductName", "Iceweasel"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, "unsupported_product");
    /* an absent annotation is "not one of" anything */
    assert_int_equal(eval(rules, CRASH("ProcessType", "gpu"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, "unsupported_product");
    /* the default stands in for an absent annotation only */
    assert_int_equal(eval(rules, CRASH("ProductName", "Firefox"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "browser");
    assert_int_equal(eval(rules, CRASH("ProductName", "Firefox", "ProcessType", "browser"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "browser");
    assert_int_equal(eval(rules, CRASH("ProductName", "Thunderbird", "ProcessType", "content"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "rest");
    throttle_rules_destroy(rules);
}

static void test_all(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - name: has_hangid_and_browser\n"
                                              "    description: keep only the child side of a hang\n"
                                              "    all:\n"
                                              "      - {key: HangID, exists: true}\n"
                                              "      - {key: ProcessType, equals: browser, default: browser}\n"
                                              "    result: REJECT\n"
                                              "  - {name: rest, always: true, result: ACCEPT}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("HangID", "x"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, "has_hangid_and_browser");
    assert_int_equal(eval(rules, CRASH("HangID", "x", "ProcessType", "browser"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, "has_hangid_and_browser");
    assert_int_equal(eval(rules, CRASH("HangID", "x", "ProcessType", "content"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "rest");
    assert_int_equal(eval(rules, CRASH("ProcessType", "browser"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "rest");
    throttle_rules_destroy(rules);
}

static void test_older_than_days(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: has_old_buildid, key: BuildID, older_than_days: 730, result: REJECT}\n"
                                              "  - {name: rest, always: true, result: ACCEPT}\n");
    static const struct {
        const char *buildid;
        throttle_result_t want;
    } cases[] = {
        /* NOW is 2026-01-15T12:00:00Z; 730 days before is 2024-01-16T12:00:00Z */
        {"20240116120000", THROTTLE_ACCEPT}, /* exactly 730 days: not older */
        {"20240116115959", THROTTLE_REJECT}, /* one second more */
        {"20240116120001", THROTTLE_ACCEPT},  {"20231231235959", THROTTLE_REJECT},
        {"20100101000000", THROTTLE_REJECT},  {"20260115120000", THROTTLE_ACCEPT},
        {"20991231235959", THROTTLE_ACCEPT}, /* future */
        {"20200229000000", THROTTLE_REJECT}, /* leap day */
        {"20230229000000", THROTTLE_ACCEPT}, /* no such day: not a BuildID */
        {"20230230000000", THROTTLE_ACCEPT},  {"20231301000000", THROTTLE_ACCEPT},
        {"20230100000000", THROTTLE_ACCEPT},  {"20230101240000", THROTTLE_ACCEPT},
        {"20230101006000", THROTTLE_ACCEPT},  {"20230101000060", THROTTLE_ACCEPT},
        {"2023010100000", THROTTLE_ACCEPT},   /* 13 digits */
        {"202301010000000", THROTTLE_ACCEPT}, /* 15 digits */
        {"20230101", THROTTLE_ACCEPT},        {"2023-01-01T00:00", THROTTLE_ACCEPT},
        {"2023010100000x", THROTTLE_ACCEPT},  {"", THROTTLE_ACCEPT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *name;
        throttle_result_t got = eval(rules, CRASH("BuildID", cases[i].buildid), 0.5, &name);
        if (got != cases[i].want)
            fail_msg("BuildID \"%s\": got %s", cases[i].buildid, throttle_result_name(got));
        assert_string_equal(name, cases[i].want == THROTTLE_REJECT ? "has_old_buildid" : "rest");
    }
    const char *name;
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.5, &name), THROTTLE_ACCEPT);
    throttle_rules_destroy(rules);

    /* 0 days: anything built before now */
    rules = rules_from_yaml("rules:\n"
                            "  - {name: past, key: BuildID, older_than_days: 0, result: REJECT}\n");
    assert_int_equal(eval(rules, CRASH("BuildID", "20260115115959"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, "past");
    assert_int_equal(eval(rules, CRASH("BuildID", "20260115120000"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    throttle_rules_destroy(rules);
}

static void test_every_result(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: r_accept, key: R, equals: a, result: ACCEPT}\n"
                                              "  - {name: r_defer, key: R, equals: d, result: DEFER}\n"
                                              "  - {name: r_reject, key: R, equals: r, result: REJECT}\n"
                                              "  - {name: r_fake, key: R, equals: f, result: FAKEACCEPT}\n"
                                              "  - {name: r_continue, key: R, equals: c, result: CONTINUE}\n");
    static const struct {
        const char *r, *rule;
        throttle_result_t want;
    } cases[] = {
        {"a", "r_accept", THROTTLE_ACCEPT},   {"d", "r_defer", THROTTLE_DEFER},   {"r", "r_reject", THROTTLE_REJECT},
        {"f", "r_fake", THROTTLE_FAKEACCEPT}, {"c", "NO_MATCH", THROTTLE_REJECT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *name;
        assert_int_equal(eval(rules, CRASH("R", cases[i].r), 0.5, &name), cases[i].want);
        assert_string_equal(name, cases[i].rule);
    }
    assert_int_equal(THROTTLE_ACCEPT, 0);
    assert_int_equal(THROTTLE_DEFER, 1);
    assert_int_equal(THROTTLE_REJECT, 2);
    assert_int_equal(THROTTLE_FAKEACCEPT, 3);
    throttle_rules_destroy(rules);

    /* a NULL rule_name is allowed */
    rules = rules_from_yaml("rules:\n  - {name: x, always: true, result: DEFER}\n");
    assert_int_equal(throttle_evaluate(rules, get_annotation, (void *)NO_ANNOTATIONS, 0.5, NOW, NULL), THROTTLE_DEFER);
    throttle_rules_destroy(rules);
}

static void test_continue_chain(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: note_gpu, key: ProcessType, equals: gpu, result: CONTINUE}\n"
                                              "  - {name: note_any, always: true, result: CONTINUE}\n"
                                              "  - {name: beta, key: ReleaseChannel, equals: beta, result: DEFER}\n"
                                              "  - {name: gpu_again, key: ProcessType, equals: gpu, result: ACCEPT}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("ProcessType", "gpu", "ReleaseChannel", "beta"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "beta");
    assert_int_equal(eval(rules, CRASH("ProcessType", "gpu"), 0.5, &name), THROTTLE_ACCEPT);
    assert_string_equal(name, "gpu_again");
    /* CONTINUE to the end: NO_MATCH */
    assert_int_equal(eval(rules, CRASH("ProcessType", "content"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    throttle_rules_destroy(rules);
}

static void test_no_match(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: only_firefox, key: ProductName, equals: Firefox, result: ACCEPT}\n");
    const char *name;
    assert_int_equal(eval(rules, CRASH("ProductName", "Thunderbird"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, "NO_MATCH");
    assert_int_equal(eval(rules, NO_ANNOTATIONS, 0.0, &name), THROTTLE_REJECT);
    assert_string_equal(name, "NO_MATCH");
    throttle_rules_destroy(rules);
}

static void test_sampling_boundaries(void **state)
{
    throttle_rules_t *rules =
        rules_from_yaml("rules:\n"
                        "  - {name: p10, key: P, equals: \"10\", result: {sample: 10, then: ACCEPT, else: REJECT}}\n"
                        "  - {name: p0, key: P, equals: \"0\", result: {sample: 0, then: ACCEPT, else: DEFER}}\n"
                        "  - {name: p100, key: P, equals: \"100\", result: {sample: 100, then: FAKEACCEPT, else: REJECT}}\n"
                        "  - {name: p12_5, key: P, equals: \"12.5\", result: {sample: 12.5, then: DEFER, else: ACCEPT}}\n");
    static const struct {
        const char *p;
        double u;
        throttle_result_t want;
    } cases[] = {
        {"10", 0.0, THROTTLE_ACCEPT},
        {"10", 0.05, THROTTLE_ACCEPT},
        {"10", 0.1, THROTTLE_ACCEPT}, /* random * 100 <= pct: the boundary takes "then" */
        {"10", 0.10000000000000002, THROTTLE_REJECT},
        {"10", 0.5, THROTTLE_REJECT},
        {"10", 0.9999999, THROTTLE_REJECT},
        {"0", 0.0, THROTTLE_ACCEPT}, /* the formula, literally; throttle_decide never draws 0 */
        {"0", 1e-12, THROTTLE_DEFER},
        {"0", 0.5, THROTTLE_DEFER},
        {"100", 0.0, THROTTLE_FAKEACCEPT},
        {"100", 0.9999999999, THROTTLE_FAKEACCEPT},
        {"100", 1.0, THROTTLE_FAKEACCEPT},
        {"12.5", 0.125, THROTTLE_DEFER},
        {"12.5", 0.12500001, THROTTLE_ACCEPT},
        /* out-of-range inputs are clamped to [0, 1] */
        {"10", -3.0, THROTTLE_ACCEPT},
        {"10", 7.0, THROTTLE_REJECT},
        {"100", 7.0, THROTTLE_FAKEACCEPT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *name;
        throttle_result_t got = eval(rules, CRASH("P", cases[i].p), cases[i].u, &name);
        if (got != cases[i].want)
            fail_msg("pct %s, random %.17g: got %s", cases[i].p, cases[i].u, throttle_result_name(got));
    }
    const char *name;
    eval(rules, CRASH("P", "12.5"), 0.9, &name);
    assert_string_equal(name, "p12_5");
    eval(rules, CRASH("P", "0"), 0.9, &name);
    assert_string_equal(name, "p0");
    throttle_rules_destroy(rules);
}

static void test_sampling_statistics(void **state)
{
    throttle_rules_t *rules =
        rules_from_yaml("rules:\n"
                        "  - {name: kill, key: K, exists: true, result: {sample: 10, then: CONTINUE, else: REJECT}}\n"
                        "  - {name: release, always: true, result: {sample: 10, then: ACCEPT, else: DEFER}}\n");
    /* A uniform grid of random numbers: one sampled rule keeps exactly 10% of it. */
    enum { N = 10000 };
    size_t accepted = 0, deferred = 0, rejected = 0;
    for (size_t i = 0; i < N; ++i) {
        const char *name;
        throttle_result_t r = eval(rules, NO_ANNOTATIONS, (i + 0.5) / N, &name);
        accepted += r == THROTTLE_ACCEPT;
        deferred += r == THROTTLE_DEFER;
    }
    assert_int_equal(accepted, N / 10);
    assert_int_equal(deferred, N - N / 10);

    /* Two sampled rules in a chain sample independently: 10% of 10%, not 10%. */
    accepted = deferred = 0;
    for (size_t i = 0; i < N; ++i) {
        const char *name;
        throttle_result_t r = eval(rules, CRASH("K", "1"), (i + 0.5) / N, &name);
        accepted += r == THROTTLE_ACCEPT;
        deferred += r == THROTTLE_DEFER;
        rejected += r == THROTTLE_REJECT;
        if (r == THROTTLE_REJECT)
            assert_string_equal(name, "kill");
        else
            assert_string_equal(name, "release");
    }
    assert_int_equal(accepted, N / 100);
    assert_int_equal(deferred, N / 10 - N / 100);
    assert_int_equal(rejected, N - N / 10);

    /* The real generator: 100000 draws at 10% land within 5 standard deviations (~95) of 10000. */
    enum { DRAWS = 100000 };
    accepted = 0;
    for (size_t i = 0; i < DRAWS; ++i) {
        const char *name;
        accepted += throttle_decide(rules, get_annotation, (void *)NO_ANNOTATIONS, &name) == THROTTLE_ACCEPT;
    }
    if (accepted < 10000 - 475 || accepted > 10000 + 475)
        fail_msg("%zu of %d accepted at 10%%", accepted, DRAWS);
    throttle_rules_destroy(rules);

    /* sample 0 never takes then, sample 100 always does */
    rules = rules_from_yaml("rules:\n"
                            "  - {name: none, key: Z, exists: true, result: {sample: 0, then: ACCEPT, else: DEFER}}\n"
                            "  - {name: all, always: true, result: {sample: 100, then: FAKEACCEPT, else: REJECT}}\n");
    for (size_t i = 0; i < DRAWS; ++i) {
        const char *name;
        assert_int_equal(throttle_decide(rules, get_annotation, (void *)CRASH("Z", "1"), &name), THROTTLE_DEFER);
        assert_int_equal(throttle_decide(rules, get_annotation, (void *)NO_ANNOTATIONS, &name), THROTTLE_FAKEACCEPT);
    }
    throttle_rules_destroy(rules);
}

static void test_decide(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: old, key: BuildID, older_than_days: 730, result: REJECT}\n"
                                              "  - {name: fake, key: ProductName, equals: B2G, result: FAKEACCEPT}\n"
                                              "  - {name: rest, always: true, result: DEFER}\n");
    const char *name = NULL;
    /* decide uses the real clock: a 2001 build is old whenever this test runs */
    assert_int_equal(throttle_decide(rules, get_annotation, (void *)CRASH("BuildID", "20010101000000"), &name), THROTTLE_REJECT);
    assert_string_equal(name, "old");
    assert_int_equal(throttle_decide(rules, get_annotation, (void *)CRASH("ProductName", "B2G"), &name), THROTTLE_FAKEACCEPT);
    assert_string_equal(name, "fake");
    assert_int_equal(throttle_decide(rules, get_annotation, (void *)NO_ANNOTATIONS, &name), THROTTLE_DEFER);
    assert_string_equal(name, "rest");
    throttle_rules_destroy(rules);
}

static void test_result_names(void **state)
{
    assert_string_equal(throttle_result_name(THROTTLE_ACCEPT), "accept");
    assert_string_equal(throttle_result_name(THROTTLE_DEFER), "defer");
    assert_string_equal(throttle_result_name(THROTTLE_REJECT), "reject");
    assert_string_equal(throttle_result_name(THROTTLE_FAKEACCEPT), "fakeaccept");
    assert_string_equal(throttle_result_name(THROTTLE_CONTINUE), "continue");
    assert_string_equal(throttle_result_name((throttle_result_t)42), "unknown");
}

static void test_rule_names(void **state)
{
    throttle_rules_t *rules = rules_from_yaml("rules:\n"
                                              "  - {name: a_1, always: true, result: CONTINUE}\n"
                                              "  - {name: b, always: true, result: ACCEPT}\n");
    assert_int_equal(throttle_rules_count(rules), 2);
    assert_string_equal(throttle_rules_name(rules, 0), "a_1");
    assert_string_equal(throttle_rules_name(rules, 1), "b");
    throttle_rules_destroy(rules);
}

static void test_config_errors(void **state)
{
    /* names */
    expect_error("rules:\n  - {name: Bad, always: true, result: ACCEPT}\n",
                 "edge.yaml:2:", "rules[0].name:", "\"Bad\" is not a rule name", NULL);
    expect_error("rules:\n  - {name: \"a-b\", always: true, result: ACCEPT}\n", "edge.yaml:2:", "rules[0].name:", NULL);
    expect_error("rules:\n  - {name: \"\", always: true, result: ACCEPT}\n", "edge.yaml:2:", "rules[0].name:", NULL);
    expect_error(
        "rules:\n  - {name: a123456789a123456789a123456789a123456789a123456789a123456789a1234, always: true, result: ACCEPT}\n",
        "edge.yaml:2:", "rules[0].name:", NULL);
    expect_error("rules:\n  - {always: true, result: ACCEPT}\n", "edge.yaml:2:", "rules[0]:", "missing name", NULL);
    expect_error("rules:\n  - {name: [x], always: true, result: ACCEPT}\n", "edge.yaml:2:", "rules[0].name:", "expected a string",
                 NULL);
    expect_error("rules:\n"
                 "  - {name: same, key: A, exists: true, result: ACCEPT}\n"
                 "  - {name: other, always: true, result: CONTINUE}\n"
                 "  - {name: same, always: true, result: ACCEPT}\n",
                 "edge.yaml:4:", "rules[2].name:", "duplicate rule name \"same\" (first used on line 2)", NULL);

    /* keys */
    expect_error("rules:\n  - name: x\n    always: true\n    colour: red\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].colour:", "unknown key", NULL);
    expect_error("rules:\n  - oops\n", "edge.yaml:2:", "rules[0]:", "expected a rule", NULL);
    expect_error("rules: {name: x}\n", "edge.yaml:1:", "rules:", "non-empty list of rules", NULL);
    expect_error("rules: []\n", "edge.yaml:1:", "rules:", "non-empty list of rules", NULL);
    expect_error("rules:\n  - {name: x, always: true, result: ACCEPT}\nrule_file: x.yaml\n",
                 "edge.yaml:3:", "rule_file:", "unknown key", NULL);

    /* conditions */
    expect_error("rules:\n  - {name: x, result: ACCEPT}\n", "edge.yaml:2:", "rules[0]:", "no condition", NULL);
    expect_error("rules:\n  - {name: x, key: A, equals: b, regex: c, result: ACCEPT}\n",
                 "edge.yaml:2:", "rules[0].regex:", "only one of equals and regex", NULL);
    expect_error("rules:\n  - name: x\n    equals: b\n    result: ACCEPT\n", "edge.yaml:2:", "rules[0]:", "missing key", NULL);
    expect_error("rules:\n  - {name: x, key: \"\", equals: b, result: ACCEPT}\n",
                 "edge.yaml:2:", "rules[0].key:", "must not be empty", NULL);
    expect_error("rules:\n  - {name: x, key: A, equals: [b], result: ACCEPT}\n",
                 "edge.yaml:2:", "rules[0].equals:", "expected a string", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    exists: maybe\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].exists:", "expected true or false", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    exists: true\n    default: y\n    result: ACCEPT\n",
                 "edge.yaml:5:", "rules[0].default:", "takes no default", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    regex: \"(unclosed\"\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].regex:", "invalid regular expression \"(unclosed\"", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    regex: \"\"\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].regex:", "empty regular expression", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    one_of: gpu\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].one_of:", "non-empty list", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    one_of: []\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].one_of:", "non-empty list", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    one_of: [a, {b: c}]\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].one_of[1]:", "expected a string", NULL);
    expect_error("rules:\n  - name: x\n    key: BuildID\n    older_than_days: -1\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].older_than_days:", "expected an integer", NULL);
    expect_error("rules:\n  - name: x\n    key: BuildID\n    older_than_days: two years\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].older_than_days:", "\"two years\"", NULL);
    expect_error("rules:\n  - name: x\n    always: false\n    result: ACCEPT\n", "edge.yaml:3:", "rules[0].always:", "only be true",
                 NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    always: true\n    result: ACCEPT\n",
                 "edge.yaml:3:", "rules[0].key:", "takes no key", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    not: true\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].not:", "takes no not", NULL);
    expect_error("rules:\n  - name: x\n    key: A\n    equals: b\n    not: please\n    result: ACCEPT\n",
                 "edge.yaml:5:", "rules[0].not:", "expected true or false", NULL);

    /* all */
    expect_error("rules:\n  - name: x\n    key: A\n    all:\n      - {key: B, exists: true}\n    result: ACCEPT\n",
                 "edge.yaml:3:", "rules[0].key:", "either under all or directly", NULL);
    expect_error("rules:\n  - name: x\n    all: []\n    result: ACCEPT\n",
                 "edge.yaml:3:", "rules[0].all:", "non-empty list of conditions", NULL);
    expect_error("rules:\n  - name: x\n    all:\n      - {key: B, exists: true}\n      - {key: C, equals: d, result: ACCEPT}\n"
                 "    result: ACCEPT\n",
                 "edge.yaml:5:", "rules[0].all[1].result:", "unknown key", NULL);
    expect_error(
        "rules:\n  - name: x\n    all:\n      - {key: B, exists: true}\n      - {key: C, regex: \"(\"}\n    result: ACCEPT\n",
        "edge.yaml:5:", "rules[0].all[1].regex:", "invalid regular expression", NULL);
    expect_error("rules:\n  - name: x\n    all:\n      - {key: B}\n    result: ACCEPT\n",
                 "edge.yaml:4:", "rules[0].all[0]:", "no condition", NULL);

    /* results */
    expect_error("rules:\n  - {name: x, always: true}\n", "edge.yaml:2:", "rules[0]:", "missing result", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: accept\n",
                 "edge.yaml:4:", "rules[0].result:", "expected ACCEPT, DEFER, REJECT, FAKEACCEPT or CONTINUE, got \"accept\"",
                 NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: [ACCEPT]\n",
                 "edge.yaml:4:", "rules[0].result:", "(a collection)", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: {sample: 101, then: ACCEPT, else: REJECT}\n",
                 "edge.yaml:4:", "rules[0].result.sample:", "percentage between 0 and 100, got \"101\"", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: {sample: -1, then: ACCEPT, else: REJECT}\n",
                 "edge.yaml:4:", "rules[0].result.sample:", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: {sample: 10%, then: ACCEPT, else: REJECT}\n",
                 "edge.yaml:4:", "rules[0].result.sample:", "\"10%\"", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: {sample: nan, then: ACCEPT, else: REJECT}\n",
                 "edge.yaml:4:", "rules[0].result.sample:", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: {sample: 10, then: ACCEPT}\n",
                 "edge.yaml:4:", "rules[0].result:", "else is missing", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result:\n      sample: 10\n      then: ACCEPT\n      else: NOPE\n",
                 "edge.yaml:7:", "rules[0].result.else:", "got \"NOPE\"", NULL);
    expect_error("rules:\n  - name: x\n    always: true\n    result: {sample: 10, then: ACCEPT, else: REJECT, seed: 1}\n",
                 "edge.yaml:4:", "rules[0].result.seed:", "unknown key", NULL);

    /* both forms */
    expect_error("rules:\n  - {name: x, always: true, result: ACCEPT}\nrules_file: rules.yaml\n",
                 "edge.yaml:3:", "rules_file:", "either rules or rules_file, not both", NULL);
    expect_error("rules_file: missing.yaml\n", "edge.yaml:1:", "rules_file:", "cannot load the rule file",
                 "/nonexistent/missing.yaml: cannot open", NULL);
}

static void test_full_key_path(void **state)
{
    const char *yaml = "collector:\n"
                       "  throttle:\n"
                       "    rules:\n"
                       "      - {name: ok, always: true, result: CONTINUE}\n"
                       "      - name: bad\n"
                       "        key: Version\n"
                       "        regex: \"[z-a]\"\n"
                       "        result: ACCEPT\n";
    conf_error_t err = {{0}};
    conf_doc_t *doc = conf_doc_parse(yaml, strlen(yaml), "/etc/edge/edge.yaml", "/etc/edge", &err);
    assert_non_null(doc);
    throttle_rules_t *rules = NULL;
    assert_int_equal(throttle_rules_from_conf(conf_get(conf_get(doc->root, "collector"), "throttle"), &rules, &err), -EINVAL);
    assert_null(rules);
    assert_non_null(strstr(err.msg, "/etc/edge/edge.yaml:7: collector.throttle.rules[1].regex: invalid regular expression"));
    conf_doc_destroy(doc);
}

/* Writes text to dir/name. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void test_rules_file(void **state)
{
    char dir[] = "/tmp/edge-test-throttle-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "edge.yaml", "collector:\n  throttle:\n    rules_file: rules.yaml\n");
    write_file(dir, "rules.yaml", "# comment\nrules:\n  - {name: beta, key: ReleaseChannel, equals: beta, result: DEFER}\n");
    write_file(dir, "bad.yaml",
               "rules:\n  - name: ok\n    always: true\n    result: CONTINUE\n  - name: Broken\n    always: true\n"
               "    result: ACCEPT\n");
    write_file(dir, "norules.yaml", "rulez: []\n");
    write_file(dir, "syntax.yaml", "rules: [\n");
    char path[512];

    /* relative to the config file's folder */
    conf_error_t err = {{0}};
    snprintf(path, sizeof(path), "%s/edge.yaml", dir);
    conf_doc_t *doc = conf_doc_load(path, &err);
    assert_non_null(doc);
    throttle_rules_t *rules = NULL;
    int ret = throttle_rules_from_conf(conf_get(conf_get(doc->root, "collector"), "throttle"), &rules, &err);
    if (ret != 0)
        fail_msg("%s", err.msg);
    conf_doc_destroy(doc);
    const char *name;
    assert_int_equal(eval(rules, CRASH("ReleaseChannel", "beta"), 0.5, &name), THROTTLE_DEFER);
    assert_string_equal(name, "beta");
    assert_int_equal(eval(rules, CRASH("ReleaseChannel", "release"), 0.5, &name), THROTTLE_REJECT);
    assert_string_equal(name, THROTTLE_NO_MATCH);
    throttle_rules_destroy(rules);
    rules = NULL;

    /* errors inside a rule file name that file, its line and key */
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    assert_int_equal(throttle_rules_load(path, &rules, &err), -EINVAL);
    assert_null(rules);
    char want[600];
    snprintf(want, sizeof(want), "%s:5: rules[1].name: \"Broken\" is not a rule name", path);
    if (strstr(err.msg, want) == NULL)
        fail_msg("got \"%s\"", err.msg);

    snprintf(path, sizeof(path), "%s/norules.yaml", dir);
    assert_int_equal(throttle_rules_load(path, &rules, &err), -EINVAL);
    snprintf(want, sizeof(want), "%s:1: rulez: unknown key", path);
    if (strstr(err.msg, want) == NULL)
        fail_msg("got \"%s\"", err.msg);

    write_file(dir, "norules.yaml", "# nothing\n");
    assert_int_equal(throttle_rules_load(path, &rules, &err), -EINVAL);
    if (strstr(err.msg, "rules: missing") == NULL)
        fail_msg("got \"%s\"", err.msg);

    snprintf(path, sizeof(path), "%s/syntax.yaml", dir);
    assert_int_equal(throttle_rules_load(path, &rules, &err), -EINVAL);
    if (strstr(err.msg, "syntax.yaml:") == NULL || strstr(err.msg, "YAML syntax error") == NULL)
        fail_msg("got \"%s\"", err.msg);
    assert_null(rules);

    /* a YAML error in the file, reached through the config, names the config key too */
    write_file(dir, "edge.yaml", "collector:\n  throttle:\n    rules_file: syntax.yaml\n");
    snprintf(path, sizeof(path), "%s/edge.yaml", dir);
    doc = conf_doc_load(path, &err);
    assert_non_null(doc);
    assert_int_equal(throttle_rules_from_conf(conf_get(conf_get(doc->root, "collector"), "throttle"), &rules, &err), -EINVAL);
    conf_doc_destroy(doc);
    assert_null(rules);
    if (strstr(err.msg, "edge.yaml:3: collector.throttle.rules_file: cannot load the rule file") == NULL ||
        strstr(err.msg, "syntax.yaml") == NULL)
        fail_msg("got \"%s\"", err.msg);

    remove_file(dir, "edge.yaml");
    remove_file(dir, "rules.yaml");
    remove_file(dir, "bad.yaml");
    remove_file(dir, "norules.yaml");
    remove_file(dir, "syntax.yaml");
    assert_int_equal(rmdir(dir), 0);
}

static void test_mozilla_rules(void **state)
{
    const char *src = getenv("EDGE_SOURCE_DIR");
    if (src == NULL)
        fail_msg("EDGE_SOURCE_DIR is not set");
    char path[512];
    snprintf(path, sizeof(path), "%s/data/throttle-mozilla.yaml", src);
    throttle_rules_t *rules = NULL;
    conf_error_t err = {{0}};
    if (throttle_rules_load(path, &rules, &err) != 0)
        fail_msg("%s", err.msg);

    static const char *const names[] = {"has_old_buildid",
                                        "has_hangid_and_browser",
                                        "b2g",
                                        "unsupported_product",
                                        "unsupported_packagename_fenix",
                                        "unsupported_packagename_focus",
                                        "unsupported_packagename_referencebrowser",
                                        "throttleable_0",
                                        "has_comments",
                                        "has_phc",
                                        "is_background",
                                        "is_shutdownkill",
                                        "is_firefox_esr_unsupported_windows",
                                        "is_alpha_beta_esr",
                                        "is_nightly",
                                        "is_firefox_desktop",
                                        "accept_everything"};
    assert_int_equal(throttle_rules_count(rules), sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
        assert_string_equal(throttle_rules_name(rules, i), names[i]);

#define FX_RELEASE "ProductName", "Firefox", "ReleaseChannel", "release", "BuildID", "20251201093000"
#define WIN81 "{\"system\":{\"os\":{\"name\":\"Windows_NT\",\"version\":\"6.3\",\"windowsBuildNumber\":9600}}}"
#define WIN10 "{\"system\":{\"os\":{\"name\":\"Windows_NT\",\"version\":\"10.0\",\"windowsBuildNumber\":19045}}}"
    const struct {
        const char *const *crash;
        double u;
        throttle_result_t want;
        const char *rule;
    } cases[] = {
        {CRASH("ProductName", "Firefox", "BuildID", "20231001000000", "Comments", "hi"), 0.01, THROTTLE_REJECT, "has_old_buildid"},
        {CRASH(FX_RELEASE, "HangID", "abc"), 0.01, THROTTLE_REJECT, "has_hangid_and_browser"},
        {CRASH(FX_RELEASE, "HangID", "abc", "ProcessType", "browser"), 0.01, THROTTLE_REJECT, "has_hangid_and_browser"},
        {CRASH(FX_RELEASE, "HangID", "abc", "ProcessType", "content"), 0.01, THROTTLE_ACCEPT, "is_firefox_desktop"},
        {CRASH("ProductName", "B2G"), 0.5, THROTTLE_FAKEACCEPT, "b2g"},
        {CRASH("ProductName", "b2g"), 0.5, THROTTLE_FAKEACCEPT, "b2g"},
        {CRASH("ProductName", "Iceweasel", "Comments", "please"), 0.01, THROTTLE_REJECT, "unsupported_product"},
        {CRASH("Version", "1.0"), 0.01, THROTTLE_REJECT, "unsupported_product"},
        {CRASH("ProductName", "Fenix", "Android_PackageName", "org.mozilla.firefox"), 0.5, THROTTLE_ACCEPT, "accept_everything"},
        {CRASH("ProductName", "Fenix", "Android_PackageName", "com.example.fork"), 0.5, THROTTLE_REJECT,
         "unsupported_packagename_fenix"},
        {CRASH("ProductName", "Fenix"), 0.5, THROTTLE_REJECT, "unsupported_packagename_fenix"},
        {CRASH("ProductName", "Focus", "Android_PackageName", "org.mozilla.klar"), 0.5, THROTTLE_ACCEPT, "accept_everything"},
        {CRASH("ProductName", "ReferenceBrowser", "Android_PackageName", "x"), 0.5, THROTTLE_REJECT,
         "unsupported_packagename_referencebrowser"},
        {CRASH(FX_RELEASE, "Throttleable", "0"), 0.99, THROTTLE_ACCEPT, "throttleable_0"},
        {CRASH(FX_RELEASE, "Throttleable", "1"), 0.99, THROTTLE_REJECT, "is_firefox_desktop"},
        {CRASH(FX_RELEASE, "Comments", "crashed on startup"), 0.99, THROTTLE_ACCEPT, "has_comments"},
        {CRASH(FX_RELEASE, "PHCKind", "FreedPage"), 0.99, THROTTLE_ACCEPT, "has_phc"},
        {CRASH(FX_RELEASE, "ProcessType", "gpu"), 0.99, THROTTLE_ACCEPT, "is_background"},
        {CRASH(FX_RELEASE, "ProcessType", "utility"), 0.99, THROTTLE_ACCEPT, "is_background"},
        {CRASH(FX_RELEASE, "ProcessType", "content"), 0.99, THROTTLE_REJECT, "is_firefox_desktop"},
        {CRASH(FX_RELEASE), 0.05, THROTTLE_ACCEPT, "is_firefox_desktop"},
        {CRASH(FX_RELEASE), 0.1, THROTTLE_ACCEPT, "is_firefox_desktop"},
        {CRASH(FX_RELEASE), 0.5, THROTTLE_REJECT, "is_firefox_desktop"},
        /* ShutDownKill: 10% go on, and of those 10% of release Firefox is kept */
        {CRASH(FX_RELEASE, "ipc_channel_error", "ShutDownKill"), 0.5, THROTTLE_REJECT, "is_shutdownkill"},
        {CRASH(FX_RELEASE, "ipc_channel_error", "ShutDownKill"), 0.005, THROTTLE_ACCEPT, "is_firefox_desktop"},
        {CRASH(FX_RELEASE, "ipc_channel_error", "ShutDownKill"), 0.05, THROTTLE_REJECT, "is_firefox_desktop"},
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "beta", "ipc_channel_error", "ShutDownKill"), 0.05, THROTTLE_ACCEPT,
         "is_alpha_beta_esr"},
        /* ESR on Windows 8.1: 25% go on */
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "esr", "TelemetryEnvironment", WIN81), 0.5, THROTTLE_REJECT,
         "is_firefox_esr_unsupported_windows"},
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "esr", "TelemetryEnvironment", WIN81), 0.2, THROTTLE_ACCEPT,
         "is_alpha_beta_esr"},
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "esr", "TelemetryEnvironment", WIN10), 0.5, THROTTLE_ACCEPT,
         "is_alpha_beta_esr"},
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "beta"), 0.99, THROTTLE_ACCEPT, "is_alpha_beta_esr"},
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "nightly"), 0.99, THROTTLE_ACCEPT, "is_nightly"},
        {CRASH("ProductName", "Firefox", "ReleaseChannel", "nightly-try"), 0.99, THROTTLE_ACCEPT, "is_nightly"},
        {CRASH("ProductName", "Thunderbird", "ReleaseChannel", "release", "BuildID", "20251201093000"), 0.99, THROTTLE_ACCEPT,
         "accept_everything"},
        /* a malformed BuildID is not "old" */
        {CRASH("ProductName", "Thunderbird", "BuildID", "garbage"), 0.99, THROTTLE_ACCEPT, "accept_everything"},
    };
#undef FX_RELEASE
#undef WIN81
#undef WIN10
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *name;
        throttle_result_t got = eval(rules, cases[i].crash, cases[i].u, &name);
        if (got != cases[i].want || strcmp(name, cases[i].rule) != 0)
            fail_msg("case %zu: got %s by %s, want %s by %s", i, throttle_result_name(got), name,
                     throttle_result_name(cases[i].want), cases[i].rule);
    }
    throttle_rules_destroy(rules);

    /* the same file through the config key */
    char yaml[700];
    snprintf(yaml, sizeof(yaml), "rules_file: \"%s\"\n", path);
    rules = rules_from_yaml(yaml);
    assert_int_equal(throttle_rules_count(rules), sizeof(names) / sizeof(names[0]));
    throttle_rules_destroy(rules);
}

typedef struct st_worker_t {
    const throttle_rules_t *rules;
    size_t mismatches;
    size_t accepted;
} worker_t;

/* Evaluates a mix of crashes whose outcome is fixed, plus real draws, many times over. */
static void *on_worker(void *arg)
{
    worker_t *w = arg;
    const char *const *hang = CRASH("ProductName", "Firefox", "HangID", "1");
    const char *const *nightly = CRASH("ProductName", "Firefox", "ReleaseChannel", "nightly", "BuildID", "20251201093000");
    const char *const *esr81 = CRASH("ProductName", "Firefox", "ReleaseChannel", "esr", "TelemetryEnvironment",
                                     "{\"system\":{\"os\":{\"name\":\"Windows_NT\",\"windowsBuildNumber\":9600}}}");
    const char *const *release = CRASH("ProductName", "Firefox", "ReleaseChannel", "release");
    for (size_t i = 0; i < 20000; ++i) {
        const char *name;
        w->mismatches += eval(w->rules, hang, 0.5, &name) != THROTTLE_REJECT || strcmp(name, "has_hangid_and_browser") != 0;
        w->mismatches += eval(w->rules, nightly, 0.5, &name) != THROTTLE_ACCEPT || strcmp(name, "is_nightly") != 0;
        w->mismatches +=
            eval(w->rules, esr81, 0.9, &name) != THROTTLE_REJECT || strcmp(name, "is_firefox_esr_unsupported_windows") != 0;
        w->accepted += throttle_decide((void *)w->rules, get_annotation, (void *)release, &name) == THROTTLE_ACCEPT;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    char path[512];
    const char *src = getenv("EDGE_SOURCE_DIR");
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/data/throttle-mozilla.yaml", src);
    throttle_rules_t *rules = NULL;
    conf_error_t err = {{0}};
    if (throttle_rules_load(path, &rules, &err) != 0)
        fail_msg("%s", err.msg);

    enum { THREADS = 4 };
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (size_t i = 0; i < THREADS; ++i) {
        workers[i] = (worker_t){.rules = rules};
        assert_int_equal(pthread_create(&threads[i], NULL, on_worker, &workers[i]), 0);
    }
    for (size_t i = 0; i < THREADS; ++i) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(workers[i].mismatches, 0);
        /* 10% of 20000 release Firefox crashes, within 5 standard deviations (~42) */
        if (workers[i].accepted < 2000 - 212 || workers[i].accepted > 2000 + 212)
            fail_msg("thread %zu accepted %zu of 20000 at 10%%", i, workers[i].accepted);
    }
    /* each thread seeds its own generator: identical sequences would be a seeding bug */
    assert_true(workers[0].accepted != workers[1].accepted || workers[1].accepted != workers[2].accepted ||
                workers[2].accepted != workers[3].accepted);
    throttle_rules_destroy(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_rules),
        cmocka_unit_test(test_exists),
        cmocka_unit_test(test_equals),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_one_of),
        cmocka_unit_test(test_always),
        cmocka_unit_test(test_not_and_default),
        cmocka_unit_test(test_all),
        cmocka_unit_test(test_older_than_days),
        cmocka_unit_test(test_every_result),
        cmocka_unit_test(test_continue_chain),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_sampling_boundaries),
        cmocka_unit_test(test_sampling_statistics),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_rule_names),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_full_key_path),
        cmocka_unit_test(test_rules_file),
        cmocka_unit_test(test_mozilla_rules),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
