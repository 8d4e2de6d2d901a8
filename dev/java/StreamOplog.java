import java.lang.reflect.Field;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.AbstractCursor;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DefaultQueryMatcher;
import de.bwaldvogel.mongo.backend.QueryMatcher;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.aggregation.stage.AggregationStage;
import de.bwaldvogel.mongo.backend.aggregation.stage.MatchStage;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * An oplog for mongo-java-server's change streams whose cost does not grow
 * with its size (the library's CollectionBackedOplog scans and sorts the whole
 * oplog on every getMore, and the whole collection on every updateLookup).
 *
 * - Only namespaces that a change stream has been opened on are recorded
 *   (from the first watch on; a stream that resumes from before it sees
 *   nothing older).
 * - Each namespace keeps its entries in a skip list ordered by timestamp, so a
 *   cursor's getMore reads only the entries after its position: O(log n + new).
 * - updateLookup reads the document by `_id` through the collection's unique
 *   `_id` index, and only for events that pass the pipeline's leading
 *   `$match` stages that do not read `fullDocument` (as MongoDB moves such a
 *   `$match` ahead of its post-image lookup).
 * - Entries older than the retention, or beyond the per-namespace cap, are
 *   trimmed every second, so memory stays bounded.
 *
 * Timestamps are strictly increasing (seconds << 32 | counter), assigned under
 * one lock together with the append, so a reader never skips an entry that is
 * appended later with a smaller timestamp.
 */
public class StreamOplog implements Oplog {
  private static final String DATA = "_data";
  private static final String ID = "_id";
  /** Most change events returned by one batch (a getMore without batchSize would otherwise take all). */
  static final int MAX_BATCH = 1000;

  /**
   * One recorded change. Its body is kept as BSON bytes: a decoded document is
   * a tree of maps, strings and boxed numbers (tens of objects per entry, and
   * the oplog holds up to `maxEntries` of them per namespace), which every
   * young collection must trace and copy; one byte array is cheap to keep.
   */
  static final class Entry {
    final long ts;
    final long wallMillis;
    final char op; // i, u, d, c (drop)
    final String ns;
    final Object id;
    /** insert: the document as inserted; update: the update; delete and drop: null. As BSON. */
    private final byte[] bson;

    Entry(long ts, long wallMillis, char op, String ns, Object id, byte[] bson) {
      this.ts = ts;
      this.wallMillis = wallMillis;
      this.op = op;
      this.ns = ns;
      this.id = id;
      this.bson = bson;
    }

    /** The body, decoded (a new document on every call). */
    Document body() {
      return bson == null ? null : BsonBytes.decode(bson);
    }
  }

  /** The recorded entries of one namespace. */
  static final class NamespaceLog {
    final ConcurrentSkipListMap<Long, Entry> entries = new ConcurrentSkipListMap<>();
    final ConcurrentSkipListSet<Long> drops = new ConcurrentSkipListSet<>();
    final AtomicInteger size = new AtomicInteger();
  }

  private final MongoBackend backend;
  private final CursorRegistry cursorRegistry;
  private final Clock clock;
  private final long retentionMillis;
  private final int maxEntriesPerNamespace;
  private final Map<String, NamespaceLog> logs = new ConcurrentHashMap<>();
  private final Object appendLock = new Object();
  private volatile long lastTs;

  // Counters for `iotOplogStats`.
  private final AtomicLong appended = new AtomicLong();
  private final AtomicLong trimmed = new AtomicLong();
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong scanned = new AtomicLong();
  private final AtomicLong maxScannedPerBatch = new AtomicLong();
  private final AtomicLong lookups = new AtomicLong();

  public StreamOplog(MongoBackend backend, CursorRegistry cursorRegistry, long retentionSeconds,
      int maxEntriesPerNamespace) {
    this.backend = backend;
    this.cursorRegistry = cursorRegistry;
    this.clock = backend.getClock();
    this.retentionMillis = retentionSeconds * 1000;
    this.maxEntriesPerNamespace = maxEntriesPerNamespace;
  }

  // --- recording ---

