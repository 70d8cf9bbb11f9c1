// SPDX-License-Identifier: MIT
/*
 * metrics: the registry behind edge/metrics.h.
 *
 * Families (one per metric name) hold series (one per label string) in singly linked lists
 * guarded by one mutex, which is taken only to register a series and to render. Values are
 * atomics, so updates from worker threads never lock. Gauges store a double's bits in an
 * atomic 64-bit word; adding to a gauge uses a compare-and-swap loop.
 */
#include "edge/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum en_metric_type_t {
    TYPE_COUNTER,
    TYPE_GAUGE,
    TYPE_HISTOGRAM,
} metric_type_t;

typedef struct st_series_t series_t;

struct st_metrics_counter_t {
    _Atomic uint64_t value;
    metrics_gauge_cb cb;
    void *cb_arg;
};

struct st_metrics_gauge_t {
    _Atomic uint64_t bits;
    metrics_gauge_cb cb;
    void *cb_arg;
};

struct st_metrics_histogram_t {
    double *bounds;
    size_t nbounds;
    _Atomic uint64_t *buckets; /* nbounds + 1, not cumulative */
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t count;
};

struct st_series_t {
    series_t *next;
    char *labels;
    union {
        struct st_metrics_counter_t counter;
        struct st_metrics_gauge_t gauge;
        struct st_metrics_histogram_t histogram;
    } u;
};

typedef struct st_family_t family_t;
struct st_family_t {
    family_t *next;
    char *name;
    char *help;
    metric_type_t type;
    series_t *series, **series_tail;
};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static family_t *families, **families_tail = &families;

const double metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
const size_t metrics_latency_buckets_count = sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

static uint64_t double_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double bits_double(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

/* Finds or creates the series; called with the registry mutex held. *created tells which. */
static series_t *lookup(const char *name, const char *help, const char *labels, metric_type_t type, int *created)
{
    family_t *family;
    *created = 0;
    if (labels == NULL)
        labels = "";
    for (family = families; family != NULL; family = family->next)
        if (strcmp(family->name, name) == 0)
            break;
    if (family == NULL) {
        if ((family = calloc(1, sizeof(*family))) == NULL)
            return NULL;
        if ((family->name = strdup(name)) == NULL || (family->help = strdup(help != NULL ? help : "")) == NULL) {
            free(family->name);
            free(family);
            return NULL;
        }
        family->type = type;
        family->series_tail = &family->series;
        *families_tail = family;
        families_tail = &family->next;
    } else if (family->type != type) {
        return NULL;
    }
    for (series_t *s = family->series; s != NULL; s = s->next)
        if (strcmp(s->labels, labels) == 0)
            return s;
    series_t *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->labels = strdup(labels)) == NULL) {
        free(s);
        return NULL;
    }
    *family->series_tail = s;
    family->series_tail = &s->next;
    *created = 1;
    return s;
}

metrics_counter_t *metrics_counter(const char *name, const char *help, const char *labels)
{
    int created;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = lookup(name, help, labels, TYPE_COUNTER, &created);
    pthread_mutex_unlock(&registry_mutex);
    return s != NULL ? &s->u.counter : NULL;
}

