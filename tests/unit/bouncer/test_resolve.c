// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/resolve.c: go-bouncer request semantics as a table, plus hostile
 * inputs (header injection attempts, bad escapes, repeated keys) and stub attribution.
 * Every request is also resolved through a resolve_memo (bouncer/resolve_memo.c), once on a miss
 * and once on a hit, and both answers must equal resolve_request()'s.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "bouncer/catalog.h"
#include "bouncer/resolve.h"
#include "bouncer/resolve_memo.h"
#include "bouncer/snapshot.h"

static const char catalog_json[] =
    "{\"products\":["
    "{\"name\":\"Firefox-139.0-SSL\",\"ssl_only\":true,\"languages\":[\"en-US\",\"de\",\"ja-JP-mac\"]},"
    "{\"name\":\"Firefox-139.0\",\"languages\":[\"en-US\",\"de\"]},"
    "{\"name\":\"Firefox-Stub\",\"ssl_only\":true},"
    "{\"name\":\"Firefox-115.0esr-SSL\",\"ssl_only\":true},"
    "{\"name\":\"Thunderbird-1.0\"},"
    "{\"name\":\"Old-1.0\",\"active\":false}"
    "],"
    "\"locations\":["
    "{\"product\":\"Firefox-139.0-SSL\",\"os\":\"win\",\"path\":\"/firefox/139.0/win32/:lang/Setup.exe\"},"
    "{\"product\":\"Firefox-139.0-SSL\",\"os\":\"win64\",\"path\":\"/firefox/139.0/win64/:lang/Setup.exe\"},"
    "{\"product\":\"Firefox-139.0\",\"os\":\"win\",\"path\":\"firefox/139.0/win32/:lang/Setup.exe\"},"
    "{\"product\":\"Firefox-139.0\",\"os\":\"osx\",\"path\":\"/firefox/139.0/mac/:lang/a.dmg\"},"
    "{\"product\":\"Firefox-Stub\",\"os\":\"win\",\"path\":\"/stub/:lang/Installer.exe\"},"
    "{\"product\":\"Firefox-115.0esr-SSL\",\"os\":\"win\",\"path\":\"/esr/:lang/Setup.exe\"},"
    "{\"product\":\"Firefox-115.0esr-SSL\",\"os\":\"win64\",\"path\":\"/esr64/:lang/Setup.exe\"},"
    "{\"product\":\"Thunderbird-1.0\",\"os\":\"linux\",\"path\":\"/tb:1/::lang/:lang.tar.bz2:la\"},"
    "{\"product\":\"Old-1.0\",\"os\":\"win\",\"path\":\"/old.exe\"}"
    "],"
    "\"aliases\":["
    "{\"alias\":\"firefox-latest-ssl\",\"product\":\"Firefox-139.0-SSL\"},"
    "{\"alias\":\"firefox-latest\",\"product\":\"Firefox-139.0\"},"
    "{\"alias\":\"firefox-esr115-latest-ssl\",\"product\":\"Firefox-115.0esr-SSL\"}"
    "],"
    "\"mirrors\":["
    "{\"name\":\"secure\",\"base_url\":\"https://dl.example.net/pub/\",\"weight\":10},"
    "{\"name\":\"plain\",\"base_url\":\"http://dl.example.net/pub\",\"weight\":10}"
    "],"
    "\"rules\":["
    "{\"name\":\"win7-stub-64\",\"ua_contains\":[\"Windows NT 6.1\"],\"ua_contains_also\":[\"Win64\",\"WOW64\"],"
    "\"product_prefix\":[\"firefox-\"],\"product_contains\":[\"stub\"],"
    "\"referer_not_prefix\":[\"https://www.mozilla.org/\"],\"set_os\":\"win64\"},"
    "{\"name\":\"win7-esr\",\"ua_contains\":[\"Windows NT 6.1\",\"Windows NT 6.3\"],\"product_prefix\":[\"firefox-\"],"
    "\"product_excludes\":[\"-msi\",\"-partial\",\"-complete\"],"
    "\"referer_not_prefix\":[\"https://www.mozilla.org/\",\"https://www.firefox.com/\"],"
    "\"set_product\":\"firefox-esr115-latest-ssl\",\"final\":true},"
    "{\"name\":\"nsis\",\"ua_equals\":\"NSIS InetBgDL (Mozilla)\",\"product_equals\":[\"firefox-latest\"],"
    "\"set_product\":\"Thunderbird-1.0\",\"set_os\":\"linux\"}"
    "]}";

