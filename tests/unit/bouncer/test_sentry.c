// SPDX-License-Identifier: MIT
/*
 * Unit tests for the mirror health checker: the pure decisions of bouncer/sentry_classify.c
 * (classification table, hysteresis sequences, quorum guard, check URLs), the configuration
 * parser, and whole rounds of bouncer/sentry.c against a small HTTP server run by the test on
 * loopback (one thread, Connection: close) with a real store in a temporary directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "bouncer/catalog.h"
#include "bouncer/sentry.h"
#include "bouncer/sentry_classify.h"
#include "bouncer/store.h"
#include "edge/conf.h"
#include "edge/metrics.h"

/* ---- classification ---- */

static sentry_result_t classify(sentry_transport_t t, long status, const char *ct, char *reason, size_t size)
{
    sentry_answer_t a = {t, status, ct, "boom"};
    return sentry_classify(&a, reason, size);
}

static void test_classify_table(void **state)
{
    static const struct {
        sentry_transport_t transport;
        long status;
        const char *ct;
        sentry_result_t want;
        catalog_health_state_t state;
        const char *reason;
    } cases[] = {
        {SENTRY_TRANSPORT_OK, 200, "application/octet-stream", SENTRY_RESULT_OK, CATALOG_HEALTH_HEALTHY, "HTTP 200"},
        {SENTRY_TRANSPORT_OK, 200, NULL, SENTRY_RESULT_OK, CATALOG_HEALTH_HEALTHY, "HTTP 200"},
        {SENTRY_TRANSPORT_OK, 200, "text/plain", SENTRY_RESULT_OK, CATALOG_HEALTH_HEALTHY, "HTTP 200"},
        {SENTRY_TRANSPORT_OK, 200, "text/htmlx", SENTRY_RESULT_OK, CATALOG_HEALTH_HEALTHY, "HTTP 200"},
        {SENTRY_TRANSPORT_OK, 200, "text/html", SENTRY_RESULT_HTML, CATALOG_HEALTH_UNHEALTHY,
         "HTTP 200 text/html (an HTML page, not the file)"},
        {SENTRY_TRANSPORT_OK, 200, "Text/HTML; charset=utf-8", SENTRY_RESULT_HTML, CATALOG_HEALTH_UNHEALTHY,
         "HTTP 200 text/html (an HTML page, not the file)"},
        {SENTRY_TRANSPORT_OK, 404, "text/html", SENTRY_RESULT_ABSENT, CATALOG_HEALTH_ABSENT, "HTTP 404"},
        {SENTRY_TRANSPORT_OK, 403, NULL, SENTRY_RESULT_ABSENT, CATALOG_HEALTH_ABSENT, "HTTP 403"},
        {SENTRY_TRANSPORT_OK, 500, NULL, SENTRY_RESULT_HTTP_ERROR, CATALOG_HEALTH_UNHEALTHY, "HTTP 500"},
        {SENTRY_TRANSPORT_OK, 503, NULL, SENTRY_RESULT_HTTP_ERROR, CATALOG_HEALTH_UNHEALTHY, "HTTP 503"},
        {SENTRY_TRANSPORT_OK, 204, NULL, SENTRY_RESULT_HTTP_ERROR, CATALOG_HEALTH_UNHEALTHY, "HTTP 204"},
        {SENTRY_TRANSPORT_OK, 302, NULL, SENTRY_RESULT_HTTP_ERROR, CATALOG_HEALTH_UNHEALTHY, "HTTP 302"},
        {SENTRY_TRANSPORT_OK, 401, NULL, SENTRY_RESULT_HTTP_ERROR, CATALOG_HEALTH_UNHEALTHY, "HTTP 401"},
        {SENTRY_TRANSPORT_TIMEOUT, 0, NULL, SENTRY_RESULT_TIMEOUT, CATALOG_HEALTH_UNHEALTHY, "timeout: boom"},
        {SENTRY_TRANSPORT_DNS, 0, NULL, SENTRY_RESULT_CONNECT, CATALOG_HEALTH_UNHEALTHY, "dns: boom"},
        {SENTRY_TRANSPORT_CONNECT, 0, NULL, SENTRY_RESULT_CONNECT, CATALOG_HEALTH_UNHEALTHY, "connect: boom"},
        {SENTRY_TRANSPORT_TLS, 0, NULL, SENTRY_RESULT_CONNECT, CATALOG_HEALTH_UNHEALTHY, "tls: boom"},
        {SENTRY_TRANSPORT_REDIRECTS, 0, NULL, SENTRY_RESULT_HTTP_ERROR, CATALOG_HEALTH_UNHEALTHY, "more than one redirect"},
        {SENTRY_TRANSPORT_OTHER, 0, NULL, SENTRY_RESULT_ERROR, CATALOG_HEALTH_UNHEALTHY, "error: boom"},
    };
    char reason[128];
    (void)state;
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        sentry_result_t r = classify(cases[i].transport, cases[i].status, cases[i].ct, reason, sizeof(reason));
        assert_int_equal(r, cases[i].want);
        assert_int_equal(sentry_result_state(r), cases[i].state);
        assert_string_equal(reason, cases[i].reason);
    }
    /* a tiny buffer truncates, a zero-sized one is not touched */
    assert_int_equal(classify(SENTRY_TRANSPORT_OK, 500, NULL, reason, 4), SENTRY_RESULT_HTTP_ERROR);
    assert_string_equal(reason, "HTT");
    assert_int_equal(classify(SENTRY_TRANSPORT_OK, 500, NULL, NULL, 0), SENTRY_RESULT_HTTP_ERROR);

    assert_string_equal(sentry_result_name(SENTRY_RESULT_OK), "ok");
    assert_string_equal(sentry_result_name(SENTRY_RESULT_ABSENT), "absent");
    assert_string_equal(sentry_result_name(SENTRY_RESULT_HTTP_ERROR), "http_error");
    assert_string_equal(sentry_result_name(SENTRY_RESULT_HTML), "html");
    assert_string_equal(sentry_result_name(SENTRY_RESULT_TIMEOUT), "timeout");
    assert_string_equal(sentry_result_name(SENTRY_RESULT_CONNECT), "connect");
    assert_string_equal(sentry_result_name(SENTRY_RESULT_ERROR), "error");
    assert_string_equal(sentry_result_name((sentry_result_t)99), "error");
}

