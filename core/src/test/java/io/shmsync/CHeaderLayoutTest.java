package io.shmsync;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The third side of the layout triangle: the C header {@code kernel-mirror/include/shmsync/layout.h}, used
 * unchanged by user-space C and by the kernel module, must agree with docs/PROTOCOL.md (and so, through
 * {@link ProtocolDocumentTest}, with the Java constants). {@code make layout-dump} compiles a program that
 * prints the header's view: {@code LAYOUT <Struct> <field> <offset> <size>} and {@code CONST <Class>.<NAME> <value>}.
 */
class CHeaderLayoutTest {
    record Field(long offset, long size) {
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void cHeaderMatchesTheProtocolDocumentAndTheJavaConstants() throws Exception {
        Path kernelMirror = Path.of(System.getProperty("shmsync.c.bin", "../kernel-mirror/build")).getParent();
        Process p = new ProcessBuilder("make", "-s", "--no-print-directory", "-C", kernelMirror.toString(), "layout-dump")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "make layout-dump failed:\n" + out);

        Map<String, Map<String, Field>> c = new HashMap<>();
        Map<String, Long> constants = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (w[0].equals("LAYOUT") && w.length == 5) {
                c.computeIfAbsent(w[1], k -> new HashMap<>()).put(w[2], new Field(Long.parseLong(w[3]), Long.parseLong(w[4])));
            } else if (w[0].equals("CONST") && w.length == 3) {
                constants.put(w[1], Long.parseLong(w[2]));
            }
        }
        assertTrue(c.size() >= 3 && constants.size() >= 10, "layout-dump printed too little:\n" + out);

        List<String> problems = new ArrayList<>();
        List<String> doc = Files.readAllLines(ProtocolDocumentTest.protocol());
        for (ProtocolDocumentTest.Table t : ProtocolDocumentTest.parse(doc)) {
            String simple = t.className().substring(t.className().lastIndexOf('.') + 1);
            if (!t.kind().equals("layout") || !c.containsKey(simple)) {
                continue; // tables the C header does not (yet) mirror, e.g. the mutex
            }
            Map<String, Field> fields = new HashMap<>(c.get(simple));
            for (ProtocolDocumentTest.Row r : t.rows()) {
                List<String> cells = r.cells();
                if (cells.size() < 4 || !cells.get(0).matches("\\d+")) {
                    continue; // header and separator rows
                }
                String name = cells.get(3).replace("`", "");
                Field f = fields.remove(name);
                if (f == null) {
                    problems.add("PROTOCOL.md line " + r.line() + ": " + simple + "." + name + " is missing from layout.h");
                } else if (f.offset() != Long.parseLong(cells.get(0)) || f.size() != Long.parseLong(cells.get(1))) {
                    problems.add("PROTOCOL.md line " + r.line() + ": " + simple + "." + name + " is at " + cells.get(0)
                            + " (" + cells.get(1) + " bytes) in the document but at " + f.offset() + " (" + f.size()
                            + " bytes) in layout.h");
                }
            }
            fields.keySet().forEach(extra -> problems.add("layout.h has " + simple + "." + extra
                    + ", which the table at PROTOCOL.md line " + t.markerLine() + " does not"));
        }
        for (var e : constants.entrySet()) {
            String cls = e.getKey().substring(0, e.getKey().indexOf('.'));
            String name = e.getKey().substring(e.getKey().indexOf('.') + 1);
            Class<?> k = javaClass(cls);
            Long java = k == null ? null : k.isEnum() ? ProtocolDocumentTest.enumCode(k, name)
                    : ProtocolDocumentTest.constant(k, name);
            if (java == null) {
                problems.add("layout.h constant " + e.getKey() + " has no Java counterpart");
            } else if (java.longValue() != e.getValue()) {
                problems.add("layout.h constant " + e.getKey() + " = " + e.getValue() + " but Java has " + java);
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    private static Class<?> javaClass(String simple) {
        for (String pkg : List.of("io.shmsync.", "io.shmsync.internal.region.", "io.shmsync.internal.sync.",
                "io.shmsync.internal.robust.")) {
            try {
                return Class.forName(pkg + simple);
            } catch (ClassNotFoundException e) {
                // try the next package
            }
        }
        return null;
    }
}
