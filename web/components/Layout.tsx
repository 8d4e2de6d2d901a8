/** The page frame: header with navigation and the live status, main content. Server-only. */
import type { ComponentChildren, VNode } from "preact";
import LiveStatus from "../islands/LiveStatus.tsx";

/** Props of `Layout`. */
export interface LayoutProps {
  title: string;
  path: string;
  children: ComponentChildren;
}

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/alerts", label: "Alerts" },
  { href: "/pipeline", label: "Pipeline" },
  { href: "/websites", label: "Websites" },
];

/** The HTML document around a page. */
export function Layout(props: LayoutProps): VNode {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · IoT pipeline`}</title>
        <link rel="stylesheet" href="/static/style.css" />
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">IoT pipeline</a>
          <nav>
            {NAV.map((n) => (
              <a key={n.href} href={n.href} class={n.href === props.path ? "active" : undefined}>{n.label}</a>
            ))}
          </nav>
          <LiveStatus />
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}
