import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A query's test of a document held as BSON bytes (CompactCollection), which
 * decodes as little as it can. Two steps:
 *
 * 1. Conditions it can decide from the bytes, without decoding: a top-level
 *    field equal to a string, and a top-level field in a range of dates
 *    ($lt, $lte, $gt, $gte). A document whose field fails one of them, or
 *    lacks the field, is rejected there.
 * 2. Otherwise the document of only the top-level fields the query names goes
 *    to the server's own matcher: a condition on a path reads only the path's
 *    first field, so it matches exactly when the whole document would.
 *
 * What passes is decoded and matched again as a whole by the caller, so the
 * first step only has to be right when it rejects. A query with an operator
 * other than $and, $or and $nor at its top level gets no filter (`of` returns
 * null): every document is decoded.
 */
final class BsonFilter {
  /** Names (UTF-8) of the fields the matcher needs, for the partial document. */
  private final byte[][] names;
  /** The conditions decided from the bytes, and their fields' names. */
  private final byte[][] quickNames;
  private final Quick[] quick;
  /** Whether some condition is not among the quick ones. */
  private final boolean needsMatcher;

  private BsonFilter(Set<String> fields, Map<String, Quick> quick, boolean needsMatcher) {
    this.names = fields.stream().map(BsonFilter::utf8).toArray(byte[][]::new);
    this.quickNames = quick.keySet().stream().map(BsonFilter::utf8).toArray(byte[][]::new);
    this.quick = quick.values().toArray(Quick[]::new);
    this.needsMatcher = needsMatcher;
  }

  /** The filter of a query, or null when the query needs every document whole. */
  static BsonFilter of(Document query) {
    if (query == null) return null;
    Set<String> fields = new LinkedHashSet<>();
    if (!collect(query, fields)) return null;
    Map<String, Quick> quick = new java.util.LinkedHashMap<>();
    boolean needsMatcher = false;
    for (String key : query.keySet()) {
      Quick q = key.startsWith("$") || key.contains(".") ? null : Quick.of(query.get(key));
      if (q == null) needsMatcher = true;
      else quick.put(key, q);
    }
    return new BsonFilter(fields, quick, needsMatcher);
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

  /** False when the document cannot match; else what the matcher says of its named fields (or true). */
  boolean mayMatch(byte[] bson, Predicate<Document> matcher) {
    boolean undecided = needsMatcher;
    if (quick.length > 0) {
      boolean[] seen = new boolean[quick.length];
      Elements e = new Elements(bson);
      while (e.next()) {
        int k = e.indexIn(quickNames);
        if (k >= 0) {
          seen[k] = true;
          int verdict = quick[k].test(e.type, bson, e.at);
          if (verdict < 0) return false;
          if (verdict == 0) undecided = true;
        }
        if (!e.skipValue()) return matcher.test(BsonBytes.decode(bson));
      }
      for (boolean s : seen) {
        if (!s) return false; // An equality to a string or a date range never matches a missing field.
      }
    }
    return !undecided || matcher.test(partial(bson));
  }

  /** The document of the named top-level fields; the whole document for a type it cannot skip. */
  Document partial(byte[] bson) {
    Document partial = new Document();
    Elements e = new Elements(bson);
    while (e.next()) {
      if (e.indexIn(names) >= 0) {
        ByteBuf value = Unpooled.wrappedBuffer(bson, e.at, bson.length - e.at);
        partial.put(new String(bson, e.nameStart, e.nameEnd - e.nameStart, StandardCharsets.UTF_8),
            BsonDecoder.decodeValue(e.type, value));
        e.at += value.readerIndex();
      } else if (!e.skipValue()) {
        return BsonBytes.decode(bson);
      }
    }
    return partial;
  }

  /** A walk over a BSON document's top-level elements: each one's type, name and value's offset. */
  private static final class Elements {
    private final byte[] bson;
    /** Where the current element's value starts (after `next`), or the next element (after its value). */
    int at = 4;
    byte type;
    int nameStart;
    int nameEnd;

    Elements(byte[] bson) {
      this.bson = bson;
    }

    /** Moves to the next element's value; false at the document's end. */
    boolean next() {
      if (at >= bson.length - 1) return false;
      type = bson[at++];
      nameStart = at;
      while (bson[at] != 0) at++;
      nameEnd = at++;
      return true;
    }

    /** Moves past the current value; false for a type `skip` does not know. */
    boolean skipValue() {
      at = skip(type, bson, at);
      return at >= 0;
    }

    /** The index of the current element's name among the names, or -1. */
    int indexIn(byte[][] names) {
      for (int k = 0; k < names.length; k++) {
        byte[] name = names[k];
        if (name.length == nameEnd - nameStart && Arrays.equals(name, 0, name.length, bson, nameStart, nameEnd)) {
          return k;
        }
      }
      return -1;
    }
  }

  /**
   * A condition on one top-level field decided from its BSON value: -1 no
   * match, 1 match, 0 the matcher decides (an array, or a type it does not
   * compare).
   */
  private interface Quick {
    int test(byte type, byte[] b, int i);

    /** The quick form of a field's condition, or null. */
    static Quick of(Object condition) {
      if (condition instanceof String s) return new StringEquals(utf8(s));
      if (condition instanceof Document range && !range.isEmpty()) return DateRange.of(range);
      return null;
    }
  }

  private record StringEquals(byte[] value) implements Quick {
    @Override
    public int test(byte type, byte[] b, int i) {
      if (type == 0x04) return 0; // an array matches when an element does
      if (type != 0x02) return -1;
      int length = int32(b, i) - 1;
      return length == value.length && Arrays.equals(value, 0, length, b, i + 4, i + 4 + length) ? 1 : -1;
    }
  }

  private record DateRange(long low, boolean lowIncluded, long high, boolean highIncluded) implements Quick {
    static DateRange of(Document range) {
      long low = Long.MIN_VALUE, high = Long.MAX_VALUE;
      boolean lowIncluded = true, highIncluded = true;
      for (String op : range.keySet()) {
        if (!(range.get(op) instanceof Instant at)) return null;
        long ms = at.toEpochMilli();
        switch (op) {
          case "$gt" -> { if (ms >= low) { low = ms; lowIncluded = false; } }
          case "$gte" -> { if (ms > low) { low = ms; lowIncluded = true; } }
          case "$lt" -> { if (ms <= high) { high = ms; highIncluded = false; } }
          case "$lte" -> { if (ms < high) { high = ms; highIncluded = true; } }
          default -> { return null; }
        }
      }
      return new DateRange(low, lowIncluded, high, highIncluded);
    }

    @Override
    public int test(byte type, byte[] b, int i) {
      if (type != 0x09) return 0; // an array, or a type the matcher compares by its own rules
      long ms = int64(b, i);
      boolean in = (lowIncluded ? ms >= low : ms > low) && (highIncluded ? ms <= high : ms < high);
      return in ? 1 : -1;
    }
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

  private static long int64(byte[] b, int i) {
    return (int32(b, i) & 0xffffffffL) | ((long) int32(b, i + 4)) << 32;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
