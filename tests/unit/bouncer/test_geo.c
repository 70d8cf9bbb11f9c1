// SPDX-License-Identifier: MIT
/*
 * Unit tests for bouncer/geo.c.
 *
 * Fixtures are written at run time by tests/fixtures/geoip/write-test-mmdb.pl (perl with Debian's
 * libmaxmind-db-writer-perl) into a temporary directory; without perl the committed copies next to
 * the script are used. Known answers from the real databases in $EDGE_SHARED_DIR/testdata/geoip
 * are checked when those files are present, and skipped otherwise. The shipped default database
 * data/geoip/iptoasn-country.mmdb is always checked. The flattened IPv4 table (geo_v4.c) is
 * checked against libmaxminddb's own tree walk on every database at hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <maxminddb.h>
#include "bouncer/geo.h"
#include "bouncer/geo_v4.h"

static char tmpdir[] = "/tmp/edge-test-geo-XXXXXX";
static char fixtures[PATH_MAX];

static const char *source_dir(void)
{
    const char *dir = getenv("EDGE_SOURCE_DIR");
    return dir != NULL ? dir : "../..";
}

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < size);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Writes the fixtures with perl into tmpdir, or falls back to the committed copies. */
static int group_setup(void **state)
{
    char cmd[3 * PATH_MAX];
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "perl '%s/tests/fixtures/geoip/write-test-mmdb.pl' '%s' 2>/dev/null", source_dir(), tmpdir);
    if (system(cmd) == 0) {
        snprintf(fixtures, sizeof(fixtures), "%s", tmpdir);
    } else {
        print_message("perl or libmaxmind-db-writer-perl missing: using committed fixtures\n");
        snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures/geoip", source_dir());
    }
    return 0;
}

static int group_teardown(void **state)
{
    static const char *const names[] = {"geoip2.mmdb", "flat.mmdb",      "ipv4.mmdb",    "asn.mmdb", "garbage.mmdb",
                                        "empty.mmdb",  "truncated.mmdb", "corrupt.mmdb", NULL};
    char path[PATH_MAX];
    for (size_t i = 0; names[i] != NULL; ++i) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/subdir", tmpdir);
    rmdir(path);
    return rmdir(tmpdir);
}

static geo_t *open_fixture(const char *name)
{
    char path[PATH_MAX], err[256] = "";
    geo_t *geo = NULL;
    path_in(path, sizeof(path), fixtures, name);
    int ret = geo_open(path, &geo, err, sizeof(err));
    if (ret != 0)
        print_error("geo_open(%s): %d %s\n", path, ret, err);
    assert_int_equal(ret, 0);
    assert_non_null(geo);
    return geo;
}

static void make_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    }
}

/* Looks an address up and checks the status and both codes exactly. */
static void expect(const geo_t *geo, const char *ip, geo_status_t status, const char *country, const char *continent)
{
    struct sockaddr_storage ss;
    geo_location_t loc;
    memset(&loc, 'x', sizeof(loc));
    make_addr(ip, &ss);
    geo_status_t got = geo_lookup(geo, (struct sockaddr *)&ss, &loc);
    if (got != status || strcmp(loc.country, country) != 0 || strcmp(loc.continent, continent) != 0)
        print_error("%s: got %s %.3s/%.3s, want %s %s/%s\n", ip, geo_status_name(got), loc.country, loc.continent,
                    geo_status_name(status), country, continent);
    assert_int_equal(got, status);
    assert_string_equal(loc.country, country);
    assert_string_equal(loc.continent, continent);
}