static void test_classify_root(void **state)
{
    char reason[128];
    sentry_answer_t a = {SENTRY_TRANSPORT_OK, 200, "text/html", NULL};
    (void)state;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_OK); /* an index page */
    a.status = 403;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_OK);
    a.status = 404;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_OK);
    a.status = 499;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_OK);
    a.status = 500;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_HTTP_ERROR);
    assert_string_equal(reason, "HTTP 500");
    a.status = 0;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_HTTP_ERROR);
    a.transport = SENTRY_TRANSPORT_CONNECT;
    a.detail = "refused";
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_CONNECT);
    assert_string_equal(reason, "connect: refused");
    a.transport = SENTRY_TRANSPORT_TIMEOUT;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_TIMEOUT);
    a.transport = SENTRY_TRANSPORT_REDIRECTS;
    assert_int_equal(sentry_classify_root(&a, reason, sizeof(reason)), SENTRY_RESULT_OK);
}

/* ---- hysteresis ---- */

#define H CATALOG_HEALTH_HEALTHY
#define U CATALOG_HEALTH_UNHEALTHY
#define A CATALOG_HEALTH_ABSENT

/* Feeds obs[] and checks the state after each observation and whether it changed. */
static void run_seq(catalog_health_state_t start, unsigned n_down, unsigned m_up, const catalog_health_state_t *obs,
                    const catalog_health_state_t *want, const int *changed, size_t n)
{
    sentry_track_t t;
    sentry_track_init(&t, start);
    for (size_t i = 0; i != n; ++i) {
        int c = sentry_track_observe(&t, obs[i], n_down, m_up);
        if (t.state != want[i] || c != changed[i])
            fail_msg("step %zu: state %d (want %d), changed %d (want %d)", i, (int)t.state, (int)want[i], c, changed[i]);
    }
}

