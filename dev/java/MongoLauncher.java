import java.io.IOException;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.Oplog;
import de.bwaldvogel.mongo.wire.message.MongoMessage;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;

import de.bwaldvogel.mongo.wire.MongoExceptionHandler;

/**
 * Starts mongo-java-server (in-memory backend, with our StreamOplog so that
 * change streams work and stay cheap) on the given host and port, reporting
 * MongoDB 5.0's wire version. Usage: java -cp "libs/*:classes" MongoLauncher [host] [port]
 * Prints one line "mongo-java-server listening on mongodb://host:port" when ready.
 *
 * System properties: iot.oplog.retentionSeconds (default 600) and
 * iot.oplog.maxEntries (per watched collection, default 200000) bound the oplog.
 *
 * Errors the server answers to the client with a code (MongoServerError: "Collection already
 * exists", duplicate keys, ...) are expected conditions: the client gets them as before, and
 * they are logged in one line at debug level instead of a stack trace at error level.
 * A client that goes away without closing its connection ("Connection reset", "Broken pipe")
 * is expected too: one line at debug level. Anything else (a bug, an unexpected exception,
 * a protocol error) is still logged with its stack trace.
 *
 * The command {iotOplogStats: 1, reset: <bool>} (any database) returns the oplog's counters.
 *
 * Collections do not track their data size: the memory backend BSON-encodes the whole document
 * (twice per update) only to keep the figure collStats reports as "size", about a fifth of the
 * server's CPU time under the processor's writes. collStats and dbStats report a size of 0.
 *
 * The collections named in the system property iot.compactCollections (comma-separated, in
 * any database) keep each document as its BSON bytes (CompactCollection): the raw readings,
 * which are most of what the stand-in holds, take about a quarter of the heap that way.
 */
public class MongoLauncher {
  private static final Logger log = LoggerFactory.getLogger(MongoLauncher.class);

  /** Closes a connection that failed with an I/O error quietly; passes every other exception on. */
  static final class QuietDisconnects extends ChannelInboundHandlerAdapter {
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof IOException) {
        log.debug("client {} went away: {}", ctx.channel().id(), cause.getMessage());
        ctx.channel().close();
      } else {
        ctx.fireExceptionCaught(cause);
      }
    }
  }

  /** Puts QuietDisconnects before the server's exception handler, once per connection. */
  static void quietDisconnects(Channel channel) {
    if (channel == null) return;
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(QuietDisconnects.class) != null) return;
    ChannelHandlerContext last = pipeline.context(MongoExceptionHandler.class);
    if (last == null) return;
    try {
      pipeline.addBefore(last.name(), "quiet-disconnects", new QuietDisconnects());
    } catch (IllegalArgumentException alreadyAdded) {
      // Another command of the same connection added it first.
    }
  }

  /** A memory collection that keeps no data size (see the class comment). */
  static final class UnsizedCollection extends MemoryCollection {
    UnsizedCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors) {
      super(database, name, options, cursors);
    }

    @Override
    protected boolean tracksDataSize() {
      return false;
    }
  }

  /** The names of the collections kept as BSON bytes (see the class comment). */
  static final Set<String> COMPACT_COLLECTIONS = Arrays.stream(System.getProperty("iot.compactCollections", "").split(","))
      .map(String::trim).filter(name -> !name.isEmpty()).collect(Collectors.toUnmodifiableSet());

  /** A memory database of `UnsizedCollection`s, and `CompactCollection`s for the names given. */
  static final class UnsizedDatabase extends MemoryDatabase {
    UnsizedDatabase(String name, CursorRegistry cursors) {
      super(name, cursors);
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String name, CollectionOptions options) {
      return COMPACT_COLLECTIONS.contains(name)
          ? new CompactCollection(this, name, options, cursorRegistry)
          : new UnsizedCollection(this, name, options, cursorRegistry);
    }
  }

  /** The memory backend with our oplog, quiet expected errors and the stats command. */
  static final class StandInBackend extends MemoryBackend {
    private final long retentionSeconds;
    private final int maxEntries;
    private StreamOplog streamOplog;

    StandInBackend(long retentionSeconds, int maxEntries) {
      this.retentionSeconds = retentionSeconds;
      this.maxEntries = maxEntries;
    }

    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
      return new UnsizedDatabase(databaseName, getCursorRegistry());
    }

    @Override
    protected Oplog createOplog() {
      streamOplog = new StreamOplog(this, getCursorRegistry(), retentionSeconds, maxEntries);
      return streamOplog;
    }

    StreamOplog streamOplog() {
      return streamOplog;
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
      quietDisconnects(channel);
      if (command.equals("iotOplogStats") && streamOplog != null) {
        Document response = streamOplog.stats(Boolean.TRUE.equals(query.get("reset")));
        Utils.markOkay(response);
        return response;
      }
      return super.handleCommand(channel, databaseName, command, query);
    }

    @Override
    public Document handleMessage(MongoMessage message) {
      try {
        return super.handleMessage(message);
      } catch (MongoServerError e) {
        log.debug("answered with error {}: {}", e.getCode(), e.getMessageWithoutErrorCode());
        // The same answer MongoDatabaseHandler gives, without its stack trace at error level.
        Document response = new Document();
        response.put("$err", e.getMessageWithoutErrorCode());
        response.put("errmsg", e.getMessageWithoutErrorCode());
        response.put("code", e.getCode());
        response.putIfNotNull("codeName", e.getCodeName());
        response.put("ok", Integer.valueOf(0));
        return response;
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 27017;
    long retention = Long.getLong("iot.oplog.retentionSeconds", 600L);
    int maxEntries = Integer.getInteger("iot.oplog.maxEntries", 200_000);
    StandInBackend backend = new StandInBackend(retention, maxEntries);
    backend.version(ServerVersion.MONGO_5_0);
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    ScheduledExecutorService trimmer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "oplog-trim");
      t.setDaemon(true);
      return t;
    });
    trimmer.scheduleWithFixedDelay(() -> {
      try {
        backend.streamOplog().trim();
      } catch (RuntimeException e) {
        log.error("oplog trim failed", e);
      }
    }, 1, 1, TimeUnit.SECONDS);
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      trimmer.shutdownNow();
      server.shutdownNow();
    }));
    System.out.println("mongo-java-server listening on mongodb://" + host + ":" + port
        + " (oplog: " + retention + " s, at most " + maxEntries + " entries per watched collection;"
        + " collections keep no data size: collStats reports 0;"
        + " kept as BSON bytes: " + (COMPACT_COLLECTIONS.isEmpty() ? "none" : String.join(", ", COMPACT_COLLECTIONS)) + ")");
    System.out.flush();
    Thread.currentThread().join();
  }
}
