// SPDX-License-Identifier: MIT
/*
 * submission: the crash submission pipeline of the collector protocol, steps 1-11, as one pure
 * function from a plain request (header values + body bytes) to a result (HTTP status, exact
 * Antenna response body, malformed reason for metrics, and, when the report is to be stored, a
 * crash record holding the crash id, the raw crash JSON and the dumps).
 *
 * Steps: content type and boundary, empty body, gzip (inflated under a cap), multipart parse,
 * parts to annotations (text or one JSON `extra`) and dumps, annotation checks and collector notes,
 * throttle (an injected callback, so this file knows nothing of the rule engine), client-chosen
 * uuid (bearer token, constant-time compare), reject, privacy removals, crash id, raw crash
 * document (schema version 2, sorted keys, SHA-256 dump checksums). Storing is the caller's job.
 *
 * Runs on a worker thread per request; no shared state. It allocates (inflated body, JSON, the
 * record) because the record must outlive the request body; everything it allocates is either
 * freed before it returns or owned by the result.
 */
#ifndef edge__collector_submission_h
#define edge__collector_submission_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "collector/crashid.h"
#include "collector/crashrec.h"

typedef enum {
    SUBMISSION_THROTTLE_ACCEPT,
    SUBMISSION_THROTTLE_DEFER,
    SUBMISSION_THROTTLE_REJECT,
    SUBMISSION_THROTTLE_FAKEACCEPT
} submission_throttle_t;

/**
 * Decides the fate of a well-formed report.
 * @param ctx the request's throttle_ctx
 * @param get_annotation returns the value of an annotation as a NUL-terminated string, or NULL
 *        when absent; non-string JSON values are rendered as compact JSON (`1`, `true`). Returned
 *        strings stay valid until the callback returns.
 * @param actx pass to get_annotation
 * @param[out] rule_name the name of the deciding rule; copied before the callback's memory may go
 * @return the decision. Called at most once per submission, on the calling thread.
 */
typedef submission_throttle_t (*submission_throttle_cb)(void *ctx, const char *(*get_annotation)(void *actx, const char *key),
                                                        void *actx, const char **rule_name);

/** Default inflate cap when the request leaves it at 0. */
#define SUBMISSION_DEFAULT_INFLATE_CAP ((size_t)25 * 1024 * 1024)
/** Longest throttle rule name kept (longer ones are cut). */
#define SUBMISSION_MAX_RULE_NAME 64

typedef struct st_submission_request_t {
    /* Header values as received (not NUL-terminated); NULL = header absent. */
    const char *content_type;
    size_t content_type_len;
    const char *content_encoding;
    size_t content_encoding_len;
    const char *authorization;
    size_t authorization_len;
    const char *user_agent;
    size_t user_agent_len;
    /** The body as received on the wire (chunked coding already removed). */
    const uint8_t *body;
    size_t body_len;
    /** Bearer token that lets a client choose its crash id; NULL or "" = no client may. */
    const char *submitter_token;
    /** Largest inflated body for Content-Encoding: gzip; 0 = SUBMISSION_DEFAULT_INFLATE_CAP. */
    size_t inflate_cap;
    /** Throttle decision; NULL = accept everything (rule "accept_everything"). */
    submission_throttle_cb throttle;
    void *throttle_ctx;
    /** Submission time; {0, 0} = now (CLOCK_REALTIME). */
    struct timespec now;
} submission_request_t;

typedef enum en_submission_outcome_t {
    SUBMISSION_STORE,        /**< store result.crash durably, then answer status/body (500 if storing fails) */
    SUBMISSION_FAKE_ACCEPT,  /**< answer status/body; nothing to store */
    SUBMISSION_REJECTED,     /**< a throttle rule rejected it: 200 Discarded=rule_<name> */
    SUBMISSION_MALFORMED,    /**< 400 Discarded=malformed_<reason> */
    SUBMISSION_UNAUTHORIZED, /**< 401 Discarded=unauthorized_uuid */
    SUBMISSION_TOO_LARGE,    /**< 413 Discarded=too_large: the inflated body exceeds the inflate cap */
    SUBMISSION_ERROR         /**< 500 with an empty body: out of memory or no randomness (retry later) */
} submission_outcome_t;

typedef struct st_submission_result_t {
    submission_outcome_t outcome;
    /** HTTP status to answer (after storing, for SUBMISSION_STORE). */
    int status;
    /** text/plain response body, NUL-terminated, body_len bytes. */
    char body[96 + SUBMISSION_MAX_RULE_NAME];
    size_t body_len;
    /** For SUBMISSION_MALFORMED: the reason without "malformed_" (static string); else NULL. */
    const char *malformed_reason;
    /** Throttle outcome and rule name, when the pipeline got that far ("" otherwise). */
    submission_throttle_t throttle_result;
    char throttle_rule[SUBMISSION_MAX_RULE_NAME + 1];
    /** The crash id for STORE and FAKE_ACCEPT, else "". */
    char crash_id[CRASHID_LEN + 1];
    /** Metrics: 1 if the body was gzip-encoded; bytes received; bytes after inflating. */
    int compressed;
    size_t payload_size;
    size_t inflated_size;
    /** For SUBMISSION_STORE: the crash to store, owned by the result (the caller may take it by
     *  setting the field to NULL, then owns it and frees it with crashrec_destroy). Else NULL. */
    crashrec_t *crash;
} submission_result_t;

/**
 * Runs the pipeline on one request.
 * @param[in] req the request; its memory is only read during the call
 * @param[out] res the result; call submission_result_dispose on it whatever this returns
 * @return 0 (res describes the answer), -ENOMEM, or another -errno when minting a crash id failed
 *         (then answer 500 with an empty body, as for a storage failure).
 * @note The throttle callback is called at most once, synchronously. Nothing in res points into
 *       req: the result outlives the request body.
 */
int submission_process(const submission_request_t *req, submission_result_t *res);

/** Frees what res owns (the crash record). Safe to call twice. */
void submission_result_dispose(submission_result_t *res);

/** A static name for an outcome ("store", "fake_accept", ...), for logs and metrics labels. */
const char *submission_outcome_name(submission_outcome_t outcome);

#endif
