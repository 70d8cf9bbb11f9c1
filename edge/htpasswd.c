// SPDX-License-Identifier: MIT
/*
 * htpasswd: loads `user:hash` lines and verifies HTTP Basic credentials with libcrypt.
 *
 * Unknown users are checked against the first entry's hash so that a wrong user name costs
 * the same time as a wrong password. Successful verifications are remembered as SHA-256
 * digests of "user:password" in a small ring guarded by a mutex, because bcrypt at a sane
 * cost takes tens of milliseconds and the admin console issues many requests.
 */
#include "edge/htpasswd.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 16
#define MAX_USERS 4096

typedef struct st_entry_t {
    char *user;
    char *hash;
} entry_t;

struct st_htpasswd_t {
    entry_t *entries;
    size_t count;
    pthread_mutex_t cache_mutex;
    unsigned char cache[CACHE_SLOTS][SHA256_DIGEST_LENGTH];
    int cache_used[CACHE_SLOTS];
    size_t cache_next;
};

static int hash_supported(const char *hash)
{
    static const char *const prefixes[] = {"$2y$", "$2b$", "$2a$", "$5$", "$6$", "$y$", NULL};
    for (const char *const *p = prefixes; *p != NULL; ++p)
        if (strncmp(hash, *p, strlen(*p)) == 0)
            return 1;
    return 0;
}

void htpasswd_destroy(htpasswd_t *table)
{
    if (table == NULL)
        return;
    for (size_t i = 0; i < table->count; ++i) {
        free(table->entries[i].user);
        free(table->entries[i].hash);
    }
    free(table->entries);
    pthread_mutex_destroy(&table->cache_mutex);
    OPENSSL_cleanse(table->cache, sizeof(table->cache));
    free(table);
}

htpasswd_t *htpasswd_load(const char *path, char *err, size_t errlen)
{
    htpasswd_t *table = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    unsigned lineno = 0;
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto Error;
    }
    if ((table = calloc(1, sizeof(*table))) == NULL)
        goto Oom;
    pthread_mutex_init(&table->cache_mutex, NULL);
    ssize_t n;
    while ((n = getline(&line, &line_cap, fp)) >= 0) {
        ++lineno;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL || colon == line) {
            snprintf(err, errlen, "%s:%u: expected user:hash", path, lineno);
            goto Error;
        }
        *colon = '\0';
        const char *hash = colon + 1;
        if (!hash_supported(hash)) {
            snprintf(err, errlen, "%s:%u: user %s: unsupported hash (use bcrypt: htpasswd -B, or SHA-crypt $5$/$6$)", path,
                     lineno, line);
            goto Error;
        }
        if (table->count == MAX_USERS) {
            snprintf(err, errlen, "%s:%u: more than %d users", path, lineno, MAX_USERS);
            goto Error;
        }
        entry_t *entries = realloc(table->entries, (table->count + 1) * sizeof(*entries));
        if (entries == NULL)
            goto Oom;
        table->entries = entries;
        entry_t *e = &table->entries[table->count];
        e->user = strdup(line);
        e->hash = strdup(hash);
        if (e->user == NULL || e->hash == NULL) {
            free(e->user);
            free(e->hash);
            goto Oom;
        }
        ++table->count;
    }
    if (table->count == 0) {
        snprintf(err, errlen, "%s: no users", path);
        goto Error;
    }
    goto Exit;
Oom:
    snprintf(err, errlen, "%s: out of memory", path);
Error:
    htpasswd_destroy(table);
    table = NULL;
Exit:
    free(line);
    if (fp != NULL)
        fclose(fp);
    return table;
}

size_t htpasswd_count(const htpasswd_t *table)
{
    return table->count;
}

static void digest_credentials(const char *user, size_t user_len, const char *password, size_t password_len,
                               unsigned char out[SHA256_DIGEST_LENGTH])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, user, user_len) ||
        !EVP_DigestUpdate(ctx, ":", 1) || !EVP_DigestUpdate(ctx, password, password_len) || !EVP_DigestFinal_ex(ctx, out, NULL))
        RAND_bytes(out, SHA256_DIGEST_LENGTH); /* a digest nobody can match: the cache then simply misses */
    EVP_MD_CTX_free(ctx);
}