static void test_hysteresis(void **state)
{
    (void)state;
    { /* 3 failures to go down; a success in between starts over */
        catalog_health_state_t obs[] = {U, U, H, U, U, U, U};
        catalog_health_state_t want[] = {H, H, H, H, H, U, U};
        int ch[] = {0, 0, 0, 0, 0, 1, 0};
        run_seq(H, 3, 2, obs, want, ch, 7);
    }
    { /* 2 successes to come back; a failure in between starts over */
        catalog_health_state_t obs[] = {H, U, H, H, H};
        catalog_health_state_t want[] = {U, U, U, H, H};
        int ch[] = {0, 0, 0, 1, 0};
        run_seq(U, 3, 2, obs, want, ch, 5);
    }
    { /* unhealthy and absent both count as failures; the last one decides the new state */
        catalog_health_state_t obs[] = {U, A, A};
        catalog_health_state_t want[] = {H, H, A};
        int ch[] = {0, 0, 1};
        run_seq(H, 3, 2, obs, want, ch, 3);
    }
    { /* between the two down states the state follows at once */
        catalog_health_state_t obs[] = {U, A, A, U, H, H};
        catalog_health_state_t want[] = {U, A, A, U, U, H};
        int ch[] = {1, 1, 0, 1, 0, 1};
        run_seq(A, 3, 2, obs, want, ch, 6);
    }
    { /* N = M = 1 (and 0 treated as 1): every change applies at once */
        catalog_health_state_t obs[] = {U, H, A, H};
        catalog_health_state_t want[] = {U, H, A, H};
        int ch[] = {1, 1, 1, 1};
        run_seq(H, 1, 1, obs, want, ch, 4);
        run_seq(H, 0, 0, obs, want, ch, 4);
    }
    { /* a success streak interrupted by absent then resumed starts from 1 */
        catalog_health_state_t obs[] = {H, A, H, H, H};
        catalog_health_state_t want[] = {U, A, A, A, H};
        int ch[] = {0, 1, 0, 0, 1};
        run_seq(U, 2, 3, obs, want, ch, 5);
    }
}

/* ---- quorum ---- */

static void test_quorum(void **state)
{
    (void)state;
    assert_true(sentry_quorum_allows(0, 0, 0.5));
    assert_true(sentry_quorum_allows(0, 10, 0.0));
    assert_false(sentry_quorum_allows(1, 10, 0.0));
    assert_true(sentry_quorum_allows(5, 10, 0.5));
    assert_false(sentry_quorum_allows(6, 10, 0.5));
    assert_true(sentry_quorum_allows(3, 10, 0.3)); /* 0.3 * 10 is 2.9999... in binary */
    assert_false(sentry_quorum_allows(4, 10, 0.3));
    assert_false(sentry_quorum_allows(1, 1, 0.5)); /* never the only mirror */
    assert_false(sentry_quorum_allows(2, 2, 0.99));
    assert_true(sentry_quorum_allows(2, 2, 1.0));
    assert_true(sentry_quorum_allows(1, 2, 0.5));
}

/* ---- URLs and languages ---- */

