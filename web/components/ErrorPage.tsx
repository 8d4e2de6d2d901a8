/** A plain error page (bad parameters, unknown sensor). Server-only. */
import type { VNode } from "preact";
import { Layout } from "./Layout.tsx";

/** Props of `ErrorPage`. */
export interface ErrorPageProps {
  status: number;
  message: string;
  path: string;
}

/** The error page. */
export function ErrorPage(props: ErrorPageProps): VNode {
  return (
    <Layout title={`Error ${props.status}`} path={props.path}>
      <h1>Error {props.status}</h1>
      <p class="error">{props.message}</p>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </Layout>
  );
}
