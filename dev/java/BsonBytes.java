import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Documents as BSON bytes and back, for what the stand-in keeps as bytes (oplog
 * bodies, CompactCollection).
 *
 * Encoding writes into a plain byte array: the library's encoder writes byte by
 * byte into a Netty buffer whose every write checks its reference count and
 * capacity (a quarter of the stand-in's samples in a profile at 10k msg/s). Each
 * value's BSON type is the library's (`BsonEncoder.determineType`), and the
 * types other than numbers, strings, booleans, dates, object ids, null,
 * documents and arrays are written by the library's encoder, so the bytes are
 * the same as the library's.
 */
final class BsonBytes {
  private BsonBytes() {}

  /** A document as BSON bytes (a deep copy: the caller may change the document afterwards). */
  static byte[] encode(Map<String, ?> document) {
    Writer writer = new Writer();
    writer.document(document);
    return Arrays.copyOf(writer.buf, writer.len);
  }

  /** A new document from BSON bytes. */
  static Document decode(byte[] bson) {
    return BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bson));
  }

  private static final class Writer {
    byte[] buf = new byte[256];
    int len;

    void document(Map<String, ?> document) {
      int start = len;
      int32(0); // the length, written at the end
      for (Map.Entry<String, ?> field : document.entrySet()) element(field.getKey(), field.getValue());
      close(start);
    }

    void array(Collection<?> values) {
      int start = len;
      int32(0);
      int i = 0;
      for (Object value : values) element(Integer.toString(i++), value);
      close(start);
    }

    private void close(int start) {
      byte0(BsonConstants.TERMINATING_BYTE);
      int length = len - start;
      buf[start] = (byte) length;
      buf[start + 1] = (byte) (length >>> 8);
      buf[start + 2] = (byte) (length >>> 16);
      buf[start + 3] = (byte) (length >>> 24);
    }

    void element(String name, Object value) {
      byte type = BsonEncoder.determineType(value);
      byte0(type);
      bytes(name.getBytes(StandardCharsets.UTF_8));
      byte0(BsonConstants.STRING_TERMINATION);
      switch (type) {
        case BsonConstants.TYPE_DOUBLE -> int64(Double.doubleToRawLongBits((Double) value));
        case BsonConstants.TYPE_UTF8_STRING -> {
          byte[] utf8 = value.toString().getBytes(StandardCharsets.UTF_8);
          int32(utf8.length + 1);
          bytes(utf8);
          byte0(BsonConstants.STRING_TERMINATION);
        }
        case BsonConstants.TYPE_EMBEDDED_DOCUMENT -> {
          @SuppressWarnings("unchecked")
          Map<String, ?> map = (Map<String, ?>) value;
          document(map);
        }
        case BsonConstants.TYPE_ARRAY -> array((Collection<?>) value);
        case BsonConstants.TYPE_OBJECT_ID -> bytes(((ObjectId) value).toByteArray());
        case BsonConstants.TYPE_BOOLEAN ->
            byte0(((Boolean) value) ? BsonConstants.BOOLEAN_VALUE_TRUE : BsonConstants.BOOLEAN_VALUE_FALSE);
        case BsonConstants.TYPE_UTC_DATETIME -> int64(((Instant) value).toEpochMilli());
        case BsonConstants.TYPE_INT32 -> int32((Integer) value);
        case BsonConstants.TYPE_INT64 -> int64((Long) value);
        case BsonConstants.TYPE_NULL -> {}
        default -> {
          ByteBuf other = Unpooled.buffer(32);
          try {
            BsonEncoder.encodeValue(type, value, other);
            byte[] encoded = new byte[other.readableBytes()];
            other.readBytes(encoded);
            bytes(encoded);
          } finally {
            other.release();
          }
        }
      }
    }

    private void room(int n) {
      if (len + n > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
    }

    private void byte0(byte b) {
      room(1);
      buf[len++] = b;
    }

    private void bytes(byte[] b) {
      room(b.length);
      System.arraycopy(b, 0, buf, len, b.length);
      len += b.length;
    }

    private void int32(int v) {
      room(4);
      buf[len++] = (byte) v;
      buf[len++] = (byte) (v >>> 8);
      buf[len++] = (byte) (v >>> 16);
      buf[len++] = (byte) (v >>> 24);
    }

    private void int64(long v) {
      int32((int) v);
      int32((int) (v >>> 32));
    }
  }
}
