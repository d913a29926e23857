package io.shmsync.bench;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/**
 * Runs JMH with the usual command line (same options as {@code java -jar benchmarks.jar}) and, after JMH's
 * own report, prints one machine-readable line per benchmark for {@link Summary}:
 * <pre>RESULT bench=NAME ns_per_op=X ns_per_op_error=E b_per_op=B samples=N</pre>
 * {@code ns_per_op_error} is JMH's 99.9 % confidence half-width; {@code b_per_op} is
 * {@code gc.alloc.rate.norm} when {@code -prof gc} is on ({@code nan} otherwise).
 */
public final class JmhMain {
    private JmhMain() {
    }

    public static void main(String[] args) throws Exception {
        Collection<RunResult> results = new Runner(new CommandLineOptions(args)).run();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            Result<?> p = r.getPrimaryResult();
            double alloc = Double.NaN;
            for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
                if (e.getKey().endsWith("gc.alloc.rate.norm")) {
                    alloc = e.getValue().getScore();
                }
            }
            if (!p.getScoreUnit().equals("ns/op")) {
                throw new IllegalStateException(name + ": expected ns/op (-bm avgt -tu ns), got " + p.getScoreUnit());
            }
            System.out.printf(Locale.ROOT, "RESULT bench=%s ns_per_op=%.3f ns_per_op_error=%.3f b_per_op=%.4f samples=%d%n",
                    name, p.getScore(), p.getScoreError(), alloc, p.getSampleCount());
        }
    }
}
