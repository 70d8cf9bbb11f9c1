// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/clientaddr.c: trusted-proxy CIDR lists, X-Forwarded-For entry parsing,
 * and the right-to-left walk (spoofed entries, all-trusted chains, garbage, huge headers).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "bouncer/clientaddr.h"

static void make_addr(const char *text, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    }
}

/* Formats an address as "a.b.c.d" or "v6" (no port) for comparisons. */
static const char *fmt(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    if (ss->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, size);
    if (ss->ss_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, size);
    snprintf(buf, size, "family %d", ss->ss_family);
    return buf;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static clientaddr_list_t *make_list(const char *text)
{
    char err[256] = "";
    clientaddr_list_t *list = clientaddr_list_create();
    assert_non_null(list);
    int ret = clientaddr_list_parse(list, text, strlen(text), err, sizeof(err));
    if (ret != 0)
        print_error("%s: %s\n", text, err);
    assert_int_equal(ret, 0);
    return list;
}

static int trusted(const clientaddr_list_t *list, const char *ip)
{
    struct sockaddr_storage ss;
    make_addr(ip, 0, &ss);
    return clientaddr_is_trusted(list, (struct sockaddr *)&ss);
}

static void test_list_parse(void **state)
{
    clientaddr_list_t *list = make_list(" 10.0.0.0/8, 192.168.1.5 ::1/128\n2001:db8::/32,,172.16.0.0/12\t");
    assert_int_equal(clientaddr_list_size(list), 5);
    assert_true(trusted(list, "10.0.0.0"));
    assert_true(trusted(list, "10.255.255.255"));
    assert_false(trusted(list, "11.0.0.0"));
    assert_false(trusted(list, "9.255.255.255"));
    assert_true(trusted(list, "192.168.1.5"));
    assert_false(trusted(list, "192.168.1.6"));
    assert_false(trusted(list, "192.168.1.4"));
    assert_true(trusted(list, "172.31.255.255"));
    assert_false(trusted(list, "172.32.0.0"));
    assert_true(trusted(list, "::1"));
    assert_false(trusted(list, "::2"));
    assert_true(trusted(list, "2001:db8:ffff::1"));
    assert_false(trusted(list, "2001:db9::1"));
    /* A mapped peer from a dual-stack socket matches the IPv4 blocks. */
    assert_true(trusted(list, "::ffff:10.1.2.3"));
    assert_false(trusted(list, "::ffff:11.1.2.3"));
    /* The IPv4 address 0.0.0.1 is not the IPv6 address ::1. */
    assert_false(trusted(list, "0.0.0.1"));

    /* Other families and the NULL list trust nobody. */
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_false(clientaddr_is_trusted(list, (struct sockaddr *)&sun));
    assert_false(trusted(NULL, "10.0.0.1"));
    clientaddr_list_destroy(list);

    /* An empty list parses and trusts nobody. */
    list = make_list(" , \n");
    assert_int_equal(clientaddr_list_size(list), 0);
    assert_false(trusted(list, "10.0.0.1"));
    clientaddr_list_destroy(list);
    clientaddr_list_destroy(NULL);
}

static void test_list_odd_prefixes(void **state)
{
    clientaddr_list_t *list = make_list("0.0.0.0/0");
    assert_true(trusted(list, "1.2.3.4"));
    assert_true(trusted(list, "255.255.255.255"));
    assert_false(trusted(list, "2001:db8::1"));
    clientaddr_list_destroy(list);

    list = make_list("::/0");
    assert_true(trusted(list, "2001:db8::1"));
    assert_true(trusted(list, "1.2.3.4"));
    clientaddr_list_destroy(list);

    /* Prefixes that do not fall on a byte boundary. */
    list = make_list("192.0.2.64/27, 2001:db8:8000::/33, ::ffff:198.51.100.0/120");
    assert_false(trusted(list, "192.0.2.63"));
    assert_true(trusted(list, "192.0.2.64"));
    assert_true(trusted(list, "192.0.2.95"));
    assert_false(trusted(list, "192.0.2.96"));
    assert_false(trusted(list, "2001:db8:7fff::1"));
    assert_true(trusted(list, "2001:db8:8000::1"));
    assert_true(trusted(list, "2001:db8:ffff::1"));
    assert_true(trusted(list, "198.51.100.200")); /* a mapped block is the IPv4 block */
    assert_false(trusted(list, "198.51.101.1"));
    clientaddr_list_destroy(list);
}

static void expect_add_error(const char *cidr, int code, const char *needle)
{
    char err[256] = "";
    clientaddr_list_t *list = clientaddr_list_create();
    assert_non_null(list);
    int ret = clientaddr_list_add(list, cidr, strlen(cidr), err, sizeof(err));
    if (ret != code || strstr(err, needle) == NULL)
        print_error("\"%s\": %d \"%s\", want %d \"...%s...\"\n", cidr, ret, err, code, needle);
    assert_int_equal(ret, code);
    assert_non_null(strstr(err, needle));
    assert_int_equal(clientaddr_list_size(list), 0);
    assert_int_equal(clientaddr_list_add(list, cidr, strlen(cidr), NULL, 0), code);
    clientaddr_list_destroy(list);
}

static void test_list_errors(void **state)
{
    expect_add_error("10.0.0.0/33", -EINVAL, "prefix length 33 exceeds 32 for an IPv4 address");
    expect_add_error("::/129", -EINVAL, "prefix length 129 exceeds 128 for an IPv6 address");
    expect_add_error("10.0.0.1/8", -EINVAL, "bits set past the /8 prefix (did you mean 10.0.0.0/8?)");
    expect_add_error("192.168.1.5/24", -EINVAL, "did you mean 192.168.1.0/24?");
    expect_add_error("2001:db8::1/32", -EINVAL, "did you mean 2001:db8::/32?");
    expect_add_error("10.0.0.0/", -EINVAL, "bad prefix length");
    expect_add_error("10.0.0.0/-1", -EINVAL, "bad prefix length");
    expect_add_error("10.0.0.0/+8", -EINVAL, "bad prefix length");
    expect_add_error("10.0.0.0/1000", -EINVAL, "bad prefix length");
    expect_add_error("10.0.0.0/8/9", -EINVAL, "bad prefix length");
    expect_add_error("10.0.0.0/8 x", -EINVAL, "bad prefix length");
    expect_add_error("300.0.0.1", -EINVAL, "\"300.0.0.1\": not an IPv4 or IPv6 address");
    expect_add_error("10.0.0", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("01.2.3.4", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("proxy.example", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("/8", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("fe80::1%eth0", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("[::1]/128", -EINVAL, "not an IPv4 or IPv6 address");
    expect_add_error("1::2::3", -EINVAL, "not an IPv4 or IPv6 address");

    /* clientaddr_list_parse stops at the first bad block and keeps the ones before it. */
    char err[256] = "";
    const char *text = "10.0.0.0/8, nonsense, 192.168.0.0/16";
    clientaddr_list_t *list = clientaddr_list_create();
    assert_int_equal(clientaddr_list_parse(list, text, strlen(text), err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "\"nonsense\": not an IPv4 or IPv6 address");
    assert_int_equal(clientaddr_list_size(list), 1);
    clientaddr_list_destroy(list);

    /* The block limit. */
    list = clientaddr_list_create();
    char cidr[64];
    for (int i = 0; i != CLIENTADDR_MAX_BLOCKS; ++i) {
        int n = snprintf(cidr, sizeof(cidr), "10.%d.%d.0/24", i / 256, i % 256);
        assert_int_equal(clientaddr_list_add(list, cidr, (size_t)n, NULL, 0), 0);
    }
    assert_int_equal(clientaddr_list_add(list, "11.0.0.0/8", 10, err, sizeof(err)), -E2BIG);
    assert_non_null(strstr(err, "too many trusted proxy blocks"));
    assert_int_equal(clientaddr_list_size(list), CLIENTADDR_MAX_BLOCKS);
    assert_true(trusted(list, "10.15.255.1"));
    assert_false(trusted(list, "10.16.0.1"));
    clientaddr_list_destroy(list);
}

static void expect_parse(const char *text, int family, const char *want)
{
    struct sockaddr_storage ss;
    char buf[INET6_ADDRSTRLEN];
    assert_int_equal(clientaddr_parse(text, strlen(text), &ss), 0);
    assert_int_equal(ss.ss_family, family);
    assert_string_equal(fmt(&ss, buf, sizeof(buf)), want);
    assert_int_equal(port_of(&ss), 0);
}

static void expect_parse_error(const char *text)
{
    struct sockaddr_storage ss;
    if (clientaddr_parse(text, strlen(text), &ss) != -EINVAL)
        print_error("\"%s\" parsed\n", text);
    assert_int_equal(clientaddr_parse(text, strlen(text), &ss), -EINVAL);
    assert_int_equal(ss.ss_family, AF_UNSPEC);
}

static void test_parse_entry(void **state)
{
    expect_parse("192.0.2.1", AF_INET, "192.0.2.1");
    expect_parse(" \t192.0.2.1 ", AF_INET, "192.0.2.1");
    expect_parse("192.0.2.1:8080", AF_INET, "192.0.2.1");
    expect_parse("192.0.2.1:0", AF_INET, "192.0.2.1");
    expect_parse("192.0.2.1:65535", AF_INET, "192.0.2.1");
    expect_parse("2001:db8::1", AF_INET6, "2001:db8::1");
    expect_parse("[2001:db8::1]", AF_INET6, "2001:db8::1");
    expect_parse("[2001:db8::1]:443", AF_INET6, "2001:db8::1");
    expect_parse("2001:DB8::A", AF_INET6, "2001:db8::a");
    expect_parse("::ffff:192.0.2.1", AF_INET, "192.0.2.1");
    expect_parse("[::ffff:192.0.2.1]:80", AF_INET, "192.0.2.1");
    expect_parse("::1", AF_INET6, "::1");
    /* An unbracketed IPv6 address cannot carry a port: this is the address 2001:db8::1:443. */
    expect_parse("2001:db8::1:443", AF_INET6, "2001:db8::1:443");

    expect_parse_error("");
    expect_parse_error("   ");
    expect_parse_error("unknown");
    expect_parse_error("_hidden");
    expect_parse_error("proxy.example");
    expect_parse_error("192.0.2.1:");
    expect_parse_error("192.0.2.1:65536");
    expect_parse_error("192.0.2.1:123456");
    expect_parse_error("192.0.2.1:80x");
    expect_parse_error("192.0.2.1 :80");
    expect_parse_error("192.0.2.1:80:80");
    expect_parse_error("192.0.2");
    expect_parse_error("192.0.2.1.5");
    expect_parse_error("256.0.0.1");
    expect_parse_error("[192.0.2.1]");
    expect_parse_error("[2001:db8::1");
    expect_parse_error("2001:db8::1]");
    expect_parse_error("[2001:db8::1]x");
    expect_parse_error("[2001:db8::1]:");
    expect_parse_error("[2001:db8::1]:70000");
    expect_parse_error("[]");
    expect_parse_error("[]:80");
    expect_parse_error("fe80::1%eth0");
    expect_parse_error("[fe80::1%25eth0]");
    expect_parse_error("192.0.2.1, 192.0.2.2");
    expect_parse_error("192.0.2.1\n");
    /* Long garbage is refused without reading past the end. */
    char longtext[300];
    memset(longtext, '1', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    expect_parse_error(longtext);
}

/* Resolves and checks the source and the address. */
static void expect_resolve(const clientaddr_list_t *list, const char *peer, const char *xff, int want_ret, const char *want)
{
    struct sockaddr_storage p, out;
    char buf[INET6_ADDRSTRLEN];
    make_addr(peer, 4242, &p);
    int ret = clientaddr_resolve(list, (struct sockaddr *)&p, xff, xff != NULL ? strlen(xff) : 0, &out);
    fmt(&out, buf, sizeof(buf));
    if (ret != want_ret || strcmp(buf, want) != 0)
        print_error("peer %s xff \"%.200s\": got %d %s, want %d %s\n", peer, xff != NULL ? xff : "(null)", ret, buf, want_ret,
                    want);
    assert_int_equal(ret, want_ret);
    assert_string_equal(buf, want);
}

static void test_resolve(void **state)
{
    clientaddr_list_t *list = make_list("10.0.0.0/8, 2001:db8:ffff::/48");

    /* An untrusted peer is the client whatever it claims. */
    expect_resolve(list, "198.51.100.7", "1.2.3.4", CLIENTADDR_FROM_PEER, "198.51.100.7");
    expect_resolve(list, "198.51.100.7", NULL, CLIENTADDR_FROM_PEER, "198.51.100.7");
    expect_resolve(NULL, "10.0.0.1", "1.2.3.4", CLIENTADDR_FROM_PEER, "10.0.0.1");
    /* A trusted peer without the header, or with an empty one, is the client. */
    expect_resolve(list, "10.0.0.1", NULL, CLIENTADDR_FROM_PEER, "10.0.0.1");
    expect_resolve(list, "10.0.0.1", "", CLIENTADDR_FROM_PEER, "10.0.0.1");
    expect_resolve(list, "10.0.0.1", " , ,", CLIENTADDR_FROM_PEER, "10.0.0.1");
    /* The ordinary case. */
    expect_resolve(list, "10.0.0.1", "203.0.113.9", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    /* Spoofed left-most entries are ignored: the right-most untrusted entry wins. */
    expect_resolve(list, "10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    expect_resolve(list, "10.0.0.1", "10.9.9.9, 203.0.113.9", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    /* All trusted: the left-most (furthest) trusted hop. */
    expect_resolve(list, "10.0.0.1", "10.0.0.3, 10.0.0.2", CLIENTADDR_FROM_LAST_PROXY, "10.0.0.3");
    /* Garbage stops the walk at the last trusted hop, never at a client-chosen value. */
    expect_resolve(list, "10.0.0.1", "203.0.113.9, garbage", CLIENTADDR_FROM_LAST_PROXY, "10.0.0.1");
    expect_resolve(list, "10.0.0.1", "203.0.113.9, unknown, 10.0.0.2", CLIENTADDR_FROM_LAST_PROXY, "10.0.0.2");
    expect_resolve(list, "10.0.0.1", "6.6.6.6, 300.1.1.1", CLIENTADDR_FROM_LAST_PROXY, "10.0.0.1");
    expect_resolve(list, "10.0.0.1", "\x01\xff\xfe", CLIENTADDR_FROM_LAST_PROXY, "10.0.0.1");
    /* Spaces, tabs and empty elements. */
    expect_resolve(list, "10.0.0.1", " 203.0.113.9 ,\t, 10.0.0.2 ,,", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    expect_resolve(list, "10.0.0.1", "203.0.113.9,10.0.0.2", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    /* Ports and IPv6, with and without brackets. */
    expect_resolve(list, "10.0.0.1", "203.0.113.9:5555, 10.0.0.2:80", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    expect_resolve(list, "2001:db8:ffff::2", "[2001:db8::7]:1234, 2001:db8:ffff::1", CLIENTADDR_FROM_FORWARDED, "2001:db8::7");
    expect_resolve(list, "2001:db8:ffff::2", "2001:db8::7", CLIENTADDR_FROM_FORWARDED, "2001:db8::7");
    expect_resolve(list, "2001:db8:ffff::2", "198.51.100.1, [2001:db8:ffff::9]", CLIENTADDR_FROM_FORWARDED, "198.51.100.1");
    /* Mapped addresses: a mapped trusted peer, a mapped forwarded client, returned as IPv4. */
    expect_resolve(list, "::ffff:10.0.0.1", "::ffff:203.0.113.9", CLIENTADDR_FROM_FORWARDED, "203.0.113.9");
    expect_resolve(list, "::ffff:198.51.100.7", "1.2.3.4", CLIENTADDR_FROM_PEER, "198.51.100.7");

    clientaddr_list_destroy(list);
}

static void test_resolve_peer_details(void **state)
{
    clientaddr_list_t *list = make_list("10.0.0.0/8");
    struct sockaddr_storage p, out;

    /* The peer keeps its port; a mapped peer comes back as AF_INET. */
    make_addr("::ffff:198.51.100.7", 4242, &p);
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, NULL, 0, &out), CLIENTADDR_FROM_PEER);
    assert_int_equal(out.ss_family, AF_INET);
    assert_int_equal(port_of(&out), 4242);
    /* A forwarded address has port 0, even when the entry named one. */
    make_addr("10.0.0.1", 4242, &p);
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, "203.0.113.9:80", 14, &out), CLIENTADDR_FROM_FORWARDED);
    assert_int_equal(port_of(&out), 0);
    /* The header is a view: bytes past xff_len are not read. */
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, "203.0.113.9, 10.1.1.1", 11, &out), CLIENTADDR_FROM_FORWARDED);
    char buf[INET6_ADDRSTRLEN];
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "203.0.113.9");

    /* A peer that is not an IP address. */
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&sun, "203.0.113.9", 11, &out), -EAFNOSUPPORT);
    assert_int_equal(out.ss_family, AF_UNSPEC);
    clientaddr_list_destroy(list);
}

static void test_resolve_multiple_headers(void **state)
{
    clientaddr_list_t *list = make_list("10.0.0.0/8");
    struct sockaddr_storage p, out;
    char buf[INET6_ADDRSTRLEN];
    make_addr("10.0.0.1", 1, &p);

    /* A proxy that appends its own header line: the last line is the right end. */
    clientaddr_header_t two[] = {{"6.6.6.6, 203.0.113.50", 21}, {"10.0.0.9", 8}};
    assert_int_equal(clientaddr_resolve_headers(list, (struct sockaddr *)&p, two, 2, &out), CLIENTADDR_FROM_FORWARDED);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "203.0.113.50");

    clientaddr_header_t last_untrusted[] = {{"203.0.113.50", 12}, {"198.51.100.3", 12}};
    assert_int_equal(clientaddr_resolve_headers(list, (struct sockaddr *)&p, last_untrusted, 2, &out), CLIENTADDR_FROM_FORWARDED);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "198.51.100.3");

    clientaddr_header_t with_empty[] = {{"203.0.113.50", 12}, {"", 0}, {NULL, 0}};
    assert_int_equal(clientaddr_resolve_headers(list, (struct sockaddr *)&p, with_empty, 3, &out), CLIENTADDR_FROM_FORWARDED);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "203.0.113.50");

    assert_int_equal(clientaddr_resolve_headers(list, (struct sockaddr *)&p, NULL, 0, &out), CLIENTADDR_FROM_PEER);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "10.0.0.1");
    clientaddr_list_destroy(list);
}

