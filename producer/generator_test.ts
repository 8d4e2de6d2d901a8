import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decodeReading, LOCATIONS, SENSOR_RANGES, SENSOR_TYPES, sensorProfile, type SensorType } from "@iot/shared";
import { FleetGenerator, type GeneratedRecord, MALFORMED_KINDS } from "./generator.ts";
import { Random } from "./random.ts";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const bytes = (v: string | Uint8Array) => typeof v === "string" ? new TextEncoder().encode(v) : v;

function generate(gen: FleetGenerator, n: number, start = T0, stepMs = 1): GeneratedRecord[] {
  const out: GeneratedRecord[] = [];
  for (let i = 0; i < n; i++) out.push(gen.next(start + i * stepMs));
  return out;
}

Deno.test("every generated reading passes decodeReading and matches its sensor's profile", () => {
  const gen = new FleetGenerator({ sensors: 250, seed: 1 });
  const records = generate(gen, 50_000);
  for (const r of records) {
    const d = decodeReading(bytes(r.value));
    assert.ok(d.ok, `invalid reading ${r.value}: ${!d.ok && d.detail}`);
    const p = sensorProfile(r.key);
    assert.equal(d.reading.sensor_id, r.key);
    assert.equal(d.reading.sensor_type, p.sensorType);
    assert.equal(d.reading.location, p.location);
    assert.equal(d.reading.metadata?.unit, p.unit);
    assert.equal(d.reading.metadata?.sensor_model, p.model);
    assert.equal(d.reading.seq, r.seq);
    assert.equal(d.reading.status, r.status);
    assert.equal(r.sensorType, p.sensorType);
  }
  assert.deepEqual(new Set(records.map((r) => r.sensorType)), new Set(SENSOR_TYPES));
  assert.equal(new Set(records.map((r) => sensorProfile(r.key).location)).size, LOCATIONS.length);
});

Deno.test("normal readings stay in the normal band, anomalies outside it but within physical limits", () => {
  const gen = new FleetGenerator({ sensors: 60, seed: 2, anomalyRate: 0.2 });
  let anomalies = 0, above = 0, below = 0;
  for (const r of generate(gen, 30_000)) {
    const d = decodeReading(bytes(r.value));
    assert.ok(d.ok);
    const range = SENSOR_RANGES[d.reading.sensor_type as SensorType];
    const v = d.reading.value;
    assert.ok(v >= range.min && v <= range.max, `${v} outside physical range of ${d.reading.sensor_type}`);
    const inBand = v >= range.normalMin && v <= range.normalMax;
    assert.equal(d.reading.status === "normal", inBand, `status ${d.reading.status} for ${v}`);
    if (!inBand) {
      anomalies++;
      if (v > range.normalMax) above++;
      else below++;
    }
  }
  assert.ok(Math.abs(anomalies / 30_000 - 0.2) < 0.015, `anomaly share ${anomalies / 30_000}`);
  assert.ok(above > 1000 && below > 1000, `spikes both ways (${above} above, ${below} below)`);
});

Deno.test("the default anomaly rate is about 5 %", () => {
  const records = generate(new FleetGenerator({ sensors: 1000, seed: 3 }), 40_000);
  const share = records.filter((r) => r.status === "anomaly").length / records.length;
  assert.ok(share > 0.04 && share < 0.06, `anomaly share ${share}`);
  const none = generate(new FleetGenerator({ sensors: 10, seed: 3, anomalyRate: 0 }), 5000);
  assert.equal(none.filter((r) => r.status === "anomaly").length, 0);
});

Deno.test("two simulators of the same seed and sensors never stamp one instant (their phases differ)", () => {
  const times = (phaseNs: number) =>
    generate(new FleetGenerator({ sensors: 10, seed: 42, phaseNs }), 100).map((r) =>
      JSON.parse(new TextDecoder().decode(bytes(r.value))).timestamp
    );
  const a = times(1), b = times(2);
  assert.equal(a.length, 100);
  assert.ok(a.every((t, i) => t !== b[i]), "same schedule, another instant");
  assert.match(a[0], /\.\d{9}Z$/, "nanoseconds below the millisecond");
});

Deno.test("the same seed reproduces the same records; another seed does not", () => {
  const a = generate(
    new FleetGenerator({ sensors: 100, seed: 42, phaseNs: 7, scenarios: { duplicates: 0.05, malformed: 0.05 } }),
    5000,
  );
  const b = generate(
    new FleetGenerator({ sensors: 100, seed: 42, phaseNs: 7, scenarios: { duplicates: 0.05, malformed: 0.05 } }),
    5000,
  );
  const c = generate(
    new FleetGenerator({ sensors: 100, seed: 43, phaseNs: 7, scenarios: { duplicates: 0.05, malformed: 0.05 } }),
    5000,
  );
  const text = (rs: GeneratedRecord[]) => rs.map((r) => Buffer.from(bytes(r.value)).toString("base64"));
  assert.deepEqual(text(a), text(b));
  assert.notDeepEqual(text(a), text(c));
});