static void test_country_table(void **state)
{
    static const char *const conts[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    size_t per_continent[7] = {0}, total = 0;
    char cc[3] = "";

    /* Every assigned code (249) plus XK, and per-continent counts as a guard against edits. */
    for (char a = 'A'; a <= 'Z'; ++a) {
        for (char b = 'A'; b <= 'Z'; ++b) {
            cc[0] = a;
            cc[1] = b;
            const char *c = geo_country_continent(cc);
            if (c == NULL)
                continue;
            ++total;
            for (size_t i = 0; i != 7; ++i)
                if (strcmp(c, conts[i]) == 0)
                    ++per_continent[i];
        }
    }
    assert_int_equal(total, 250);
    assert_int_equal(per_continent[0], 58); /* AF */
    assert_int_equal(per_continent[1], 5);  /* AN */
    assert_int_equal(per_continent[2], 51); /* AS */
    assert_int_equal(per_continent[3], 53); /* EU */
    assert_int_equal(per_continent[4], 41); /* NA */
    assert_int_equal(per_continent[5], 28); /* OC */
    assert_int_equal(per_continent[6], 14); /* SA */

    /* Spot checks, including the usual borderline cases. */
    static const char *const known[][2] = {
        {"GB", "EU"}, {"TR", "AS"}, {"CY", "EU"}, {"RU", "EU"}, {"EG", "AF"}, {"PA", "NA"}, {"AQ", "AN"},
        {"BV", "AN"}, {"XK", "EU"}, {"TL", "OC"}, {"CX", "OC"}, {"CC", "AS"}, {"GF", "SA"}, {"FK", "SA"},
        {"GL", "NA"}, {"UM", "OC"}, {"AU", "OC"}, {"KZ", "AS"}, {"GE", "AS"}, {"US", "NA"}, {"BR", "SA"},
        {"JP", "AS"}, {"ZA", "AF"}, {"gb", "EU"}, {"nZ", "OC"},
    };
    for (size_t i = 0; i != sizeof(known) / sizeof(known[0]); ++i) {
        const char *c = geo_country_continent(known[i][0]);
        assert_non_null(c);
        assert_string_equal(c, known[i][1]);
    }
    assert_null(geo_country_continent("ZZ"));
    assert_null(geo_country_continent("EU"));
    assert_null(geo_country_continent("AP"));
    assert_null(geo_country_continent("1A"));
    assert_null(geo_country_continent("A"));
    assert_null(geo_country_continent(""));

    assert_true(geo_continent_is_valid("EU"));
    assert_true(geo_continent_is_valid("sa"));
    assert_true(geo_continent_is_valid("AN"));
    assert_false(geo_continent_is_valid("AP"));
    assert_false(geo_continent_is_valid("E"));
    assert_false(geo_continent_is_valid(""));
}

static void test_geoip2_fixture(void **state)
{
    geo_t *geo = open_fixture("geoip2.mmdb");
    geo_info_t info;
    geo_describe(geo, &info);
    assert_string_equal(info.shape, "geoip2");
    assert_string_equal(info.database_type, "Edge-Test-GeoIP2-Country");
    assert_int_equal(info.ip_version, 6);
    assert_true(info.build_epoch > 0);
    assert_true(info.node_count > 0);
    assert_true(info.ipv4_ranges > 0);
    assert_non_null(strstr(info.path, "geoip2.mmdb"));

    expect(geo, "192.0.2.1", GEO_FOUND, "DE", "EU");
    expect(geo, "192.0.2.255", GEO_FOUND, "DE", "EU");
    expect(geo, "::ffff:192.0.2.1", GEO_FOUND, "DE", "EU");
    expect(geo, "198.51.100.7", GEO_FOUND, "JP", "AS");  /* registered_country, continent from the table */
    expect(geo, "203.0.113.5", GEO_FOUND, "AU", "OC");   /* continent from the database */
    expect(geo, "203.0.113.200", GEO_FOUND, "BR", "SA"); /* country only */
    expect(geo, "10.1.2.3", GEO_FOUND, "", "EU");        /* legacy pseudo-country EU */
    expect(geo, "3fff::1", GEO_FOUND, "", "AF");         /* continent only */
    expect(geo, "2001:db8::1", GEO_FOUND, "US", "NA");
    expect(geo, "2001:db8:ffff:ffff::1", GEO_FOUND, "US", "NA");
    expect(geo, "100.64.1.1", GEO_NOT_FOUND, "", ""); /* ZZ is not a country */
    expect(geo, "8.8.8.8", GEO_NOT_FOUND, "", "");
    expect(geo, "192.0.3.0", GEO_NOT_FOUND, "", "");
    expect(geo, "2001:db9::1", GEO_NOT_FOUND, "", "");
    expect(geo, "::", GEO_NOT_FOUND, "", "");

    /* Not an IP family. */
    struct sockaddr_un sun;
    geo_location_t loc;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_int_equal(geo_lookup(geo, (struct sockaddr *)&sun, &loc), GEO_BAD_ADDRESS);
    assert_string_equal(loc.country, "");
    assert_string_equal(loc.continent, "");

    geo_destroy(geo);
}

static void test_flat_fixture(void **state)
{
    geo_t *geo = open_fixture("flat.mmdb");
    geo_info_t info;
    geo_describe(geo, &info);
    assert_string_equal(info.shape, "flat");
    assert_string_equal(info.database_type, "Edge-Test-Flat-Country");

    expect(geo, "192.0.2.1", GEO_FOUND, "FR", "EU");
    /* This tree has no ::ffff:0:0/96 alias: a mapped address only works because geo unwraps it. */
    expect(geo, "::ffff:192.0.2.1", GEO_FOUND, "FR", "EU");
    expect(geo, "198.51.100.1", GEO_FOUND, "EG", "AF"); /* lowercase in the file */
    expect(geo, "203.0.113.9", GEO_FOUND, "NZ", "OC");
    expect(geo, "100.64.0.1", GEO_FOUND, "", "AS"); /* legacy pseudo-country AP */
    expect(geo, "2001:db8::5", GEO_FOUND, "CA", "NA");
    expect(geo, "2001:db9::1", GEO_NOT_FOUND, "", "");
    expect(geo, "127.0.0.1", GEO_NOT_FOUND, "", "");
    geo_destroy(geo);
}

/* Each thread remembers decoded records by their offset in the file: two open files (whose small
 * data sections put different countries at the same offsets) and a file reopened in turn must
 * each keep their own answers. */
static void test_answers_stay_with_their_file(void **state)
{
    geo_t *geoip2 = open_fixture("geoip2.mmdb"), *flat = open_fixture("flat.mmdb");
    for (int i = 0; i != 3; ++i) {
        expect(geoip2, "192.0.2.1", GEO_FOUND, "DE", "EU");
        expect(flat, "192.0.2.1", GEO_FOUND, "FR", "EU");
        expect(geoip2, "203.0.113.5", GEO_FOUND, "AU", "OC");
        expect(flat, "203.0.113.9", GEO_FOUND, "NZ", "OC");
    }
    geo_destroy(flat);
    for (int i = 0; i != 3; ++i) {
        geo_t *again = open_fixture(i % 2 == 0 ? "flat.mmdb" : "ipv4.mmdb"); /* may reuse the freed handle's memory */
        expect(again, "192.0.2.1", GEO_FOUND, i % 2 == 0 ? "FR" : "SE", "EU");
        expect(geoip2, "192.0.2.1", GEO_FOUND, "DE", "EU");
        geo_destroy(again);
    }
    geo_destroy(geoip2);
}

static void test_ipv4_fixture(void **state)
{
    geo_t *geo = open_fixture("ipv4.mmdb");
    geo_info_t info;
    geo_describe(geo, &info);
    assert_int_equal(info.ip_version, 4);
    assert_string_equal(info.shape, "flat");
    expect(geo, "192.0.2.1", GEO_FOUND, "SE", "EU");
    expect(geo, "::ffff:192.0.2.1", GEO_FOUND, "SE", "EU");
    expect(geo, "192.0.3.1", GEO_NOT_FOUND, "", "");
    expect(geo, "2001:db8::1", GEO_BAD_ADDRESS, "", "");
    geo_destroy(geo);
}

static void test_empty_handle(void **state)
{
    geo_t *geo = NULL;
    char err[128] = "untouched";
    assert_int_equal(geo_open(NULL, &geo, err, sizeof(err)), 0);
    assert_non_null(geo);
    expect(geo, "8.8.8.8", GEO_NOT_FOUND, "", "");
    expect(geo, "2001:db8::1", GEO_NOT_FOUND, "", "");
    geo_info_t info;
    geo_describe(geo, &info);
    assert_string_equal(info.shape, "none");
    assert_null(info.path);
    assert_int_equal(info.ip_version, 0);
    geo_destroy(geo);
    geo_destroy(NULL);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Opens a path that must fail with the given code and a message containing `needle`. */
static void expect_open_error(const char *path, int code, const char *needle)
{
    geo_t *geo = (geo_t *)&geo; /* poison: must be reset to NULL */
    char err[512] = "";
    int ret = geo_open(path, &geo, err, sizeof(err));
    if (ret != code || strstr(err, needle) == NULL)
        print_error("geo_open(%s): %d \"%s\", want %d \"...%s...\"\n", path, ret, err, code, needle);
    assert_int_equal(ret, code);
    assert_null(geo);
    assert_non_null(strstr(err, needle));
    assert_non_null(strstr(err, path)); /* every message names the file */
    /* A NULL error buffer is allowed. */
    assert_int_equal(geo_open(path, &geo, NULL, 0), code);
}

static void test_open_errors(void **state)
{
    char path[PATH_MAX], src[PATH_MAX];

    path_in(path, sizeof(path), tmpdir, "missing.mmdb");
    expect_open_error(path, -ENOENT, "No such file");

    path_in(path, sizeof(path), tmpdir, "subdir");
    assert_int_equal(mkdir(path, 0700), 0);
    expect_open_error(path, -EINVAL, "not a regular file");

    path_in(path, sizeof(path), tmpdir, "empty.mmdb");
    write_file(path, "", 0);
    expect_open_error(path, -EINVAL, "empty file");

    char garbage[4096];
    for (size_t i = 0; i != sizeof(garbage); ++i)
        garbage[i] = (char)('a' + i % 26);
    path_in(path, sizeof(path), tmpdir, "garbage.mmdb");
    write_file(path, garbage, sizeof(garbage));
    expect_open_error(path, -EINVAL, "not a MaxMind DB file");

    /* The first half of a real database: the metadata at the end is gone. */
    path_in(src, sizeof(src), fixtures, "geoip2.mmdb");
    FILE *fp = fopen(src, "rb");
    assert_non_null(fp);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    assert_true(n > 1000 && n < sizeof(buf));
    path_in(path, sizeof(path), tmpdir, "truncated.mmdb");
    write_file(path, buf, n / 2);
    expect_open_error(path, -EINVAL, "not a MaxMind DB file");

    /* A well-formed database without countries (an ASN database) is refused by the shape check. */
    path_in(path, sizeof(path), fixtures, "asn.mmdb");
    expect_open_error(path, -EINVAL, "not a country database");
    expect_open_error(path, -EINVAL, "Edge-Test-ASN");

    /* Unreadable file (not testable as root, where permissions do not apply). */
    if (geteuid() != 0) {
        path_in(path, sizeof(path), tmpdir, "garbage.mmdb");
        assert_int_equal(chmod(path, 0), 0);
        expect_open_error(path, -EACCES, "Permission denied");
    }
}

/* A record whose data is corrupt answers GEO_DB_ERROR; the rest of the database still works. */
static void test_corrupt_record(void **state)
{
    char src[PATH_MAX], path[PATH_MAX], buf[8192];
    path_in(src, sizeof(src), fixtures, "flat.mmdb");
    FILE *fp = fopen(src, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    assert_true(n > 0 && n < sizeof(buf));

    /* The string "FR" (control byte 0x42) becomes an extended type that does not exist. */
    char *fr = memmem(buf, n,
                      "\x42"
                      "FR",
                      3);
    assert_non_null(fr);
    assert_null(memmem(fr + 1, n - (size_t)(fr + 1 - buf),
                       "\x42"
                       "FR",
                       3));
    fr[0] = 0x00;
    fr[1] = (char)0xff;
    path_in(path, sizeof(path), tmpdir, "corrupt.mmdb");
    write_file(path, buf, n);

    geo_t *geo = NULL;
    assert_int_equal(geo_open(path, &geo, NULL, 0), 0);
    expect(geo, "192.0.2.1", GEO_DB_ERROR, "", "");
    expect(geo, "198.51.100.1", GEO_FOUND, "EG", "AF");
    geo_destroy(geo);
}

/* geo_v4 numbers records by their offset here, so that a lookup can be compared with the tree walk's entry. */
typedef struct st_numbering_t {
    uint32_t offsets[4096];
    uint32_t count;
} numbering_t;

static int number_of(numbering_t *nb, uint32_t offset)
{
    for (uint32_t i = 0; i != nb->count; ++i)
        if (nb->offsets[i] == offset)
            return (int)i + 1;
    if (nb->count == sizeof(nb->offsets) / sizeof(nb->offsets[0]))
        return -1;
    nb->offsets[nb->count++] = offset;
    return (int)nb->count;
}

static int number_record(void *ctx, MMDB_entry_s *entry)
{
    return number_of(ctx, entry->offset);
}

/* The flat table gives the record libmaxminddb's walk finds, for random addresses and the edges of their networks. */
static void check_flat_matches_tree(const char *path)
{
    MMDB_s mmdb;
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    numbering_t *nb = calloc(1, sizeof(*nb));
    geo_v4_t *table = NULL;
    assert_int_equal(geo_v4_build(&mmdb, number_record, nb, 1u << 24, &table), 0);
    assert_true(geo_v4_num_ranges(table) >= 1);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned found = 0;
    for (unsigned i = 0; i != 300000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t addr = (uint32_t)(x >> 16);
        unsigned bits = (unsigned)(x & 31);
        if (i % 3 == 1) /* the first address of a network around it */
            addr &= ~((1u << bits) - 1);
        else if (i % 3 == 2) /* the last */
            addr |= (1u << bits) - 1;
        /* the ends of the space, and the fixtures' networks (random addresses seldom fall in them) */
        static const uint32_t fixed[] = {0,          UINT32_MAX, 0x7fffffff, 0x80000000, 0xc0000201, 0xc00002ff,
                                         0xc0000300, 0xc00001ff, 0xc6336407, 0xcb00710c, 0xcb0071c8, 0x0a010203,
                                         0x64400101, 0x64400001, 0x08080808, 0x7f000001, 0x510245a0, 0x59a01470,
                                         0xd8a05338};
        if (i < sizeof(fixed) / sizeof(fixed[0]))
            addr = fixed[i];
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};
        int mmdb_error;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&mmdb, (struct sockaddr *)&sin, &mmdb_error);
        assert_int_equal(mmdb_error, MMDB_SUCCESS);
        int want = r.found_entry ? number_of(nb, r.entry.offset) : GEO_V4_NONE;
        found += r.found_entry;
        if (geo_v4_find(table, addr) != want)
            print_error("%s: %08x: flat table %u, tree %d\n", path, addr, geo_v4_find(table, addr), want);
        assert_int_equal(geo_v4_find(table, addr), want);
    }
    if (found == 0)
        print_error("%s: no address found\n", path);
    assert_true(found > 0);
    geo_v4_destroy(table);
    free(nb);
    MMDB_close(&mmdb);
}

static void test_flat_ipv4_table(void **state)
{
    static const char *const names[] = {"geoip2.mmdb", "flat.mmdb", "ipv4.mmdb"};
    char path[PATH_MAX];
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i) {
        path_in(path, sizeof(path), fixtures, names[i]);
        check_flat_matches_tree(path);
    }
    snprintf(path, sizeof(path), "%s/data/geoip/iptoasn-country.mmdb", source_dir());
    check_flat_matches_tree(path);
    const char *shared = getenv("EDGE_SHARED_DIR");
    if (shared != NULL) {
        snprintf(path, sizeof(path), "%s/testdata/geoip/GeoIP2-Country-Test.mmdb", shared);
        if (file_exists(path))
            check_flat_matches_tree(path);
    }
    /* a table that would need more ranges than allowed is refused, and geo_open then walks the tree */
    MMDB_s mmdb;
    numbering_t *nb = calloc(1, sizeof(*nb));
    geo_v4_t *table = NULL;
    snprintf(path, sizeof(path), "%s/data/geoip/iptoasn-country.mmdb", source_dir());
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    assert_int_equal(geo_v4_build(&mmdb, number_record, nb, 100, &table), -E2BIG);
    assert_null(table);
    MMDB_close(&mmdb);
    free(nb);
}

