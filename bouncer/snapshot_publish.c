// SPDX-License-Identifier: MIT
/*
 * snapshot_publish: the publication point of snapshots (snapshot_holder_t), with hazard-pointer
 * reclamation; building and reading a snapshot is in snapshot.c.
 *
 * One atomic pointer holds the current snapshot; readers publish the pointer they use in their
 * own slot (hazard pointer) and re-check it; the publisher retires the old snapshot and frees
 * retired snapshots that no slot holds (snapshot_destroy()). All atomics are sequentially
 * consistent: a reader either sees the new pointer or its slot is seen by the publisher's scan.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "bouncer/snapshot.h"
#include "bouncer/internal.h"

struct st_snapshot_reader_t {
    _Alignas(64) _Atomic(snapshot_t *) hazard;
    atomic_int in_use;
    snapshot_holder_t *holder;
};

struct st_snapshot_holder_t {
    _Alignas(64) _Atomic(snapshot_t *) current; /* read by every redirect: not on a line that readers write */
    pthread_mutex_t mutex; /* publishers and the retired list */
    snapshot_t *retired;
    uint64_t version;
    struct st_snapshot_reader_t readers[SNAPSHOT_MAX_READERS];
};

snapshot_holder_t *snapshot_holder_create(void)
{
    /* calloc aligns to 16 bytes only: each reader's hazard pointer must have a cache line of its own */
    snapshot_holder_t *h = aligned_alloc(_Alignof(snapshot_holder_t), sizeof(*h));
    if (h == NULL)
        return NULL;
    memset(h, 0, sizeof(*h));
    atomic_init(&h->current, NULL);
    pthread_mutex_init(&h->mutex, NULL);
    for (size_t i = 0; i != SNAPSHOT_MAX_READERS; ++i) {
        atomic_init(&h->readers[i].hazard, NULL);
        atomic_init(&h->readers[i].in_use, 0);
        h->readers[i].holder = h;
    }
    return h;
}

static void reclaim_locked(snapshot_holder_t *h)
{
    snapshot_t **link = &h->retired;
    while (*link != NULL) {
        snapshot_t *s = *link;
        int held = 0;
        for (size_t i = 0; i != SNAPSHOT_MAX_READERS && !held; ++i)
            held = atomic_load(&h->readers[i].hazard) == s;
        if (held) {
            link = &s->_next_retired;
        } else {
            *link = s->_next_retired;
            snapshot_destroy(s);
        }
    }
}

void snapshot_holder_destroy(snapshot_holder_t *h)
{
    if (h == NULL)
        return;
    snapshot_destroy(atomic_load(&h->current));
    while (h->retired != NULL) {
        snapshot_t *next = h->retired->_next_retired;
        snapshot_destroy(h->retired);
        h->retired = next;
    }
    pthread_mutex_destroy(&h->mutex);
    free(h);
}

uint64_t snapshot_publish(snapshot_holder_t *h, snapshot_t *snap)
{
    pthread_mutex_lock(&h->mutex);
    uint64_t version = snap->version = ++h->version;
    snapshot_t *old = atomic_exchange(&h->current, snap);
    if (old != NULL) {
        old->_next_retired = h->retired;
        h->retired = old;
    }
    reclaim_locked(h);
    pthread_mutex_unlock(&h->mutex);
    return version;
}

void snapshot_reclaim(snapshot_holder_t *h)
{
    pthread_mutex_lock(&h->mutex);
    reclaim_locked(h);
    pthread_mutex_unlock(&h->mutex);
}

uint64_t snapshot_current_version(snapshot_holder_t *h)
{
    pthread_mutex_lock(&h->mutex);
    uint64_t v = h->version;
    pthread_mutex_unlock(&h->mutex);
    return v;
}

snapshot_reader_t *snapshot_reader_register(snapshot_holder_t *h)
{
    for (size_t i = 0; i != SNAPSHOT_MAX_READERS; ++i) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&h->readers[i].in_use, &expected, 1))
            return h->readers + i;
    }
    return NULL;
}

void snapshot_reader_unregister(snapshot_reader_t *r)
{
    if (r == NULL)
        return;
    atomic_store(&r->hazard, NULL);
    atomic_store(&r->in_use, 0);
}

const snapshot_t *snapshot_acquire(snapshot_reader_t *r)
{
    snapshot_t *p;
    do {
        p = atomic_load(&r->holder->current);
        atomic_store(&r->hazard, p);
    } while (p != atomic_load(&r->holder->current));
    return p;
}

void snapshot_release(snapshot_reader_t *r)
{
    atomic_store(&r->hazard, NULL);
}