Deno.test("seq counts per sensor from 0 without gaps; sensors take turns", () => {
  const gen = new FleetGenerator({ sensors: 7, seed: 5 });
  const records = generate(gen, 700);
  const next = new Map<string, number>();
  for (const r of records) {
    assert.equal(r.seq, next.get(r.key) ?? 0);
    next.set(r.key, r.seq + 1);
  }
  assert.equal(next.size, 7);
  assert.ok([...next.values()].every((n) => n === 100));
  assert.deepEqual(gen.sequences(), next);
});

Deno.test("temperature follows a daily cycle", () => {
  const mean = (hourUtc: number) => {
    const gen = new FleetGenerator({ sensors: 6, seed: 9, anomalyRate: 0 });
    const start = Date.UTC(2026, 0, 15, hourUtc);
    const temps = generate(gen, 6000, start, 0).filter((r) => r.sensorType === "temperature")
      .map((r) => (decodeReading(bytes(r.value)) as { reading: { value: number } }).reading.value);
    return temps.reduce((a, b) => a + b, 0) / temps.length;
  };
  assert.ok(mean(15) - mean(3) > 3, `afternoon ${mean(15)} vs night ${mean(3)}`);
});

Deno.test("stuck sensors repeat one value; drifting sensors leave the band upwards and stay in range", () => {
  const gen = new FleetGenerator({ sensors: 20, seed: 11, anomalyRate: 0, scenarios: { stuck: 0.2, drift: 0.2 } });
  const roles = gen.roles();
  assert.equal(roles.filter((r) => r === "stuck").length, 4);
  assert.equal(roles.filter((r) => r === "drift").length, 4);
  const values = new Map<string, number[]>();
  for (const r of generate(gen, 20 * 300)) {
    const d = decodeReading(bytes(r.value));
    assert.ok(d.ok);
    values.set(r.key, [...(values.get(r.key) ?? []), d.reading.value]);
  }
  roles.forEach((role, i) => {
    const id = `sensor_${String(i + 1).padStart(4, "0")}`;
    const vs = values.get(id)!;
    const range = SENSOR_RANGES[sensorProfile(id).sensorType];
    if (role === "stuck") assert.equal(new Set(vs).size, 1, `${id} is stuck`);
    if (role === "drift") {
      const last = vs.slice(-20);
      assert.ok(last.every((v) => v > range.normalMax && v <= range.max), `${id} drifted: ${last}`);
    }
    if (role === "normal") assert.ok(new Set(vs).size > 50);
  });
});

Deno.test("dropout sensors are silent every other period while the others keep sending", () => {
  const gen = new FleetGenerator({
    sensors: 10,
    seed: 12,
    anomalyRate: 0,
    scenarios: { dropout: 0.3, dropoutSeconds: 10 },
    startTime: T0,
  });
  const dropouts = gen.roles().flatMap((r, i) => r === "dropout" ? [`sensor_${String(i + 1).padStart(4, "0")}`] : []);
  assert.equal(dropouts.length, 3);
  const onlineKeys = new Set(generate(gen, 1000, T0 + 1000, 1).map((r) => r.key));
  const silentKeys = new Set(generate(gen, 1000, T0 + 11_000, 1).map((r) => r.key));
  const backKeys = new Set(generate(gen, 1000, T0 + 21_000, 1).map((r) => r.key));
  assert.equal(onlineKeys.size, 10);
  assert.equal(silentKeys.size, 7);
  for (const id of dropouts) assert.ok(!silentKeys.has(id) && backKeys.has(id));
});

Deno.test("out-of-order and late events carry past event times; seq still increases", () => {
  const gen = new FleetGenerator({ sensors: 5, seed: 13, scenarios: { outOfOrder: 0.1, late: 0.05 } });
  let ooo = 0, late = 0;
  // One reading per ms: each sensor's readings are measured at their scheduled times.
  for (const [i, r] of generate(gen, 20_000, T0, 1).entries()) {
    const d = decodeReading(bytes(r.value));
    assert.ok(d.ok);
    const behind = T0 + i - d.eventTime;
    if (behind >= 60_000) {
      assert.ok(behind <= 300_000);
      late++;
    } else if (behind >= 1000) {
      assert.ok(behind <= 5000);
      ooo++;
    } else assert.equal(behind, 0);
  }
  assert.ok(Math.abs(late / 20_000 - 0.05) < 0.01, `late share ${late / 20_000}`);
  assert.ok(Math.abs(ooo / 20_000 - 0.095) < 0.015, `out-of-order share ${ooo / 20_000}`);
});