typedef struct st_fixture_t {
    snapshot_t *snap;
    resolve_config_t cfg;
    resolve_memo_t *memo;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    catalog_t *cat = NULL;
    catalog_error_t err = {{0}};
    assert_non_null(f);
    int rc = catalog_from_json(catalog_json, strlen(catalog_json), 0, &cat, &err);
    if (rc != 0)
        fail_msg("catalog: %s", err.message);
    assert_int_equal(snapshot_build(cat, &f->snap), 0);
    catalog_destroy(cat);
    f->cfg.landing_url = "https://www.example.org/";
    f->cfg.fail_open = 1;
    assert_non_null(f->memo = resolve_memo_create());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    snapshot_destroy(f->snap);
    resolve_memo_destroy(f->memo);
    free(f);
    return 0;
}

typedef struct st_result_t {
    int ret;
    resolve_output_t out;
    char url[RESOLVE_BUF_SIZE];
} result_t;

/* Two answers are the same: outcome, reason, the same catalog strings, the same URL bytes. */
static void expect_same(const result_t *a, const result_t *b)
{
    assert_int_equal(a->ret, b->ret);
    assert_int_equal(a->out.outcome, b->out.outcome);
    assert_int_equal(a->out.reason, b->out.reason);
    assert_int_equal(a->out.url_len, b->out.url_len);
    if (a->out.url_len != 0)
        assert_memory_equal(a->out.url, b->out.url, a->out.url_len);
    assert_ptr_equal(a->out.mirror, b->out.mirror);
    assert_ptr_equal(a->out.product, b->out.product);
    assert_ptr_equal(a->out.os, b->out.os);
    assert_ptr_equal(a->out.rule, b->out.rule);
    assert_int_equal(a->out.tier, b->out.tier);
    assert_int_equal(a->out.mirror_healthy, b->out.mirror_healthy);
    assert_int_equal(a->out.https, b->out.https);
}

static resolve_input_t input(fixture_t *f, const char *query, int https, const char *ua, const char *referer)
{
    return (resolve_input_t){.config = &f->cfg,
                             .query = query,
                             .query_len = query != NULL ? strlen(query) : 0,
                             .user_agent = ua,
                             .user_agent_len = ua != NULL ? strlen(ua) : 0,
                             .referer = referer,
                             .referer_len = referer != NULL ? strlen(referer) : 0,
                             .https = https,
                             .random = 0.25};
}

static result_t *run(fixture_t *f, const char *query, int https, const char *ua, const char *referer)
{
    static result_t r;
    resolve_input_t in = input(f, query, https, ua, referer);
    memset(&r, 0, sizeof(r));
    r.ret = resolve_request(f->snap, &in, &r.out, r.url, sizeof(r.url));
    /* tests change f->cfg in place, which settings never do: a new generation makes the memo's first answer a miss */
    ++f->cfg.generation;
    uint64_t hits0, misses0, hits1, misses1;
    resolve_memo_counts(f->memo, &hits0, &misses0);
    for (int i = 0; i != 2; ++i) {
        static result_t m;
        memset(&m, 0, sizeof(m));
        m.ret = resolve_request_memo(f->memo, f->snap, &in, &m.out, m.url, sizeof(m.url));
        expect_same(&r, &m);
    }
    resolve_memo_counts(f->memo, &hits1, &misses1);
    /* this catalog has rules, so User-Agent and Referer are part of the key; over-long keys pass by */
    if (in.query_len + in.user_agent_len + in.referer_len > RESOLVE_MEMO_KEY_MAX) {
        assert_int_equal(misses1, misses0);
        assert_int_equal(hits1, hits0);
    } else {
        assert_int_equal(misses1, misses0 + (r.out.outcome == RESOLVE_STUB_REDIRECT ? 2 : 1)); /* stub hand-offs are not kept */
        assert_int_equal(hits1, hits0 + (r.out.outcome == RESOLVE_STUB_REDIRECT ? 0 : 1));
    }
    return &r;
}

