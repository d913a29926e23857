package io.shmsync;

/** The state of a process-table slot, as {@link Region#processes()} reports it (docs/PROTOCOL.md §6.2). */
public enum ProcessState {
    /** The process holds its lease: it is alive (or died an instant ago and the kernel has not marked it yet). */
    ALIVE,
    /** The process claimed the slot and is filling it in. */
    ATTACHING,
    /** The process died: the kernel (or a cleaner that proved it dead) marked its lease; the slot awaits reclamation. */
    DEAD,
    /** Another process is reclaiming the slot of a dead process. */
    CLEANING
}