/* Known answers from MaxMind's test database and the iptoasn data, when present. */
static void test_shared_testdata(void **state)
{
    const char *shared = getenv("EDGE_SHARED_DIR");
    char path[PATH_MAX];
    geo_t *geo = NULL;
    int ran = 0;

    if (shared != NULL) {
        snprintf(path, sizeof(path), "%s/testdata/geoip/GeoIP2-Country-Test.mmdb", shared);
        if (file_exists(path)) {
            assert_int_equal(geo_open(path, &geo, NULL, 0), 0);
            geo_info_t info;
            geo_describe(geo, &info);
            assert_string_equal(info.shape, "geoip2");
            assert_string_equal(info.database_type, "GeoIP2-Country");
            expect(geo, "81.2.69.160", GEO_FOUND, "GB", "EU");
            expect(geo, "89.160.20.112", GEO_FOUND, "SE", "EU");
            expect(geo, "216.160.83.56", GEO_FOUND, "US", "NA");
            expect(geo, "2001:218::1", GEO_FOUND, "JP", "AS");
            expect(geo, "::ffff:81.2.69.160", GEO_FOUND, "GB", "EU");
            geo_destroy(geo);
            ran = 1;
        }
        snprintf(path, sizeof(path), "%s/testdata/geoip/iptoasn-country.mmdb", shared);
        if (file_exists(path)) {
            assert_int_equal(geo_open(path, &geo, NULL, 0), 0);
            expect(geo, "8.8.8.8", GEO_FOUND, "US", "NA");
            geo_destroy(geo);
            ran = 1;
        }
    }
    if (!ran)
        skip();
}

