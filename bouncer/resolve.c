// SPDX-License-Identifier: MIT
/*
 * resolve: request -> answer (see resolve.h for the order of the steps).
 *
 * Query values are decoded into fixed stack buffers; an overlong product or os cannot name
 * anything in the catalog (names are bounded by validation) so it ends as a 404, and an
 * overlong lang fails the tag check (400). Only catalog-validated bytes (base URLs, paths) and
 * the validated language tag are written into a URL, and the stub URL is form-encoded, so no
 * CR, LF, space or other header-breaking byte can reach a Location header.
 * Worker threads; no allocation, no locks.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "bouncer/resolve.h"
#include "bouncer/internal.h"

#define PRODUCT_CAP (CATALOG_NAME_MAX + 1)
#define OS_CAP (CATALOG_OS_MAX + 1)
#define LANG_CAP (CATALOG_LANG_MAX + 1)
#define PRINT_CAP 8
#define SIG_CAP 128

static const char default_os[] = "win";
static const char default_lang[] = "en-US";

typedef struct st_field_t {
    const char *key;
    size_t key_len;
    char *buf;
    size_t cap;
    size_t len; /* decoded length (may exceed cap: truncated) */
    int seen;
} field_t;
#define FIELD(name, buf) {name, sizeof(name) - 1, buf, sizeof(buf), 0, 0}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long resolve_query_unescape(const char *src, size_t len, char *dst, size_t cap)
{
    size_t out = 0;
    for (size_t i = 0; i < len; ++i) {
        char c = src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hexval(src[i + 1])) < 0 || (lo = hexval(src[i + 2])) < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (out < cap)
            dst[out] = c;
        ++out;
    }
    return (long)out;
}

