// SPDX-License-Identifier: MIT
/*
 * command: `edge spool ...`, the operator's view of the spool from the command line.
 *
 *   edge spool stats                       counters as JSON
 *   edge spool list [N]                    the first N waiting crashes (default 100), JSON
 *   edge spool show ID                     the stored raw crash JSON (exit 1 when absent)
 *   edge spool deadletter list [N]         dead letters, JSON
 *   edge spool deadletter show ID          one dead letter: reason, dumps, raw crash
 *   edge spool deadletter requeue ID       move it back to the main table (due now)
 *   edge spool deadletter purge [ID]       delete one dead letter, or all of them
 *
 * LMDB lets several processes share an environment, so this works while a server runs on the
 * same data directory: reads open the spool read-only (no writer thread, no lock held beyond a
 * read transaction); requeue and purge open it read-write and commit through their own writer
 * thread, serialised with the server's by LMDB's process-shared write lock. Main thread only.
 * Exit status: 0 done, 1 not found or failed, 2 usage error.
 */
#include "collector/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector/crashid.h"

static int usage(FILE *err)
{
    fprintf(err, "usage: edge spool stats|list [N]|show ID --config FILE\n"
                 "       edge spool deadletter list [N]|show ID|requeue ID|purge [ID] --config FILE\n");
    return 2;
}

static int parse_count(const char *arg, size_t *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || v == 0 || v > 1000000)
        return -1;
    *out = v;
    return 0;
}

static int print_json(char *json, int status, const char *what, FILE *out, FILE *err)
{
    if (json == NULL) {
        if (status == SPOOL_NOT_FOUND)
            fprintf(err, "edge: %s: not in the spool\n", what);
        else
            fprintf(err, "edge: %s: %s\n", what, spool_strerror(status));
        return 1;
    }
    fprintf(out, "%s\n", json);
    free(json);
    return 0;
}

/* The spool commands proper, on an open spool. */
static int run(spool_t *spool, int dead, const char *verb, const char *arg, FILE *out, FILE *err)
{
    int status = 0;
    size_t n = 100;
    char *json;

    /* the JSON is computed before print_json reads status: argument evaluation order is unspecified */
    if (strcmp(verb, "stats") == 0 && !dead) {
        json = collector__spool_stats_json(spool, NULL, &status);
        return print_json(json, status, "stats", out, err);
    }
    if (strcmp(verb, "list") == 0) {
        if (arg != NULL && parse_count(arg, &n) != 0)
            return usage(err);
        json = collector__spool_list_json(spool, dead, 0, n, &status);
        return print_json(json, status, "list", out, err);
    }
    if (strcmp(verb, "show") == 0) {
        if (dead) {
            json = collector__spool_show_json(spool, 1, arg, &status);
            return print_json(json, status, arg, out, err);
        }
        size_t len = 0;
        char *raw = collector__spool_raw_crash(spool, 0, arg, &len, &status);
        if (raw == NULL)
            return print_json(NULL, status, arg, out, err);
        fwrite(raw, 1, len, out);
        fputc('\n', out);
        free(raw);
        return 0;
    }
    /* requeue / purge */
    spool_job_t job;
    if (strcmp(verb, "requeue") == 0)
        spool_job_init_requeue(&job, arg, NULL, NULL);
    else
        spool_job_init_purge(&job, arg, NULL, NULL);
    if ((status = spool_submit_wait(spool, &job)) != 0)
        return print_json(NULL, status, arg != NULL ? arg : "purge", out, err);
    if (strcmp(verb, "requeue") == 0)
        fprintf(out, "{\"requeued\": \"%s\", \"seq\": %llu}\n", arg, (unsigned long long)job.seq);
    else
        fprintf(out, "{\"purged\": %llu}\n", (unsigned long long)job.seq);
    return 0;
}

int collector_command(const conf_node_t *section, const char *data_dir, int argc, char **argv, FILE *out, FILE *err)
{
    collector_config_t *config = NULL;
    spool_t *spool = NULL;
    conf_error_t cerr;
    int ret = 2, rc;

    /* argv: "spool" [deadletter] verb [arg] */
    int dead = argc >= 2 && strcmp(argv[1], "deadletter") == 0;
    int verb_at = dead ? 2 : 1;
    if (argc <= verb_at || argc > verb_at + 2) {
        ret = usage(err);
        goto Exit;
    }
    const char *verb = argv[verb_at], *arg = argc == verb_at + 2 ? argv[verb_at + 1] : NULL;
    int writes = dead && (strcmp(verb, "requeue") == 0 || strcmp(verb, "purge") == 0);
    int needs_id = strcmp(verb, "show") == 0 || strcmp(verb, "requeue") == 0;
    if (!(strcmp(verb, "stats") == 0 && !dead && arg == NULL) && strcmp(verb, "list") != 0 && !needs_id &&
        !(writes && strcmp(verb, "purge") == 0)) {
        ret = usage(err);
        goto Exit;
    }
    if (needs_id && arg == NULL) {
        ret = usage(err);
        goto Exit;
    }
    if ((needs_id || writes) && arg != NULL && !crashid_validate(arg, strlen(arg), 0)) {
        fprintf(err, "edge: not a crash id: %s\n", arg);
        ret = 2;
        goto Exit;
    }
    if (collector_config_parse(section, &config, &cerr) != 0) {
        fprintf(err, "edge: invalid configuration: %s\n", cerr.msg);
        ret = 1;
        goto Exit;
    }
    if ((rc = collector__spool_open(config, data_dir, !writes, 0, &spool)) != 0) {
        fprintf(err, "edge: cannot open the spool in %s/spool: %s\n", data_dir, spool_strerror(rc));
        ret = 1;
        goto Exit;
    }
    ret = run(spool, dead, verb, arg, out, err);
Exit:
    spool_destroy(spool);
    collector_config_destroy(config);
    return ret;
}