static void test_urls(void **state)
{
    const char *l1[] = {"de", "fr"}, *l2[] = {"de", "EN-us"};
    char *u;
    (void)state;
    assert_string_equal(sentry_pick_lang(NULL, 0), "en-US");
    assert_string_equal(sentry_pick_lang(l1, 2), "de");
    assert_string_equal(sentry_pick_lang(l2, 2), "EN-us");

    u = sentry_check_url("http://m.example/pub/", "/firefox/:lang/x-:lang.exe", "de");
    assert_string_equal(u, "http://m.example/pub/firefox/de/x-de.exe");
    free(u);
    u = sentry_check_url("https://m.example/pub", "firefox/x.exe", "en-US");
    assert_string_equal(u, "https://m.example/pub/firefox/x.exe");
    free(u);
    u = sentry_check_url("http://m.example", ":lang", "pt-BR");
    assert_string_equal(u, "http://m.example/pt-BR");
    free(u);
    u = sentry_check_url("http://m.example//", "//a:lan", "xx");
    assert_string_equal(u, "http://m.example/a:lan");
    free(u);
}

/* ---- configuration ---- */

static conf_doc_t *parse_yaml(const char *text)
{
    conf_error_t err;
    conf_doc_t *doc = conf_doc_parse(text, strlen(text), "test.yaml", "/tmp", &err);
    if (doc == NULL)
        fail_msg("%s", err.msg);
    return doc;
}

static void expect_config_error(const char *yaml, const char *needle)
{
    conf_doc_t *doc = parse_yaml(yaml);
    conf_error_t err = {{0}};
    sentry_config_t *c = (sentry_config_t *)1;
    assert_int_equal(sentry_config_parse(conf_get(doc->root, "health_check"), &c, &err), -1);
    assert_null(c);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
    conf_doc_destroy(doc);
}

static void test_config(void **state)
{
    conf_error_t err = {{0}};
    sentry_config_t *c = NULL;
    conf_doc_t *doc;
    (void)state;

    assert_int_equal(sentry_config_parse(NULL, &c, &err), 0);
    assert_true(sentry_enabled(c));
    sentry_config_destroy(c);
    sentry_config_destroy(NULL);
    assert_false(sentry_enabled(NULL));

    doc = parse_yaml("health_check:\n  enabled: false\n  interval: 200ms\n  failures_to_down: 1\n  max_down_fraction: 0.8\n"
                     "  canary_url: http://example.com/\n  user_agent: probe/2\n");
    assert_int_equal(sentry_config_parse(conf_get(doc->root, "health_check"), &c, &err), 0);
    assert_false(sentry_enabled(c));
    sentry_config_destroy(c);
    conf_doc_destroy(doc);

    expect_config_error("health_check:\n  bogus: 1\n", "bogus");
    expect_config_error("health_check:\n  interval: 5\n", "health_check.interval");
    expect_config_error("health_check:\n  interval: 10ms\n", "health_check.interval");
    expect_config_error("health_check:\n  concurrency: 0\n", "health_check.concurrency");
    expect_config_error("health_check:\n  failures_to_down: 0\n", "health_check.failures_to_down");
    expect_config_error("health_check:\n  max_down_fraction: 1.5\n", "between 0 and 1");
    expect_config_error("health_check:\n  max_down_fraction: half\n", "between 0 and 1");
    expect_config_error("health_check:\n  canary_url: ftp://x/\n", "health_check.canary_url");
    expect_config_error("health_check:\n  user_agent: \"\"\n", "health_check.user_agent");
    expect_config_error("health_check: 3\n", "expected a mapping");
}

/* ---- whole rounds against a loopback HTTP server ---- */

/*
 * Paths: /<kind>/... where kind is good (200 octet-stream), missing (404), broken (500), html
 * (200 text/html), hang (no answer). A path ending in '/' is a mirror root: 200 text/html except
 * for broken (500) and hang. `fail_all` makes every answer a 500 (the checker's view when its own
 * network breaks in front of a proxy).
 */
typedef struct st_server_t {
    int fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    atomic_int fail_all;
    atomic_int requests;
    int hung[64];
    size_t num_hung;
} server_t;

static void respond(int fd, const char *status, const char *ct)
{
    char buf[256];
    int n =
        snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, ct);
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
}