/* Splits the query into pairs and fills the fields (first valid value of each key wins). */
static void parse_query(const char *q, size_t qlen, field_t *fields, size_t nfields)
{
    size_t pos = 0;
    while (q != NULL && pos < qlen) {
        const char *pair = q + pos, *amp = memchr(pair, '&', qlen - pos);
        size_t plen = amp != NULL ? (size_t)(amp - pair) : qlen - pos;
        pos += plen + 1;
        if (plen == 0 || memchr(pair, ';', plen) != NULL)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
        const char *val = eq != NULL ? eq + 1 : pair + plen;
        size_t vlen = eq != NULL ? plen - klen - 1 : 0;
        char key[24];
        long kdec = resolve_query_unescape(pair, klen, key, sizeof(key));
        if (kdec < 0 || (size_t)kdec > sizeof(key))
            continue;
        for (size_t i = 0; i != nfields; ++i) {
            field_t *f = fields + i;
            if (f->seen || f->key_len != (size_t)kdec || memcmp(f->key, key, (size_t)kdec) != 0)
                continue;
            long vdec = resolve_query_unescape(val, vlen, f->buf, f->cap);
            if (vdec >= 0) {
                f->len = (size_t)vdec;
                f->seen = 1;
            }
            break;
        }
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trims ASCII whitespace and lower-cases in place; returns the view. Overlong values stay overlong. */
static void trim_lower(field_t *f, const char **ptr, size_t *len)
{
    size_t n = f->len < f->cap ? f->len : f->cap, start = 0;
    char *s = f->buf;
    while (start < n && is_space(s[start]))
        ++start;
    while (n > start && is_space(s[n - 1]))
        --n;
    for (size_t i = start; i < n; ++i)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] += 'a' - 'A';
    *ptr = s + start;
    *len = f->len > f->cap ? f->cap + 1 : n - start; /* > cap marks "too long" */
}

static int has_sub(const char *h, size_t hlen, const char *n, size_t nlen)
{
    return memmem(h, hlen, n, nlen) != NULL;
}

static int has_prefix(const char *h, size_t hlen, const char *n, size_t nlen)
{
    return hlen >= nlen && memcmp(h, n, nlen) == 0;
}

static int any_sub(const snapshot_strs_t *l, const char *h, size_t hlen)
{
    for (uint32_t i = 0; i != l->count; ++i)
        if (has_sub(h, hlen, l->items[i].ptr, l->items[i].len))
            return 1;
    return 0;
}

static int any_prefix(const snapshot_strs_t *l, const char *h, size_t hlen)
{
    for (uint32_t i = 0; i != l->count; ++i)
        if (has_prefix(h, hlen, l->items[i].ptr, l->items[i].len))
            return 1;
    return 0;
}

static int any_equal(const snapshot_strs_t *l, const char *h, size_t hlen)
{
    for (uint32_t i = 0; i != l->count; ++i)
        if (l->items[i].len == hlen && memcmp(l->items[i].ptr, h, hlen) == 0)
            return 1;
    return 0;
}

static int rule_matches(const snapshot_rule_t *r, const char *ua, size_t ualen, const char *ref, size_t reflen,
                        const char *product, size_t plen, const char *os, size_t oslen)
{
    if (r->ua_equals.ptr != NULL && !(r->ua_equals.len == ualen && memcmp(r->ua_equals.ptr, ua, ualen) == 0))
        return 0;
    if (r->ua_contains.count != 0 && !any_sub(&r->ua_contains, ua, ualen))
        return 0;
    if (r->ua_contains_also.count != 0 && !any_sub(&r->ua_contains_also, ua, ualen))
        return 0;
    if (any_sub(&r->ua_not_contains, ua, ualen))
        return 0;
    if (r->product_equals.count != 0 && !any_equal(&r->product_equals, product, plen))
        return 0;
    if (r->product_prefix.count != 0 && !any_prefix(&r->product_prefix, product, plen))
        return 0;
    if (r->product_contains.count != 0 && !any_sub(&r->product_contains, product, plen))
        return 0;
    if (any_sub(&r->product_excludes, product, plen))
        return 0;
    if (r->os.count != 0 && !any_equal(&r->os, os, oslen))
        return 0;
    if (r->referer_prefix.count != 0 && !any_prefix(&r->referer_prefix, ref, reflen))
        return 0;
    if (any_prefix(&r->referer_not_prefix, ref, reflen))
        return 0;
    return 1;
}

/* ---- output buffer ---- */

typedef struct st_out_t {
    char *buf;
    size_t cap, len;
    int overflow;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->overflow || o->cap - o->len < n + 1) {
        o->overflow = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* Form-encodes like Go's url.QueryEscape. */
static void put_form(out_t *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            put(o, (const char *)&c, 1);
        } else if (c == ' ') {
            put(o, "+", 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(o, e, 3);
        }
    }
}

/* ---- stub attribution ---- */

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict base64 (URL alphabet, '.' or '=' as padding). @return decoded length or -1. */
static long b64url_decode(const char *s, size_t len, unsigned char *dst, size_t cap)
{
    size_t out = 0;
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j != 4; ++j) {
            char c = s[i + j];
            if (c == '.' || c == '=') {
                if (i + 4 != len || j < 2)
                    return -1;
                v[j] = 0;
                ++pad;
            } else {
                if (pad != 0 || (v[j] = b64val(c)) < 0)
                    return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        unsigned char b[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w};
        for (int j = 0; j != 3 - pad; ++j) {
            if (out >= cap)
                return -1;
            dst[out++] = b[j];
        }
    }
    return (long)out;
}

/* Does the decoded attribution code carry a `content` starting with "rta:"? */
static int code_is_rta(const char *code, size_t len)
{
    unsigned char dec[RESOLVE_ATTRIBUTION_MAX];
    long n = b64url_decode(code, len, dec, sizeof(dec));
    if (n <= 0)
        return 0;
    char content[8];
    field_t f = FIELD("content", content);
    parse_query((const char *)dec, (size_t)n, &f, 1);
    return f.seen && f.len >= 4 && memcmp(content, "rta:", 4) == 0;
}

static int sig_is_valid(const resolve_config_t *cfg, const char *code, size_t clen, const char *sig, size_t slen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char expect[2 * EVP_MAX_MD_SIZE];
    if (HMAC(EVP_sha256(), cfg->attribution_key, (int)cfg->attribution_key_len, (const unsigned char *)code, clen, mac, &maclen) ==
        NULL)
        return 0;
    for (unsigned int i = 0; i != maclen; ++i) {
        expect[2 * i] = hex[mac[i] >> 4];
        expect[2 * i + 1] = hex[mac[i] & 15];
    }
    return slen == 2 * (size_t)maclen && CRYPTO_memcmp(expect, sig, slen) == 0;
}

static int is_stub_os(const char *os, size_t len)
{
    static const char *const oses[] = {"win", "win64", "win64-aarch64", "osx"};
    for (size_t i = 0; i != sizeof(oses) / sizeof(oses[0]); ++i)
        if (strlen(oses[i]) == len && memcmp(oses[i], os, len) == 0)
            return 1;
    return 0;
}

static int is_stub_product(const char *p, size_t len)
{
    return !has_sub(p, len, "-partial", 8) && !has_sub(p, len, "-complete", 9) && !has_sub(p, len, "-msi", 4);
}

static int referer_is_mozilla(const char *ref, size_t len)
{
    return has_prefix(ref, len, "https://www.mozilla.org/", 24) || has_prefix(ref, len, "https://www.firefox.com/", 24);
}

/* ---- the request ---- */

static void substitute_path(out_t *o, const char *path, size_t plen, const char *lang, size_t llen)
{
    size_t start = 0;
    const char *colon;
    while (plen - start >= 5 && (colon = memchr(path + start, ':', plen - start - 4)) != NULL) {
        size_t i = (size_t)(colon - path);
        put(o, path + start, i - start);
        if (memcmp(colon, ":lang", 5) == 0) {
            put(o, lang, llen);
            start = i + 5;
        } else {
            put(o, colon, 1);
            start = i + 1;
        }
    }
    put(o, path + start, plen - start);
}

/*
 * The steps that do not depend on the client's place or the random draw: parsing, rules, stub
 * hand-off, lookups. A plan for a redirect or print names the location; resolve__finish chooses
 * the mirror. Any other plan is the whole answer (a stub URL is written into buf).
 */
int resolve__prepare(const snapshot_t *snap, const resolve_input_t *in, resolve_plan_t *plan, char *buf, size_t bufsize)
{
    char product_buf[PRODUCT_CAP], os_buf[OS_CAP], lang_buf[LANG_CAP], print_buf[PRINT_CAP];
    char code_buf[RESOLVE_ATTRIBUTION_MAX], sig_buf[SIG_CAP];
    field_t fields[] = {
        FIELD("product", product_buf), FIELD("os", os_buf), FIELD("lang", lang_buf), FIELD("print", print_buf),
        FIELD("attribution_code", code_buf), FIELD("attribution_sig", sig_buf),
    };
    field_t *fproduct = fields, *fos = fields + 1, *flang = fields + 2, *fprint = fields + 3, *fcode = fields + 4,
            *fsig = fields + 5;
    const char *product, *os, *lang;
    size_t product_len, os_len, lang_len;
    const char *ua = in->user_agent != NULL ? in->user_agent : "", *ref = in->referer != NULL ? in->referer : "";
    size_t ualen = in->user_agent != NULL ? in->user_agent_len : 0, reflen = in->referer != NULL ? in->referer_len : 0;
    const resolve_config_t *cfg = in->config;
    resolve_output_t *out = &plan->out;
    out_t o = {buf, bufsize, 0, 0};

    memset(plan, 0, offsetof(resolve_plan_t, lang));
    plan->lang[0] = '\0';
    if (bufsize != 0)
        buf[0] = '\0';

    /* 1. query */
    parse_query(in->query, in->query_len, fields, sizeof(fields) / sizeof(fields[0]));
    trim_lower(fproduct, &product, &product_len);
    trim_lower(fos, &os, &os_len);

    /* 2. no product: landing page */
    if (product_len == 0) {
        if (cfg->landing_url != NULL && cfg->landing_url[0] != '\0') {
            out->outcome = RESOLVE_LANDING;
            out->url = cfg->landing_url;
            out->url_len = strlen(cfg->landing_url);
        } else {
            out->outcome = RESOLVE_NOT_FOUND;
            out->reason = RESOLVE_REASON_NO_LANDING;
        }
        return 0;
    }

    /* names longer than the catalog allows cannot name anything (and must not be viewed past
     * their buffers): answer as go-bouncer would for an unknown name */
    if (product_len > CATALOG_NAME_MAX || os_len > CATALOG_OS_MAX) {
        out->outcome = RESOLVE_NOT_FOUND;
        out->reason = os_len > CATALOG_OS_MAX ? RESOLVE_REASON_UNKNOWN_OS : RESOLVE_REASON_UNKNOWN_PRODUCT;
        return 0;
    }

    /* 3. defaults and the language tag check */
    if (os_len == 0) {
        os = default_os;
        os_len = sizeof(default_os) - 1;
    }
    if (!flang->seen || flang->len == 0) {
        lang = default_lang;
        lang_len = sizeof(default_lang) - 1;
    } else {
        lang = lang_buf;
        lang_len = flang->len;
        if (lang_len > flang->cap || !catalog_lang_is_valid(lang, lang_len)) {
            out->outcome = RESOLVE_BAD_REQUEST;
            out->reason = RESOLVE_REASON_INVALID_LANG;
            return 0;
        }
    }

    /* 4. rewrite rules (before aliases) */
    for (uint32_t i = 0; i != snap->num_rules; ++i) {
        const snapshot_rule_t *r = snap->rules + i;
        if (!rule_matches(r, ua, ualen, ref, reflen, product, product_len, os, os_len))
            continue;
        if (r->set_product.ptr != NULL) {
            product = r->set_product.ptr;
            product_len = r->set_product.len;
        }
        if (r->set_os.ptr != NULL) {
            os = r->set_os.ptr;
            os_len = r->set_os.len;
        }
        out->rule = r->name.ptr;
        out->rule_len = r->name.len;
        if (r->final)
            break;
    }

    /* 5. stub attribution hand-off */
    if (cfg->stub_root_url != NULL && cfg->stub_root_url[0] != '\0' && fcode->seen && fcode->len != 0 &&
        fcode->len <= fcode->cap && fsig->seen && fsig->len != 0 && fsig->len <= fsig->cap && is_stub_os(os, os_len) &&
        is_stub_product(product, product_len) && product_len <= CATALOG_NAME_MAX &&
        (!code_is_rta(code_buf, fcode->len) || referer_is_mozilla(ref, reflen)) &&
        (cfg->attribution_key == NULL || cfg->attribution_key_len == 0 ||
         sig_is_valid(cfg, code_buf, fcode->len, sig_buf, fsig->len))) {
        put(&o, cfg->stub_root_url, strlen(cfg->stub_root_url));
        put(&o, strchr(cfg->stub_root_url, '?') != NULL ? "&" : "?", 1);
        put(&o, "attribution_code=", 17);
        put_form(&o, code_buf, fcode->len);
        put(&o, "&attribution_sig=", 17);
        put_form(&o, sig_buf, fsig->len);
        put(&o, "&lang=", 6);
        put_form(&o, lang, lang_len);
        put(&o, "&os=", 4);
        put_form(&o, os, os_len);
        put(&o, "&product=", 9);
        put_form(&o, product, product_len);
        if (o.overflow)
            return -ENOSPC;
        out->outcome = RESOLVE_STUB_REDIRECT;
        out->url = buf;
        out->url_len = o.len;
        return 0;
    }

    /* 6. alias, os, product, language, location */
    uint32_t osi = snapshot__find_os(snap, os, os_len);
    if (osi == UINT32_MAX) {
        out->outcome = RESOLVE_NOT_FOUND;
        out->reason = RESOLVE_REASON_UNKNOWN_OS;
        return 0;
    }
    out->os = snap->oses[osi].ptr;
    out->os_len = snap->oses[osi].len;
    uint32_t a, pi = snapshot__find_alias_or_product(snap, product, product_len, &a);
    if (a != UINT32_MAX) {
        out->product = snap->aliases[a].alias.ptr;
        out->product_len = snap->aliases[a].alias.len;
    } else if (pi != UINT32_MAX) {
        out->product = snap->products[pi].name.ptr;
        out->product_len = snap->products[pi].name.len;
    }
    if (pi == UINT32_MAX || !snap->products[pi].active) {
        out->product = NULL;
        out->product_len = 0;
        out->outcome = RESOLVE_NOT_FOUND;
        out->reason = RESOLVE_REASON_UNKNOWN_PRODUCT;
        return 0;
    }
    const snapshot_product_t *p = snap->products + pi;
    if (p->num_languages != 0) {
        uint32_t j;
        for (j = 0; j != p->num_languages; ++j) {
            const snapshot_str_t *l = snap->langs + snap->product_langs[p->languages + j];
            if (bouncer__eq_ci(l->ptr, l->len, lang, lang_len)) {
                lang = l->ptr; /* the catalog's spelling is the mirror's */
                break;
            }
        }
        if (j == p->num_languages) {
            out->outcome = RESOLVE_NOT_FOUND;
            out->reason = RESOLVE_REASON_UNKNOWN_LANG;
            return 0;
        }
    }
    uint32_t li = UINT32_MAX;
    for (uint32_t j = 0; j != p->num_locations; ++j) {
        if (snap->locations[p->locations + j].os == osi) {
            li = p->locations + j;
            break;
        }
    }
    if (li == UINT32_MAX) {
        out->outcome = RESOLVE_NOT_FOUND;
        out->reason = RESOLVE_REASON_NO_LOCATION;
        return 0;
    }

    /* 7. scheme; the mirror is resolve__finish's */
    out->https = p->ssl_only || in->https;
    out->outcome = fprint->seen && fprint->len == 3 && memcmp(print_buf, "yes", 3) == 0 ? RESOLVE_PRINT : RESOLVE_REDIRECT;
    plan->location = li;
    memcpy(plan->lang, lang, lang_len); /* a tag passed the check above: at most CATALOG_LANG_MAX bytes */
    plan->lang[lang_len] = '\0';
    plan->lang_len = lang_len;
    return 0;
}

int resolve__finish(const snapshot_t *snap, const resolve_input_t *in, const resolve_plan_t *plan, choose_memo_t *choose,
                    resolve_output_t *out, char *buf, size_t bufsize)
{
    *out = plan->out;
    if (out->outcome != RESOLVE_REDIRECT && out->outcome != RESOLVE_PRINT)
        return 0;

    /* 7. mirror */
    mirror_client_t client = {in->country, in->continent};
    mirror_choice_t choice;
    if (mirror_choose_memo(choose, snap, plan->location, out->https, &client, in->config->fail_open, in->random, &choice) != 0) {
        out->outcome = RESOLVE_NOT_FOUND;
        out->reason = RESOLVE_REASON_NO_MIRROR;
        return 0;
    }
    out->mirror = choice.name;
    out->mirror_len = choice.name_len;
    out->tier = choice.tier;
    out->mirror_healthy = choice.healthy;

    /* 8. URL: base URL and path joined by exactly one '/' */
    out_t o = {buf, bufsize, 0, 0};
    const snapshot_str_t *path = &snap->locations[plan->location].path;
    size_t blen = choice.base_url_len, skip = 0;
    int base_slash = blen != 0 && choice.base_url[blen - 1] == '/', path_slash = path->len != 0 && path->ptr[0] == '/';
    put(&o, choice.base_url, blen);
    if (base_slash && path_slash)
        skip = 1;
    else if (!base_slash && !path_slash)
        put(&o, "/", 1);
    substitute_path(&o, path->ptr + skip, path->len - skip, plan->lang, plan->lang_len);
    if (o.overflow)
        return -ENOSPC;
    out->url = buf;
    out->url_len = o.len;
    return 0;
}

int resolve_request(const snapshot_t *snap, const resolve_input_t *in, resolve_output_t *out, char *buf, size_t bufsize)
{
    resolve_plan_t plan;
    int ret;

    memset(out, 0, sizeof(*out));
    if (snap == NULL || in->config == NULL)
        return -EINVAL;
    if ((ret = resolve__prepare(snap, in, &plan, buf, bufsize)) != 0)
        return ret;
    return resolve__finish(snap, in, &plan, NULL, out, buf, bufsize);
}

const char *resolve_outcome_name(resolve_outcome_t o)
{
    switch (o) {
    case RESOLVE_REDIRECT:
        return "redirect";
    case RESOLVE_PRINT:
        return "print";
    case RESOLVE_LANDING:
        return "landing";
    case RESOLVE_STUB_REDIRECT:
        return "stub_redirect";
    case RESOLVE_NOT_FOUND:
        return "not_found";
    case RESOLVE_BAD_REQUEST:
        return "bad_request";
    }
    return "unknown";
}

const char *resolve_reason_name(resolve_reason_t r)
{
    switch (r) {
    case RESOLVE_REASON_NONE:
        return "none";
    case RESOLVE_REASON_NO_LANDING:
        return "no_landing";
    case RESOLVE_REASON_INVALID_LANG:
        return "invalid_lang";
    case RESOLVE_REASON_UNKNOWN_OS:
        return "unknown_os";
    case RESOLVE_REASON_UNKNOWN_PRODUCT:
        return "unknown_product";
    case RESOLVE_REASON_UNKNOWN_LANG:
        return "unknown_lang";
    case RESOLVE_REASON_NO_LOCATION:
        return "no_location";
    case RESOLVE_REASON_NO_MIRROR:
        return "no_mirror";
    }
    return "unknown";
}
