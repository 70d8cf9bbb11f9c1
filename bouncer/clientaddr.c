// SPDX-License-Identifier: MIT
/*
 * clientaddr: the client's address behind trusted proxies (see clientaddr.h for the rules).
 *
 * Every address is compared in one 16-byte form: IPv6 as is, IPv4 as the IPv4-mapped IPv6
 * address ::ffff:a.b.c.d, whose prefix length is the IPv4 one plus 96. So one array of blocks
 * serves both families, and a mapped peer (from a dual-stack socket) matches IPv4 blocks.
 * Lists hold a handful of proxies, so the membership test is a linear scan.
 *
 * The X-Forwarded-For walk reads the header from its right end only, one element at a time,
 * scanning at most CLIENTADDR_MAX_ENTRY bytes per element and CLIENTADDR_MAX_HOPS elements in
 * all: its cost does not depend on how much a client stuffed at the left. It runs on the worker
 * threads, reads the immutable list and allocates nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "bouncer/clientaddr.h"

/* Longest address text we hand to inet_pton ("ffff:...:255.255.255.255" is 45 bytes). */
#define ADDR_TEXT_MAX 63

typedef struct st_block_t {
    uint8_t addr[16]; /* the network, IPv4 mapped into ::ffff:0:0/96 */
    uint8_t prefix;   /* 0..128, in the 16-byte form */
} block_t;

struct st_clientaddr_list_t {
    block_t *blocks;
    size_t size;
    size_t capacity;
};

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_error(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
    if (err == NULL || err_size == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, err_size, fmt, args);
    va_end(args);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **text, size_t *len)
{
    while (*len != 0 && is_ows(**text)) {
        ++*text;
        --*len;
    }
    while (*len != 0 && is_ows((*text)[*len - 1]))
        --*len;
}