static void *server_main(void *arg)
{
    server_t *sv = arg;
    while (!atomic_load(&sv->stop)) {
        struct pollfd pfd = {sv->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[2048];
        size_t len = 0;
        while (len < sizeof(req) - 1 && (len < 4 || memcmp(req + len - 4, "\r\n\r\n", 4) != 0)) {
            struct pollfd cp = {c, POLLIN, 0};
            if (poll(&cp, 1, 1000) <= 0)
                break;
            ssize_t r = read(c, req + len, sizeof(req) - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        req[len] = '\0';
        atomic_fetch_add(&sv->requests, 1);
        char path[512] = "";
        sscanf(req, "%*s %511s", path);
        int root = len != 0 && path[strlen(path) - 1] == '/';
        if (strncmp(path, "/hang/", 6) == 0 && sv->num_hung < 64) {
            sv->hung[sv->num_hung++] = c; /* never answered */
            continue;
        }
        if (atomic_load(&sv->fail_all))
            respond(c, "500 Internal Server Error", "text/plain");
        else if (strncmp(path, "/broken/", 8) == 0)
            respond(c, "500 Internal Server Error", "text/plain");
        else if (root)
            respond(c, "200 OK", "text/html");
        else if (strncmp(path, "/good/", 6) == 0)
            respond(c, "200 OK", "application/octet-stream");
        else if (strncmp(path, "/missing/", 9) == 0)
            respond(c, "404 Not Found", "text/html");
        else if (strncmp(path, "/html/", 6) == 0)
            respond(c, "200 OK", "text/html; charset=utf-8");
        else
            respond(c, "400 Bad Request", "text/plain");
        close(c);
    }
    for (size_t i = 0; i != sv->num_hung; ++i)
        close(sv->hung[i]);
    return NULL;
}

static void server_start(server_t *sv)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    memset(sv, 0, sizeof(*sv));
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sv->fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(sv->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(sv->fd, 64), 0);
    assert_int_equal(getsockname(sv->fd, (struct sockaddr *)&sa, &sl), 0);
    sv->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&sv->thread, NULL, server_main, sv), 0);
}

static void server_stop(server_t *sv)
{
    atomic_store(&sv->stop, 1);
    pthread_join(sv->thread, NULL);
    close(sv->fd);
}

typedef struct st_world_t {
    char dir[64];
    store_t *st;
    server_t sv;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int changes;
} world_t;

