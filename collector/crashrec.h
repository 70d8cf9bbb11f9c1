// SPDX-License-Identifier: MIT
/*
 * crashrec: one stored crash (crash id, raw crash JSON, dumps) as ONE contiguous, self-checking
 * byte string: what the spool stores opaquely and what the forwarder decodes to re-post the crash
 * upstream or upload it to object storage.
 *
 * Record layout, all integers little-endian:
 *   0  "EDCR"            magic
 *   4  u16 version (1)   u16 flags (0)
 *   8  u32 CRC-32        over bytes [0,8) and [12,end): any flipped bit is detected
 *   12 u64 payload length (the bytes after offset 20)
 *   20 crash id (36 bytes) | u32 dump count | u64 raw crash length, raw crash, NUL |
 *      per dump: u16 name length, name, NUL, u64 data length, data
 * Strings carry a NUL inside the record so that a decoded record hands out C strings without
 * copying. Decoding checks every length against what remains before touching memory: a corrupt or
 * hostile record yields -EBADMSG, never an out-of-bounds read.
 *
 * A crashrec_t is a heap object with views (name, data, raw crash) into its record bytes. It is not
 * shared: hand it to another thread as a whole (ownership transfer). Any thread may call these.
 */
#ifndef edge__collector_crashrec_h
#define edge__collector_crashrec_h

#include <stddef.h>
#include <stdint.h>
#include "collector/crashid.h"

/** Longest dump name (after sanitising to [A-Za-z0-9_]). */
#define CRASHREC_MAX_DUMP_NAME 30
/** Current record format version. */
#define CRASHREC_VERSION 1

typedef struct st_crashrec_dump_t {
    const char *name; /**< NUL-terminated, 1..CRASHREC_MAX_DUMP_NAME characters of [A-Za-z0-9_] */
    size_t name_len;
    const uint8_t *data;
    size_t len;
} crashrec_dump_t;

typedef struct st_crashrec_t {
    char crash_id[CRASHID_LEN + 1];
    const char *raw_crash; /**< NUL-terminated JSON text (view into the record) */
    size_t raw_crash_len;
    crashrec_dump_t *dumps; /**< views into the record, in submission order */
    size_t num_dumps;
    const uint8_t *_record;
    size_t _record_len;
    uint8_t *_owned; /* freed by crashrec_destroy; NULL when _record belongs to the caller */
} crashrec_t;

/**
 * Encodes a crash into a new record.
 * @param[out] out receives the new object
 * @param[in] crash_id a valid crash id (crashid_validate, non-strict)
 * @param[in] raw_crash raw crash JSON text (must not contain NUL), raw_crash_len bytes
 * @param[in] dumps num_dumps dumps; names must be valid dump names; data may be NULL when len is 0
 * @return 0, -EINVAL (bad crash id, dump name or raw crash), -ENOMEM.
 * @note Everything is copied: the inputs may be freed after the call. The caller owns *out and
 *       frees it with crashrec_destroy.
 */
int crashrec_create(crashrec_t **out, const char *crash_id, const char *raw_crash, size_t raw_crash_len,
                    const crashrec_dump_t *dumps, size_t num_dumps);

/**
 * Decodes and validates a record (magic, version, checksum, every length and name).
 * @param[out] out receives the new object
 * @param[in] record the record bytes
 * @param[in] copy nonzero: the record is copied and *out owns the copy; zero: *out points into
 *            record, which must then outlive *out (e.g. an LMDB value inside its read transaction)
 * @return 0, -EBADMSG (corrupt or truncated), -ENOTSUP (unknown version), -ENOMEM.
 */
int crashrec_decode(crashrec_t **out, const void *record, size_t len, int copy);

/**
 * @return the record bytes of rec (what the spool stores), valid while rec lives; *len its size.
 */
const uint8_t *crashrec_record(const crashrec_t *rec, size_t *len);

/** Frees rec (and its record bytes if it owns them). NULL is a no-op. */
void crashrec_destroy(crashrec_t *rec);

/**
 * Builds the multipart/form-data body that re-posts rec to another Antenna-compatible collector:
 * the annotations of the raw crash without `metadata`, `submitted_timestamp` and `version`, with
 * `uuid` set to the crash id, then each dump as an application/octet-stream part.
 * @param[in] rec the crash
 * @param[in] boundary the boundary to use (1..70 characters, no CR/LF/quote), NUL-terminated
 * @param[in] json_extra nonzero: annotations as one JSON part `extra` (filename extra.json);
 *            zero: one text part per annotation, unless a value is not a string or a name cannot be
 *            quoted safely, in which case the JSON form is used anyway.
 * @param[out] out receives the malloc'ed body (caller frees); *out_len its length
 * @return 0, -EINVAL (bad boundary, raw crash not a JSON object), -EEXIST (the boundary occurs in
 *         the content: choose another one), -ENOMEM.
 */
int crashrec_repost_body(const crashrec_t *rec, const char *boundary, int json_extra, char **out, size_t *out_len);

#endif