static void expect_url(result_t *r, resolve_outcome_t outcome, const char *url)
{
    assert_int_equal(r->ret, 0);
    if (r->out.outcome != outcome)
        fail_msg("outcome %s (reason %s), expected %s", resolve_outcome_name(r->out.outcome), resolve_reason_name(r->out.reason),
                 resolve_outcome_name(outcome));
    assert_int_equal(r->out.url_len, strlen(url));
    assert_memory_equal(r->out.url, url, strlen(url));
}

static void expect_fail(result_t *r, resolve_outcome_t outcome, resolve_reason_t reason)
{
    assert_int_equal(r->ret, 0);
    if (r->out.outcome != outcome || r->out.reason != reason)
        fail_msg("got %s/%s, expected %s/%s", resolve_outcome_name(r->out.outcome), resolve_reason_name(r->out.reason),
                 resolve_outcome_name(outcome), resolve_reason_name(reason));
    assert_null(r->out.mirror);
}

/* The go-bouncer semantics table. */
static void test_table(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *query;
        int https;
        resolve_outcome_t outcome;
        resolve_reason_t reason;
        const char *url;
    } cases[] = {
        /* landing */
        {"", 0, RESOLVE_LANDING, 0, "https://www.example.org/"},
        {NULL, 0, RESOLVE_LANDING, 0, "https://www.example.org/"},
        {"product=%20%09&os=win", 0, RESOLVE_LANDING, 0, "https://www.example.org/"},
        {"os=win&lang=de", 0, RESOLVE_LANDING, 0, "https://www.example.org/"},
        /* defaults os=win lang=en-US; alias; the SSL-only product goes to the https mirror */
        {"product=firefox-latest-ssl", 0, RESOLVE_REDIRECT, 0, "https://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        {"product=firefox-latest", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        /* case-insensitive and trimmed product and os; lang matched case-insensitively, catalog spelling used */
        {"product=+FireFox-Latest-SSL+&os=%20WIN64&lang=JA-jp-MAC", 0, RESOLVE_REDIRECT, 0,
         "https://dl.example.net/pub/firefox/139.0/win64/ja-JP-mac/Setup.exe"},
        {"product=Firefox-139.0&os=osx&lang=de", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/firefox/139.0/mac/de/a.dmg"},
        /* HTTPS request: never downgraded */
        {"product=firefox-latest", 1, RESOLVE_REDIRECT, 0, "https://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        /* first value of a repeated key wins */
        {"product=firefox-latest&product=firefox-latest-ssl&os=osx&os=win", 0, RESOLVE_REDIRECT, 0,
         "http://dl.example.net/pub/firefox/139.0/mac/en-US/a.dmg"},
        /* an invalid escape voids the pair (Go ParseQuery); the next value counts */
        {"product=%zzfoo&product=firefox-latest", 0, RESOLVE_REDIRECT, 0,
         "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        {"product=firefox-latest&os=%", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        /* a pair with ';' is ignored */
        {"product=firefox-latest;os=osx", 0, RESOLVE_LANDING, 0, "https://www.example.org/"},
        /* escaped key names decode */
        {"pro%64uct=firefox-latest", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        /* any language for a product without languages; every :lang replaced, other colons kept */
        {"product=thunderbird-1.0&os=linux&lang=sat", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/tb:1/:sat/sat.tar.bz2:la"},
        /* print=yes exactly */
        {"product=firefox-latest&print=yes", 0, RESOLVE_PRINT, 0, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        {"product=firefox-latest&print=YES", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        {"product=firefox-latest&print=yes&print=no", 0, RESOLVE_PRINT, 0,
         "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        /* 404s in go-bouncer's order: os first, then product, lang, location */
        {"product=nope&os=beos", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_OS, NULL},
        {"product=nope", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT, NULL},
        {"product=old-1.0", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT, NULL},
        {"product=firefox-latest&lang=fr", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_LANG, NULL},
        {"product=firefox-latest&os=linux", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_NO_LOCATION, NULL},
        /* bad language tags: 400, nothing reaches a Location */
        {"product=firefox-latest&lang=en-US%0d%0aSet-Cookie:x=1", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        {"product=firefox-latest&lang=en%20US", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        {"product=firefox-latest&lang=en+US", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        {"product=firefox-latest&lang=../../etc", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        {"product=firefox-latest&lang=de%2F..%2F", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        {"product=firefox-latest&lang=a%23b", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        {"product=firefox-latest&lang=abcdefghijklmnopqrstuvwxyz", 0, RESOLVE_BAD_REQUEST, RESOLVE_REASON_INVALID_LANG, NULL},
        /* CR/LF in product or os: unknown names, 404 */
        {"product=firefox-latest%0d%0aLocation:%20http://evil/", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT, NULL},
        {"product=firefox-latest&os=win%0d%0a", 0, RESOLVE_REDIRECT, 0, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe"},
        {"product=firefox-latest&os=w%0din", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_OS, NULL},
        {"product=firefox-latest%00", 0, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT, NULL},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        result_t *r = run(f, cases[i].query, cases[i].https, NULL, NULL);
        if (r->ret != 0 || r->out.outcome != cases[i].outcome || r->out.reason != cases[i].reason ||
            (cases[i].url != NULL && (r->out.url_len != strlen(cases[i].url) || memcmp(r->out.url, cases[i].url, r->out.url_len) != 0)))
            fail_msg("case %zu (%s): ret %d outcome %s reason %s url %.*s", i, cases[i].query ? cases[i].query : "(null)", r->ret,
                     resolve_outcome_name(r->out.outcome), resolve_reason_name(r->out.reason), (int)r->out.url_len,
                     r->out.url ? r->out.url : "");
        if (cases[i].url != NULL) {
            for (size_t j = 0; j != r->out.url_len; ++j)
                assert_true(r->out.url[j] > 0x20 && r->out.url[j] < 0x7f);
        }
    }
}

static void test_metrics_fields(void **state)
{
    fixture_t *f = *state;
    result_t *r = run(f, "product=FIREFOX-LATEST-SSL&os=Win64", 0, NULL, NULL);
    expect_url(r, RESOLVE_REDIRECT, "https://dl.example.net/pub/firefox/139.0/win64/en-US/Setup.exe");
    assert_int_equal(r->out.product_len, strlen("firefox-latest-ssl"));
    assert_memory_equal(r->out.product, "firefox-latest-ssl", r->out.product_len);
    assert_int_equal(r->out.os_len, 5);
    assert_memory_equal(r->out.os, "win64", 5);
    assert_int_equal(r->out.mirror_len, 6);
    assert_memory_equal(r->out.mirror, "secure", 6);
    assert_int_equal(r->out.tier, MIRROR_TIER_ANY);
    assert_int_equal(r->out.mirror_healthy, 1);
    assert_int_equal(r->out.https, 1);
    assert_null(r->out.rule);

    r = run(f, "product=Firefox-139.0", 0, NULL, NULL);
    assert_int_equal(r->out.product_len, strlen("Firefox-139.0"));
    assert_memory_equal(r->out.product, "Firefox-139.0", r->out.product_len);
}

static void test_no_landing(void **state)
{
    fixture_t *f = *state;
    f->cfg.landing_url = NULL;
    expect_fail(run(f, "os=win", 0, NULL, NULL), RESOLVE_NOT_FOUND, RESOLVE_REASON_NO_LANDING);
    f->cfg.landing_url = "https://www.example.org/";
}

static void test_buffer_too_small(void **state)
{
    fixture_t *f = *state;
    char small[16];
    resolve_output_t out;
    resolve_input_t in = {.config = &f->cfg, .query = "product=firefox-latest", .query_len = 22};
    assert_int_equal(resolve_request(f->snap, &in, &out, small, sizeof(small)), -ENOSPC);
    assert_int_equal(resolve_request(NULL, &in, &out, small, sizeof(small)), -EINVAL);
}

static void test_repeated_keys(void **state)
{
    fixture_t *f = *state;
    size_t n = 5000, len = 0;
    char *q = malloc(n * 24 + 64);
    assert_non_null(q);
    len += (size_t)sprintf(q, "os=osx");
    for (size_t i = 0; i != n; ++i)
        len += (size_t)sprintf(q + len, "&os=win&product=x%zu", i);
    result_t *r = run(f, q, 0, NULL, NULL);
    expect_fail(r, RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT); /* product=x0 wins */
    len = (size_t)sprintf(q, "product=firefox-latest");
    for (size_t i = 0; i != n; ++i)
        len += (size_t)sprintf(q + len, "&product=zzzzzzzz&&&=&;");
    r = run(f, q, 0, NULL, NULL);
    expect_url(r, RESOLVE_REDIRECT, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe");
    free(q);
}

static void test_overlong_values(void **state)
{
    fixture_t *f = *state;
    char q[4096];
    int n = snprintf(q, sizeof(q), "product=");
    memset(q + n, 'a', 3000);
    q[n + 3000] = '\0';
    expect_fail(run(f, q, 0, NULL, NULL), RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT);
    n = snprintf(q, sizeof(q), "product=firefox-latest&os=");
    memset(q + n, 'w', 3000);
    q[n + 3000] = '\0';
    expect_fail(run(f, q, 0, NULL, NULL), RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_OS);
}

static void test_rules(void **state)
{
    fixture_t *f = *state;
    const char *win7_64 = "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0";
    const char *win7_32 = "Mozilla/5.0 (Windows NT 6.1; rv:115.0) Gecko/20100101 Firefox/115.0";
    const char *win10 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:139.0) Gecko/20100101 Firefox/139.0";

    /* Windows 7 asking for the latest Firefox gets ESR 115 (alias resolved after the rewrite) */
    result_t *r = run(f, "product=firefox-latest-ssl", 0, win7_32, NULL);
    expect_url(r, RESOLVE_REDIRECT, "https://dl.example.net/pub/esr/en-US/Setup.exe");
    assert_int_equal(r->out.rule_len, 8);
    assert_memory_equal(r->out.rule, "win7-esr", 8);
    /* ... unless mozilla.org sent it */
    r = run(f, "product=firefox-latest-ssl", 0, win7_32, "https://www.mozilla.org/en-US/firefox/new/");
    expect_url(r, RESOLVE_REDIRECT, "https://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe");
    /* Windows 10 is untouched */
    r = run(f, "product=firefox-latest-ssl", 0, win10, NULL);
    expect_url(r, RESOLVE_REDIRECT, "https://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe");
    /* 64-bit Windows 7 stub: os becomes win64, then the product becomes ESR */
    r = run(f, "product=firefox-stub", 0, win7_64, NULL);
    expect_url(r, RESOLVE_REDIRECT, "https://dl.example.net/pub/esr64/en-US/Setup.exe");
    /* msi products are excluded from the rewrite (and here unknown) */
    expect_fail(run(f, "product=firefox-msi-latest", 0, win7_32, NULL), RESOLVE_NOT_FOUND, RESOLVE_REASON_UNKNOWN_PRODUCT);
    /* exact UA rule */
    r = run(f, "product=firefox-latest", 0, "NSIS InetBgDL (Mozilla)", NULL);
    expect_url(r, RESOLVE_REDIRECT, "http://dl.example.net/pub/tb:1/:en-US/en-US.tar.bz2:la");
    r = run(f, "product=firefox-latest", 0, "NSIS InetBgDL (Mozilla) ", NULL);
    expect_url(r, RESOLVE_REDIRECT, "http://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe");
}

/* base64 with the URL alphabet and '.' padding */
static void b64url(const char *in, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '.';
        out[o++] = i + 2 < n ? tbl[v & 63] : '.';
    }
    out[o] = '\0';
}

static void hmac_hex(const char *key, const char *msg, char *out)
{
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac, &len);
    for (unsigned i = 0; i != len; ++i)
        sprintf(out + 2 * i, "%02x", mac[i]);
}

static void test_attribution(void **state)
{
    fixture_t *f = *state;
    char code[256], q[1024], url[2048], sig[65];
    f->cfg.stub_root_url = "https://stubdownloader.example.net/";

    b64url("source=www.mozilla.org&medium=referral&campaign=x&content=y", code);
    snprintf(q, sizeof(q), "product=Firefox-Stub&os=win&lang=de&attribution_code=%s&attribution_sig=abc%%20def", code);
    result_t *r = run(f, q, 0, NULL, NULL);
    snprintf(url, sizeof(url),
             "https://stubdownloader.example.net/?attribution_code=%s&attribution_sig=abc+def&lang=de&os=win&product=firefox-stub",
             code);
    expect_url(r, RESOLVE_STUB_REDIRECT, url);

    /* '=' in the code is form-encoded; defaults for os and lang */
    snprintf(q, sizeof(q), "product=firefox-stub&attribution_code=a%%3Db&attribution_sig=s");
    expect_url(run(f, q, 0, NULL, NULL), RESOLVE_STUB_REDIRECT,
               "https://stubdownloader.example.net/?attribution_code=a%3Db&attribution_sig=s&lang=en-US&os=win&product=firefox-stub");

    /* not for msi/partial/complete products, other OSes, or without a signature */
    snprintf(q, sizeof(q), "product=firefox-msi-latest-ssl&attribution_code=%s&attribution_sig=s", code);
    assert_int_not_equal(run(f, q, 0, NULL, NULL)->out.outcome, RESOLVE_STUB_REDIRECT);
    snprintf(q, sizeof(q), "product=firefox-stub&os=linux&attribution_code=%s&attribution_sig=s", code);
    assert_int_not_equal(run(f, q, 0, NULL, NULL)->out.outcome, RESOLVE_STUB_REDIRECT);
    snprintf(q, sizeof(q), "product=firefox-stub&attribution_code=%s&attribution_sig=", code);
    expect_url(run(f, q, 0, NULL, NULL), RESOLVE_REDIRECT, "https://dl.example.net/pub/stub/en-US/Installer.exe");

    /* rta: content needs a mozilla.org / firefox.com referer */
    b64url("source=addons.mozilla.org&medium=referral&campaign=amo&content=rta%3AabcDEF", code);
    snprintf(q, sizeof(q), "product=firefox-stub&attribution_code=%s&attribution_sig=s", code);
    expect_url(run(f, q, 0, NULL, NULL), RESOLVE_REDIRECT, "https://dl.example.net/pub/stub/en-US/Installer.exe");
    expect_url(run(f, q, 0, NULL, "https://evil.example.com/"), RESOLVE_REDIRECT,
               "https://dl.example.net/pub/stub/en-US/Installer.exe");
    assert_int_equal(run(f, q, 0, NULL, "https://www.mozilla.org/firefox/new/")->out.outcome, RESOLVE_STUB_REDIRECT);
    assert_int_equal(run(f, q, 0, NULL, "https://www.firefox.com/")->out.outcome, RESOLVE_STUB_REDIRECT);
    assert_int_not_equal(run(f, q, 0, NULL, "https://www.mozilla.org.evil.com/")->out.outcome, RESOLVE_STUB_REDIRECT);

    /* with a key: only a valid lowercase hex HMAC-SHA256 of the code hands off */
    f->cfg.attribution_key = (const unsigned char *)"sekrit";
    f->cfg.attribution_key_len = 6;
    b64url("source=www.mozilla.org&content=x", code);
    hmac_hex("sekrit", code, sig);
    snprintf(q, sizeof(q), "product=firefox-stub&attribution_code=%s&attribution_sig=%s", code, sig);
    assert_int_equal(run(f, q, 0, NULL, NULL)->out.outcome, RESOLVE_STUB_REDIRECT);
    sig[0] = sig[0] == '0' ? '1' : '0';
    snprintf(q, sizeof(q), "product=firefox-stub&attribution_code=%s&attribution_sig=%s", code, sig);
    expect_url(run(f, q, 0, NULL, NULL), RESOLVE_REDIRECT, "https://dl.example.net/pub/stub/en-US/Installer.exe");
    snprintf(q, sizeof(q), "product=firefox-stub&attribution_code=%s&attribution_sig=%.63s", code, sig);
    assert_int_equal(run(f, q, 0, NULL, NULL)->out.outcome, RESOLVE_REDIRECT);

    f->cfg.attribution_key = NULL;
    f->cfg.attribution_key_len = 0;
    f->cfg.stub_root_url = NULL;
    /* without a stub root, attribution parameters are ignored */
    assert_int_equal(run(f, q, 0, NULL, NULL)->out.outcome, RESOLVE_REDIRECT);
}

static void test_unescape(void **state)
{
    char buf[8];
    assert_int_equal(resolve_query_unescape("a+b%41", 6, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "a bA", 4);
    assert_int_equal(resolve_query_unescape("%4", 2, buf, sizeof(buf)), -1);
    assert_int_equal(resolve_query_unescape("%g0", 3, buf, sizeof(buf)), -1);
    assert_int_equal(resolve_query_unescape("abcdefghijkl", 12, buf, 4), 12);
    assert_memory_equal(buf, "abcd", 4);
}

/* One request through the memo, without a new generation, against resolve_request(). */
static void memo_matches(fixture_t *f, const snapshot_t *snap, const char *query, int https, const char *ua, const char *referer,
                         const char *url)
{
    static result_t direct, memo;
    resolve_input_t in = input(f, query, https, ua, referer);
    memset(&direct, 0, sizeof(direct));
    memset(&memo, 0, sizeof(memo));
    direct.ret = resolve_request(snap, &in, &direct.out, direct.url, sizeof(direct.url));
    memo.ret = resolve_request_memo(f->memo, snap, &in, &memo.out, memo.url, sizeof(memo.url));
    expect_same(&direct, &memo);
    expect_url(&memo, RESOLVE_REDIRECT, url);
}

/* What can change an answer is part of the memo's key: scheme, User-Agent, Referer, snapshot. */
static void test_memo_keys(void **state)
{
    fixture_t *f = *state;
    const char *win7 = "Mozilla/5.0 (Windows NT 6.1; rv:115.0) Gecko/20100101 Firefox/115.0";
    const char *win10 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:139.0) Gecko/20100101 Firefox/139.0";
    const char *mozilla = "https://www.mozilla.org/en-US/firefox/new/";
    char *json = strdup(catalog_json);
    char *at = strstr(json, "/firefox/139.0/mac/");
    memcpy(at, "/firefox/140.0/mac/", 19);
    catalog_t *cat = NULL;
    catalog_error_t err = {{0}};
    snapshot_t *next = NULL;
    assert_int_equal(catalog_from_json(json, strlen(json), 0, &cat, &err), 0);
    assert_int_equal(snapshot_build(cat, &next), 0);
    catalog_destroy(cat);
    free(json);

    for (int i = 0; i != 3; ++i) {
        memo_matches(f, f->snap, "product=firefox-latest&os=osx", 0, NULL, NULL, "http://dl.example.net/pub/firefox/139.0/mac/en-US/a.dmg");
        memo_matches(f, f->snap, "product=firefox-latest&os=osx", 1, NULL, NULL,
                     "https://dl.example.net/pub/firefox/139.0/mac/en-US/a.dmg");
        memo_matches(f, next, "product=firefox-latest&os=osx", 0, NULL, NULL, "http://dl.example.net/pub/firefox/140.0/mac/en-US/a.dmg");
        memo_matches(f, f->snap, "product=firefox-latest-ssl", 0, win7, NULL, "https://dl.example.net/pub/esr/en-US/Setup.exe");
        memo_matches(f, f->snap, "product=firefox-latest-ssl", 0, win10, NULL,
                     "https://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe");
        memo_matches(f, f->snap, "product=firefox-latest-ssl", 0, win7, mozilla,
                     "https://dl.example.net/pub/firefox/139.0/win32/en-US/Setup.exe");
    }
    uint64_t hits, misses;
    resolve_memo_counts(f->memo, &hits, &misses);
    assert_true(hits >= 12);
    snapshot_destroy(next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_metrics_fields), cmocka_unit_test(test_no_landing),
        cmocka_unit_test(test_buffer_too_small), cmocka_unit_test(test_repeated_keys), cmocka_unit_test(test_overlong_values),
        cmocka_unit_test(test_rules),           cmocka_unit_test(test_attribution),    cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_memo_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
