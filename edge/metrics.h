// SPDX-License-Identifier: MIT
/*
 * metrics: a process-wide registry of counters, gauges and histograms, rendered in the
 * Prometheus text format for the admin listener's /metrics (and pushed to statsd when configured).
 *
 * A series is a metric name plus a label string such as `route="redirect",status="302"`.
 * Registering is idempotent: asking again for the same name and labels returns the same series,
 * so callers may register lazily, but should keep the pointer (registration takes a mutex;
 * updates are lock-free atomics and safe from any thread).
 * Series live until metrics_reset() (tests) or process exit; pointers stay valid until then.
 * Label values that come from input must be escaped with metrics_label_escape, and must have
 * bounded cardinality (never a raw query parameter).
 */
#ifndef edge__edge_metrics_h
#define edge__edge_metrics_h

#include <stddef.h>
#include <stdint.h>

typedef struct st_metrics_counter_t metrics_counter_t;
typedef struct st_metrics_gauge_t metrics_gauge_t;
typedef struct st_metrics_histogram_t metrics_histogram_t;

/** Computes a gauge at scrape time (e.g. spool depth). Runs on the scraping thread. */
typedef double (*metrics_gauge_cb)(void *arg);

/**
 * @param name  metric name, [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total
 * @param help  one line of help text (same for every series of the name)
 * @param labels label string without braces, or "" / NULL
 * @return the series, or NULL on ENOMEM or when name is already registered with another type.
 */
metrics_counter_t *metrics_counter(const char *name, const char *help, const char *labels);
void metrics_counter_add(metrics_counter_t *c, uint64_t n);
static inline void metrics_counter_inc(metrics_counter_t *c)
{
    metrics_counter_add(c, 1);
}
uint64_t metrics_counter_value(const metrics_counter_t *c);

/**
 * A counter whose value is cb(arg) at each scrape, for counts kept elsewhere (e.g. inside h2o).
 * cb must be monotonic. @return 0, -ENOMEM or -EEXIST.
 */
int metrics_counter_fn(const char *name, const char *help, const char *labels, metrics_gauge_cb cb, void *arg);

metrics_gauge_t *metrics_gauge(const char *name, const char *help, const char *labels);
void metrics_gauge_set(metrics_gauge_t *g, double v);
void metrics_gauge_add(metrics_gauge_t *g, double delta);
double metrics_gauge_value(const metrics_gauge_t *g);
/** A gauge whose value is cb(arg) at each scrape. @return 0, -ENOMEM or -EEXIST. */
int metrics_gauge_fn(const char *name, const char *help, const char *labels, metrics_gauge_cb cb, void *arg);

/**
 * @param bounds ascending upper bounds (le), copied; +Inf is implicit.
 */
metrics_histogram_t *metrics_histogram(const char *name, const char *help, const char *labels, const double *bounds,
                                       size_t nbounds);
void metrics_histogram_observe(metrics_histogram_t *h, double v);

/** Standard latency buckets in seconds, 100 us .. 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_buckets_count;

/**
 * Renders every series in the Prometheus text exposition format 0.0.4.
 * @return malloc'ed text (caller frees) with its length in *len, or NULL on ENOMEM.
 */
char *metrics_render(size_t *len);

/**
 * Calls cb for every counter and gauge (for statsd): name, labels, current value.
 * Holds the registry mutex; cb must not register series.
 */
void metrics_foreach(void (*cb)(const char *name, const char *labels, int is_counter, double value, void *arg), void *arg);

/**
 * Escapes a label value (backslash, double quote, newline) into buf.
 * @return buf; the output is truncated to fit bufsize.
 */
char *metrics_label_escape(const char *value, char *buf, size_t bufsize);

/** Frees every series (tests only; no other thread may use metrics meanwhile). */
void metrics_reset(void);

#endif
