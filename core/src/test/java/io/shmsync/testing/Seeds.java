package io.shmsync.testing;

import java.security.SecureRandom;
import java.util.Random;

/**
 * Seeds for randomised tests: a fresh seed each run, printed, or the one given with
 * {@code -Dshmsync.seed=...} to replay a failure.
 */
public final class Seeds {
    private Seeds() {
    }

    public static final String PROPERTY = "shmsync.seed";

    /** The seed for {@code what}, printed so that a failure can be replayed. */
    public static long seed(String what) {
        String s = System.getProperty(PROPERTY);
        long seed = s != null ? Long.decode(s) : new SecureRandom().nextLong();
        System.out.println(what + ": seed " + seed + " (replay with -D" + PROPERTY + "=" + seed + ")");
        return seed;
    }

    public static Random random(String what) {
        return new Random(seed(what));
    }
}
