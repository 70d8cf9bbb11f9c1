// SPDX-License-Identifier: MIT
/* Unit tests for edge/htpasswd: hash formats, Basic header parsing, refusals, the verified cache. */
#include <crypt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "edge/htpasswd.h"

static char dir[64];

static const char *write_file(const char *name, const char *content)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    fputs(content, fp);
    fclose(fp);
    return path;
}

static int setup(void **state)
{
    strcpy(dir, "/tmp/htpasswd-test-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

/* Builds "user:hash\n" with libcrypt for the given prefix (e.g. "$2y$05$", "$6$", "$5$"). */
static void line_for(char *out, size_t cap, const char *user, const char *password, const char *prefix)
{
    char *salt = crypt_gensalt_ra(prefix, strcmp(prefix, "$2y$") == 0 ? 5 : 0, NULL, 0);
    assert_non_null(salt);
    struct crypt_data data;
    memset(&data, 0, sizeof(data));
    const char *hash = crypt_r(password, salt, &data);
    snprintf(out, cap, "%s:%s\n", user, hash);
    free(salt);
}

static void test_formats_verify(void **state)
{
    char content[1024] = "# comment\n\n", line[300];
    line_for(line, sizeof(line), "bcrypt", "pw1", "$2y$");
    strcat(content, line);
    line_for(line, sizeof(line), "sha512", "pw2", "$6$");
    strcat(content, line);
    line_for(line, sizeof(line), "sha256", "pw3", "$5$");
    strcat(content, line);
    char err[256];
    htpasswd_t *t = htpasswd_load(write_file("ok", content), err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(htpasswd_count(t), 3);
    assert_int_equal(htpasswd_verify(t, "bcrypt", 6, "pw1", 3), 1);
    assert_int_equal(htpasswd_verify(t, "bcrypt", 6, "pw1", 3), 1); /* cached */
    assert_int_equal(htpasswd_verify(t, "sha512", 6, "pw2", 3), 1);
    assert_int_equal(htpasswd_verify(t, "sha256", 6, "pw3", 3), 1);
    assert_int_equal(htpasswd_verify(t, "bcrypt", 6, "pw2", 3), 0);
    assert_int_equal(htpasswd_verify(t, "nobody", 6, "pw1", 3), 0);
    assert_int_equal(htpasswd_verify(t, "bcrypt", 6, "pw1x", 4), 0);
    assert_int_equal(htpasswd_verify(t, "bcrypt", 6, "pw", 2), 0);
    assert_int_equal(htpasswd_verify(t, "bcrypt", 6, "pw1\0", 4), 0); /* embedded NUL */
    htpasswd_destroy(t);
}

static void test_basic_header(void **state)
{
    char line[300], err[256];
    line_for(line, sizeof(line), "admin", "open sesame", "$2y$");
    htpasswd_t *t = htpasswd_load(write_file("basic", line), err, sizeof(err));
    assert_non_null(t);
    /* base64("admin:open sesame") */
    const char *good = "Basic YWRtaW46b3BlbiBzZXNhbWU=";
    assert_int_equal(htpasswd_verify_basic_cached(t, good, strlen(good)), 0); /* never verified yet */
    assert_int_equal(htpasswd_verify_basic(t, good, strlen(good)), 1);
    assert_int_equal(htpasswd_verify_basic_cached(t, good, strlen(good)), 1);
    const char *lower = "basic YWRtaW46b3BlbiBzZXNhbWU=";
    assert_int_equal(htpasswd_verify_basic(t, lower, strlen(lower)), 1);
    const char *bad[] = {"Basic", "Basic ", "Bearer YWRtaW46b3BlbiBzZXNhbWU=", "Basic YWRtaW46b3BlbiBzZXNhbWU=x",
                         "Basic !!!!", "Basic YWRtaW4=" /* no colon */, "Basic YWRtaW46b3BlbiBzZXNhbWF=" /* wrong */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
        assert_int_equal(htpasswd_verify_basic(t, bad[i], strlen(bad[i])), 0);
    char huge[4096] = "Basic ";
    memset(huge + 6, 'A', sizeof(huge) - 7);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(htpasswd_verify_basic(t, huge, strlen(huge)), 0);
    htpasswd_destroy(t);
}

static void test_load_refusals(void **state)
{
    char err[256];
    assert_null(htpasswd_load(write_file("plain", "admin:secret\n"), err, sizeof(err)));
    assert_non_null(strstr(err, ":1: user admin: unsupported hash"));
    assert_null(htpasswd_load(write_file("md5", "admin:$apr1$abc$def\n"), err, sizeof(err)));
    assert_non_null(strstr(err, "unsupported hash"));
    assert_null(htpasswd_load(write_file("nocolon", "# c\nadmin\n"), err, sizeof(err)));
    assert_non_null(strstr(err, ":2: expected user:hash"));
    assert_null(htpasswd_load(write_file("empty", "# nobody\n"), err, sizeof(err)));
    assert_non_null(strstr(err, "no users"));
    assert_null(htpasswd_load("/nonexistent/htpasswd", err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open"));
    htpasswd_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_verify),
        cmocka_unit_test(test_basic_header),
        cmocka_unit_test(test_load_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
