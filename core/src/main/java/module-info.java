/**
 * shmsync: semaphores (and, later, robust mutexes and read-write semaphores) on futex words in a named
 * {@code /dev/shm} region, shared by JVMs, C programs using glibc's {@code sem_t}, and kernel threads.
 *
 * <p>The library makes foreign calls (FFM). Grant them when launching:
 * {@code --enable-native-access=io.shmsync} on the module path, {@code --enable-native-access=ALL-UNNAMED}
 * on the class path.
 */
module io.shmsync {
    exports io.shmsync;
}
