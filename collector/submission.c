// SPDX-License-Identifier: MIT
/*
 * submission: turns one POST /submit request into an answer and, maybe, a crash record.
 *
 * The steps follow the collector protocol reference in order, because the order decides which
 * answer a client gets when several things are wrong. One subtlety: the multipart body is walked
 * once, and a part-level problem (bad JSON, reserved dump name) is remembered while the walk goes
 * on, so that a structural error anywhere in the body wins, as it does in Antenna (which parses
 * the whole body before looking at parts).
 *
 * Annotations live in a jansson object (hashing keeps 10,000 annotations linear), dumps in an
 * array of views into the (possibly inflated) body plus a name -> index object so that the last
 * duplicate wins in place. Only the final record copies dump bytes, once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "collector/multipart.h"
#include "collector/submission.h"

#define NOTE_BAD_UTF8 "extract payload text part exception: invalid text or charset: utf-8"
#define NOTE_BOTH "includes annotations in both json-encoded extra and formdata parts"
#define INFLATE_CHUNK ((size_t)1 << 30)

typedef struct st_dump_t {
    char name[CRASHREC_MAX_DUMP_NAME + 1];
    size_t name_len;
    const char *data;
    size_t len;
} dump_t;

typedef struct st_pipeline_t {
    json_t *annotations; /* object: the raw crash being built */
    json_t *notes;       /* array of collector notes */
    json_t *dump_index;  /* object: dump name -> index in dumps */
    json_t *rendered;    /* object: key -> text of non-string annotations, for the throttle */
    dump_t *dumps;
    size_t num_dumps, cap_dumps;
    int has_json, has_text;
} pipeline_t;

static const char *const private_keys[] = {"Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId"};
static const char *const reserved_dump_names[] = {"dump_names", "raw_crash", "processed_crash"};

/* --- small text helpers --- */

/* Compares the media type (before any ';', trimmed) of a header value, case-insensitively. */
static int media_type_is(const char *value, size_t len, const char *type)
{
    const char *semi = memchr(value, ';', len);
    if (semi != NULL)
        len = (size_t)(semi - value);
    multipart_trim(&value, &len);
    return len == strlen(type) && strncasecmp(value, type, len) == 0;
}

static int starts_with_ci(const char *value, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);
    multipart_trim(&value, &len);
    return len >= plen && strncasecmp(value, prefix, plen) == 0;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as Python decodes it. */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return 0;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; ++k)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

/* A JSON string of text that may not be UTF-8 (header values): invalid bytes become '?'. */
static json_t *lossy_string(const char *s, size_t len)
{
    if (utf8_valid((const unsigned char *)s, len))
        return json_stringn_nocheck(s, len);
    char *copy = malloc(len);
    json_t *ret = NULL;
    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < len; ++i)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    ret = json_stringn_nocheck(copy, len);
    free(copy);
    return ret;
}