  private void append(String namespace, char op, List<Object> ids, List<byte[]> bodies) {
    NamespaceLog log = logs.get(namespace);
    if (log == null) return; // nobody watches it
    synchronized (appendLock) {
      long wall = clock.millis();
      for (int i = 0; i < ids.size(); i++) {
        long ts = Math.max(((wall / 1000) << 32) | 1, lastTs + 1);
        log.entries.put(ts, new Entry(ts, wall, op, namespace, ids.get(i), bodies == null ? null : bodies.get(i)));
        if (op == 'c') log.drops.add(ts);
        log.size.incrementAndGet();
        lastTs = ts;
      }
    }
    appended.addAndGet(ids.size());
  }

  @Override
  public void handleInsert(String namespace, List<Document> documents) {
    if (!logs.containsKey(namespace)) return;
    List<Object> ids = new ArrayList<>(documents.size());
    List<byte[]> copies = new ArrayList<>(documents.size());
    for (Document d : documents) {
      ids.add(d.get(ID));
      copies.add(BsonBytes.encode(d));
    }
    append(namespace, 'i', ids, copies);
  }

  @Override
  public void handleUpdate(String namespace, Document selector, Document query, List<Object> modifiedIds) {
    if (!logs.containsKey(namespace)) return;
    List<byte[]> bodies = new ArrayList<>(modifiedIds.size());
    byte[] body = BsonBytes.encode(query);
    for (int i = 0; i < modifiedIds.size(); i++) bodies.add(body);
    append(namespace, 'u', modifiedIds, bodies);
  }

