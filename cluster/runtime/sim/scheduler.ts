// The simulator's event queue (lesson 1): a binary heap of callbacks ordered by virtual time,
// then by a sequence number, so events scheduled for the same instant run in the order they were
// scheduled. That tie-break is what makes a run a pure function of its inputs and seed: nothing
// depends on Map iteration of unordered data or on promise timing.
//
// An event can be cancelled, and a cancelled event leaves the heap at once. That is about speed,
// not meaning: most timers a node sets are cancelled (a request's time bound, once it is
// answered; a client's timeout, once it hears back), and left in the heap to fire as no-ops they
// outnumbered the live events a hundred to one. A request's 1 s bound against messages that
// arrive in a millisecond: at 1,500 requests a simulated second the heap held ~5,000 dead
// timers around ~30 live messages, so every push and pop walked 12 levels instead of 5, and
// every dead timer was popped once more. Removing one takes nothing from the order of the
// others: (time, sequence) orders every pair of events whatever the heap's shape.
//
// An event is a callback (at, after) or a Task that carries its own data (schedule): the
// simulator's commonest event, a message in flight, is then one object rather than three.

/** One scheduled event; `cancel` takes it back. */
export interface ScheduledEvent {
  readonly time: number;
}

/**
 * An event that carries its own data and runs itself (Scheduler.schedule): the simulator's
 * busiest event, a message in flight, is one object this way instead of an entry, a closure and
 * the closure's captured variables, and allocation was the simulator's largest single cost.
 */
export abstract class Task implements ScheduledEvent {
  time = 0;
  /** Among events at the same time, the order they were scheduled in. */
  sequence = 0;
  /** Where the task sits in the heap; -1 while it is not queued. */
  index = -1;
  abstract run(): void;
}

/** An event given as a callback (at, after). */
class Action extends Task {
  constructor(private readonly action: () => void) {
    super();
  }

  run(): void {
    this.action();
  }
}

type Entry = Task;

export class Scheduler {
  private heap: Entry[] = [];
  private sequence = 0;
  /** Virtual time in milliseconds (fractions allowed). */
  now = 0;
  /** Events run so far (cancelled ones are not counted: they never run). */
  executed = 0;

  get pending(): number {
    return this.heap.length;
  }

  at(time: number, action: () => void): ScheduledEvent {
    if (!(time >= this.now)) {
      throw new RangeError(`Expected an event time >= now (${this.now}), got ${time}`);
    }
    const entry = new Action(action);
    entry.time = time;
    entry.sequence = this.sequence += 1;
    this.push(entry);
    return entry;
  }

  /** Queues `task` to run at `time`; a task is queued at most once at a time. */
  schedule(task: Task, time: number): void {
    if (!(time >= this.now)) {
      throw new RangeError(`Expected an event time >= now (${this.now}), got ${time}`);
    }
    if (task.index >= 0) throw new RangeError("Expected a task that is not queued already");
    task.time = time;
    task.sequence = this.sequence += 1;
    this.push(task);
  }

  after(delayMs: number, action: () => void): ScheduledEvent {
    return this.at(this.now + Math.max(0, delayMs), action);
  }

  /** Takes back an event that has not run yet; an event that ran or was cancelled is left. */
  cancel(event: ScheduledEvent): void {
    const entry = event as Entry;
    const index = entry.index;
    if (index < 0) return;
    entry.index = -1;
    const last = this.heap.pop()!;
    if (last === entry) return;
    // The last entry fills the hole, then moves up or down to where it belongs.
    this.siftUp(last, index);
    if (last.index === index) this.siftDown(last, index);
  }

  /** Runs events until the queue is empty or the next one is later than `untilMs`. */
  runUntil(untilMs: number, eventCountMax = Number.POSITIVE_INFINITY): void {
    let budget = eventCountMax;
    while (this.heap.length > 0 && this.heap[0]!.time <= untilMs && budget > 0) {
      const entry = this.pop();
      this.now = entry.time;
      this.executed += 1;
      budget -= 1;
      entry.run();
    }
    if (budget > 0 && untilMs > this.now && Number.isFinite(untilMs)) this.now = untilMs;
  }

  private push(entry: Entry): void {
    this.heap.push(entry);
    this.siftUp(entry, this.heap.length - 1);
  }

  /** Puts `entry` in the hole at `index`, moving it up past every parent it comes before. */
  private siftUp(entry: Entry, index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent]!;
      if (!before(entry, above)) break;
      heap[index] = above;
      above.index = index;
      index = parent;
    }
    heap[index] = entry;
    entry.index = index;
  }

  /** Puts `entry` in the hole at `index`, moving it down past every child that comes first. */
  private siftDown(entry: Entry, index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      const below = heap[child]!;
      if (!before(below, entry)) break;
      heap[index] = below;
      below.index = index;
      index = child;
    }
    heap[index] = entry;
    entry.index = index;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0]!;
    top.index = -1;
    const last = heap.pop()!;
    if (heap.length > 0) this.siftDown(last, 0);
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}
