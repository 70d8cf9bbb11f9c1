// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for collector/multipart.c.
 *
 * Input: `<boundary>\n<body>`; without a newline the whole input is the body and the boundary is
 * "b". The body is copied into an exactly-sized heap buffer so ASan catches any read past its end.
 * Every part is walked and its views are touched; the input is also fed to
 * multipart_boundary_from_content_type as a Content-Type value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collector/multipart.h"

static multipart_parser_t parser;
volatile unsigned fuzz_multipart_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char boundary[MULTIPART_MAX_BOUNDARY + 1];
    size_t blen = 0;
    const uint8_t *nl = memchr(data, '\n', size);
    const uint8_t *body = data;
    size_t body_len = size;
    unsigned sum = 0;

    multipart_boundary_from_content_type((const char *)data, size, boundary, &blen);
    if (nl != NULL && (size_t)(nl - data) >= 1 && (size_t)(nl - data) <= MULTIPART_MAX_BOUNDARY) {
        blen = (size_t)(nl - data);
        memcpy(boundary, data, blen);
        body = nl + 1;
        body_len = size - blen - 1;
    } else {
        memcpy(boundary, "b", 2);
        blen = 1;
    }
    char *copy = malloc(body_len > 0 ? body_len : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, body, body_len);
    if (multipart_init(&parser, copy, body_len, boundary, blen) == 0) {
        multipart_part_t part;
        multipart_status_t st;
        while ((st = multipart_next(&parser, &part)) == MULTIPART_PART) {
            if (part.name != NULL)
                sum += (unsigned char)part.name[part.name_len]; /* the NUL terminator */
            if (part.filename != NULL)
                sum += (unsigned char)part.filename[part.filename_len];
            if (part.content_type_len > 0)
                sum += (unsigned char)part.content_type[part.content_type_len - 1];
            if (part.body_len > 0)
                sum += (unsigned char)part.body[0] + (unsigned char)part.body[part.body_len - 1];
            if (part.body < copy || part.body + part.body_len > copy + body_len)
                abort();
        }
        if (multipart_next(&parser, &part) != st) /* end and errors are sticky */
            abort();
    }
    fuzz_multipart_sink = sum;
    free(copy);
    return 0;
}
