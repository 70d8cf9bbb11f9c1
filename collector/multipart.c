// SPDX-License-Identifier: MIT
/*
 * multipart: iterator over the parts of a multipart/form-data body held in memory.
 *
 * Grammar followed (RFC 2046 section 5.1.1, as real crash clients produce it):
 *   body      = [preamble CRLF] "--" boundary padding CRLF part *(CRLF "--" boundary padding CRLF part)
 *               CRLF "--" boundary "--" [epilogue]
 *   part      = *(header CRLF) CRLF data
 * where padding is optional blanks. The first delimiter may sit at offset 0; every later one must
 * start a line. A "--boundary" that does not start a line, or that is followed by anything other
 * than "--" or padding+CRLF, is part of the data: a minidump may contain any bytes.
 *
 * Header lines end with CRLF (a bare CR or LF is malformed); folded continuation lines are joined.
 * Only Content-Disposition (name, filename) and Content-Type matter; other headers are skipped.
 * Quoted parameter values unescape \" and \\ only, and keep any other backslash: Windows Breakpad
 * sends `filename="C:\Users\...\x.dmp"` unescaped, and browsers and Python's cgi do the same.
 *
 * Runs on whichever thread calls it; the parser holds no shared state.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "collector/multipart.h"

enum { CLASSIFY_NOT = 0, CLASSIFY_OPEN = 1, CLASSIFY_CLOSE = 2, CLASSIFY_TRUNCATED = -1 };

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void multipart_trim(const char **s, size_t *len)
{
    while (*len > 0 && is_ows(**s)) {
        ++*s;
        --*len;
    }
    while (*len > 0 && is_ows((*s)[*len - 1]))
        --*len;
}

/* Given the offset just past "--boundary", tells whether it is a real delimiter line. */
static int classify(const multipart_parser_t *p, size_t q, size_t *next)
{
    const char *b = p->_buf;
    size_t len = p->_len;

    if (q + 2 <= len && b[q] == '-' && b[q + 1] == '-')
        return CLASSIFY_CLOSE;
    if (q + 1 == len && b[q] == '-')
        return CLASSIFY_TRUNCATED;
    while (q < len && is_blank(b[q]))
        ++q;
    if (q == len)
        return CLASSIFY_TRUNCATED;
    if (b[q] != '\r')
        return CLASSIFY_NOT;
    if (q + 1 == len)
        return CLASSIFY_TRUNCATED;
    if (b[q + 1] != '\n')
        return CLASSIFY_NOT;
    *next = q + 2;
    return CLASSIFY_OPEN;
}

/* Finds the first real delimiter line whose CRLF starts at or after `from`. Returns CLASSIFY_NOT
 * when there is none, else sets *at to the CR and *next past the delimiter line.
 * The scan jumps from CR to CR with memchr and compares the delimiter there. The boundary holds no
 * CR, so a comparison that matches k bytes proves the next k-1 bytes hold no CR: the total work is
 * linear whatever the data and the (client-chosen) boundary. (memmem would be linear too, but
 * restarting it after each false hit makes ASan's interceptor re-check the whole rest each time.) */
static int find_delimiter(const multipart_parser_t *p, size_t from, size_t *at, size_t *next)
{
    while (from < p->_len) {
        const char *cr = memchr(p->_buf + from, '\r', p->_len - from);
        if (cr == NULL)
            return CLASSIFY_NOT;
        size_t d = (size_t)(cr - p->_buf);
        if (p->_len - d >= p->_delim_len && memcmp(cr, p->_delim, p->_delim_len) == 0) {
            int r = classify(p, d + p->_delim_len, next);
            if (r != CLASSIFY_NOT) {
                *at = d;
                return r;
            }
        }
        from = d + 1;
    }
    return CLASSIFY_NOT;
}

/* Copies a parameter value into the scratch area, unquoting it; returns its start or NULL. */
static const char *store_param(multipart_parser_t *p, size_t *used, const char *v, size_t vlen, int quoted, size_t *outlen)
{
    char *dst = p->_scratch + *used;
    size_t n = 0;

    if (*used + vlen + 1 > sizeof(p->_scratch))
        return NULL;
    for (size_t i = 0; i < vlen; ++i) {
        if (quoted && v[i] == '\\' && i + 1 < vlen && (v[i + 1] == '"' || v[i + 1] == '\\'))
            ++i;
        dst[n++] = v[i];
    }
    dst[n] = '\0';
    *used += n + 1;
    *outlen = n;
    return dst;
}

