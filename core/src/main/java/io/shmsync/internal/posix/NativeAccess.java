package io.shmsync.internal.posix;

/**
 * Checks, once, that this JVM lets the library make foreign calls, and fails with one clear exception
 * naming the launch flag instead of printing restricted-method warnings or failing deep inside a call.
 */
public final class NativeAccess {
    private NativeAccess() {
    }

    /** The flag users must pass, for the module path and for the class path. */
    public static final String FLAG_HELP =
            "shmsync makes foreign (FFM) calls, which this JVM does not allow for it. Launch with "
                    + "--enable-native-access=io.shmsync (module path) or --enable-native-access=ALL-UNNAMED "
                    + "(class path), or add 'Enable-Native-Access: ALL-UNNAMED' to an executable jar's manifest.";

    /**
     * @throws IllegalCallerException if native access is not enabled for the module holding this class
     */
    public static void require() {
        Module m = NativeAccess.class.getModule();
        if (!m.isNativeAccessEnabled()) {
            throw new IllegalCallerException(FLAG_HELP);
        }
    }
}
