import assert from "node:assert/strict";
import { test } from "node:test";

import { dryRunText, hitsText } from "../../static/livecomments/console-terms.js";

test("a counter names what the term did and leaves zeros out", () => {
  assert.equal(hitsText({ held: 0, refused: 0 }), "0");
  assert.equal(hitsText({ held: 3, refused: 0 }), "3 held");
  assert.equal(hitsText({ held: 0, refused: 2 }), "2 refused");
  assert.equal(hitsText({ held: 1, refused: 4 }), "1 held · 4 refused");
});

test("the dry run says how many of which comments, with two examples cut to fit", () => {
  assert.equal(
    dryRunText({ matched: 0, of: 1000, examples: [] }),
    "Would have matched 0 of the last 1,000 comments on this stream.",
  );
  assert.equal(
    dryRunText({ matched: 3, of: 12, examples: ["no spoilers", "x".repeat(60), "third"] }),
    `Would have matched 3 of the 12 comments so far on this stream: “no spoilers”, “${"x".repeat(39)}…”`,
  );
  assert.equal(dryRunText({ matched: 0, of: 0, examples: [] }), "No comments on this stream yet to check it against.");
});
