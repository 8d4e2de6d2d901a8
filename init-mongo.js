// MongoDB initialisation for docker compose (mounted into /docker-entrypoint-initdb.d,
// run once by mongosh on a fresh volume). Creates the application user with
// readWrite on the pipeline's database, the collections and every index the
// processor expects. A test keeps these definitions equal to shared/mongo_schema.ts.
/* global db, process, print */

const dbName = process.env.MONGO_INITDB_DATABASE || "iot_analytics";
const appUser = process.env.MONGO_APP_USERNAME || "iot_app";
const appPassword = process.env.MONGO_APP_PASSWORD;
const retentionDays = Number(process.env.RAW_RETENTION_DAYS || "7");

const app = db.getSiblingDB(dbName);

if (appPassword) {
  if (!app.getUser(appUser)) {
    app.createUser({ user: appUser, pwd: appPassword, roles: [{ role: "readWrite", db: dbName }] });
    print(`init-mongo: created user ${appUser} with readWrite on ${dbName}`);
  }
} else {
  print("init-mongo: MONGO_APP_PASSWORD is not set; no application user created");
}

const INDEXES = {
  sensor_metrics: [
    { name: "timestamp_ttl", key: { timestamp: 1 }, expireAfterSeconds: Math.round(retentionDays * 86400) },
    { name: "sensor_id_timestamp", key: { sensor_id: 1, timestamp: -1 } },
  ],
  windowed_metrics: [
    { name: "window_start", key: { window_start: -1 } },
    { name: "sensor_type_location", key: { sensor_type: 1, location: 1 } },
    { name: "kind_size_window_start", key: { kind: 1, size_s: 1, window_start: -1 } },
  ],
  anomaly_alerts: [
    { name: "timestamp", key: { timestamp: -1 }, expireAfterSeconds: Math.round(retentionDays * 86400) },
    { name: "sensor_id_timestamp", key: { sensor_id: 1, timestamp: -1 } },
    { name: "alert_type_timestamp", key: { alert_type: 1, timestamp: -1 } },
  ],
  incidents: [
    { name: "state_last_seen", key: { state: 1, last_seen: -1 } },
    {
      name: "open_incident_per_sensor",
      key: { sensor_id: 1 },
      unique: true,
      partialFilterExpression: { state: "firing" },
    },
  ],
  silences: [
    { name: "expires_at", key: { expires_at: -1 } },
  ],
  dead_letters: [
    { name: "failed_at", key: { failed_at: -1 } },
  ],
  pipeline_stats: [],
  website_metrics: [
    { name: "kind_url_window_start", key: { kind: 1, url: 1, window_start: -1 } },
  ],
  website_alerts: [
    { name: "state_last_seen", key: { state: 1, last_seen: -1 } },
    {
      name: "open_incident_per_url",
      key: { url: 1 },
      unique: true,
      partialFilterExpression: { state: "firing" },
    },
  ],
};

const existing = app.getCollectionNames();
for (const [collection, indexes] of Object.entries(INDEXES)) {
  if (!existing.includes(collection)) app.createCollection(collection);
  for (const { key, ...options } of indexes) app.getCollection(collection).createIndex(key, options);
}
print(`init-mongo: collections and indexes ready in ${dbName}`);
