/** Shared builders for the client tests: comments shaped like the server sends them. */

let nextKey = 0;

export function key() {
  nextKey += 1;
  return `00000000-0000-4000-8000-${String(nextKey).padStart(12, "0")}`;
}

export function comment(id, overrides = {}) {
  return {
    id: String(id),
    streamId: "1",
    userId: "7",
    username: "alice",
    avatarUrl: null,
    content: `comment ${id}`,
    parentId: null,
    isHighlighted: false,
    isPinned: false,
    createdAt: "2025-01-01T00:00:00Z",
    metadata: { receivedAt: 1_000 },
    authorRole: "viewer",
    ...overrides,
  };
}

/** A localStorage stand-in: the real Storage interface over a Map. */
export class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(name) {
    return this.items.has(name) ? this.items.get(name) : null;
  }
  setItem(name, value) {
    this.items.set(name, String(value));
  }
  removeItem(name) {
    this.items.delete(name);
  }
}
