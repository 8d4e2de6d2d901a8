import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DocumentWithPosition;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;

import io.netty.buffer.Unpooled;

/**
 * A memory collection that keeps each document as its BSON bytes instead of a
 * tree of maps, strings and boxed numbers: a raw reading takes about a fifth of
 * the heap, and the young collections of a stand-in that holds minutes of
 * readings copy and scan that much less.
 *
 * Every read decodes a new document (so that a caller that changes it changes
 * nothing stored); an update stores the document's new bytes. A query that the
 * indexes do not answer first decodes only the top-level fields the query names
 * from each document and fully decodes the documents that match; a query with
 * an operator other than $and, $or and $nor at its top level decodes every
 * document. Like every collection of the stand-in, it keeps no data size.
 */
final class CompactCollection extends MemoryCollection {
  private final List<byte[]> documents = new ArrayList<>();
  private final ArrayDeque<Integer> freePositions = new ArrayDeque<>();

  CompactCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors) {
    super(database, name, options, cursors);
  }

  @Override
  protected boolean tracksDataSize() {
    return false;
  }

  @Override
  protected void updateDataSize(int sizeDelta) {
    // No data size is kept (see the class comment).
  }

  @Override
  protected int getDataSize() {
    return 0;
  }

  @Override
  protected Integer addDocumentInternal(Document document) {
    byte[] bson = StreamOplog.toBson(document);
    Integer position = freePositions.poll();
    if (position == null) {
      documents.add(bson);
      return Integer.valueOf(documents.size() - 1);
    }
    documents.set(position.intValue(), bson);
    return position;
  }

  @Override
  protected Document getDocument(Integer position) {
    return decode(documents.get(position.intValue()));
  }

  @Override
  protected void handleUpdate(Integer position, Document oldDocument, Document newDocument) {
    documents.set(position.intValue(), StreamOplog.toBson(newDocument));
  }

  @Override
  protected void removeDocument(Integer position) {
    documents.set(position.intValue(), null);
    freePositions.add(position);
  }

  @Override
  public synchronized int count() {
    return documents.size() - freePositions.size();
  }

  @Override
  public synchronized boolean isEmpty() {
    return count() == 0;
  }

  @Override
  protected Integer findDocumentPosition(Document document) {
    return streamAllDocumentsWithPosition()
        .filter(match -> documentMatchesQuery(match.getDocument(), document))
        .map(DocumentWithPosition::getPosition)
        .findFirst()
        .orElse(null);
  }

  @Override
  protected Stream<DocumentWithPosition<Integer>> streamAllDocumentsWithPosition() {
    return IntStream.range(0, documents.size())
        .filter(position -> documents.get(position) != null)
        .mapToObj(position -> new DocumentWithPosition<>(decode(documents.get(position)), Integer.valueOf(position)));
  }

  @Override
  protected QueryResult matchDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
      Document fieldSelector) {
    int size = documents.size();
    IntStream positions = isNaturalDescending(orderBy)
        ? IntStream.range(0, size).map(i -> size - 1 - i)
        : IntStream.range(0, size);
    FieldFilter filter = FieldFilter.of(query);
    Stream<Document> matches = positions
        .mapToObj(documents::get)
        .filter(bson -> bson != null && (filter == null || documentMatchesQuery(filter.partial(bson), query)))
        .map(CompactCollection::decode);
    return matchDocumentsFromStream(matches, query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
  }

  private static Document decode(byte[] bson) {
    return BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bson));
  }

  /**
   * The top-level fields a query reads, and a decoder of only those fields.
   * A document matches the query exactly when the document of its named fields
   * does: each condition on a path reads only the path's first field.
   */
  static final class FieldFilter {
    private final byte[][] names;

    private FieldFilter(Set<String> fields) {
      names = fields.stream().map(f -> f.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toArray(byte[][]::new);
    }

    /** The filter of a query, or null when the query needs the whole document. */
    static FieldFilter of(Document query) {
      Set<String> fields = new HashSet<>();
      return query != null && collect(query, fields) ? new FieldFilter(fields) : null;
    }

    private static boolean collect(Document query, Set<String> fields) {
      for (String key : query.keySet()) {
        if (key.equals("$and") || key.equals("$or") || key.equals("$nor")) {
          if (!(query.get(key) instanceof List<?> clauses)) return false;
          for (Object clause : clauses) {
            if (!(clause instanceof Document sub) || !collect(sub, fields)) return false;
          }
        } else if (key.startsWith("$")) {
          return false;
        } else {
          int dot = key.indexOf('.');
          fields.add(dot < 0 ? key : key.substring(0, dot));
        }
      }
      return true;
    }

    /** A document of the named top-level fields of a BSON document; the whole document for a type it cannot skip. */
    Document partial(byte[] bson) {
      Document partial = new Document();
      int end = bson.length - 1;
      int i = 4;
      while (i < end) {
        byte type = bson[i++];
        int nameStart = i;
        while (bson[i] != 0) i++;
        int nameEnd = i++;
        if (named(bson, nameStart, nameEnd)) {
          var buffer = Unpooled.wrappedBuffer(bson, i, bson.length - i);
          String name = new String(bson, nameStart, nameEnd - nameStart, java.nio.charset.StandardCharsets.UTF_8);
          partial.put(name, BsonDecoder.decodeValue(type, buffer));
          i += buffer.readerIndex();
        } else {
          i = skip(type, bson, i);
          if (i < 0) return decode(bson);
        }
      }
      return partial;
    }

    private boolean named(byte[] bson, int start, int end) {
      for (byte[] name : names) {
        if (name.length == end - start && java.util.Arrays.equals(name, 0, name.length, bson, start, end)) return true;
      }
      return false;
    }

    /** The index after a value of the type at i, or -1 for a type this does not know. */
    static int skip(byte type, byte[] b, int i) {
      switch (type) {
        case 0x01: case 0x09: case 0x11: case 0x12: return i + 8; // double, date, timestamp, int64
        case 0x02: case 0x0D: case 0x0E: return i + 4 + int32(b, i); // string, code, symbol
        case 0x03: case 0x04: case 0x0F: return i + int32(b, i); // document, array, code with scope
        case 0x05: return i + 5 + int32(b, i); // binary: length, subtype, bytes
        case 0x06: case 0x0A: case 0x7F: case (byte) 0xFF: return i; // undefined, null, max key, min key
        case 0x07: return i + 12; // object id
        case 0x08: return i + 1; // boolean
        case 0x0B: { // regex: two C strings
          while (b[i] != 0) i++;
          i++;
          while (b[i] != 0) i++;
          return i + 1;
        }
        case 0x0C: return i + 4 + int32(b, i) + 12; // DB pointer
        case 0x10: return i + 4; // int32
        case 0x13: return i + 16; // decimal128
        default: return -1;
      }
    }

    private static int int32(byte[] b, int i) {
      return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }
  }
}
