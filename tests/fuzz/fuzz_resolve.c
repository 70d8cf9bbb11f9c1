// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary query strings (and, after a NUL byte in the input, a user agent
 * and a referer) through resolve_request() against a fixed catalog with rules, aliases and
 * stub attribution enabled. Checks that every URL produced is visible ASCII only, so nothing a
 * client sends can split a Location header, and that the same request through a resolve_memo
 * (a miss, then a hit; the memo lives across inputs) gets the same answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bouncer/catalog.h"
#include "bouncer/resolve.h"
#include "bouncer/resolve_memo.h"
#include "bouncer/snapshot.h"

static const char catalog_json[] =
    "{\"products\":[{\"name\":\"Firefox-1.0-SSL\",\"ssl_only\":true,\"languages\":[\"en-US\",\"de\"]},"
    "{\"name\":\"Firefox-1.0\"},{\"name\":\"Firefox-Stub\"}],"
    "\"locations\":[{\"product\":\"Firefox-1.0-SSL\",\"os\":\"win\",\"path\":\"/f/:lang/x.exe\"},"
    "{\"product\":\"Firefox-1.0\",\"os\":\"win\",\"path\":\"f/:lang/:lang.exe\"},"
    "{\"product\":\"Firefox-Stub\",\"os\":\"osx\",\"path\":\"/s/:lang\"}],"
    "\"aliases\":[{\"alias\":\"firefox-latest\",\"product\":\"Firefox-1.0\"}],"
    "\"mirrors\":[{\"name\":\"a\",\"base_url\":\"https://a.example/\",\"weight\":3},"
    "{\"name\":\"b\",\"base_url\":\"http://b.example\",\"weight\":1,\"countries\":[\"DE\"]}],"
    "\"rules\":[{\"name\":\"r\",\"ua_contains\":[\"Windows NT 6.1\"],\"product_prefix\":[\"firefox-\"],"
    "\"referer_not_prefix\":[\"https://www.mozilla.org/\"],\"set_product\":\"firefox-1.0-ssl\"}]}";

static snapshot_t *snap;
static resolve_memo_t *memo;

/* The memo's answer is resolve_request()'s: same outcome, catalog strings and URL bytes. */
static void check_memo(const resolve_input_t *in, const resolve_output_t *want, int want_ret)
{
    static char buf[RESOLVE_BUF_SIZE];
    for (int i = 0; i != 2; ++i) {
        resolve_output_t out;
        int ret = resolve_request_memo(memo, snap, in, &out, buf, sizeof(buf));
        if (ret != want_ret || out.outcome != want->outcome || out.reason != want->reason || out.url_len != want->url_len ||
            (out.url_len != 0 && memcmp(out.url, want->url, out.url_len) != 0) || out.mirror != want->mirror ||
            out.product != want->product || out.os != want->os || out.rule != want->rule || out.tier != want->tier ||
            out.https != want->https || out.mirror_healthy != want->mirror_healthy)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[RESOLVE_BUF_SIZE];
    static const resolve_config_t cfgs[2] = {
        {"https://www.example.org/", "https://stub.example/", NULL, 0, 1, 1},
        {NULL, "https://stub.example/?x=1", (const unsigned char *)"key", 3, 0, 2},
    };
    if (memo == NULL && (memo = resolve_memo_create()) == NULL)
        abort();
    if (snap == NULL) {
        catalog_t *cat = NULL;
        if (catalog_from_json(catalog_json, sizeof(catalog_json) - 1, 0, &cat, NULL) != 0 || snapshot_build(cat, &snap) != 0)
            abort();
        catalog_destroy(cat);
    }
    const char *q = (const char *)data, *ua = NULL, *ref = NULL;
    size_t qlen = size, ualen = 0, reflen = 0;
    const char *nul = memchr(data, '\0', size);
    if (nul != NULL) {
        qlen = (size_t)(nul - q);
        ua = nul + 1;
        ualen = size - qlen - 1;
        const char *nul2 = memchr(ua, '\0', ualen);
        if (nul2 != NULL) {
            ref = nul2 + 1;
            reflen = ualen - (size_t)(nul2 - ua) - 1;
            ualen = (size_t)(nul2 - ua);
        }
    }
    for (int i = 0; i != 2; ++i) {
        resolve_input_t in = {&cfgs[i], q, qlen, ua, ualen, ref, reflen, (int)(size & 1), i ? "DE" : "", i ? "EU" : NULL,
                              (double)(size % 7) / 7.0};
        resolve_output_t out;
        int ret = resolve_request(snap, &in, &out, buf, sizeof(buf));
        if (ret != 0)
            abort(); /* RESOLVE_BUF_SIZE always suffices */
        check_memo(&in, &out, ret);
        if (out.outcome == RESOLVE_REDIRECT || out.outcome == RESOLVE_PRINT || out.outcome == RESOLVE_STUB_REDIRECT) {
            for (size_t j = 0; j != out.url_len; ++j)
                if ((unsigned char)out.url[j] <= 0x20 || (unsigned char)out.url[j] >= 0x7f)
                    abort();
        }
    }
    return 0;
}
