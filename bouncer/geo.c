// SPDX-License-Identifier: MIT
/*
 * geo: country and continent of an IP address from a MaxMind DB file (see geo.h for the API).
 *
 * geo_open maps the file with libmaxminddb, then walks the first branches of the search tree
 * (depth first, bounded) until it meets records that carry a country, and so decides once whether
 * the database is GeoIP2-shaped (nested maps) or flat (country_code). A file with no such record
 * is refused with a message that says so, rather than answering "unknown" forever.
 *
 * geo_lookup runs on the worker threads: it reads the mapped file through libmaxminddb's
 * lookup and path functions, which take no lock and allocate nothing, and copies at most two
 * 2-letter codes into the caller's struct. The decoded codes of a record are remembered per
 * thread by the record's offset (decode_memo). MMDB_* error codes are translated here and go no
 * further. The continent table is static, constant data indexed by the two letters.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <maxminddb.h>
#include "bouncer/geo.h"
#include "bouncer/geo_v4.h"

/* How far geo_open looks for records that reveal the database's shape. */
#define SHAPE_MAX_NODES 20000
#define SHAPE_MAX_RECORDS 64

typedef enum en_shape_t {
    SHAPE_NONE = 0, /* the empty handle */
    SHAPE_GEOIP2,
    SHAPE_FLAT,
} shape_t;

/* A decoded answer; geo_v4 ranges hold its number in geo_t.answers. */
typedef struct st_answer_t {
    geo_status_t status;
    geo_location_t loc;
} answer_t;

struct st_geo_t {
    shape_t shape;
    char *path;
    uint64_t serial; /* unique per opened handle, so that a memo entry cannot outlive its file */
    MMDB_s mmdb;     /* valid only when shape != SHAPE_NONE */
    geo_v4_t *v4;    /* the IPv4 addresses flattened, or NULL (then IPv4 walks the tree too) */
    answer_t *answers;
    uint32_t num_answers;
};

/* Flattening refuses databases with more IPv4 ranges than this (a city database could have
 * millions; they keep the tree walk rather than take 8 bytes per range). */
#define V4_MAX_RANGES (4u << 20)

/*
 * Decoding a record's codes (MMDB_get_value walks the record's maps) costs more than the tree
 * walk that finds it, and a country database has few distinct records, shared by every range of a
 * country. So each thread remembers the decoded answer by the record's offset in the data section.
 * The shipped iptoasn-country database has 233 distinct records: 2 million random IPv4 addresses
 * hit this memo more than 99.9% of the time (94.6% with 256 entries, hence 1024).
 */
#define DECODE_MEMO_SIZE 1024 /* power of two; per thread (24 KB) */
typedef struct st_decode_memo_t {
    uint64_t serial; /* 0: empty */
    uint32_t offset;
    geo_status_t status;
    geo_location_t loc;
} decode_memo_t;
static __thread decode_memo_t decode_memo[DECODE_MEMO_SIZE];
static _Atomic uint64_t last_serial;

/* Continents, in the index order used by the country table (0 = unknown). */
enum { CONT_NONE = 0, CONT_AF, CONT_AN, CONT_AS, CONT_EU, CONT_NA, CONT_OC, CONT_SA };
static const char *const continent_codes[] = {NULL, "AF", "AN", "AS", "EU", "NA", "OC", "SA"};

/*
 * ISO 3166-1 alpha-2 -> continent, following the GeoNames assignment that MaxMind's databases use.
 * All 249 assigned codes, plus XK (Kosovo), which GeoIP databases emit.
 */