void metrics_counter_add(metrics_counter_t *c, uint64_t n)
{
    if (c != NULL)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t metrics_counter_value(const metrics_counter_t *c)
{
    if (c == NULL)
        return 0;
    if (c->cb != NULL)
        return (uint64_t)c->cb(c->cb_arg);
    return atomic_load_explicit(&((metrics_counter_t *)c)->value, memory_order_relaxed);
}

int metrics_counter_fn(const char *name, const char *help, const char *labels, metrics_gauge_cb cb, void *arg)
{
    int created, ret = 0;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = lookup(name, help, labels, TYPE_COUNTER, &created);
    if (s == NULL) {
        ret = -ENOMEM;
    } else if (!created && s->u.counter.cb != NULL && (s->u.counter.cb != cb || s->u.counter.cb_arg != arg)) {
        ret = -EEXIST;
    } else {
        s->u.counter.cb = cb;
        s->u.counter.cb_arg = arg;
    }
    pthread_mutex_unlock(&registry_mutex);
    return ret;
}

metrics_gauge_t *metrics_gauge(const char *name, const char *help, const char *labels)
{
    int created;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = lookup(name, help, labels, TYPE_GAUGE, &created);
    pthread_mutex_unlock(&registry_mutex);
    return s != NULL ? &s->u.gauge : NULL;
}

void metrics_gauge_set(metrics_gauge_t *g, double v)
{
    if (g != NULL)
        atomic_store_explicit(&g->bits, double_bits(v), memory_order_relaxed);
}

void metrics_gauge_add(metrics_gauge_t *g, double delta)
{
    if (g == NULL)
        return;
    uint64_t old = atomic_load_explicit(&g->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&g->bits, &old, double_bits(bits_double(old) + delta), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

double metrics_gauge_value(const metrics_gauge_t *g)
{
    if (g == NULL)
        return 0;
    if (g->cb != NULL)
        return g->cb(g->cb_arg);
    return bits_double(atomic_load_explicit(&((metrics_gauge_t *)g)->bits, memory_order_relaxed));
}

int metrics_gauge_fn(const char *name, const char *help, const char *labels, metrics_gauge_cb cb, void *arg)
{
    int created, ret = 0;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = lookup(name, help, labels, TYPE_GAUGE, &created);
    if (s == NULL) {
        ret = -ENOMEM;
    } else if (!created && s->u.gauge.cb != NULL && (s->u.gauge.cb != cb || s->u.gauge.cb_arg != arg)) {
        ret = -EEXIST;
    } else {
        s->u.gauge.cb = cb;
        s->u.gauge.cb_arg = arg;
    }
    pthread_mutex_unlock(&registry_mutex);
    return ret;
}

metrics_histogram_t *metrics_histogram(const char *name, const char *help, const char *labels, const double *bounds,
                                       size_t nbounds)
{
    int created;
    metrics_histogram_t *h = NULL;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = lookup(name, help, labels, TYPE_HISTOGRAM, &created);
    if (s == NULL)
        goto Exit;
    h = &s->u.histogram;
    if (created) {
        h->bounds = malloc(nbounds * sizeof(*h->bounds));
        h->buckets = calloc(nbounds + 1, sizeof(*h->buckets));
        if (h->bounds == NULL || h->buckets == NULL) {
            /* leave the series registered but empty; observations are then ignored */
            free(h->bounds);
            free((void *)h->buckets);
            h->bounds = NULL;
            h->buckets = NULL;
            h = NULL;
            goto Exit;
        }
        memcpy(h->bounds, bounds, nbounds * sizeof(*h->bounds));
        h->nbounds = nbounds;
    }
Exit:
    pthread_mutex_unlock(&registry_mutex);
    return h;
}

void metrics_histogram_observe(metrics_histogram_t *h, double v)
{
    if (h == NULL || h->buckets == NULL)
        return;
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        ++i;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, double_bits(bits_double(old) + v), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

char *metrics_label_escape(const char *value, char *buf, size_t bufsize)
{
    size_t o = 0;
    for (; *value != '\0' && o + 3 < bufsize; ++value) {
        char c = *value;
        if (c == '\\' || c == '"') {
            buf[o++] = '\\';
            buf[o++] = c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            buf[o++] = c;
        }
    }
    if (bufsize > 0)
        buf[o] = '\0';
    return buf;
}

/* A growable output buffer; on ENOMEM it sets failed and ignores further output. */
typedef struct st_outbuf_t {
    char *data;
    size_t len, cap;
    int failed;
} outbuf_t;

static void out_printf(outbuf_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(outbuf_t *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list args;
        va_start(args, fmt);
        int n = vsnprintf(o->data + o->len, o->cap - o->len, fmt, args);
        va_end(args);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *bigger = realloc(o->data, cap);
        if (bigger == NULL) {
            o->failed = 1;
            return;
        }
        o->data = bigger;
        o->cap = cap;
    }
}

static void out_value(outbuf_t *o, double v)
{
    if (isnan(v))
        out_printf(o, "NaN\n");
    else if (isinf(v))
        out_printf(o, v > 0 ? "+Inf\n" : "-Inf\n");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        out_printf(o, "%lld\n", (long long)v);
    else
        out_printf(o, "%.10g\n", v);
}

static void render_series(outbuf_t *o, const family_t *f, const series_t *s)
{
    const char *open = s->labels[0] != '\0' ? "{" : "", *close = s->labels[0] != '\0' ? "}" : "";
    switch (f->type) {
    case TYPE_COUNTER:
        out_printf(o, "%s%s%s%s ", f->name, open, s->labels, close);
        out_value(o, (double)metrics_counter_value(&s->u.counter));
        break;
    case TYPE_GAUGE:
        out_printf(o, "%s%s%s%s ", f->name, open, s->labels, close);
        out_value(o, metrics_gauge_value(&s->u.gauge));
        break;
    case TYPE_HISTOGRAM: {
        const metrics_histogram_t *h = &s->u.histogram;
        if (h->buckets == NULL)
            break;
        const char *sep = s->labels[0] != '\0' ? "," : "";
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h->nbounds; ++i) {
            cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
            if (i < h->nbounds && h->bounds[i] == (double)(int64_t)h->bounds[i] && fabs(h->bounds[i]) < 9e15)
                out_printf(o, "%s_bucket{%s%sle=\"%lld\"} %llu\n", f->name, s->labels, sep, (long long)h->bounds[i],
                           (unsigned long long)cumulative);
            else if (i < h->nbounds)
                out_printf(o, "%s_bucket{%s%sle=\"%.10g\"} %llu\n", f->name, s->labels, sep, h->bounds[i],
                           (unsigned long long)cumulative);
            else
                out_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep, (unsigned long long)cumulative);
        }
        out_printf(o, "%s_sum%s%s%s ", f->name, open, s->labels, close);
        out_value(o, bits_double(atomic_load_explicit(&((metrics_histogram_t *)h)->sum_bits, memory_order_relaxed)));
        /* count equals the +Inf bucket so that scrapers never see them disagree */
        out_printf(o, "%s_count%s%s%s %llu\n", f->name, open, s->labels, close, (unsigned long long)cumulative);
        break;
    }
    }
}

char *metrics_render(size_t *len)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    outbuf_t o = {NULL, 0, 0, 0};
    pthread_mutex_lock(&registry_mutex);
    for (const family_t *f = families; f != NULL; f = f->next) {
        out_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, type_names[f->type]);
        for (const series_t *s = f->series; s != NULL; s = s->next)
            render_series(&o, f, s);
    }
    pthread_mutex_unlock(&registry_mutex);
    if (o.failed || o.data == NULL) {
        if (!o.failed && (o.data = strdup("")) != NULL) {
            *len = 0;
            return o.data;
        }
        free(o.data);
        return NULL;
    }
    *len = o.len;
    return o.data;
}

void metrics_foreach(void (*cb)(const char *name, const char *labels, int is_counter, double value, void *arg), void *arg)
{
    pthread_mutex_lock(&registry_mutex);
    for (const family_t *f = families; f != NULL; f = f->next) {
        for (const series_t *s = f->series; s != NULL; s = s->next) {
            if (f->type == TYPE_COUNTER)
                cb(f->name, s->labels, 1, (double)metrics_counter_value(&s->u.counter), arg);
            else if (f->type == TYPE_GAUGE)
                cb(f->name, s->labels, 0, metrics_gauge_value(&s->u.gauge), arg);
        }
    }
    pthread_mutex_unlock(&registry_mutex);
}

void metrics_reset(void)
{
    pthread_mutex_lock(&registry_mutex);
    while (families != NULL) {
        family_t *f = families;
        families = f->next;
        while (f->series != NULL) {
            series_t *s = f->series;
            f->series = s->next;
            if (f->type == TYPE_HISTOGRAM) {
                free(s->u.histogram.bounds);
                free((void *)s->u.histogram.buckets);
            }
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    families_tail = &families;
    pthread_mutex_unlock(&registry_mutex);
}
