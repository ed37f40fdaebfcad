/**
 * @module
 * A fake terminal for the progress tests: the stream the display writes to (isTTY,
 * columns, rows, write, resize events) and a screen that plays what was written the way a
 * terminal does (CR, LF, cursor up `ESC[nA`, clear to end of screen `ESC[J`, wrap at the
 * right margin). `wrapped` counts characters written past the last column, i.e. lines
 * wider than the terminal.
 */
export class FakeTerminal {
  isTTY = true;
  columns: number;
  rows: number;
  writes: string[] = [];
  screen: string[] = [""];
  wrapped = 0;
  #row = 0;
  #col = 0;
  #resize = new Set<() => void>();

  constructor(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
  }

  on(_event: "resize", fn: () => void) {
    this.#resize.add(fn);
  }

  off(_event: "resize", fn: () => void) {
    this.#resize.delete(fn);
  }

  get listeners(): number {
    return this.#resize.size;
  }

  /** Changes the size and tells the listeners, as SIGWINCH does. */
  resize(columns: number, rows = this.rows) {
    this.columns = columns;
    this.rows = rows;
    for (const fn of this.#resize) fn();
  }

  write(s: string): boolean {
    this.writes.push(s);
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === "\x1b") {
        // deno-lint-ignore no-control-regex -- ESC is what a terminal parses
        const m = /^\x1b\[(\d*)([A-Za-z])/.exec(s.slice(i));
        if (!m) throw new Error(`unknown escape at ${JSON.stringify(s.slice(i, i + 8))}`);
        i += m[0].length - 1;
        if (m[2] === "A") this.#row = Math.max(0, this.#row - Number(m[1] || 1));
        else if (m[2] === "J") {
          this.screen[this.#row] = this.#line().slice(0, this.#col);
          this.screen.length = this.#row + 1;
        } else throw new Error(`unexpected escape ${JSON.stringify(m[0])}`);
      } else if (c === "\r") this.#col = 0;
      else if (c === "\n") this.#down();
      else {
        if (this.#col >= this.columns) {
          this.wrapped++;
          this.#down();
        }
        const line = this.#line().padEnd(this.#col);
        this.screen[this.#row] = line.slice(0, this.#col) + c + line.slice(this.#col + 1);
        this.#col++;
      }
    }
    return true;
  }

  /** LF with the tty's usual CR (onlcr). */
  #down() {
    this.#row++;
    this.#col = 0;
    while (this.screen.length <= this.#row) this.screen.push("");
  }

  #line(): string {
    return this.screen[this.#row] ?? "";
  }

  /** The screen's lines, trailing blank line dropped. */
  lines(): string[] {
    const out = this.screen.map((l) => l.trimEnd());
    while (out.length && out.at(-1) === "") out.pop();
    return out;
  }
}

/** A clock the test moves by hand. */
export function manualClock(start = 0) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = ms) };
}