// clang-format off
#define CC(a, b, cont) [((a) - 'A') * 26 + ((b) - 'A')] = CONT_##cont
static const unsigned char country_table[26 * 26] = {
    CC('A', 'D', EU), CC('A', 'E', AS), CC('A', 'F', AS), CC('A', 'G', NA), CC('A', 'I', NA), CC('A', 'L', EU),
    CC('A', 'M', AS), CC('A', 'O', AF), CC('A', 'Q', AN), CC('A', 'R', SA), CC('A', 'S', OC), CC('A', 'T', EU),
    CC('A', 'U', OC), CC('A', 'W', NA), CC('A', 'X', EU), CC('A', 'Z', AS), CC('B', 'A', EU), CC('B', 'B', NA),
    CC('B', 'D', AS), CC('B', 'E', EU), CC('B', 'F', AF), CC('B', 'G', EU), CC('B', 'H', AS), CC('B', 'I', AF),
    CC('B', 'J', AF), CC('B', 'L', NA), CC('B', 'M', NA), CC('B', 'N', AS), CC('B', 'O', SA), CC('B', 'Q', NA),
    CC('B', 'R', SA), CC('B', 'S', NA), CC('B', 'T', AS), CC('B', 'V', AN), CC('B', 'W', AF), CC('B', 'Y', EU),
    CC('B', 'Z', NA), CC('C', 'A', NA), CC('C', 'C', AS), CC('C', 'D', AF), CC('C', 'F', AF), CC('C', 'G', AF),
    CC('C', 'H', EU), CC('C', 'I', AF), CC('C', 'K', OC), CC('C', 'L', SA), CC('C', 'M', AF), CC('C', 'N', AS),
    CC('C', 'O', SA), CC('C', 'R', NA), CC('C', 'U', NA), CC('C', 'V', AF), CC('C', 'W', NA), CC('C', 'X', OC),
    CC('C', 'Y', EU), CC('C', 'Z', EU), CC('D', 'E', EU), CC('D', 'J', AF), CC('D', 'K', EU), CC('D', 'M', NA),
    CC('D', 'O', NA), CC('D', 'Z', AF), CC('E', 'C', SA), CC('E', 'E', EU), CC('E', 'G', AF), CC('E', 'H', AF),
    CC('E', 'R', AF), CC('E', 'S', EU), CC('E', 'T', AF), CC('F', 'I', EU), CC('F', 'J', OC), CC('F', 'K', SA),
    CC('F', 'M', OC), CC('F', 'O', EU), CC('F', 'R', EU), CC('G', 'A', AF), CC('G', 'B', EU), CC('G', 'D', NA),
    CC('G', 'E', AS), CC('G', 'F', SA), CC('G', 'G', EU), CC('G', 'H', AF), CC('G', 'I', EU), CC('G', 'L', NA),
    CC('G', 'M', AF), CC('G', 'N', AF), CC('G', 'P', NA), CC('G', 'Q', AF), CC('G', 'R', EU), CC('G', 'S', AN),
    CC('G', 'T', NA), CC('G', 'U', OC), CC('G', 'W', AF), CC('G', 'Y', SA), CC('H', 'K', AS), CC('H', 'M', AN),
    CC('H', 'N', NA), CC('H', 'R', EU), CC('H', 'T', NA), CC('H', 'U', EU), CC('I', 'D', AS), CC('I', 'E', EU),
    CC('I', 'L', AS), CC('I', 'M', EU), CC('I', 'N', AS), CC('I', 'O', AS), CC('I', 'Q', AS), CC('I', 'R', AS),
    CC('I', 'S', EU), CC('I', 'T', EU), CC('J', 'E', EU), CC('J', 'M', NA), CC('J', 'O', AS), CC('J', 'P', AS),
    CC('K', 'E', AF), CC('K', 'G', AS), CC('K', 'H', AS), CC('K', 'I', OC), CC('K', 'M', AF), CC('K', 'N', NA),
    CC('K', 'P', AS), CC('K', 'R', AS), CC('K', 'W', AS), CC('K', 'Y', NA), CC('K', 'Z', AS), CC('L', 'A', AS),
    CC('L', 'B', AS), CC('L', 'C', NA), CC('L', 'I', EU), CC('L', 'K', AS), CC('L', 'R', AF), CC('L', 'S', AF),
    CC('L', 'T', EU), CC('L', 'U', EU), CC('L', 'V', EU), CC('L', 'Y', AF), CC('M', 'A', AF), CC('M', 'C', EU),
    CC('M', 'D', EU), CC('M', 'E', EU), CC('M', 'F', NA), CC('M', 'G', AF), CC('M', 'H', OC), CC('M', 'K', EU),
    CC('M', 'L', AF), CC('M', 'M', AS), CC('M', 'N', AS), CC('M', 'O', AS), CC('M', 'P', OC), CC('M', 'Q', NA),
    CC('M', 'R', AF), CC('M', 'S', NA), CC('M', 'T', EU), CC('M', 'U', AF), CC('M', 'V', AS), CC('M', 'W', AF),
    CC('M', 'X', NA), CC('M', 'Y', AS), CC('M', 'Z', AF), CC('N', 'A', AF), CC('N', 'C', OC), CC('N', 'E', AF),
    CC('N', 'F', OC), CC('N', 'G', AF), CC('N', 'I', NA), CC('N', 'L', EU), CC('N', 'O', EU), CC('N', 'P', AS),
    CC('N', 'R', OC), CC('N', 'U', OC), CC('N', 'Z', OC), CC('O', 'M', AS), CC('P', 'A', NA), CC('P', 'E', SA),
    CC('P', 'F', OC), CC('P', 'G', OC), CC('P', 'H', AS), CC('P', 'K', AS), CC('P', 'L', EU), CC('P', 'M', NA),
    CC('P', 'N', OC), CC('P', 'R', NA), CC('P', 'S', AS), CC('P', 'T', EU), CC('P', 'W', OC), CC('P', 'Y', SA),
    CC('Q', 'A', AS), CC('R', 'E', AF), CC('R', 'O', EU), CC('R', 'S', EU), CC('R', 'U', EU), CC('R', 'W', AF),
    CC('S', 'A', AS), CC('S', 'B', OC), CC('S', 'C', AF), CC('S', 'D', AF), CC('S', 'E', EU), CC('S', 'G', AS),
    CC('S', 'H', AF), CC('S', 'I', EU), CC('S', 'J', EU), CC('S', 'K', EU), CC('S', 'L', AF), CC('S', 'M', EU),
    CC('S', 'N', AF), CC('S', 'O', AF), CC('S', 'R', SA), CC('S', 'S', AF), CC('S', 'T', AF), CC('S', 'V', NA),
    CC('S', 'X', NA), CC('S', 'Y', AS), CC('S', 'Z', AF), CC('T', 'C', NA), CC('T', 'D', AF), CC('T', 'F', AN),
    CC('T', 'G', AF), CC('T', 'H', AS), CC('T', 'J', AS), CC('T', 'K', OC), CC('T', 'L', OC), CC('T', 'M', AS),
    CC('T', 'N', AF), CC('T', 'O', OC), CC('T', 'R', AS), CC('T', 'T', NA), CC('T', 'V', OC), CC('T', 'W', AS),
    CC('T', 'Z', AF), CC('U', 'A', EU), CC('U', 'G', AF), CC('U', 'M', OC), CC('U', 'S', NA), CC('U', 'Y', SA),
    CC('U', 'Z', AS), CC('V', 'A', EU), CC('V', 'C', NA), CC('V', 'E', SA), CC('V', 'G', NA), CC('V', 'I', NA),
    CC('V', 'N', AS), CC('V', 'U', OC), CC('W', 'F', OC), CC('W', 'S', OC), CC('X', 'K', EU), CC('Y', 'E', AS),
    CC('Y', 'T', AF), CC('Z', 'A', AF), CC('Z', 'M', AF), CC('Z', 'W', AF),
};
#undef CC
// clang-format on

