// SPDX-License-Identifier: MIT
/*
 * multipart: a multipart/form-data (RFC 7578 / RFC 2046) parser for crash report bodies.
 *
 * The whole body is in memory (h2o buffers it), so the parser is an iterator over an immutable
 * buffer: each call to multipart_next() yields one part whose body is a (ptr,len) view into that
 * buffer; part bodies are never copied. Decoded header parameters (name, filename) live in a
 * scratch area inside the parser and stay valid until the next call.
 *
 * The delimiter search is linear (see find_delimiter in multipart.c) in the body size whatever the number of
 * parts (10,000 tiny annotations) or the size of one part (a 25 MB minidump). A boundary-like string
 * inside a part is data unless it starts a line (CRLF "--" boundary) and is followed by "--" or
 * optional blanks and CRLF. Each part's header section is bounded (MULTIPART_MAX_HEADER_SIZE); the
 * number of parts is not. A body that ends before the close delimiter is an error.
 *
 * No allocation, no global state; a parser is used by one thread at a time.
 */
#ifndef edge__collector_multipart_h
#define edge__collector_multipart_h

#include <stddef.h>

/** Longest boundary accepted (RFC 2046 says 70; some clients are generous, so allow more). */
#define MULTIPART_MAX_BOUNDARY 200
/** Largest header section of one part, blank line included; larger is MULTIPART_EHEADER_SIZE. */
#define MULTIPART_MAX_HEADER_SIZE (16 * 1024)

typedef enum en_multipart_status_t {
    MULTIPART_END = 0,           /**< the close delimiter was reached; no more parts */
    MULTIPART_PART = 1,          /**< one part was returned */
    MULTIPART_ENOSTART = -1,     /**< no delimiter line found: wrong boundary or not multipart */
    MULTIPART_ETRUNCATED = -2,   /**< the body ends before the close delimiter */
    MULTIPART_EHEADER = -3,      /**< a part header line is malformed (no colon, bare LF, bad quoting) */
    MULTIPART_EHEADER_SIZE = -4, /**< a part's header section exceeds MULTIPART_MAX_HEADER_SIZE */
} multipart_status_t;

/** One part. Every pointer is valid until the next multipart_next() call on the same parser. */
typedef struct st_multipart_part_t {
    /** Content-Disposition `name`, unquoted and NUL-terminated (may contain NUL); NULL if absent. */
    const char *name;
    size_t name_len;
    /** Content-Disposition `filename`, unquoted and NUL-terminated; NULL if absent. */
    const char *filename;
    size_t filename_len;
    /** Content-Type header value, trimmed, a view into the body (not NUL-terminated); NULL if absent. */
    const char *content_type;
    size_t content_type_len;
    /** The part body: a view into the parsed buffer (not NUL-terminated). */
    const char *body;
    size_t body_len;
} multipart_part_t;

typedef struct st_multipart_parser_t {
    const char *_buf;
    size_t _len;
    size_t _pos; /* where the next header section starts, once started */
    int _state;  /* 0 = before the first delimiter, 1 = between parts, 2 = done, <0 = failed */
    size_t _delim_len;
    char _delim[4 + MULTIPART_MAX_BOUNDARY]; /* CRLF "--" boundary */
    char _scratch[MULTIPART_MAX_HEADER_SIZE + 2];
} multipart_parser_t;

/**
 * Finds the boundary parameter of a Content-Type value, wherever it is among the parameters
 * (`multipart/form-data; charset=x; Boundary="a b"`), quoted (with backslash escapes) or not.
 * @param[in] content_type header value (not NUL-terminated)
 * @param[in] len its length
 * @param[out] buf receives the boundary, NUL-terminated; must hold MULTIPART_MAX_BOUNDARY + 1 bytes
 * @param[out] boundary_len receives the boundary length
 * @return 0, -ENOENT when there is no boundary parameter, -EINVAL when it is empty, longer than
 *         MULTIPART_MAX_BOUNDARY, contains CR/LF or its quoting is broken.
 */
int multipart_boundary_from_content_type(const char *content_type, size_t len, char *buf, size_t *boundary_len);

/**
 * Prepares a parser over body.
 * @param[out] p parser (caller-allocated, about 16 KiB: fine on a worker's stack or in a struct)
 * @param[in] body the whole multipart body; must stay alive and unchanged while parts are used
 * @param[in] boundary 1..MULTIPART_MAX_BOUNDARY bytes (as from multipart_boundary_from_content_type)
 * @return 0, or -EINVAL if the boundary length is out of range.
 */
int multipart_init(multipart_parser_t *p, const char *body, size_t len, const char *boundary, size_t boundary_len);

/**
 * Returns the next part.
 * @param[in,out] p parser
 * @param[out] part filled when MULTIPART_PART is returned
 * @return MULTIPART_PART, MULTIPART_END, or a negative multipart_status_t (then every later call
 *         returns the same error).
 * @note part's pointers are valid until the next call on p and while the body lives.
 */
multipart_status_t multipart_next(multipart_parser_t *p, multipart_part_t *part);

/** A static English description of a multipart_status_t. */
const char *multipart_strerror(multipart_status_t status);

/**
 * Narrows (*s, *len) to its content without leading and trailing whitespace (space, tab, CR, LF),
 * as header values and parameters are compared. Shared with the submission pipeline.
 */
void multipart_trim(const char **s, size_t *len);

#endif
