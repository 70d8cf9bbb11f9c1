// SPDX-License-Identifier: MIT
/*
 * clientaddr: who is the client? The socket peer, or, behind trusted proxies, the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy.
 *
 * Each proxy appends the address it received the request from, so only the right end of the
 * header is written by machines we trust; the left end is whatever the client sent. The walk
 * therefore starts at the socket peer and moves left while the hop in hand is a trusted proxy;
 * the first untrusted address is the client. Anything the walk cannot read (a malformed entry,
 * "unknown", an obfuscated RFC 7239 name, more than CLIENTADDR_MAX_HOPS hops) stops it, and the
 * client is then the last trusted hop reached: the address of a proxy we trust, never a value a
 * client could choose. The walk reads at most CLIENTADDR_MAX_HOPS entries of at most
 * CLIENTADDR_MAX_ENTRY bytes from the right end, however long the header is.
 *
 * The trusted list is built once from configuration (CIDR blocks, IPv4 and IPv6) and is then
 * immutable: any number of threads may use it at once. Resolution allocates nothing.
 */
#ifndef edge__bouncer_clientaddr_h
#define edge__bouncer_clientaddr_h

#include <stddef.h>
#include <sys/socket.h>

/** Most X-Forwarded-For entries examined per request. */
#define CLIENTADDR_MAX_HOPS 32
/** Longest X-Forwarded-For entry accepted, spaces included ("[v6]:port" is at most 53 bytes). */
#define CLIENTADDR_MAX_ENTRY 128
/** Most CIDR blocks in a trusted list. */
#define CLIENTADDR_MAX_BLOCKS 4096

typedef struct st_clientaddr_list_t clientaddr_list_t;

/** One header value: a view, not NUL-terminated. */
typedef struct st_clientaddr_header_t {
    const char *base;
    size_t len;
} clientaddr_header_t;

typedef enum en_clientaddr_source_t {
    CLIENTADDR_FROM_PEER = 0,   /**< the socket peer is the client (peer untrusted, or no usable header) */
    CLIENTADDR_FROM_FORWARDED,  /**< an untrusted X-Forwarded-For entry is the client */
    CLIENTADDR_FROM_LAST_PROXY, /**< every hop read was a trusted proxy, or the walk stopped at a malformed
                                     entry or at the hop limit: the client is the last trusted hop */
} clientaddr_source_t;

/**
 * Creates an empty trusted list (no proxy is trusted).
 * @return the list, or NULL when out of memory
 * @note The caller owns the list; release it with clientaddr_list_destroy.
 */
clientaddr_list_t *clientaddr_list_create(void);

/** Frees a list. NULL is a no-op. */
void clientaddr_list_destroy(clientaddr_list_t *list);

/**
 * Adds one CIDR block: "10.0.0.0/8", "2001:db8::/32", or a bare address ("192.168.1.5" is a /32,
 * "::1" a /128). Leading and trailing spaces are ignored. An IPv4-mapped IPv6 block
 * ("::ffff:10.0.0.0/104") is the same as the IPv4 block it carries; IPv4 addresses are compared
 * as ::ffff:a.b.c.d, so "::/0" trusts every IPv4 address too, while "0.0.0.0/0" trusts no IPv6.
 * @param[in] cidr text, not necessarily NUL-terminated
 * @param[in] len its length
 * @param[out] err receives a one-line reason on -EINVAL (may be NULL), e.g.
 *             "\"10.0.0.1/8\": address has bits set past the /8 prefix (did you mean 10.0.0.0/8?)"
 * @return 0; -EINVAL for bad syntax, a prefix too long for the family, or host bits set;
 *         -E2BIG past CLIENTADDR_MAX_BLOCKS blocks; -ENOMEM
 * @note Not thread-safe: build the list before sharing it.
 */
int clientaddr_list_add(clientaddr_list_t *list, const char *cidr, size_t len, char *err, size_t err_size);

/**
 * Adds every block of a list separated by commas and/or whitespace, e.g. "10.0.0.0/8, ::1".
 * Stops at the first bad block (the blocks before it stay added).
 * @return as clientaddr_list_add
 */
int clientaddr_list_parse(clientaddr_list_t *list, const char *text, size_t len, char *err, size_t err_size);

/** Number of blocks in the list. */
size_t clientaddr_list_size(const clientaddr_list_t *list);

/**
 * Tells whether an address lies in one of the trusted blocks, e.g. to decide whether to honour
 * X-Forwarded-Proto from this peer. IPv4-mapped IPv6 addresses match IPv4 blocks.
 * @param[in] list the trusted list, or NULL (trusts nobody)
 * @param[in] addr sockaddr_in or sockaddr_in6; any other family is not trusted
 * @return 1 if trusted, 0 otherwise
 */
int clientaddr_is_trusted(const clientaddr_list_t *list, const struct sockaddr *addr);

/**
 * Parses one X-Forwarded-For entry: an IPv4 address ("192.0.2.1"), optionally with a port
 * ("192.0.2.1:8080"), an IPv6 address with or without brackets ("2001:db8::1", "[2001:db8::1]"),
 * optionally with a port when bracketed ("[2001:db8::1]:443"); surrounding spaces and tabs are
 * ignored. Ports are accepted and dropped. An unbracketed IPv6 address cannot carry a port (its
 * last group would be read as part of the address). Zone ids ("fe80::1%eth0"), names, "unknown"
 * and anything else are refused.
 * @param[out] out the address as sockaddr_in or sockaddr_in6, port 0; an IPv4-mapped IPv6
 *             address is returned as AF_INET
 * @return 0, or -EINVAL
 */
int clientaddr_parse(const char *text, size_t len, struct sockaddr_storage *out);

/**
 * Finds the client address of a request.
 * If the socket peer is not a trusted proxy, the client is the peer and the header is ignored.
 * Otherwise the X-Forwarded-For entries are read right to left, skipping trusted proxies; the
 * first untrusted entry is the client. Empty list elements (",,") are skipped. A malformed entry
 * or the hop limit stops the walk, and the client is then the last trusted hop (see the top).
 * @param[in] trusted trusted proxies, or NULL (trusts nobody)
 * @param[in] peer the socket peer (sockaddr_in or sockaddr_in6)
 * @param[in] xff the X-Forwarded-For value (not NUL-terminated), or NULL when absent
 * @param[in] xff_len its length
 * @param[out] out the client address (port 0 when it came from the header; the peer's port when
 *             it is the peer); IPv4-mapped IPv6 addresses are returned as AF_INET
 * @return a clientaddr_source_t (>= 0), or -EAFNOSUPPORT when the peer is neither AF_INET nor
 *         AF_INET6 (then out->ss_family is AF_UNSPEC)
 * @note Thread-safe and allocation-free. When a request carries several X-Forwarded-For header
 *       lines, use clientaddr_resolve_headers: a proxy may append its own line.
 */
int clientaddr_resolve(const clientaddr_list_t *trusted, const struct sockaddr *peer, const char *xff, size_t xff_len,
                       struct sockaddr_storage *out);

/**
 * As clientaddr_resolve, for a request with several X-Forwarded-For header lines, given in the
 * order they appear in the request; they are read as one comma-separated list (RFC 9110 5.3),
 * right to left, and the hop limit applies to the whole.
 * @param[in] headers array of n values (may be NULL when n is 0)
 */
int clientaddr_resolve_headers(const clientaddr_list_t *trusted, const struct sockaddr *peer, const clientaddr_header_t *headers,
                               size_t n, struct sockaddr_storage *out);

#endif
