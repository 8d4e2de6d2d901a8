import assert from "node:assert/strict";
import { countJunit } from "./test_main.ts";

Deno.test("countJunit counts passed, failed and skipped test cases", () => {
  const xml = `<?xml version="1.0"?><testsuites><testsuite name="a">
    <testcase name="ok one" classname="a" time="0.1"></testcase>
    <testcase name="ok two" classname="a" time="0.1"/>
    <testcase name="bad" classname="a" time="0.1"><failure message="x">boom</failure></testcase>
    <testcase name="skipped" classname="a"><skipped/></testcase>
  </testsuite></testsuites>`;
  assert.deepEqual(countJunit(xml), { passed: 2, failed: 1, skipped: 1 });
  assert.deepEqual(countJunit(""), { passed: 0, failed: 0, skipped: 0 });
});
