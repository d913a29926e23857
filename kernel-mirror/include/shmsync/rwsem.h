/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * The shmsync read-write semaphore protocol (docs/PROTOCOL.md 7), written
 * once for user space and the kernel on top of shim.h. This is the only C
 * copy of it; the Java copy is io.shmsync.RwSemaphore. Transition numbers
 * (T1 ... T10) are those of PROTOCOL.md 7.3.
 *
 * One 64-bit state word (bit table in layout.h): PRESENT (a writer holds or
 * waits), PHASE, RWAIT (queued readers), READERS (read holds), WWAIT (queued
 * writers), WRITER. Writer-preferring: once a writer waits, new readers queue.
 * Phase-fair: every write release hands the lock to all queued readers at
 * once (RWAIT moves into READERS and PHASE toggles), so a queued reader waits
 * for at most one writer's turn; a queued writer never waits for readers that
 * came after it, except those handed off by a writer before it.
 *
 * Why no wake-up is lost: queued readers sleep on the low half (byte 0) and
 * can only proceed after PHASE toggles or PRESENT clears, both in the low
 * half, and each such transition wakes all readers when RWAIT was non-zero;
 * queued writers sleep on the high half (byte 4) and can only proceed after
 * READERS and WRITER are both 0, both in the high half, and each such
 * transition wakes one writer when WWAIT was non-zero. A waiter's
 * registration is an RMW on the same word, so whichever comes first, the
 * waiter either sees the change or is woken. A writer that gives up passes a
 * wake-up on and, if it was the last writer present, lets the readers it held
 * back in (T7: the abort rule). Every return from a futex wait means "look
 * again".
 *
 * C callers are not tracked per thread: a nested read while a writer waits
 * deadlocks (as with Linux's rwsem), and up_read/up_write trust the caller.
 *
 * Return values: 0 on success; trylock/try_upgrade -EAGAIN; -EUCLEAN when the
 * word breaks the invariants (another party corrupted it; nothing changed);
 * -EOVERFLOW at the count limits; blocking calls whatever the shim's wait
 * reports (-EINTR, -ETIMEDOUT, ...), and then the caller holds nothing new and
 * is no longer queued.
 */
#ifndef SHMSYNC_RWSEM_H
#define SHMSYNC_RWSEM_H

#include "layout.h"
#include "shim.h"

static inline unsigned int shmsync_rwsem_rwait(__u64 s)
{
	return (unsigned int)(s >> SHMSYNC_RWSEM_RWAIT_SHIFT) & 0xFFFF;
}

static inline unsigned int shmsync_rwsem_readers(__u64 s)
{
	return (unsigned int)(s >> SHMSYNC_RWSEM_READERS_SHIFT) & 0xFFFF;
}

static inline unsigned int shmsync_rwsem_wwait(__u64 s)
{
	return (unsigned int)(s >> SHMSYNC_RWSEM_WWAIT_SHIFT) & 0x7FFF;
}

static inline bool shmsync_rwsem_writer(__u64 s)
{
	return (s & SHMSYNC_RWSEM_WRITER) != 0;
}

static inline bool shmsync_rwsem_present(__u64 s)
{
	return (s & SHMSYNC_RWSEM_PRESENT) != 0;
}

/* Invariants I1-I4 of PROTOCOL.md 7.1. */
static inline bool shmsync_rwsem_sane(__u64 s)
{
	return shmsync_rwsem_present(s) ==
		       (shmsync_rwsem_writer(s) || shmsync_rwsem_wwait(s) > 0) &&
	       !(shmsync_rwsem_writer(s) && shmsync_rwsem_readers(s) != 0) &&
	       shmsync_rwsem_readers(s) + shmsync_rwsem_rwait(s) <=
		       SHMSYNC_RWSEM_MAX_READERS &&
	       (s & SHMSYNC_RWSEM_ZERO_BITS) == 0;
}

static inline __u32 shmsync_rwsem_lo(__u64 s)
{
	return (__u32)s;
}

static inline __u32 shmsync_rwsem_hi(__u64 s)
{
	return (__u32)(s >> 32);
}

/* T1: take a read hold if no writer holds or waits. */
static inline int shmsync_rwsem_read_trylock(struct shmsync_rwref *r)
{
	__u64 s = shmsync_load64(r->state);

	for (;;) {
		if (s & (SHMSYNC_RWSEM_PRESENT | SHMSYNC_RWSEM_WRITER))
			return -EAGAIN;
		if (shmsync_rwsem_readers(s) + shmsync_rwsem_rwait(s) >=
		    SHMSYNC_RWSEM_MAX_READERS)
			return shmsync_rwsem_sane(s) ? -EOVERFLOW : -EUCLEAN;
		if (shmsync_cas64_acquire(r->state, &s, s + SHMSYNC_RWSEM_R1))
			return 0;
	}
}

/* T4: release a read hold; wake a writer after the last one. */
static inline int shmsync_rwsem_up_read(struct shmsync_rwref *r)
{
	__u64 s = shmsync_load64(r->state);

	do {
		if (shmsync_rwsem_readers(s) == 0)
			return -EUCLEAN;
	} while (!shmsync_cas64_release(r->state, &s, s - SHMSYNC_RWSEM_R1));
	if (shmsync_rwsem_readers(s) == 1 && shmsync_rwsem_wwait(s) != 0)
		shmsync_rw_futex_wake(r, SHMSYNC_RWSEM_WRITE_WORD, 1);
	return 0;
}

/* T3: a queued reader (registered in phase) gives up. */
static inline void shmsync_rwsem_read_abort(struct shmsync_rwref *r,
					    __u64 phase)
{
	__u64 s = shmsync_load64(r->state);

	for (;;) {
		if ((s & SHMSYNC_RWSEM_PHASE) != phase) {
			/* admitted meanwhile: give the hold back */
			shmsync_rwsem_up_read(r);
			return;
		}
		if (shmsync_rwsem_rwait(s) == 0)
			return;	/* corrupt: nothing to undo */
		if (shmsync_cas64_acquire(r->state, &s, s - SHMSYNC_RWSEM_RW1))
			return;
	}
}

/* T2: queue behind the writer present, until admitted or it is gone. */
static inline int shmsync_rwsem_down_read_slow(struct shmsync_rwref *r,
					       const struct shmsync_wait *w)
{
	__u64 s = shmsync_load64(r->state);
	__u64 phase;
	int ret;

	for (;;) {
		if (!shmsync_rwsem_sane(s))
			return -EUCLEAN;
		if (shmsync_rwsem_readers(s) + shmsync_rwsem_rwait(s) >=
		    SHMSYNC_RWSEM_MAX_READERS)
			return -EOVERFLOW;
		if (!shmsync_rwsem_present(s)) {
			if (shmsync_cas64_acquire(r->state, &s,
						  s + SHMSYNC_RWSEM_R1))
				return 0;
		} else if (shmsync_cas64_acquire(r->state, &s,
						 s + SHMSYNC_RWSEM_RW1)) {
			phase = s & SHMSYNC_RWSEM_PHASE;
			s += SHMSYNC_RWSEM_RW1;
			break;
		}
	}
	for (;;) {
		if ((s & SHMSYNC_RWSEM_PHASE) != phase)
			return 0;	/* admitted by a write release */
		if (!shmsync_rwsem_present(s)) {
			if (shmsync_cas64_acquire(r->state, &s,
						  s - SHMSYNC_RWSEM_RW1 +
						  SHMSYNC_RWSEM_R1))
				return 0;
			/* the witness was read relaxed: PHASE needs acquire */
			s = shmsync_load64_acquire(r->state);
			continue;
		}
		ret = shmsync_rw_futex_wait(r, SHMSYNC_RWSEM_READ_WORD,
					    shmsync_rwsem_lo(s), w);
		if (ret)
			break;
		s = shmsync_load64_acquire(r->state);
	}
	shmsync_rwsem_read_abort(r, phase);
	return ret;
}

static inline int shmsync_rwsem_down_read(struct shmsync_rwref *r,
					  const struct shmsync_wait *w)
{
	int ret = shmsync_rwsem_read_trylock(r);

	return ret == -EAGAIN ? shmsync_rwsem_down_read_slow(r, w) : ret;
}

/* T5: take the write lock if there is no writer and no read hold. */
static inline int shmsync_rwsem_write_trylock(struct shmsync_rwref *r)
{
	__u64 s = shmsync_load64(r->state);

	for (;;) {
		if (shmsync_rwsem_writer(s) || shmsync_rwsem_readers(s) != 0)
			return -EAGAIN;
		if (shmsync_cas64_acquire(r->state, &s, s |
					  SHMSYNC_RWSEM_WRITER |
					  SHMSYNC_RWSEM_PRESENT))
			return 0;
	}
}

/*
 * T7: a queued writer gives up: if it was the last writer present, let the
 * readers queued behind it in; if the lock is free and writers remain, pass
 * on the wake-up it may have consumed.
 */
static inline void shmsync_rwsem_write_abort(struct shmsync_rwref *r)
{
	__u64 s = shmsync_load64(r->state);
	__u64 n;

	do {
		if (shmsync_rwsem_wwait(s) == 0)
			return;	/* corrupt: nothing to undo */
		n = s - SHMSYNC_RWSEM_WW1;
		if (shmsync_rwsem_wwait(n) == 0 && !shmsync_rwsem_writer(s))
			n &= ~SHMSYNC_RWSEM_PRESENT;
	} while (!shmsync_cas64_acquire(r->state, &s, n));
	if (shmsync_rwsem_present(s) && !shmsync_rwsem_present(n) &&
	    shmsync_rwsem_rwait(n) != 0)
		shmsync_rw_futex_wake(r, SHMSYNC_RWSEM_READ_WORD, INT_MAX);
	if (!shmsync_rwsem_writer(n) && shmsync_rwsem_readers(n) == 0 &&
	    shmsync_rwsem_wwait(n) != 0)
		shmsync_rw_futex_wake(r, SHMSYNC_RWSEM_WRITE_WORD, 1);
}

/* T6: queue (new readers now queue behind us) until the lock is free. */
static inline int shmsync_rwsem_down_write_slow(struct shmsync_rwref *r,
						const struct shmsync_wait *w)
{
	__u64 s = shmsync_load64(r->state);
	bool registered = false;
	int ret;

	for (;;) {
		if (!shmsync_rwsem_sane(s)) {
			ret = -EUCLEAN;
			break;
		}
		if (!shmsync_rwsem_writer(s) && shmsync_rwsem_readers(s) == 0) {
			__u64 n = (s | SHMSYNC_RWSEM_WRITER |
				   SHMSYNC_RWSEM_PRESENT) -
				  (registered ? SHMSYNC_RWSEM_WW1 : 0);

			if (shmsync_cas64_acquire(r->state, &s, n))
				return 0;
			continue;
		}
		if (!registered) {
			__u64 n = (s + SHMSYNC_RWSEM_WW1) |
				  SHMSYNC_RWSEM_PRESENT;

			if (shmsync_rwsem_wwait(s) >=
			    SHMSYNC_RWSEM_MAX_WAITING_WRITERS)
				return -EOVERFLOW;
			if (shmsync_cas64_acquire(r->state, &s, n)) {
				registered = true;
				s = n;
			}
			continue;
		}
		ret = shmsync_rw_futex_wait(r, SHMSYNC_RWSEM_WRITE_WORD,
					    shmsync_rwsem_hi(s), w);
		if (ret)
			break;
		s = shmsync_load64(r->state);
	}
	if (registered)
		shmsync_rwsem_write_abort(r);
	return ret;
}

static inline int shmsync_rwsem_down_write(struct shmsync_rwref *r,
					   const struct shmsync_wait *w)
{
	if (shmsync_rwsem_write_trylock(r) == 0)
		return 0;
	return shmsync_rwsem_down_write_slow(r, w);
}

/*
 * T8 (extra_read 0) and T9 (extra_read 1, downgrade): clear WRITER, hand the
 * lock to every queued reader (PHASE toggles) and wake them, or else wake one
 * writer (never after a downgrade: the caller now reads).
 */
static inline int shmsync_rwsem_release_write(struct shmsync_rwref *r,
					      bool downgrade)
{
	__u64 s = shmsync_load64(r->state);
	__u64 n, rw;

	do {
		if (!shmsync_rwsem_writer(s) || !shmsync_rwsem_sane(s))
			return -EUCLEAN;
		rw = shmsync_rwsem_rwait(s);
		n = s & ~SHMSYNC_RWSEM_WRITER;
		if (rw)
			n = (n - rw * SHMSYNC_RWSEM_RW1 + rw * SHMSYNC_RWSEM_R1) ^
			    SHMSYNC_RWSEM_PHASE;
		if (downgrade)
			n += SHMSYNC_RWSEM_R1;
		if (shmsync_rwsem_wwait(s))
			n |= SHMSYNC_RWSEM_PRESENT;
		else
			n &= ~SHMSYNC_RWSEM_PRESENT;
	} while (!shmsync_cas64_release(r->state, &s, n));
	if (shmsync_rwsem_rwait(s))
		shmsync_rw_futex_wake(r, SHMSYNC_RWSEM_READ_WORD, INT_MAX);
	else if (!downgrade && shmsync_rwsem_wwait(s))
		shmsync_rw_futex_wake(r, SHMSYNC_RWSEM_WRITE_WORD, 1);
	return 0;
}

static inline int shmsync_rwsem_up_write(struct shmsync_rwref *r)
{
	return shmsync_rwsem_release_write(r, false);
}

static inline int shmsync_rwsem_downgrade_write(struct shmsync_rwref *r)
{
	return shmsync_rwsem_release_write(r, true);
}

/* T10: the caller's read hold becomes the write lock if it is the only one. */
static inline int shmsync_rwsem_try_upgrade(struct shmsync_rwref *r)
{
	__u64 s = shmsync_load64(r->state);

	for (;;) {
		if (shmsync_rwsem_readers(s) != 1 || shmsync_rwsem_writer(s))
			return -EAGAIN;
		if (shmsync_cas64_acquire(r->state, &s,
					  (s - SHMSYNC_RWSEM_R1) |
					  SHMSYNC_RWSEM_WRITER |
					  SHMSYNC_RWSEM_PRESENT))
			return 0;
	}
}

#endif /* SHMSYNC_RWSEM_H */
