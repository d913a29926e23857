package io.shmsync;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/PROTOCOL.md is the source of truth: every table after a {@code <!-- layout: CLASS -->} marker must
 * match CLASS's {@code FIELD_OFFSET} constants and tile the structure up to {@code LENGTH}; every table
 * after a {@code <!-- constants: CLASS -->} marker must match CLASS's constants (or, for an enum, its
 * constants' {@code code()}).
 */
class ProtocolDocumentTest {
    static final Pattern MARKER = Pattern.compile("<!--\\s*(layout|constants):\\s*([\\w.$]+)\\s*-->");

    record Table(String kind, String className, int markerLine, List<Row> rows) {
    }

    record Row(int line, List<String> cells) {
    }

    /** Parses the tables that follow markers. */
    static List<Table> parse(List<String> lines) {
        List<Table> tables = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = MARKER.matcher(lines.get(i));
            if (!m.find()) {
                continue;
            }
            int j = i + 1;
            while (j < lines.size() && lines.get(j).isBlank()) {
                j++;
            }
            List<Row> rows = new ArrayList<>();
            for (; j < lines.size() && lines.get(j).trim().startsWith("|"); j++) {
                rows.add(new Row(j + 1, cells(lines.get(j))));
            }
            tables.add(new Table(m.group(1), m.group(2), i + 1, rows));
        }
        return tables;
    }

    static List<String> cells(String line) {
        String t = line.trim();
        t = t.substring(1, t.endsWith("|") ? t.length() - 1 : t.length());
        List<String> out = new ArrayList<>();
        for (String c : t.split("\\|", -1)) {
            out.add(c.trim());
        }
        return out;
    }

    static long number(String cell) {
        String v = cell.replace("`", "").replace("_", "").trim();
        return v.startsWith("0x") || v.startsWith("0X") ? Long.parseUnsignedLong(v.substring(2), 16) : Long.parseLong(v);
    }

    static final Map<String, Integer> TYPE_SIZES = Map.of("u8", 1, "u16", 2, "u32", 4, "u64", 8,
            "i8", 1, "i16", 2, "i32", 4, "i64", 8);

    /** All disagreements between the document and the code, each naming the document line and row. */
    static List<String> check(Path doc, List<String> lines) {
        List<String> problems = new ArrayList<>();
        for (Table t : parse(lines)) {
            String where = doc.getFileName() + " line " + t.markerLine() + " (" + t.kind() + ": " + t.className() + ")";
            Class<?> c;
            try {
                c = Class.forName(t.className());
            } catch (ClassNotFoundException e) {
                problems.add(where + ": no class " + t.className());
                continue;
            }
            if (t.rows().size() < 3) {
                problems.add(where + ": no table after the marker");
                continue;
            }
            List<String> header = t.rows().get(0).cells();
            List<Row> body = t.rows().subList(2, t.rows().size()); // skip the |---| separator
            if (t.kind().equals("layout")) {
                checkLayout(where, c, header, body, problems);
            } else {
                checkConstants(where, c, header, body, problems);
            }
        }
        return problems;
    }

    static void checkLayout(String where, Class<?> c, List<String> header, List<Row> body, List<String> problems) {
        if (!header.subList(0, Math.min(4, header.size())).equals(List.of("offset", "size", "type", "field"))) {
            problems.add(where + ": the layout table must have the columns offset | size | type | field | meaning, has "
                    + header);
            return;
        }
        long expectedOffset = 0;
        Set<String> documented = new HashSet<>();
        for (Row r : body) {
            String field = r.cells().size() > 3 ? r.cells().get(3).replace("`", "") : "?";
            String at = where + ", line " + r.line() + ", row '" + field + "'";
            long offset, size;
            try {
                offset = number(r.cells().get(0));
                size = number(r.cells().get(1));
            } catch (RuntimeException e) {
                problems.add(at + ": offset/size not numbers: " + r.cells());
                continue;
            }
            if (offset != expectedOffset) {
                problems.add(at + ": offset " + offset + ", but the previous row ends at " + expectedOffset
                        + " (rows must tile the structure)");
            }
            expectedOffset = offset + size;
            String type = r.cells().get(2).replace("`", "");
            Integer typeSize = TYPE_SIZES.get(type);
            if (typeSize != null && typeSize != size) {
                problems.add(at + ": type " + type + " is " + typeSize + " bytes, size says " + size);
            }
            String constant = field.toUpperCase(java.util.Locale.ROOT) + "_OFFSET";
            documented.add(constant);
            Long actual = constant(c, constant);
            if (actual == null) {
                problems.add(at + ": " + c.getSimpleName() + " has no constant " + constant);
            } else if (actual != offset) {
                problems.add(at + ": " + c.getSimpleName() + "." + constant + " = " + actual + ", the document says "
                        + offset);
            }
        }
        Long length = constant(c, "LENGTH");
        if (length == null) {
            problems.add(where + ": " + c.getSimpleName() + " has no constant LENGTH");
        } else if (length != expectedOffset) {
            problems.add(where + ": the rows end at " + expectedOffset + ", but " + c.getSimpleName() + ".LENGTH = "
                    + length);
        }
        for (Field f : c.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().endsWith("_OFFSET")
                    && !documented.contains(f.getName())) {
                problems.add(where + ": " + c.getSimpleName() + "." + f.getName() + " is not in the document");
            }
        }
    }

    static void checkConstants(String where, Class<?> c, List<String> header, List<Row> body, List<String> problems) {
        if (!header.subList(0, Math.min(2, header.size())).equals(List.of("name", "value"))) {
            problems.add(where + ": the constants table must have the columns name | value | meaning, has " + header);
            return;
        }
        for (Row r : body) {
            String name = r.cells().get(0).replace("`", "");
            String at = where + ", line " + r.line() + ", row '" + name + "'";
            long value;
            try {
                value = number(r.cells().get(1));
            } catch (RuntimeException e) {
                problems.add(at + ": value is not a number: " + r.cells().get(1));
                continue;
            }
            Long actual;
            if (c.isEnum()) {
                actual = enumCode(c, name);
            } else {
                actual = constant(c, name);
            }
            if (actual == null) {
                problems.add(at + ": " + c.getSimpleName() + " has no " + (c.isEnum() ? "enum constant " : "constant ")
                        + name);
            } else if (actual != value) {
                problems.add(at + ": " + c.getSimpleName() + "." + name + (c.isEnum() ? ".code()" : "") + " = "
                        + actual + ", the document says " + value);
            }
        }
    }

    static Long constant(Class<?> c, String name) {
        try {
            Field f = c.getField(name);
            if (!Modifier.isStatic(f.getModifiers())) {
                return null;
            }
            Object v = f.get(null);
            return v instanceof Number n ? n.longValue() : null;
        } catch (NoSuchFieldException | IllegalAccessException e) {
            return null;
        }
    }

    static Long enumCode(Class<?> c, String name) {
        for (Object o : c.getEnumConstants()) {
            if (((Enum<?>) o).name().equals(name)) {
                try {
                    return ((Number) c.getMethod("code").invoke(o)).longValue();
                } catch (ReflectiveOperationException e) {
                    return null;
                }
            }
        }
        return null;
    }

    static Path protocol() {
        String docs = System.getProperty("shmsync.docs");
        Path p = docs != null ? Path.of(docs, "PROTOCOL.md") : Path.of("../docs/PROTOCOL.md");
        assertTrue(Files.isRegularFile(p), "docs/PROTOCOL.md not found at " + p.toAbsolutePath()
                + " (system property shmsync.docs)");
        return p;
    }

    @Test
    void documentMatchesTheCode() throws Exception {
        Path doc = protocol();
        List<String> lines = Files.readAllLines(doc);
        List<Table> tables = parse(lines);
        Map<String, Integer> kinds = new TreeMap<>();
        for (Table t : tables) {
            kinds.merge(t.kind(), 1, Integer::sum);
        }
        Set<String> layouts = new HashSet<>();
        tables.stream().filter(t -> t.kind().equals("layout")).forEach(t -> layouts.add(t.className()));
        // The tables this test exists for must be found, or a broken marker would make it pass vacuously.
        assertTrue(layouts.containsAll(Set.of("io.shmsync.internal.region.RegionLayout",
                "io.shmsync.internal.region.DirectoryEntryLayout", "io.shmsync.internal.sync.SemaphoreLayout")),
                "layout markers found: " + layouts);
        assertTrue(kinds.getOrDefault("constants", 0) >= 3, "constants markers found: " + kinds);
        List<String> problems = check(doc, lines);
        assertEquals(List.of(), problems, "docs/PROTOCOL.md and the code disagree:\n" + String.join("\n", problems));
    }

    @Test
    void magicInTheDocumentIsTheMagicInTheCode() throws Exception {
        String text = Files.readString(protocol());
        Matcher m = Pattern.compile("\\|\\s*magic\\s*\\|\\s*`(0x[0-9A-Fa-f]+)`").matcher(text);
        assertTrue(m.find(), "the magic row of the region header");
        assertEquals(io.shmsync.internal.region.RegionLayout.MAGIC, number(m.group(1)));
        assertEquals("SHMSYNC\0", new String(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(io.shmsync.internal.region.RegionLayout.MAGIC).array(), java.nio.charset.StandardCharsets.US_ASCII));
    }

    /** The checker itself finds each kind of disagreement and names the row. */
    @Test
    void checkerReportsEachDisagreement() {
        String doc = """
                <!-- layout: io.shmsync.internal.sync.SemaphoreLayout -->
                | offset | size | type | field | meaning |
                |---|---|---|---|---|
                | 0 | 8 | u64 | data | ok |
                | 8 | 4 | u32 | private | ok |
                | 12 | 2 | u32 | pad | type/size mismatch |
                | 16 | 16 | bytes | glibc_reserved | gap before it |
                | 36 | 32 | bytes | reserved | wrong offset, and LENGTH mismatch |
                | 68 | 4 | u32 | nonexistent | no such constant |

                <!-- constants: io.shmsync.internal.sync.SemaphoreLayout -->
                | name | value | meaning |
                |---|---|---|
                | LENGTH | 64 | right |
                | SEM_VALUE_MAX | 2147483646 | wrong |
                | NO_SUCH | 1 | missing |
                | FUTEX_SHARED | `0x80` | right, in hex |

                <!-- constants: io.shmsync.ObjectType -->
                | name | value | meaning |
                |---|---|---|
                | SEMAPHORE | 7 | wrong code |
                | NOT_A_TYPE | 1 | missing |

                <!-- layout: io.shmsync.NoSuchClass -->
                """;
        List<String> problems = check(Path.of("TEST.md"), List.of(doc.split("\n", -1)));
        String all = String.join("\n", problems);
        for (String expected : List.of(
                "row 'pad': type u32 is 4 bytes, size says 2",
                "row 'glibc_reserved': offset 16, but the previous row ends at 14",
                "row 'reserved': offset 36, but the previous row ends at 32",
                "row 'reserved': SemaphoreLayout.RESERVED_OFFSET = 32, the document says 36",
                "row 'nonexistent': SemaphoreLayout has no constant NONEXISTENT_OFFSET",
                "the rows end at 72, but SemaphoreLayout.LENGTH = 64",
                "row 'SEM_VALUE_MAX': SemaphoreLayout.SEM_VALUE_MAX = 2147483647, the document says 2147483646",
                "row 'NO_SUCH': SemaphoreLayout has no constant NO_SUCH",
                "row 'SEMAPHORE': ObjectType.SEMAPHORE.code() = 1, the document says 7",
                "row 'NOT_A_TYPE': ObjectType has no enum constant NOT_A_TYPE",
                "no class io.shmsync.NoSuchClass")) {
            assertTrue(all.contains(expected), "missing \"" + expected + "\" in:\n" + all);
        }
        assertTrue(problems.stream().allMatch(p -> p.startsWith("TEST.md line ")), all);
        assertEquals(11, problems.size(), all);
    }
}