/* Returns the table index of a two-letter code (either case), or -1. */
static int country_index(const char *cc)
{
    int letters[2];
    /* Read the second byte only after a letter, so a short NUL-terminated string is safe. */
    for (size_t i = 0; i != 2; ++i) {
        int c = (unsigned char)cc[i];
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c < 'A' || c > 'Z')
            return -1;
        letters[i] = c - 'A';
    }
    return letters[0] * 26 + letters[1];
}

const char *geo_country_continent(const char *country)
{
    int idx = country_index(country);
    return idx < 0 ? NULL : continent_codes[country_table[idx]];
}

/* Returns the continent index (CONT_*) of a two-letter continent code, CONT_NONE if unknown. */
static int continent_index(const char *code)
{
    char up[2];
    for (size_t i = 0; i != 2; ++i) {
        if (code[i] == '\0')
            return CONT_NONE;
        up[i] = (char)toupper((unsigned char)code[i]);
    }
    for (int i = CONT_AF; i <= CONT_SA; ++i)
        if (up[0] == continent_codes[i][0] && up[1] == continent_codes[i][1])
            return i;
    return CONT_NONE;
}

int geo_continent_is_valid(const char *continent)
{
    return continent_index(continent) != CONT_NONE;
}

const char *geo_status_name(geo_status_t status)
{
    switch (status) {
    case GEO_FOUND:
        return "found";
    case GEO_NOT_FOUND:
        return "not_found";
    case GEO_BAD_ADDRESS:
        return "bad_address";
    case GEO_DB_ERROR:
        return "db_error";
    }
    return "unknown";
}

