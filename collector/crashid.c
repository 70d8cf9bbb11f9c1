// SPDX-License-Identifier: MIT
/*
 * crashid: minting and validating Socorro crash ids.
 *
 * Minting draws 16 bytes from getrandom(2), formats them as an RFC 4122 version 4 UUID (version
 * nibble 4, variant bits 10), then overwrites the last 7 hex digits with the throttle digit and
 * the UTC date, as Socorro's create_new_ooid does. Validation is a hand-written equivalent of the
 * reference regex: no regex engine, no locale, constant work per call.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include "collector/crashid.h"

static int fill_random(unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = getrandom(buf + got, len - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    return 0;
}

int crashid_mint(char out[CRASHID_LEN + 1], int throttle_digit, time_t when)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    struct tm tm;
    int ret;

    if (throttle_digit < 0 || throttle_digit > 9 || gmtime_r(&when, &tm) == NULL || tm.tm_year < -1900) {
        ret = -EINVAL;
        goto Exit;
    }
    if ((ret = fill_random(rnd, sizeof(rnd))) != 0)
        goto Exit;
    rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
    rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
    char *o = out;
    for (size_t i = 0; i < sizeof(rnd); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[rnd[i] >> 4];
        *o++ = hex[rnd[i] & 0xf];
    }
    /* the last 7 characters: throttle digit and YYMMDD */
    int yy = (tm.tm_year + 1900) % 100, mm = tm.tm_mon + 1, dd = tm.tm_mday;
    char *t = out + CRASHID_LEN - 7;
    t[0] = (char)('0' + throttle_digit);
    t[1] = (char)('0' + yy / 10);
    t[2] = (char)('0' + yy % 10);
    t[3] = (char)('0' + mm / 10);
    t[4] = (char)('0' + mm % 10);
    t[5] = (char)('0' + dd / 10);
    t[6] = (char)('0' + dd % 10);
    out[CRASHID_LEN] = '\0';
    ret = 0;

Exit:
    return ret;
}

int crashid_validate(const char *s, size_t len, int strict)
{
    if (s == NULL || len != CRASHID_LEN)
        return 0;
    for (size_t i = 0; i < CRASHID_LEN; ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (i >= 30) {
            if (!(c >= '0' && c <= '9'))
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    /* position 29 is the throttle digit, matched by [a-f0-9] in the regex */
    if (strict && s[29] != '0' && s[29] != '1')
        return 0;
    return 1;
}

int crashid_date(const char *id, char out[9])
{
    if (!crashid_validate(id, id == NULL ? 0 : strnlen(id, CRASHID_LEN + 1), 0))
        return -EINVAL;
    memcpy(out, "20", 2);
    memcpy(out + 2, id + CRASHID_LEN - 6, 6);
    out[8] = '\0';
    return 0;
}

int crashid_throttle_digit(const char *id)
{
    if (!crashid_validate(id, id == NULL ? 0 : strnlen(id, CRASHID_LEN + 1), 0))
        return -EINVAL;
    char c = id[CRASHID_LEN - 7];
    return c >= '0' && c <= '9' ? c - '0' : -EINVAL;
}