Deno.test("duplicates repeat the previous reading byte for byte, with the same seq", () => {
  const gen = new FleetGenerator({ sensors: 50, seed: 14, scenarios: { duplicates: 0.1 } });
  const records = generate(gen, 10_000);
  let dups = 0;
  for (let i = 0; i < records.length; i++) {
    if (records[i].kind !== "duplicate") continue;
    dups++;
    assert.equal(records[i].value, records[i - 1].value);
    assert.equal(records[i].seq, records[i - 1].seq);
    assert.equal(records[i].key, records[i - 1].key);
  }
  assert.ok(dups > 700 && dups < 1100, `${dups} duplicates`);
  const ids = new Set(records.map((r) => `${r.key}:${r.seq}`));
  assert.equal(ids.size, records.length - dups);
});

Deno.test("malformed payloads are refused by decodeReading for the reason they are named after", () => {
  const gen = new FleetGenerator({ sensors: 50, seed: 15, scenarios: { malformed: 0.2 } });
  const records = generate(gen, 5000);
  const seen = new Set<string>();
  for (const r of records) {
    const d = decodeReading(bytes(r.value));
    if (r.kind === "malformed") {
      assert.ok(!d.ok, `malformed ${r.malformed} was accepted`);
      assert.equal(d.reason, r.malformed);
      assert.equal(r.status, "malformed");
      seen.add(r.malformed!);
    } else assert.ok(d.ok);
  }
  assert.deepEqual(seen, new Set(MALFORMED_KINDS));
  const malformed = records.filter((r) => r.kind === "malformed").length;
  assert.ok(malformed > 850 && malformed < 1150, `${malformed} malformed`);
  // Malformed records take no seq: valid readings stay dense per sensor.
  const next = new Map<string, number>();
  for (const r of records.filter((r) => r.kind === "reading")) {
    assert.equal(r.seq, next.get(r.key) ?? 0);
    next.set(r.key, r.seq + 1);
  }
});

Deno.test("bad generator options are refused", () => {
  assert.throws(() => new FleetGenerator({ sensors: 0, seed: 1 }), RangeError);
  assert.throws(() => new FleetGenerator({ sensors: 10, seed: 1, anomalyRate: 1.5 }), RangeError);
  assert.throws(() => new FleetGenerator({ sensors: 10, seed: 1, scenarios: { late: -0.1 } }), RangeError);
});

Deno.test("Random is uniform enough and seeded", () => {
  const r = new Random(99);
  const buckets = new Array(10).fill(0);
  let sum = 0, sq = 0;
  for (let i = 0; i < 100_000; i++) {
    buckets[Math.floor(r.next() * 10)]++;
    const g = r.gaussian();
    sum += g;
    sq += g * g;
  }
  assert.ok(buckets.every((b) => b > 9500 && b < 10500), `buckets ${buckets}`);
  assert.ok(Math.abs(sum / 100_000) < 0.02 && Math.abs(sq / 100_000 - 1) < 0.03);
  assert.equal(new Random(7).uint32(), new Random(7).uint32());
  assert.notEqual(new Random(7).uint32(), new Random(8).uint32());
});

Deno.test("each sensor's event times strictly increase, even for a burst generated at one instant", () => {
  const gen = new FleetGenerator({ sensors: 7, seed: 21 });
  const burst = gen.fill([], 7_000, T0);
  const scheduled = gen.fill([], 7_000, (i) => T0 + 1000 + i * 0.25);
  const last = new Map<string, number>();
  const instants = new Set<number>();
  for (const r of [...burst, ...scheduled]) {
    const d = decodeReading(bytes(r.value));
    assert.ok(d.ok);
    const t = d.eventTime;
    assert.ok(t > (last.get(r.key) ?? -Infinity), `${r.key}: ${t} after ${last.get(r.key)}`);
    last.set(r.key, t);
    instants.add(t);
  }
  assert.ok(instants.size >= 2000, `a burst is spread over ${instants.size} instants, not one`);
  // Scheduled times are kept where they leave room (4 readings per ms for 7 sensors: no sensor twice per ms).
  const gen2 = new FleetGenerator({ sensors: 7, seed: 21 });
  const kept = gen2.fill([], 700, (i) => T0 + i * 0.25);
  kept.forEach((r, i) => {
    const d = decodeReading(bytes(r.value));
    assert.ok(d.ok);
    assert.equal(d.eventTime, Math.floor(T0 + i * 0.25), `record ${i} keeps its scheduled time`);
  });
});
