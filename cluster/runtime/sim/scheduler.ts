// The simulator's event queue (lesson 1): a binary heap of callbacks ordered by virtual time,
// then by a sequence number, so events scheduled for the same instant run in the order they were
// scheduled. That tie-break is what makes a run a pure function of its inputs and seed: nothing
// depends on Map iteration of unordered data or on promise timing.

interface Entry {
  time: number;
  sequence: number;
  action: () => void;
}

export class Scheduler {
  private heap: Entry[] = [];
  private sequence = 0;
  /** Virtual time in milliseconds (fractions allowed). */
  now = 0;
  executed = 0;

  get pending(): number {
    return this.heap.length;
  }

  at(time: number, action: () => void): void {
    if (!(time >= this.now)) {
      throw new RangeError(`Expected an event time >= now (${this.now}), got ${time}`);
    }
    this.push({ time, sequence: (this.sequence += 1), action });
  }

  after(delayMs: number, action: () => void): void {
    this.at(this.now + Math.max(0, delayMs), action);
  }

  /** Runs events until the queue is empty or the next one is later than `untilMs`. */
  runUntil(untilMs: number, eventCountMax = Number.POSITIVE_INFINITY): void {
    let budget = eventCountMax;
    while (this.heap.length > 0 && this.heap[0]!.time <= untilMs && budget > 0) {
      const entry = this.pop();
      this.now = entry.time;
      this.executed += 1;
      budget -= 1;
      entry.action();
    }
    if (budget > 0 && untilMs > this.now && Number.isFinite(untilMs)) this.now = untilMs;
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = entry;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[index] = heap[child]!;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}