/* Converts a sockaddr to the 16-byte form; returns 0, or -1 for other families. */
static int to_bytes(const struct sockaddr *sa, uint8_t bytes[16])
{
    switch (sa->sa_family) {
    case AF_INET:
        memcpy(bytes, v4mapped_prefix, 12);
        memcpy(bytes + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    case AF_INET6:
        memcpy(bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    default:
        return -1;
    }
}

/* Writes a 16-byte address as a sockaddr, mapped addresses as AF_INET, with the given port. */
static void from_bytes(const uint8_t bytes[16], uint16_t port_be, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (memcmp(bytes, v4mapped_prefix, 12) == 0) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        sin->sin_port = port_be;
        memcpy(&sin->sin_addr, bytes + 12, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = port_be;
        memcpy(&sin6->sin6_addr, bytes, 16);
    }
}

/* Does addr lie in the network of prefix bits starting at net? */
static int prefix_match(const uint8_t net[16], unsigned prefix, const uint8_t addr[16])
{
    size_t full = prefix / 8;
    unsigned rest = prefix % 8;
    if (memcmp(net, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (net[full] & mask) == (addr[full] & mask);
}

static int bytes_trusted(const clientaddr_list_t *list, const uint8_t addr[16])
{
    if (list == NULL)
        return 0;
    for (size_t i = 0; i != list->size; ++i)
        if (prefix_match(list->blocks[i].addr, list->blocks[i].prefix, addr))
            return 1;
    return 0;
}

/* Parses an address (no brackets, no port) into the 16-byte form; returns 0 or -1. */
static int parse_bytes(const char *text, size_t len, uint8_t bytes[16], int *is_v4)
{
    char buf[ADDR_TEXT_MAX + 1];
    if (len == 0 || len > ADDR_TEXT_MAX)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, ':', len) != NULL) {
        *is_v4 = 0;
        return inet_pton(AF_INET6, buf, bytes) == 1 ? 0 : -1;
    }
    *is_v4 = 1;
    memcpy(bytes, v4mapped_prefix, 12);
    return inet_pton(AF_INET, buf, bytes + 12) == 1 ? 0 : -1;
}

/* Parses a port of 1 to 5 digits, at most 65535. */
static int parse_port(const char *text, size_t len)
{
    unsigned port = 0;
    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i != len; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        port = port * 10 + (unsigned)(text[i] - '0');
    }
    return port <= 65535 ? 0 : -1;
}

clientaddr_list_t *clientaddr_list_create(void)
{
    return calloc(1, sizeof(clientaddr_list_t));
}

void clientaddr_list_destroy(clientaddr_list_t *list)
{
    if (list == NULL)
        return;
    free(list->blocks);
    free(list);
}

size_t clientaddr_list_size(const clientaddr_list_t *list)
{
    return list->size;
}

int clientaddr_list_add(clientaddr_list_t *list, const char *cidr, size_t len, char *err, size_t err_size)
{
    block_t block;
    const char *slash;
    size_t addr_len;
    unsigned prefix, max_prefix;
    int is_v4, ret = -1;

    trim(&cidr, &len);
    /* Split "address/prefix" and parse both halves. */
    slash = memchr(cidr, '/', len);
    addr_len = slash != NULL ? (size_t)(slash - cidr) : len;
    if (parse_bytes(cidr, addr_len, block.addr, &is_v4) != 0) {
        set_error(err, err_size, "\"%.*s\": not an IPv4 or IPv6 address", (int)(len > 80 ? 80 : len), cidr);
        ret = -EINVAL;
        goto Exit;
    }
    max_prefix = is_v4 ? 32 : 128;
    prefix = max_prefix;
    if (slash != NULL) {
        const char *p = slash + 1, *end = cidr + len;
        if (p == end || end - p > 3) {
            set_error(err, err_size, "\"%.*s\": bad prefix length", (int)(len > 80 ? 80 : len), cidr);
            ret = -EINVAL;
            goto Exit;
        }
        for (prefix = 0; p != end; ++p) {
            if (*p < '0' || *p > '9') {
                set_error(err, err_size, "\"%.*s\": bad prefix length", (int)len, cidr);
                ret = -EINVAL;
                goto Exit;
            }
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (prefix > max_prefix) {
            set_error(err, err_size, "\"%.*s\": prefix length %u exceeds %u for an %s address", (int)len, cidr, prefix, max_prefix,
                      is_v4 ? "IPv4" : "IPv6");
            ret = -EINVAL;
            goto Exit;
        }
    }
    block.prefix = (uint8_t)(is_v4 ? prefix + 96 : prefix);

    /* Refuse host bits past the prefix: "10.0.0.1/8" is more likely a typo than an intent. */
    uint8_t net[16];
    memset(net, 0, sizeof(net));
    memcpy(net, block.addr, block.prefix / 8);
    if (block.prefix % 8 != 0)
        net[block.prefix / 8] = block.addr[block.prefix / 8] & (uint8_t)(0xff << (8 - block.prefix % 8));
    if (memcmp(net, block.addr, 16) != 0) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(is_v4 ? AF_INET : AF_INET6, is_v4 ? net + 12 : net, text, sizeof(text));
        set_error(err, err_size, "\"%.*s\": address has bits set past the /%u prefix (did you mean %s/%u?)", (int)len, cidr, prefix,
                  text, prefix);
        ret = -EINVAL;
        goto Exit;
    }

    /* Append. */
    if (list->size == CLIENTADDR_MAX_BLOCKS) {
        set_error(err, err_size, "too many trusted proxy blocks (at most %d)", CLIENTADDR_MAX_BLOCKS);
        ret = -E2BIG;
        goto Exit;
    }
    if (list->size == list->capacity) {
        size_t capacity = list->capacity == 0 ? 8 : list->capacity * 2;
        block_t *blocks = realloc(list->blocks, capacity * sizeof(*blocks));
        if (blocks == NULL) {
            set_error(err, err_size, "out of memory");
            ret = -ENOMEM;
            goto Exit;
        }
        list->blocks = blocks;
        list->capacity = capacity;
    }
    list->blocks[list->size++] = block;
    ret = 0;

Exit:
    return ret;
}

int clientaddr_list_parse(clientaddr_list_t *list, const char *text, size_t len, char *err, size_t err_size)
{
    size_t pos = 0;
    int ret = 0;

    while (pos < len) {
        /* Skip separators, then take one block up to the next separator. */
        while (pos < len && (text[pos] == ',' || is_ows(text[pos]) || text[pos] == '\n' || text[pos] == '\r'))
            ++pos;
        size_t start = pos;
        while (pos < len && !(text[pos] == ',' || is_ows(text[pos]) || text[pos] == '\n' || text[pos] == '\r'))
            ++pos;
        if (pos != start && (ret = clientaddr_list_add(list, text + start, pos - start, err, err_size)) != 0)
            break;
    }
    return ret;
}

int clientaddr_is_trusted(const clientaddr_list_t *list, const struct sockaddr *addr)
{
    uint8_t bytes[16];
    if (to_bytes(addr, bytes) != 0)
        return 0;
    return bytes_trusted(list, bytes);
}

/* Parses one X-Forwarded-For element into the 16-byte form; returns 0 or -1. */
static int parse_entry(const char *text, size_t len, uint8_t bytes[16])
{
    const char *colon;
    int is_v4;

    trim(&text, &len);
    if (len == 0)
        return -1;
    if (text[0] == '[') {
        /* "[v6]" or "[v6]:port" */
        const char *close = memchr(text, ']', len);
        if (close == NULL)
            return -1;
        size_t inner = (size_t)(close - text) - 1, after = len - inner - 2;
        if (after != 0 && (close[1] != ':' || parse_port(close + 2, after - 1) != 0))
            return -1;
        if (parse_bytes(text + 1, inner, bytes, &is_v4) != 0 || is_v4)
            return -1;
        return 0;
    }
    colon = memchr(text, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - text) - 1) == NULL) {
        /* One colon: "a.b.c.d:port" */
        if (parse_port(colon + 1, len - (size_t)(colon - text) - 1) != 0)
            return -1;
        if (parse_bytes(text, (size_t)(colon - text), bytes, &is_v4) != 0 || !is_v4)
            return -1;
        return 0;
    }
    return parse_bytes(text, len, bytes, &is_v4);
}

