/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * The shmsync semaphore protocol (docs/PROTOCOL.md 3.2), written once for
 * user space and the kernel on top of shim.h. This is the only C copy of it.
 *
 * The 64-bit data word holds value (bits 0-31, the futex word) and nwaiters
 * (bits 32-63), as glibc's sem_t does. Why no wake-up is lost: a waiter
 * registers (nwaiters + 1, an RMW on data) before it looks at value and
 * before it sleeps, and it sleeps only while the futex word is 0; a release
 * publishes its token and reads nwaiters in one CAS and wakes one waiter if
 * nwaiters > 0. Whichever of the two RMWs comes first, the waiter either
 * sees the token or is woken. An aborting waiter passes a wake-up on
 * (PROTOCOL.md 3.3). Every return from a futex wait means "look again".
 *
 * Return values: 0 on success; trydown -EAGAIN when no token is there; up
 * -EOVERFLOW at SEM_VALUE_MAX (nothing changed); down whatever the shim's
 * wait reports (-EINTR, -ETIMEDOUT, -ESHUTDOWN, -EIDRM, -EFAULT ...), and
 * then the caller holds no token and is no longer counted as a waiter.
 */
#ifndef SHMSYNC_SEM_H
#define SHMSYNC_SEM_H

#include "layout.h"
#include "shim.h"

static inline __u32 shmsync_sem_value(__u64 d)
{
	return (__u32)(d & SHMSYNC_SEM_VALUE_MASK);
}

static inline __u32 shmsync_sem_nwaiters(__u64 d)
{
	return (__u32)(d >> SHMSYNC_NWAITERS_SHIFT);
}

/* Try-acquire (fast path): CAS d -> d - 1 while value > 0. */
static inline int shmsync_proto_trydown(struct shmsync_semref *s)
{
	__u64 d = shmsync_load64(s->data);

	while (shmsync_sem_value(d) != 0) {
		if (shmsync_cas64_acquire(s->data, &d, d - 1))
			return 0;
	}
	return -EAGAIN;
}

/*
 * Release: CAS d -> d + 1 (refused at SEM_VALUE_MAX); then, with the d the
 * CAS replaced, wake one waiter if one is registered. After the CAS the
 * semaphore's memory is not touched again (only FUTEX_WAKE on its address).
 */
static inline int shmsync_proto_up(struct shmsync_semref *s)
{
	__u64 d = shmsync_load64(s->data);

	do {
		if (shmsync_sem_value(d) >= SHMSYNC_SEM_VALUE_MAX)
			return -EOVERFLOW;
	} while (!shmsync_cas64_release(s->data, &d, d + 1));
	if (shmsync_sem_nwaiters(d) != 0)
		shmsync_futex_wake(s, 1);
	return 0;
}

/*
 * Abort of a registered waiter: deregister; if a token is there and someone
 * else still waits, pass on the wake-up this waiter may have consumed.
 */
static inline void shmsync_proto_abort(struct shmsync_semref *s)
{
	__u64 d = shmsync_fetch_add64(s->data, -SHMSYNC_SEM_ONE_WAITER) -
		  SHMSYNC_SEM_ONE_WAITER;

	if (shmsync_sem_value(d) != 0 && shmsync_sem_nwaiters(d) != 0)
		shmsync_futex_wake(s, 1);
}

/*
 * Acquire, slow path: register, then take a token and deregister in one CAS,
 * or sleep while value == 0 and look again. Call after trydown failed.
 */
static inline int shmsync_proto_down_slow(struct shmsync_semref *s,
					const struct shmsync_wait *w)
{
	__u64 d = shmsync_fetch_add64(s->data, SHMSYNC_SEM_ONE_WAITER) +
		  SHMSYNC_SEM_ONE_WAITER;
	int ret;

	for (;;) {
		if (shmsync_sem_value(d) != 0) {
			if (shmsync_cas64_acquire(s->data, &d,
						  d - 1 - SHMSYNC_SEM_ONE_WAITER))
				return 0;
			continue;
		}
		ret = shmsync_futex_wait(s, 0, w);
		if (ret)
			break;
		d = shmsync_load64(s->data);
	}
	shmsync_proto_abort(s);
	return ret;
}

/* Acquire: fast path, then slow path. */
static inline int shmsync_proto_down(struct shmsync_semref *s,
				   const struct shmsync_wait *w)
{
	if (shmsync_proto_trydown(s) == 0)
		return 0;
	return shmsync_proto_down_slow(s, w);
}

#endif /* SHMSYNC_SEM_H */