  @Override
  public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
    append(namespace, 'd', deletedIds, null);
  }

  @Override
  public void handleDropCollection(String namespace) {
    List<Object> none = new ArrayList<>();
    none.add(null);
    append(namespace, 'c', none, null);
  }

  /** Drops entries older than the retention and beyond the per-namespace cap. */
  public void trim() {
    long cutoff = clock.millis() - retentionMillis;
    for (NamespaceLog log : logs.values()) {
      while (true) {
        Map.Entry<Long, Entry> first = log.entries.firstEntry();
        if (first == null) break;
        if (first.getValue().wallMillis >= cutoff && log.size.get() <= maxEntriesPerNamespace) break;
        if (log.entries.remove(first.getKey()) != null) {
          log.size.decrementAndGet();
          log.drops.remove(first.getKey());
          trimmed.incrementAndGet();
        }
      }
    }
  }

  // --- change streams ---

  @Override
  public Cursor createCursor(Document changeStreamDocument, String namespace, Aggregation aggregation) {
    NamespaceLog log = logs.computeIfAbsent(namespace, ns -> new NamespaceLog());
    Document startAfter = (Document) changeStreamDocument.get("startAfter");
    Document resumeAfter = (Document) changeStreamDocument.get("resumeAfter");
    BsonTimestamp startAt = (BsonTimestamp) changeStreamDocument.get("startAtOperationTime");
    long position;
    boolean inclusive = false;
    if (startAfter != null) {
      position = tokenTs(startAfter);
    } else if (resumeAfter != null) {
      position = tokenTs(resumeAfter);
      Long drop = log.drops.floor(position);
      if (drop != null) return new InvalidateCursor(position);
    } else if (startAt != null) {
      position = startAt.getValue();
      inclusive = true;
    } else {
      position = lastTs;
    }
    boolean lookup = "updateLookup".equals(changeStreamDocument.get("fullDocument"));
    StreamCursor cursor = new StreamCursor(cursorRegistry.generateCursorId(), log, aggregation, lookup, position,
        inclusive, lookup ? keyMatches(aggregation) : List.of());
    cursorRegistry.add(cursor);
    return cursor;
  }

  private static long tokenTs(Document token) {
    return Long.parseLong((String) token.get(DATA), 16);
  }

  private static Document token(long ts) {
    return new Document(DATA, Long.toHexString(ts));
  }

  /** What an update event's `fullDocument` holds. */
  enum UpdateBody {
    /** The document as it is now (`fullDocument: "updateLookup"`). */
    LOOKUP,
    /** The update's `$set` and `$unset` fields. */
    DELTA,
    /** Nothing (for matching on the event's other fields only). */
    NONE
  }

  private Document toEvent(Entry e, UpdateBody updateBody) {
    String db = Utils.getDatabaseNameFromFullName(e.ns);
    String coll = Utils.getCollectionNameFromFullName(e.ns);
    Document event = new Document().append(ID, token(e.ts));
    switch (e.op) {
      case 'i':
        return event.append("operationType", "insert")
            .append("fullDocument", e.body())
            .append("ns", new Document("db", db).append("coll", coll))
            .append("documentKey", new Document(ID, e.id))
            .append("clusterTime", new BsonTimestamp(e.ts));
      case 'u':
        return event.append("operationType", "update")
            .append("fullDocument", updateBody == UpdateBody.LOOKUP ? lookUp(db, coll, e)
                : updateBody == UpdateBody.DELTA ? delta(e.body()) : null)
            .append("ns", new Document("db", db).append("coll", coll))
            .append("documentKey", new Document(ID, e.id))
            .append("clusterTime", new BsonTimestamp(e.ts));
      case 'd':
        return event.append("operationType", "delete")
            .append("fullDocument", null)
            .append("ns", new Document("db", db).append("coll", coll))
            .append("documentKey", new Document(ID, e.id))
            .append("clusterTime", new BsonTimestamp(e.ts));
      default:
        return event.append("operationType", "drop")
            .append("ns", new Document("db", db).append("coll", coll))
            .append("clusterTime", new BsonTimestamp(e.ts));
    }
  }

  /** The current document by `_id`, through the collection's `_id` index; null when it is gone, as on MongoDB. */
  private Document lookUp(String db, String coll, Entry e) {
    lookups.incrementAndGet();
    MongoDatabase database = backend.resolveDatabase(db);
    @SuppressWarnings("unchecked")
    MongoCollection<Object> collection = (MongoCollection<Object>) database.resolveCollection(coll, false);
    if (collection != null) {
      Iterator<Document> found = collection.handleQuery(new Document(ID, e.id), 0, 1).iterator();
      if (found.hasNext()) return found.next();
    }
    return null;
  }

  private static Document delta(Document update) {
    Document delta = new Document();
    if (update == null) return delta;
    if (update.get("$set") instanceof Document) delta.appendAll((Document) update.get("$set"));
    if (update.get("$unset") instanceof Document) delta.appendAll((Document) update.get("$unset"));
    return delta;
  }

  /** The queries of the pipeline's leading `$match` stages that do not read `fullDocument`. */
  private static List<Document> keyMatches(Aggregation aggregation) {
    List<Document> queries = new ArrayList<>();
    for (AggregationStage stage : aggregation.getStages()) {
      Document query = stage instanceof MatchStage ? matchQuery((MatchStage) stage) : null;
      if (query == null || readsFullDocument(query)) break;
      queries.add(query);
    }
    return queries;
  }

  /** A `$match` stage's query (the library keeps it private); null if it cannot be read. */
  private static Document matchQuery(MatchStage stage) {
    try {
      Field query = MatchStage.class.getDeclaredField("query");
      query.setAccessible(true);
      return (Document) query.get(stage);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** Whether a query may read `fullDocument` (or anything an expression could name). */
  private static boolean readsFullDocument(Object query) {
    if (query instanceof Document) {
      for (Map.Entry<String, Object> e : ((Document) query).entrySet()) {
        String key = e.getKey();
        if (key.equals("fullDocument") || key.startsWith("fullDocument.")) return true;
        if (key.equals("$expr") || key.equals("$where") || key.equals("$jsonSchema")) return true;
        if (readsFullDocument(e.getValue())) return true;
      }
    } else if (query instanceof Collection) {
      for (Object o : (Collection<?>) query) if (readsFullDocument(o)) return true;
    }
    return false;
  }

  /** A change stream's cursor: each batch reads only the entries after its position. */
  final class StreamCursor extends AbstractCursor {
    private final NamespaceLog log;
    private final Aggregation aggregation;
    private final boolean lookup;
    /** Queries an event must match before it is looked up (the whole pipeline still runs after). */
    private final List<Document> keyMatches;
    private final QueryMatcher matcher = new DefaultQueryMatcher();
    private long position;
    private boolean inclusive;

    StreamCursor(long id, NamespaceLog log, Aggregation aggregation, boolean lookup, long position, boolean inclusive,
        List<Document> keyMatches) {
      super(id);
      this.log = log;
      this.aggregation = aggregation;
      this.lookup = lookup;
      this.position = position;
      this.inclusive = inclusive;
      this.keyMatches = keyMatches;
    }

    /** Whether the event of `e` passes the key matches (decided without looking the document up). */
    private boolean passesKeyMatches(Entry e) {
      if (keyMatches.isEmpty() || e.op != 'u') return true;
      Document event = toEvent(e, UpdateBody.NONE); // the queries do not read fullDocument
      for (Document q : keyMatches) if (!matcher.matches(event, q)) return false;
      return true;
    }

    @Override
    public boolean isEmpty() {
      return false;
    }

    @Override
    public synchronized List<Document> takeDocuments(int numberToReturn) {
      int limit = numberToReturn > 0 ? Math.min(numberToReturn, MAX_BATCH) : MAX_BATCH;
      NavigableMap<Long, Entry> after = log.entries.tailMap(position, inclusive);
      Iterator<Entry> source = after.values().iterator();
      long[] lastScanned = { Long.MIN_VALUE };
      long[] count = { 0 };
      Iterator<Entry> counting = new Iterator<>() {
        @Override
        public boolean hasNext() {
          return source.hasNext();
        }

        @Override
        public Entry next() {
          Entry e = source.next();
          lastScanned[0] = e.ts;
          count[0]++;
          return e;
        }
      };
      Stream<Document> events = StreamSupport.stream(
          ((Iterable<Entry>) () -> counting).spliterator(), false)
          .filter(this::passesKeyMatches)
          .map(e -> toEvent(e, lookup ? UpdateBody.LOOKUP : UpdateBody.DELTA));
      List<Document> out = new ArrayList<>();
      aggregation.runStagesAsStream(events).limit(limit).forEachOrdered(out::add);
      if (out.size() < limit) {
        // Everything after the position was read: move past the last entry even if the pipeline dropped it.
        if (lastScanned[0] != Long.MIN_VALUE) {
          position = lastScanned[0];
          inclusive = false;
        }
      } else {
        position = tokenTs((Document) out.get(out.size() - 1).get(ID));
        inclusive = false;
      }
      batches.incrementAndGet();
      scanned.addAndGet(count[0]);
      maxScannedPerBatch.accumulateAndGet(count[0], Math::max);
      return out;
    }
  }

  /** The answer to a resume from after the watched collection was dropped. */
  static final class InvalidateCursor extends AbstractCursor {
    private final long position;

    InvalidateCursor(long position) {
      super(0);
      this.position = position;
    }

    @Override
    public boolean isEmpty() {
      return false;
    }

    @Override
    public List<Document> takeDocuments(int numberToReturn) {
      return List.of(new Document(ID, token(position)).append("operationType", "invalidate"));
    }
  }

  // --- introspection ---

  /**
   * Counters for tests and diagnostics; `reset` zeroes the per-batch counters.
   * Fields: entries (held now), namespaces (watched), appended, trimmed,
   * batches (change-stream batches served), scanned (entries read by them),
   * maxScannedPerBatch, lookups (updateLookup reads).
   */
  public Document stats(boolean reset) {
    long entries = 0;
    for (NamespaceLog log : logs.values()) entries += log.size.get();
    Set<String> namespaces = logs.keySet();
    Document d = new Document()
        .append("entries", entries)
        .append("namespaces", new ArrayList<>(namespaces))
        .append("appended", appended.get())
        .append("trimmed", trimmed.get())
        .append("batches", batches.get())
        .append("scanned", scanned.get())
        .append("maxScannedPerBatch", maxScannedPerBatch.get())
        .append("lookups", lookups.get())
        .append("retentionSeconds", retentionMillis / 1000)
        .append("maxEntriesPerNamespace", maxEntriesPerNamespace);
    if (reset) {
      batches.set(0);
      scanned.set(0);
      maxScannedPerBatch.set(0);
      lookups.set(0);
    }
    return d;
  }
}
