import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Runs another main class and exits the JVM (running its shutdown hooks) as
 * soon as standard input reaches end of file, i.e. when the parent process
 * that holds the pipe dies. This keeps services from outliving their starter.
 * Usage: java -cp ... ParentWatch <main class> [args...]
 */
public class ParentWatch {
  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: ParentWatch <main class> [args...]");
      System.exit(2);
    }
    Thread watcher = new Thread(() -> {
      try {
        while (System.in.read() != -1) {
          // Ignore input; only end of file matters.
        }
      } catch (Exception ignored) {
        // A broken pipe means the parent is gone too.
      }
      System.err.println("ParentWatch: parent process gone, shutting down");
      System.exit(0);
    }, "parent-watch");
    watcher.setDaemon(true);
    watcher.start();
    Method main = Class.forName(args[0]).getMethod("main", String[].class);
    main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
  }
}