static int add_note(pipeline_t *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(pipeline_t *pl, const char *fmt, ...)
{
    va_list args;
    char *text = NULL;
    int len;

    va_start(args, fmt);
    len = vasprintf(&text, fmt, args);
    va_end(args);
    if (len < 0)
        return -ENOMEM;
    json_t *note = lossy_string(text, (size_t)len);
    free(text);
    return note != NULL && json_array_append_new(pl->notes, note) == 0 ? 0 : -ENOMEM;
}

/* --- answers --- */

static void answer(submission_result_t *res, submission_outcome_t outcome, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void answer(submission_result_t *res, submission_outcome_t outcome, int status, const char *fmt, ...)
{
    va_list args;

    res->outcome = outcome;
    res->status = status;
    va_start(args, fmt);
    int n = vsnprintf(res->body, sizeof(res->body), fmt, args);
    va_end(args);
    res->body_len = n < 0 ? 0 : (size_t)n < sizeof(res->body) ? (size_t)n : sizeof(res->body) - 1;
}

static void malformed(submission_result_t *res, const char *reason)
{
    res->malformed_reason = reason;
    answer(res, SUBMISSION_MALFORMED, 400, "Discarded=malformed_%s", reason);
}

/* --- step 3: gzip --- */

/* Inflates a gzip body (concatenated members too). Returns 0, -EBADMSG, -E2BIG (over cap), -ENOMEM. */
static int inflate_body(const uint8_t *in, size_t in_len, size_t cap, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    uint8_t *buf = NULL;
    size_t have = 0, size, in_pos = 0;
    int ret = -ENOMEM, zinit = 0;

    memset(&zs, 0, sizeof(zs));
    size = in_len < SIZE_MAX / 4 ? in_len * 4 : SIZE_MAX;
    if (size < 65536)
        size = 65536;
    if (size > cap + 1)
        size = cap + 1;
    if ((buf = malloc(size)) == NULL)
        goto Exit;
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        goto Exit;
    zinit = 1;
    for (;;) {
        if (have == size) {
            /* have <= cap here, so size <= cap and the buffer may grow to cap + 1 (one byte past
             * the cap is enough to know the output exceeds it) */
            size_t nsize = size <= (cap + 1) / 2 ? size * 2 : cap + 1;
            uint8_t *nbuf = realloc(buf, nsize);
            if (nbuf == NULL)
                goto Exit;
            buf = nbuf;
            size = nsize;
        }
        size_t avail_in = in_len - in_pos < INFLATE_CHUNK ? in_len - in_pos : INFLATE_CHUNK;
        size_t avail_out = size - have < INFLATE_CHUNK ? size - have : INFLATE_CHUNK;
        zs.next_in = (Bytef *)(uintptr_t)(in + in_pos);
        zs.avail_in = (uInt)avail_in;
        zs.next_out = buf + have;
        zs.avail_out = (uInt)avail_out;
        int r = inflate(&zs, Z_NO_FLUSH);
        in_pos += avail_in - zs.avail_in;
        have += avail_out - zs.avail_out;
        if (have > cap) {
            ret = -E2BIG;
            goto Exit;
        }
        if (r == Z_STREAM_END) {
            /* another gzip member may follow (as gzip(1) accepts); anything else is ignored */
            if (in_len - in_pos >= 2 && in[in_pos] == 0x1f && in[in_pos + 1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (r == Z_MEM_ERROR)
            goto Exit;
        if (r == Z_OK || (r == Z_BUF_ERROR && zs.avail_out == 0))
            continue;
        /* data error, or the input ended before the stream did */
        ret = -EBADMSG;
        goto Exit;
    }
    *out = buf;
    *out_len = have;
    buf = NULL;
    ret = 0;

Exit:
    if (zinit)
        inflateEnd(&zs);
    free(buf);
    return ret;
}

/* --- step 5: parts --- */

static void sanitize_dump_name(const char *name, size_t len, dump_t *d)
{
    d->name_len = 0;
    for (size_t i = 0; i < len && d->name_len < CRASHREC_MAX_DUMP_NAME; ++i) {
        char c = name[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            d->name[d->name_len++] = c;
    }
    d->name[d->name_len] = '\0';
}

static int add_dump(pipeline_t *pl, const dump_t *d)
{
    json_t *idx = json_object_get(pl->dump_index, d->name);

    if (idx != NULL) {
        pl->dumps[json_integer_value(idx)] = *d;
        return 0;
    }
    if (pl->num_dumps == pl->cap_dumps) {
        size_t ncap = pl->cap_dumps == 0 ? 4 : pl->cap_dumps * 2;
        dump_t *n = realloc(pl->dumps, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        pl->dumps = n;
        pl->cap_dumps = ncap;
    }
    if (json_object_set_new(pl->dump_index, d->name, json_integer((json_int_t)pl->num_dumps)) != 0)
        return -ENOMEM;
    pl->dumps[pl->num_dumps++] = *d;
    return 0;
}

/* Handles one part. Returns 0 or -ENOMEM; sets *reason for a malformed report. */
static int handle_part(pipeline_t *pl, const multipart_part_t *part, const char **reason)
{
    const char *ct = part->content_type;
    size_t ct_len = part->content_type_len;

    if (part->name == NULL || part->name_len == 0)
        return 0;

    /* JSON annotations: replace everything collected so far */
    if (ct != NULL && starts_with_ci(ct, ct_len, "application/json")) {
        json_error_t err;
        pl->has_json = 1;
        json_t *obj = json_loadb(part->body, part->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (obj == NULL) {
            if (json_error_code(&err) == json_error_out_of_memory)
                return -ENOMEM;
            *reason = "invalid_json";
            return 0;
        }
        if (!json_is_object(obj)) {
            json_decref(obj);
            *reason = "invalid_json_value";
            return 0;
        }
        json_decref(pl->annotations);
        pl->annotations = obj;
        return 0;
    }

    /* text annotation */
    if (part->filename == NULL && (ct == NULL || media_type_is(ct, ct_len, "text/plain"))) {
        pl->has_text = 1;
        if (!utf8_valid((const unsigned char *)part->body, part->body_len))
            return add_note(pl, NOTE_BAD_UTF8);
        /* A name that is not UTF-8 or holds a NUL cannot be a portable JSON key (jansson and the
         * upstream collector refuse NUL in keys): such a part is dropped like a nameless one. */
        if (!utf8_valid((const unsigned char *)part->name, part->name_len) || memchr(part->name, '\0', part->name_len) != NULL)
            return 0;
        json_t *v = json_stringn_nocheck(part->body, part->body_len);
        if (v == NULL || json_object_setn_new_nocheck(pl->annotations, part->name, part->name_len, v) != 0)
            return -ENOMEM;
        return 0;
    }

    /* dump */
    dump_t d;
    sanitize_dump_name(part->name, part->name_len, &d);
    d.data = part->body;
    d.len = part->body_len;
    /* An empty sanitised name would make an unusable storage key ("v1//<id>"): treated as reserved. */
    int reserved = d.name_len == 0;
    for (size_t i = 0; i < sizeof(reserved_dump_names) / sizeof(reserved_dump_names[0]); ++i)
        reserved |= strcmp(d.name, reserved_dump_names[i]) == 0;
    if (reserved) {
        *reason = "invalid_dump_name";
        return 0;
    }
    if (ct == NULL) {
        if (add_note(pl, "unknown content type: %s None", d.name) != 0)
            return -ENOMEM;
    } else if (!media_type_is(ct, ct_len, "application/octet-stream")) {
        const char *t = ct;
        size_t tlen = ct_len;
        multipart_trim(&t, &tlen);
        if (add_note(pl, "unknown content type: %s %.*s", d.name, (int)(tlen > 1024 ? 1024 : tlen), t) != 0)
            return -ENOMEM;
    }
    return add_dump(pl, &d);
}

/* --- step 8: throttle --- */

static const char *get_annotation(void *actx, const char *key)
{
    pipeline_t *pl = actx;
    json_t *v, *r;
    char *text;

    if (key == NULL || (v = json_object_get(pl->annotations, key)) == NULL)
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if ((r = json_object_get(pl->rendered, key)) != NULL)
        return json_string_value(r);
    if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        return NULL;
    r = json_string_nocheck(text);
    free(text);
    if (r == NULL || json_object_set_new(pl->rendered, key, r) != 0)
        return NULL;
    return json_string_value(r);
}

/* --- step 9: bearer token --- */

static int authorized(const submission_request_t *req)
{
    const char *v = req->authorization;
    size_t len = req->authorization_len;
    unsigned char want[32], got[32];

    if (req->submitter_token == NULL || req->submitter_token[0] == '\0' || v == NULL)
        return 0;
    multipart_trim(&v, &len);
    if (len < 7 || strncasecmp(v, "bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
        return 0;
    v += 7;
    len -= 7;
    multipart_trim(&v, &len);
    /* Comparing digests keeps the comparison constant-time whatever the lengths. */
    if (EVP_Digest(req->submitter_token, strlen(req->submitter_token), want, NULL, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(v, len, got, NULL, EVP_sha256(), NULL) != 1)
        return 0;
    return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

/* --- step 11: raw crash --- */

static int sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];

    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
        return -ENOMEM;
    for (int i = 0; i < 32; ++i) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
    return 0;
}

static int build_raw_crash(pipeline_t *pl, const submission_request_t *req, const submission_result_t *res,
                           const struct timespec *now, char **out)
{
    json_t *meta = NULL, *sums = NULL;
    char ts[64];
    struct tm tm;
    int ret = -ENOMEM;

    if ((meta = json_object()) == NULL || (sums = json_object()) == NULL)
        goto Exit;
    for (size_t i = 0; i < pl->num_dumps; ++i) {
        char hex[65];
        if (sha256_hex(pl->dumps[i].data, pl->dumps[i].len, hex) != 0 ||
            json_object_set_new(sums, pl->dumps[i].name, json_string_nocheck(hex)) != 0)
            goto Exit;
    }
    json_t *ua = req->user_agent != NULL ? lossy_string(req->user_agent, req->user_agent_len) : json_string("None");
    if (json_object_set(meta, "collector_notes", pl->notes) != 0 || json_object_set(meta, "dump_checksums", sums) != 0 ||
        json_object_set_new(meta, "payload", json_string(pl->has_json ? "json" : "multipart")) != 0 ||
        json_object_set_new(meta, "payload_compressed", json_string(res->compressed ? "1" : "0")) != 0 ||
        json_object_set_new(meta, "payload_size", json_integer((json_int_t)res->payload_size)) != 0 ||
        json_object_set_new(meta, "throttle_rule", lossy_string(res->throttle_rule, strlen(res->throttle_rule))) != 0 ||
        json_object_set_new(meta, "user_agent", ua) != 0)
        goto Exit;

    gmtime_r(&now->tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(now->tv_nsec / 1000));
    if (json_object_set(pl->annotations, "metadata", meta) != 0 ||
        json_object_set_new(pl->annotations, "submitted_timestamp", json_string(ts)) != 0 ||
        json_object_set_new(pl->annotations, "uuid", json_string(res->crash_id)) != 0 ||
        json_object_set_new(pl->annotations, "version", json_integer(2)) != 0)
        goto Exit;
    if ((*out = json_dumps(pl->annotations, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
        goto Exit;
    ret = 0;

Exit:
    json_decref(meta);
    json_decref(sums);
    return ret;
}

/* --- the pipeline --- */

int submission_process(const submission_request_t *req, submission_result_t *res)
{
    pipeline_t pl;
    multipart_parser_t *mp = NULL;
    uint8_t *inflated = NULL;
    char *raw_crash = NULL;
    crashrec_dump_t *rec_dumps = NULL;
    const char *payload;
    size_t payload_len;
    char boundary[MULTIPART_MAX_BOUNDARY + 1];
    size_t boundary_len;
    struct timespec now = req->now;
    int ret = -ENOMEM;

    memset(res, 0, sizeof(*res));
    memset(&pl, 0, sizeof(pl));
    res->payload_size = req->body_len;
    if (now.tv_sec == 0 && now.tv_nsec == 0)
        clock_gettime(CLOCK_REALTIME, &now);
    if ((pl.annotations = json_object()) == NULL || (pl.notes = json_array()) == NULL || (pl.dump_index = json_object()) == NULL ||
        (pl.rendered = json_object()) == NULL)
        goto Exit;
    ret = 0;

    /* 1. content type and boundary */
    const char *ct = req->content_type;
    size_t ct_len = req->content_type_len;
    if (ct != NULL)
        multipart_trim(&ct, &ct_len);
    if (ct == NULL || ct_len == 0) {
        malformed(res, "no_content_type");
        goto Exit;
    }
    if (!media_type_is(ct, ct_len, "multipart/form-data") && !media_type_is(ct, ct_len, "multipart/mixed")) {
        malformed(res, "wrong_content_type");
        goto Exit;
    }
    switch (multipart_boundary_from_content_type(ct, ct_len, boundary, &boundary_len)) {
    case 0:
        break;
    case -ENOENT:
        malformed(res, "no_boundary");
        goto Exit;
    default:
        malformed(res, "invalid_payload_structure");
        goto Exit;
    }

    /* 2. a body */
    if (req->body == NULL || req->body_len == 0) {
        malformed(res, "no_content_length");
        goto Exit;
    }

    /* 3. gzip */
    payload = (const char *)req->body;
    payload_len = req->body_len;
    if (req->content_encoding != NULL && (media_type_is(req->content_encoding, req->content_encoding_len, "gzip") ||
                                          media_type_is(req->content_encoding, req->content_encoding_len, "x-gzip"))) {
        res->compressed = 1;
        switch (
            (ret = inflate_body(req->body, req->body_len, req->inflate_cap != 0 ? req->inflate_cap : SUBMISSION_DEFAULT_INFLATE_CAP,
                                &inflated, &payload_len))) {
        case 0:
            payload = (const char *)inflated;
            break;
        case -EBADMSG:
            ret = 0;
            malformed(res, "bad_gzip");
            goto Exit;
        case -E2BIG:
            ret = 0;
            answer(res, SUBMISSION_TOO_LARGE, 413, "Discarded=too_large");
            goto Exit;
        default:
            goto Exit;
        }
    }
    res->inflated_size = payload_len;

    /* 4-5. multipart and parts; a structural error anywhere wins over a part-level one */
    const char *reason = NULL;
    multipart_part_t part;
    multipart_status_t st;
    if ((mp = malloc(sizeof(*mp))) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    multipart_init(mp, payload, payload_len, boundary, boundary_len);
    while ((st = multipart_next(mp, &part)) == MULTIPART_PART) {
        if (reason == NULL && (ret = handle_part(&pl, &part, &reason)) != 0)
            goto Exit;
    }
    if (st != MULTIPART_END) {
        malformed(res, "invalid_payload_structure");
        goto Exit;
    }
    if (reason != NULL) {
        malformed(res, reason);
        goto Exit;
    }

    /* 6-7. annotations */
    if (json_object_size(pl.annotations) == 0) {
        malformed(res, "no_annotations");
        goto Exit;
    }
    if (pl.has_json && pl.has_text && (ret = add_note(&pl, NOTE_BOTH)) != 0)
        goto Exit;

    /* 8. throttle */
    const char *rule = "accept_everything";
    res->throttle_result = SUBMISSION_THROTTLE_ACCEPT;
    if (req->throttle != NULL) {
        rule = NULL;
        res->throttle_result = req->throttle(req->throttle_ctx, get_annotation, &pl, &rule);
        if (rule == NULL)
            rule = "";
    }
    snprintf(res->throttle_rule, sizeof(res->throttle_rule), "%s", rule);

    /* 9. client-chosen crash id */
    json_t *uuid = json_object_get(pl.annotations, "uuid");
    if (uuid != NULL) {
        if (!authorized(req)) {
            answer(res, SUBMISSION_UNAUTHORIZED, 401, "Discarded=unauthorized_uuid");
            goto Exit;
        }
        if (!json_is_string(uuid) || !crashid_validate(json_string_value(uuid), json_string_length(uuid), 0)) {
            malformed(res, "invalid_uuid");
            goto Exit;
        }
        memcpy(res->crash_id, json_string_value(uuid), CRASHID_LEN + 1);
    }

    /* 10. reject, privacy */
    if (res->throttle_result == SUBMISSION_THROTTLE_REJECT) {
        answer(res, SUBMISSION_REJECTED, 200, "Discarded=rule_%s", res->throttle_rule);
        goto Exit;
    }
    for (size_t i = 0; i < sizeof(private_keys) / sizeof(private_keys[0]); ++i) {
        if (json_object_get(pl.annotations, private_keys[i]) != NULL) {
            json_object_del(pl.annotations, private_keys[i]);
            if ((ret = add_note(&pl, "Removed %s from raw crash.", private_keys[i])) != 0)
                goto Exit;
        }
    }

    /* 11. crash id, raw crash, record */
    int digit = res->throttle_result == SUBMISSION_THROTTLE_FAKEACCEPT ? CRASHID_THROTTLE_FAKEACCEPT
                : res->throttle_result == SUBMISSION_THROTTLE_DEFER    ? CRASHID_THROTTLE_DEFER
                                                                       : CRASHID_THROTTLE_ACCEPT;
    if (res->crash_id[0] == '\0' && (ret = crashid_mint(res->crash_id, digit, now.tv_sec)) != 0)
        goto Exit;
    if (res->throttle_result == SUBMISSION_THROTTLE_FAKEACCEPT) {
        answer(res, SUBMISSION_FAKE_ACCEPT, 200, "CrashID=bp-%s\n", res->crash_id);
        goto Exit;
    }
    if ((ret = build_raw_crash(&pl, req, res, &now, &raw_crash)) != 0)
        goto Exit;
    if (pl.num_dumps > 0 && (rec_dumps = calloc(pl.num_dumps, sizeof(*rec_dumps))) == NULL) {
        ret = -ENOMEM;
        goto Exit;
    }
    for (size_t i = 0; i < pl.num_dumps; ++i) {
        rec_dumps[i].name = pl.dumps[i].name;
        rec_dumps[i].name_len = pl.dumps[i].name_len;
        rec_dumps[i].data = (const uint8_t *)pl.dumps[i].data;
        rec_dumps[i].len = pl.dumps[i].len;
    }
    if ((ret = crashrec_create(&res->crash, res->crash_id, raw_crash, strlen(raw_crash), rec_dumps, pl.num_dumps)) != 0)
        goto Exit;
    answer(res, SUBMISSION_STORE, 200, "CrashID=bp-%s\n", res->crash_id);

Exit:
    if (ret != 0) {
        submission_result_dispose(res);
        res->outcome = SUBMISSION_ERROR;
        res->malformed_reason = NULL;
        res->status = 500;
        res->body[0] = '\0';
        res->body_len = 0;
    }
    free(rec_dumps);
    free(raw_crash);
    free(mp);
    free(inflated);
    free(pl.dumps);
    json_decref(pl.annotations);
    json_decref(pl.notes);
    json_decref(pl.dump_index);
    json_decref(pl.rendered);
    return ret;
}

void submission_result_dispose(submission_result_t *res)
{
    crashrec_destroy(res->crash);
    res->crash = NULL;
}

const char *submission_outcome_name(submission_outcome_t outcome)
{
    switch (outcome) {
    case SUBMISSION_STORE:
        return "store";
    case SUBMISSION_FAKE_ACCEPT:
        return "fake_accept";
    case SUBMISSION_REJECTED:
        return "rejected";
    case SUBMISSION_MALFORMED:
        return "malformed";
    case SUBMISSION_UNAUTHORIZED:
        return "unauthorized";
    case SUBMISSION_TOO_LARGE:
        return "too_large";
    case SUBMISSION_ERROR:
        return "error";
    }
    return "unknown";
}
