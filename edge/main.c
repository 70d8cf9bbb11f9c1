// SPDX-License-Identifier: MIT
/*
 * main: the edge command line. Parses arguments, loads the config, starts the server and the
 * modules, then turns the main thread into the signal handler: SIGTERM/SIGINT start a graceful
 * shutdown, SIGHUP reloads what can change without dropping connections.
 *
 *   edge --config FILE            run in the foreground, logging JSON lines to stderr
 *   edge --check-config FILE      validate FILE and exit (0 valid, 1 invalid)
 *   edge --version
 *   edge catalog import|export FILE --config FILE
 *   edge spool stats|list|show ID --config FILE
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "edge/app/app.h"
#include "edge/app/config.h"
#include "edge/log.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: edge --config FILE           run the server in the foreground\n"
                 "       edge --check-config FILE     validate a configuration file\n"
                 "       edge --version\n"
                 "       edge catalog import|export FILE --config FILE\n"
                 "       edge spool stats|list|show ID --config FILE\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"check-config", required_argument, NULL, 'C'},
                                            {"version", no_argument, NULL, 'v'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    int check_only = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:C:vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            config_path = optarg;
            check_only = 1;
            break;
        case 'v':
            printf("edge %s (commit %s)\n", EDGE_VERSION, app_commit());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL) {
        usage(stderr);
        return 2;
    }

    conf_error_t err;
    config_t *config = config_load(config_path, &err);
    if (config == NULL) {
        fprintf(stderr, "edge: invalid configuration: %s\n", err.msg);
        return 1;
    }
    int ret;
    if (optind < argc) {
        ret = app_command(config, argc - optind, argv + optind);
    } else if (check_only) {
        ret = app_check(config, &err);
        if (ret == 0)
            printf("%s: configuration is valid\n", config_path);
        else
            fprintf(stderr, "edge: invalid configuration: %s\n", err.msg);
    } else {
        ret = app_run(config, config_path);
        config = NULL; /* app_run owns it */
    }
    config_destroy(config);
    return ret;
}
