// SPDX-License-Identifier: MIT
/*
 * spool_json: JSON views of the spool for operators, shared by the admin API (handler_admin.c)
 * and the command line (command.c) so both show the same fields: the counters, a page of records
 * or dead letters, one crash (its stored raw crash JSON, decoded from the crash record) and the
 * forwarder's upstream states.
 *
 * Each function runs a few short LMDB read transactions through the spool's read functions and
 * returns malloc'ed text. Any thread (the admin thread, or the main thread of `edge spool`).
 */
#include "collector/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <jansson.h>
#include "collector/crashrec.h"
#include "collector/forwarder.h"

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static char *dump(json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(obj);
    return text;
}

char *collector__spool_stats_json(spool_t *spool, struct st_forwarder_t *forwarder, int *status)
{
    spool_stats_t st;
    json_t *obj = NULL, *upstreams = NULL;
    char *fwd = NULL;

    if ((*status = spool_stats(spool, &st)) != 0)
        return NULL;
    int64_t now = now_ms();
    double age = st.count != 0 && st.oldest_received_ms != 0 ? (double)(now - st.oldest_received_ms) / 1000.0 : 0;
    obj = json_pack("{s:I,s:I,s:I,s:f,s:{s:I,s:I},s:I,s:I,s:I,s:I,s:b,s:o}", "count", (json_int_t)st.count, "bytes",
                    (json_int_t)st.bytes, "oldest_received_ms", (json_int_t)st.oldest_received_ms, "oldest_age_seconds", age,
                    "dead_letters", "count", (json_int_t)st.dead_count, "bytes", (json_int_t)st.dead_bytes, "next_seq",
                    (json_int_t)st.next_seq, "map_size", (json_int_t)st.map_size, "map_used", (json_int_t)st.map_used,
                    "queued_bytes", (json_int_t)st.queued_bytes, "full", st.full, "last_error",
                    st.last_error != 0 ? json_string(spool_strerror(st.last_error)) : json_null());
    if (obj == NULL)
        goto Oom;
    /* the forwarder's view: {"upstreams": [...]} */
    if ((fwd = forwarder_status_json(forwarder)) != NULL) {
        json_t *parsed = json_loads(fwd, 0, NULL);
        if (parsed != NULL && (upstreams = json_object_get(parsed, "upstreams")) != NULL)
            json_incref(upstreams);
        json_decref(parsed);
    }
    if (upstreams == NULL)
        upstreams = json_array();
    if (upstreams == NULL || json_object_set_new(obj, "upstreams", upstreams) != 0)
        goto Oom;
    free(fwd);
    return dump(obj);
Oom:
    free(fwd);
    json_decref(obj);
    *status = -ENOMEM;
    return NULL;
}

static json_t *record_json(const spool_record_t *r, int64_t now)
{
    return json_pack("{s:I,s:s,s:I,s:f,s:I,s:i,s:I,s:I,s:s}", "seq", (json_int_t)r->seq, "crash_id", r->crash_id, "received_ms",
                     (json_int_t)r->received_ms, "age_seconds", (double)(now - r->received_ms) / 1000.0, "next_attempt_ms",
                     (json_int_t)r->next_attempt_ms, "attempts", (int)r->attempts, "delivered", (json_int_t)r->delivered, "size",
                     (json_int_t)r->size, "last_error", r->last_error);
}

static json_t *dead_json(const spool_dead_t *d)
{
    return json_pack("{s:I,s:s,s:I,s:I,s:i,s:I,s:I,s:s}", "seq", (json_int_t)d->seq, "crash_id", d->crash_id, "received_ms",
                     (json_int_t)d->received_ms, "dead_ms", (json_int_t)d->dead_ms, "attempts", (int)d->attempts, "delivered",
                     (json_int_t)d->delivered, "size", (json_int_t)d->size, "reason", d->reason != NULL ? d->reason : "");
}