static void set_error(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
    if (err == NULL || err_size == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, err_size, fmt, args);
    va_end(args);
}

/*
 * Reads a 2-character string at the given path of an entry. Returns 1 and fills code[0..1] if there
 * is one, 0 if the path is absent or holds something else, -1 if the data there is corrupt.
 */
static int get_code(MMDB_entry_s *entry, char code[2], const char *key1, const char *key2)
{
    MMDB_entry_data_s data;
    int rc = key2 != NULL ? MMDB_get_value(entry, &data, key1, key2, NULL) : MMDB_get_value(entry, &data, key1, NULL);
    switch (rc) {
    case MMDB_SUCCESS:
        break;
    case MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR:
    case MMDB_INVALID_LOOKUP_PATH_ERROR:
        return 0; /* e.g. "country" is a string in this record, not a map */
    default:
        return -1;
    }
    if (!data.has_data)
        return 0;
    /* libmaxminddb returns undefined extended types as they are: only a corrupt file has them. */
    if (data.type > MMDB_DATA_TYPE_FLOAT)
        return -1;
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
        return 0;
    code[0] = data.utf8_string[0];
    code[1] = data.utf8_string[1];
    return 1;
}

/* Tells which shape an entry has, SHAPE_NONE if it carries no geography we understand. */
static shape_t classify_entry(MMDB_entry_s *entry)
{
    char code[2];
    if (get_code(entry, code, "country", "iso_code") == 1 || get_code(entry, code, "registered_country", "iso_code") == 1 ||
        get_code(entry, code, "continent", "code") == 1)
        return SHAPE_GEOIP2;
    if (get_code(entry, code, "country_code", NULL) == 1)
        return SHAPE_FLAT;
    return SHAPE_NONE;
}

/*
 * Walks the search tree depth first from the root, inspecting data records until one reveals the
 * shape. Bounded by SHAPE_MAX_NODES nodes and SHAPE_MAX_RECORDS records. Returns the shape found
 * (SHAPE_NONE if none) and counts the data records seen in *records.
 */
static shape_t detect_shape(const MMDB_s *mmdb, unsigned *records)
{
    uint32_t stack[130]; /* a path from the root is at most 128 nodes deep */
    size_t depth = 0, nodes = 0;
    shape_t shape = SHAPE_NONE;

    *records = 0;
    stack[depth++] = 0;
    while (depth != 0 && nodes < SHAPE_MAX_NODES && *records < SHAPE_MAX_RECORDS) {
        MMDB_search_node_s node;
        uint32_t number = stack[--depth];
        ++nodes;
        if (MMDB_read_node(mmdb, number, &node) != MMDB_SUCCESS)
            continue;
        /* Visit the left record first, so push the right one first. */
        uint64_t values[2] = {node.right_record, node.left_record};
        uint8_t types[2] = {node.right_record_type, node.left_record_type};
        MMDB_entry_s entries[2] = {node.right_record_entry, node.left_record_entry};
        for (size_t i = 0; i != 2; ++i) {
            if (types[i] == MMDB_RECORD_TYPE_SEARCH_NODE) {
                if (depth < sizeof(stack) / sizeof(stack[0]))
                    stack[depth++] = (uint32_t)values[i];
            }
        }
        for (size_t i = 2; i-- != 0;) {
            if (types[i] != MMDB_RECORD_TYPE_DATA)
                continue;
            ++*records;
            if ((shape = classify_entry(&entries[i])) != SHAPE_NONE)
                goto Exit;
        }
    }

Exit:
    return shape;
}