/* Parses `form-data; name="x"; filename="y"`. Returns 0 or MULTIPART_EHEADER. */
static int parse_disposition(multipart_parser_t *p, size_t *used, const char *v, size_t len, multipart_part_t *part)
{
    size_t i = 0;

    /* the disposition type (form-data, attachment, ...) is not checked */
    while (i < len && v[i] != ';')
        ++i;
    while (i < len) {
        while (i < len && (is_ows(v[i]) || v[i] == ';'))
            ++i;
        if (i == len)
            break;
        size_t ns = i;
        while (i < len && v[i] != '=' && v[i] != ';' && !is_ows(v[i]))
            ++i;
        size_t nlen = i - ns;
        while (i < len && is_ows(v[i]))
            ++i;
        if (i == len || v[i] == ';')
            continue; /* a parameter without value: ignored */
        if (v[i] != '=')
            return MULTIPART_EHEADER;
        ++i;
        while (i < len && is_ows(v[i]))
            ++i;
        const char *val;
        size_t vlen;
        int quoted = 0;
        if (i < len && v[i] == '"') {
            size_t vs = ++i;
            while (i < len && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < len)
                    ++i;
                ++i;
            }
            if (i == len)
                return MULTIPART_EHEADER; /* unterminated quoted string */
            val = v + vs;
            vlen = i - vs;
            quoted = 1;
            ++i;
            while (i < len && is_ows(v[i]))
                ++i;
            if (i < len && v[i] != ';')
                return MULTIPART_EHEADER;
        } else {
            /* A token; be lenient and take everything up to ';' (unquoted paths with spaces). */
            size_t vs = i;
            while (i < len && v[i] != ';')
                ++i;
            val = v + vs;
            vlen = i - vs;
            multipart_trim(&val, &vlen);
        }
        const char **dst = NULL;
        size_t *dst_len = NULL;
        if (nlen == 4 && strncasecmp(v + ns, "name", 4) == 0) {
            dst = &part->name;
            dst_len = &part->name_len;
        } else if (nlen == 8 && strncasecmp(v + ns, "filename", 8) == 0) {
            dst = &part->filename;
            dst_len = &part->filename_len;
        }
        if (dst != NULL && (*dst = store_param(p, used, val, vlen, quoted, dst_len)) == NULL)
            return MULTIPART_EHEADER;
    }
    return 0;
}

/* Parses the header lines in [s, end), where end is just past the last line's CRLF. */
static int parse_headers(multipart_parser_t *p, const char *s, const char *end, multipart_part_t *part)
{
    size_t used = 0;

    while (s < end) {
        /* one logical header: a line plus its folded continuation lines */
        if (is_blank(*s))
            return MULTIPART_EHEADER;
        const char *line_end = s;
        for (;;) {
            const char *cr = memchr(line_end, '\r', (size_t)(end - line_end));
            const char *lf = memchr(line_end, '\n', (size_t)(end - line_end));
            if (cr == NULL || lf != cr + 1)
                return MULTIPART_EHEADER; /* bare CR or LF */
            line_end = cr + 2;
            if (line_end == end || !is_blank(*line_end))
                break;
        }
        const char *colon = memchr(s, ':', (size_t)(line_end - s));
        if (colon == NULL || colon == s)
            return MULTIPART_EHEADER;
        size_t nlen = (size_t)(colon - s);
        for (size_t i = 0; i < nlen; ++i)
            if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
                return MULTIPART_EHEADER;
        const char *v = colon + 1;
        size_t vlen = (size_t)(line_end - v);
        multipart_trim(&v, &vlen);
        if (nlen == 19 && strncasecmp(s, "content-disposition", 19) == 0) {
            part->name = part->filename = NULL;
            part->name_len = part->filename_len = 0;
            int r = parse_disposition(p, &used, v, vlen, part);
            if (r != 0)
                return r;
        } else if (nlen == 12 && strncasecmp(s, "content-type", 12) == 0) {
            part->content_type = v;
            part->content_type_len = vlen;
        }
        s = line_end;
    }
    return 0;
}

int multipart_boundary_from_content_type(const char *ct, size_t len, char *buf, size_t *boundary_len)
{
    size_t i = 0;
    int ret = -ENOENT;

    /* skip the media type, then walk the parameters */
    while (i < len && ct[i] != ';')
        ++i;
    while (i < len) {
        while (i < len && (is_ows(ct[i]) || ct[i] == ';'))
            ++i;
        size_t ns = i;
        while (i < len && ct[i] != '=' && ct[i] != ';' && !is_ows(ct[i]))
            ++i;
        size_t nlen = i - ns;
        while (i < len && is_ows(ct[i]))
            ++i;
        if (i == len || ct[i] != '=')
            continue;
        ++i;
        while (i < len && is_ows(ct[i]))
            ++i;
        int is_boundary = nlen == 8 && strncasecmp(ct + ns, "boundary", 8) == 0;
        size_t n = 0;
        int bad = 0;
        if (i < len && ct[i] == '"') {
            for (++i; i < len && ct[i] != '"'; ++i) {
                if (ct[i] == '\\' && i + 1 < len)
                    ++i;
                if (n < MULTIPART_MAX_BOUNDARY)
                    buf[n] = ct[i];
                ++n;
            }
            if (i == len)
                bad = 1;
            else
                ++i;
        } else {
            for (; i < len && ct[i] != ';' && !is_ows(ct[i]); ++i) {
                if (n < MULTIPART_MAX_BOUNDARY)
                    buf[n] = ct[i];
                ++n;
            }
        }
        if (!is_boundary)
            continue;
        ret = -EINVAL;
        if (bad || n == 0 || n > MULTIPART_MAX_BOUNDARY || memchr(buf, '\r', n) != NULL || memchr(buf, '\n', n) != NULL)
            goto Exit;
        buf[n] = '\0';
        *boundary_len = n;
        ret = 0;
        goto Exit;
    }

Exit:
    return ret;
}

