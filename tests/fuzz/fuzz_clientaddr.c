// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for bouncer/clientaddr.c: the X-Forwarded-For walk, the entry parser and the
 * trusted-list parser, all fed hostile bytes.
 *
 * The first input byte picks what to do: low two bits 0 parse the rest as a trusted CIDR list;
 * otherwise the rest is an X-Forwarded-For value (split into header lines at '\n' when bit 2 is
 * set) resolved for a peer chosen by bits 3-4 against a fixed trusted list. Besides memory
 * errors, it checks the walk's promises: a forwarded client is never a trusted proxy, the last
 * trusted hop is always trusted, and a parsed entry survives a print-and-parse round trip.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "bouncer/clientaddr.h"

#define check(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond))                                                                                                               \
            __builtin_trap();                                                                                                      \
    } while (0)

static clientaddr_list_t *trusted_list(void)
{
    static clientaddr_list_t *list;
    if (list == NULL) {
        static const char text[] = "10.0.0.0/8, 192.168.0.0/16, 2001:db8:ffff::/48, ::1";
        check((list = clientaddr_list_create()) != NULL);
        check(clientaddr_list_parse(list, text, sizeof(text) - 1, NULL, 0) == 0);
    }
    return list;
}

static void make_peer(unsigned which, struct sockaddr_storage *ss)
{
    static const char *const peers[] = {"10.0.0.1", "2001:db8:ffff::1", "::ffff:192.168.1.1", "203.0.113.7"};
    const char *text = peers[which % 4];
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') != NULL) {
        ss->ss_family = AF_INET6;
        check(inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1);
    } else {
        ss->ss_family = AF_INET;
        check(inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr) == 1);
    }
}

static void fuzz_list(const char *data, size_t len)
{
    clientaddr_list_t *list = clientaddr_list_create();
    char err[128];
    struct sockaddr_storage ss;
    if (list == NULL)
        return;
    int ret = clientaddr_list_parse(list, data, len, err, sizeof(err));
    check(ret == 0 || ret == -EINVAL || ret == -E2BIG || ret == -ENOMEM);
    make_peer(3, &ss);
    (void)clientaddr_is_trusted(list, (struct sockaddr *)&ss);
    clientaddr_list_destroy(list);
}

static void fuzz_resolve(unsigned mode, const char *data, size_t len)
{
    clientaddr_header_t headers[8];
    struct sockaddr_storage peer, out, again;
    size_t n = 0;
    int ret;

    make_peer(mode >> 3, &peer);
    if ((mode & 4) != 0) {
        /* Several header lines. */
        size_t start = 0;
        for (size_t i = 0; i <= len && n != 8; ++i) {
            if (i == len || data[i] == '\n') {
                headers[n].base = data + start;
                headers[n].len = i - start;
                ++n;
                start = i + 1;
            }
        }
        ret = clientaddr_resolve_headers(trusted_list(), (struct sockaddr *)&peer, headers, n, &out);
    } else {
        ret = clientaddr_resolve(trusted_list(), (struct sockaddr *)&peer, data, len, &out);
    }
    check(ret == CLIENTADDR_FROM_PEER || ret == CLIENTADDR_FROM_FORWARDED || ret == CLIENTADDR_FROM_LAST_PROXY);
    check(out.ss_family == AF_INET || out.ss_family == AF_INET6);
    if (ret == CLIENTADDR_FROM_FORWARDED)
        check(!clientaddr_is_trusted(trusted_list(), (struct sockaddr *)&out));
    if (ret == CLIENTADDR_FROM_LAST_PROXY)
        check(clientaddr_is_trusted(trusted_list(), (struct sockaddr *)&out));

    /* The entry parser on the whole input, and a print-and-parse round trip. */
    if (clientaddr_parse(data, len, &out) == 0) {
        char text[INET6_ADDRSTRLEN];
        const void *addr = out.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&out)->sin_addr
                                                    : (const void *)&((struct sockaddr_in6 *)&out)->sin6_addr;
        check(inet_ntop(out.ss_family, addr, text, sizeof(text)) != NULL);
        check(clientaddr_parse(text, strlen(text), &again) == 0);
        check(memcmp(&out, &again, sizeof(out)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if ((mode & 3) == 0)
        fuzz_list(text, len);
    else
        fuzz_resolve(mode, text, len);
    return 0;
}