/* The database shipped in data/geoip is a usable flat database. */
static void test_default_database(void **state)
{
    char path[PATH_MAX], err[256] = "";
    geo_t *geo = NULL;
    snprintf(path, sizeof(path), "%s/data/geoip/iptoasn-country.mmdb", source_dir());
    assert_int_equal(geo_open(path, &geo, err, sizeof(err)), 0);
    geo_info_t info;
    geo_describe(geo, &info);
    assert_string_equal(info.shape, "flat");
    assert_int_equal(info.ip_version, 6);
    expect(geo, "8.8.8.8", GEO_FOUND, "US", "NA");
    expect(geo, "::ffff:8.8.8.8", GEO_FOUND, "US", "NA");
    expect(geo, "193.0.6.139", GEO_FOUND, "NL", "EU");
    expect(geo, "2001:4860:4860::8888", GEO_FOUND, "US", "NA");
    expect(geo, "127.0.0.1", GEO_NOT_FOUND, "", "");
    expect(geo, "10.0.0.1", GEO_NOT_FOUND, "", "");
    geo_destroy(geo);
}

/* Concurrent lookups on one shared handle give the same answers as serial ones. */
struct thread_arg {
    const geo_t *geo;
    int failures;
};

static void *lookup_thread(void *p)
{
    struct thread_arg *arg = p;
    struct sockaddr_storage v4, v6;
    geo_location_t loc;
    make_addr("192.0.2.77", &v4);
    make_addr("2001:db8::77", &v6);
    for (int i = 0; i != 20000; ++i) {
        const struct sockaddr *sa = (const struct sockaddr *)(i % 2 == 0 ? &v4 : &v6);
        const char *want = i % 2 == 0 ? "DE" : "US";
        if (geo_lookup(arg->geo, sa, &loc) != GEO_FOUND || strcmp(loc.country, want) != 0)
            ++arg->failures;
    }
    return NULL;
}

