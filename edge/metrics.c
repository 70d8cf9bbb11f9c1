// SPDX-License-Identifier: MIT
/*
 * metrics: the registry behind edge/metrics.h.
 *
 * Families (one per metric name) hold series (one per label string) in singly linked lists
 * guarded by one mutex, which is taken only to register a series and to render. Updates never
 * lock, and they do not share cache lines between threads either: every counter, histogram and
 * added-to gauge keeps one cache-line-sized cell per shard, each thread writes only its own shard
 * (assigned at its first update), and a scrape sums the shards. A redirect updates about ten
 * series; with one shared atomic each, the cores would pass those cache lines back and forth on
 * every request. The first SHARDS - 1 threads own their shard alone and update it with a plain
 * load and store (no locked instruction: a scrape only reads); later threads share the last shard
 * and update it atomically. Gauge doubles are stored as bits in 64-bit words.
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

#define SHARDS 8 /* the last one is shared by the threads beyond SHARDS - 1 */
#define CACHE_LINE 64

typedef enum en_metric_type_t {
    TYPE_COUNTER,
    TYPE_GAUGE,
    TYPE_HISTOGRAM,
} metric_type_t;

typedef struct st_series_t series_t;

/* One shard's word, alone on its cache line. */
typedef struct st_cell_t {
    _Alignas(CACHE_LINE) _Atomic uint64_t v;
} cell_t;

struct st_metrics_counter_t {
    cell_t *cells; /* SHARDS */
    metrics_gauge_cb cb;
    void *cb_arg;
};

struct st_metrics_gauge_t {
    _Atomic uint64_t set_bits; /* the value last set (a double's bits) */
    cell_t *added;             /* SHARDS doubles' bits: what was added, per shard */
    metrics_gauge_cb cb;
    void *cb_arg;
};

struct st_metrics_histogram_t {
    double *bounds;
    size_t nbounds;
    size_t stride;            /* words per shard: nbounds + 1 buckets, then the sum's bits; a whole number of cache lines */
    _Atomic uint64_t *shards; /* SHARDS * stride, cache-line aligned */
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

typedef struct st_shard_t {
    unsigned index;
    int owned; /* the thread is this shard's only writer */
} shard_t;

/* This thread's shard, assigned at its first update. */
static shard_t my_shard(void)
{
    static _Atomic unsigned next_shard;
    static _Thread_local unsigned shard_plus_one;
    if (shard_plus_one == 0) {
        unsigned n = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed);
        shard_plus_one = (n < SHARDS - 1 ? n : SHARDS - 1) + 1;
    }
    return (shard_t){shard_plus_one - 1, shard_plus_one != SHARDS};
}

