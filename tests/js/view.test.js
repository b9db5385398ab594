import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { mentionParts } from "../../static/livecomments/view.js";

function marked(text, username) {
  return mentionParts(text, username).filter((part) => part.mention).map((part) => part.text);
}

describe("mentions of the signed-in viewer", () => {
  test("@name is split out, whatever its case, and the rest stays as it was", () => {
    assert.deepEqual(mentionParts("hi @Alice, look", "alice"), [
      { text: "hi ", mention: false },
      { text: "@Alice", mention: true },
      { text: ", look", mention: false },
    ]);
    assert.deepEqual(marked("@alice and @alice.", "alice"), ["@alice", "@alice"]);
  });

  test("only the whole name: longer names and e-mail addresses are not mentions", () => {
    assert.deepEqual(marked("@alicex and bob@alice.org and @alice_2", "alice"), []);
    assert.deepEqual(marked("@bob", "alice"), []);
  });

  test("names with regular-expression characters match literally", () => {
    assert.deepEqual(marked("thanks @a.b+c!", "a.b+c"), ["@a.b+c"]);
    assert.deepEqual(marked("thanks @aXb+c!", "a.b+c"), []);
  });

  test("an anonymous viewer, or a text without @, is one plain part", () => {
    assert.deepEqual(mentionParts("hello @alice", null), [{ text: "hello @alice", mention: false }]);
    assert.deepEqual(mentionParts("", "alice"), [{ text: "", mention: false }]);
  });

  test("markup in a comment stays text", () => {
    const parts = mentionParts("<b>@alice</b>", "alice");
    assert.deepEqual(parts.map((part) => part.text).join(""), "<b>@alice</b>");
    assert.deepEqual(marked("<b>@alice</b>", "alice"), ["@alice"]);
  });
});

describe("reaction counts on the buttons", () => {
  test("large counts are compact", async () => {
    const { compactCount } = await import("../../static/livecomments/view.js");
    assert.equal(compactCount(987), "987");
    assert.match(compactCount(1234), /^1\.2\s?K$/);
  });
});

describe("the rows the list draws", () => {
  test("the newest FOLLOWING_ROWS while following, every one when scrolled up", async () => {
    const { rowsToDraw, FOLLOWING_ROWS } = await import("../../static/livecomments/view.js");
    const items = Array.from({ length: 500 }, (_, index) => index);
    assert.deepEqual(rowsToDraw(items, true, FOLLOWING_ROWS), items.slice(500 - FOLLOWING_ROWS));
    assert.equal(rowsToDraw(items, false, FOLLOWING_ROWS), items);
    const few = items.slice(0, 20);
    assert.equal(rowsToDraw(few, true, FOLLOWING_ROWS), few);
    assert.equal(rowsToDraw(items, true, Infinity), items);
  });
});
