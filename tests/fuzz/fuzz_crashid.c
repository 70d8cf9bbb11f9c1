// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for collector/crashid.c: validation (both modes), date and digit extraction
 * on arbitrary bytes, checked against a straightforward restatement of the reference regex.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collector/crashid.h"

static int reference_valid(const uint8_t *s, size_t len, int strict)
{
    if (len != CRASHID_LEN)
        return 0;
    for (size_t i = 0; i < len; ++i) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        int hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        int digit = s[i] >= '0' && s[i] <= '9';
        if (dash ? s[i] != '-' : i >= 30 ? !digit : !hex)
            return 0;
    }
    return !strict || s[29] == '0' || s[29] == '1';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[CRASHID_LEN + 1], date[9];

    for (int strict = 0; strict <= 1; ++strict)
        if (crashid_validate((const char *)data, size, strict) != reference_valid(data, size, strict))
            abort();
    if (size == CRASHID_LEN) {
        memcpy(id, data, CRASHID_LEN);
        id[CRASHID_LEN] = '\0';
        int valid = crashid_validate(id, CRASHID_LEN, 0);
        if ((crashid_date(id, date) == 0) != (valid && memchr(data, 0, size) == NULL))
            abort();
        if (valid && crashid_throttle_digit(id) != (id[29] >= '0' && id[29] <= '9' ? id[29] - '0' : -EINVAL))
            abort();
    }
    return 0;
}
