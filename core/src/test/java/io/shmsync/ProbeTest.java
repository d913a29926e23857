package io.shmsync;
import org.junit.jupiter.api.Test;
class ProbeTest {
  @Test void probe() throws Exception {
    System.out.println("CP=" + System.getProperty("java.class.path"));
    System.out.println("MP=" + System.getProperty("jdk.module.path"));
    System.out.println("module=" + ProbeTest.class.getModule() + " " + Region.class.getModule());
    System.out.println("res=" + ProbeTest.class.getResource("ProbeTest.class") + " cs=" + ProbeTest.class.getProtectionDomain().getCodeSource());
    System.out.println("cmd=" + ProcessHandle.current().info().commandLine());
    System.getProperties().forEach((k,v) -> { if (k.toString().startsWith("jdk.module")) System.out.println(k + "=" + v); });
    System.out.println("props " + System.getProperty("shmsync.c.bin") + " " + System.getProperty("shmsync.docs"));
    try (Region r = Region.create("probe" + System.nanoTime(), 4096)) { System.out.println(r); Region.unlink(r.name()); }
  }
}
