package io.shmsync;

import java.time.Instant;

/**
 * A snapshot of one slot of a region's process table: a process that attached to the region to use its
 * robust objects (docs/PROTOCOL.md §6.2).
 *
 * @param slot         index of the slot in the table
 * @param pid          the process's PID in the region's PID namespace
 * @param leaseTid     the TID of the process's lease thread: the owner TID in the lock words of every robust
 *                     mutex the process holds
 * @param pidNamespace inode of the process's PID namespace
 * @param startTime    the process's start time in clock ticks since boot ({@code /proc/PID/stat} field 22)
 * @param generation   incremented each time the slot is claimed
 * @param state        alive, dead (awaiting reclamation), being cleaned, or attaching
 * @param attachedAt   when the process attached
 * @param current      whether this is the calling process's own slot
 */
public record ProcessInfo(int slot, int pid, int leaseTid, long pidNamespace, long startTime, int generation,
                          ProcessState state, Instant attachedAt, boolean current) {
    /** @return true unless the process is known to be dead */
    public boolean alive() {
        return state == ProcessState.ALIVE || state == ProcessState.ATTACHING;
    }
}
