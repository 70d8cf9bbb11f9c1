// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for collector/submission.c, the whole intake pipeline.
 *
 * Input: one flags byte, then the Content-Type value up to the first newline, then the body.
 * Flags: bit 0 Content-Encoding gzip, bit 1 a configured token and a matching Authorization
 * header, bits 2-3 the throttle decision, bit 4 a User-Agent. The inflate cap is 1 MiB so the
 * fuzzer stays fast. Invariants checked: the answer is one of the protocol's, a stored crash
 * decodes from its own record bytes and renders a re-post body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collector/submission.h"

volatile size_t fuzz_submission_sink;

static submission_throttle_t on_throttle(void *ctx, const char *(*get)(void *actx, const char *key), void *actx,
                                         const char **rule_name)
{
    const char *v = get(actx, "ProductName");
    if (v != NULL)
        fuzz_submission_sink = strlen(v);
    *rule_name = "fuzz_rule";
    return (submission_throttle_t)(*(const uint8_t *)ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    submission_request_t req;
    submission_result_t res;

    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *rest = data + 1, *nl = memchr(rest, '\n', size - 1);
    size_t ct_len = nl != NULL ? (size_t)(nl - rest) : size - 1;
    size_t body_len = nl != NULL ? size - 1 - ct_len - 1 : 0;
    uint8_t decision = (uint8_t)((flags >> 2) & 3);
    char *ct = malloc(ct_len + 1);
    uint8_t *body = malloc(body_len + 1);
    if (ct == NULL || body == NULL)
        goto Exit;
    memcpy(ct, rest, ct_len);
    if (body_len > 0)
        memcpy(body, nl + 1, body_len);

    memset(&req, 0, sizeof(req));
    req.content_type = ct;
    req.content_type_len = ct_len;
    req.body = body;
    req.body_len = body_len;
    req.inflate_cap = 1 << 20;
    if (flags & 1) {
        req.content_encoding = "gzip";
        req.content_encoding_len = 4;
    }
    if (flags & 2) {
        req.submitter_token = "token";
        req.authorization = "Bearer token";
        req.authorization_len = 12;
    }
    if (decision != 0) {
        req.throttle = on_throttle;
        req.throttle_ctx = &decision;
    }
    if (flags & 16) {
        req.user_agent = "fuzz/1.0";
        req.user_agent_len = 8;
    }
    int r = submission_process(&req, &res);
    if (r != 0 && (res.outcome != SUBMISSION_ERROR || res.status != 500 || res.crash != NULL))
        abort();
    if (r == 0) {
        if (res.body_len != strlen(res.body))
            abort();
        switch (res.outcome) {
        case SUBMISSION_STORE: {
            crashrec_t *back = NULL;
            size_t len;
            const uint8_t *bytes = crashrec_record(res.crash, &len);
            if (res.status != 200 || crashrec_decode(&back, bytes, len, 0) != 0)
                abort();
            char *repost = NULL;
            size_t repost_len;
            if (crashrec_repost_body(back, "fuzz-boundary-0123456789", 0, &repost, &repost_len) == 0)
                free(repost);
            crashrec_destroy(back);
            break;
        }
        case SUBMISSION_MALFORMED:
            if (res.status != 400 || res.malformed_reason == NULL || res.crash != NULL)
                abort();
            break;
        case SUBMISSION_FAKE_ACCEPT:
        case SUBMISSION_REJECTED:
            if (res.status != 200 || res.crash != NULL)
                abort();
            break;
        case SUBMISSION_UNAUTHORIZED:
            if (res.status != 401)
                abort();
            break;
        case SUBMISSION_TOO_LARGE:
            if (res.status != 413)
                abort();
            break;
        case SUBMISSION_ERROR:
            abort();
        }
    }
    submission_result_dispose(&res);

Exit:
    free(ct);
    free(body);
    return 0;
}
