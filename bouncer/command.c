// SPDX-License-Identifier: MIT
/*
 * command: `edge catalog import FILE` and `edge catalog export FILE` (FILE "-" is stdin/stdout).
 *
 * LMDB lets several processes share the catalog environment, so both work whether or not a
 * server runs on the same data directory: export reads in one read transaction (a consistent
 * view), import validates the whole document first and replaces the catalog in one write
 * transaction (nothing changes when the document is invalid). A running server picks an import
 * up at its next republish: send it SIGHUP, or import through `PUT /api/v1/catalog` instead, which
 * republishes at once. The import also drops the stored health records (checks start afresh).
 * Main thread only. Exit status: 0 done, 1 failed (invalid document, I/O), 2 usage error.
 */
#include "bouncer/module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IMPORT_MAX ((size_t)256 << 20)

static int usage(FILE *err)
{
    fprintf(err, "usage: edge catalog import FILE --config FILE\n"
                 "       edge catalog export FILE --config FILE\n"
                 "FILE \"-\" is standard input / output.\n");
    return 2;
}

static int do_export(store_t *store, const char *file, FILE *out, FILE *err)
{
    catalog_t *cat = NULL;
    char *json = NULL;
    FILE *fp = NULL;
    int ret = 1, rc;

    if ((rc = store_load(store, &cat)) != 0) {
        fprintf(err, "edge: cannot read the catalog: %s\n", store_strerror(rc));
        goto Exit;
    }
    if (catalog_to_json(cat, &json) != 0) {
        fprintf(err, "edge: out of memory\n");
        goto Exit;
    }
    fp = strcmp(file, "-") == 0 ? out : fopen(file, "w");
    if (fp == NULL) {
        fprintf(err, "edge: cannot write %s: %s\n", file, strerror(errno));
        goto Exit;
    }
    if (fputs(json, fp) == EOF || fputc('\n', fp) == EOF || fflush(fp) != 0) {
        fprintf(err, "edge: cannot write %s: %s\n", file, strerror(errno));
        goto Exit;
    }
    if (fp != out)
        fprintf(err, "edge: catalog exported to %s: %zu products, %zu locations, %zu aliases, %zu mirrors, %zu rules\n", file,
                cat->num_products, cat->num_locations, cat->num_aliases, cat->num_mirrors, cat->num_rules);
    ret = 0;
Exit:
    if (fp != NULL && fp != out && fclose(fp) != 0 && ret == 0) {
        fprintf(err, "edge: cannot write %s: %s\n", file, strerror(errno));
        ret = 1;
    }
    free(json);
    catalog_destroy(cat);
    return ret;
}

static int do_import(store_t *store, const char *file, FILE *err)
{
    char *json = NULL;
    size_t len = 0;
    catalog_t *cat = NULL;
    catalog_error_t cerr;
    int ret = 1, rc;

    if (strcmp(file, "-") == 0) {
        if (bouncer__read_stream(stdin, &json, &len, IMPORT_MAX) != 0) {
            fprintf(err, "edge: cannot read standard input (or larger than 256 MiB)\n");
            goto Exit;
        }
    } else if ((rc = bouncer__read_file(file, &json, &len)) != 0) {
        fprintf(err, "edge: cannot read %s: %s\n", file, strerror(-rc));
        goto Exit;
    }
    if ((rc = catalog_from_json(json, len, 0, &cat, &cerr)) != 0) {
        fprintf(err, "edge: %s: %s\n", file, rc == -EINVAL ? cerr.message : strerror(-rc));
        goto Exit;
    }
    if ((rc = store_replace(store, cat, &cerr)) != 0) {
        fprintf(err, "edge: %s: %s\n", file, rc == STORE_INVALID ? cerr.message : store_strerror(rc));
        goto Exit;
    }
    fprintf(err,
            "edge: catalog imported from %s: %zu products, %zu locations, %zu aliases, %zu mirrors, %zu rules "
            "(a running server applies it on SIGHUP)\n",
            file, cat->num_products, cat->num_locations, cat->num_aliases, cat->num_mirrors, cat->num_rules);
    ret = 0;
Exit:
    catalog_destroy(cat);
    free(json);
    return ret;
}

/* mkdir -p: the server creates data_dir at start, the command may run before it ever did */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1;; ++p) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -errno;
            if (c == '\0')
                break;
            *p = c;
        }
    }
    return 0;
}

int bouncer_command(const conf_node_t *section, const char *data_dir, int argc, char **argv, FILE *out, FILE *err)
{
    bouncer_config_t *config = NULL;
    store_t *store = NULL;
    conf_error_t cerr;
    int ret = 2, rc;

    /* argv: "catalog" verb FILE */
    if (argc != 3 || (strcmp(argv[1], "import") != 0 && strcmp(argv[1], "export") != 0)) {
        ret = usage(err);
        goto Exit;
    }
    if (bouncer_config_parse(section, &config, &cerr) != 0) {
        fprintf(err, "edge: invalid configuration: %s\n", cerr.msg);
        ret = 1;
        goto Exit;
    }
    if ((rc = make_dirs(data_dir)) != 0) {
        fprintf(err, "edge: cannot create %s: %s\n", data_dir, strerror(-rc));
        ret = 1;
        goto Exit;
    }
    if ((rc = store_open(data_dir, (size_t)config->catalog_map_size, &store)) != 0) {
        fprintf(err, "edge: cannot open the catalog in %s/catalog: %s\n", data_dir, store_strerror(rc));
        ret = 1;
        goto Exit;
    }
    ret = strcmp(argv[1], "export") == 0 ? do_export(store, argv[2], out, err) : do_import(store, argv[2], err);
Exit:
    store_close(store);
    bouncer_config_destroy(config);
    return ret;
}