/* Huge headers: the walk reads a bounded amount from the right and stops safely. */
static void test_resolve_huge(void **state)
{
    clientaddr_list_t *list = make_list("10.0.0.0/8");
    const size_t entries = 10000, cap = entries * 20 + 64;
    char *xff = malloc(cap), buf[INET6_ADDRSTRLEN];
    struct sockaddr_storage p, out;
    size_t len = 0;
    assert_non_null(xff);
    make_addr("10.0.0.1", 1, &p);

    /* 10,000 spoofed entries, then the client, then two trusted proxies. */
    for (size_t i = 0; i != entries; ++i)
        len += (size_t)snprintf(xff + len, cap - len, "6.6.%zu.%zu, ", i / 256 % 256, i % 256);
    len += (size_t)snprintf(xff + len, cap - len, "203.0.113.9, 10.0.0.3, 10.0.0.2");
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, xff, len, &out), CLIENTADDR_FROM_FORWARDED);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "203.0.113.9");

    /* 10,000 trusted hops: the walk stops after CLIENTADDR_MAX_HOPS, at the last one it trusted. */
    len = 0;
    for (size_t i = 0; i != entries; ++i)
        len += (size_t)snprintf(xff + len, cap - len, "%s10.%zu.%zu.%zu", i == 0 ? "" : ",", i / 65536, i / 256 % 256, i % 256);
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, xff, len, &out), CLIENTADDR_FROM_LAST_PROXY);
    size_t stop = entries - CLIENTADDR_MAX_HOPS; /* index of the last entry read */
    char want[32];
    snprintf(want, sizeof(want), "10.%zu.%zu.%zu", stop / 65536, stop / 256 % 256, stop % 256);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), want);

    /* The client as the CLIENTADDR_MAX_HOPS-th entry from the right is found; one more trusted hop hides it. */
    len = (size_t)snprintf(xff, cap, "203.0.113.9");
    for (size_t i = 0; i != CLIENTADDR_MAX_HOPS - 1; ++i)
        len += (size_t)snprintf(xff + len, cap - len, ", 10.0.0.%zu", i + 2);
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, xff, len, &out), CLIENTADDR_FROM_FORWARDED);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "203.0.113.9");
    len += (size_t)snprintf(xff + len, cap - len, ", 10.0.0.200");
    assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, xff, len, &out), CLIENTADDR_FROM_LAST_PROXY);
    assert_string_equal(fmt(&out, buf, sizeof(buf)), "10.0.0.2");

    /* 200 KB without a comma, of commas, of spaces: all stop at the peer. */
    const char fills[] = {'7', ',', ' '};
    for (size_t f = 0; f != sizeof(fills); ++f) {
        memset(xff, fills[f], cap);
        assert_int_equal(clientaddr_resolve(list, (struct sockaddr *)&p, xff, cap, &out), CLIENTADDR_FROM_LAST_PROXY);
        assert_string_equal(fmt(&out, buf, sizeof(buf)), "10.0.0.1");
    }
    free(xff);
    clientaddr_list_destroy(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_parse),
        cmocka_unit_test(test_list_odd_prefixes),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_parse_entry),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_resolve_peer_details),
        cmocka_unit_test(test_resolve_multiple_headers),
        cmocka_unit_test(test_resolve_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
