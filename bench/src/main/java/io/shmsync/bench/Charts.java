package io.shmsync.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * PNG charts of a result directory made by bench/run.sh, drawn with XChart from the same {@code RESULT} lines
 * {@link Summary} reads (medians over trials, as in summary.md):
 * <pre>java -Djava.awt.headless=true -cp benchmarks.jar io.shmsync.bench.Charts bench/results/TIMESTAMP</pre>
 * writes {@code charts/}: {@code uncontended.png} (ns/op), {@code latency-cross-cpu.png} and
 * {@code latency-pinned.png} (round-trip p50/p90/p99 per mechanism, log scale), {@code cpu-per-rt.png}
 * (CPU µs per round trip, cross-CPU), {@code sparse-latency.png} and {@code sparse-cpu.png} (1 ms / 10 ms
 * traffic), {@code contended.png} (ops/s vs processes), {@code rwsem.png} (read-mostly ops/s vs processes). A chart
 * whose data is missing is not drawn.
 */
public final class Charts {
    private static final int W = 1200;
    private static final int H = 700;

    private final List<Map<String, String>> results = new ArrayList<>();
    private final Path out;

    private Charts(Path out) {
        this.out = out;
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        Charts c = new Charts(dir.resolve("charts"));
        try (Stream<Path> files = Files.list(dir.resolve("raw"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".txt")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("RESULT ")) {
                        c.results.add(Summary.parse(line));
                    }
                }
            }
        }
        Files.createDirectories(c.out);
        c.uncontended();
        c.latency("0,1", "latency-cross-cpu", "Round trip, two processes on CPUs 0 and 1 (dense)");
        c.latency("0,0", "latency-pinned", "Round trip, both processes on CPU 0 (dense; spinners n/a)");
        c.cpuPerRoundTrip("0,1");
        c.sparse();
        c.contended();
        c.rwsem();
    }

    private static final String[][] SHORT = {
            {"c_spin", "C spin"}, {"glibc_sem", "glibc sem C-C"}, {"jvm_jvm", "shmsync block"},
            {"jvm_jvm_posix", "shmsync Posix"}, {"jvm_c", "JVM-C sem_open"},
            {"shmsync_block", "shmsync block"}, {"shmsync_spin_park", "shmsync spin adaptive"},
            {"shmsync_spin_fixed", "shmsync spin fixed"}, {"shmsync_spin_bench", "shmsync + bench spin"},
            {"agrona_spin", "Agrona busy"}, {"agrona_backoff", "Agrona backoff"},
            {"chronicle_spin", "Chronicle busy"}, {"chronicle_pauser", "Chronicle balanced"},
            {"filelock", "FileChannel.lock"}, {"uds", "Unix socket"}, {"pipe", "pipe"},
    };

    private static String shortName(String mech) {
        for (String[] s : SHORT) {
            if (s[0].equals(mech)) {
                return s[1];
            }
        }
        return mech;
    }

    /**
     * A log axis needs a positive minimum (XChart's bar charts otherwise start at 0). A bar is drawn from the axis
     * minimum up to its value, so the minimum must lie strictly below the smallest value, with room to see: the power
     * of 10 at or below half the smallest value (0.10 gives 0.01, 0.3 gives 0.1), so the shortest bar is at least a
     * factor 2 (0.3 of a decade) tall.
     */
    static double logAxisMin(List<Double> values) {
        double min = values.stream().filter(v -> v > 0).mapToDouble(Double::doubleValue).min().orElse(1);
        return Math.pow(10, Math.floor(Math.log10(min / 2)));
    }

    private static void logFloor(CategoryChart c, List<Double> values) {
        c.getStyler().setYAxisMin(logAxisMin(values));
    }

    private void save(Object chart, String name) throws IOException {
        Path file = out.resolve(name + ".png");
        BitmapEncoder.saveBitmap((CategoryChart) chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        System.err.println("chart: " + file);
    }

    private static CategoryChart bars(String title, String yTitle, boolean log) {
        CategoryChart c = new CategoryChartBuilder().width(W).height(H).title(title).xAxisTitle("").yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setXAxisLabelRotation(30);
        c.getStyler().setYAxisLogarithmic(log);
        c.getStyler().setLabelsVisible(false);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        return c;
    }

    private void uncontended() throws IOException {
        Map<String, Double> rows = new LinkedHashMap<>();
        for (Map<String, String> r : results) {
            if (r.containsKey("bench") && !r.containsKey("kind")) {   // kind=rwsem_jmh: the rwsem chart
                rows.put(r.get("bench").replace("LockUnlock", " lock+unlock").replace("TryAcquireRelease", " tryAcq+rel")
                        .replace("AcquireRelease", " acq+rel"), Double.parseDouble(r.get("ns_per_op")));
            }
        }
        for (String[] op : new String[][]{{"sem_post+sem_wait", "C glibc sem"}, {"robust_mutex_lock_unlock", "C glibc robust mutex"},
                {"cas_lock_unlock", "C CAS"}}) {
            double[] v = results.stream().filter(r -> op[0].equals(r.get("op"))).mapToDouble(r -> Double.parseDouble(r.get("ns_per_op_median"))).toArray();
            if (v.length > 0) {
                rows.put(op[1], Summary.median(v));
            }
        }
        if (rows.isEmpty()) {
            return;
        }
        List<Map.Entry<String, Double>> sorted = rows.entrySet().stream().sorted(Map.Entry.comparingByValue()).toList();
        CategoryChart c = bars("Uncontended acquire+release / lock+unlock, one thread (lower is better)", "ns per op", false);
        c.addSeries("ns/op", sorted.stream().map(Map.Entry::getKey).toList(), sorted.stream().map(Map.Entry::getValue).toList());
        c.getStyler().setLegendVisible(false);
        c.getStyler().setLabelsVisible(true);
        c.getStyler().setLabelsRotation(0);
        c.getStyler().setDecimalPattern("#0.0");
        save(c, "uncontended");
    }

    /** mech -> median aggregate for the dense ping-pong rows of one placement, ordered by p50. */
    private Map<String, Map<String, Double>> dense(String cpus) {
        List<Map<String, String>> pp = results.stream().filter(r -> r.containsKey("mech") && cpus.equals(r.get("cpus"))
                && !"sparse".equals(r.get("kind")) && !r.get("mech").matches("futex_wait|waitv_.*")).toList();
        Map<String, Map<String, Double>> m = new LinkedHashMap<>();
        pp.stream().map(r -> r.get("mech")).distinct().forEach(mech -> m.put(mech, Summary.aggregate(pp, mech, cpus)));
        Map<String, Map<String, Double>> sorted = new LinkedHashMap<>();
        m.entrySet().stream().sorted(Comparator.comparingDouble(e -> e.getValue().get("p50_ns")))
                .forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    private void latency(String cpus, String name, String title) throws IOException {
        Map<String, Map<String, Double>> m = dense(cpus);
        if (m.isEmpty()) {
            return;
        }
        CategoryChart c = bars(title + " — log scale", "round trip, µs", true);
        List<String> x = m.keySet().stream().map(Charts::shortName).toList();
        List<Double> all = new ArrayList<>();
        for (String[] p : new String[][]{{"p50_ns", "p50"}, {"p90_ns", "p90"}, {"p99_ns", "p99"}}) {
            List<Double> v = m.values().stream().map(a -> a.get(p[0]) / 1000).toList();
            all.addAll(v);
            c.addSeries(p[1], x, v);
        }
        logFloor(c, all);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        save(c, name);
    }

    private void cpuPerRoundTrip(String cpus) throws IOException {
        Map<String, Map<String, Double>> m = dense(cpus);
        if (m.isEmpty()) {
            return;
        }
        CategoryChart c = bars("CPU time of both processes per round trip, CPUs 0 and 1 (dense) — log scale", "CPU µs per round trip", true);
        List<Double> v = m.values().stream().map(a -> a.get("cpu_us_per_rt")).toList();
        c.addSeries("user+sys, both processes", m.keySet().stream().map(Charts::shortName).toList(), v);
        logFloor(c, v);
        c.getStyler().setLabelsVisible(true);
        c.getStyler().setLabelsRotation(0);
        c.getStyler().setDecimalPattern("#0.00");
        save(c, "cpu-per-rt");
    }

    private void sparse() throws IOException {
        List<Map<String, String>> sp = results.stream().filter(r -> "sparse".equals(r.get("kind"))).toList();
        if (sp.isEmpty()) {
            return;
        }
        List<String> mechs = sp.stream().map(r -> r.get("mech")).distinct().toList();
        List<String> ivs = sp.stream().map(r -> r.get("interval_us")).distinct().sorted(Comparator.comparingLong(Long::parseLong)).toList();
        List<String> x = mechs.stream().map(Charts::shortName).toList();
        List<Double> allLat = new ArrayList<>();
        List<Double> allCpu = new ArrayList<>();
        CategoryChart lat = bars("Sparse traffic: round trip p50 and p99 — log scale", "round trip, µs", true);
        CategoryChart cpu = bars("Sparse traffic: CPU of both processes, % of one core — log scale", "% of a core", true);
        for (String iv : ivs) {
            String label = (Long.parseLong(iv) / 1000) + " ms";
            List<Double> p50 = new ArrayList<>();
            List<Double> p99 = new ArrayList<>();
            List<Double> pct = new ArrayList<>();
            for (String mech : mechs) {
                Map<String, String> r = sp.stream().filter(z -> mech.equals(z.get("mech")) && iv.equals(z.get("interval_us"))).findFirst().orElse(null);
                p50.add(r == null ? 0.0 : Double.parseDouble(r.get("p50_ns")) / 1000);
                p99.add(r == null ? 0.0 : Double.parseDouble(r.get("p99_ns")) / 1000);
                pct.add(r == null ? 0.0 : Math.max(0.01, Double.parseDouble(r.get("cpu_pct"))));
            }
            allLat.addAll(p50);
            allLat.addAll(p99);
            allCpu.addAll(pct);
            lat.addSeries("p50, every " + label, x, p50);
            lat.addSeries("p99, every " + label, x, p99);
            cpu.addSeries("every " + label, x, pct);
        }
        lat.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        logFloor(lat, allLat);
        logFloor(cpu, allCpu);
        cpu.getStyler().setLabelsVisible(true);
        cpu.getStyler().setLabelsRotation(0);
        cpu.getStyler().setDecimalPattern("#0.00");
        save(lat, "sparse-latency");
        save(cpu, "sparse-cpu");
    }

    private void contended() throws IOException {
        List<Map<String, String>> c = results.stream().filter(r -> "contended".equals(r.get("kind"))).toList();
        if (c.isEmpty()) {
            return;
        }
        // a category x axis (1, 2, 4, 8 evenly spaced, no fractional ticks), drawn as lines
        CategoryChart chart = bars("Contended throughput: N processes on one object (2 CPUs) — log scale", "total ops/s (millions)", true);
        chart.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle.Line);
        chart.getStyler().setXAxisLabelRotation(0);
        chart.getStyler().setOverlapped(true); // lines share the x positions (bars would be side by side)
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.setXAxisTitle("processes");
        List<Double> all = new ArrayList<>();
        for (String impl : List.of("shmsync", "glibc")) {
            for (String prim : List.of("sem", "mutex")) {
                List<Map<String, String>> rows = c.stream().filter(r -> impl.equals(r.get("impl")) && prim.equals(r.get("prim")))
                        .sorted(Comparator.comparingInt(r -> Integer.parseInt(r.get("nproc")))).toList();
                if (rows.isEmpty()) {
                    continue;
                }
                String label = impl.equals("shmsync") ? (prim.equals("sem") ? "shmsync Semaphore" : "shmsync Mutex")
                        : (prim.equals("sem") ? "glibc sem_t" : "glibc robust pthread_mutex");
                List<Double> y = rows.stream().map(r -> Math.max(1e-3, Double.parseDouble(r.get("ops_per_s")) / 1e6)).toList();
                all.addAll(y);
                var s = chart.addSeries(label, rows.stream().map(r -> r.get("nproc")).toList(), y);
                s.setMarker(prim.equals("sem") ? SeriesMarkers.CIRCLE : SeriesMarkers.SQUARE);
            }
        }
        logFloor(chart, all);
        save(chart, "contended");
    }

    /** rwsem.png: read-mostly throughput vs processes, glibc pthread_rwlock vs C rwsem.h vs Java RwSemaphore (step 9). */
    private void rwsem() throws IOException {
        List<Map<String, String>> tp = results.stream().filter(r -> "rwsem_throughput".equals(r.get("kind"))).toList();
        if (tp.isEmpty()) {
            return;
        }
        CategoryChart chart = bars("Read-mostly throughput (" + tp.get(0).get("write_permille") + " ‰ writes): N processes on one "
                + "read-write lock (2 CPUs) — log scale", "total ops/s (millions)", true);
        chart.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle.Line);
        chart.getStyler().setXAxisLabelRotation(0);
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.setXAxisTitle("processes");
        List<Double> all = new ArrayList<>();
        for (String[] m : new String[][]{{"glibc", "glibc pthread_rwlock (C)"}, {"rwsem", "shmsync rwsem.h (C)"}, {"java", "shmsync RwSemaphore (Java)"}}) {
            List<Map<String, String>> rows = tp.stream().filter(r -> m[0].equals(r.get("mech")))
                    .sorted(Comparator.comparingInt(r -> Integer.parseInt(r.get("procs")))).toList();
            if (rows.isEmpty()) {
                continue;
            }
            List<Double> y = rows.stream().map(r -> Math.max(1e-3, Double.parseDouble(r.get("ops_per_sec")) / 1e6)).toList();
            all.addAll(y);
            chart.addSeries(m[1], rows.stream().map(r -> r.get("procs")).toList(), y);
        }
        logFloor(chart, all);
        save(chart, "rwsem");
    }
}