static void add_u64(_Atomic uint64_t *v, uint64_t n, int owned)
{
    if (owned)
        atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static void add_double(_Atomic uint64_t *bits, double delta, int owned)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    if (owned) {
        atomic_store_explicit(bits, double_bits(bits_double(old) + delta), memory_order_relaxed);
        return;
    }
    while (!atomic_compare_exchange_weak_explicit(bits, &old, double_bits(bits_double(old) + delta), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static cell_t *new_cells(void)
{
    cell_t *cells = aligned_alloc(CACHE_LINE, SHARDS * sizeof(cell_t));
    if (cells != NULL)
        for (size_t i = 0; i != SHARDS; ++i)
            atomic_init(&cells[i].v, 0);
    return cells;
}

static void free_series(const family_t *f, series_t *s)
{
    if (f->type == TYPE_COUNTER) {
        free(s->u.counter.cells);
    } else if (f->type == TYPE_GAUGE) {
        free(s->u.gauge.added);
    } else {
        free(s->u.histogram.bounds);
        free((void *)s->u.histogram.shards);
    }
    free(s->labels);
    free(s);
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
    /* histograms get their cells in metrics_histogram, which knows the bounds */
    if ((type == TYPE_COUNTER && (s->u.counter.cells = new_cells()) == NULL) ||
        (type == TYPE_GAUGE && (s->u.gauge.added = new_cells()) == NULL)) {
        free_series(family, s);
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
    if (c != NULL) {
        shard_t shard = my_shard();
        add_u64(&c->cells[shard.index].v, n, shard.owned);
    }
}

uint64_t metrics_counter_value(const metrics_counter_t *c)
{
    if (c == NULL)
        return 0;
    if (c->cb != NULL)
        return (uint64_t)c->cb(c->cb_arg);
    uint64_t sum = 0;
    for (size_t i = 0; i != SHARDS; ++i)
        sum += atomic_load_explicit(&c->cells[i].v, memory_order_relaxed);
    return sum;
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
        atomic_store_explicit(&g->set_bits, double_bits(v), memory_order_relaxed);
}

void metrics_gauge_add(metrics_gauge_t *g, double delta)
{
    if (g != NULL) {
        shard_t shard = my_shard();
        add_double(&g->added[shard.index].v, delta, shard.owned);
    }
}

double metrics_gauge_value(const metrics_gauge_t *g)
{
    if (g == NULL)
        return 0;
    if (g->cb != NULL)
        return g->cb(g->cb_arg);
    double v = bits_double(atomic_load_explicit(&((metrics_gauge_t *)g)->set_bits, memory_order_relaxed));
    for (size_t i = 0; i != SHARDS; ++i)
        v += bits_double(atomic_load_explicit(&g->added[i].v, memory_order_relaxed));
    return v;
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
        const size_t words_per_line = CACHE_LINE / sizeof(uint64_t);
        h->stride = (nbounds + 2 + words_per_line - 1) / words_per_line * words_per_line;
        h->bounds = malloc(nbounds * sizeof(*h->bounds));
        h->shards = aligned_alloc(CACHE_LINE, SHARDS * h->stride * sizeof(*h->shards));
        if (h->bounds == NULL || h->shards == NULL) {
            /* leave the series registered but empty; observations are then ignored */
            free(h->bounds);
            free((void *)h->shards);
            h->bounds = NULL;
            h->shards = NULL;
            h = NULL;
            goto Exit;
        }
        for (size_t i = 0; i != SHARDS * h->stride; ++i)
            atomic_init(&h->shards[i], 0);
        memcpy(h->bounds, bounds, nbounds * sizeof(*h->bounds));
        h->nbounds = nbounds;
    }
Exit:
    pthread_mutex_unlock(&registry_mutex);
    return h;
}

void metrics_histogram_observe(metrics_histogram_t *h, double v)
{
    if (h == NULL || h->shards == NULL)
        return;
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        ++i;
    shard_t shard = my_shard();
    _Atomic uint64_t *words = h->shards + shard.index * h->stride;
    add_u64(&words[i], 1, shard.owned);
    add_double(&words[h->nbounds + 1], v, shard.owned);
}

/* Bucket i (not cumulative) or, for i == nbounds + 1, the sum's bits, summed over the shards. */
static uint64_t histogram_bucket(const metrics_histogram_t *h, size_t i)
{
    uint64_t n = 0;
    for (size_t k = 0; k != SHARDS; ++k)
        n += atomic_load_explicit(&h->shards[k * h->stride + i], memory_order_relaxed);
    return n;
}

static double histogram_sum(const metrics_histogram_t *h)
{
    double sum = 0;
    for (size_t k = 0; k != SHARDS; ++k)
        sum += bits_double(atomic_load_explicit(&h->shards[k * h->stride + h->nbounds + 1], memory_order_relaxed));
    return sum;
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
        if (h->shards == NULL)
            break;
        const char *sep = s->labels[0] != '\0' ? "," : "";
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h->nbounds; ++i) {
            cumulative += histogram_bucket(h, i);
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
        out_value(o, histogram_sum(h));
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
            free_series(f, s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    families_tail = &families;
    pthread_mutex_unlock(&registry_mutex);
}
