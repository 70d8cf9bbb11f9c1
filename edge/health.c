// SPDX-License-Identifier: MIT
/*
 * health: a fixed-size table of checks filled at start, evaluated on demand, rendered as JSON
 * by hand (values are escaped) so the heartbeat does not depend on a JSON library.
 */
#include "edge/health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define MAX_CHECKS 32

static struct {
    const char *name;
    health_check_cb cb;
    void *arg;
} checks[MAX_CHECKS];
static size_t num_checks;

int health_register(const char *name, health_check_cb cb, void *arg)
{
    if (num_checks == MAX_CHECKS)
        return -ENOMEM;
    checks[num_checks].name = name;
    checks[num_checks].cb = cb;
    checks[num_checks].arg = arg;
    ++num_checks;
    return 0;
}

void health_reset(void)
{
    num_checks = 0;
}

static size_t append_json_string(char *out, size_t pos, size_t cap, const char *s)
{
    if (pos < cap)
        out[pos++] = '"';
    for (; *s != '\0' && pos + 8 < cap; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    if (pos < cap)
        out[pos++] = '"';
    return pos;
}

char *health_report(int *healthy, size_t *len)
{
    size_t cap = 256 + num_checks * 600, pos = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    int all_ok = 1;
    pos += (size_t)snprintf(out, cap, "{\"checks\":{");
    for (size_t i = 0; i < num_checks; ++i) {
        char detail[512] = "";
        int ok = checks[i].cb(checks[i].arg, detail, sizeof(detail));
        all_ok &= ok;
        if (i != 0)
            out[pos++] = ',';
        pos = append_json_string(out, pos, cap, checks[i].name);
        pos += (size_t)snprintf(out + pos, cap - pos, ":{\"ok\":%s,\"detail\":", ok ? "true" : "false");
        pos = append_json_string(out, pos, cap, detail);
        out[pos++] = '}';
    }
    pos += (size_t)snprintf(out + pos, cap - pos, "},\"healthy\":%s}\n", all_ok ? "true" : "false");
    *healthy = all_ok;
    *len = pos;
    return out;
}

int health_check_disk(void *arg, char *detail, size_t detail_size)
{
    const health_disk_t *disk = arg;
    struct statvfs st;
    if (access(disk->path, W_OK) != 0) {
        snprintf(detail, detail_size, "%s is not writable: %s", disk->path, strerror(errno));
        return 0;
    }
    if (statvfs(disk->path, &st) != 0) {
        snprintf(detail, detail_size, "statvfs %s: %s", disk->path, strerror(errno));
        return 0;
    }
    unsigned long long avail = (unsigned long long)st.f_bavail * st.f_frsize;
    snprintf(detail, detail_size, "%llu MiB free", avail >> 20);
    if (avail < disk->min_free) {
        snprintf(detail, detail_size, "only %llu MiB free on %s (minimum %llu MiB)", avail >> 20, disk->path, disk->min_free >> 20);
        return 0;
    }
    return 1;
}
