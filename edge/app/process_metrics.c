// SPDX-License-Identifier: MIT
/*
 * process_metrics: build information and the process's own resource use (resident memory,
 * open file descriptors, uptime), computed at scrape time from /proc.
 */
#include "edge/app/process_metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "edge/metrics.h"

static struct timespec started_at;

static double resident_bytes(void *arg)
{
    long pages_total, pages_resident;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp == NULL)
        return 0;
    int n = fscanf(fp, "%ld %ld", &pages_total, &pages_resident);
    fclose(fp);
    return n == 2 ? (double)pages_resident * (double)sysconf(_SC_PAGESIZE) : 0;
}

static double open_fds(void *arg)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return 0;
    double n = 0;
    while (readdir(dir) != NULL)
        ++n;
    closedir(dir);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

static double uptime_seconds(void *arg)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started_at.tv_sec) + (double)(now.tv_nsec - started_at.tv_nsec) / 1e9;
}

int process_metrics_register(const char *version, const char *commit)
{
    clock_gettime(CLOCK_MONOTONIC, &started_at);
    char labels[256];
    snprintf(labels, sizeof(labels), "version=\"%s\",commit=\"%s\"", version, commit);
    metrics_gauge_t *info = metrics_gauge("edge_build_info", "Version and commit of the running binary", labels);
    if (info == NULL)
        return -1;
    metrics_gauge_set(info, 1);
    if (metrics_gauge_fn("edge_process_resident_memory_bytes", "Resident set size", NULL, resident_bytes, NULL) != 0 ||
        metrics_gauge_fn("edge_process_open_fds", "Open file descriptors", NULL, open_fds, NULL) != 0 ||
        metrics_gauge_fn("edge_process_uptime_seconds", "Seconds since start", NULL, uptime_seconds, NULL) != 0)
        return -1;
    return 0;
}