char *collector__spool_list_json(spool_t *spool, int dead, uint64_t after_seq, size_t limit, int *status)
{
    json_t *items = NULL, *obj = NULL;
    spool_record_t *records = NULL;
    spool_dead_t *deads = NULL;
    size_t count = 0;
    uint64_t last = 0;
    int64_t now = now_ms();

    if (limit == 0)
        limit = 1;
    *status = -ENOMEM;
    if ((items = json_array()) == NULL)
        goto Exit;
    if (dead) {
        if ((deads = calloc(limit, sizeof(*deads))) == NULL)
            goto Exit;
        if ((*status = spool_dead_list(spool, after_seq, limit, deads, &count)) != 0)
            goto Exit;
        for (size_t i = 0; i < count; ++i) {
            last = deads[i].seq;
            if (json_array_append_new(items, dead_json(&deads[i])) != 0)
                *status = -ENOMEM;
        }
    } else {
        if ((records = calloc(limit, sizeof(*records))) == NULL)
            goto Exit;
        if ((*status = spool_list(spool, after_seq, limit, records, &count)) != 0)
            goto Exit;
        for (size_t i = 0; i < count; ++i) {
            last = records[i].seq;
            if (json_array_append_new(items, record_json(&records[i], now)) != 0)
                *status = -ENOMEM;
        }
    }
    if (*status != 0)
        goto Exit;
    /* a full page may have a next one: tell where to continue */
    obj = json_pack("{s:O,s:o}", dead ? "dead_letters" : "crashes", items, "next_after",
                    count == limit ? json_integer((json_int_t)last) : json_null());
    if (obj == NULL)
        *status = -ENOMEM;
Exit:
    for (size_t i = 0; deads != NULL && i < count; ++i)
        spool_dead_dispose(&deads[i]);
    for (size_t i = 0; records != NULL && i < count; ++i)
        spool_record_dispose(&records[i]);
    free(deads);
    free(records);
    json_decref(items);
    return *status == 0 ? dump(obj) : (json_decref(obj), NULL);
}

/* Reads one crash's record (blob included) from the main or dead-letter table. */
static int read_crash(spool_t *spool, int dead, const char *crash_id, spool_record_t *rec, spool_dead_t *dl, void **blob,
                      size_t *size)
{
    int status;
    if (dead) {
        if ((status = spool_dead_get(spool, crash_id, SPOOL_READ_BLOB, dl)) == 0) {
            *blob = dl->blob;
            *size = dl->size;
        }
    } else if ((status = spool_get(spool, crash_id, SPOOL_READ_BLOB, rec)) == 0) {
        *blob = rec->blob;
        *size = rec->size;
    }
    return status;
}

char *collector__spool_raw_crash(spool_t *spool, int dead, const char *crash_id, size_t *len, int *status)
{
    spool_record_t rec;
    spool_dead_t dl;
    crashrec_t *crash = NULL;
    void *blob = NULL;
    size_t size = 0;
    char *out = NULL;

    memset(&rec, 0, sizeof(rec));
    memset(&dl, 0, sizeof(dl));
    if ((*status = read_crash(spool, dead, crash_id, &rec, &dl, &blob, &size)) != 0)
        goto Exit;
    if ((*status = crashrec_decode(&crash, blob, size, 0)) != 0)
        goto Exit;
    if ((out = malloc(crash->raw_crash_len + 1)) == NULL) {
        *status = -ENOMEM;
        goto Exit;
    }
    memcpy(out, crash->raw_crash, crash->raw_crash_len + 1);
    *len = crash->raw_crash_len;
Exit:
    crashrec_destroy(crash);
    spool_record_dispose(&rec);
    spool_dead_dispose(&dl);
    return out;
}

char *collector__spool_show_json(spool_t *spool, int dead, const char *crash_id, int *status)
{
    spool_record_t rec;
    spool_dead_t dl;
    crashrec_t *crash = NULL;
    json_t *obj = NULL, *raw = NULL, *dumps = NULL;
    void *blob = NULL;
    size_t size = 0;

    memset(&rec, 0, sizeof(rec));
    memset(&dl, 0, sizeof(dl));
    if ((*status = read_crash(spool, dead, crash_id, &rec, &dl, &blob, &size)) != 0)
        goto Exit;
    if ((*status = crashrec_decode(&crash, blob, size, 0)) != 0)
        goto Exit;
    *status = -ENOMEM;
    if ((obj = dead ? dead_json(&dl) : record_json(&rec, now_ms())) == NULL || (dumps = json_array()) == NULL)
        goto Exit;
    for (size_t i = 0; i < crash->num_dumps; ++i)
        if (json_array_append_new(
                dumps, json_pack("{s:s,s:I}", "name", crash->dumps[i].name, "size", (json_int_t)crash->dumps[i].len)) != 0)
            goto Exit;
    if ((raw = json_loadb(crash->raw_crash, crash->raw_crash_len, 0, NULL)) == NULL) {
        *status = SPOOL_CORRUPT;
        goto Exit;
    }
    if (json_object_set(obj, "dumps", dumps) != 0 || json_object_set(obj, "raw_crash", raw) != 0)
        goto Exit;
    *status = 0;
Exit:
    json_decref(raw);
    json_decref(dumps);
    crashrec_destroy(crash);
    spool_record_dispose(&rec);
    spool_dead_dispose(&dl);
    return *status == 0 ? dump(obj) : (json_decref(obj), NULL);
}