int multipart_init(multipart_parser_t *p, const char *body, size_t len, const char *boundary, size_t boundary_len)
{
    if (boundary_len == 0 || boundary_len > MULTIPART_MAX_BOUNDARY)
        return -EINVAL;
    p->_buf = body;
    p->_len = body == NULL ? 0 : len;
    p->_pos = 0;
    p->_state = 0;
    memcpy(p->_delim, "\r\n--", 4);
    memcpy(p->_delim + 4, boundary, boundary_len);
    p->_delim_len = 4 + boundary_len;
    return 0;
}

/* Finds the first delimiter: at offset 0 (without the CRLF) or at the end of the preamble. */
static multipart_status_t start(multipart_parser_t *p)
{
    size_t at, next = 0;
    int r = CLASSIFY_NOT;

    if (p->_len >= p->_delim_len - 2 && memcmp(p->_buf, p->_delim + 2, p->_delim_len - 2) == 0)
        r = classify(p, p->_delim_len - 2, &next);
    if (r == CLASSIFY_NOT)
        r = find_delimiter(p, 0, &at, &next);
    switch (r) {
    case CLASSIFY_OPEN:
        p->_pos = next;
        p->_state = 1;
        return MULTIPART_PART;
    case CLASSIFY_CLOSE:
        p->_state = 2;
        return MULTIPART_END;
    case CLASSIFY_TRUNCATED:
        return MULTIPART_ETRUNCATED;
    default:
        return MULTIPART_ENOSTART;
    }
}

multipart_status_t multipart_next(multipart_parser_t *p, multipart_part_t *part)
{
    multipart_status_t ret;
    size_t body_start, at, next = 0;

    if (p->_state < 0 || p->_state == 2) {
        ret = p->_state < 0 ? (multipart_status_t)p->_state : MULTIPART_END;
        goto Exit;
    }
    if (p->_state == 0 && (ret = start(p)) != MULTIPART_PART)
        goto Exit;

    memset(part, 0, sizeof(*part));
    /* header section */
    size_t remaining = p->_len - p->_pos;
    const char *hs = p->_buf + p->_pos;
    if (remaining >= 2 && hs[0] == '\r' && hs[1] == '\n') {
        body_start = p->_pos + 2;
    } else {
        size_t limit = remaining < MULTIPART_MAX_HEADER_SIZE ? remaining : MULTIPART_MAX_HEADER_SIZE;
        const char *blank = memmem(hs, limit, "\r\n\r\n", 4);
        if (blank == NULL) {
            ret = remaining > MULTIPART_MAX_HEADER_SIZE ? MULTIPART_EHEADER_SIZE : MULTIPART_ETRUNCATED;
            goto Exit;
        }
        if ((ret = parse_headers(p, hs, blank + 2, part)) != 0)
            goto Exit;
        body_start = (size_t)(blank + 4 - p->_buf);
    }

    /* body, up to the next delimiter line */
    switch (find_delimiter(p, body_start, &at, &next)) {
    case CLASSIFY_OPEN:
        p->_pos = next;
        break;
    case CLASSIFY_CLOSE:
        p->_state = 2;
        break;
    default:
        ret = MULTIPART_ETRUNCATED;
        goto Exit;
    }
    part->body = p->_buf + body_start;
    part->body_len = at - body_start;
    ret = MULTIPART_PART;

Exit:
    if (ret < 0)
        p->_state = ret;
    return ret;
}

const char *multipart_strerror(multipart_status_t status)
{
    switch (status) {
    case MULTIPART_END:
        return "end of multipart body";
    case MULTIPART_PART:
        return "part";
    case MULTIPART_ENOSTART:
        return "no boundary delimiter found";
    case MULTIPART_ETRUNCATED:
        return "multipart body is truncated";
    case MULTIPART_EHEADER:
        return "malformed part header";
    case MULTIPART_EHEADER_SIZE:
        return "part header section too large";
    }
    return "unknown multipart status";
}
