/**
 * Incident announcements as JSON, modelled on Alertmanager's webhook payload
 * (version 4): one group per incident (`groupKey` = its `_id`), one alert per
 * rule that fired. The alerts topic and the webhook (`ALERT_WEBHOOK_URL`)
 * carry the same payload. Pure.
 */
import type { IncidentRule } from "@iot/shared";
import type { AnyAlertWrite, LifecycleEvent } from "./alert_lifecycle.ts";

/** One rule of an incident, as an Alertmanager alert. */
export interface AnnouncedAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: { summary: string };
  startsAt: string;
  /** The rule's last finding while firing, its clearing (the incident's resolution) once resolved. */
  endsAt: string;
  fingerprint: string;
  count: number;
  value: number;
  threshold: number;
}

/** The payload of an announcement. */
export interface AnnouncementPayload {
  version: "4";
  /** opened, updated or resolved. */
  event: LifecycleEvent<AnyAlertWrite>["event"];
  status: "firing" | "resolved";
  receiver: string;
  /** The incident's `_id`. */
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: { summary: string };
  alerts: AnnouncedAlert[];
  /** The incident as the processor wrote it. */
  incident: AnyAlertWrite & { source: string };
}

/** The receiver named in every payload. */
export const RECEIVER = "iot-pipeline";

/** The payload of an announcement of `source` ("sensors", "websites"), with the subject's `labels`. */
export function announcementPayload(
  source: string,
  e: LifecycleEvent<AnyAlertWrite>,
  labels: Record<string, string>,
): AnnouncementPayload {
  const d = e.alert;
  const status = d.state === "resolved" ? "resolved" : "firing";
  const common = { source, ...labels };
  const rules = Object.entries(d.rules ?? {}) as [string, IncidentRule][];
  const alerts: AnnouncedAlert[] = rules.map(([rule, r]) => ({
    status: r.active && status === "firing" ? "firing" : "resolved",
    labels: { ...common, alertname: rule, severity: r.severity },
    annotations: { summary: r.message },
    startsAt: r.first_seen.toISOString(),
    endsAt: (status === "resolved" && d.resolved_at ? d.resolved_at : r.last_seen).toISOString(),
    fingerprint: `${d._id}|${rule}`,
    count: r.count,
    value: r.value,
    threshold: r.threshold,
  }));
  return {
    version: "4",
    event: e.event,
    status,
    receiver: RECEIVER,
    groupKey: d._id,
    groupLabels: { source, subject: Object.values(labels)[0] ?? "" },
    commonLabels: { ...common, severity: d.severity },
    commonAnnotations: { summary: d.message },
    alerts,
    incident: { ...d, source },
  };
}