/* Translates an MMDB_open error into -errno and a sentence. */
static int translate_open_error(int status, const char *path, char *err, size_t err_size)
{
    switch (status) {
    case MMDB_INVALID_METADATA_ERROR:
        set_error(err, err_size, "%s: not a MaxMind DB file (no valid metadata section)", path);
        return -EINVAL;
    case MMDB_UNKNOWN_DATABASE_FORMAT_ERROR:
        set_error(err, err_size, "%s: unsupported MaxMind DB format version", path);
        return -EINVAL;
    case MMDB_CORRUPT_SEARCH_TREE_ERROR:
    case MMDB_INVALID_DATA_ERROR:
    case MMDB_INVALID_NODE_NUMBER_ERROR:
        set_error(err, err_size, "%s: corrupt MaxMind DB file (%s)", path, MMDB_strerror(status));
        return -EINVAL;
    case MMDB_OUT_OF_MEMORY_ERROR:
        set_error(err, err_size, "%s: out of memory", path);
        return -ENOMEM;
    case MMDB_FILE_OPEN_ERROR:
        set_error(err, err_size, "%s: cannot open the file", path);
        return -EIO;
    default:
        set_error(err, err_size, "%s: cannot read the MaxMind DB file (%s)", path, MMDB_strerror(status));
        return -EIO;
    }
}

/* Checks the file is a readable regular file, so that a missing file yields -ENOENT and not a vague MMDB error. */
static int check_file(const char *path, char *err, size_t err_size)
{
    struct stat st;
    int fd = -1, ret = -1;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) != 0) {
        ret = -errno;
        set_error(err, err_size, "%s: %s", path, strerror(errno));
        goto Exit;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        set_error(err, err_size, "%s: not a regular file", path);
        goto Exit;
    }
    if (st.st_size == 0) {
        ret = -EINVAL;
        set_error(err, err_size, "%s: empty file, not a MaxMind DB", path);
        goto Exit;
    }
    ret = 0;

Exit:
    if (fd != -1)
        close(fd);
    return ret;
}

static geo_status_t decode_remembered(const geo_t *geo, MMDB_entry_s *entry, geo_location_t *out);

/* Numbers the distinct answers while geo_v4 flattens: by content (status, country, continent). */
typedef struct st_answer_builder_t {
    geo_t *geo;
    uint16_t number_of[4][26 * 26 + 1][8]; /* 0: not numbered yet */
} answer_builder_t;

static int number_answer(void *ctx, MMDB_entry_s *entry)
{
    answer_builder_t *b = ctx;
    geo_t *geo = b->geo;
    answer_t a;
    a.status = decode_remembered(geo, entry, &a.loc);
    int country = a.loc.country[0] != '\0' ? country_index(a.loc.country) + 1 : 0;
    uint16_t *number = &b->number_of[a.status][country][continent_index(a.loc.continent)];
    if (*number == 0) {
        if (geo->num_answers > UINT16_MAX)
            return -1;
        answer_t *answers = realloc(geo->answers, (geo->num_answers + 1) * sizeof(*answers));
        if (answers == NULL)
            return -1;
        geo->answers = answers;
        geo->answers[geo->num_answers] = a;
        *number = (uint16_t)geo->num_answers++;
    }
    return *number;
}

/* Builds geo->v4; a database it cannot flatten keeps the tree walk for IPv4 (and says why in the log line's info). */
static int flatten_ipv4(geo_t *geo)
{
    answer_builder_t *b = calloc(1, sizeof(*b));
    if (b == NULL || (geo->answers = calloc(1, sizeof(*geo->answers))) == NULL) {
        free(b);
        return -ENOMEM;
    }
    geo->answers[GEO_V4_NONE].status = GEO_NOT_FOUND; /* loc is "" */
    geo->num_answers = 1;
    b->geo = geo;
    int ret = geo_v4_build(&geo->mmdb, number_answer, b, V4_MAX_RANGES, &geo->v4);
    free(b);
    if (ret != 0) {
        free(geo->answers);
        geo->answers = NULL;
        geo->num_answers = 0;
    }
    return ret;
}