static void on_change(void *arg)
{
    world_t *w = arg;
    pthread_mutex_lock(&w->mutex);
    w->changes++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

static void add_mirror(world_t *w, const char *name, const char *kind)
{
    char url[128];
    catalog_error_t err = {{0}};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s/", w->sv.port, kind);
    catalog_mirror_t m = {0, (char *)name, url, 100, 1, NULL, 0, NULL, 0};
    if (store_mirror_add(w->st, &m, NULL, &err) != 0)
        fail_msg("%s", err.message);
}

static int world_setup(void **state)
{
    world_t *w = calloc(1, sizeof(*w));
    catalog_error_t err = {{0}};
    const char *langs[] = {"de", "fr"};
    snprintf(w->dir, sizeof(w->dir), "/tmp/edge-sentry-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    assert_int_equal(store_open(w->dir, 0, &w->st), 0);
    server_start(&w->sv);
    pthread_mutex_init(&w->mutex, NULL);
    pthread_cond_init(&w->cond, NULL);
    assert_int_equal(store_product_add(w->st, "Firefox", 0, langs, 2, NULL, &err), 0);
    assert_int_equal(store_location_add(w->st, "Firefox", "win", "/firefox/:lang/setup.exe", NULL, &err), 0);
    assert_int_equal(store_location_add(w->st, "Firefox", "osx", "/firefox/:lang/app.dmg", NULL, &err), 0);
    assert_int_equal(store_product_add(w->st, "Firefox-SSL", 1, NULL, 0, NULL, &err), 0); /* no https mirror: unchecked */
    assert_int_equal(store_location_add(w->st, "Firefox-SSL", "win", "/firefox/ssl.exe", NULL, &err), 0);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world_t *w = *state;
    char path[256];
    server_stop(&w->sv);
    store_close(w->st);
    snprintf(path, sizeof(path), "%s/catalog/data.mdb", w->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/catalog/lock.mdb", w->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/catalog", w->dir);
    rmdir(path);
    rmdir(w->dir);
    pthread_mutex_destroy(&w->mutex);
    pthread_cond_destroy(&w->cond);
    free(w);
    metrics_reset();
    return 0;
}

static sentry_t *start_sentry(world_t *w, const char *yaml)
{
    conf_doc_t *doc = parse_yaml(yaml);
    conf_error_t err = {{0}};
    sentry_config_t *c = NULL;
    sentry_t *s = NULL;
    assert_int_equal(sentry_config_parse(conf_get(doc->root, "health_check"), &c, &err), 0);
    if (sentry_create(c, w->st, on_change, w, &s, &err) != 0)
        fail_msg("%s", err.msg);
    sentry_config_destroy(c);
    conf_doc_destroy(doc);
    return s;
}

/* Waits until the status says at least `rounds` rounds ended. @return the status JSON (caller frees). */
static char *wait_rounds(sentry_t *s, int rounds)
{
    char want[32];
    for (int i = 0; i != 200; ++i) {
        char *js = sentry_status_json(s);
        assert_non_null(js);
        const char *p = strstr(js, "\"rounds\":");
        if (p != NULL && atoi(p + 9) >= rounds)
            return js;
        free(js);
        usleep(50 * 1000);
    }
    snprintf(want, sizeof(want), "%d rounds", rounds);
    fail_msg("timed out waiting for %s", want);
    return NULL;
}

static const catalog_health_t *find_health(const catalog_t *cat, const char *mirror, const char *os)
{
    for (size_t i = 0; i != cat->num_health; ++i)
        if (strcasecmp(cat->health[i].mirror, mirror) == 0 && strcmp(cat->health[i].os, os) == 0)
            return cat->health + i;
    return NULL;
}

static void test_rounds(void **state)
{
    world_t *w = *state;
    catalog_t *cat = NULL;
    const catalog_health_t *h;
    char *js;

    add_mirror(w, "good", "good");
    add_mirror(w, "good2", "good");
    add_mirror(w, "good3", "good");
    add_mirror(w, "missing", "missing");
    add_mirror(w, "broken", "broken");
    add_mirror(w, "html", "html");
    add_mirror(w, "hang", "hang");
    sentry_t *s = start_sentry(w, "health_check:\n  interval: 200ms\n  timeout: 300ms\n  connect_timeout: 300ms\n"
                                  "  failures_to_down: 1\n  successes_to_up: 1\n  max_down_fraction: 0.6\n  concurrency: 4\n");
    js = wait_rounds(s, 1);
    sentry_destroy(s);

    /* the store: 3 down mirrors of 7 (broken, html, hang), 1 absent; good ones have no record */
    assert_int_equal(store_load(w->st, &cat), 0);
    assert_int_equal(cat->num_health, 8);
    assert_null(find_health(cat, "good", "win"));
    assert_non_null(h = find_health(cat, "missing", "win"));
    assert_int_equal(h->state, CATALOG_HEALTH_ABSENT);
    assert_string_equal(h->reason, "HTTP 404");
    assert_non_null(h = find_health(cat, "broken", "osx"));
    assert_int_equal(h->state, CATALOG_HEALTH_UNHEALTHY);
    assert_string_equal(h->reason, "mirror root: HTTP 500");
    assert_non_null(h = find_health(cat, "html", "win"));
    assert_int_equal(h->state, CATALOG_HEALTH_UNHEALTHY);
    assert_non_null(strstr(h->reason, "text/html"));
    assert_non_null(h = find_health(cat, "hang", "win"));
    assert_int_equal(h->state, CATALOG_HEALTH_UNHEALTHY);
    assert_non_null(strstr(h->reason, "timeout"));
    assert_true(h->checked_at > 0);
    catalog_destroy(cat);

    assert_true(w->changes >= 1);
    assert_non_null(strstr(js, "\"good\":{\"state\":\"healthy\",\"healthy\":2,\"unhealthy\":0,\"absent\":0"));
    assert_non_null(strstr(js, "\"missing\":{\"state\":\"absent\",\"healthy\":0,\"unhealthy\":0,\"absent\":2"));
    assert_non_null(strstr(js, "\"broken\":{\"state\":\"unhealthy\",\"healthy\":0,\"unhealthy\":2,\"absent\":0"));
    assert_non_null(strstr(js, "\"last_round_skipped\":false"));
    free(js);
}

static void test_quorum_guard_and_recovery(void **state)
{
    world_t *w = *state;
    catalog_t *cat = NULL;
    char *js;
    int changes;

    add_mirror(w, "a", "good");
    add_mirror(w, "b", "good");
    add_mirror(w, "c", "good");
    atomic_store(&w->sv.fail_all, 1); /* everything breaks at once */
    sentry_t *s = start_sentry(w, "health_check:\n  interval: 100ms\n  failures_to_down: 1\n  successes_to_up: 1\n");
    js = wait_rounds(s, 3);
    assert_non_null(strstr(js, "\"last_round_skipped\":true"));
    assert_non_null(strstr(js, "\"skipped_reason\":\"quorum\""));
    assert_non_null(strstr(js, "\"a\":{\"state\":\"healthy\""));
    free(js);
    assert_int_equal(store_load(w->st, &cat), 0);
    assert_int_equal(cat->num_health, 0); /* nothing was taken down */
    catalog_destroy(cat);
    pthread_mutex_lock(&w->mutex);
    changes = w->changes;
    pthread_mutex_unlock(&w->mutex);
    assert_int_equal(changes, 0);

    /* the network heals: rounds are applied again, still nothing to change */
    atomic_store(&w->sv.fail_all, 0);
    sentry_trigger(s);
    js = wait_rounds(s, 5);
    sentry_destroy(s);
    assert_non_null(strstr(js, "\"last_round_skipped\":false"));
    free(js);
}

static int get_changes(world_t *w)
{
    int n;
    pthread_mutex_lock(&w->mutex);
    n = w->changes;
    pthread_mutex_unlock(&w->mutex);
    return n;
}

/* Rounds driven by sentry_trigger: streaks across rounds, and stored states as the starting point. */
static void test_streaks_and_stored_state(void **state)
{
    world_t *w = *state;
    catalog_t *cat = NULL;
    const catalog_health_t *h;
    char *js;
    catalog_health_t rec = {"good", "Firefox", "win", CATALOG_HEALTH_UNHEALTHY, 1, "old"};

    add_mirror(w, "good", "good");
    add_mirror(w, "good2", "good");
    add_mirror(w, "good3", "good");
    add_mirror(w, "bad", "broken");
    assert_int_equal(store_health_put(w->st, &rec, 1), 0);
    sentry_t *s = start_sentry(w, "health_check:\n  interval: 1h\n  failures_to_down: 2\n  successes_to_up: 1\n");

    /* round 1: good/win comes back at once; bad has one failure of two */
    js = wait_rounds(s, 1);
    free(js);
    assert_int_equal(get_changes(w), 1);
    assert_int_equal(store_load(w->st, &cat), 0);
    assert_int_equal(cat->num_health, 1);
    assert_non_null(h = find_health(cat, "good", "win"));
    assert_int_equal(h->state, CATALOG_HEALTH_HEALTHY);
    assert_string_equal(h->reason, "HTTP 200");
    assert_null(find_health(cat, "bad", "win"));
    catalog_destroy(cat);

    /* round 2: bad goes down (2 of 8 locations, 1 of 4 mirrors: believed) */
    sentry_trigger(s);
    js = wait_rounds(s, 2);
    assert_non_null(strstr(js, "\"bad\":{\"state\":\"unhealthy\",\"healthy\":0,\"unhealthy\":2"));
    assert_non_null(strstr(js, "\"last_reason\":\"mirror root: HTTP 500\""));
    free(js);
    assert_int_equal(get_changes(w), 2);
    assert_int_equal(store_load(w->st, &cat), 0);
    assert_int_equal(cat->num_health, 3);
    assert_non_null(h = find_health(cat, "bad", "osx"));
    assert_int_equal(h->state, CATALOG_HEALTH_UNHEALTHY);
    catalog_destroy(cat);

    /* round 3: nothing changes, nothing is written, on_change is not called */
    sentry_trigger(s);
    js = wait_rounds(s, 3);
    free(js);
    assert_int_equal(get_changes(w), 2);
    sentry_destroy(s);
}

static void test_canary(void **state)
{
    world_t *w = *state;
    catalog_t *cat = NULL;
    char yaml[256], *js;

    add_mirror(w, "a", "good");
    add_mirror(w, "b", "broken");
    add_mirror(w, "c", "good");
    add_mirror(w, "d", "good");
    /* a failing canary: nothing is checked, nothing applied */
    snprintf(yaml, sizeof(yaml),
             "health_check:\n  interval: 1h\n  failures_to_down: 1\n  canary_url: http://127.0.0.1:%d/missing/x\n", w->sv.port);
    sentry_t *s = start_sentry(w, yaml);
    js = wait_rounds(s, 1);
    sentry_destroy(s);
    assert_non_null(strstr(js, "\"skipped_reason\":\"canary\""));
    assert_non_null(strstr(js, "\"rounds_skipped\":1"));
    free(js);
    assert_int_equal(atomic_load(&w->sv.requests), 1);
    assert_int_equal(store_load(w->st, &cat), 0);
    assert_int_equal(cat->num_health, 0);
    catalog_destroy(cat);

    /* a working canary: the round is applied */
    snprintf(yaml, sizeof(yaml), "health_check:\n  interval: 1h\n  failures_to_down: 1\n  canary_url: http://127.0.0.1:%d/good/x\n",
             w->sv.port);
    s = start_sentry(w, yaml);
    js = wait_rounds(s, 1);
    sentry_destroy(s);
    assert_non_null(strstr(js, "\"last_round_skipped\":false"));
    free(js);
    assert_int_equal(store_load(w->st, &cat), 0);
    assert_int_equal(cat->num_health, 2);
    catalog_destroy(cat);
}

static void test_stop_is_prompt(void **state)
{
    world_t *w = *state;
    struct timespec t0, t1;
    add_mirror(w, "hang", "hang");
    /* a hanging mirror with a long timeout: destroy must not wait for it */
    sentry_t *s = start_sentry(w, "health_check:\n  timeout: 60s\n  connect_timeout: 60s\n");
    for (int i = 0; i != 100 && atomic_load(&w->sv.requests) < 1; ++i)
        usleep(20 * 1000);
    assert_true(atomic_load(&w->sv.requests) >= 1); /* the root request hangs */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sentry_destroy(s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1000 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (ms > 1000)
        fail_msg("sentry_destroy took %.0f ms", ms);
    sentry_destroy(NULL);
}

static void test_disabled(void **state)
{
    world_t *w = *state;
    add_mirror(w, "good", "good");
    sentry_t *s = start_sentry(w, "health_check:\n  enabled: false\n");
    sentry_trigger(s);
    usleep(100 * 1000);
    char *js = sentry_status_json(s);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"enabled\":false"));
    assert_non_null(strstr(js, "\"rounds\":0"));
    assert_int_equal(atomic_load(&w->sv.requests), 0);
    free(js);
    sentry_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_root),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_quorum),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_config),
        cmocka_unit_test_setup_teardown(test_rounds, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_quorum_guard_and_recovery, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_streaks_and_stored_state, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_canary, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_stop_is_prompt, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_disabled, world_setup, world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