static void test_threads(void **state)
{
    geo_t *geo = open_fixture("geoip2.mmdb");
    pthread_t threads[4];
    struct thread_arg args[4];
    for (size_t i = 0; i != 4; ++i) {
        args[i].geo = geo;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&threads[i], NULL, lookup_thread, &args[i]), 0);
    }
    for (size_t i = 0; i != 4; ++i) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    geo_destroy(geo);
}

static void test_status_names(void **state)
{
    assert_string_equal(geo_status_name(GEO_FOUND), "found");
    assert_string_equal(geo_status_name(GEO_NOT_FOUND), "not_found");
    assert_string_equal(geo_status_name(GEO_BAD_ADDRESS), "bad_address");
    assert_string_equal(geo_status_name(GEO_DB_ERROR), "db_error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_country_table),  cmocka_unit_test(test_geoip2_fixture),  cmocka_unit_test(test_flat_fixture),
        cmocka_unit_test(test_answers_stay_with_their_file),
        cmocka_unit_test(test_flat_ipv4_table),
        cmocka_unit_test(test_ipv4_fixture),   cmocka_unit_test(test_empty_handle),    cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_corrupt_record), cmocka_unit_test(test_shared_testdata), cmocka_unit_test(test_default_database),
        cmocka_unit_test(test_threads),        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
