package io.shmsync.internal.sync;

import java.nio.channels.spi.AbstractInterruptibleChannel;

/**
 * Makes {@link Thread#interrupt()} reach a thread sleeping in a futex syscall without signals.
 *
 * <p>The waiting thread brackets its syscall with {@link #beginWait()} / {@link #endWait()}, which are
 * {@code AbstractInterruptibleChannel.begin()/end()}. While it is inside, {@code Thread.interrupt()} first
 * sets the thread's interrupt status and then calls {@link #implCloseChannel()} on the interrupting thread,
 * which wakes the waiter's word until the waiter has left the kernel ({@link PlatformWaitNode}). A thread that
 * is already interrupted at {@code begin()} gets the same treatment immediately. A hook is single-use once it
 * has fired.
 */
final class InterruptHook extends AbstractInterruptibleChannel {
    private final PlatformWaitNode node;
    /** The window (see {@link PlatformWaitNode}) of the wait this hook currently brackets. */
    volatile int window;

    InterruptHook(PlatformWaitNode node) {
        this.node = node;
    }

    void beginWait() {
        begin();
    }

    /** @throws java.nio.channels.ClosedByInterruptException if the thread was interrupted while inside */
    void endWait() throws java.nio.channels.ClosedByInterruptException {
        try {
            end(true);
        } catch (java.nio.channels.ClosedByInterruptException e) {
            throw e;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e); // end(true) throws only ClosedByInterruptException
        }
    }

    @Override
    protected void implCloseChannel() {
        // Runs on the interrupting thread (outside Thread's interrupt lock, under the channel's close lock),
        // after it set the interrupt status.
        node.abortWindow(window);
    }
}