int geo_open(const char *path, geo_t **geo, char *err, size_t err_size)
{
    geo_t *g = NULL;
    int ret = -1, mmdb_open = 0, status;
    unsigned records;

    *geo = NULL;
    if ((g = calloc(1, sizeof(*g))) == NULL) {
        set_error(err, err_size, "out of memory");
        ret = -ENOMEM;
        goto Exit;
    }
    g->shape = SHAPE_NONE;
    g->serial = atomic_fetch_add(&last_serial, 1) + 1;
    if (path == NULL) {
        ret = 0;
        goto Exit;
    }
    if ((g->path = strdup(path)) == NULL) {
        set_error(err, err_size, "out of memory");
        ret = -ENOMEM;
        goto Exit;
    }
    if ((ret = check_file(path, err, err_size)) != 0)
        goto Exit;

    status = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (status != MMDB_SUCCESS) {
        ret = translate_open_error(status, path, err, err_size);
        goto Exit;
    }
    mmdb_open = 1;
    if (g->mmdb.metadata.ip_version != 4 && g->mmdb.metadata.ip_version != 6) {
        set_error(err, err_size, "%s: unsupported ip_version %u in the metadata", path, (unsigned)g->mmdb.metadata.ip_version);
        ret = -EINVAL;
        goto Exit;
    }

    /* Decide the shape from the first records; refuse databases that carry no country. */
    g->shape = detect_shape(&g->mmdb, &records);
    if (g->shape == SHAPE_NONE) {
        const char *type = g->mmdb.metadata.database_type != NULL ? g->mmdb.metadata.database_type : "";
        if (records == 0)
            set_error(err, err_size, "%s: the database holds no records (database_type \"%s\")", path, type);
        else
            set_error(err, err_size,
                      "%s: not a country database: none of the first %u records has country.iso_code, "
                      "registered_country.iso_code, continent.code or country_code (database_type \"%s\")",
                      path, records, type);
        ret = -EINVAL;
        goto Exit;
    }
    if ((ret = flatten_ipv4(g)) == -ENOMEM) {
        set_error(err, err_size, "out of memory");
        goto Exit;
    }
    ret = 0;

Exit:
    if (ret == 0) {
        *geo = g;
    } else if (g != NULL) {
        if (mmdb_open)
            MMDB_close(&g->mmdb);
        geo_v4_destroy(g->v4);
        free(g->answers);
        free(g->path);
        free(g);
    }
    return ret;
}

void geo_destroy(geo_t *geo)
{
    if (geo == NULL)
        return;
    if (geo->shape != SHAPE_NONE)
        MMDB_close(&geo->mmdb);
    geo_v4_destroy(geo->v4);
    free(geo->answers);
    free(geo->path);
    free(geo);
}

void geo_describe(const geo_t *geo, geo_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->path = geo->path;
    info->database_type = "";
    switch (geo->shape) {
    case SHAPE_NONE:
        info->shape = "none";
        return;
    case SHAPE_GEOIP2:
        info->shape = "geoip2";
        break;
    case SHAPE_FLAT:
        info->shape = "flat";
        break;
    }
    if (geo->mmdb.metadata.database_type != NULL)
        info->database_type = geo->mmdb.metadata.database_type;
    info->build_epoch = geo->mmdb.metadata.build_epoch;
    info->ip_version = geo->mmdb.metadata.ip_version;
    info->node_count = geo->mmdb.metadata.node_count;
    info->ipv4_ranges = geo->v4 != NULL ? geo_v4_num_ranges(geo->v4) : 0;
}

/* Copies a country code if it is a known ISO code; the legacy pseudo-countries EU and AP only give a continent. */
static void take_country(geo_location_t *out, const char code[2])
{
    int idx = country_index(code);
    if (idx < 0)
        return;
    char up0 = (char)('A' + idx / 26), up1 = (char)('A' + idx % 26);
    if (country_table[idx] != CONT_NONE) {
        out->country[0] = up0;
        out->country[1] = up1;
        out->country[2] = '\0';
    } else if (out->continent[0] == '\0' && up0 == 'E' && up1 == 'U') {
        memcpy(out->continent, "EU", 3);
    } else if (out->continent[0] == '\0' && up0 == 'A' && up1 == 'P') {
        memcpy(out->continent, "AS", 3);
    }
}