int clientaddr_parse(const char *text, size_t len, struct sockaddr_storage *out)
{
    uint8_t bytes[16];
    if (parse_entry(text, len, bytes) != 0) {
        memset(out, 0, sizeof(*out));
        out->ss_family = AF_UNSPEC;
        return -EINVAL;
    }
    from_bytes(bytes, 0, out);
    return 0;
}

int clientaddr_resolve_headers(const clientaddr_list_t *trusted, const struct sockaddr *peer, const clientaddr_header_t *headers,
                               size_t n, struct sockaddr_storage *out)
{
    uint8_t bytes[16];
    size_t hops = 0;
    int ret = CLIENTADDR_FROM_PEER;

    /* The peer is the first hop: if we do not trust it, nothing it says about others counts. */
    if (to_bytes(peer, bytes) != 0) {
        memset(out, 0, sizeof(*out));
        out->ss_family = AF_UNSPEC;
        ret = -EAFNOSUPPORT;
        goto Exit;
    }
    from_bytes(bytes,
               peer->sa_family == AF_INET ? ((const struct sockaddr_in *)peer)->sin_port
                                          : ((const struct sockaddr_in6 *)peer)->sin6_port,
               out);
    if (!bytes_trusted(trusted, bytes))
        goto Exit;

    /* Walk the elements right to left, the last header line first. */
    for (size_t h = n; h-- != 0;) {
        const char *base = headers[h].base;
        size_t end = headers[h].len;
        if (base == NULL)
            continue;
        for (;;) {
            /* Find the start of the element that ends at `end`, looking back a bounded distance. */
            size_t start = end, scanned = 0;
            while (start != 0 && base[start - 1] != ',') {
                if (++scanned > CLIENTADDR_MAX_ENTRY) {
                    ret = CLIENTADDR_FROM_LAST_PROXY;
                    goto Exit;
                }
                --start;
            }
            if (++hops > CLIENTADDR_MAX_HOPS) {
                ret = CLIENTADDR_FROM_LAST_PROXY;
                goto Exit;
            }
            const char *elem = base + start;
            size_t elem_len = end - start;
            trim(&elem, &elem_len);
            if (elem_len != 0) {
                /* Malformed: stop; the last trusted hop (already in *out) is the safest answer. */
                if (parse_entry(elem, elem_len, bytes) != 0) {
                    ret = CLIENTADDR_FROM_LAST_PROXY;
                    goto Exit;
                }
                from_bytes(bytes, 0, out);
                if (!bytes_trusted(trusted, bytes)) {
                    ret = CLIENTADDR_FROM_FORWARDED;
                    goto Exit;
                }
                ret = CLIENTADDR_FROM_LAST_PROXY;
            }
            if (start == 0)
                break;
            end = start - 1; /* step over the comma */
        }
    }

Exit:
    return ret;
}

int clientaddr_resolve(const clientaddr_list_t *trusted, const struct sockaddr *peer, const char *xff, size_t xff_len,
                       struct sockaddr_storage *out)
{
    clientaddr_header_t header = {xff, xff_len};
    return clientaddr_resolve_headers(trusted, peer, &header, xff != NULL ? 1 : 0, out);
}
