// SPDX-License-Identifier: MIT
/*
 * htpasswd: HTTP Basic credentials for the admin listener, checked against an Apache-style
 * htpasswd file of `user:hash` lines. Hashes are verified with libcrypt (bcrypt `$2y$`/`$2b$`,
 * SHA-crypt `$5$`/`$6$`, yescrypt `$y$`); other formats (plain text, MD5 `$apr1$`, `{SHA}`) are refused at load
 * time so an operator learns about a weak file at start, not at the first failed login.
 *
 * Verification takes the same path whether or not the user exists (a dummy hash is checked for
 * unknown users), and compares in constant time. Because bcrypt is deliberately slow, a small
 * cache remembers SHA-256 digests of recently verified `user:password` pairs.
 * A loaded table is immutable apart from its internally locked cache: safe from any thread.
 */
#ifndef edge__edge_htpasswd_h
#define edge__edge_htpasswd_h

#include <stddef.h>

typedef struct st_htpasswd_t htpasswd_t;

/**
 * Loads an htpasswd file.
 * @param err receives a message naming the file and line on failure
 * @return the table (free with htpasswd_destroy) or NULL.
 */
htpasswd_t *htpasswd_load(const char *path, char *err, size_t errlen);

/** NULL is a no-op. */
void htpasswd_destroy(htpasswd_t *table);

/** @return the number of users in the table. */
size_t htpasswd_count(const htpasswd_t *table);

/** @return 1 when user/password match an entry, else 0. */
int htpasswd_verify(htpasswd_t *table, const char *user, size_t user_len, const char *password, size_t password_len);

/**
 * Checks the value of an Authorization header ("Basic base64(user:password)").
 * @return 1 when it carries valid credentials, else 0 (also for malformed headers).
 */
int htpasswd_verify_basic(htpasswd_t *table, const char *header, size_t header_len);

/**
 * Like htpasswd_verify_basic, but answers only from the cache of recently verified credentials
 * and never runs a (slow) hash: what the admin listener uses for a client that is locked out
 * after repeated failures, so that a known-good operator still gets in.
 * @return 1 when the header carries credentials verified recently, else 0.
 */
int htpasswd_verify_basic_cached(htpasswd_t *table, const char *header, size_t header_len);

#endif
