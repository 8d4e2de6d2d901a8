import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Starts mongo-java-server (in-memory backend, oplog enabled so that change
 * streams work) on the given host and port, reporting MongoDB 5.0's wire
 * version. Usage: java -cp "libs/*:classes" MongoLauncher [host] [port]
 * Prints one line "mongo-java-server listening on mongodb://host:port" when ready.
 */
public class MongoLauncher {
  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 27017;
    MemoryBackend backend = new MemoryBackend();
    backend.version(ServerVersion.MONGO_5_0);
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    System.out.println("mongo-java-server listening on mongodb://" + host + ":" + port);
    System.out.flush();
    Thread.currentThread().join();
  }
}