static int cache_lookup(htpasswd_t *table, const unsigned char digest[SHA256_DIGEST_LENGTH])
{
    int found = 0;
    pthread_mutex_lock(&table->cache_mutex);
    for (size_t i = 0; i < CACHE_SLOTS; ++i)
        found |= table->cache_used[i] & (CRYPTO_memcmp(table->cache[i], digest, SHA256_DIGEST_LENGTH) == 0);
    pthread_mutex_unlock(&table->cache_mutex);
    return found;
}

static void cache_store(htpasswd_t *table, const unsigned char digest[SHA256_DIGEST_LENGTH])
{
    pthread_mutex_lock(&table->cache_mutex);
    memcpy(table->cache[table->cache_next], digest, SHA256_DIGEST_LENGTH);
    table->cache_used[table->cache_next] = 1;
    table->cache_next = (table->cache_next + 1) % CACHE_SLOTS;
    pthread_mutex_unlock(&table->cache_mutex);
}

/* cached_only: answer from the cache of verified credentials alone, never running a hash */
static int verify(htpasswd_t *table, const char *user, size_t user_len, const char *password, size_t password_len, int cached_only)
{
    int ok = 0;
    char *phrase = NULL;
    struct crypt_data *data = NULL;

    if (memchr(user, '\0', user_len) != NULL || memchr(password, '\0', password_len) != NULL)
        goto Exit;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    digest_credentials(user, user_len, password, password_len, digest);
    if (cache_lookup(table, digest)) {
        ok = 1;
        goto Exit;
    }
    if (cached_only)
        goto Exit;

    const entry_t *match = NULL;
    for (size_t i = 0; i < table->count; ++i)
        if (strlen(table->entries[i].user) == user_len && memcmp(table->entries[i].user, user, user_len) == 0)
            match = &table->entries[i];
    const char *setting = match != NULL ? match->hash : table->entries[0].hash;

    if ((phrase = strndup(password, password_len)) == NULL || (data = calloc(1, sizeof(*data))) == NULL)
        goto Exit;
    const char *computed = crypt_r(phrase, setting, data);
    if (computed == NULL || computed[0] == '*')
        goto Exit;
    size_t hash_len = strlen(setting);
    int equal = strlen(computed) == hash_len && CRYPTO_memcmp(computed, setting, hash_len) == 0;
    ok = equal && match != NULL;
    if (ok)
        cache_store(table, digest);
Exit:
    if (phrase != NULL) {
        OPENSSL_cleanse(phrase, password_len);
        free(phrase);
    }
    if (data != NULL) {
        OPENSSL_cleanse(data, sizeof(*data));
        free(data);
    }
    return ok;
}

int htpasswd_verify(htpasswd_t *table, const char *user, size_t user_len, const char *password, size_t password_len)
{
    return verify(table, user, user_len, password, password_len, 0);
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static int verify_basic(htpasswd_t *table, const char *header, size_t header_len, int cached_only)
{
    char decoded[768];
    size_t out = 0;
    int ok = 0;

    if (header_len < 6 || strncasecmp(header, "Basic ", 6) != 0)
        goto Exit;
    size_t i = 6;
    while (i < header_len && header[i] == ' ')
        ++i;
    uint32_t acc = 0;
    int bits = 0;
    for (; i < header_len && header[i] != '='; ++i) {
        int v = b64_value((unsigned char)header[i]);
        if (v < 0)
            goto Exit;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out == sizeof(decoded))
                goto Exit;
            decoded[out++] = (char)((acc >> bits) & 0xff);
        }
    }
    for (; i < header_len; ++i)
        if (header[i] != '=' && header[i] != ' ')
            goto Exit;
    const char *colon = memchr(decoded, ':', out);
    if (colon == NULL)
        goto Exit;
    ok = verify(table, decoded, (size_t)(colon - decoded), colon + 1, out - (size_t)(colon - decoded) - 1, cached_only);
Exit:
    OPENSSL_cleanse(decoded, sizeof(decoded));
    return ok;
}

int htpasswd_verify_basic(htpasswd_t *table, const char *header, size_t header_len)
{
    return verify_basic(table, header, header_len, 0);
}

int htpasswd_verify_basic_cached(htpasswd_t *table, const char *header, size_t header_len)
{
    return verify_basic(table, header, header_len, 1);
}