static void take_continent(geo_location_t *out, const char code[2])
{
    int idx = continent_index(code);
    if (idx != CONT_NONE)
        memcpy(out->continent, continent_codes[idx], 3);
}

/* Reads the codes of a record in the database's shape: a continent given by the database wins over the table. */
static geo_status_t decode_entry(const geo_t *geo, MMDB_entry_s *entry, geo_location_t *out)
{
    char code[2];
    int rc;

    out->country[0] = '\0';
    out->continent[0] = '\0';
    if (geo->shape == SHAPE_GEOIP2) {
        if ((rc = get_code(entry, code, "continent", "code")) == 1)
            take_continent(out, code);
        if (rc >= 0 && (rc = get_code(entry, code, "country", "iso_code")) == 1)
            take_country(out, code);
        if (rc >= 0 && out->country[0] == '\0' && (rc = get_code(entry, code, "registered_country", "iso_code")) == 1)
            take_country(out, code);
    } else {
        if ((rc = get_code(entry, code, "continent_code", NULL)) == 1)
            take_continent(out, code);
        if (rc >= 0 && (rc = get_code(entry, code, "country_code", NULL)) == 1)
            take_country(out, code);
    }
    if (rc < 0) {
        out->country[0] = '\0';
        out->continent[0] = '\0';
        return GEO_DB_ERROR;
    }
    if (out->continent[0] == '\0' && out->country[0] != '\0')
        memcpy(out->continent, geo_country_continent(out->country), 3);
    return out->country[0] != '\0' || out->continent[0] != '\0' ? GEO_FOUND : GEO_NOT_FOUND;
}

/* decode_entry() through this thread's memo (decode_memo). */
static geo_status_t decode_remembered(const geo_t *geo, MMDB_entry_s *entry, geo_location_t *out)
{
    decode_memo_t *memo = &decode_memo[(entry->offset * 0x9e3779b1u) >> 22 & (DECODE_MEMO_SIZE - 1)];
    if (memo->serial != geo->serial || memo->offset != entry->offset) {
        memo->status = decode_entry(geo, entry, &memo->loc);
        memo->offset = entry->offset;
        memo->serial = geo->serial;
    }
    *out = memo->loc;
    return memo->status;
}

/* The IPv4 address (host order) of an AF_INET address or of an IPv4-mapped IPv6 one (::ffff:a.b.c.d):
 * databases need not alias that range to the IPv4 tree. */
static int ipv4_of(const struct sockaddr *addr, uint32_t *v4)
{
    if (addr->sa_family == AF_INET) {
        *v4 = ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr);
        return 1;
    }
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    if (addr->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(a6))
        return 0;
    memcpy(v4, a6->s6_addr + 12, 4);
    *v4 = ntohl(*v4);
    return 1;
}

void geo_prefetch(const geo_t *geo, const struct sockaddr *addr)
{
    uint32_t v4;
    if (geo->v4 != NULL && ipv4_of(addr, &v4))
        geo_v4_prefetch(geo->v4, v4);
}

geo_status_t geo_lookup(const geo_t *geo, const struct sockaddr *addr, geo_location_t *out)
{
    struct sockaddr_in sin;
    MMDB_lookup_result_s result;
    int mmdb_error = MMDB_SUCCESS;
    uint32_t v4;

    out->country[0] = '\0';
    out->continent[0] = '\0';
    if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
        return GEO_BAD_ADDRESS;
    if (geo->shape == SHAPE_NONE)
        return GEO_NOT_FOUND;
    if (ipv4_of(addr, &v4)) {
        if (geo->v4 != NULL) {
            const answer_t *a = geo->answers + geo_v4_find(geo->v4, v4);
            *out = a->loc;
            return a->status;
        }
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(v4);
        addr = (const struct sockaddr *)&sin;
    }

    result = MMDB_lookup_sockaddr(&geo->mmdb, addr, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS)
        return mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ? GEO_BAD_ADDRESS : GEO_DB_ERROR;
    if (!result.found_entry)
        return GEO_NOT_FOUND;
    return decode_remembered(geo, &result.entry, out);
}
