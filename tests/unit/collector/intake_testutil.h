// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the collector intake unit tests (multipart, submission, crashrec): a growable
 * byte buffer and a multipart/form-data body builder, so each test writes the exact bytes it sends.
 * Header-only with static functions: tests include it, never a .c file. Abort on OOM (tests only).
 */
#ifndef edge__tests_unit_collector_intake_testutil_h
#define edge__tests_unit_collector_intake_testutil_h

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_tbuf_t {
    char *p;
    size_t len, cap;
} tbuf_t;

static inline void tbuf_add(tbuf_t *b, const void *src, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            abort();
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, src, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void tbuf_str(tbuf_t *b, const char *s)
{
    tbuf_add(b, s, strlen(s));
}

static inline void tbuf_free(tbuf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Appends one part: `--boundary`, Content-Disposition with name (and filename if not NULL),
 * Content-Type if not NULL, blank line, body, CRLF. */
static inline void tbuf_part(tbuf_t *b, const char *boundary, const char *name, const char *filename, const char *type,
                             const void *body, size_t len)
{
    tbuf_str(b, "--");
    tbuf_str(b, boundary);
    tbuf_str(b, "\r\nContent-Disposition: form-data; name=\"");
    tbuf_str(b, name);
    tbuf_str(b, "\"");
    if (filename != NULL) {
        tbuf_str(b, "; filename=\"");
        tbuf_str(b, filename);
        tbuf_str(b, "\"");
    }
    tbuf_str(b, "\r\n");
    if (type != NULL) {
        tbuf_str(b, "Content-Type: ");
        tbuf_str(b, type);
        tbuf_str(b, "\r\n");
    }
    tbuf_str(b, "\r\n");
    tbuf_add(b, body, len);
    tbuf_str(b, "\r\n");
}

static inline void tbuf_text(tbuf_t *b, const char *boundary, const char *name, const char *value)
{
    tbuf_part(b, boundary, name, NULL, NULL, value, strlen(value));
}

static inline void tbuf_close(tbuf_t *b, const char *boundary)
{
    tbuf_str(b, "--");
    tbuf_str(b, boundary);
    tbuf_str(b, "--\r\n");
}

#endif
