// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for collector/crashrec.c: decoding arbitrary bytes as a spool record must
 * fail cleanly or yield views inside the input; a decoded record re-encodes to the same bytes and
 * renders a re-post body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collector/crashrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crashrec_t *rec = NULL, *again = NULL;
    uint8_t *copy = malloc(size > 0 ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    if (crashrec_decode(&rec, copy, size, 0) == 0) {
        if (crashrec_create(&again, rec->crash_id, rec->raw_crash, rec->raw_crash_len, rec->dumps, rec->num_dumps) != 0)
            abort();
        size_t len;
        const uint8_t *bytes = crashrec_record(again, &len);
        if (len != size || memcmp(bytes, copy, size) != 0)
            abort();
        char *body = NULL;
        size_t body_len;
        if (crashrec_repost_body(rec, "fuzz-boundary", 0, &body, &body_len) == 0)
            free(body);
        crashrec_destroy(again);
        crashrec_destroy(rec);
    }
    free(copy);
    return 0;
}
