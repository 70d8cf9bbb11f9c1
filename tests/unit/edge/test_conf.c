// SPDX-License-Identifier: MIT
/* Unit tests for edge/conf: tree building, paths and lines, typed getters and their messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <cmocka.h>
#include "edge/conf.h"

static conf_doc_t *parse(const char *text, conf_error_t *err)
{
    return conf_doc_parse(text, strlen(text), "t.yaml", "/base", err);
}

static void test_tree_paths_and_lines(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("a:\n  b: 1\n  list:\n    - x\n    - {c: d}\n", &err);
    assert_non_null(doc);
    const conf_node_t *a = conf_get(doc->root, "a");
    assert_non_null(a);
    assert_int_equal(a->kind, CONF_MAPPING);
    const conf_node_t *list = conf_get(a, "list");
    assert_int_equal(list->kind, CONF_SEQUENCE);
    assert_int_equal(list->count, 2);
    assert_string_equal(list->items[1]->path, "a.list[1]");
    const conf_node_t *c = conf_get(list->items[1], "c");
    assert_string_equal(c->path, "a.list[1].c");
    assert_string_equal(c->scalar, "d");
    assert_int_equal(c->line, 5);
    assert_null(conf_get(a, "missing"));
    assert_null(conf_get(c, "x"));
    conf_doc_destroy(doc);
}

static void test_empty_document_is_empty_mapping(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("", &err);
    assert_non_null(doc);
    assert_int_equal(doc->root->kind, CONF_MAPPING);
    assert_int_equal(doc->root->count, 0);
    conf_doc_destroy(doc);
    doc = parse("# only a comment\n", &err);
    assert_non_null(doc);
    conf_doc_destroy(doc);
}

static void test_rejections(void **state)
{
    conf_error_t err;
    assert_null(parse("- a\n- b\n", &err));
    assert_non_null(strstr(err.msg, "top level must be a mapping"));
    assert_null(parse("a: 1\na: 2\n", &err));
    assert_string_equal(err.msg, "t.yaml:2: a: duplicate key");
    assert_null(parse("a: &x 1\nb: *x\n", &err));
    assert_non_null(strstr(err.msg, "anchors and aliases"));
    assert_null(parse("a: [1, 2\n", &err));
    assert_non_null(strstr(err.msg, "YAML syntax error"));
    assert_null(parse("a: 1\n---\nb: 2\n", &err));
    assert_non_null(strstr(err.msg, "only one YAML document"));
    assert_null(parse("? [a]\n: 1\n", &err));
    assert_non_null(strstr(err.msg, "mapping keys must be plain strings"));
}

static void test_deep_nesting_refused(void **state)
{
    char text[1024] = "";
    for (int i = 0; i < 100; ++i)
        strcat(text, "[");
    conf_error_t err;
    char doc_text[1100];
    snprintf(doc_text, sizeof(doc_text), "a: %s", text);
    assert_null(parse(doc_text, &err));
}

static void test_check_keys(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("server:\n  threads: 2\n  treads: 3\n", &err);
    static const char *const allowed[] = {"threads", NULL};
    assert_int_equal(conf_check_keys(conf_get(doc->root, "server"), allowed, &err), -1);
    assert_string_equal(err.msg, "t.yaml:3: server.treads: unknown key");
    assert_int_equal(conf_check_keys(NULL, allowed, &err), 0);
    conf_doc_destroy(doc);
}

static void test_integers(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("a: 5\nb: -3\nc: 5x\nd: 99999999999999999999\ne: [1]\n", &err);
    int64_t v = 42;
    assert_int_equal(conf_get_int(doc->root, "a", 1, 10, &v, &err), 0);
    assert_int_equal(v, 5);
    assert_int_equal(conf_get_int(doc->root, "missing", 1, 10, &v, &err), 0);
    assert_int_equal(v, 5);
    assert_int_equal(conf_get_int(doc->root, "b", 0, 10, &v, &err), -1);
    assert_string_equal(err.msg, "t.yaml:2: b: expected an integer between 0 and 10, got \"-3\"");
    assert_int_equal(conf_get_int(doc->root, "c", 0, 10, &v, &err), -1);
    assert_int_equal(conf_get_int(doc->root, "d", 0, INT64_MAX, &v, &err), -1);
    assert_int_equal(conf_get_int(doc->root, "e", 0, 10, &v, &err), -1);
    assert_non_null(strstr(err.msg, "(a collection)"));
    conf_doc_destroy(doc);
}

static void test_sizes_and_durations(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("s1: 25m\ns2: 1024\ns3: 2 GiB\ns4: 3q\nd1: 500ms\nd2: 30s\nd3: 2h\nd4: 10\ns5: 99999999999999g\n", &err);
    uint64_t v = 0;
    assert_int_equal(conf_get_size(doc->root, "s1", 0, UINT64_MAX, &v, &err), 0);
    assert_int_equal(v, 25 << 20);
    assert_int_equal(conf_get_size(doc->root, "s2", 0, UINT64_MAX, &v, &err), 0);
    assert_int_equal(v, 1024);
    assert_int_equal(conf_get_size(doc->root, "s3", 0, UINT64_MAX, &v, &err), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(conf_get_size(doc->root, "s4", 0, UINT64_MAX, &v, &err), -1);
    assert_int_equal(conf_get_size(doc->root, "s5", 0, UINT64_MAX, &v, &err), -1); /* overflow */
    assert_int_equal(conf_get_size(doc->root, "s1", 0, 1024, &v, &err), -1);
    assert_int_equal(conf_get_duration_ms(doc->root, "d1", 0, UINT64_MAX, &v, &err), 0);
    assert_int_equal(v, 500);
    assert_int_equal(conf_get_duration_ms(doc->root, "d2", 0, UINT64_MAX, &v, &err), 0);
    assert_int_equal(v, 30000);
    assert_int_equal(conf_get_duration_ms(doc->root, "d3", 0, UINT64_MAX, &v, &err), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(conf_get_duration_ms(doc->root, "d4", 0, UINT64_MAX, &v, &err), -1); /* a unit is required */
    assert_non_null(strstr(err.msg, "d4: expected a duration"));
    conf_doc_destroy(doc);
}

static void test_bools_strings_paths(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("t: true\nf: off\nq: \"true\"\nn: 3\ns: hello\nrel: data/x\nabs: /etc/y\nlist: [a]\n", &err);
    int b = -1;
    assert_int_equal(conf_get_bool(doc->root, "t", &b, &err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(conf_get_bool(doc->root, "f", &b, &err), 0);
    assert_int_equal(b, 0);
    assert_int_equal(conf_get_bool(doc->root, "q", &b, &err), -1); /* a quoted "true" is a string */
    assert_int_equal(conf_get_bool(doc->root, "n", &b, &err), -1);
    const char *s = NULL;
    assert_int_equal(conf_get_string(doc->root, "s", &s, &err), 0);
    assert_string_equal(s, "hello");
    assert_int_equal(conf_get_string(doc->root, "list", &s, &err), -1);
    char *p = NULL;
    assert_int_equal(conf_get_path(doc->root, "rel", &p, &err), 0);
    assert_string_equal(p, "/base/data/x");
    assert_int_equal(conf_get_path(doc->root, "abs", &p, &err), 0); /* frees the previous value */
    assert_string_equal(p, "/etc/y");
    free(p);
    conf_doc_destroy(doc);
}

static void test_load_file_errors(void **state)
{
    conf_error_t err;
    assert_null(conf_doc_load("/nonexistent/file.yaml", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/file.yaml: cannot open"));
    char dir[] = "/tmp/conf-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    FILE *fp = fopen(path, "w");
    fputs("a:\n  b: rel\n", fp);
    fclose(fp);
    conf_doc_t *doc = conf_doc_load(path, &err);
    assert_non_null(doc);
    assert_string_equal(doc->base_dir, dir);
    char *p = NULL;
    assert_int_equal(conf_get_path(conf_get(doc->root, "a"), "b", &p, &err), 0);
    char expect[300];
    snprintf(expect, sizeof(expect), "%s/rel", dir);
    assert_string_equal(p, expect);
    free(p);
    conf_doc_destroy(doc);
    unlink(path);
    rmdir(dir);
}

static void test_conf_fail_format(void **state)
{
    conf_error_t err;
    conf_doc_t *doc = parse("x:\n  y: z\n", &err);
    assert_int_equal(conf_fail(&err, conf_get(conf_get(doc->root, "x"), "y"), "bad %s", "thing"), -1);
    assert_string_equal(err.msg, "t.yaml:2: x.y: bad thing");
    conf_doc_destroy(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_paths_and_lines), cmocka_unit_test(test_empty_document_is_empty_mapping),
        cmocka_unit_test(test_rejections),           cmocka_unit_test(test_deep_nesting_refused),
        cmocka_unit_test(test_check_keys),           cmocka_unit_test(test_integers),
        cmocka_unit_test(test_sizes_and_durations),  cmocka_unit_test(test_bools_strings_paths),
        cmocka_unit_test(test_load_file_errors),     cmocka_unit_test(test_conf_fail_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
